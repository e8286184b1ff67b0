//! Google Cloud: an organisation policy on `gcp.restrictServiceUsage` (Restrict Resource Service Usage) with
//! `deniedValues`, per project or on the folder, first as a `dryRunSpec` and then enforced; and, per project, the
//! Service Usage `services.disable` calls for the decided services that the constraint is not known to cover.
//!
//! Sources (checked 2026):
//! - Policy v2 resource (`name`, `spec`, `dryRunSpec`; `PolicySpec.inheritFromParent`, `rules[].values.deniedValues`);
//!   `name` is `projects/{number}/policies/{constraint}` or `folders/{number}/policies/{constraint}`, and a project id
//!   is accepted in place of its number in requests: the Org Policy API v2 discovery document (`orgpolicy.v2.json`,
//!   revision 20260723, as shipped in PyPI google-api-python-client 2.202.0), checked in `tests/gcp_schema.py`.
//! - The constraint "controls the runtime access to all in-scope resources", works as a denylist, "won't work with"
//!   services outside its supported list, and a denied use fails with "Request is disallowed by organization's
//!   constraints/gcp.restrictServiceUsage constraint": cloud.google.com resource-manager/docs/organization-policy/
//!   restricting-resources.
//! - Supported services: cloud.google.com …/restricting-resources-supported-services. Only the part of that list that
//!   could be read is marked `covered` below (`aiplatform.googleapis.com`, `batch.googleapis.com`; the page's own
//!   examples `storage.googleapis.com`, `compute.googleapis.com`). The rest are disabled per project instead, as
//!   `../shared/reference/policy-clauses.md` says some AI services need; move one into `covered` once it is
//!   confirmed on the list.
//! - Dry run: audit-only, violations are logged but not denied: cloud.google.com organization-policy/test-policies.
//! - `services.disable`: `POST v1/{name}:disable` with `disableDependentServices` and `checkIfServiceHasUsage`
//!   (`SKIP` | `CHECK`; CHECK refuses a service used in the last 30 days), inverse `…:enable`: the Service Usage API
//!   v1 discovery document (`serviceusage.v1.json`, same package).

use serde_json::{Value, json};

use crate::{Checked, Document, DocumentKind, EnforceError, Family, Scope, ids};

/// The constraint.
pub const CONSTRAINT: &str = "gcp.restrictServiceUsage";

/// A Google Cloud service a family uses, and whether `gcp.restrictServiceUsage` is known to cover it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    /// The service name, e.g. `storage.googleapis.com`.
    pub name: &'static str,
    /// Confirmed on the constraint's supported-services list; otherwise it is disabled per project.
    pub covered: bool,
}

const fn covered(name: &'static str) -> Service {
    Service { name, covered: true }
}

const fn disable(name: &'static str) -> Service {
    Service { name, covered: false }
}

const STORAGE: [Service; 1] = [covered("storage.googleapis.com")];
const AI: [Service; 6] = [
    covered("aiplatform.googleapis.com"),
    disable("documentai.googleapis.com"),
    disable("speech.googleapis.com"),
    disable("translate.googleapis.com"),
    disable("videointelligence.googleapis.com"),
    disable("vision.googleapis.com"),
];
const COMPUTE: [Service; 3] = [covered("batch.googleapis.com"), covered("compute.googleapis.com"), disable("container.googleapis.com")];
// VPC networks, addresses, Cloud NAT, VPN and Interconnect are compute.googleapis.com resources and cannot be denied
// apart from compute; Network Connectivity Center is the separable part.
const NETWORK: [Service; 1] = [disable("networkconnectivity.googleapis.com")];

/// The services of a family.
pub fn services(family: Family) -> &'static [Service] {
    match family {
        Family::Storage => &STORAGE,
        Family::Ai => &AI,
        Family::Compute => &COMPUTE,
        Family::Network => &NETWORK,
    }
}

pub(crate) fn documents(d: &Checked) -> Result<Vec<Document>, EnforceError> {
    let mut denied: Vec<&str> = Vec::new();
    let mut to_disable: Vec<&str> = Vec::new();
    for s in d.families.iter().flat_map(|f| services(*f)) {
        if s.covered { denied.push(s.name) } else { to_disable.push(s.name) }
    }
    denied.sort_unstable();
    to_disable.sort_unstable();
    let (parents, projects) = match &d.decision.scope {
        Scope::Projects(list) => {
            let projects = ids(list, "project", project_id)?;
            (projects.iter().map(|p| format!("projects/{p}")).collect::<Vec<_>>(), projects)
        }
        Scope::Folder(folder) => {
            let folder = folder_id(folder.trim())?;
            if !to_disable.is_empty() {
                return Err(EnforceError::NeedsProjects { folder, services: to_disable.join(", ") });
            }
            (vec![format!("folders/{folder}")], vec![])
        }
        _ => unreachable!("Checked::new matched the scope to the provider"),
    };
    let mut out = Vec::new();
    if !denied.is_empty() {
        for (spec_field, kind) in [("dryRunSpec", DocumentKind::OrgPolicyDryRun), ("spec", DocumentKind::OrgPolicy)] {
            out.extend(parents.iter().map(|parent| policy(d, parent, spec_field, kind, &denied)));
        }
    }
    if !to_disable.is_empty() {
        out.extend(projects.iter().map(|p| disable_services(d, p, &to_disable)));
    }
    Ok(out)
}

