"""Lints service control policies with PyPI parliament (Duo Labs), which checks IAM policy grammar and every action
against its copy of the AWS service authorization reference.

usage: python parliament.py SCP.json...   (exit 0: no finding; 1: findings, printed; 2: usage)

Run by crates/enforce/tests/linters.rs and .ci/parliament.sh in the venv .ci/parliament.sh makes
(parliament 1.6.4 needs setuptools<81 for pkg_resources).
"""
import json
import os
import sys

# This file is named like the package it imports: drop its own folder from the path first.
_here = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]

from parliament import analyze_policy_string  # noqa: E402


def main(paths):
    if not paths:
        print("usage: parliament.py SCP.json...", file=sys.stderr)
        return 2
    bad = 0
    for path in paths:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        policy = analyze_policy_string(text, filepath=path, include_community_auditors=True)
        findings = list(policy.findings)
        actions = sum(len(s.get("Action", [])) for s in json.loads(text)["Statement"])
        if findings:
            bad += 1
            for finding in findings:
                print(f"FAIL {path}: {finding.issue} {finding.detail} {finding.location}")
        else:
            print(f"ok {path}: {actions} actions, no findings")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
