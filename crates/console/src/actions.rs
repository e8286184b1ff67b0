//! The actions on a case: the forms a reviewer sees (only those the case's state and the reviewer's role allow), and
//! their POST, which the store applies or refuses. Every form carries the session's CSRF token (checked by
//! [`crate::guard`]), the case version the reviewer read (a change since is a conflict naming who made it) and a
//! reason.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use cases::{Act, Action, Case, CaseError, Family, Outcome, Provider, Reviewer, Role, Ruling, Scope, Session, State as CaseState, Unit};
use chrono::Utc;
use maud::{Markup, html};

use crate::error::case_status;
use crate::guard::Fields;
use crate::layout::Notice;
use crate::session::Visitor;
use crate::{Console, ConsoleError, case_page};

/// The actions, by the name in their path.
const ACTIONS: [&str; 5] = ["assign", "decide", "approve", "enforce", "lift"];

/// What the page says after an action was done.
pub(crate) fn done_message(action: &str) -> Option<&'static str> {
    Some(match action {
        "assign" => "The reviewer is assigned, and the step is on the log.",
        "decide" => "The decision is recorded and on the log.",
        "approve" => "Your approval is recorded, signed with your approval key, and on the log.",
        "enforce" => "The case is enforced: its documents are below, and their SHA-256 hashes are on the log.",
        "lift" => "The enforcement is lifted, and the lift is on the log.",
        _ => return None,
    })
}

/// Whether `role` may take the action named `action` (the store's rule, [`Role::may`]), and who may if not.
fn permitted(role: Role, action: &str) -> Result<(), &'static str> {
    match action {
        "assign" | "decide" if !role.reviews() => Err("a reviewer, approver or admin"),
        "approve" | "enforce" | "lift" if !role.approves() => Err("an approver or admin"),
        _ => Ok(()),
    }
}

/// The actions `case` allows now, for a reviewer in `role`.
fn allowed(case: &Case, role: Role) -> Vec<&'static str> {
    let enforcing = case.outcome.is_some_and(Outcome::enforces);
    ACTIONS
        .into_iter()
        .filter(|a| permitted(role, a).is_ok())
        .filter(|a| match *a {
            "assign" => matches!(case.state, CaseState::Open | CaseState::UnderReview),
            "decide" => case.state == CaseState::UnderReview,
            "approve" => case.state == CaseState::Decided && enforcing && case.approvals.len() < 2,
            "enforce" => case.state == CaseState::Decided && enforcing && case.approvals.len() >= 2,
            "lift" => case.state == CaseState::Enforced,
            _ => false,
        })
        .collect()
}

/// The fields every action form has: the token, the version read, and the reason.
fn common(session: &Session, case: &Case, action: &str) -> Markup {
    html! {
        input type="hidden" name="csrf" value=(session.csrf);
        input type="hidden" name="version" value=(case.version);
        div.field {
            label for=(format!("{action}-reason")) { "Reason (kept in the store; the log carries its SHA-256)" }
            textarea id=(format!("{action}-reason")) name="reason" rows="2" required {}
        }
    }
}

/// The action forms for the signed-in reviewer, or why there are none.
pub(crate) fn forms(case: &Case, session: &Session, roster: &[Reviewer]) -> Markup {
    let account = &session.account;
    let allowed = allowed(case, account.role());
    let already = case.approvals.iter().any(|a| cases::identity::key(a).is_ok_and(|k| k == account.key()));
    let path = |a: &str| format!("/cases/{}/{a}", case.id);
    html! {
        section aria-labelledby="actions" {
            h2 #actions { "Actions" }
            @if account.role() == Role::Auditor {
                p { "You are an auditor: you read every case and take no action." }
            } @else if allowed.is_empty() {
                p { "Nothing to do on this case in its state (" (case.state) ") for your role (" (account.role()) ")." }
            }
            @for a in &allowed {
                form.action method="post" action=(path(a)) {
                    @match *a {
                        "assign" => fieldset {
                            legend { "Assign a reviewer" }
                            div.field {
                                label for="assign-reviewer" { "Reviewer" }
                                select #assign-reviewer name="reviewer" {
                                    @for r in roster.iter().filter(|r| r.removed_at.is_none() && r.role.reviews()) {
                                        option value=(r.name) selected[r.key == account.key()] { (r.name) " (" (r.role) ")" }
                                    }
                                }
                            }
                            (common(session, case, a))
                            button type="submit" { "Assign" }
                        },
                        "decide" => (decide_form(case, session)),
                        "approve" => fieldset {
                            legend { "Approve the decision" }
                            p {
                                (case.outcome.map_or(String::new(), |o| o.to_string()))
                                @if let Some(u) = &case.unit { " on " (u.provider) " " (case_page::scope_text(&u.scope)) }
                                ", services: " @if case.services.is_empty() { "all" } @else { (case.services.iter().map(|f| f.as_str()).collect::<Vec<_>>().join(", ")) }
                                ". It needs approvals by two different reviewers; it has " (case.approvals.len()) "."
                            }
                            @if already { p.warn { "You approved this decision already: the second approval must come from a different reviewer." } }
                            (common(session, case, a))
                            button type="submit" { "Approve" }
                        },
                        "enforce" => fieldset {
                            legend { "Enforce" }
                            p { "Issues the provider's enforcement documents for the unit and logs each one's SHA-256." }
                            (common(session, case, a))
                            button type="submit" { "Enforce" }
                        },
                        _ => fieldset {
                            legend { "Lift the enforcement" }
                            p { "Closes the case; the documents stay on record." }
                            (common(session, case, a))
                            button type="submit" { "Lift" }
                        },
                    }
                }
            }
        }
    }
}

