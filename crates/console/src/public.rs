//! The public pages under `/log/`, for anyone, signed in or not: the log's checkpoint and its case entries (tenants
//! under their pseudonyms, reasons as hashes: the log holds nothing else), each entry with its inclusion proof checked
//! on the server and again in the visitor's browser (`/static/verify.js`: the checkpoint's signature and the audit
//! path), and a form where a tenant checks a
//! pseudonym against its own account id, limited per address.
//!
//! Everything shown is read from the log's public folder, as any reader of the published files would; the console's
//! own key is the only thing it adds (to check the checkpoint's signature).

use std::sync::Arc;
use std::time::Instant;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::header::{RETRY_AFTER, SET_COOKIE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cases::EntryProof;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;
use tlog::log::{Checkpoint, LogError, Proof, TileReader};
use tlog::merkle::Hash;
use tlog::note::{Note, Verifier};

use crate::guard::Fields;
use crate::layout::{self, Notice};
use crate::session::{Visitor, form_token, see_other};
use crate::{Console, ConsoleError};

/// Entries listed a page.
const PAGE: usize = 50;
/// Entries read at most for one page of the list (a filter that matches little still answers quickly).
const SCAN: u64 = 1024;
/// The kinds listed unless asked for all: the decisions people took, their enforcement and its lifting.
const DECISION_KINDS: [&str; 3] = ["decision", "enforcement", "lift"];

/// Read the log's public folder off the async threads.
async fn read_log<T: Send + 'static>(console: &Console, f: impl FnOnce(&TileReader) -> Result<T, LogError> + Send + 'static) -> Result<T, ConsoleError> {
    let dir = console.log_dir.clone();
    Ok(tokio::task::spawn_blocking(move || f(&TileReader::new(&dir))).await??)
}

/// A stored proof in the log crate's terms; `None` when a hash is not base64 of 32 bytes.
fn proof_of(p: &EntryProof) -> Option<Proof> {
    let hash = |b64: &str| -> Option<Hash> { STANDARD.decode(b64).ok()?.try_into().ok() };
    Some(Proof {
        index: p.index,
        size: p.size,
        root: hash(&p.root)?,
        hashes: p.hashes.iter().map(|h| hash(h)).collect::<Option<_>>()?,
        checkpoint: p.checkpoint.clone(),
    })
}

/// Check a proof a case keeps, end to end (its checkpoint signed by the log's key, the entry on its path); the error
/// says why not.
pub(crate) fn check_stored(body: &str, proof: &EntryProof, key: &Verifier) -> Result<(), String> {
    let p = proof_of(proof).ok_or("a hash of the stored proof is not 32 bytes of base64")?;
    tlog::verify::check_proof(body.as_bytes(), &p, std::slice::from_ref(key)).map(|_| ()).map_err(|e| e.to_string())
}

/// The checkpoint's signature by the log's key: the names that signed, or why not.
fn signature(note: &Note, key: &Verifier) -> Result<Vec<String>, String> {
    note.verify(std::slice::from_ref(key)).map_err(|e| e.to_string())
}

/// `/log` → `/log/`.
pub(crate) async fn to_index() -> Response {
    see_other("/log/")
}

/// The list's query.
#[derive(Deserialize, Default)]
pub(crate) struct ListQuery {
    /// List entries before this index (paging back).
    before: Option<u64>,
    /// `all` for every kind.
    #[serde(default)]
    kind: String,
}

fn checkpoint_section(note: &Note, cp: &Checkpoint, key: &Verifier) -> Markup {
    html! {
        section aria-labelledby="checkpoint" {
            h2 #checkpoint { "Checkpoint" }
            dl {
                dt { "Origin" } dd { code { (cp.origin) } }
                dt { "Entries" } dd { (cp.size) }
                dt { "Root hash" } dd { code.hash { (STANDARD.encode(cp.root)) } }
                dt { "Signature" }
                dd {
                    @match signature(note, key) {
                        Ok(names) => span.check.ok { "Verified: signed by the log's key (" (names.join(", ")) ")." },
                        Err(why) => span.check.fail { "NOT verified: " (why) },
                    }
                }
                dt { "The log's public key" } dd { code.hash { (key.to_vkey()) } }
            }
        }
    }
}

