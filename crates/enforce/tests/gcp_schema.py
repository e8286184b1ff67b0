"""Checks Google Cloud enforcement documents against Google's published API discovery documents, as shipped in PyPI
google-api-python-client (googleapiclient/discovery_cache/documents): orgpolicy.v2.json for the org policies
(GoogleCloudOrgpolicyV2Policy) and serviceusage.v1.json for the services.disable calls (DisableServiceRequest and
the method's path).

A discovery schema is a JSON Schema dialect ("$ref" by schema id, type "any"); it is turned into draft-07 JSON Schema,
with unknown fields refused (the APIs are protobuf messages, which reject unknown fields) and read-only fields
refused (a request must not set them), and checked with PyPI jsonschema.

usage: python gcp_schema.py DOCUMENT.json...   (files named *.org-policy*.json or *.service-disable.*.json)
exit 0: all valid; 1: a document failed (printed); 2: usage
"""
import json
import os
import re
import sys

import googleapiclient
import jsonschema

DOCS = os.path.join(os.path.dirname(googleapiclient.__file__), "discovery_cache", "documents")
TYPES = {"string", "integer", "number", "boolean", "object", "array"}


def to_json_schema(discovery, root):
    def convert(s):
        if "$ref" in s:
            return {"$ref": "#/definitions/" + s["$ref"]}
        out = {}
        if s.get("type") in TYPES:
            out["type"] = s["type"]
        if "enum" in s:
            out["enum"] = s["enum"]
        if "properties" in s:
            out["properties"] = {
                k: (False if v.get("readOnly") else convert(v)) for k, v in s["properties"].items()
            }
            if "additionalProperties" not in s:
                out["additionalProperties"] = False
        if "additionalProperties" in s:
            out["additionalProperties"] = convert(s["additionalProperties"])
        if "items" in s:
            out["items"] = convert(s["items"])
        return out

    definitions = {name: convert(s) for name, s in discovery["schemas"].items()}
    return {"$schema": "http://json-schema.org/draft-07/schema#", "definitions": definitions,
            "$ref": "#/definitions/" + root}


def load(name):
    with open(os.path.join(DOCS, name), encoding="utf-8") as f:
        return json.load(f)


def check_policy(doc, validator, dry_run):
    validator.validate(doc)
    problems = []
    if not re.fullmatch(r"(projects|folders)/[a-z0-9-]+/policies/gcp\.restrictServiceUsage", doc["name"]):
        problems.append(f"name {doc['name']!r} is not projects|folders/ID/policies/gcp.restrictServiceUsage")
    want, other = ("dryRunSpec", "spec") if dry_run else ("spec", "dryRunSpec")
    if want not in doc or other in doc:
        problems.append(f"expected {want} only")
        return problems
    spec = doc[want]
    if spec.get("inheritFromParent") is not True or "reset" in spec:
        problems.append("a list-constraint policy that adds to its parents: inheritFromParent true, no reset")
    rules = spec.get("rules", [])
    if len(rules) != 1 or set(rules[0]) != {"values"} or set(rules[0]["values"]) != {"deniedValues"}:
        problems.append("expected one rule with only values.deniedValues")
    else:
        denied = rules[0]["values"]["deniedValues"]
        if not denied or denied != sorted(set(denied)) or not all(v.endswith(".googleapis.com") for v in denied):
            problems.append(f"deniedValues {denied} must be sorted, distinct service names")
    return problems


def check_disable(doc, usage, body_validator):
    problems = []
    method = usage["resources"]["services"]["methods"]["disable"]
    # flatPath v1/{v1Id}/{v1Id1}/services/{servicesId}:disable, with v1Id = "projects".
    pattern = re.escape(usage["rootUrl"]) + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(method["flatPath"]))
    for request in doc["requests"]:
        if request["method"] != method["httpMethod"]:
            problems.append(f"{request['method']} is not {method['httpMethod']}")
        if not re.fullmatch(pattern, request["url"]) or f"/projects/{doc['project']}/" not in request["url"]:
            problems.append(f"{request['url']} does not match {pattern} for project {doc['project']}")
        body_validator.validate(request["body"])
    return problems


def main(paths):
    if not paths:
        print("usage: gcp_schema.py DOCUMENT.json...", file=sys.stderr)
        return 2
    orgpolicy, usage = load("orgpolicy.v2.json"), load("serviceusage.v1.json")
    print(f"orgpolicy v2 revision {orgpolicy['revision']}, serviceusage v1 revision {usage['revision']}")
    policy = jsonschema.Draft7Validator(to_json_schema(orgpolicy, "GoogleCloudOrgpolicyV2Policy"))
    body = jsonschema.Draft7Validator(to_json_schema(usage, "DisableServiceRequest"))
    bad = 0
    for path in paths:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        name = os.path.basename(path)
        try:
            if ".org-policy" in name:
                problems = check_policy(doc, policy, ".org-policy-dry-run." in name)
            elif ".service-disable." in name:
                problems = check_disable(doc, usage, body)
            else:
                problems = [f"not a Google Cloud document name: {name}"]
        except jsonschema.ValidationError as e:
            problems = [f"schema: {e.message} at {list(e.absolute_path)}"]
        if problems:
            bad += 1
            for p in problems:
                print(f"FAIL {path}: {p}")
        else:
            print(f"ok {path}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