fn decide_form(case: &Case, session: &Session) -> Markup {
    let default_scope = case.unit.as_ref().map_or(case.subject.clone(), |u| match &u.scope {
        Scope::Subscriptions(ids) | Scope::Accounts(ids) | Scope::Projects(ids) => ids.join(", "),
        _ => String::new(),
    });
    html! {
        fieldset {
            legend { "Decide" }
            div.field {
                label for="decide-outcome" { "Outcome" }
                select #decide-outcome name="outcome" {
                    @for o in Outcome::ALL { option value=(o.as_str()) { (o.as_str()) @if o.enforces() { " (needs two approvals)" } } }
                }
            }
            p.hint { "Restrict and suspend act on a unit of the subject's cloud; no-action and notice take none (leave the cloud empty)." }
            div.field {
                label for="decide-provider" { "Cloud of the unit" }
                select #decide-provider name="provider" {
                    option value="" { "none (no-action, notice)" }
                    @for p in [Provider::Azure, Provider::Aws, Provider::Gcp] { option value=(p.as_str()) { (p.as_str()) } }
                }
            }
            div.field {
                label for="decide-scope" { "Subscriptions, accounts or projects (comma-separated)" }
                input #decide-scope type="text" name="scope" value=(default_scope) spellcheck="false";
            }
            div.field {
                label for="decide-group" { "Or a management group, organizational unit or folder" }
                input #decide-group type="text" name="group" spellcheck="false";
            }
            fieldset.services {
                legend { "Services (none ticked: all)" }
                @for f in Family::ALL {
                    div.tick {
                        input type="checkbox" id=(format!("decide-service-{}", f.as_str())) name="services" value=(f.as_str());
                        label for=(format!("decide-service-{}", f.as_str())) { (f.as_str()) }
                    }
                }
            }
            div.field {
                label for="decide-aws-management" { "AWS: the organization's management account (optional)" }
                input #decide-aws-management type="text" name="aws_management_account" spellcheck="false";
            }
            (common(session, case, "decide"))
            button type="submit" { "Decide" }
        }
    }
}

/// The decision a decide form states.
fn ruling(fields: &Fields) -> Result<Ruling, ConsoleError> {
    let outcome = Outcome::parse(fields.get("outcome")).ok_or_else(|| ConsoleError::BadRequest(format!("{:?} is not an outcome", fields.get("outcome"))))?;
    let mut services = Vec::new();
    for s in fields.all("services") {
        services.push(Family::ALL.into_iter().find(|f| f.as_str() == s).ok_or_else(|| ConsoleError::BadRequest(format!("{s:?} is not a service family")))?);
    }
    let unit = match fields.get("provider") {
        "" => None,
        p => {
            let provider = [Provider::Azure, Provider::Aws, Provider::Gcp]
                .into_iter()
                .find(|x| x.as_str() == p)
                .ok_or_else(|| ConsoleError::BadRequest(format!("{p:?} is not a cloud")))?;
            let ids: Vec<String> = fields.get("scope").split([',', ' ', '\n']).map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
            let group = fields.get("group").trim().to_string();
            let scope = match (provider, group.is_empty()) {
                (Provider::Azure, true) => Scope::Subscriptions(ids),
                (Provider::Azure, false) => Scope::ManagementGroup(group),
                (Provider::Aws, true) => Scope::Accounts(ids),
                (Provider::Aws, false) => Scope::OrganizationalUnit(group),
                (Provider::Gcp, true) => Scope::Projects(ids),
                (Provider::Gcp, false) => Scope::Folder(group),
            };
            let management = fields.get("aws_management_account").trim();
            Some(Unit { provider, scope, aws_management_account: (!management.is_empty()).then(|| management.to_string()) })
        }
    };
    Ok(Ruling { outcome, unit, services })
}

