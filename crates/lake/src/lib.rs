//! The embedded usage lake: Hive-style Parquet partitions by charge date, and a manifest of every delivery.
//!
//! Layout under the lake root (a local folder now; any `object_store` bucket later):
//! ```text
//! usage/charge_date=YYYY-MM-DD/<chunk>[-<part>].parquet     kept rows, in the lake schema of `focus` plus `_unit`
//! usage/charge_date=YYYY-MM-DD/<chunk>-r<n>.parquet         a file rewritten without retired units' rows
//! quarantine/delivery=<id>/part-0.parquet                   refused cells: file, row, line, column, raw value, reason,
//!                                                           and the row's billing account and month
//! _manifest/<version>.json                                  the commit log (engines skip `_` folders)
//! ```
//! An ingest run reads its deliveries in chunks (see [`Lake::ingest`]): the rows of every delivery of a chunk go
//! into one shared file per charge date, each row naming its delivery (`_delivery`) and its replacement unit
//! (`_unit`, null for append-model rows), and one commit records all of the chunk's deliveries.
//!
//! Write protocol: write the chunk's data files, then create the next commit file (create-if-absent: the
//! compare-and-swap), then delete files the commit replaced. A crash before the commit leaves files no commit names;
//! a crash after it leaves replaced files behind. [`Lake::open`] deletes both, so the folder always holds exactly
//! the last committed state, and an engine that lists it (Spark, Trino, DataFusion) reads what oversight reads.
#![deny(missing_docs)]

pub mod delivery;
mod error;
mod ingest;
pub mod manifest;
mod write;

use std::io::Read;
use std::sync::Arc;

use futures::TryStreamExt;
use object_store::path::Path as ObjPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use sha2::{Digest, Sha256};

pub use delivery::{Delivery, Discovery, Model, Provider, Refusal, discover};
pub use error::LakeError;
pub use ingest::QuarantineGroup;
pub use manifest::{Commit, DeliveryRecord, FileEntry, FileRecord, LiveFile, Outcome, State};
pub use write::{UNIT, quarantine_schema, usage_file_schema};

/// The default lake folder.
pub const DEFAULT_LAKE: &str = "./oversight-data";

/// Rows an ingest run reads before it commits what it has read (see [`Lake::set_commit_rows`]).
pub const COMMIT_ROWS: u64 = 8_000_000;

/// A usage lake, opened and reconciled.
pub struct Lake {
    store: Arc<dyn ObjectStore>,
    root: std::path::PathBuf,
    state: State,
    commit_rows: u64,
}

/// Options for one ingest run.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// Force the delivery model of plain files (manifest deliveries keep theirs).
    pub model: Option<Model>,
    /// Rows per batch (default 65,536).
    pub batch_rows: Option<usize>,
}

/// What happened to one delivery.
#[derive(Debug)]
pub enum DeliveryOutcome {
    /// Committed: applied, or recorded without changing the data (older than the applied delivery, or superseded
    /// by a newer delivery of its unit in the same run), with its quarantined cells grouped by column and reason.
    Recorded(DeliveryRecord, Vec<QuarantineGroup>),
    /// The same bytes were already ingested; nothing changed.
    AlreadyIngested {
        /// The delivery id.
        id: String,
        /// Its first file, for messages.
        name: String,
    },
    /// Refused whole; nothing changed.
    Refused(LakeError),
}

/// Progress events, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub enum Progress {
    /// Rows read so far in this run.
    Rows(u64),
    /// Input bytes fully processed so far in this run.
    Bytes(u64),
}

impl Lake {
    /// Open (creating if needed) the lake in a local folder, replay its manifest and remove uncommitted leftovers.
    pub async fn open(root: impl AsRef<std::path::Path>) -> Result<Lake, LakeError> {
        let root = root.as_ref().to_path_buf();
        std::fs::create_dir_all(&root).map_err(|e| LakeError::Io { path: root.display().to_string(), source: e })?;
        let store: Arc<dyn ObjectStore> = Arc::new(object_store::local::LocalFileSystem::new_with_prefix(&root)?);
        let mut lake = Lake { store, root, state: State::default(), commit_rows: COMMIT_ROWS };
        lake.reload().await?;
        lake.clean().await?;
        Ok(lake)
    }