/// `/log/`: the checkpoint and the case entries, newest first.
pub(crate) async fn index(
    State(console): State<Arc<Console>>,
    Extension(visitor): Extension<Visitor>,
    Query(q): Query<ListQuery>,
) -> Result<Response, ConsoleError> {
    let all = q.kind == "all";
    let before = q.before;
    let ((note, cp), entries, next) = read_log(&console, move |r| {
        let (note, cp) = r.checkpoint()?;
        let top = before.unwrap_or(cp.size).min(cp.size);
        let (mut out, mut i) = (Vec::new(), top);
        while i > 0 && out.len() < PAGE && top - i < SCAN {
            i -= 1;
            let v: Value = serde_json::from_slice(&r.entry(i, cp.size)?).unwrap_or(Value::Null);
            let kind = v.get("kind").and_then(Value::as_str).unwrap_or("");
            if all || DECISION_KINDS.contains(&kind) {
                out.push((i, v));
            }
        }
        Ok(((note, cp), out, (i > 0).then_some(i)))
    })
    .await?;
    let field = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let kind_query = if all { "&kind=all" } else { "" };
    let main = html! {
        h1 { "Public transparency log" }
        p {
            "Every decision on a case, every enforcement and every lift is appended to this log, which anyone can copy and check. "
            "Tenants appear only under their pseudonyms (an HMAC of their account id under the provider's key) and reasons only as SHA-256 hashes."
        }
        (checkpoint_section(&note, &cp, &console.log_key))
        section aria-labelledby="entries" {
            h2 #entries { @if all { "Entries" } @else { "Decisions, enforcements and lifts" } }
            p {
                @if all { a href="/log/" { "Show decisions, enforcements and lifts only" } }
                @else { a href="/log/?kind=all" { "Show every kind of entry" } }
            }
            @if entries.is_empty() {
                p { "No entry of these kinds " @if before.is_some() { "before this point" } @else { "yet" } "." }
            } @else {
                table.entries {
                    thead { tr {
                        th scope="col" { "Entry" } th scope="col" { "Kind" } th scope="col" { "Case" } th scope="col" { "Action" }
                        th scope="col" { "Outcome" } th scope="col" { "Tenant (pseudonym)" } th scope="col" { "When" }
                    } }
                    tbody {
                        @for (i, v) in &entries {
                            tr {
                                td { a href=(format!("/log/entries/{i}")) { "#" (i) } }
                                td { (field(v, "kind")) }
                                td { (field(v, "case")) }
                                td { (field(v, "action")) @if let (Some(f), Some(t)) = (v.get("from").and_then(Value::as_str), v.get("to").and_then(Value::as_str)) { " (" (f) " → " (t) ")" } }
                                td { (field(v, "outcome")) }
                                td { code.hash { (field(v, "subject")) } }
                                td { (field(v, "at")) }
                            }
                        }
                    }
                }
            }
            @if let Some(n) = next { p { a href=(format!("/log/?before={n}{kind_query}")) { "Older entries" } } }
        }
    };
    Ok(layout::page("Public log", &visitor, None, main).into_response())
}

/// `/log/entries/{index}`: one entry, its inclusion proof in the tree of the current checkpoint, checked here and in
/// the browser.
pub(crate) async fn entry(
    State(console): State<Arc<Console>>,
    Extension(visitor): Extension<Visitor>,
    Path(index): Path<u64>,
) -> Result<Response, ConsoleError> {
    let read = read_log(&console, move |r| {
        let (note, cp) = r.checkpoint()?;
        if index >= cp.size {
            return Ok(None);
        }
        let entry = r.entry(index, cp.size)?;
        let proof = r.inclusion_proof(index, cp.size)?;
        Ok(Some((note, cp, entry, proof)))
    })
    .await?;
    let Some((note, cp, entry, proof)) = read else {
        return Err(ConsoleError::NotFound(format!("The log has no entry {index} yet.")));
    };
    let signed = signature(&note, &console.log_key);
    let included = tlog::verify::entry_inclusion(&entry, index, &proof, &cp).map_err(|e| e.to_string());
    let text = String::from_utf8_lossy(&entry).into_owned();
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let subject = v.get("subject").and_then(Value::as_str);
    let hashes: Vec<String> = proof.iter().map(|h| STANDARD.encode(h)).collect();
    let main = html! {
        h1 { "Log entry #" (index) }
        p { a href="/log/" { "All decisions" } }
        section aria-labelledby="fields" {
            h2 #fields { "What it records" }
            @if let Value::Object(m) = &v {
                table.fields {
                    tbody {
                        @for (k, x) in m {
                            tr { th scope="row" { (k) } td { code { @match x { Value::String(s) => (s), other => (other.to_string()) } } } }
                        }
                    }
                }
            }
            @if let Some(s) = subject {
                p { "Is this tenant you? " a href=(format!("/log/pseudonym?pseudonym={}", form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>())) { "Check the pseudonym against your account id" } "." }
            }
            h3 { "The entry as logged" }
            pre.raw { code { (text) } }
        }
        section aria-labelledby="proof" {
            h2 #proof { "Inclusion proof" }
            p { "The log's checkpoint commits to " (cp.size) " entries by their Merkle tree root. The audit path below leads from this entry's hash to that root (RFC 6962 hashing)." }
            @match (&signed, &included) {
                (Ok(_), Ok(())) => p.check.ok role="status" {
                    "Verified by the server: the checkpoint is signed by the log's key, and this entry is entry " (index) " of its tree of " (cp.size) " entries."
                },
                _ => p.check.fail role="alert" {
                    "NOT verified by the server: "
                    @if let Err(e) = &signed { "the checkpoint's signature: " (e) ". " }
                    @if let Err(e) = &included { "the audit path: " (e) "." }
                },
            }
            p.check.pending #browser-check role="status" data-leaf=(STANDARD.encode(&entry)) data-index=(index) data-hashes=(hashes.join(" "))
                data-note=(STANDARD.encode(note.encode())) data-vkey=(console.log_key.to_vkey()) {
                "Your browser has not checked this proof: the check needs JavaScript. The server's check above stands on its own, and `oversight verify` checks it on your machine."
            }
            dl {
                dt { "Tree size" } dd { (cp.size) }
                dt { "Root hash" } dd { code.hash { (STANDARD.encode(cp.root)) } }
                dt { "Audit path" }
                dd {
                    @if hashes.is_empty() { "empty (the tree is this entry alone)" }
                    @else { ol.hashes { @for h in &hashes { li { code.hash { (h) } } } } }
                }
            }
            h3 { "The signed checkpoint" }
            pre.raw { code { (note.encode()) } }
            p { "Check it on your own machine: " code { "oversight verify --log URL --key '" (console.log_key.to_vkey()) "' --entry " (index) } }
        }
        script src="/static/verify.js" {}
    };
    Ok(layout::page(&format!("Log entry {index}"), &visitor, None, main).into_response())
}

