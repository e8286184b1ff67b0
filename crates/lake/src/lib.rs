//! The embedded usage lake: Hive-style Parquet partitions by charge date, and a manifest of every delivery.
//!
//! Layout under the lake root (a local folder now; any `object_store` bucket later):
//! ```text
//! usage/charge_date=YYYY-MM-DD/<chunk>[-<part>].parquet     kept rows, in the lake schema of `focus` plus `_unit`
//! usage/charge_date=YYYY-MM-DD/<chunk>-r<n>.parquet         a file rewritten without retired units' rows
//! quarantine/delivery=<id>/part-0.parquet                   refused cells: file, row, line, column, raw value, reason,
//!                                                           and the row's billing account and month
//! _manifest/<version>.json                                  the commit log (engines skip `_` folders)
//! _lock                                                     the writer's lock (an OS lock on the file)
//! ```
//! An ingest run reads its deliveries in chunks (see [`Lake::ingest`]): the rows of every delivery of a chunk go
//! into one shared file per charge date, each row naming its delivery (`_delivery`) and its replacement unit
//! (`_unit`, null for append-model rows), and one commit records all of the chunk's deliveries.
//!
//! Write protocol: write the chunk's data files, then create the next commit file (create-if-absent: the
//! compare-and-swap) naming each file with its size and SHA-256, then delete files the commit replaced. A crash
//! before the commit leaves files no commit names; a crash after it leaves replaced files behind. Only a writer
//! ([`Lake::open`], which holds the lake's lock) deletes them. Readers ([`Snapshot::open`]) create and delete
//! nothing, read only the files the manifest names, and fail with the file's name when one is absent or of another
//! size; [`check`] verifies every checksum. An engine that lists the folder itself should read through the manifest
//! too: between a writer's data files and its commit, the folder holds files no commit names yet.
#![deny(missing_docs)]

mod check;
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

pub use check::{CheckReport, Damage, check};
pub use delivery::{Delivery, Discovery, Model, Provider, Refusal, discover};
pub use error::LakeError;
pub use ingest::QuarantineGroup;
pub use manifest::{Commit, DeliveryRecord, FileEntry, FileRecord, LiveFile, Outcome, State};
pub use write::{UNIT, quarantine_schema, usage_file_schema};

/// The default lake folder.
pub const DEFAULT_LAKE: &str = "./oversight-data";

/// Rows an ingest run reads before it commits what it has read (see [`Lake::set_commit_rows`]).
pub const COMMIT_ROWS: u64 = 8_000_000;

/// The folder of commit files.
pub(crate) const MANIFEST_DIR: &str = "_manifest";

/// The writer's lock file. Engines skip names starting with `_`.
const LOCK_FILE: &str = "_lock";

/// A usage lake opened for writing. It holds the lake's lock for as long as it lives, and it alone deletes files:
/// readers open a [`Snapshot`].
pub struct Lake {
    store: Arc<dyn ObjectStore>,
    root: std::path::PathBuf,
    state: State,
    commit_rows: u64,
    /// An OS lock (`flock`) on `_lock`: released when the handle is dropped or its process dies, so a crashed
    /// writer's lock is taken over by the next one without a stale-lock rule.
    _lock: std::fs::File,
}

/// A lake opened for reading: its committed state, with every live file checked present at its recorded size. It
/// creates nothing and deletes nothing, so it is safe beside a running ingest.
pub struct Snapshot {
    root: std::path::PathBuf,
    state: State,
}

/// Options for one ingest run.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// Force the delivery model of plain files (manifest deliveries keep theirs).
    pub model: Option<Model>,
    /// Rows per batch (default 65,536).
    pub batch_rows: Option<usize>,
    /// How large a row and a value may be.
    pub limits: focus::Limits,
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

impl Snapshot {
    /// Open the lake at `root` for reading. Fails when the folder is not a lake, or when a file the manifest names
    /// is absent or of another size than committed (a result read without it would silently lack its rows).
    pub async fn open(root: impl AsRef<std::path::Path>) -> Result<Snapshot, LakeError> {
        let root = root.as_ref().to_path_buf();
        if !root.join(MANIFEST_DIR).is_dir() {
            let reason = if root.exists() { "it has no _manifest folder" } else { "it does not exist" };
            return Err(LakeError::NotALake { path: root.display().to_string(), reason: reason.into() });
        }
        let store = object_store::local::LocalFileSystem::new_with_prefix(&root)?;
        let state = replay(&store).await?;
        check_sizes(&root, &state)?;
        Ok(Snapshot { root, state })
    }

    /// The lake's root folder.
    pub fn root(&self) -> &std::path::Path {
        &self.root
    }

    /// The replayed state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Absolute paths of the live files of a table (`usage` or `quarantine`), for a query engine to read.
    pub fn live_paths(&self, table: &str) -> Vec<std::path::PathBuf> {
        self.state.live(table).map(|f| self.root.join(&f.path)).collect()
    }
}

impl Lake {
    /// Open the lake in a local folder for writing, creating it when the folder is new or empty: take the lock,
    /// replay the manifest, check every live file is there, and remove uncommitted leftovers. Refuses a folder that
    /// holds anything else, and a lake another writer holds.
    pub async fn open(root: impl AsRef<std::path::Path>) -> Result<Lake, LakeError> {
        let root = root.as_ref().to_path_buf();
        prepare(&root)?;
        let store: Arc<dyn ObjectStore> = Arc::new(object_store::local::LocalFileSystem::new_with_prefix(&root)?);
        Lake::open_in(root, store).await
    }

