//! Enforcement documents: from a reviewed decision (restrict or suspend a unit's storage, AI, compute or network
//! services) to the documents that carry it out on the unit's cloud, narrow to the unit and to the services decided.
//!
//! - Azure ([`azure`]): an assignment of the built-in "Not allowed resource types" policy per subscription (or the
//!   management group), and for `suspend` the subscription-cancel step per subscription.
//! - AWS ([`aws`]): one service control policy denying the decided services' actions, at most 5,120 characters, and
//!   its attachment to the unit's accounts or OU.
//! - Google Cloud ([`gcp`]): an organisation policy on `gcp.restrictServiceUsage` per project (or folder), first as a
//!   `dryRunSpec`, then enforced; services not confirmed on the constraint's supported list are disabled per project.
//!
//! Every document is canonical JSON (RFC 8785: sorted keys, no white space), so the same decision always gives the
//! same bytes, and carries the SHA-256 of those bytes for the transparency log's `enforcement` entry.
//!
//! **Invariant:** no I/O, no clock, no randomness: a document is a pure function of the decision.
#![deny(missing_docs)]

pub mod aws;
pub mod azure;
pub mod gcp;

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The cloud a unit lives on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Microsoft Azure.
    Azure,
    /// Amazon Web Services.
    Aws,
    /// Google Cloud.
    Gcp,
}

impl Provider {
    /// The lowercase name used in file names and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Azure => "azure",
            Provider::Aws => "aws",
            Provider::Gcp => "gcp",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The unit a decision applies to, in its provider's own terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Azure subscription ids (GUIDs).
    Subscriptions(Vec<String>),
    /// One Azure management group id.
    ManagementGroup(String),
    /// AWS account ids (12 digits).
    Accounts(Vec<String>),
    /// One AWS organizational unit id (`ou-…`).
    OrganizationalUnit(String),
    /// Google Cloud project ids or numbers.
    Projects(Vec<String>),
    /// One Google Cloud folder number.
    Folder(String),
}

impl Scope {
    /// The provider whose unit this is.
    pub fn provider(&self) -> Provider {
        match self {
            Scope::Subscriptions(_) | Scope::ManagementGroup(_) => Provider::Azure,
            Scope::Accounts(_) | Scope::OrganizationalUnit(_) => Provider::Aws,
            Scope::Projects(_) | Scope::Folder(_) => Provider::Gcp,
        }
    }
}

/// What the reviewers decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DecisionKind {
    /// Stop new or growing use of the decided services; existing data stays readable.
    Restrict,
    /// Stop the decided services for the unit, reads included (Azure: the unit's subscriptions are cancelled).
    Suspend,
}

impl DecisionKind {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Restrict => "restrict",
            DecisionKind::Suspend => "suspend",
        }
    }
}

/// A family of services a decision names, the same families as the signals (`storage.*`, `ai.*`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// Object, file and archive storage.
    Storage,
    /// Speech, translation, vision, document, search and model services.
    Ai,
    /// Virtual machines, containers and batch compute.
    Compute,
    /// New external connectivity: public addresses, gateways, private links to other networks.
    Network,
}

impl Family {
    /// Every family, in canonical order.
    pub const ALL: [Family; 4] = [Family::Storage, Family::Ai, Family::Compute, Family::Network];

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Storage => "storage",
            Family::Ai => "ai",
            Family::Compute => "compute",
            Family::Network => "network",
        }
    }
}

/// A reviewed decision, as the cases crate hands it over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// The case id; letters, digits, `.`, `_` and `-` only (it is part of file and resource names).
    pub case_id: String,
    /// The unit's provider; must agree with `scope`.
    pub provider: Provider,
    /// The unit.
    pub scope: Scope,
    /// Restrict or suspend.
    pub decision: DecisionKind,
    /// The service families decided; empty means all of them.
    #[serde(default)]
    pub services: Vec<Family>,
    /// The reviewers who approved (two different people: the two-person rule).
    pub approved_by: Vec<String>,
    /// When the decision was approved.
    pub decided_at: DateTime<Utc>,
    /// AWS only: the organization's management account, which SCPs never affect; a decision that targets it is
    /// refused. When absent, every AWS summary carries the warning instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_management_account: Option<String>,
}

