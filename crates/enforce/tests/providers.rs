//! Each provider's documents against the provider's own published checkers:
//! - AWS: every SCP is linted by PyPI parliament (`tests/parliament.py`), which knows each service's actions;
//! - Google Cloud: org policies and `services.disable` calls against the Org Policy v2 and Service Usage v1 discovery
//!   documents shipped in PyPI google-api-python-client (`tests/gcp_schema.py`);
//! - Azure: policy assignments against the constraints of the ARM template schema for
//!   `Microsoft.Authorization/policyAssignments` 2023-04-01 (`tests/schemas/`), then field by field.
//!
//! The Python checks run in the venv `.ci/parliament.sh` makes; without it they fail (never skip) and say so.

use std::path::{Path, PathBuf};
use std::process::Command;

use enforce::{Decision, DecisionKind, Document, DocumentKind, Family, Provider, Scope, documents};
use serde_json::Value;

#[allow(dead_code)]
#[path = "../examples/documents.rs"]
mod example;

/// The example decisions, plus every single family under both decisions, on each provider.
fn decisions() -> Vec<Decision> {
    let mut out = example::example_decisions();
    let base: Vec<Decision> = out.iter().filter(|d| d.case_id.ends_with("-all")).cloned().collect();
    for d in base {
        for family in Family::ALL {
            let mut one = d.clone();
            one.case_id = format!("{}-{}", d.case_id, family.as_str());
            one.services = vec![family];
            out.push(one);
        }
    }
    out
}

fn all_documents() -> Vec<Document> {
    decisions().iter().flat_map(|d| documents(d).unwrap()).collect()
}

/// The checkers' venv; a failure that says how to make it when it is missing.
fn venv_python() -> PathBuf {
    let home = std::env::var_os("HOME").expect("HOME is set");
    let python = Path::new(&home).join(".cache/oversight-venv-parliament/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `bash .ci/parliament.sh` once (it makes the venv with parliament, jsonschema and \
         google-api-python-client)",
        python.display()
    );
    python
}

/// Writes `docs` into a fresh folder and runs `script` over the files; (success, output).
fn run_checker(script: &str, docs: &[(String, String)]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = docs
        .iter()
        .map(|(name, json)| {
            let path = dir.path().join(name);
            std::fs::write(&path, json).unwrap();
            path
        })
        .collect();
    let out = Command::new(venv_python()).arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join(script)).args(&files).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

fn of_kind(docs: &[Document], kinds: &[DocumentKind]) -> Vec<(String, String)> {
    docs.iter().filter(|d| kinds.contains(&d.kind)).map(|d| (d.file_name.clone(), d.json.clone())).collect()
}

#[test]
fn every_scp_passes_parliament() {
    let scps = of_kind(&all_documents(), &[DocumentKind::Scp]);
    assert!(scps.len() >= 12, "{}", scps.len());
    let (ok, out) = run_checker("parliament.py", &scps);
    assert!(ok, "parliament found problems:\n{out}");
    assert_eq!(out.lines().filter(|l| l.starts_with("ok ")).count(), scps.len(), "{out}");
}

#[test]
fn parliament_refuses_an_unknown_action() {
    // The lint is not vacuous: a misspelt action and an unknown service prefix are findings.
    let bad = r#"{"Statement":[{"Action":["s3:PutObjectt","transcribez:*"],"Effect":"Deny","Resource":"*"}],"Version":"2012-10-17"}"#;
    let (ok, out) = run_checker("parliament.py", &[("bad.aws.scp.json".into(), bad.into())]);
    assert!(!ok && out.contains("UNKNOWN_ACTION") && out.contains("UNKNOWN_PREFIX"), "{out}");
}

#[test]
fn every_gcp_document_matches_the_published_api_schemas() {
    let kinds = [DocumentKind::OrgPolicyDryRun, DocumentKind::OrgPolicy, DocumentKind::ServiceDisable];
    let docs = of_kind(&all_documents(), &kinds);
    let (ok, out) = run_checker("gcp_schema.py", &docs);
    assert!(ok, "gcp_schema.py found problems:\n{out}");
    assert_eq!(out.lines().filter(|l| l.starts_with("ok ")).count(), docs.len(), "{out}");
}

