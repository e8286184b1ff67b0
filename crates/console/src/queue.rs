//! The queue: the cases to work, newest evidence first, filtered by state, severity, policy, provider and assignee
//! (query parameters, so a filtered queue is a link).

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use cases::{Case, CaseRecord};
use chrono::NaiveDate;
use maud::{Markup, html};
use serde::Deserialize;

use crate::layout;
use crate::session::{Visitor, see_other};
use crate::{Console, ConsoleError};

/// Severities, lowest first.
pub(crate) const SEVERITIES: [&str; 4] = ["low", "medium", "high", "critical"];

/// The rank of a severity (unknown ones lowest).
pub(crate) fn severity_rank(s: &str) -> usize {
    SEVERITIES.iter().position(|x| *x == s).map_or(0, |i| i + 1)
}

/// The queue's filters; an empty value is no filter.
#[derive(Deserialize, Default, Debug)]
pub(crate) struct Filter {
    /// A state, `all`, or empty for open and under review.
    #[serde(default)]
    state: String,
    /// The least severity.
    #[serde(default)]
    severity: String,
    /// A policy id one of the case's findings names.
    #[serde(default)]
    policy: String,
    /// The cloud: the decided unit's, else the registry's `provider` column.
    #[serde(default)]
    provider: String,
    /// An assignee's name, or `-` for none.
    #[serde(default)]
    assignee: String,
}

/// One queue row.
struct Row {
    case: Case,
    newest: Option<NaiveDate>,
    severity: String,
    policies: BTreeSet<String>,
    provider: Option<String>,
    organisation: Option<String>,
}

/// `/`: the queue for a reviewer, the sign-in page for anyone else.
pub(crate) async fn home(Extension(visitor): Extension<Visitor>) -> Response {
    see_other(if visitor.signed.is_some() { "/queue" } else { "/sign-in" })
}

/// The case's cloud: the decided unit's, else the registry's `provider` column for its subject.
fn provider_of(console: &Console, case: &Case) -> Option<String> {
    if let Some(u) = &case.unit {
        return Some(u.provider.as_str().to_string());
    }
    let tenant = console.registry.as_ref()?.get(&case.subject)?;
    tenant.extra.get("provider").filter(|p| !p.is_empty()).cloned()
}

fn row(console: &Console, rec: CaseRecord) -> Row {
    let findings = &rec.findings;
    let severity = findings.iter().map(|f| f.finding.severity.as_str()).max_by_key(|s| severity_rank(s)).unwrap_or("").to_string();
    let organisation = console.registry.as_ref().and_then(|r| {
        let t = r.get(&rec.case.subject)?;
        let parent = t.parent_id.as_deref().and_then(|p| r.get(p)).map(|p| p.name.clone());
        Some(match parent {
            Some(p) => format!("{} ({p})", t.name),
            None => t.name.clone(),
        })
    });
    Row {
        newest: findings.iter().map(|f| f.finding.as_of).max(),
        policies: findings.iter().map(|f| f.finding.policy.id.clone()).collect(),
        provider: provider_of(console, &rec.case),
        organisation,
        severity,
        case: rec.case,
    }
}