/// The kind of an enforcement document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DocumentKind {
    /// Azure: a `Microsoft.Authorization/policyAssignments` resource of the built-in "Not allowed resource types".
    PolicyAssignment,
    /// Azure: the `Microsoft.Subscription` cancel call for one subscription (suspend only).
    SubscriptionCancel,
    /// AWS: the service control policy's content.
    Scp,
    /// AWS: the SCP's name, content hash and attachment targets (the Organizations CreatePolicy + AttachPolicy).
    ScpAttachment,
    /// Google Cloud: the org policy with only a `dryRunSpec` (audit-only).
    OrgPolicyDryRun,
    /// Google Cloud: the org policy with the enforced `spec`.
    OrgPolicy,
    /// Google Cloud: the Service Usage `services.disable` calls for services the org policy does not cover.
    ServiceDisable,
}

impl DocumentKind {
    /// The kebab-case name used in file names.
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::PolicyAssignment => "policy-assignment",
            DocumentKind::SubscriptionCancel => "subscription-cancel",
            DocumentKind::Scp => "scp",
            DocumentKind::ScpAttachment => "scp-attachment",
            DocumentKind::OrgPolicyDryRun => "org-policy-dry-run",
            DocumentKind::OrgPolicy => "org-policy",
            DocumentKind::ServiceDisable => "service-disable",
        }
    }
}

/// One enforcement document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    /// The provider it is for.
    pub provider: Provider,
    /// What it is.
    pub kind: DocumentKind,
    /// A file name for it: `<case>.<provider>.<kind>[.<scope id>].json`.
    pub file_name: String,
    /// The document, canonical JSON (RFC 8785).
    pub json: String,
    /// Lowercase hex SHA-256 of `json`'s bytes, for the `enforcement` log entry.
    pub sha256: String,
    /// What the document does and does not do, in the provider's terms.
    pub summary: String,
}

/// Why no documents could be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnforceError {
    /// The case id has characters that cannot go into a file or resource name.
    #[error("case id {0:?} must be 1 to 64 letters, digits, '.', '_' or '-'")]
    CaseId(String),
    /// The decision's provider and its scope's provider differ.
    #[error("the decision is for {provider} but its scope is a {scope} unit")]
    ProviderMismatch {
        /// The decision's provider.
        provider: Provider,
        /// The scope's provider.
        scope: Provider,
    },
    /// The scope names nothing.
    #[error("the scope names no {0}")]
    EmptyScope(&'static str),
    /// An id in the scope is not of its provider's form.
    #[error("{what} {id:?} is not valid: {rule}")]
    BadId {
        /// What kind of id.
        what: &'static str,
        /// The id as given.
        id: String,
        /// The rule it breaks.
        rule: &'static str,
    },
    /// Fewer than two different reviewers approved (restrict and suspend need two).
    #[error("restrict and suspend need two different approvers; this decision has {0}")]
    TwoPersonRule(usize),
    /// AWS: the target is the management account, which SCPs do not affect.
    #[error("account {0} is the organization's management account: SCPs do not affect it, so this enforcement would do nothing there")]
    ManagementAccount(String),
    /// AWS: the SCP would be longer than the 5,120 characters AWS Organizations accepts.
    #[error("the service control policy is {len} characters; AWS Organizations accepts at most {limit}")]
    ScpTooLong {
        /// Its length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// Azure: `suspend` on a management group; the subscriptions to cancel must be named.
    #[error("suspend cancels subscriptions, so it needs the unit's subscription ids, not management group {0}")]
    SuspendNeedsSubscriptions(String),
    /// Google Cloud: services that only `services disable` can stop, on a folder (disable works per project).
    #[error("{services} can only be stopped per project (services disable), so folder {folder} needs its project ids")]
    NeedsProjects {
        /// The folder.
        folder: String,
        /// The services, comma-separated.
        services: String,
    },
}

/// The documents that carry out `decision`, in the order to apply them.
pub fn documents(decision: &Decision) -> Result<Vec<Document>, EnforceError> {
    let d = Checked::new(decision)?;
    match decision.provider {
        Provider::Azure => azure::documents(&d),
        Provider::Aws => aws::documents(&d),
        Provider::Gcp => gcp::documents(&d),
    }
}

/// A decision whose common fields are checked and put in canonical order.
pub(crate) struct Checked<'a> {
    pub(crate) decision: &'a Decision,
    /// The families decided, sorted, without repeats (all of them when the decision named none).
    pub(crate) families: Vec<Family>,
    /// `decided_at` in RFC 3339, UTC, `Z`.
    pub(crate) decided_at: String,
}

