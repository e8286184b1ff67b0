//! Who is asking: the session cookie, the sign-in form's token, the client's address, and signing in and out.
//!
//! The store checks passwords, throttles failures and keeps the sign-in audit; this module only carries its answers
//! to the browser. A session lives [`SESSION_TTL`]; its id is only in the cookie (the store keeps its SHA-256).

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header::{LOCATION, RETRY_AFTER, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, extract::Query};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cases::{Attempt, AuthError, Session};
use chrono::{TimeDelta, Utc};
use maud::html;
use serde::Deserialize;

use crate::guard::Fields;
use crate::layout::{self, Notice};
use crate::{Console, ConsoleError};

/// How long a console session lasts: a working day.
pub const SESSION_TTL: TimeDelta = TimeDelta::hours(8);

/// A signed-in reviewer's live session.
#[derive(Clone)]
pub(crate) struct Signed {
    /// The session id, from the cookie.
    pub id: String,
    /// The store's session: the account (with its role now) and the CSRF token.
    pub session: Session,
}

/// Whoever sent the request, as [`crate::guard::identify`] found them.
#[derive(Clone, Default)]
pub(crate) struct Visitor {
    /// The live session, when the cookie names one.
    pub signed: Option<Signed>,
    /// The client's address, when the server was given it.
    pub address: Option<IpAddr>,
    /// The token of the forms before sign-in, from its cookie.
    pub form_token: Option<String>,
}

impl Visitor {
    /// The signed-in session, or the answer for someone who is not signed in: to the sign-in page, then back to
    /// `back` (a path of this site).
    pub fn require(&self, back: &str) -> Result<&Signed, ToSignIn> {
        self.signed.as_ref().ok_or_else(|| ToSignIn(format!("/sign-in?next={}", form_urlencoded::byte_serialize(back.as_bytes()).collect::<String>())))
    }

    fn attempt(&self) -> Attempt {
        Attempt { address: self.address.map(|a| a.to_string()), at: Utc::now() }
    }
}

/// The answer to someone not signed in: the sign-in page, which sends them back after.
pub(crate) struct ToSignIn(String);

impl IntoResponse for ToSignIn {
    fn into_response(self) -> Response {
        see_other(&self.0)
    }
}

/// The session cookie's name: `__Host-` when secure, so no other host or path can set it.
pub(crate) fn session_cookie(console: &Console) -> &'static str {
    if console.secure_cookies { "__Host-oversight-session" } else { "oversight-session" }
}

