//! The console over HTTP without a browser (the router answering requests in process): security headers, CSRF
//! refusals, sign-in throttling, the auditor refused, a conflict naming who won, the two-person rule's refusal, a
//! document download, and the public entry page's verified proof.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode, header};
use cases::Role;
use common::*;
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};
use tower::ServiceExt;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// An answer: status, headers, body.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

/// A client with a cookie jar, from one address.
struct Client {
    app: Router,
    cookies: HashMap<String, String>,
    address: SocketAddr,
}

impl Client {
    fn new(app: &Router, address: &str) -> Client {
        Client { app: app.clone(), cookies: HashMap::new(), address: address.parse().unwrap() }
    }

    async fn send(&mut self, method: &str, path: &str, form: &[(&str, &str)]) -> Answer {
        let cookie: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut req = Request::builder().method(method).uri(path).header(header::COOKIE, cookie.join("; "));
        let body = if method == "POST" {
            req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            Body::from(form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish())
        } else {
            Body::empty()
        };
        let mut req = req.body(body).unwrap();
        req.extensions_mut().insert(ConnectInfo(self.address));
        let r = self.app.clone().oneshot(req).await.unwrap();
        let (status, headers) = (r.status(), r.headers().clone());
        for c in headers.get_all(header::SET_COOKIE) {
            let (pair, _) = c.to_str().unwrap().split_once(';').unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            if v.is_empty() {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.into(), v.into());
            }
        }
        let body = String::from_utf8(r.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
        Answer { status, headers, body }
    }

    async fn get(&mut self, path: &str) -> Answer {
        self.send("GET", path, &[]).await
    }

    /// Sign in with the sign-in page's form, as a browser does.
    async fn sign_in(&mut self, name: &str, password: &str) -> Answer {
        let page = self.get("/sign-in").await;
        let token = field(&page.body, "csrf");
        self.send("POST", "/sign-in", &[("csrf", &token), ("name", name), ("password", password), ("next", "/queue")]).await
    }
}