impl<'a> Checked<'a> {
    fn new(decision: &'a Decision) -> Result<Self, EnforceError> {
        let id = &decision.case_id;
        let id_ok = !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !id_ok || id.starts_with('.') {
            return Err(EnforceError::CaseId(id.clone()));
        }
        let scope = decision.scope.provider();
        if scope != decision.provider {
            return Err(EnforceError::ProviderMismatch { provider: decision.provider, scope });
        }
        let approvers: BTreeSet<&str> = decision.approved_by.iter().map(|a| a.trim()).filter(|a| !a.is_empty()).collect();
        if approvers.len() < 2 {
            return Err(EnforceError::TwoPersonRule(approvers.len()));
        }
        let mut families: Vec<Family> = decision.services.clone();
        if families.is_empty() {
            families = Family::ALL.to_vec();
        }
        families.sort();
        families.dedup();
        Ok(Checked { decision, families, decided_at: decision.decided_at.to_rfc3339_opts(SecondsFormat::AutoSi, true) })
    }

    pub(crate) fn case(&self) -> &str {
        &self.decision.case_id
    }

    pub(crate) fn kind(&self) -> DecisionKind {
        self.decision.decision
    }

    /// The families as a comma-separated list, for summaries.
    pub(crate) fn family_list(&self) -> String {
        self.families.iter().map(|f| f.as_str()).collect::<Vec<_>>().join(", ")
    }

    /// The families as a JSON array of names.
    pub(crate) fn family_json(&self) -> serde_json::Value {
        self.families.iter().map(|f| f.as_str()).collect()
    }

    /// A document from its JSON value: canonical bytes, their hash, and a file name.
    pub(crate) fn document(&self, kind: DocumentKind, scope_id: Option<&str>, value: &serde_json::Value, summary: String) -> Document {
        let json = canonical(value);
        let provider = self.decision.provider;
        let file_name = match scope_id {
            Some(s) => format!("{}.{provider}.{}.{}.json", self.case(), kind.as_str(), file_safe(s)),
            None => format!("{}.{provider}.{}.json", self.case(), kind.as_str()),
        };
        Document { provider, kind, file_name, sha256: sha256_hex(json.as_bytes()), json, summary }
    }
}

