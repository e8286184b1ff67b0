//! AWS: one service control policy that denies the decided services' actions, and its attachment to the unit's
//! accounts or OU.
//!
//! Sources (checked 2026):
//! - SCP grammar: `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":[…],"Resource":"*"}]}`, one JSON
//!   object, one `Statement` key (AWS Organizations user guide, "Troubleshooting AWS Organizations policies";
//!   `../shared/reference/policy-clauses.md`).
//! - At most 5,120 characters for an SCP: AWS Organizations user guide, orgs_reference_limits ("Maximum size of a
//!   policy document"), and the CloudFormation `AWS::Organizations::Policy` `Content` property.
//! - SCPs do not affect users or roles in the management account: AWS Organizations user guide,
//!   orgs_manage_policies_scps (and `../shared/reference/policy-clauses.md`).
//! - Target ids: root `r-` + 4..32, account exactly 12 digits, OU `ou-` + 4..32 + `-` + 8..32 lowercase letters or
//!   digits: Organizations API reference, AttachPolicy `TargetId`, PolicyTargetSummary.
//! - Action names are linted against parliament's copy of the IAM service authorization reference
//!   (`tests/parliament.py`, `.ci/parliament.sh`).

use serde_json::{Value, json};

use crate::{Checked, DecisionKind, Document, DocumentKind, EnforceError, Family, Scope, ids};

/// The most characters AWS Organizations accepts in a service control policy.
pub const SCP_MAX_CHARS: usize = 5_120;

/// The actions a family's statement denies. For `restrict`, storage denies only writes and new stores, so the tenant
/// keeps read access to its data; every other family, and storage under `suspend`, is denied whole.
pub fn actions(family: Family, kind: DecisionKind) -> &'static [&'static str] {
    match (family, kind) {
        (Family::Storage, DecisionKind::Restrict) => &[
            "elasticfilesystem:ClientWrite",
            "elasticfilesystem:CreateFileSystem",
            "fsx:CreateFileSystem",
            "glacier:CreateVault",
            "glacier:InitiateMultipartUpload",
            "glacier:UploadArchive",
            "glacier:UploadMultipartPart",
            "s3:CreateBucket",
            "s3:PutObject",
            "s3:ReplicateObject",
            "s3express:CreateBucket",
        ],
        (Family::Storage, DecisionKind::Suspend) => &["elasticfilesystem:*", "fsx:*", "glacier:*", "s3:*", "s3express:*"],
        (Family::Ai, _) => &["bedrock:*", "comprehend:*", "kendra:*", "rekognition:*", "sagemaker:*", "textract:*", "transcribe:*", "translate:*"],
        (Family::Compute, _) => &[
            "batch:SubmitJob",
            "ec2:RunInstances",
            "ec2:StartInstances",
            "ecs:CreateService",
            "ecs:RunTask",
            "ecs:StartTask",
            "eks:CreateCluster",
            "eks:CreateNodegroup",
            "lambda:CreateFunction",
        ],
        (Family::Network, _) => &[
            "directconnect:*",
            "ec2:AcceptVpcPeeringConnection",
            "ec2:AllocateAddress",
            "ec2:AssociateAddress",
            "ec2:AttachInternetGateway",
            "ec2:CreateInternetGateway",
            "ec2:CreateNatGateway",
            "ec2:CreateTransitGatewayVpcAttachment",
            "ec2:CreateVpcPeeringConnection",
            "ec2:CreateVpnConnection",
            "globalaccelerator:*",
        ],
    }
}

/// A target of the attachment.
enum Target {
    Account(String),
    Ou(String),
}

pub(crate) fn documents(d: &Checked) -> Result<Vec<Document>, EnforceError> {
    let targets = match &d.decision.scope {
        Scope::Accounts(list) => ids(list, "account", account_id)?.into_iter().map(Target::Account).collect(),
        Scope::OrganizationalUnit(ou) => vec![Target::Ou(ou_id(ou.trim())?)],
        _ => unreachable!("Checked::new matched the scope to the provider"),
    };
    let management = d.decision.aws_management_account.as_deref().map(str::trim);
    for t in &targets {
        if let (Target::Account(a), Some(m)) = (t, management)
            && a == m
        {
            return Err(EnforceError::ManagementAccount(a.clone()));
        }
    }
    let statements: Vec<(Family, &[&str])> = d.families.iter().map(|f| (*f, actions(*f, d.kind()))).collect();
    let scp = scp_json(&statements)?;
    let scp_doc = d.document(DocumentKind::Scp, None, &serde_json::from_str(&scp).expect("own JSON"), scp_summary(d));
    let attachment = attachment(d, &targets, &scp_doc.sha256, management);
    Ok(vec![scp_doc, attachment])
}