fn policy(d: &Checked, parent: &str, spec_field: &str, kind: DocumentKind, denied: &[&str]) -> Document {
    let spec = json!({ "inheritFromParent": true, "rules": [{ "values": { "deniedValues": denied } }] });
    let mut value = json!({ "name": format!("{parent}/policies/{CONSTRAINT}") });
    value[spec_field] = spec;
    let mode = if kind == DocumentKind::OrgPolicyDryRun {
        "Dry run (audit only): uses of these services are logged as violations in Cloud Audit Logs and not denied; \
         apply it first and check the logs before the enforced document."
    } else {
        "Enforced: every use of these services in the scope fails at run time with \"Request is disallowed by \
         organization's constraints/gcp.restrictServiceUsage constraint\", reads of existing data included, and the \
         console hides them. Applying it as a whole policy replaces the dry run."
    };
    let summary = format!(
        "Org policy {CONSTRAINT} on {parent}, denying {services} ({families}; decision {decision}). {mode} Rules set \
         higher in the hierarchy still apply (inheritFromParent). It deletes nothing: buckets, datasets and models stay \
         and are billed, and lifting the policy restores access. Restrict and suspend deny the same services here, \
         since the constraint has no read-only mode. Projects outside {parent} are untouched.",
        services = denied.join(", "),
        families = d.family_list(),
        decision = d.kind().as_str(),
    );
    d.document(kind, Some(parent.rsplit('/').next().unwrap_or(parent)), &value, summary)
}

fn disable_services(d: &Checked, project: &str, names: &[&str]) -> Document {
    let url = |s: &str, verb: &str| format!("https://serviceusage.googleapis.com/v1/projects/{project}/services/{s}:{verb}");
    let requests: Vec<Value> = names
        .iter()
        .map(|s| {
            json!({
                "method": "POST",
                "url": url(s, "disable"),
                "body": { "disableDependentServices": false, "checkIfServiceHasUsage": "SKIP" },
            })
        })
        .collect();
    let undo: Vec<Value> = names.iter().map(|s| json!({ "method": "POST", "url": url(s, "enable") })).collect();
    let value = json!({
        "project": project,
        "requests": requests,
        "undo": undo,
        "case": d.case(),
        "decision": d.kind().as_str(),
        "decidedAt": d.decided_at,
    });
    let summary = format!(
        "Disables {services} on project {project} (Service Usage services.disable), for the decided services that \
         {CONSTRAINT} is not confirmed to cover. Calls to a disabled API fail at once; existing resources are not \
         deleted. A call fails if another enabled service depends on one of these (disableDependentServices is \
         false). Unlike the org policy, anyone with serviceusage.services.enable on the project can enable them \
         again, so the watch after enforcement must look for renewed use. Other projects are untouched.",
        services = names.join(", "),
    );
    d.document(DocumentKind::ServiceDisable, Some(project), &value, summary)
}

/// A project id (6 to 30 characters: a lowercase letter, then lowercase letters, digits or hyphens, not ending in a
/// hyphen) or a project number.
fn project_id(id: &str) -> Result<String, EnforceError> {
    let b = id.as_bytes();
    let number = !b.is_empty() && b.len() <= 20 && b.iter().all(u8::is_ascii_digit);
    let name = (6..=30).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b[b.len() - 1] != b'-'
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-');
    if number || name {
        Ok(id.into())
    } else {
        Err(EnforceError::BadId {
            what: "project",
            id: id.into(),
            rule: "a project number, or an id of 6 to 30 lowercase letters, digits or hyphens starting with a letter",
        })
    }
}

