//! Cases: findings become decisions that people take, record and can undo.
//!
//! A case is about one account or one parent organisation. Findings open it (or join the open case of their
//! account); a reviewer is assigned; the outcome is decided (`no-action`, `notice`, `restrict`, `suspend`);
//! `restrict` and `suspend` need two approvals from different reviewers, then enforcement issues the provider's
//! documents (crate `enforce`); a lift ends it. See [`machine`] for the exact rules.
//!
//! Only people on the reviewer roster act on cases ([`Cases::add_reviewer`]), each as their [`Role`] allows, and only
//! once signed in ([`accounts`]): an action takes an [`Account`], which only a password, a bearer token or a web
//! console session yields. A name is matched by its canonical key ([`identity`]), so `ann`, `Ann` and `ann` with a
//! zero-width space are one person (the last refused outright), and the store records the name as registered.
//!
//! Each reviewer has an approval key, published on the log when the reviewer is added; every approval is signed with
//! the approver's key, so a reader of the log sees that two different keys approved ([`approval`]).
//!
//! An enforced case keeps watching: a later finding on its subject, on the subject's parent, or on a sibling account
//! under the same parent joins the enforced case instead of opening a new one (the exodus after a suspension, or the
//! same pattern reappearing under another sub-account).
//!
//! Every change appends to the transparency log (crate `tlog`): a `decision` entry per transition, a `finding` entry
//! for findings that open or join a case, an `enforcement` entry with the SHA-256 of each document issued, a `lift`
//! entry, and an `account` entry when a reviewer (and their approval key) is added or removed. Tenants appear in the log only as pseudonyms, and reasons only as their SHA-256. The case keeps
//! each entry's index and inclusion proof.
//!
//! The store is SQLite (a file, no set-up) or PostgreSQL (`postgres://…`), through sqlx's `Any` driver with the same
//! migration files for both. Each change is a compare-and-set on the case's version inside one transaction, so two
//! reviewers acting on one case at once get one success and one [`CaseError::Conflict`].
//!
//! Crash consistency is an outbox ([`outbox`]): the change and its pending log entries commit in one database
//! transaction; then they are appended to the log; then their indexes and proofs are recorded. Opening the store
//! finishes whatever a crash interrupted, and never logs an entry twice.
//!
//! A store is created once, explicitly, by [`Cases::init`]; [`Cases::open`] refuses a database that is not one, so
//! a mistyped `--db` is an error, not a new empty store.
//!
//! The API, in the order a case uses it: [`Cases::init`], [`Cases::open`], [`Cases::add_reviewer`], [`Cases::add_findings`],
//! [`Cases::apply`] with an [`Action`], [`Cases::get`], [`Cases::list`], [`Cases::show`], and [`Cases::reconcile`];
//! the roster also has [`Cases::list_reviewers`], [`Cases::reviewer`] and [`Cases::remove_reviewer`]; signing in has
//! [`Cases::set_password`], [`Cases::authenticate`], [`Cases::issue_token`], [`Cases::authenticate_token`],
//! [`Cases::list_tokens`], [`Cases::revoke_token`], [`Cases::create_session`], [`Cases::session`],
//! [`Cases::end_session`] and the audit [`Cases::sign_ins`].
#![deny(missing_docs)]

pub mod accounts;
pub mod approval;
mod db;
#[cfg(test)]
mod fixtures;
pub mod identity;
pub mod machine;
mod model;
pub mod outbox;
mod route;
mod store;
// The fixtures name this crate `cases`, as the integration tests that share them do.
#[cfg(test)]
extern crate self as cases;

pub use accounts::{Account, Attempt, AuthError, IssuedToken, NewSession, Session, SignIn, SignInMethod, SignInOutcome, TokenInfo};
pub use approval::{published_key, verify_approval};
pub use db::db_url;
pub use enforce::{Document, Family, Provider, Scope};
pub use model::{
    Act, Action, Case, CaseFinding, CaseRecord, EntryProof, Finding, IssuedDocument, LoggedEntry, Outcome, Placement, PolicyRef, Reviewer, Role, Ruling, State,
    SubjectKind, Transition, Unit, Withdrawal, findings_from_json,
};
pub use store::{Applied, Cases, Init};

