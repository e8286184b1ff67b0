//! Azure: an assignment of the built-in "Not allowed resource types" policy per subscription (or on the management
//! group), and for `suspend` the `Microsoft.Subscription` cancel call per subscription.
//!
//! Sources (checked 2026):
//! - The built-in definition, version 2.0.0, mode `All`, parameters `listOfResourceTypesNotAllowed` (Array) and
//!   `effect` (Audit | Deny | Disabled, default Deny): Azure/azure-policy
//!   `built-in-policies/policyDefinitions/General/InvalidResourceTypes_Deny.json`.
//! - The assignment's shape (`type`, `apiVersion`, `name`, `properties` with `displayName`, `description`,
//!   `policyDefinitionId`, `parameters.{name}.value`, `enforcementMode` Default | DoNotEnforce,
//!   `nonComplianceMessages[].message`, `metadata`): the ARM template schema
//!   schema.management.azure.com/schemas/2023-04-01/Microsoft.Authorization.json (Azure/azure-resource-manager-schemas).
//! - Name limits, 1-64 characters, 1-24 at management group scope; display name 1-128: learn.microsoft.com
//!   azure/templates/microsoft.authorization/policyassignments.
//! - Deny blocks create and update requests; existing resources are only reported non-compliant
//!   (`../shared/reference/policy-clauses.md`, "Enforcement mechanisms").
//! - Cancel: `POST /subscriptions/{id}/providers/Microsoft.Subscription/cancel`, operation Subscription_Cancel,
//!   api-version 2021-10-01; its inverse Subscription_Enable (`…/Microsoft.Subscription/enable`): the
//!   Azure.ResourceManager.Subscription SDK reference on learn.microsoft.com. After a cancel "your services are
//!   disabled" and data is deleted after 30 to 90 days: learn.microsoft.com cost-management-billing/manage/
//!   cancel-azure-subscription.
//! - Resource type names: the Azure Policy alias lists (maciejporebski/azure-policy-aliases, one file per type).

use serde_json::json;

use crate::{Checked, DecisionKind, Document, DocumentKind, EnforceError, Family, Scope, ids, sha256_hex};

/// The built-in "Not allowed resource types" policy definition.
pub const NOT_ALLOWED_RESOURCE_TYPES: &str = "/providers/Microsoft.Authorization/policyDefinitions/6c112d4e-5bc7-47ae-a041-ea2d9dccd749";
/// The policy assignment API version the documents are written for.
pub const POLICY_API_VERSION: &str = "2023-04-01";
/// The Microsoft.Subscription API version of the cancel and enable calls.
pub const SUBSCRIPTION_API_VERSION: &str = "2021-10-01";
const ARM: &str = "https://management.azure.com";

/// The resource types a family's assignment denies. Child types are listed where a new one can be made inside an
/// existing parent (a container in an existing storage account, a model deployment in an existing AI account).
pub fn resource_types(family: Family) -> &'static [&'static str] {
    match family {
        Family::Storage => &[
            "Microsoft.Storage/storageAccounts",
            "Microsoft.Storage/storageAccounts/blobServices/containers",
            "Microsoft.Storage/storageAccounts/fileServices/shares",
            "Microsoft.Storage/storageAccounts/queueServices/queues",
            "Microsoft.Storage/storageAccounts/tableServices/tables",
        ],
        // Speech, Translator, Face, Vision, Document Intelligence and OpenAI are all kinds of CognitiveServices
        // accounts; Video Indexer does face identification in video.
        Family::Ai => &[
            "Microsoft.CognitiveServices/accounts",
            "Microsoft.CognitiveServices/accounts/deployments",
            "Microsoft.MachineLearningServices/workspaces",
            "Microsoft.MachineLearningServices/workspaces/batchEndpoints",
            "Microsoft.MachineLearningServices/workspaces/computes",
            "Microsoft.MachineLearningServices/workspaces/onlineEndpoints",
            "Microsoft.Search/searchServices",
            "Microsoft.VideoIndexer/accounts",
        ],
        Family::Compute => &[
            "Microsoft.Batch/batchAccounts",
            "Microsoft.Compute/virtualMachineScaleSets",
            "Microsoft.Compute/virtualMachines",
            "Microsoft.ContainerService/managedClusters",
        ],
        Family::Network => &[
            "Microsoft.Network/connections",
            "Microsoft.Network/expressRouteCircuits",
            "Microsoft.Network/natGateways",
            "Microsoft.Network/publicIPAddresses",
            "Microsoft.Network/virtualNetworkGateways",
            "Microsoft.Network/virtualNetworks/virtualNetworkPeerings",
        ],
    }
}