/// The SCP's canonical JSON: one Deny statement per family (`Sid` names it), or [`EnforceError::ScpTooLong`].
pub(crate) fn scp_json(statements: &[(Family, &[&str])]) -> Result<String, EnforceError> {
    let statements: Vec<Value> = statements
        .iter()
        .map(|(family, actions)| {
            let mut name = family.as_str().to_string();
            name[..1].make_ascii_uppercase();
            json!({ "Sid": format!("OversightDeny{name}"), "Effect": "Deny", "Action": actions, "Resource": "*" })
        })
        .collect();
    let json = crate::canonical(&json!({ "Version": "2012-10-17", "Statement": statements }));
    // Counted in bytes, which is never fewer than characters: the check holds whichever AWS counts.
    if json.len() > SCP_MAX_CHARS {
        return Err(EnforceError::ScpTooLong { len: json.len(), limit: SCP_MAX_CHARS });
    }
    Ok(json)
}

fn scp_summary(d: &Checked) -> String {
    let reads = match d.kind() {
        DecisionKind::Restrict if d.families.contains(&Family::Storage) => {
            " Storage is restricted to writes and new stores: reads and copies out of existing buckets still work, so \
             the unit can still move its data elsewhere."
        }
        _ => "",
    };
    format!(
        "Service control policy denying {families} actions ({kind}) to every principal of the attached accounts, at \
         run time, in every region.{reads} It does not stop or delete running instances, stored data or endpoints, \
         does not affect the organization's management account or service-linked roles, and does not reach accounts \
         outside the attachment. Create it as type SERVICE_CONTROL_POLICY and attach it as the scp-attachment \
         document says.",
        families = d.family_list(),
        kind = d.kind().as_str(),
    )
}

fn attachment(d: &Checked, targets: &[Target], scp_sha256: &str, management: Option<&str>) -> Document {
    let name = format!("oversight-{}", d.case());
    let targets_json: Vec<Value> = targets
        .iter()
        .map(|t| match t {
            Target::Account(a) => json!({ "targetId": a, "type": "ACCOUNT" }),
            Target::Ou(o) => json!({ "targetId": o, "type": "ORGANIZATIONAL_UNIT" }),
        })
        .collect();
    let value = json!({
        "policy": {
            "name": name,
            "type": "SERVICE_CONTROL_POLICY",
            "description": format!("oversight case {}: {} {}", d.case(), d.kind().as_str(), d.family_list()),
            "contentSha256": scp_sha256,
        },
        "attach": targets_json,
        "undo": "DetachPolicy from every target, then DeletePolicy",
        "case": d.case(),
        "decision": d.kind().as_str(),
        "services": d.family_json(),
        "decidedAt": d.decided_at,
    });
    let ids: Vec<&str> = targets
        .iter()
        .map(|t| match t {
            Target::Account(a) | Target::Ou(a) => a.as_str(),
        })
        .collect();
    let warning = match (management, targets.iter().any(|t| matches!(t, Target::Ou(_)))) {
        (Some(m), true) => format!(" Warning: if the management account {m} is in this OU it is not restricted: SCPs never affect it."),
        (Some(_), false) => String::new(),
        (None, _) => " Warning: the management account is unknown to this decision; if a target is or contains the \
                      management account, the SCP does nothing there."
            .into(),
    };
    let summary = format!(
        "Attach SCP {name} (content SHA-256 {short}…) to {targets}, and nothing else: accounts outside the unit, and \
         the rest of the organization, keep their permissions.{warning}",
        short = &scp_sha256[..12],
        targets = ids.join(", "),
    );
    d.document(DocumentKind::ScpAttachment, None, &value, summary)
}

fn account_id(id: &str) -> Result<String, EnforceError> {
    if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(id.into())
    } else {
        Err(EnforceError::BadId { what: "AWS account id", id: id.into(), rule: "exactly 12 digits" })
    }
}

