//! The review console (issue 18): reviewers sign in and work cases in a browser, with the evidence in front of them,
//! and anyone reads the public log's decisions and checks their inclusion proofs.
//!
//! Pages are rendered on the server ([`maud`] templates, which escape every value) and work without JavaScript; the
//! one script, served as a static file, re-checks an inclusion proof in the visitor's browser. No page carries an
//! inline script or style, so the Content-Security-Policy forbids both.
//!
//! Routes ([`router`]):
//! - `GET /sign-in`, `POST /sign-in`, `POST /sign-out`: a password checked by the store (its throttling and audit), then
//!   a session cookie (`HttpOnly; SameSite=Strict; Path=/`, and `Secure` with a `__Host-` name when
//!   [`Config::secure_cookies`]).
//! - `GET /queue`: open and under-review cases, newest evidence first, filtered by state, severity, policy, provider
//!   and assignee.
//! - `GET /cases/{id}`: the subject and its organisation, every finding against its thresholds with the policy's
//!   clause, an evidence chart per signal, the history with each log entry's index and checked proof, the enforcement
//!   documents; `GET /cases/{id}/documents/{n}` downloads one.
//! - `POST /cases/{id}/{assign|decide|approve|enforce|lift}`: the actions, each with a reason and the case version
//!   read.
//! - `GET /log/`, `GET /log/entries/{index}`, `GET|POST /log/pseudonym`: the public pages, no sign-in.
//!
//! Every POST carries a CSRF token (checked by one layer around every route): the session's for signed-in forms, a cookie's double for the two
//! forms before sign-in; without it the answer is 403 and nothing runs. Every answer has the security headers.
//!
//! **Invariant:** the console decides nothing about cases: the store's state machine, roster and roles do, and the
//! console only hides the forms they would refuse. **Invariant:** no `detect`, `lake`, `signals` or DataFusion.
#![deny(missing_docs)]

mod actions;
mod case_page;
mod chart;
mod error;
mod guard;
mod layout;
mod limit;
mod policies;
mod public;
mod queue;
mod session;
mod statics;

/// The SVG path of a daily series, shared with the demo's report.
pub use chart::series_path;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use cases::Cases;
use registry::Registry;
use tlog::note::Verifier;
use tokio::sync::RwLock;

pub use error::ConsoleError;
pub use policies::{Clause, Policies, PolicyText};

/// How many pseudonym checks one address may make within [`PSEUDONYM_WINDOW`]: enough for a tenant checking its own
/// entries, too few to try a list of account ids against a pseudonym.
pub const PSEUDONYM_CHECKS: usize = 10;
/// The window of [`PSEUDONYM_CHECKS`].
pub const PSEUDONYM_WINDOW: std::time::Duration = std::time::Duration::from_secs(600);

/// What the console is built from. The command line builds it from its usual flags, along these lines:
///
/// ```text
/// let log = tlog::log::Log::open(&dir, &private)?;            // the log the store writes to
/// let store = cases::Cases::open(&db, move || Log::open(&dir, &private), &key).await?;
/// let console = Console::new(Config {
///     store, log_dir: dir, log_key: log.verifier(), pseudonym_key: key,
///     registry: Some(registry::Registry::from_path(&registry_csv)?),
///     policies: Policies::from_files(detect::policy::BUILT_IN.iter().copied())?,   // or Policies::from_dir
///     secure_cookies: false,                                  // true behind HTTPS
/// });
/// console::serve(Arc::new(console), tokio::net::TcpListener::bind("127.0.0.1:8080").await?).await?;
/// ```
///
/// The console trusts the TCP peer's address for sign-in throttling and the pseudonym form's limit: behind a reverse
/// proxy every client has the proxy's address, and so shares one count.
pub struct Config {
    /// The case store, open on its transparency log.
    pub store: Cases,
    /// The log's public folder (the C2SP layout the public pages read).
    pub log_dir: PathBuf,
    /// The log's key, which every checkpoint must be signed by (`Log::open(..).verifier()`).
    pub log_key: Verifier,
    /// The provider's pseudonym key (the store's): the pseudonym form checks a tenant id against it.
    pub pseudonym_key: Vec<u8>,
    /// The tenant registry, to show a subject's name and organisation; without it the case page shows ids only.
    pub registry: Option<Registry>,
    /// The policy pack's texts, to quote each finding's clause ([`Policies::from_files`]); may be empty.
    pub policies: Policies,
    /// Mark cookies `Secure` (and name them `__Host-…`): set it whenever browsers reach the console over HTTPS.
    pub secure_cookies: bool,
}

/// The console: the store and what the pages read beside it. Build it with [`Console::new`], serve it with
/// [`router`] or [`serve`].
pub struct Console {
    /// The store's mutating methods take `&mut self`; reads (sessions, pages, sign-ins, which hash a password for up to
    /// a second) share the lock, so one slow sign-in does not hold up every other page.
    store: RwLock<Cases>,
    log_dir: PathBuf,
    log_key: Verifier,
    pseudonym_key: Vec<u8>,
    registry: Option<Registry>,
    policies: Policies,
    secure_cookies: bool,
    pseudonym_checks: limit::Limiter,
}

impl Console {
    /// The console over `config`.
    pub fn new(config: Config) -> Console {
        Console {
            store: RwLock::new(config.store),
            log_dir: config.log_dir,
            log_key: config.log_key,
            pseudonym_key: config.pseudonym_key,
            registry: config.registry,
            policies: config.policies,
            secure_cookies: config.secure_cookies,
            pseudonym_checks: limit::Limiter::new(PSEUDONYM_CHECKS, PSEUDONYM_WINDOW),
        }
    }
}

/// The console's routes, with the CSRF guard and the security headers on every one. Serve it with the client's
/// address (`into_make_service_with_connect_info::<SocketAddr>()`, as [`serve`] does): sign-in throttling and the
/// pseudonym form's limit count per address, and without it every client shares one count.
pub fn router(console: Arc<Console>) -> Router {
    Router::new()
        .route("/", get(queue::home))
        .route("/sign-in", get(session::form).post(session::sign_in))
        .route("/sign-out", post(session::sign_out))
        .route("/queue", get(queue::page))
        .route("/cases/{id}", get(case_page::page))
        .route("/cases/{id}/documents/{n}", get(case_page::download))
        .route("/cases/{id}/{action}", post(actions::act))
        .route("/log/", get(public::index))
        .route("/log", get(public::to_index))
        .route("/log/entries/{index}", get(public::entry))
        .route("/log/pseudonym", get(public::pseudonym_form).post(public::pseudonym_check))
        .route("/static/{file}", get(statics::file))
        .fallback(error::not_found)
        .layer(axum::middleware::from_fn(guard::csrf))
        .layer(axum::middleware::from_fn_with_state(console.clone(), guard::identify))
        .layer(axum::middleware::map_response(guard::headers))
        .with_state(console)
}

/// Serve the console on `listener` until the task is dropped, passing each client's address to the routes.
pub async fn serve(console: Arc<Console>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    axum::serve(listener, router(console).into_make_service_with_connect_info::<SocketAddr>()).await
}