/// The assignment and, for `suspend`, the cancel steps.
pub(crate) fn documents(d: &Checked) -> Result<Vec<Document>, EnforceError> {
    let (scopes, subscriptions) = match &d.decision.scope {
        Scope::Subscriptions(list) => {
            let subs = ids(list, "subscription", subscription_id)?;
            (subs.iter().map(|s| format!("/subscriptions/{s}")).collect(), subs)
        }
        Scope::ManagementGroup(group) => {
            let group = management_group_id(group.trim())?;
            if d.kind() == DecisionKind::Suspend {
                return Err(EnforceError::SuspendNeedsSubscriptions(group));
            }
            (vec![format!("/providers/Microsoft.Management/managementGroups/{group}")], vec![])
        }
        _ => unreachable!("Checked::new matched the scope to the provider"),
    };
    let mut out: Vec<Document> = scopes.iter().map(|scope| assignment(d, scope)).collect();
    if d.kind() == DecisionKind::Suspend {
        out.extend(subscriptions.iter().map(|s| cancel(d, s)));
    }
    Ok(out)
}

/// The assignment's name: the same for every scope of one case, at most 24 characters (the management group limit).
pub fn assignment_name(case_id: &str) -> String {
    format!("oversight-{}", &sha256_hex(case_id.as_bytes())[..12])
}

fn assignment(d: &Checked, scope: &str) -> Document {
    let mut types: Vec<&str> = d.families.iter().flat_map(|f| resource_types(*f).iter().copied()).collect();
    types.sort_unstable();
    types.dedup();
    let name = assignment_name(d.case());
    let what = format!("{} {}", d.kind().as_str(), d.family_list());
    let value = json!({
        "type": "Microsoft.Authorization/policyAssignments",
        "apiVersion": POLICY_API_VERSION,
        "name": name,
        "id": format!("{scope}/providers/Microsoft.Authorization/policyAssignments/{name}"),
        "properties": {
            "displayName": format!("oversight {}: {what}", d.case()),
            "description": format!(
                "Denies creating or updating {} resources in this scope, by decision of oversight case {} ({}).",
                d.family_list(), d.case(), d.decided_at),
            "policyDefinitionId": NOT_ALLOWED_RESOURCE_TYPES,
            "parameters": {
                "listOfResourceTypesNotAllowed": { "value": types },
                "effect": { "value": "Deny" },
            },
            "enforcementMode": "Default",
            "nonComplianceMessages": [{ "message": format!(
                "Blocked by oversight case {}: the provider decided to {what} services in this scope.", d.case()) }],
            "metadata": { "oversight": {
                "case": d.case(), "decision": d.kind().as_str(), "services": d.family_json(), "decidedAt": d.decided_at,
            }},
        },
    });
    let summary = format!(
        "Azure Policy assignment at {scope}: the built-in \"Not allowed resource types\" with effect Deny over {n} \
         resource types ({families}). It blocks creating or updating those resources (HTTP 403). It does not stop, \
         delete or cut off existing resources, which keep running and are only reported non-compliant, and it does \
         not touch data-plane traffic (blob reads and writes, speech or translation calls to an existing account). \
         Apply with PUT {ARM}{scope}/providers/Microsoft.Authorization/policyAssignments/{name}?api-version=\
         {POLICY_API_VERSION} and the document's properties as the body, or as a resource in a deployment template \
         at that scope.",
        n = types.len(),
        families = d.family_list(),
    );
    d.document(DocumentKind::PolicyAssignment, Some(scope.rsplit('/').next().unwrap_or(scope)), &value, summary)
}

fn cancel(d: &Checked, subscription: &str) -> Document {
    let base = format!("{ARM}/subscriptions/{subscription}/providers/Microsoft.Subscription");
    let value = json!({
        "operation": "Subscription_Cancel",
        "subscriptionId": subscription,
        "request": { "method": "POST", "url": format!("{base}/cancel?api-version={SUBSCRIPTION_API_VERSION}") },
        "undo": {
            "operation": "Subscription_Enable",
            "request": { "method": "POST", "url": format!("{base}/enable?api-version={SUBSCRIPTION_API_VERSION}") },
        },
        "case": d.case(),
        "decision": d.kind().as_str(),
        "decidedAt": d.decided_at,
    });
    let summary = format!(
        "Cancels subscription {subscription}: in Azure's words its services are disabled and its virtual machines \
         deallocated, which the deny assignment alone cannot do. It stops the whole \
         subscription, not only the {families} services decided, and nothing outside it. Azure deletes a cancelled \
         subscription's data after 30 to 90 days, so preserve evidence and decide on a lift (Subscription_Enable, \
         the undo request) before then.",
        families = d.family_list(),
    );
    d.document(DocumentKind::SubscriptionCancel, Some(subscription), &value, summary)
}

/// A subscription id: a GUID, lowercased.
fn subscription_id(id: &str) -> Result<String, EnforceError> {
    let groups: Vec<&str> = id.split('-').collect();
    let ok = groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12]) && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()));
    if !ok {
        return Err(EnforceError::BadId { what: "subscription id", id: id.into(), rule: "a GUID" });
    }
    Ok(id.to_ascii_lowercase())
}

