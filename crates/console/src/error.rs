//! Why a request failed, and the HTTP status and page each reason gets.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cases::{AuthError, CaseError};

use crate::layout;

/// Why the console could not answer a request as asked.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// The case store refused the request or failed ([`CaseError::is_refusal`] tells which).
    #[error(transparent)]
    Case(#[from] CaseError),
    /// Signing in failed for a reason other than a refusal (the store failed).
    #[error(transparent)]
    Auth(AuthError),
    /// The transparency log's public files could not be read or do not hold together.
    #[error("transparency log: {0}")]
    Log(#[from] tlog::log::LogError),
    /// A policy file of the pack given to the console is not readable.
    #[error("policy file {file}: {why}")]
    Policy {
        /// The file.
        file: String,
        /// Why.
        why: String,
    },
    /// No such page or record.
    #[error("{0}")]
    NotFound(String),
    /// The request is malformed (a bad form value or query).
    #[error("{0}")]
    BadRequest(String),
    /// The request is refused before anything runs: no CSRF token, or no session.
    #[error("{0}")]
    Forbidden(String),
    /// A background task failed (it panicked or was cancelled).
    #[error("internal error: {0}")]
    Task(String),
}

impl ConsoleError {
    /// The status this error answers with: 403 for who may not, 409 for what the case's state or history refuses (a
    /// conflict included), 422 for input the store rejects, 404 for unknown records, 500 for failures.
    pub fn status(&self) -> StatusCode {
        match self {
            ConsoleError::Case(e) => case_status(e),
            ConsoleError::NotFound(_) => StatusCode::NOT_FOUND,
            ConsoleError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ConsoleError::Forbidden(_) => StatusCode::FORBIDDEN,
            ConsoleError::Auth(_) | ConsoleError::Log(_) | ConsoleError::Policy { .. } | ConsoleError::Task(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The status of a store error.
pub(crate) fn case_status(e: &CaseError) -> StatusCode {
    match e {
        CaseError::UnknownCase(_) => StatusCode::NOT_FOUND,
        CaseError::NotPermitted { .. } | CaseError::UnknownReviewer(_) | CaseError::RemovedReviewer { .. } | CaseError::ForeignAccount(_) => {
            StatusCode::FORBIDDEN
        }
        e if e.is_refusal() => StatusCode::CONFLICT,
        CaseError::Input(_) | CaseError::Enforce(_) | CaseError::Name { .. } | CaseError::UnknownAccount(_) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let status = self.status();
        // A failure's detail goes to the server's log; the page says what the reader can act on.
        let message = if status.is_server_error() {
            tracing::error!("{self}");
            match &self {
                // Enforced or approved, but not yet logged: the reader must know not to repeat it.
                ConsoleError::Case(CaseError::Unlogged { .. }) => self.to_string(),
                _ => {
                    "The console failed to answer; the error is in the server's log. Nothing you asked for was done unless the case's history shows it.".into()
                }
            }
        } else {
            self.to_string()
        };
        let title = status.canonical_reason().unwrap_or("Error");
        (status, layout::bare(title, &message)).into_response()
    }
}

impl From<tokio::task::JoinError> for ConsoleError {
    fn from(e: tokio::task::JoinError) -> ConsoleError {
        ConsoleError::Task(e.to_string())
    }
}

/// The answer to a path no route has.
pub(crate) async fn not_found() -> ConsoleError {
    ConsoleError::NotFound("There is no page at this address.".into())
}