/// `/queue`.
pub(crate) async fn page(
    State(console): State<Arc<Console>>,
    Extension(visitor): Extension<Visitor>,
    Query(filter): Query<Filter>,
) -> Result<Response, ConsoleError> {
    if let Err(to) = visitor.require("/queue") {
        return Ok(to.into_response());
    }
    let store = console.store.read().await;
    let mut rows = Vec::new();
    for case in store.list(None).await? {
        rows.push(row(&console, store.show(&case.id).await?));
    }
    let reviewers: Vec<String> = store.list_reviewers().await?.into_iter().filter(|r| r.removed_at.is_none() && r.role.reviews()).map(|r| r.name).collect();
    drop(store);
    // The choices offered are the values the cases have, so a filter never names nothing.
    let policies: BTreeSet<String> = rows.iter().flat_map(|r| r.policies.iter().cloned()).collect();
    let providers: BTreeSet<String> = rows.iter().filter_map(|r| r.provider.clone()).collect();
    rows.retain(|r| keep(&filter, r));
    rows.sort_by(|a, b| {
        b.newest.cmp(&a.newest).then_with(|| severity_rank(&b.severity).cmp(&severity_rank(&a.severity))).then_with(|| a.case.id.cmp(&b.case.id))
    });
    let main = html! {
        h1 { "Queue" }
        (filters(&filter, &policies, &providers, &reviewers))
        h2 #cases { (rows.len()) " case" @if rows.len() != 1 { "s" } }
        @if rows.is_empty() {
            p { "No case matches these filters." }
        } @else {
            table.queue {
                thead { tr {
                    th scope="col" { "Case" } th scope="col" { "Subject" } th scope="col" { "State" } th scope="col" { "Severity" }
                    th scope="col" { "Policies" } th scope="col" { "Newest evidence" } th scope="col" { "Provider" } th scope="col" { "Assignee" }
                } }
                tbody {
                    @for r in &rows {
                        tr {
                            td { a href=(format!("/cases/{}", r.case.id)) { (r.case.id) } }
                            td { (r.case.subject) @if let Some(o) = &r.organisation { br; span.muted { (o) } } }
                            td { (r.case.state) @if let Some(o) = r.case.outcome { " (" (o) ")" } }
                            td { span class=(format!("sev sev-{}", r.severity)) { (r.severity) } }
                            td { (r.policies.iter().cloned().collect::<Vec<_>>().join(", ")) }
                            td { (r.newest.map_or(String::new(), |d| d.to_string())) }
                            td { (r.provider.as_deref().unwrap_or("—")) }
                            td { (r.case.assignee.as_deref().unwrap_or("—")) }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page("Queue", &visitor, None, main).into_response())
}

fn keep(f: &Filter, r: &Row) -> bool {
    use cases::State;
    let state = match f.state.as_str() {
        "" => matches!(r.case.state, State::Open | State::UnderReview),
        "all" => true,
        s => r.case.state.as_str() == s,
    };
    let severity = f.severity.is_empty() || severity_rank(&r.severity) >= severity_rank(&f.severity);
    let policy = f.policy.is_empty() || r.policies.contains(&f.policy);
    let provider = f.provider.is_empty() || r.provider.as_deref() == Some(f.provider.as_str());
    let assignee = match f.assignee.as_str() {
        "" => true,
        "-" => r.case.assignee.is_none(),
        a => r.case.assignee.as_deref() == Some(a),
    };
    state && severity && policy && provider && assignee
}

fn select(id: &str, label: &str, chosen: &str, options: &[(String, String)]) -> Markup {
    html! {
        div.field {
            label for=(id) { (label) }
            select id=(id) name=(id) {
                @for (value, text) in options {
                    option value=(value) selected[value == chosen] { (text) }
                }
            }
        }
    }
}

fn filters(f: &Filter, policies: &BTreeSet<String>, providers: &BTreeSet<String>, reviewers: &[String]) -> Markup {
    let any = |text: &str| (String::new(), text.to_string());
    let mut states = vec![any("open and under review"), ("all".into(), "every state".into())];
    states.extend(cases::State::ALL.iter().map(|s| (s.as_str().to_string(), s.as_str().to_string())));
    let mut severities = vec![any("any")];
    severities.extend(SEVERITIES.iter().map(|s| (s.to_string(), format!("{s} or higher"))));
    let mut policy = vec![any("any")];
    policy.extend(policies.iter().map(|p| (p.clone(), p.clone())));
    let mut provider = vec![any("any")];
    provider.extend(providers.iter().map(|p| (p.clone(), p.clone())));
    let mut assignee = vec![any("anyone"), ("-".into(), "nobody yet".into())];
    assignee.extend(reviewers.iter().map(|r| (r.clone(), r.clone())));
    html! {
        form.filters method="get" action="/queue" {
            fieldset {
                legend { "Filter the queue" }
                (select("state", "State", &f.state, &states))
                (select("severity", "Severity", &f.severity, &severities))
                (select("policy", "Policy", &f.policy, &policy))
                (select("provider", "Provider", &f.provider, &provider))
                (select("assignee", "Assignee", &f.assignee, &assignee))
                button type="submit" { "Filter" }
            }
        }
    }
}
