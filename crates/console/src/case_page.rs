//! The case page: the subject and its organisation, the findings against their thresholds with the clause each
//! enforces, the evidence charts, the actions this reviewer may take now, the history with each step's log entries
//! and checked proofs, and the enforcement documents (preview, download, SHA-256).

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use cases::{CaseFinding, CaseRecord, IssuedDocument, Transition};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::layout::{self, Notice};
use crate::session::{Signed, Visitor};
use crate::{Console, ConsoleError, actions, chart, public};

/// The page's query: which action was just done, to say so.
#[derive(Deserialize, Default)]
pub(crate) struct Done {
    done: Option<String>,
}

/// `GET /cases/{id}`.
pub(crate) async fn page(
    State(console): State<Arc<Console>>,
    Extension(visitor): Extension<Visitor>,
    Path(id): Path<String>,
    Query(q): Query<Done>,
) -> Result<Response, ConsoleError> {
    let signed = match visitor.require(&format!("/cases/{id}")) {
        Ok(s) => s,
        Err(to) => return Ok(to.into_response()),
    };
    let notice = q.done.as_deref().and_then(actions::done_message).map(|m| Notice::Done(m.into()));
    Ok(render(&console, &visitor, signed, &id, notice.as_ref()).await?.into_response())
}

/// The case page for `signed`, with a notice at its top.
pub(crate) async fn render(console: &Console, visitor: &Visitor, signed: &Signed, id: &str, notice: Option<&Notice>) -> Result<Html<String>, ConsoleError> {
    let store = console.store.read().await;
    let rec = store.show(id).await?;
    let reviewers = store.list_reviewers().await?;
    drop(store);
    let c = &rec.case;
    let charts = chart::charts(&rec.findings);
    let main = html! {
        h1 { "Case " (c.id) }
        (summary(&rec))
        (subject(console, &rec))
        section aria-labelledby="findings" {
            h2 #findings { "Findings (" (rec.findings.len()) ")" }
            @for (n, f) in rec.findings.iter().enumerate() { (finding(console, f, n)) }
        }
        section aria-labelledby="evidence" {
            h2 #evidence { "Evidence" }
            @if charts.is_empty() {
                p { "The findings carry no series points to draw." }
            } @else {
                p { "Each signal's daily values around the findings, from the points the findings read. Dashed red lines are the policies' thresholds (where a condition compares a daily level), dotted grey lines the findings' days." }
                div.charts { @for (n, ch) in charts.iter().enumerate() { (chart::render(ch, n)) } }
            }
        }
        (actions::forms(c, &signed.session, &reviewers))
        (history(console, &rec.history))
        (documents(&rec))
    };
    Ok(layout::page(&format!("Case {}", c.id), visitor, notice, main))
}

fn summary(rec: &CaseRecord) -> Markup {
    let c = &rec.case;
    html! {
        dl.summary {
            dt { "State" } dd { strong { (c.state) } }
            dt { "Outcome" } dd { (c.outcome.map_or("not decided".to_string(), |o| o.to_string())) }
            @if let Some(u) = &c.unit {
                dt { "Unit" } dd { (u.provider) " " (scope_text(&u.scope)) }
                dt { "Services" } dd { @if c.services.is_empty() { "all" } @else { (c.services.iter().map(|f| f.as_str()).collect::<Vec<_>>().join(", ")) } }
            }
            dt { "Assignee" } dd { (c.assignee.as_deref().unwrap_or("nobody yet")) }
            dt { "Approvals" } dd {
                (c.approvals.len()) " of 2"
                @if !c.approvals.is_empty() { ": " (c.approvals.join(", ")) }
            }
            dt { "Version" } dd { (c.version) }
            dt { "Opened" } dd { (c.opened_at.format("%Y-%m-%d %H:%M UTC")) }
            dt { "Last change" } dd { (c.updated_at.format("%Y-%m-%d %H:%M UTC")) }
        }
    }
}

/// A unit's scope as a reviewer reads it.
pub(crate) fn scope_text(s: &cases::Scope) -> String {
    use cases::Scope;
    match s {
        Scope::Subscriptions(ids) => format!("subscriptions {}", ids.join(", ")),
        Scope::ManagementGroup(g) => format!("management group {g}"),
        Scope::Accounts(ids) => format!("accounts {}", ids.join(", ")),
        Scope::OrganizationalUnit(ou) => format!("organizational unit {ou}"),
        Scope::Projects(ids) => format!("projects {}", ids.join(", ")),
        Scope::Folder(f) => format!("folder {f}"),
    }
}