    /// The lake's root folder.
    pub fn root(&self) -> &std::path::Path {
        &self.root
    }

    /// The replayed state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Commit an ingest run's work every `rows` rows read (default [`COMMIT_ROWS`]), so that a crash loses at most
    /// that much and a huge ingest makes progress; a delivery is never split across commits.
    pub fn set_commit_rows(&mut self, rows: u64) {
        self.commit_rows = rows.max(1);
    }

    /// Absolute paths of the live files of a table (`usage` or `quarantine`), for a query engine to read.
    pub fn live_paths(&self, table: &str) -> Vec<std::path::PathBuf> {
        self.state.live(table).map(|f| self.root.join(&f.path)).collect()
    }

    async fn reload(&mut self) -> Result<(), LakeError> {
        let mut commits: Vec<ObjPath> =
            self.store.list(Some(&ObjPath::from("_manifest"))).map_ok(|m| m.location).try_collect().await?;
        commits.retain(|p| p.as_ref().ends_with(".json"));
        commits.sort();
        let mut state = State::default();
        for (i, p) in commits.iter().enumerate() {
            let bytes = self.store.get(p).await?.bytes().await?;
            let corrupt = |reason: String| LakeError::Corrupt { file: p.to_string(), reason };
            let c: Commit = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
            if c.version != i as u64 + 1 {
                return Err(corrupt(format!("expected version {}, found {}", i + 1, c.version)));
            }
            state.apply(&c).map_err(corrupt)?;
        }
        self.state = state;
        Ok(())
    }

    /// Delete data files no commit names: leftovers of an interrupted ingest, or files a commit replaced.
    async fn clean(&self) -> Result<(), LakeError> {
        for prefix in ["usage", "quarantine"] {
            let found: Vec<ObjPath> = self.store.list(Some(&ObjPath::from(prefix))).map_ok(|m| m.location).try_collect().await?;
            for p in found {
                if !self.state.files.contains_key(p.as_ref()) {
                    self.store.delete(&p).await?;
                }
            }
        }
        Ok(())
    }

    /// Put deliveries that discovery refused on record (see [`Outcome::Refused`]), so that the coverage can count
    /// them per provider and month. Nothing else changes; no commit is made when there are none.
    pub async fn record_refused(&mut self, refused: &[Refusal]) -> Result<(), LakeError> {
        let records: Vec<DeliveryRecord> = refused.iter().map(|r| ingest::refused_record(r.delivery.as_deref(), None, &r.error)).collect();
        if records.is_empty() {
            return Ok(());
        }
        self.commit(records, &[], vec![]).await
    }

    /// The applied delivery of `unit` when it is newer than `at`.
    fn newer_head(&self, unit: &str, at: chrono::DateTime<chrono::Utc>) -> Option<String> {
        self.state.heads.get(unit).filter(|(t, _)| *t > at).map(|(_, id)| id.clone())
    }

    async fn abandon(&self, paths: impl IntoIterator<Item = String>) {
        for p in paths {
            // Best effort: a file left behind is removed by the next open, since no commit names it.
            let _ = self.store.delete(&ObjPath::from(p)).await;
        }
    }

    async fn commit(&mut self, deliveries: Vec<DeliveryRecord>, add: &[LiveFile], remove: Vec<String>) -> Result<(), LakeError> {
        let c = Commit::new(self.state.version + 1, deliveries, add, remove);
        // Compact JSON: a commit of a large run records thousands of deliveries.
        let body = serde_json::to_vec(&c).expect("commit serialises");
        let put = PutOptions { mode: PutMode::Create, ..Default::default() };
        match self.store.put_opts(&ObjPath::from(manifest::commit_path(c.version)), PutPayload::from(body), put).await {
            Ok(_) => {}
            Err(object_store::Error::AlreadyExists { .. }) => return Err(LakeError::Conflict(c.version)),
            Err(e) => return Err(e.into()),
        }
        self.state.apply(&c).expect("a commit made here replays");
        Ok(())
    }
}

fn hash_file(path: &std::path::Path) -> std::io::Result<(String, u64)> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            break;
        }
        n += k as u64;
        h.update(&buf[..k]);
    }
    Ok((hex::encode(h.finalize()), n))
}
