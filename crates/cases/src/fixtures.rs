//! Test fixtures shared by the unit tests (`mod fixtures`) and the integration tests (`#[path]`): findings, cases,
//! and the databases to run against: a fresh SQLite file always, and a fresh PostgreSQL database when
//! `OVERSIGHT_TEST_PG` names a server (`.ci/postgres.sh` starts one). Under CI (`CI_REQUIRE_PG=1`) a missing
//! server fails the test instead of skipping PostgreSQL.

use std::collections::HashMap;
use std::path::Path;

use chrono::{NaiveDate, TimeZone, Utc};

use cases::{Account, Attempt, Case, Cases, Finding, Outcome, PolicyRef, Provider, Role, Scope, State, SubjectKind, Unit};

/// The reviewers the tests act as: `lead` administers; `ann`, `bob`, `cat` and `ops` approve; `dan` and `eve` review;
/// `aud` audits.
pub const ROSTER: [(&str, Role); 8] = [
    ("lead", Role::Admin),
    ("ann", Role::Approver),
    ("bob", Role::Approver),
    ("cat", Role::Approver),
    ("ops", Role::Approver),
    ("dan", Role::Reviewer),
    ("eve", Role::Reviewer),
    ("aud", Role::Auditor),
];

/// The password of every reviewer [`roster`] signs in.
pub const PASSWORD: &str = "correct horse battery staple";

/// argon2id of [`PASSWORD`] at the lowest cost argon2 allows (8 KiB, one pass). The store hashes at OWASP's cost,
/// about a second a hash in a debug build; the fixtures store this hash instead, which checks in a blink. The verifier
/// takes the cost from the PHC string, so signing in runs the store's own code.
pub const CHEAP_HASH: &str = "$argon2id$v=19$m=8,t=1,p=1$i4GLL5uQjAP11juCpyWuVg$sOzhvGFW6LZlx9CExgMfMcA7Yre4OvbhwmkvyiK0lBk";

/// The signed-in accounts of [`ROSTER`], by name: `roster["ann"]`.
pub struct Roster(HashMap<&'static str, Account>);

impl std::ops::Index<&str> for Roster {
    type Output = Account;
    fn index(&self, name: &str) -> &Account {
        self.0.get(name).unwrap_or_else(|| panic!("{name} is not in the fixtures' roster"))
    }
}

/// Put [`ROSTER`] on the roster of the store at `url`, give each reviewer [`PASSWORD`] (as [`CHEAP_HASH`]), and
/// sign each in on June 1, 2025, before anything a test does (so a test's sign-ins are the newest).
pub async fn roster(cases: &mut Cases, url: &str) -> Roster {
    for (name, role) in ROSTER {
        cases.add_reviewer(name, role).await.unwrap();
        cheap_password(url, name).await;
    }
    let mut accounts = HashMap::new();
    for (name, _) in ROSTER {
        let attempt = Attempt { address: None, at: Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap() };
        accounts.insert(name, cases.authenticate(name, PASSWORD, &attempt).await.unwrap());
    }
    Roster(accounts)
}

/// Give the reviewer `name` of the store at `url` the password [`PASSWORD`], at the cheap cost of [`CHEAP_HASH`].
pub async fn cheap_password(url: &str, name: &str) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&cases::db_url(url)).await.unwrap();
    let done = sqlx::query("UPDATE reviewers SET password_hash = $1 WHERE canonical = $2")
        .bind(CHEAP_HASH)
        .bind(cases::identity::key(name).unwrap())
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(done.rows_affected(), 1, "{name} is not on the roster");
    pool.close().await;
}

/// A critical finding of `policy` on `account` (an `org-…` account is a parent organisation) on June `day`, 2025.
pub fn finding(account: &str, policy: &str, day: u32) -> Finding {
    let d = NaiveDate::from_ymd_opt(2025, 6, day).unwrap();
    Finding {
        policy: PolicyRef { id: policy.into(), version: 1, sha256: "ab".repeat(32) },
        title: format!("{policy} title"),
        account_id: account.into(),
        scope: if account.starts_with("org-") { SubjectKind::Parent } else { SubjectKind::Account },
        as_of: d,
        window_start: d,
        severity: "critical".into(),
        score: 2.5,
        measured: vec![serde_json::json!({"signal": "ai.speech_seconds", "value": 10.0, "threshold": 5.0})],
        evidence: vec![],
    }
}

/// A case on `subject` in `state`, with an outcome and approvals (an AWS unit when the outcome enforces).
pub fn case(id: &str, subject: &str, state: State, outcome: Option<Outcome>, approvals: &[&str]) -> Case {
    let now = Utc::now();
    Case {
        id: id.into(),
        subject: subject.into(),
        subject_kind: SubjectKind::Account,
        parent_id: None,
        state,
        outcome,
        unit: outcome.filter(|o| o.enforces()).map(|_| Unit {
            provider: Provider::Aws,
            scope: Scope::Accounts(vec!["111122223333".into()]),
            aws_management_account: None,
        }),
        services: vec![],
        assignee: None,
        approvals: approvals.iter().map(|a| a.to_string()).collect(),
        version: 1,
        opened_at: now,
        updated_at: now,
    }
}

/// (name, database URL) of every back end to test, each a new empty database.
pub async fn backends(dir: &Path) -> Vec<(&'static str, String)> {
    let mut out = vec![("sqlite", dir.join("cases.db").display().to_string())];
    match std::env::var("OVERSIGHT_TEST_PG") {
        Ok(base) if !base.is_empty() => out.push(("postgres", fresh_pg(&base).await)),
        _ if std::env::var("CI_REQUIRE_PG").is_ok_and(|v| v == "1") => {
            panic!("CI_REQUIRE_PG=1 but OVERSIGHT_TEST_PG is not set: .ci/postgres.sh must start the server before the tests")
        }
        _ => eprintln!("note: OVERSIGHT_TEST_PG is not set, so this test ran on SQLite only (run .ci/postgres.sh for PostgreSQL)"),
    }
    out
}

/// A new database on the server of `base` (`postgres://user@host:port/db`), its URL.
async fn fresh_pg(base: &str) -> String {
    use sqlx::migrate::MigrateDatabase;
    let (server, _) = base.rsplit_once('/').expect("OVERSIGHT_TEST_PG is postgres://user@host:port/database");
    let url = format!("{server}/t_{}", uuid::Uuid::new_v4().simple());
    sqlx::any::install_default_drivers();
    sqlx::Any::create_database(&url).await.unwrap_or_else(|e| panic!("creating a test database on {server}: {e}"));
    url
}