/// The pseudonym form's query: the pseudonym to fill in.
#[derive(Deserialize, Default)]
pub(crate) struct PseudonymQuery {
    #[serde(default)]
    pseudonym: String,
}

fn pseudonym_page(console: &Console, visitor: &Visitor, status: StatusCode, notice: Option<Notice>, pseudonym: &str) -> Response {
    let (token, set) = form_token(console, visitor);
    let main = html! {
        h1 { "Check a pseudonym" }
        p {
            "The log names each tenant by a pseudonym: an HMAC-SHA256 of its account id under the provider's key. "
            "Enter a pseudonym from the log and your own account id to learn whether the entry is about you. "
            "The check is limited to " (crate::PSEUDONYM_CHECKS) " tries per address every " (crate::PSEUDONYM_WINDOW.as_secs() / 60) " minutes, so it cannot be used to guess who a pseudonym is."
        }
        form method="post" action="/log/pseudonym" {
            input type="hidden" name="csrf" value=(token);
            div.field {
                label for="pseudonym" { "Pseudonym (64 hexadecimal characters)" }
                input #pseudonym type="text" name="pseudonym" value=(pseudonym) required spellcheck="false" autocomplete="off";
            }
            div.field {
                label for="tenant" { "Your account id, exactly as your provider writes it" }
                input #tenant type="text" name="tenant" required spellcheck="false" autocomplete="off";
            }
            button type="submit" { "Check" }
        }
    };
    let mut r = (status, layout::page("Check a pseudonym", visitor, notice.as_ref(), main)).into_response();
    if let Some(c) = set {
        r.headers_mut().append(SET_COOKIE, c);
    }
    r
}

/// `GET /log/pseudonym`.
pub(crate) async fn pseudonym_form(State(console): State<Arc<Console>>, Extension(visitor): Extension<Visitor>, Query(q): Query<PseudonymQuery>) -> Response {
    pseudonym_page(&console, &visitor, StatusCode::OK, None, q.pseudonym.trim())
}

/// `POST /log/pseudonym`: whether the pseudonym is the account id's, once the address has a try left.
pub(crate) async fn pseudonym_check(
    State(console): State<Arc<Console>>,
    Extension(visitor): Extension<Visitor>,
    Extension(fields): Extension<Fields>,
) -> Response {
    let (pseudonym, tenant) = (fields.get("pseudonym").trim().to_ascii_lowercase(), fields.get("tenant").trim());
    if let Err(wait) = console.pseudonym_checks.attempt(visitor.address, Instant::now()) {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let notice = Notice::Error(format!("Too many checks from your address: try again in {secs} s."));
        let mut r = pseudonym_page(&console, &visitor, StatusCode::TOO_MANY_REQUESTS, Some(notice), &pseudonym);
        r.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs));
        return r;
    }
    let notice = if tenant.is_empty() {
        Notice::Error("Enter your account id.".into())
    } else if tlog::entry::is_pseudonym_of(&console.pseudonym_key, tenant, &pseudonym) {
        Notice::Done("It matches: this pseudonym is the pseudonym of the account id you entered, so its entries are about that account.".into())
    } else {
        Notice::Error(
            "It does not match: this pseudonym is not the pseudonym of the account id you entered (check its spelling, and that the pseudonym is whole)."
                .into(),
        )
    };
    pseudonym_page(&console, &visitor, StatusCode::OK, Some(notice), &pseudonym)
}