    /// [`Lake::open`] over `store`, which must address the folder `root` (a wrapper of it, such as one that injects
    /// faults in tests). `root` must be a lake or have been prepared by [`Lake::open`].
    pub async fn open_in(root: std::path::PathBuf, store: Arc<dyn ObjectStore>) -> Result<Lake, LakeError> {
        let lock = take_lock(&root)?;
        let state = replay(&*store).await?;
        check_sizes(&root, &state)?;
        let lake = Lake { store, root, state, commit_rows: COMMIT_ROWS, _lock: lock };
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

    /// Delete data files no commit names: leftovers of an interrupted ingest, or files a commit replaced. Only the
    /// writer, under the lock, may: a reader doing it would delete the files of an ingest not yet committed.
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
        // Each file's size and checksum, from the bytes on disk: what every later open and `lake check` hold it to.
        let paths: Vec<(String, std::path::PathBuf)> = add.iter().map(|f| (f.path.clone(), self.root.join(&f.path))).collect();
        let sums = tokio::task::spawn_blocking(move || {
            paths.into_iter().map(|(name, p)| hash_file(&p).map_err(|e| LakeError::Io { path: name, source: e })).collect::<Result<Vec<_>, _>>()
        })
        .await
        .expect("hashing does not panic")?;
        let add: Vec<LiveFile> = add.iter().zip(sums).map(|(f, (sha256, bytes))| LiveFile { bytes, sha256, ..f.clone() }).collect();
        let c = Commit::new(self.state.version + 1, deliveries, &add, remove);
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

/// Replay the commit log in `store`'s `_manifest/`.
pub(crate) async fn replay(store: &dyn ObjectStore) -> Result<State, LakeError> {
    let mut commits: Vec<ObjPath> = store.list(Some(&ObjPath::from(MANIFEST_DIR))).map_ok(|m| m.location).try_collect().await?;
    commits.retain(|p| p.as_ref().ends_with(".json"));
    commits.sort();
    let mut state = State::default();
    for (i, p) in commits.iter().enumerate() {
        let bytes = store.get(p).await?.bytes().await?;
        let corrupt = |reason: String| LakeError::Corrupt { file: p.to_string(), reason };
        let c: Commit = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
        if c.version != i as u64 + 1 {
            return Err(corrupt(format!("expected version {}, found {}", i + 1, c.version)));
        }
        state.apply(&c).map_err(corrupt)?;
    }
    Ok(state)
}

/// Make `root` ready to be a lake: create it (and its `_manifest/`) when new or empty; refuse a folder that holds
/// anything and is not a lake, whose `usage/` and `quarantine/` the clean-up would otherwise delete.
fn prepare(root: &std::path::Path) -> Result<(), LakeError> {
    let io = |e: std::io::Error| LakeError::Io { path: root.display().to_string(), source: e };
    let not = |reason: &str| LakeError::NotALake { path: root.display().to_string(), reason: reason.into() };
    if root.exists() {
        if !root.is_dir() {
            return Err(not("it is not a folder"));
        }
        if root.join(MANIFEST_DIR).is_dir() {
            return Ok(());
        }
        if std::fs::read_dir(root).map_err(io)?.next().is_some() {
            return Err(not("it holds files and has no _manifest folder"));
        }
    }
    std::fs::create_dir_all(root.join(MANIFEST_DIR)).map_err(io)
}

/// Take the writer's lock, or say who holds it.
fn take_lock(root: &std::path::Path) -> Result<std::fs::File, LakeError> {
    use std::io::{Seek, Write};
    let path = root.join(LOCK_FILE);
    let io = |e: std::io::Error| LakeError::Io { path: path.display().to_string(), source: e };
    // Never truncate before holding the lock: the holder's line is the message for the next writer.
    let mut f = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io)?;
    match f.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(&path).unwrap_or_default().trim().to_string();
            return Err(LakeError::Locked { path: path.display().to_string(), holder });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
    }
    f.set_len(0).map_err(io)?;
    f.rewind().map_err(io)?;
    writeln!(f, "pid {} since {}", std::process::id(), chrono::Utc::now().to_rfc3339()).map_err(io)?;
    Ok(f)
}

/// Every live file present at its committed size.
fn check_sizes(root: &std::path::Path, state: &State) -> Result<(), LakeError> {
    for f in state.files.values() {
        let damaged = |reason: String| LakeError::Damaged { path: f.path.clone(), reason };
        match std::fs::metadata(root.join(&f.path)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(damaged("named by the manifest but absent".into())),
            Err(e) => return Err(LakeError::Io { path: root.join(&f.path).display().to_string(), source: e }),
            Ok(m) if f.bytes > 0 && m.len() != f.bytes => return Err(damaged(format!("{} bytes, committed as {}", m.len(), f.bytes))),
            Ok(_) => {}
        }
    }
    Ok(())
}

pub(crate) fn hash_file(path: &std::path::Path) -> std::io::Result<(String, u64)> {
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
