//! The two static files, built into the binary: the stylesheet and the script that re-checks an inclusion proof in
//! the browser. Pages link them and carry no inline script or style, so the Content-Security-Policy forbids both.

use axum::extract::Path;
use axum::http::HeaderValue;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

use crate::ConsoleError;

const CSS: &str = include_str!("../static/console.css");
const VERIFY_JS: &str = include_str!("../static/verify.js");

/// `/static/{file}`.
pub(crate) async fn file(Path(file): Path<String>) -> Result<Response, ConsoleError> {
    let (body, kind) = match file.as_str() {
        "console.css" => (CSS, "text/css; charset=utf-8"),
        "verify.js" => (VERIFY_JS, "text/javascript; charset=utf-8"),
        _ => return Err(ConsoleError::NotFound(format!("There is no static file {file:?}."))),
    };
    let mut r = body.into_response();
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(kind));
    r.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    Ok(r)
}