/// Why a case operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// No case has this id.
    #[error("no case {0}")]
    UnknownCase(String),
    /// A finding names an account the registry does not have.
    #[error("account {0:?} is not in the registry")]
    UnknownAccount(String),
    /// The case is closed (`no-action`, `notice` or lifted): nothing more happens to it.
    #[error("case {case} is closed ({state}); new findings open a new case")]
    Closed {
        /// The case.
        case: String,
        /// Its state.
        state: String,
    },
    /// The action is not legal in the case's state.
    #[error("cannot {action} case {case}: it is {state}")]
    Transition {
        /// The case.
        case: String,
        /// The action refused.
        action: &'static str,
        /// The state it is in.
        state: String,
    },
    /// The reviewer already approved this decision; the second approval must come from someone else.
    #[error("{reviewer} already approved case {case}; the two-person rule needs a different reviewer")]
    SameReviewer {
        /// The case.
        case: String,
        /// The reviewer.
        reviewer: String,
    },
    /// The decision already has its two approvals.
    #[error("case {case} already has the two approvals it needs")]
    AlreadyApproved {
        /// The case.
        case: String,
    },
    /// Enforcement before two different reviewers approved.
    #[error("case {case} has {have} of the 2 approvals by different reviewers that enforcement needs")]
    NeedsApprovals {
        /// The case.
        case: String,
        /// Approvals so far.
        have: usize,
    },
    /// The case changed since the actor read it (someone else acted first); nothing was written.
    #[error("case {case} was changed by {by} (it is at version {version}, you read version {expected}); nothing was written: reload it and retry")]
    Conflict {
        /// The case.
        case: String,
        /// The version the actor saw.
        expected: i64,
        /// Who made the case's latest change, as registered (or the scanner's name for findings).
        by: String,
        /// The case's version now.
        version: i64,
    },
    /// A reviewer name is refused (see [`identity`]): empty, or holding invisible, control or odd whitespace
    /// characters.
    #[error("reviewer name {name:?} is refused: {why}")]
    Name {
        /// The name as given.
        name: String,
        /// Why.
        why: String,
    },
    /// The name is not on the reviewer roster.
    #[error("{0:?} is not on the reviewer roster: add them with `oversight reviewer add NAME --role ROLE`")]
    UnknownReviewer(String),
    /// The reviewer was removed from the roster: their past actions stand, new ones are refused.
    #[error("{name} was removed from the reviewer roster at {removed_at}; their past actions stand, new ones are refused")]
    RemovedReviewer {
        /// The name as registered.
        name: String,
        /// When they were removed (RFC 3339).
        removed_at: String,
    },
    /// The account signed in to another case store (its approval key is not this store's reviewer's).
    #[error("{0} signed in to another case store: sign in to this one")]
    ForeignAccount(String),
    /// No token has this id.
    #[error("no token {0}: list a reviewer's tokens to see their ids")]
    UnknownToken(String),
    /// The reviewer's role does not allow the action (see [`Role`]).
    #[error("{reviewer} ({role}) may not {action}: that needs {needs}")]
    NotPermitted {
        /// The name as registered.
        reviewer: String,
        /// Their role.
        role: Role,
        /// What was refused (`approve`, `be assigned case-000001`, ...).
        action: String,
        /// The roles that may.
        needs: &'static str,
    },
    /// The name, in this or another spelling, is already on the roster (removed reviewers included: a name is one
    /// person for good).
    #[error("{name:?} is already on the reviewer roster as {existing:?}{}", if *removed { " (removed)" } else { "" })]
    ReviewerExists {
        /// The name as given.
        name: String,
        /// The name as registered.
        existing: String,
        /// Whether that reviewer was removed.
        removed: bool,
    },
    /// Bad input: a missing reason, a decision without its unit, unreadable findings.
    #[error("{0}")]
    Input(String),
    /// The enforcement documents could not be made from the decision.
    #[error("enforcement documents: {0}")]
    Enforce(#[from] enforce::EnforceError),
    /// A log entry could not be formed.
    #[error("log entry: {0}")]
    Entry(#[from] tlog::entry::EntryError),
    /// There is no case store at the `--db` given (no such file, no such database, or no schema in it); nothing
    /// was created.
    #[error("no case store at {db}: {why}; create one with `oversight case init --db {db}`")]
    NoStore {
        /// The database argument (a URL's password masked).
        db: String,
        /// What is missing.
        why: String,
    },
    /// The database server did not answer.
    #[error("cannot reach the case store's database server {server}: {why}")]
    Unreachable {
        /// `host:port`.
        server: String,
        /// What the connection attempt said.
        why: String,
    },
    /// The store's file could not be created.
    #[error("creating the case store {path}: {source}")]
    File {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The database failed.
    #[error("case store: {0}")]
    Db(#[from] sqlx::Error),
    /// The database schema could not be brought up to date.
    #[error("case store migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The transparency log failed.
    #[error("transparency log: {0}")]
    Log(#[from] tlog::log::LogError),
    /// The change is committed, but appending its log entries failed; they wait in the outbox and the next
    /// [`Cases::open`] or [`Cases::reconcile`] appends them. Do not repeat the change.
    #[error("case {case}: the change is recorded, but its log entries are not in the log yet ({source}); the next open appends them")]
    Unlogged {
        /// The case.
        case: String,
        /// Why the append failed.
        source: Box<CaseError>,
    },
    /// A roster change is committed, but appending its `account` log entry failed; it waits in the outbox and the
    /// next [`Cases::open`] or [`Cases::reconcile`] appends it. Do not repeat the change.
    #[error("reviewer {name}: the change is recorded, but its log entry is not in the log yet ({source}); the next open appends it")]
    AccountUnlogged {
        /// The reviewer, as registered.
        name: String,
        /// Why the append failed.
        source: Box<CaseError>,
    },
    /// Stored data is not what this crate wrote.
    #[error("corrupt case store: {0}")]
    Corrupt(String),
}

impl CaseError {
    /// Whether the error is a refusal of the action (a rule of the state machine, the roster or a role, or a
    /// conflict), as opposed to bad input or a failure of the store or the log. Nothing was written when this is true.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            CaseError::Closed { .. }
                | CaseError::Transition { .. }
                | CaseError::SameReviewer { .. }
                | CaseError::AlreadyApproved { .. }
                | CaseError::NeedsApprovals { .. }
                | CaseError::Conflict { .. }
                | CaseError::UnknownReviewer(_)
                | CaseError::RemovedReviewer { .. }
                | CaseError::ForeignAccount(_)
                | CaseError::NotPermitted { .. }
        )
    }
}
