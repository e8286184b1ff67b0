//! The outbox between the case store and the transparency log.
//!
//! Protocol for every change:
//! 1. one database transaction commits the change (a compare-and-set on the case's version), its transition row,
//!    and one `log_entries` row per log entry, each holding the entry's exact canonical bytes and no index yet;
//! 2. under the `publish` lock row (held by an open database transaction, so one publisher at a time across
//!    processes), the pending rows are looked up in the log by their bytes (each entry carries its unique
//!    `<transition>.<part>` id), the missing ones are appended in one batch, and every pending row gets its index
//!    and inclusion proof; that transaction then commits and releases the lock.
//!
//! A crash after step 1 leaves rows pending; a crash inside step 2 after the append leaves them pending too, with
//! the entries already in the log. Either way [`Cases::reconcile`] (run by [`Cases::open`]) finds each pending entry
//! in the log or appends it, and records it, so the store and the log agree and nothing is logged twice.

use std::collections::HashMap;
use std::ops::Range;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::SigningKey;
use sqlx::Row;
use tlog::log::LogError;

use crate::model::EntryProof;
use crate::{CaseError, Cases};

/// A log entry of a transition, before it is stored.
pub(crate) struct NewEntry {
    /// `<transition id>.<part>`.
    pub id: String,
    pub part: i64,
    pub kind: &'static str,
    /// Canonical JSON, exactly the bytes to append.
    pub body: String,
}

/// Make the entry `part` of a transition (or of a roster change: any fresh UUID): `fields` plus its id and kind, as
/// canonical JSON.
pub(crate) fn entry(transition: &str, part: i64, kind: &'static str, fields: serde_json::Map<String, serde_json::Value>) -> Result<NewEntry, CaseError> {
    make(transition, part, kind, fields, None)
}

/// [`entry`], signed with an approver's key ([`crate::approval`]): the signature covers the entry's id and kind.
pub(crate) fn signed_entry(
    transition: &str,
    part: i64,
    kind: &'static str,
    fields: serde_json::Map<String, serde_json::Value>,
    key: &SigningKey,
) -> Result<NewEntry, CaseError> {
    make(transition, part, kind, fields, Some(key))
}

fn make(
    transition: &str,
    part: i64,
    kind: &'static str,
    mut fields: serde_json::Map<String, serde_json::Value>,
    key: Option<&SigningKey>,
) -> Result<NewEntry, CaseError> {
    let id = format!("{transition}.{part}");
    fields.insert("entry".into(), id.clone().into());
    fields.insert("kind".into(), kind.into());
    if let Some(key) = key {
        fields.insert("key_id".into(), crate::approval::key_id(key.verifying_key().as_bytes()).into());
        crate::approval::sign(&mut fields, key);
    }
    let bytes = tlog::entry::canonical_value(&serde_json::Value::Object(fields))?;
    let body = String::from_utf8(bytes).expect("canonical JSON is UTF-8");
    Ok(NewEntry { id, part, kind, body })
}

/// Where a test stops the protocol, as a crash would.
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Crash {
    /// After the change and its pending entries commit, before the log append.
    AfterCommit,
    /// After the log append, before the indexes are recorded.
    AfterAppend,
}