fn folder_id(id: &str) -> Result<String, EnforceError> {
    if !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(id.into())
    } else {
        Err(EnforceError::BadId { what: "folder", id: id.into(), rule: "a folder number" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{decision, value};
    use crate::{DecisionKind, documents};

    fn denied(v: &Value, field: &str) -> Vec<String> {
        v[field]["rules"][0]["values"]["deniedValues"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect()
    }

    #[test]
    fn dry_runs_come_first_then_enforced_then_disables() {
        let scope = Scope::Projects(vec!["unit-b-123".into(), "unit-a-123".into()]);
        let docs = documents(&decision(scope, DecisionKind::Suspend, &[Family::Storage, Family::Ai])).unwrap();
        use DocumentKind::*;
        let kinds: Vec<_> = docs.iter().map(|d| d.kind).collect();
        assert_eq!(kinds, [OrgPolicyDryRun, OrgPolicyDryRun, OrgPolicy, OrgPolicy, ServiceDisable, ServiceDisable]);
        let dry = value(&docs[0]);
        assert_eq!(dry["name"], "projects/unit-a-123/policies/gcp.restrictServiceUsage");
        assert!(dry.get("spec").is_none(), "the dry run enforces nothing");
        assert_eq!(denied(&dry, "dryRunSpec"), ["aiplatform.googleapis.com", "storage.googleapis.com"]);
        let enforced = value(&docs[2]);
        assert!(enforced.get("dryRunSpec").is_none());
        assert_eq!(denied(&enforced, "spec"), denied(&dry, "dryRunSpec"));
        assert_eq!(enforced["spec"]["inheritFromParent"], true);
        let disable = value(&docs[4]);
        let urls: Vec<&str> = disable["requests"].as_array().unwrap().iter().map(|r| r["url"].as_str().unwrap()).collect();
        assert!(urls.iter().all(|u| { u.starts_with("https://serviceusage.googleapis.com/v1/projects/unit-a-123/services/") }));
        assert!(urls.iter().any(|u| u.ends_with("/speech.googleapis.com:disable")));
        assert!(!docs[4].json.contains("unit-b-123"));
    }

    #[test]
    fn only_the_decided_services_appear() {
        let scope = Scope::Projects(vec!["unit-a-123".into()]);
        let docs = documents(&decision(scope, DecisionKind::Restrict, &[Family::Storage])).unwrap();
        assert_eq!(docs.len(), 2, "storage needs no disable step");
        for doc in &docs {
            assert!(doc.json.contains("storage.googleapis.com"));
            for other in ["aiplatform", "speech", "compute", "batch", "networkconnectivity"] {
                assert!(!doc.json.contains(other), "{other} in {}", doc.json);
            }
        }
    }

    #[test]
    fn restrict_and_suspend_deny_the_same_services() {
        let scope = Scope::Projects(vec!["unit-a-123".into()]);
        let r = documents(&decision(scope.clone(), DecisionKind::Restrict, &[])).unwrap();
        let s = documents(&decision(scope, DecisionKind::Suspend, &[])).unwrap();
        assert_eq!(r.len(), s.len());
        for (a, b) in r.iter().zip(&s) {
            assert_eq!(a.kind, b.kind);
            if a.kind != DocumentKind::ServiceDisable {
                assert_eq!(a.json, b.json, "the policy itself does not name the decision");
            }
        }
    }

    #[test]
    fn a_folder_takes_the_policy_but_not_disables() {
        let folder = Scope::Folder("123456789".into());
        let docs = documents(&decision(folder.clone(), DecisionKind::Restrict, &[Family::Storage])).unwrap();
        assert_eq!(value(&docs[0])["name"], "folders/123456789/policies/gcp.restrictServiceUsage");
        assert_eq!(
            documents(&decision(folder, DecisionKind::Restrict, &[Family::Ai])),
            Err(EnforceError::NeedsProjects {
                folder: "123456789".into(),
                services: "documentai.googleapis.com, speech.googleapis.com, translate.googleapis.com, \
                       videointelligence.googleapis.com, vision.googleapis.com"
                    .into(),
            })
        );
    }

    #[test]
    fn network_alone_is_only_a_disable_step() {
        let docs = documents(&decision(Scope::Projects(vec!["123456789012".into()]), DecisionKind::Restrict, &[Family::Network])).unwrap();
        assert_eq!(docs.iter().map(|d| d.kind).collect::<Vec<_>>(), [DocumentKind::ServiceDisable]);
    }

    #[test]
    fn refuses_malformed_projects_and_folders() {
        for scope in [
            Scope::Projects(vec!["Unit-A".into()]),
            Scope::Projects(vec!["abc".into()]),
            Scope::Projects(vec!["unit-a-".into()]),
            Scope::Folder("folders/12".into()),
        ] {
            assert!(matches!(documents(&decision(scope, DecisionKind::Restrict, &[])), Err(EnforceError::BadId { .. })));
        }
    }
}