/// A management group id: a path segment (letters, digits, `-`, `_`, `.`, `(`, `)`), 1 to 90 characters.
fn management_group_id(id: &str) -> Result<String, EnforceError> {
    let ok = (1..=90).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'(' | b')'));
    if !ok {
        return Err(EnforceError::BadId { what: "management group id", id: id.into(), rule: "1 to 90 letters, digits, '-', '_', '.', '(' or ')'" });
    }
    Ok(id.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{decision, value};
    use crate::{DocumentKind, documents};

    const SUB_A: &str = "00000000-0000-0000-0000-0000000000AA";
    const SUB_B: &str = "00000000-0000-0000-0000-0000000000bb";

    fn subs() -> Scope {
        Scope::Subscriptions(vec![SUB_B.into(), SUB_A.into()])
    }

    #[test]
    fn restrict_assigns_one_deny_per_subscription_with_only_the_decided_types() {
        let docs = documents(&decision(subs(), DecisionKind::Restrict, &[Family::Storage, Family::Ai])).unwrap();
        assert_eq!(docs.len(), 2, "no cancel step for restrict");
        for (doc, sub) in docs.iter().zip([SUB_A.to_ascii_lowercase(), SUB_B.into()]) {
            assert_eq!(doc.kind, DocumentKind::PolicyAssignment);
            let v = value(doc);
            let name = assignment_name("case-42");
            assert_eq!(v["id"], format!("/subscriptions/{sub}/providers/Microsoft.Authorization/policyAssignments/{name}"));
            assert!(name.len() <= 24);
            let p = &v["properties"];
            assert_eq!(p["policyDefinitionId"], NOT_ALLOWED_RESOURCE_TYPES);
            assert_eq!(p["parameters"]["effect"]["value"], "Deny");
            assert_eq!(p["enforcementMode"], "Default");
            let types: Vec<&str> = p["parameters"]["listOfResourceTypesNotAllowed"]["value"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
            let mut want: Vec<&str> = resource_types(Family::Storage).iter().chain(resource_types(Family::Ai)).copied().collect();
            want.sort_unstable();
            assert_eq!(types, want);
            assert!(types.iter().all(|t| !t.starts_with("Microsoft.Compute") && !t.starts_with("Microsoft.Network")));
            // Only this unit's subscription appears anywhere in the document.
            let other = if sub == SUB_B { SUB_A.to_ascii_lowercase() } else { SUB_B.to_string() };
            assert!(!doc.json.contains(&other));
            assert!(doc.summary.contains("does not stop"), "{}", doc.summary);
        }
    }

    #[test]
    fn suspend_adds_a_cancel_per_subscription_after_the_assignments() {
        let docs = documents(&decision(subs(), DecisionKind::Suspend, &[Family::Ai])).unwrap();
        let kinds: Vec<DocumentKind> = docs.iter().map(|d| d.kind).collect();
        use DocumentKind::*;
        assert_eq!(kinds, [PolicyAssignment, PolicyAssignment, SubscriptionCancel, SubscriptionCancel]);
        let v = value(&docs[2]);
        assert_eq!(
            v["request"]["url"],
            format!("https://management.azure.com/subscriptions/{}/providers/Microsoft.Subscription/cancel?api-version=2021-10-01", SUB_A.to_ascii_lowercase())
        );
        assert!(v["undo"]["request"]["url"].as_str().unwrap().contains("/Microsoft.Subscription/enable?"));
        assert_eq!(docs[2].file_name, format!("case-42.azure.subscription-cancel.{}.json", SUB_A.to_ascii_lowercase()));
    }

    #[test]
    fn management_group_scope_restricts_but_cannot_suspend() {
        let mg = Scope::ManagementGroup("unit-7".into());
        let docs = documents(&decision(mg.clone(), DecisionKind::Restrict, &[Family::Compute])).unwrap();
        assert_eq!(docs.len(), 1);
        assert!(
            value(&docs[0])["id"].as_str().unwrap().starts_with("/providers/Microsoft.Management/managementGroups/unit-7/providers/Microsoft.Authorization/")
        );
        assert_eq!(documents(&decision(mg, DecisionKind::Suspend, &[Family::Compute])), Err(EnforceError::SuspendNeedsSubscriptions("unit-7".into())));
    }

    #[test]
    fn refuses_ids_that_are_not_subscriptions() {
        for bad in ["sub-1", "00000000-0000-0000-0000-00000000000g", "../x"] {
            let d = decision(Scope::Subscriptions(vec![bad.into()]), DecisionKind::Restrict, &[]);
            assert!(matches!(documents(&d), Err(EnforceError::BadId { .. })), "{bad}");
        }
        let d = decision(Scope::Subscriptions(vec![]), DecisionKind::Restrict, &[]);
        assert_eq!(documents(&d), Err(EnforceError::EmptyScope("subscription")));
        let d = decision(Scope::ManagementGroup("a/b".into()), DecisionKind::Restrict, &[]);
        assert!(matches!(documents(&d), Err(EnforceError::BadId { .. })));
    }
}