impl Cases {
    /// Store the pending entries of a transition of a case (or of a roster change: neither), inside its database
    /// transaction.
    pub(crate) async fn stage_entries(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        case_id: Option<&str>,
        transition: Option<&str>,
        entries: &[NewEntry],
    ) -> Result<(), CaseError> {
        let seq: i64 = sqlx::query("SELECT COALESCE(MAX(created_seq), 0) AS n FROM log_entries").fetch_one(&mut **tx).await?.try_get("n")?;
        // A size the log had before any of these entries can be in it: where reconciliation starts looking.
        let hint = self.log.size() as i64;
        for (i, e) in entries.iter().enumerate() {
            sqlx::query(
                "INSERT INTO log_entries (id, transition_id, case_id, part, kind, body, created_seq, log_size_hint) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&e.id)
            .bind(transition)
            .bind(case_id)
            .bind(e.part)
            .bind(e.kind)
            .bind(&e.body)
            .bind(seq + 1 + i as i64)
            .bind(hint)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// Append every pending entry to the log (unless a crash left it there already) and record its index and
    /// proof. Returns how many entries it recorded. [`Cases::open`] runs it; run it again after a
    /// [`CaseError::Unlogged`] once the log works.
    pub async fn reconcile(&mut self) -> Result<usize, CaseError> {
        let mut tx = self.pool.begin().await?;
        // The first statement writes, so the lock is taken before anything is read (SQLite and PostgreSQL alike).
        sqlx::query("UPDATE locks SET n = n + 1 WHERE name = 'publish'").execute(&mut *tx).await?;
        let rows = sqlx::query("SELECT id, body, log_size_hint FROM log_entries WHERE log_index IS NULL ORDER BY created_seq, id").fetch_all(&mut *tx).await?;
        if rows.is_empty() {
            tx.commit().await?;
            return Ok(0);
        }
        let mut pending = Vec::with_capacity(rows.len());
        for r in &rows {
            pending.push((r.try_get::<String, _>("id")?, r.try_get::<String, _>("body")?, r.try_get::<i64, _>("log_size_hint")?));
        }
        // A fresh handle finishes a batch a crash left staged and sees what other writers appended.
        self.log = (self.reopen)()?;
        let size = self.log.size();
        let from = pending.iter().map(|p| p.2.max(0) as u64).min().unwrap_or(0).min(size);
        let by_bytes: HashMap<&[u8], &str> = pending.iter().map(|(id, body, _)| (body.as_bytes(), id.as_str())).collect();
        let mut index: HashMap<String, u64> = HashMap::new();
        let reader = self.log.reader();
        for i in from..size {
            let bytes = reader.entry(i, size)?;
            if let Some(id) = by_bytes.get(bytes.as_slice()) {
                index.insert((*id).to_string(), i);
            }
        }
        let missing: Vec<&(String, String, i64)> = pending.iter().filter(|p| !index.contains_key(&p.0)).collect();
        if !missing.is_empty() {
            let bytes: Vec<Vec<u8>> = missing.iter().map(|p| p.1.clone().into_bytes()).collect();
            let range = self.append(&bytes)?;
            for (p, i) in missing.iter().zip(range) {
                index.insert(p.0.clone(), i);
            }
        }
        #[cfg(test)]
        self.crash_point(Crash::AfterAppend)?;
        for (id, _, _) in &pending {
            let i = index[id];
            let proof = self.log.prove(i)?;
            let proof = EntryProof {
                index: proof.index,
                size: proof.size,
                root: STANDARD.encode(proof.root),
                hashes: proof.hashes.iter().map(|h| STANDARD.encode(h)).collect(),
                checkpoint: proof.checkpoint,
            };
            sqlx::query("UPDATE log_entries SET log_index = $1, proof = $2 WHERE id = $3")
                .bind(i as i64)
                .bind(serde_json::to_string(&proof).expect("proofs serialise"))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(pending.len())
    }

    /// Append a batch; when another writer appended since this handle opened, reopen and try again (the batch is
    /// not in the log then: every case entry goes through the publish lock this caller holds).
    fn append(&mut self, entries: &[Vec<u8>]) -> Result<Range<u64>, CaseError> {
        for _ in 0..3 {
            match self.log.append(entries) {
                Err(LogError::Conflict) => self.log = (self.reopen)()?,
                other => return Ok(other?),
            }
        }
        Err(LogError::Conflict.into())
    }

    /// Fail here if a test armed this crash point.
    #[cfg(test)]
    pub(crate) fn crash_point(&self, at: Crash) -> Result<(), CaseError> {
        if self.crash == Some(at) {
            return Err(CaseError::Log(LogError::Io { path: format!("crash point {at:?}"), source: std::io::Error::other("injected crash") }));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use chrono::{TimeZone, Utc};
    use sqlx::Row;
    use tlog::log::Log;
    use tlog::storage::{Area, MemStorage, Storage, WriterLock};

    use super::Crash;
    use crate::fixtures::Roster;
    use crate::model::{Act, Action, Finding};
    use crate::{Account, CaseError, Cases};

    /// A log storage whose writes fail while armed: every write, or only puts to one public path.
    #[derive(Clone, Default)]
    struct Flaky {
        inner: MemStorage,
        fail: Arc<Mutex<Option<Option<&'static str>>>>,
    }

    impl Flaky {
        fn check(&self, area: Area, path: &str) -> io::Result<()> {
            match *self.fail.lock().unwrap() {
                Some(None) => Err(io::Error::other("injected: the log's disk is gone")),
                Some(Some(p)) if area == Area::Public && p == path => Err(io::Error::other(format!("injected: writing {p} failed"))),
                _ => Ok(()),
            }
        }
    }

    impl Storage for Flaky {
        fn get(&self, area: Area, path: &str) -> io::Result<Option<Vec<u8>>> {
            self.inner.get(area, path)
        }
        fn put(&self, area: Area, path: &str, bytes: &[u8]) -> io::Result<()> {
            self.check(area, path)?;
            self.inner.put(area, path, bytes)
        }
        fn delete(&self, area: Area, path: &str) -> io::Result<()> {
            self.check(area, path)?;
            self.inner.delete(area, path)
        }
        fn compare_and_swap(&self, path: &str, old: Option<&[u8]>, new: &[u8]) -> io::Result<bool> {
            self.check(Area::Private, path)?;
            self.inner.compare_and_swap(path, old, new)
        }
        fn lock(&self) -> io::Result<WriterLock> {
            self.inner.lock()
        }
        fn describe(&self, area: Area, path: &str) -> String {
            self.inner.describe(area, path)
        }
    }

    fn registry() -> registry::Registry {
        let csv = "account_id,name,parent_id,sector,country,purposes,approvals\norg,O,,intelligence,XX,,\nsub,S,org,intelligence,XX,,\n";
        registry::Registry::from_reader("registry.csv", csv.as_bytes()).unwrap()
    }

    fn finding() -> Finding {
        crate::fixtures::finding("sub", "p", 1)
    }

    fn at() -> chrono::DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, 2, 0, 0, 0).unwrap()
    }

    fn act(actor: &Account) -> Act {
        Act { actor: actor.clone(), reason: "because".into(), at: at(), expect_version: None }
    }

    async fn open(url: &str, log: &Flaky) -> Cases {
        let s = log.clone();
        Cases::open(url, move || Log::open_in(s.clone()), b"key").await.unwrap()
    }

    fn log_size(log: &Flaky) -> u64 {
        Log::open_in(log.inner.clone()).unwrap().size()
    }

    /// The store and the log agree: every entry row is recorded, at an index holding exactly its bytes, and the log
    /// holds each case entry once.
    async fn assert_agree(cases: &Cases, log: &Flaky) {
        let rows = sqlx::query("SELECT id, body, log_index FROM log_entries").fetch_all(&cases.pool).await.unwrap();
        let l = Log::open_in(log.inner.clone()).unwrap();
        let reader = l.reader();
        let logged: Vec<Vec<u8>> = (0..l.size()).map(|i| reader.entry(i, l.size()).unwrap()).collect();
        for r in &rows {
            let (id, body, index): (String, String, Option<i64>) = (r.get("id"), r.get("body"), r.get("log_index"));
            let index = index.unwrap_or_else(|| panic!("{id} is still pending"));
            assert_eq!(logged[index as usize], body.as_bytes(), "{id}");
            assert_eq!(logged.iter().filter(|b| *b == body.as_bytes()).count(), 1, "{id} is in the log more than once");
        }
        assert_eq!(rows.len(), logged.len(), "the log holds entries the store does not record");
    }

    /// A new log and a store over it.
    async fn setup(url: &str) -> (Flaky, Cases, Roster) {
        let log = Flaky::default();
        Log::create_in(log.inner.clone(), "example.org/crash", &[1; 32]).unwrap();
        Cases::init(url).await.unwrap();
        let mut cases = open(url, &log).await;
        let roster = crate::fixtures::roster(&mut cases, url).await;
        (log, cases, roster)
    }

    async fn pending(cases: &Cases) -> i64 {
        sqlx::query("SELECT COUNT(*) AS n FROM log_entries WHERE log_index IS NULL").fetch_one(&cases.pool).await.unwrap().get("n")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_crash_between_the_commit_and_the_append_is_appended_on_reopen() {
        let tmp = tempfile::tempdir().unwrap();
        for (name, url) in crate::fixtures::backends(tmp.path()).await {
            let (log, mut cases, r) = setup(&url).await;
            cases.add_findings(&[finding()], &registry(), "scan", at()).await.unwrap();
            let size = log_size(&log);
            cases.crash = Some(Crash::AfterCommit);
            let e = cases.apply("case-000001", &act(&r["lead"]), Action::Assign { reviewer: "ann".into() }).await.unwrap_err();
            assert!(matches!(e, CaseError::Log(_)), "{name}: {e}");
            // The change is committed, its entry waits, the log does not have it.
            assert_eq!(cases.get("case-000001").await.unwrap().version, 2);
            assert_eq!((pending(&cases).await, log_size(&log)), (1, size), "{name}");
            drop(cases);
            let cases = open(&url, &log).await;
            assert_eq!((pending(&cases).await, log_size(&log)), (0, size + 1), "{name}");
            assert_agree(&cases, &log).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_crash_after_the_append_is_recorded_on_reopen_without_appending_again() {
        let tmp = tempfile::tempdir().unwrap();
        for (name, url) in crate::fixtures::backends(tmp.path()).await {
            let (log, mut cases, _) = setup(&url).await;
            cases.crash = Some(Crash::AfterAppend);
            let before = log_size(&log);
            assert!(cases.add_findings(&[finding()], &registry(), "scan", at()).await.is_err());
            // Both entries (open and its findings) are in the log, but the store has not recorded them.
            let size = log_size(&log);
            assert_eq!((pending(&cases).await, size), (2, before + 2), "{name}");
            drop(cases);
            let cases = open(&url, &log).await;
            assert_eq!((pending(&cases).await, log_size(&log)), (0, size), "{name}: reopening appended again");
            assert_agree(&cases, &log).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_log_leaves_the_change_pending_until_it_works() {
        let tmp = tempfile::tempdir().unwrap();
        for (name, url) in crate::fixtures::backends(tmp.path()).await {
            let (log, mut cases, r) = setup(&url).await;
            cases.add_findings(&[finding()], &registry(), "scan", at()).await.unwrap();
            // Every write fails: the append never happens.
            *log.fail.lock().unwrap() = Some(None);
            let e = cases.apply("case-000001", &act(&r["lead"]), Action::Assign { reviewer: "ann".into() }).await.unwrap_err();
            assert!(matches!(e, CaseError::Unlogged { .. }), "{name}: {e}");
            // Publishing fails after the log committed the batch: the entry is in the log, not yet served.
            *log.fail.lock().unwrap() = Some(Some("checkpoint"));
            let e = cases.reconcile().await.unwrap_err();
            assert!(matches!(e, CaseError::Log(tlog::log::LogError::Unpublished { .. })), "{name}: {e}");
            assert_eq!(pending(&cases).await, 1);
            // Once the log works again, reopening publishes the batch and records it; later changes log as usual.
            *log.fail.lock().unwrap() = None;
            drop(cases);
            let mut cases = open(&url, &log).await;
            assert_eq!(pending(&cases).await, 0);
            cases.apply("case-000001", &act(&r["ann"]), Action::Assign { reviewer: "bob".into() }).await.unwrap();
            assert_eq!(log_size(&log), crate::fixtures::ROSTER.len() as u64 + 4, "{name}: the reviewers' keys, open, findings, two assigns");
            assert_agree(&cases, &log).await;
        }
    }
}
