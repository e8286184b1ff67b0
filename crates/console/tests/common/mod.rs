//! Shared set-up of the console's tests: a SQLite case store and a transparency log in a temporary folder, a
//! registry, a case opened by findings with their evidence, reviewers with passwords, and the console over them.

#![allow(dead_code)] // each test file uses part of it

use std::path::PathBuf;
use std::sync::Arc;

use cases::{Cases, Role};
use chrono::{Duration, NaiveDate, TimeZone, Utc};
use console::{Config, Console, Policies};
use registry::Registry;
use tlog::log::Log;

/// Every seeded reviewer's password (the store wants at least 15 characters).
pub const PASSWORD: &str = "correct horse battery staple";
/// The provider's pseudonym key.
pub const KEY: &[u8] = b"console test pseudonym key";
/// The case's subject: an AWS account of an intelligence unit.
pub const SUBJECT: &str = "111122223333";
/// The policy that fired, as the repository's pack has it.
pub const POLICY: &str = include_str!("../../../../policies/interception-pipeline.toml");

/// A seeded console and where its files are.
pub struct Seeded {
    /// Holds the store and the log; removed when dropped.
    pub dir: tempfile::TempDir,
    /// The log's public folder.
    pub log_dir: PathBuf,
    /// The store's database.
    pub db: String,
    /// The console.
    pub console: Arc<Console>,
    /// The case the findings opened.
    pub case_id: String,
}

fn registry() -> Registry {
    let csv = format!(
        "account_id,name,parent_id,sector,country,purposes,approvals,provider\n\
         org-1,Interior Ministry,,intelligence,XX,,,aws\n\
         {SUBJECT},Unit 8 archive,org-1,intelligence,XX,records management,,aws\n"
    );
    Registry::from_reader("registry.csv", csv.as_bytes()).unwrap()
}

/// Findings as `oversight scan --format json` writes them: speech-to-text at interception scale (21 days of
/// evidence, a rate per hour against its threshold) and the archive growing beside it.
fn findings() -> Vec<cases::Finding> {
    let as_of = NaiveDate::from_ymd_opt(2025, 6, 20).unwrap();
    let day = |i: i64| (as_of - Duration::days(20 - i)).to_string();
    let speech: Vec<serde_json::Value> = (0..21).map(|i| serde_json::json!([day(i), 1.6e8 + 7e6 * i as f64])).collect();
    let stored: Vec<serde_json::Value> = (0..21).map(|i| serde_json::json!([day(i), 4.0e14 * (1.0 + 0.02 * i as f64)])).collect();
    let sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(POLICY.as_bytes()));
    let json = serde_json::json!({"findings": [
        {
            "policy": {"id": "interception-pipeline", "version": 2, "sha256": sha256, "clause": "Microsoft: statement"},
            "title": "Speech-to-text at interception scale in a security-sector account",
            "account_id": SUBJECT, "scope": "account", "sector": "intelligence",
            "as_of": as_of.to_string(), "window_start": day(0), "severity": "critical", "score": 1.33,
            "measured": [{"signal": "ai.speech_seconds", "measure": "rate per hour over 2 days", "value": 1.2e7, "op": ">=", "threshold": 9.0e6}],
            "evidence": [{"signal": "ai.speech_seconds", "points": speech}]
        },
        {
            "policy": {"id": "archive-surge", "version": 1, "sha256": "ab".repeat(32), "clause": "AWS: AUP"},
            "title": "Archive growing fast in a security-sector account",
            "account_id": SUBJECT, "scope": "account", "sector": "intelligence",
            "as_of": as_of.to_string(), "window_start": day(0), "severity": "high", "score": 1.1,
            "measured": [{"signal": "storage.stored_bytes", "measure": "last 7 days over the 7 days 14 days earlier", "value": 1.32, "op": ">=", "threshold": 1.2}],
            "evidence": [{"signal": "storage.stored_bytes", "points": stored}]
        }
    ]});
    cases::findings_from_json(&json.to_string()).unwrap()
}

/// A store, a log and a console with `reviewers` on the roster (each with [`PASSWORD`]) and one open case.
pub async fn seed(reviewers: &[(&str, Role)], secure_cookies: bool) -> Seeded {
    let dir = tempfile::tempdir().unwrap();
    let (public, private) = (dir.path().join("log"), dir.path().join("log.private"));
    let log = Log::create(&public, &private, "console.test/log", &[7u8; 32]).unwrap();
    let log_key = log.verifier();
    drop(log);
    let db = dir.path().join("cases.db").display().to_string();
    Cases::init(&db).await.unwrap();
    let (p, q) = (public.clone(), private.clone());
    let mut store = Cases::open(&db, move || Log::open(&p, &q), KEY).await.unwrap();
    for (name, role) in reviewers {
        store.add_reviewer(name, *role).await.unwrap();
        // The store offers no cheaper hash: this is its own argon2id, as in production.
        store.set_password(name, PASSWORD).await.unwrap();
    }
    let at = Utc.with_ymd_and_hms(2025, 6, 20, 6, 0, 0).unwrap();
    let placed = store.add_findings(&findings(), &registry(), "oversight scan", at).await.unwrap();
    let case_id = placed[0].case_id.clone();
    let console = Console::new(Config {
        store,
        log_dir: public.clone(),
        log_key,
        pseudonym_key: KEY.to_vec(),
        registry: Some(registry()),
        policies: Policies::from_files([("interception-pipeline.toml", POLICY)]).unwrap(),
        secure_cookies,
    });
    Seeded { dir, log_dir: public, db, console: Arc::new(console), case_id }
}

impl Seeded {
    /// A second handle on the store, as another process would open it.
    pub async fn store(&self) -> Cases {
        let (p, q) = (self.log_dir.clone(), self.dir.path().join("log.private"));
        Cases::open(&self.db, move || Log::open(&p, &q), KEY).await.unwrap()
    }
}