#[test]
fn gcp_schema_check_refuses_unknown_and_output_only_fields() {
    let doc = all_documents().into_iter().find(|d| d.kind == DocumentKind::OrgPolicy).unwrap();
    let mut typo: Value = serde_json::from_str(&doc.json).unwrap();
    typo["spec"]["rules"][0]["values"]["deniedValue"] = serde_json::json!(["x.googleapis.com"]);
    let mut output_only: Value = serde_json::from_str(&doc.json).unwrap();
    output_only["spec"]["updateTime"] = "2025-01-01T00:00:00Z".into();
    for (i, bad) in [typo, output_only].iter().enumerate() {
        let (ok, out) = run_checker("gcp_schema.py", &[(format!("bad{i}.gcp.org-policy.p.json"), bad.to_string())]);
        assert!(!ok && out.contains("FAIL"), "{out}");
    }
}

fn azure_schema() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/azure-policy-assignment-2023-04-01.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::draft4::new(&schema).unwrap()
}

#[test]
fn every_azure_assignment_matches_the_arm_schema_and_its_limits() {
    let schema = azure_schema();
    let docs: Vec<Document> = all_documents().into_iter().filter(|d| d.kind == DocumentKind::PolicyAssignment).collect();
    assert!(docs.len() >= 12);
    for doc in &docs {
        let v: Value = serde_json::from_str(&doc.json).unwrap();
        let errors: Vec<String> = schema.iter_errors(&v).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:?}", doc.file_name);
        // Field by field: only names the schema knows, and the documented limits.
        let keys = |o: &Value| o.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&v), ["apiVersion", "id", "name", "properties", "type"]);
        let known = ["description", "displayName", "enforcementMode", "metadata", "nonComplianceMessages", "parameters", "policyDefinitionId"];
        assert_eq!(keys(&v["properties"]), known);
        assert_eq!(keys(&v["properties"]["parameters"]), ["effect", "listOfResourceTypesNotAllowed"]);
        let name = v["name"].as_str().unwrap();
        assert!((1..=24).contains(&name.len()), "1-24 characters at management group scope: {name}");
        assert!((1..=128).contains(&v["properties"]["displayName"].as_str().unwrap().len()));
        assert!(v["id"].as_str().unwrap().ends_with(&format!("/providers/Microsoft.Authorization/policyAssignments/{name}")));
        let types = v["properties"]["parameters"]["listOfResourceTypesNotAllowed"]["value"].as_array().unwrap();
        assert!(!types.is_empty());
        for t in types {
            let t = t.as_str().unwrap();
            assert!(t.starts_with("Microsoft.") && t.split('/').count() >= 2, "{t}");
        }
    }
}

#[test]
fn azure_schema_refuses_what_azure_refuses() {
    let schema = azure_schema();
    let doc = all_documents().into_iter().find(|d| d.kind == DocumentKind::PolicyAssignment).unwrap();
    let good: Value = serde_json::from_str(&doc.json).unwrap();
    let mut bad_mode = good.clone();
    bad_mode["properties"]["enforcementMode"] = "Enforce".into();
    let mut bad_name = good.clone();
    bad_name["name"] = "a/b".into();
    let mut no_message = good.clone();
    no_message["properties"]["nonComplianceMessages"] = serde_json::json!([{"policyDefinitionReferenceId": "x"}]);
    let mut old_api = good.clone();
    old_api["apiVersion"] = "2019-09-01".into();
    for bad in [bad_mode, bad_name, no_message, old_api] {
        assert!(!schema.is_valid(&bad), "{bad}");
    }
}

#[test]
fn azure_cancel_steps_name_only_their_subscription() {
    // No published schema covers a step object (it is oversight's own record of a REST call): checked by field.
    for doc in all_documents().iter().filter(|d| d.kind == DocumentKind::SubscriptionCancel) {
        let v: Value = serde_json::from_str(&doc.json).unwrap();
        let sub = v["subscriptionId"].as_str().unwrap();
        let base = format!("https://management.azure.com/subscriptions/{sub}/providers/Microsoft.Subscription");
        assert_eq!(v["operation"], "Subscription_Cancel");
        assert_eq!(v["request"]["method"], "POST");
        assert_eq!(v["request"]["url"], format!("{base}/cancel?api-version=2021-10-01"));
        assert_eq!(v["undo"]["request"]["url"], format!("{base}/enable?api-version=2021-10-01"));
        assert_eq!(v["decision"], "suspend");
        assert_eq!(doc.provider, Provider::Azure);
    }
}

#[test]
fn restrict_never_cancels_and_suspend_always_does_on_azure() {
    for d in decisions().iter().filter(|d| matches!(d.scope, Scope::Subscriptions(_))) {
        let cancels = documents(d).unwrap().iter().filter(|x| x.kind == DocumentKind::SubscriptionCancel).count();
        assert_eq!(cancels > 0, d.decision == DecisionKind::Suspend, "{}", d.case_id);
    }
}