/// RFC 8785 canonical JSON of a value built in this crate (never fails: no maps with non-string keys, no NaN).
pub(crate) fn canonical(value: &serde_json::Value) -> String {
    serde_json_canonicalizer::to_string(value).expect("documents are plain JSON values")
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A scope id as it may appear in a file name.
fn file_safe(id: &str) -> String {
    id.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' }).collect()
}

/// Sorted, without repeats, trimmed; checked one by one with `check`.
pub(crate) fn ids(ids: &[String], what: &'static str, check: impl Fn(&str) -> Result<String, EnforceError>) -> Result<Vec<String>, EnforceError> {
    if ids.is_empty() {
        return Err(EnforceError::EmptyScope(what));
    }
    let mut out = ids.iter().map(|i| check(i.trim())).collect::<Result<Vec<_>, _>>()?;
    out.sort();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// A decision with two approvers, decided at a fixed time.
    pub(crate) fn decision(scope: Scope, kind: DecisionKind, services: &[Family]) -> Decision {
        Decision {
            case_id: "case-42".into(),
            provider: scope.provider(),
            scope,
            decision: kind,
            services: services.to_vec(),
            approved_by: vec!["reviewer-a".into(), "reviewer-b".into()],
            decided_at: "2025-06-01T12:00:00Z".parse().unwrap(),
            aws_management_account: None,
        }
    }

    /// The parsed JSON of a document.
    pub(crate) fn value(doc: &Document) -> serde_json::Value {
        serde_json::from_str(&doc.json).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::decision;
    use super::*;

    #[test]
    fn refuses_a_single_approver_and_repeats_of_one() {
        let mut d = decision(Scope::Accounts(vec!["111122223333".into()]), DecisionKind::Restrict, &[Family::Ai]);
        d.approved_by = vec!["alice".into(), " alice ".into(), "".into()];
        assert_eq!(documents(&d), Err(EnforceError::TwoPersonRule(1)));
    }

    #[test]
    fn refuses_a_scope_of_another_provider() {
        let mut d = decision(Scope::Projects(vec!["my-project-1".into()]), DecisionKind::Restrict, &[]);
        d.provider = Provider::Azure;
        assert_eq!(documents(&d), Err(EnforceError::ProviderMismatch { provider: Provider::Azure, scope: Provider::Gcp }));
    }

    #[test]
    fn refuses_case_ids_that_are_not_names() {
        for bad in ["", "../x", "a b", ".hidden", &"x".repeat(65)] {
            let mut d = decision(Scope::Accounts(vec!["111122223333".into()]), DecisionKind::Restrict, &[]);
            d.case_id = bad.to_string();
            assert_eq!(documents(&d), Err(EnforceError::CaseId(bad.to_string())), "{bad:?}");
        }
    }

    #[test]
    fn decision_reads_from_json_and_rejects_unknown_fields() {
        let json = r#"{"case_id":"c1","provider":"aws","scope":{"accounts":["111122223333"]},"decision":"suspend",
            "services":["storage","ai"],"approved_by":["a","b"],"decided_at":"2025-06-01T12:00:00Z"}"#;
        let d: Decision = serde_json::from_str(json).unwrap();
        assert_eq!(d.scope, Scope::Accounts(vec!["111122223333".into()]));
        assert_eq!(d.services, vec![Family::Storage, Family::Ai]);
        let bad = json.replace("\"decision\"", "\"extra\":1,\"decision\"");
        assert!(serde_json::from_str::<Decision>(&bad).is_err());
    }

    #[test]
    fn every_provider_is_deterministic_and_hashes_its_bytes() {
        let scopes = [
            Scope::Subscriptions(vec!["00000000-0000-0000-0000-0000000000aa".into()]),
            Scope::Accounts(vec!["111122223333".into()]),
            Scope::Projects(vec!["unit-project-1".into()]),
        ];
        for scope in scopes {
            for kind in [DecisionKind::Restrict, DecisionKind::Suspend] {
                let d = decision(scope.clone(), kind, &[Family::Storage, Family::Ai]);
                let a = documents(&d).unwrap();
                // A clone built separately, with the services and ids in another order, gives the same bytes.
                let mut e = d.clone();
                e.services.reverse();
                e.services.push(Family::Ai);
                let b = documents(&e).unwrap();
                assert_eq!(a, b);
                for doc in &a {
                    assert_eq!(doc.sha256, sha256_hex(doc.json.as_bytes()));
                    let v: serde_json::Value = serde_json::from_str(&doc.json).unwrap();
                    assert_eq!(canonical(&v), doc.json, "{} is not canonical", doc.file_name);
                    assert!(!doc.summary.is_empty());
                    assert!(doc.file_name.starts_with("case-42.") && doc.file_name.ends_with(".json"));
                }
            }
        }
    }
}