fn subject(console: &Console, rec: &CaseRecord) -> Markup {
    let c = &rec.case;
    let tenant = console.registry.as_ref().and_then(|r| r.get(&c.subject));
    let parent_id = tenant.and_then(|t| t.parent_id.clone()).or_else(|| c.parent_id.clone());
    let parent = parent_id.as_deref().and_then(|p| console.registry.as_ref()?.get(p));
    html! {
        section aria-labelledby="subject" {
            h2 #subject { "Subject" }
            dl {
                dt { "Account" } dd { code { (c.subject) } " (" (c.subject_kind.as_str()) ")" }
                dt { "Pseudonym in the log" } dd { code.hash { (tlog::entry::pseudonym(&console.pseudonym_key, &c.subject)) } }
                @match (&console.registry, tenant) {
                    (None, _) => { dt { "Registry" } dd { "The console was not given the tenant registry: only the id is known." } },
                    (Some(_), None) => { dt { "Registry" } dd { "This account is not in the tenant registry." } },
                    (Some(_), Some(t)) => {
                        dt { "Name" } dd { (t.name) }
                        dt { "Sector" } dd { (t.sector.as_str()) }
                        dt { "Country" } dd { (t.country) }
                        @if !t.purposes.is_empty() { dt { "Declared purposes" } dd { (t.purposes.join("; ")) } }
                        @if !t.approvals.is_empty() {
                            dt { "Approvals granted" }
                            dd { (t.approvals.iter().map(|a| match a.from { Some(d) => format!("{} from {d}", a.name), None => a.name.clone() }).collect::<Vec<_>>().join("; ")) }
                        }
                    },
                }
                dt { "Organisation" }
                dd {
                    @match (parent_id.as_deref(), parent) {
                        (None, _) => "none above it in the registry",
                        (Some(p), Some(t)) => { (t.name) " (" code { (p) } ", " (t.sector.as_str()) ", " (t.country) ")" },
                        (Some(p), None) => code { (p) },
                    }
                }
            }
        }
    }
}

fn number(v: Option<&Value>) -> String {
    match v.and_then(Value::as_f64) {
        Some(x) if x != 0.0 && (x.abs() >= 1e6 || x.abs() < 1e-3) => format!("{x:.4e}"),
        Some(x) => chart::fmt(x),
        None => "—".into(),
    }
}

fn finding(console: &Console, cf: &CaseFinding, n: usize) -> Markup {
    let f = &cf.finding;
    let text = console.policies.find(&f.policy);
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    html! {
        article.finding aria-labelledby=(format!("finding-{n}")) {
            h3 id=(format!("finding-{n}")) {
                (f.policy.id) " v" (f.policy.version)
                @if !f.title.is_empty() { ": " (f.title) }
            }
            p {
                span class=(format!("sev sev-{}", f.severity)) { (f.severity) } " · "
                "on " code { (f.account_id) } " (" (f.scope.as_str()) ") · "
                "day " (f.as_of) ", window from " (f.window_start) " · "
                "score " (format!("{:.2}", f.score)) " (how far past its threshold the weakest condition is)"
                @if cf.via == "watch" { " · " strong { "watch:" } " found on a related account after enforcement" }
            }
            @if let Some(w) = &cf.withdrawn {
                p.withdrawn { strong { "Withdrawn " (w.at.format("%Y-%m-%d %H:%M UTC")) ": " } (w.reason) }
            }
            table.measured {
                caption { "Measured against the thresholds" }
                thead { tr { th scope="col" { "Signal" } th scope="col" { "Measure" } th scope="col" { "Measured" } th scope="col" { "Condition" } th scope="col" { "Measured ÷ threshold" } } }
                tbody {
                    @for m in &f.measured {
                        @let (value, threshold) = (m.get("value").and_then(Value::as_f64), m.get("threshold").and_then(Value::as_f64));
                        tr {
                            td { (s(m, "signal")) }
                            td { (s(m, "measure")) }
                            td.num { (number(m.get("value"))) }
                            td.num { (s(m, "op")) " " (number(m.get("threshold"))) }
                            td.num { @match (value, threshold) { (Some(v), Some(t)) if t != 0.0 => (format!("{:.2}", v / t)), _ => "—" } }
                        }
                    }
                }
            }
            @match text {
                Some((p, exact)) => {
                    blockquote.clause {
                        p { "“" (p.clause.text) "”" }
                        footer { "The clause this policy enforces: " (p.clause.provider) ", " cite { (p.clause.source) } }
                    }
                    @if !exact { p.warn { "The policy file the console was given is not the one that fired (its SHA-256 differs from " code.hash { (f.policy.sha256) } "); the clause is that file's." } }
                },
                None => p.muted { "The clause of " (f.policy.id) " v" (f.policy.version) " is not known to the console (it was not given the policy pack); the policy's SHA-256 is " code.hash { (f.policy.sha256) } "." },
            }
        }
    }
}