/// The value of the first hidden input `name` on a page.
fn field(html: &str, name: &str) -> String {
    let at = html.find(&format!("name=\"{name}\" value=\"")).unwrap_or_else(|| panic!("no field {name} in {html}"));
    let rest = &html[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_string()
}

/// The case version the page's forms carry.
fn version(html: &str) -> String {
    field(html, "version")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_has_the_security_headers() {
    let s = seed(&[("ann", Role::Approver)], false).await;
    let app = console::router(s.console.clone());
    let mut c = Client::new(&app, "192.0.2.1:5000");
    let answers = [
        c.get("/sign-in").await,
        c.get("/queue").await,
        c.get("/log/").await,
        c.get("/static/verify.js").await,
        c.get("/no-such-page").await,
        c.send("POST", "/sign-out", &[]).await,
    ];
    for a in &answers {
        assert_eq!(a.headers[header::CONTENT_SECURITY_POLICY], CSP, "{}", a.status);
        assert_eq!(a.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(a.headers[header::REFERRER_POLICY], "no-referrer");
    }
    let statuses: Vec<StatusCode> = answers.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::SEE_OTHER, StatusCode::OK, StatusCode::OK, StatusCode::NOT_FOUND, StatusCode::FORBIDDEN]);
    assert_eq!(answers[1].headers[header::LOCATION], "/sign-in?next=%2Fqueue", "the queue needs a session");
    assert_eq!(answers[0].headers[header::CACHE_CONTROL], "no-store");
    // No inline script or style anywhere: the policy would block them.
    for a in &answers {
        assert!(!a.body.contains("<style") && !a.body.contains("style=") && !a.body.contains("<script>"), "{}", a.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_cookies_are_http_only_strict_and_secure_when_asked() {
    for secure in [false, true] {
        let s = seed(&[("ann", Role::Approver)], secure).await;
        let app = console::router(s.console.clone());
        let mut c = Client::new(&app, "192.0.2.1:5000");
        let a = c.sign_in("ann", PASSWORD).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER);
        assert_eq!(a.headers[header::LOCATION], "/queue");
        let cookie = a.headers[header::SET_COOKIE].to_str().unwrap();
        let (name, secure_flag) = if secure { ("__Host-oversight-session=", "; Secure") } else { ("oversight-session=", "") };
        assert!(cookie.starts_with(name) && cookie.contains("; HttpOnly; SameSite=Strict; Path=/") && cookie.contains(secure_flag), "{cookie}");
        assert_eq!(cookie.contains("Secure"), secure, "{cookie}");
        let queue = c.get("/queue").await;
        assert_eq!(queue.status, StatusCode::OK);
        assert!(queue.body.contains("Signed in as <strong>ann</strong>"), "{}", queue.body);
        // Signing out ends the session in the store: its cookie no longer opens anything.
        let token = field(&queue.body, "csrf");
        let session = c.cookies.clone();
        assert_eq!(c.send("POST", "/sign-out", &[("csrf", &token)]).await.status, StatusCode::SEE_OTHER);
        c.cookies = session;
        assert_eq!(c.get("/queue").await.status, StatusCode::SEE_OTHER);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_without_the_csrf_token_is_refused_and_changes_nothing() {
    let s = seed(&[("ann", Role::Approver)], false).await;
    let app = console::router(s.console.clone());
    let mut c = Client::new(&app, "192.0.2.1:5000");
    // The sign-in form needs its token too.
    let a = c.send("POST", "/sign-in", &[("name", "ann"), ("password", PASSWORD)]).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(!a.headers.contains_key(header::SET_COOKIE), "no session without the token");
    assert_eq!(c.sign_in("ann", PASSWORD).await.status, StatusCode::SEE_OTHER);
    let path = format!("/cases/{}", s.case_id);
    let page = c.get(&path).await;
    let v = version(&page.body);
    let assign = format!("{path}/assign");
    for token in [None, Some("not-the-token"), Some("")] {
        let mut form = vec![("version", v.as_str()), ("reason", "evidence read"), ("reviewer", "ann")];
        if let Some(t) = token {
            form.push(("csrf", t));
        }
        let a = c.send("POST", &assign, &form).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{token:?}");
        assert!(a.body.contains("security token (CSRF)"), "{}", a.body);
    }
    assert_eq!(version(&c.get(&path).await.body), v, "nothing was written");
    let token = field(&page.body, "csrf");
    let a = c.send("POST", &assign, &[("csrf", &token), ("version", &v), ("reason", "evidence read"), ("reviewer", "ann")]).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sign_ins_are_throttled_with_a_clear_message() {
    let s = seed(&[("ann", Role::Approver)], false).await;
    let app = console::router(s.console.clone());
    let mut c = Client::new(&app, "198.51.100.7:4000");
    for _ in 0..cases::accounts::FAILURES_PER_NAME {
        let a = c.sign_in("ann", "not her password at all").await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        assert!(a.body.contains("the name or password is wrong"), "{}", a.body);
        assert!(a.body.contains("value=\"ann\""), "the name stays in the form");
    }
    // The right password now: not even looked at.
    let a = c.sign_in("ann", PASSWORD).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(a.body.contains("role=\"alert\"") && a.body.contains("Sign-in paused: too many failed sign-ins") && a.body.contains("try again in"), "{}", a.body);
    let wait: u64 = a.headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!(wait > 0 && wait <= cases::accounts::THROTTLE_WINDOW.num_seconds() as u64, "{wait}");
    assert!(!a.headers.contains_key(header::SET_COOKIE) || !c.cookies.contains_key("oversight-session"));
    // The audit has every attempt with the address.
    let audit = s.store().await.sign_ins(10).await.unwrap();
    assert!(audit.iter().all(|x| x.address.as_deref() == Some("198.51.100.7")), "{audit:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auditor_reads_everything_and_is_refused_every_action() {
    let s = seed(&[("ann", Role::Approver), ("aud", Role::Auditor)], false).await;
    let app = console::router(s.console.clone());
    let mut c = Client::new(&app, "192.0.2.1:5000");
    assert_eq!(c.sign_in("aud", PASSWORD).await.status, StatusCode::SEE_OTHER);
    let queue = c.get("/queue").await;
    assert!(queue.body.contains(&s.case_id), "an auditor sees the queue");
    let path = format!("/cases/{}", s.case_id);
    let page = c.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("You are an auditor") && !page.body.contains(&format!("action=\"{path}/")), "no action form for an auditor");
    assert!(page.body.contains("Unit 8 archive") && page.body.contains("Interior Ministry"), "the registry's names");
    let token = field(&page.body, "csrf");
    for action in ["assign", "decide", "approve", "enforce", "lift"] {
        let form = [("csrf", token.as_str()), ("version", "1"), ("reason", "I audit"), ("reviewer", "ann"), ("outcome", "notice")];
        let a = c.send("POST", &format!("{path}/{action}"), &form).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{action}");
        assert!(a.body.contains(&format!("aud (auditor) may not {action}: that needs a")), "{}", a.body);
    }
    assert!(c.get(&path).await.body.contains("Version</dt><dd>1</dd>"), "nothing was written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_says_who_changed_the_case_and_to_reload() {
    let s = seed(&[("ann", Role::Approver), ("bob", Role::Approver)], false).await;
    let app = console::router(s.console.clone());
    let (mut ann, mut bob) = (Client::new(&app, "192.0.2.1:5000"), Client::new(&app, "192.0.2.2:5000"));
    ann.sign_in("ann", PASSWORD).await;
    bob.sign_in("bob", PASSWORD).await;
    let path = format!("/cases/{}", s.case_id);
    let (pa, pb) = (ann.get(&path).await.body, bob.get(&path).await.body);
    let a = ann
        .send("POST", &format!("{path}/assign"), &[("csrf", &field(&pa, "csrf")), ("version", &version(&pa)), ("reason", "mine"), ("reviewer", "ann")])
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    let b = bob
        .send("POST", &format!("{path}/assign"), &[("csrf", &field(&pb, "csrf")), ("version", &version(&pb)), ("reason", "mine"), ("reviewer", "bob")])
        .await;
    assert_eq!(b.status, StatusCode::CONFLICT);
    assert!(b.body.contains("was changed by ann") && b.body.contains("reload"), "{}", b.body);
    assert!(b.body.contains("Assignee</dt><dd>ann"), "the page shows the case as it is now");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_approve_then_the_documents_download_with_their_hash() {
    let s = seed(&[("ann", Role::Approver), ("bob", Role::Approver)], false).await;
    let app = console::router(s.console.clone());
    let (mut ann, mut bob) = (Client::new(&app, "192.0.2.1:5000"), Client::new(&app, "192.0.2.2:5000"));
    ann.sign_in("ann", PASSWORD).await;
    bob.sign_in("bob", PASSWORD).await;
    let path = format!("/cases/{}", s.case_id);
    assert_eq!(step(&mut ann, &path, "assign", vec![("reviewer", "ann")]).await.status, StatusCode::SEE_OTHER);
    let decide = vec![("outcome", "suspend"), ("provider", "aws"), ("scope", SUBJECT), ("services", "storage"), ("services", "ai")];
    let a = step(&mut ann, &path, "decide", decide).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(step(&mut ann, &path, "approve", vec![]).await.status, StatusCode::SEE_OTHER);
    let again = step(&mut ann, &path, "approve", vec![]).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.body.contains("ann already approved") && again.body.contains("two-person rule"), "{}", again.body);
    assert_eq!(step(&mut bob, &path, "approve", vec![]).await.status, StatusCode::SEE_OTHER);
    let enforced = step(&mut bob, &path, "enforce", vec![]).await;
    assert_eq!(enforced.status, StatusCode::SEE_OTHER);
    let page = bob.get(enforced.headers[header::LOCATION].to_str().unwrap()).await.body;
    assert!(page.contains("The case is enforced") && page.contains("Services</dt><dd>storage, ai"), "{page}");
    let shown = field_text(&page, "<code class=\"hash sha256\">");
    let doc = bob.get(&format!("{path}/documents/0")).await;
    assert_eq!(doc.status, StatusCode::OK);
    assert!(doc.headers[header::CONTENT_DISPOSITION].to_str().unwrap().starts_with("attachment; filename=\""));
    assert_eq!(hex::encode(Sha256::digest(doc.body.as_bytes())), shown, "the page's SHA-256 is the download's");
    assert!(page.contains("matches the document"));
    assert!(!page.contains("proof FAILS") && page.matches("proof checked").count() >= 6, "every step's entry proof checks");
    // Lifting closes the case: no action is left to offer.
    assert_eq!(step(&mut ann, &path, "lift", vec![]).await.status, StatusCode::SEE_OTHER);
    let lifted = ann.get(&path).await.body;
    assert!(lifted.contains("State</dt><dd><strong>lifted") && lifted.contains("Nothing to do on this case in its state (lifted)"), "{lifted}");
}

/// Take `action` on the case at `path` from its page, as its form would.
async fn step(c: &mut Client, path: &str, action: &str, extra: Vec<(&str, &str)>) -> Answer {
    let page = c.get(path).await.body;
    let (token, v) = (field(&page, "csrf"), version(&page));
    let mut form = vec![("csrf", token.as_str()), ("version", v.as_str()), ("reason", "evidence and scope checked")];
    form.extend(extra);
    c.send("POST", &format!("{path}/{action}"), &form).await
}

/// The text after `start` up to the next tag.
fn field_text(html: &str, start: &str) -> String {
    let at = html.find(start).unwrap_or_else(|| panic!("no {start} in {html}")) + start.len();
    html[at..at + html[at..].find('<').unwrap()].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_entry_page_shows_a_verified_proof_and_no_tenant_id() {
    let s = seed(&[("ann", Role::Approver)], false).await;
    let app = console::router(s.console.clone());
    let mut ann = Client::new(&app, "192.0.2.1:5000");
    ann.sign_in("ann", PASSWORD).await;
    let path = format!("/cases/{}", s.case_id);
    let page = ann.get(&path).await.body;
    ann.send("POST", &format!("{path}/assign"), &[("csrf", &field(&page, "csrf")), ("version", &version(&page)), ("reason", "r"), ("reviewer", "ann")]).await;
    let page = ann.get(&path).await.body;
    let link = field_text(&page, "<a href=\"/log/entries/").split('"').next().unwrap().to_string();
    // Anyone: a client without a session.
    let mut public = Client::new(&app, "203.0.113.5:1000");
    let entry = public.get(&format!("/log/entries/{link}")).await;
    assert_eq!(entry.status, StatusCode::OK);
    assert!(entry.body.contains("Verified by the server: the checkpoint is signed by the log"), "{}", entry.body);
    assert!(
        entry.body.contains("id=\"browser-check\"")
            && entry.body.contains("data-note=")
            && entry.body.contains("data-vkey=")
            && entry.body.contains("src=\"/static/verify.js\"")
    );
    assert!(!entry.body.contains(SUBJECT), "the tenant appears only as its pseudonym");
    let list = public.get("/log/").await;
    assert!(list.body.contains(&format!("/log/entries/{link}")) && list.body.contains("Verified: signed by the log"), "{}", list.body);
    assert!(!list.body.contains(SUBJECT));
    assert_eq!(public.get("/log/entries/99999").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_checks_its_pseudonym_a_few_times_per_address() {
    let s = seed(&[], false).await;
    let app = console::router(s.console.clone());
    let mut c = Client::new(&app, "203.0.113.9:1000");
    let pseudonym = tlog::entry::pseudonym(KEY, SUBJECT);
    let form = c.get(&format!("/log/pseudonym?pseudonym={pseudonym}")).await;
    assert!(form.body.contains(&format!("value=\"{pseudonym}\"")));
    let token = field(&form.body, "csrf");
    let yes = c.send("POST", "/log/pseudonym", &[("csrf", &token), ("pseudonym", &pseudonym), ("tenant", SUBJECT)]).await;
    assert!(yes.body.contains("It matches"), "{}", yes.body);
    let no = c.send("POST", "/log/pseudonym", &[("csrf", &token), ("pseudonym", &pseudonym), ("tenant", "111122224444")]).await;
    assert!(no.body.contains("It does not match"), "{}", no.body);
    for _ in 2..console::PSEUDONYM_CHECKS {
        assert_eq!(c.send("POST", "/log/pseudonym", &[("csrf", &token), ("pseudonym", &pseudonym), ("tenant", "x")]).await.status, StatusCode::OK);
    }
    let limited = c.send("POST", "/log/pseudonym", &[("csrf", &token), ("pseudonym", &pseudonym), ("tenant", SUBJECT)]).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.body.contains("Too many checks from your address") && limited.headers.contains_key(header::RETRY_AFTER));
    // Another address still may.
    let mut other = Client::new(&app, "203.0.113.10:1000");
    let token = field(&other.get("/log/pseudonym").await.body, "csrf");
    assert!(other.send("POST", "/log/pseudonym", &[("csrf", &token), ("pseudonym", &pseudonym), ("tenant", SUBJECT)]).await.body.contains("It matches"));
}
