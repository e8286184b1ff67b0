//! Shared set-up: a registry, findings, a store on each back end over an in-memory log, and the check that the store
//! and the log agree.

#![allow(dead_code)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cases::{Account, Act, Cases};
use chrono::{DateTime, TimeZone, Utc};
use registry::Registry;
use tlog::log::Log;
use tlog::storage::MemStorage;

#[path = "../../src/fixtures.rs"]
pub mod fixtures;
#[allow(unused_imports)] // not every test places findings
pub use fixtures::finding;
pub use fixtures::{PASSWORD, Roster};

pub const KEY: &[u8] = b"provider pseudonym key";
const ORIGIN: &str = "example.org/cases-test";

/// Two organisations: `org-1` with `sub-a`, `sub-b`, `sub-c`; `org-2` with `sub-x`.
pub fn registry() -> Registry {
    let csv = "account_id,name,parent_id,sector,country,purposes,approvals\n\
               org-1,Interior Ministry,,intelligence,XX,,\n\
               sub-a,Unit A,org-1,intelligence,XX,,\n\
               sub-b,Unit B,org-1,intelligence,XX,,\n\
               sub-c,Unit C,org-1,intelligence,XX,,\n\
               org-2,Shop,,commercial,XX,,\n\
               sub-x,Shop web,org-2,commercial,XX,,\n";
    Registry::from_reader("registry.csv", csv.as_bytes()).unwrap()
}

pub fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 10, 12, minute, 0).unwrap()
}

pub fn act(actor: &Account, minute: u32) -> Act {
    Act { actor: actor.clone(), reason: format!("{} read the evidence", actor.name()), at: at(minute), expect_version: None }
}

/// Sign in as `name` (any spelling) with the fixtures' password.
pub async fn sign_in(cases: &Cases, name: &str) -> Result<Account, cases::AuthError> {
    cases.authenticate(name, PASSWORD, &cases::Attempt::now(None)).await
}

/// A new in-memory log.
pub fn mem_log() -> MemStorage {
    let s = MemStorage::new();
    Log::create_in(s.clone(), ORIGIN, &[7u8; 32]).unwrap();
    s
}

/// A store at `url` over the log in `storage`.
pub async fn open(url: &str, storage: &MemStorage) -> Cases {
    let s = storage.clone();
    Cases::open(url, move || Log::open_in(s.clone()), KEY).await.unwrap()
}

/// A new store at `url` over the log in `storage`, with the reviewers of [`fixtures::ROSTER`] signed in.
pub async fn setup(url: &str, storage: &MemStorage) -> (Cases, Roster) {
    assert_eq!(Cases::init(url).await.unwrap(), cases::Init::Created, "{url} is a new store");
    let mut cases = open(url, storage).await;
    let roster = fixtures::roster(&mut cases, url).await;
    (cases, roster)
}

/// Every entry of the log, parsed.
pub fn log_entries(storage: &MemStorage) -> Vec<(Vec<u8>, serde_json::Value)> {
    let log = Log::open_in(storage.clone()).unwrap();
    let r = log.reader();
    (0..log.size())
        .map(|i| {
            let b = r.entry(i, log.size()).unwrap();
            let v = serde_json::from_slice(&b).unwrap();
            (b, v)
        })
        .collect()
}

/// The store and the log agree: every transition's entries are in the log, exactly once, at the index the store
/// recorded, with a proof that checks against a checkpoint the log signed; and the log holds no case entry the
/// store does not know.
pub async fn assert_agree(cases: &Cases, storage: &MemStorage) {
    let log = Log::open_in(storage.clone()).unwrap();
    let verifier = log.verifier();
    let entries = log_entries(storage);
    let mut recorded = std::collections::BTreeMap::new();
    for c in cases.list(None).await.unwrap() {
        let rec = cases.show(&c.id).await.unwrap();
        assert_eq!(rec.history.last().unwrap().version, c.version, "{}: the last transition is the case's version", c.id);
        assert_eq!(rec.history.last().unwrap().to, c.state, "{}", c.id);
        for t in &rec.history {
            assert!(!t.entries.is_empty(), "{} {}: a transition without log entries", c.id, t.action);
            for e in &t.entries {
                let i = e.index.unwrap_or_else(|| panic!("{} {}: entry {} was never logged", c.id, t.action, e.id));
                assert_eq!(entries[i as usize].0, e.body.as_bytes(), "{}: the log's entry {i} is not the stored one", e.id);
                assert!(recorded.insert(i, e.id.clone()).is_none(), "two stored entries claim log index {i}");
                let p = e.proof.as_ref().unwrap();
                let root: [u8; 32] = STANDARD.decode(&p.root).unwrap().try_into().unwrap();
                let hashes: Vec<[u8; 32]> = p.hashes.iter().map(|h| STANDARD.decode(h).unwrap().try_into().unwrap()).collect();
                tlog::merkle::verify_inclusion(&tlog::merkle::leaf_hash(e.body.as_bytes()), p.index, p.size, &hashes, &root).unwrap();
                let note = tlog::note::Note::parse(p.checkpoint.as_bytes()).unwrap();
                note.verify(std::slice::from_ref(&verifier)).unwrap();
                let cp = tlog::log::Checkpoint::parse(&note.text).unwrap();
                assert_eq!((cp.size, cp.root), (p.size, root));
                // The tenant appears only as its pseudonym.
                let v: serde_json::Value = serde_json::from_str(&e.body).unwrap();
                assert_eq!(v["subject"], tlog::entry::pseudonym(KEY, &c.subject));
                assert!(!e.body.contains(&format!("\"{}\"", c.subject)), "{} names its tenant in clear: {}", e.id, e.body);
            }
        }
    }
    for (i, (_, v)) in entries.iter().enumerate() {
        if v.get("case").is_some() {
            assert!(recorded.contains_key(&(i as u64)), "log entry {i} is a case entry the store does not record: {v}");
        }
    }
}