/// The sign-in form token's cookie name.
pub(crate) fn form_cookie(console: &Console) -> &'static str {
    if console.secure_cookies { "__Host-oversight-form" } else { "oversight-form" }
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, the whole site, Secure when the console says so; `max_age` in
/// seconds (0 removes it), none for a cookie that ends with the browser.
pub(crate) fn cookie(console: &Console, name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let age = max_age.map_or(String::new(), |s| format!("; Max-Age={s}"));
    let secure = if console.secure_cookies { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{name}={value}; HttpOnly; SameSite=Strict; Path=/{secure}{age}")).expect("cookie values are base64url")
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// 32 random bytes, base64url: a form token.
pub(crate) fn random_token() -> String {
    let mut b = [0u8; 32];
    getrandom::getrandom(&mut b).expect("the operating system's random number generator works");
    URL_SAFE_NO_PAD.encode(b)
}

/// A 303 to `to`.
pub(crate) fn see_other(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    r.headers_mut().insert(LOCATION, HeaderValue::from_str(to).unwrap_or(HeaderValue::from_static("/")));
    r
}

/// `next` when it is a path on this site (not `//host`, no backslash or control character), else the queue: the
/// sign-in page sends nobody elsewhere.
fn local(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.chars().any(|c| c == '\\' || c.is_control()) => n.to_string(),
        _ => "/queue".into(),
    }
}

/// The sign-in page's query.
#[derive(Deserialize, Default)]
pub(crate) struct SignInQuery {
    next: Option<String>,
    out: Option<String>,
}

/// The sign-in page, with a form token (and its cookie, on a first visit).
pub(crate) async fn form(State(console): State<Arc<Console>>, Extension(visitor): Extension<Visitor>, Query(q): Query<SignInQuery>) -> Response {
    if visitor.signed.is_some() {
        return see_other(&local(q.next.as_deref()));
    }
    let notice = q.out.map(|_| Notice::Done("You are signed out.".into()));
    sign_in_page(&console, &visitor, StatusCode::OK, notice, "", q.next.as_deref())
}

/// The token for a form posted before sign-in, and the cookie that sets it on a first visit.
pub(crate) fn form_token(console: &Console, visitor: &Visitor) -> (String, Option<HeaderValue>) {
    match &visitor.form_token {
        Some(t) => (t.clone(), None),
        None => {
            let t = random_token();
            let c = cookie(console, form_cookie(console), &t, None);
            (t, Some(c))
        }
    }
}

fn sign_in_page(console: &Console, visitor: &Visitor, status: StatusCode, notice: Option<Notice>, name: &str, next: Option<&str>) -> Response {
    let (token, set) = form_token(console, visitor);
    let main = html! {
        h1 { "Sign in" }
        p { "Reviewers on the roster sign in with the password an administrator set for them." }
        form.signin method="post" action="/sign-in" {
            input type="hidden" name="csrf" value=(token);
            input type="hidden" name="next" value=(local(next));
            div.field {
                label for="name" { "Name" }
                input #name type="text" name="name" value=(name) autocomplete="username" required autofocus;
            }
            div.field {
                label for="password" { "Password" }
                input #password type="password" name="password" autocomplete="current-password" required;
            }
            button type="submit" { "Sign in" }
        }
    };
    let mut r = (status, layout::page("Sign in", visitor, notice.as_ref(), main)).into_response();
    if let Some(c) = set {
        r.headers_mut().append(SET_COOKIE, c);
    }
    r
}

/// Sign in: the store checks the password (and throttles), then a session starts and its cookie is set.
pub(crate) async fn sign_in(State(console): State<Arc<Console>>, Extension(visitor): Extension<Visitor>, Extension(fields): Extension<Fields>) -> Response {
    let (name, password, next) = (fields.get("name"), fields.get("password"), fields.get("next"));
    let attempt = visitor.attempt();
    let store = console.store.read().await;
    let account = match store.authenticate(name, password, &attempt).await {
        Ok(a) => a,
        Err(AuthError::Throttled { retry_after }) => {
            drop(store);
            let e = AuthError::Throttled { retry_after };
            let mut r = sign_in_page(&console, &visitor, StatusCode::TOO_MANY_REQUESTS, Some(Notice::Error(format!("Sign-in paused: {e}."))), name, Some(next));
            let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            r.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs));
            return r;
        }
        Err(e @ (AuthError::Refused | AuthError::BadToken)) => {
            drop(store);
            return sign_in_page(&console, &visitor, StatusCode::UNAUTHORIZED, Some(Notice::Error(capital(&e.to_string()))), name, Some(next));
        }
        Err(AuthError::Store(e)) => return ConsoleError::Case(e).into_response(),
    };
    let new = match store.create_session(&account, SESSION_TTL, &attempt).await {
        Ok(s) => s,
        Err(AuthError::Store(e)) => return ConsoleError::Case(e).into_response(),
        Err(e) => return ConsoleError::Auth(e).into_response(),
    };
    // A session this browser had before ends now: one browser, one session.
    if let Some(old) = &visitor.signed
        && let Err(e) = store.end_session(&old.id).await
    {
        return ConsoleError::Case(e).into_response();
    }
    let mut r = see_other(&local(Some(next)));
    r.headers_mut().append(SET_COOKIE, cookie(&console, session_cookie(&console), &new.id, Some(SESSION_TTL.num_seconds())));
    r
}

/// Sign out: the session ends in the store, and its cookie is removed.
pub(crate) async fn sign_out(State(console): State<Arc<Console>>, Extension(visitor): Extension<Visitor>) -> Result<Response, ConsoleError> {
    if let Some(s) = &visitor.signed {
        console.store.read().await.end_session(&s.id).await?;
    }
    let mut r = see_other("/sign-in?out=1");
    r.headers_mut().append(SET_COOKIE, cookie(&console, session_cookie(&console), "", Some(0)));
    Ok(r)
}

/// `s` with its first letter in capitals, for a message that starts a sentence.
pub(crate) fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
}