/// `POST /cases/{id}/{action}`: apply the action as the signed-in reviewer, then show the case (303), or show the
/// case with the store's refusal and its status (403 for who may not, 409 for what the case refuses).
pub(crate) async fn act(
    State(console): State<Arc<Console>>,
    Extension(visitor): Extension<Visitor>,
    Extension(fields): Extension<Fields>,
    Path((id, name)): Path<(String, String)>,
) -> Result<Response, ConsoleError> {
    // The CSRF guard let this through, so the session is live.
    let signed = visitor.signed.as_ref().ok_or_else(|| ConsoleError::Forbidden("Sign in first.".into()))?;
    if !ACTIONS.contains(&name.as_str()) {
        return Err(ConsoleError::NotFound(format!("There is no action {name:?}.")));
    }
    let account = &signed.session.account;
    let outcome = match permitted(account.role(), &name) {
        // Refused before reading the form: an auditor is refused whatever they send.
        Err(needs) => Err(CaseError::NotPermitted { reviewer: account.name().to_string(), role: account.role(), action: name.clone(), needs }),
        Ok(()) => {
            let version = fields
                .get("version")
                .parse::<i64>()
                .map_err(|_| ConsoleError::BadRequest("The form carries no case version: reload the case and try again.".into()))?;
            let action = match name.as_str() {
                "assign" => Action::Assign { reviewer: fields.get("reviewer").to_string() },
                "decide" => Action::Decide(ruling(&fields)?),
                "approve" => Action::Approve,
                "enforce" => Action::Enforce,
                _ => Action::Lift,
            };
            let act = Act { actor: account.clone(), reason: fields.get("reason").trim().to_string(), at: Utc::now(), expect_version: Some(version) };
            console.store.write().await.apply(&id, &act, action).await.map(|_| ())
        }
    };
    match outcome {
        Ok(()) => Ok(crate::session::see_other(&format!("/cases/{id}?done={name}"))),
        Err(e @ CaseError::UnknownCase(_)) => Err(e.into()),
        Err(e) => {
            let status = case_status(&e);
            // The store's words as they are: they start with names and case ids, which keep their case.
            let mut message = e.to_string();
            if matches!(e, CaseError::Conflict { .. }) {
                message.push_str(". The page below shows the case as it is now.");
            }
            let page = case_page::render(&console, &visitor, signed, &id, Some(&Notice::Error(message))).await?;
            Ok((status, page).into_response())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_follow_the_state_and_the_role() {
        let mut case = Case {
            id: "case-000001".into(),
            subject: "111122223333".into(),
            subject_kind: cases::SubjectKind::Account,
            parent_id: None,
            state: CaseState::Open,
            outcome: None,
            unit: None,
            services: vec![],
            assignee: None,
            approvals: vec![],
            version: 1,
            opened_at: Utc::now(),
            updated_at: Utc::now(),
        };
        assert_eq!(allowed(&case, Role::Reviewer), ["assign"]);
        assert!(allowed(&case, Role::Auditor).is_empty());
        case.state = CaseState::UnderReview;
        assert_eq!(allowed(&case, Role::Approver), ["assign", "decide"]);
        case.state = CaseState::Decided;
        case.outcome = Some(Outcome::Suspend);
        assert_eq!(allowed(&case, Role::Approver), ["approve"]);
        assert!(allowed(&case, Role::Reviewer).is_empty());
        case.approvals = vec!["ann".into(), "bob".into()];
        assert_eq!(allowed(&case, Role::Admin), ["enforce"]);
        case.outcome = Some(Outcome::Notice);
        assert!(allowed(&case, Role::Admin).is_empty(), "a notice closes the case");
        case.state = CaseState::Enforced;
        case.outcome = Some(Outcome::Suspend);
        assert_eq!(allowed(&case, Role::Approver), ["lift"]);
        assert!(allowed(&case, Role::Auditor).is_empty());
    }
}
