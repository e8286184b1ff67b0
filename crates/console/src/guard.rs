//! What runs around every route: finding the visitor, the CSRF check of every POST, and the security headers.
//!
//! The CSRF check is a layer rather than a step of each handler, so no form can be added without it. A POST's body is
//! read here once ([`Fields`]), its `csrf` field compared with the token it must carry, and only then does the handler
//! run: with the session's token for a signed-in reviewer's forms, and with the double of a random cookie for the two
//! forms a visitor posts before signing in (the sign-in and the pseudonym check). Both cookies are `SameSite=Strict`
//! and `HttpOnly`, so another site can neither send nor read them.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use subtle::ConstantTimeEq;

use crate::session::{Signed, Visitor, form_cookie, read_cookie, session_cookie};
use crate::{Console, ConsoleError, layout};

/// The Content-Security-Policy of every answer: scripts and styles from this site's files only, never inline.
pub const CSP: &str =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The largest form body read (a decision with its scope ids and reason is far below it).
const MAX_FORM: usize = 64 * 1024;

/// A form's fields in order, repeated names kept (the decided services).
#[derive(Clone, Default, Debug)]
pub(crate) struct Fields(Vec<(String, String)>);

impl Fields {
    /// Parse an `application/x-www-form-urlencoded` body.
    pub fn parse(body: &[u8]) -> Fields {
        Fields(form_urlencoded::parse(body).into_owned().collect())
    }

    /// The first value of `name`, or empty.
    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }

    /// Every value of `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// Find the visitor: the client's address, the live session its cookie names (none for the static files, which
/// need none), and the sign-in form's token.
pub(crate) async fn identify(State(console): State<Arc<Console>>, mut req: Request, next: Next) -> Response {
    let address = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let form_token = read_cookie(req.headers(), form_cookie(&console)).filter(|t| !t.is_empty());
    let session_id = read_cookie(req.headers(), session_cookie(&console)).filter(|s| !s.is_empty());
    let signed = match session_id {
        Some(id) if !req.uri().path().starts_with("/static/") => match console.store.read().await.session(&id, Utc::now()).await {
            Ok(found) => found.map(|session| Signed { id, session }),
            Err(e) => return ConsoleError::Case(e).into_response(),
        },
        _ => None,
    };
    req.extensions_mut().insert(Visitor { signed, address, form_token });
    next.run(req).await
}

/// Refuse (403) every POST whose `csrf` field is not the token it must carry; hand the others' fields to the handler.
pub(crate) async fn csrf(req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_FORM).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, layout::bare("Form too large", &format!("A form may send at most {MAX_FORM} bytes."))).into_response();
    };
    let fields = Fields::parse(&bytes);
    let visitor = parts.extensions.get::<Visitor>().cloned().unwrap_or_default();
    let given = fields.get("csrf");
    let refusal = match parts.uri.path() {
        "/sign-in" | "/log/pseudonym" => match &visitor.form_token {
            Some(t) if !given.is_empty() && bool::from(t.as_bytes().ct_eq(given.as_bytes())) => None,
            _ => Some("This form was refused: it did not carry the security token of the page it came from. Open the page again and resend it."),
        },
        _ => match &visitor.signed {
            Some(s) if s.session.csrf_matches(given) => None,
            Some(_) => {
                Some("This form was refused: it did not carry your session's security token (CSRF). Reload the page and try again; nothing was changed.")
            }
            None => Some("You are not signed in (or your session ended): sign in, then repeat the action. Nothing was changed."),
        },
    };
    if let Some(why) = refusal {
        return ConsoleError::Forbidden(why.into()).into_response();
    }
    parts.extensions.insert(fields);
    next.run(Request::from_parts(parts, Body::empty())).await
}

/// The security headers on every answer, and `no-store` on every answer that does not set its own caching (pages
/// show cases and sessions' tokens).
pub(crate) async fn headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if !h.contains_key(CACHE_CONTROL) {
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    r
}