fn history(console: &Console, history: &[Transition]) -> Markup {
    html! {
        section aria-labelledby="history" {
            h2 #history { "History" }
            table.history {
                thead { tr { th scope="col" { "Version" } th scope="col" { "When" } th scope="col" { "Action" } th scope="col" { "State" } th scope="col" { "By" } th scope="col" { "Reason" } th scope="col" { "On the log" } } }
                tbody {
                    @for t in history {
                        tr {
                            td.num { (t.version) }
                            td { (t.at.format("%Y-%m-%d %H:%M:%S UTC")) }
                            td { (t.action) }
                            td { @if let Some(f) = t.from { (f) " → " } (t.to) }
                            td { (t.actor) }
                            td { (t.reason) }
                            td {
                                ul.entries {
                                    @for e in &t.entries {
                                        li {
                                            @match (e.index, &e.proof) {
                                                (Some(i), Some(p)) => {
                                                    a href=(format!("/log/entries/{i}")) { (e.kind) " entry #" (i) }
                                                    " · "
                                                    @match public::check_stored(&e.body, p, &console.log_key) {
                                                        Ok(()) => span.check.ok { "proof checked" },
                                                        Err(why) => span.check.fail { "proof FAILS: " (why) },
                                                    }
                                                },
                                                _ => { (e.kind) " entry pending: the store appends it when next opened" },
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn documents(rec: &CaseRecord) -> Markup {
    let docs = &rec.documents;
    html! {
        @if !docs.is_empty() {
            section aria-labelledby="documents" {
                h2 #documents { "Enforcement documents (" (docs.len()) ")" }
                p { "Apply them in this order. Each one's SHA-256 is on the log, in the enforcement entry of the step that issued it." }
                @for (n, d) in docs.iter().enumerate() { (document(&rec.case.id, n, d)) }
            }
        }
    }
}

fn document(case: &str, n: usize, d: &IssuedDocument) -> Markup {
    let matches = hex::encode(Sha256::digest(d.json.as_bytes())) == d.sha256;
    let pretty = serde_json::from_str::<Value>(&d.json).ok().and_then(|v| serde_json::to_string_pretty(&v).ok()).unwrap_or_else(|| d.json.clone());
    html! {
        article.document aria-labelledby=(format!("document-{n}")) {
            h3 id=(format!("document-{n}")) { (n + 1) ". " (d.file_name) }
            dl {
                dt { "Provider" } dd { (d.provider) }
                dt { "Kind" } dd { (d.kind) }
                dt { "SHA-256" }
                dd {
                    code.hash.sha256 { (d.sha256) }
                    " "
                    @if matches { span.check.ok { "matches the document" } } @else { span.check.fail { "does NOT match the document" } }
                }
            }
            p { (d.summary) }
            p { a.download href=(format!("/cases/{case}/documents/{n}")) download=(d.file_name) { "Download " (d.file_name) } }
            details {
                summary { "Preview " (d.file_name) }
                pre.raw { code { (pretty) } }
            }
        }
    }
}

/// `GET /cases/{id}/documents/{n}`: the document as issued, as an attachment.
pub(crate) async fn download(
    State(console): State<Arc<Console>>,
    Extension(visitor): Extension<Visitor>,
    Path((id, n)): Path<(String, usize)>,
) -> Result<Response, ConsoleError> {
    if let Err(to) = visitor.require(&format!("/cases/{id}")) {
        return Ok(to.into_response());
    }
    let rec = console.store.read().await.show(&id).await?;
    let d = rec.documents.into_iter().nth(n).ok_or_else(|| ConsoleError::NotFound(format!("Case {id} has no document {n}.")))?;
    // The enforce crate names files from ids it checked; keep the header safe whatever a stored name holds.
    let name: String = d.file_name.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_".contains(c) { c } else { '_' }).collect();
    let mut r = (StatusCode::OK, d.json).into_response();
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r.headers_mut().insert(CONTENT_DISPOSITION, HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")).expect("a name of safe characters"));
    Ok(r)
}