fn ou_id(id: &str) -> Result<String, EnforceError> {
    let lower_alnum = |s: &str| s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let parts: Vec<&str> = id.split('-').collect();
    let ok = parts.len() == 3
        && parts[0] == "ou"
        && (4..=32).contains(&parts[1].len())
        && (8..=32).contains(&parts[2].len())
        && lower_alnum(parts[1])
        && lower_alnum(parts[2]);
    if ok {
        Ok(id.into())
    } else {
        Err(EnforceError::BadId {
            what: "organizational unit id",
            id: id.into(),
            rule: "ou-, 4 to 32 lowercase letters or digits, -, 8 to 32 more (a root r-… is not a unit)",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::documents;
    use crate::test_support::{decision, value};

    fn all_actions(v: &Value) -> Vec<String> {
        v["Statement"].as_array().unwrap().iter().flat_map(|s| s["Action"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string())).collect()
    }

    #[test]
    fn scp_denies_only_the_decided_families() {
        let d = decision(Scope::Accounts(vec!["111122223333".into()]), DecisionKind::Suspend, &[Family::Ai]);
        let docs = documents(&d).unwrap();
        assert_eq!(docs.iter().map(|d| d.kind).collect::<Vec<_>>(), [DocumentKind::Scp, DocumentKind::ScpAttachment]);
        let v = value(&docs[0]);
        assert_eq!(v["Version"], "2012-10-17");
        let st = v["Statement"].as_array().unwrap();
        assert_eq!(st.len(), 1);
        assert_eq!(st[0]["Effect"], "Deny");
        assert_eq!(st[0]["Resource"], "*");
        assert_eq!(all_actions(&v), actions(Family::Ai, DecisionKind::Suspend));
        for a in ["transcribe:*", "translate:*", "rekognition:*", "textract:*", "comprehend:*", "bedrock:*"] {
            assert!(docs[0].json.contains(a), "{a}");
        }
        assert!(!docs[0].json.contains("s3") && !docs[0].json.contains("ec2:"));
        assert!(docs[0].json.len() <= SCP_MAX_CHARS);
    }

    #[test]
    fn restrict_denies_storage_writes_and_suspend_denies_storage_whole() {
        let scope = Scope::Accounts(vec!["111122223333".into()]);
        let restrict = value(&documents(&decision(scope.clone(), DecisionKind::Restrict, &[Family::Storage])).unwrap()[0]);
        let suspend = value(&documents(&decision(scope, DecisionKind::Suspend, &[Family::Storage])).unwrap()[0]);
        let r = all_actions(&restrict);
        assert!(r.contains(&"s3:PutObject".to_string()) && !r.iter().any(|a| a == "s3:*" || a == "s3:GetObject"));
        assert!(all_actions(&suspend).contains(&"s3:*".to_string()));
    }

    #[test]
    fn all_families_fit_in_the_limit_and_an_oversized_scp_is_refused() {
        for kind in [DecisionKind::Restrict, DecisionKind::Suspend] {
            let docs = documents(&decision(Scope::Accounts(vec!["111122223333".into()]), kind, &[])).unwrap();
            assert!(docs[0].json.len() <= SCP_MAX_CHARS, "{}", docs[0].json.len());
        }
        let many: Vec<String> = (0..400).map(|i| format!("service{i}:DoSomething")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        match scp_json(&[(Family::Ai, &many)]) {
            Err(EnforceError::ScpTooLong { len, limit: SCP_MAX_CHARS }) => assert!(len > SCP_MAX_CHARS),
            other => panic!("expected ScpTooLong, got {other:?}"),
        }
        // Exactly at the limit passes.
        let base = scp_json(&[(Family::Ai, &["a:B"])]).unwrap().len();
        let pad = "x".repeat(SCP_MAX_CHARS - base);
        let action = format!("a:B{pad}");
        assert_eq!(scp_json(&[(Family::Ai, &[action.as_str()])]).unwrap().len(), SCP_MAX_CHARS);
        let over = format!("{action}y");
        assert!(scp_json(&[(Family::Ai, &[over.as_str()])]).is_err());
    }

    #[test]
    fn attachment_names_only_the_units_targets_and_the_scp_hash() {
        let d = decision(
            Scope::Accounts(vec!["444455556666".into(), "111122223333".into(), "111122223333".into()]),
            DecisionKind::Restrict,
            &[Family::Ai, Family::Storage],
        );
        let docs = documents(&d).unwrap();
        let v = value(&docs[1]);
        assert_eq!(v["attach"], json!([{"targetId": "111122223333", "type": "ACCOUNT"}, {"targetId": "444455556666", "type": "ACCOUNT"}]));
        assert_eq!(v["policy"]["contentSha256"], docs[0].sha256);
        assert_eq!(v["policy"]["type"], "SERVICE_CONTROL_POLICY");
        assert!(docs[1].summary.contains("management account is unknown"));
    }

    #[test]
    fn refuses_the_management_account_and_warns_for_an_ou() {
        let mut d = decision(Scope::Accounts(vec!["111122223333".into()]), DecisionKind::Suspend, &[]);
        d.aws_management_account = Some("111122223333".into());
        assert_eq!(documents(&d), Err(EnforceError::ManagementAccount("111122223333".into())));
        let mut d = decision(Scope::OrganizationalUnit("ou-ab12-cdef3456".into()), DecisionKind::Suspend, &[]);
        d.aws_management_account = Some("999988887777".into());
        let docs = documents(&d).unwrap();
        assert_eq!(value(&docs[1])["attach"], json!([{"targetId": "ou-ab12-cdef3456", "type": "ORGANIZATIONAL_UNIT"}]));
        assert!(docs[1].summary.contains("999988887777 is in this OU it is not restricted"));
    }

    #[test]
    fn refuses_roots_and_malformed_ids() {
        for scope in [
            Scope::OrganizationalUnit("r-ab12".into()),
            Scope::OrganizationalUnit("ou-AB12-cdef3456".into()),
            Scope::Accounts(vec!["12345678901".into()]),
            Scope::Accounts(vec!["1111222233334".into()]),
        ] {
            let d = decision(scope.clone(), DecisionKind::Restrict, &[]);
            assert!(matches!(documents(&d), Err(EnforceError::BadId { .. })), "{scope:?}");
        }
    }
}
