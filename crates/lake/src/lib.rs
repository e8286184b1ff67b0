//! The embedded usage lake: Hive-style Parquet partitions by charge date, and a manifest of every delivery.
//!
//! The root is a [`Location`]: a local folder, or a prefix in Azure Blob / ADLS Gen2, S3 or GCS (`az://container/prefix`,
//! `s3://bucket/prefix`, `gs://bucket/prefix`). Layout under it:
//! ```text
//! usage/charge_date=YYYY-MM-DD/<chunk>[-<part>].parquet     kept rows, in the lake schema of `focus` plus `_unit`
//! usage/charge_date=YYYY-MM-DD/<chunk>-r<n>.parquet         a file rewritten without retired units' rows
//! quarantine/delivery=<id>/part-0.parquet                   refused cells: file, row, line, column, raw value, reason,
//!                                                           and the row's billing account and month
//! _manifest/<version>.json                                  the commit log (engines skip `_` folders)
//! _manifest/_lake                                           in a store only: marks a lake that has no commit yet
//! _lock                                                     the writer's lock: an OS lock on the file, or in a store a
//!                                                           lease object (owner, expiry), see `lock.rs`
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
mod derived;
mod error;
mod ingest;
mod location;
mod lock;
pub mod manifest;
mod write;

use std::io::Read;
use std::sync::Arc;

use futures::TryStreamExt;
use object_store::path::Path as ObjPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

use crate::lock::Lock;
use sha2::{Digest, Sha256};

pub use check::{CheckReport, Damage, check};
pub use delivery::{DataFile, Delivery, Discovery, Model, Provider, Refusal, StoredFile, discover, discover_in};
pub use derived::SERIES;
pub use error::LakeError;
pub use ingest::QuarantineGroup;
pub use location::{Location, ToLocation};
pub use lock::LEASE;
pub use manifest::{Commit, DeliveryRecord, Derived, FileEntry, FileRecord, LiveFile, Outcome, State};
pub use write::{UNIT, quarantine_schema, usage_file_schema};

/// The default lake folder.
pub const DEFAULT_LAKE: &str = "./oversight-data";

/// Rows an ingest run reads before it commits what it has read (see [`Lake::set_commit_rows`]).
pub const COMMIT_ROWS: u64 = 8_000_000;

/// The folders of the lake's tables: what a writer cleans of uncommitted files and an open checks.
pub(crate) const TABLES: [&str; 3] = ["usage", "quarantine", derived::SERIES];

/// The folder of commit files.
pub(crate) const MANIFEST_DIR: &str = "_manifest";

/// The object that marks a lake in a store, where folders do not exist: an empty lake is `_manifest/` with only it.
const MARKER: &str = "_manifest/_lake";

/// A usage lake opened for writing. It holds the lake's lock for as long as it lives, and it alone deletes files:
/// readers open a [`Snapshot`].
pub struct Lake {
    store: Arc<dyn ObjectStore>,
    root: Location,
    state: State,
    commit_rows: u64,
    lock: Lock,
}

/// A lake opened for reading: its committed state, with every live file checked present at its recorded size. It
/// creates nothing and deletes nothing, so it is safe beside a running ingest.
pub struct Snapshot {
    root: Location,
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
    /// Open the lake at `root` (a folder, or a store URL such as `az://container/prefix`) for reading. Fails when it
    /// is not a lake, or when a file the manifest names is absent or of another size than committed (a result read
    /// without it would silently lack its rows).
    pub async fn open(root: impl ToLocation) -> Result<Snapshot, LakeError> {
        let root = root.to_location()?;
        let store = open_existing(&root).await?;
        let state = replay(&*store).await?;
        check_sizes(&root, &*store, &state).await?;
        Ok(Snapshot { root, state })
    }

    /// Where the lake is.
    pub fn root(&self) -> &Location {
        &self.root
    }

    /// The replayed state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Paths of the live files of a table (`usage` or `quarantine`), for a query engine to read. For a lake in a
    /// store these are URLs, which no local reader opens: use [`Snapshot::live_urls`] with the store registered.
    pub fn live_paths(&self, table: &str) -> Vec<std::path::PathBuf> {
        live_paths(&self.root, &self.state, table)
    }

    /// Where the live files of a table are: paths in a local lake, URLs (`az://container/prefix/usage/…`) in a store.
    pub fn live_urls(&self, table: &str) -> Vec<String> {
        self.state.live(table).map(|f| self.root.url_of(&f.path)).collect()
    }
}

impl Lake {
    /// Open the lake at `root` (a folder, or a store URL such as `az://container/prefix`) for writing, creating it
    /// when the folder or prefix is new or empty: take the lock, replay the manifest, check every live file is there,
    /// and remove uncommitted leftovers. Refuses a folder or prefix that holds anything else, and a lake another
    /// writer holds.
    pub async fn open(root: impl ToLocation) -> Result<Lake, LakeError> {
        let root = root.to_location()?;
        if let Some(dir) = root.as_local() {
            prepare(dir)?;
        }
        let store = root.store()?;
        if root.as_local().is_none() {
            prepare_store(&root, &*store).await?;
        }
        Lake::open_in(root, store).await
    }

    /// [`Lake::open`] over `store`, which must address `root` (a wrapper of it, such as one that injects faults in
    /// tests). `root` must be a lake or have been prepared by [`Lake::open`].
    pub async fn open_in(root: impl ToLocation, store: Arc<dyn ObjectStore>) -> Result<Lake, LakeError> {
        let root = root.to_location()?;
        let lock = Lock::take(&root, &store).await?;
        let state = replay(&*store).await?;
        check_sizes(&root, &*store, &state).await?;
        let lake = Lake { store, root, state, commit_rows: COMMIT_ROWS, lock };
        lake.clean().await?;
        Ok(lake)
    }

    /// Release the lock now. Dropping the lake releases a local lock too, but a lease on a store is then left to
    /// expire (see [`LEASE`]), keeping other writers out until it does.
    pub async fn close(self) -> Result<(), LakeError> {
        self.lock.release().await
    }

    /// Where the lake is.
    pub fn root(&self) -> &Location {
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

    /// Paths of the live files of a table (`usage` or `quarantine`), for a query engine to read. For a lake in a
    /// store these are URLs, which no local reader opens: use [`Lake::live_urls`] with the store registered.
    pub fn live_paths(&self, table: &str) -> Vec<std::path::PathBuf> {
        live_paths(&self.root, &self.state, table)
    }

    /// Where the live files of a table are: paths in a local lake, URLs (`az://container/prefix/usage/…`) in a store.
    pub fn live_urls(&self, table: &str) -> Vec<String> {
        self.state.live(table).map(|f| self.root.url_of(&f.path)).collect()
    }

    /// Delete data files no commit names: leftovers of an interrupted ingest, or files a commit replaced. Only the
    /// writer, under the lock, may: a reader doing it would delete the files of an ingest not yet committed.
    async fn clean(&self) -> Result<(), LakeError> {
        for prefix in TABLES {
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
        self.commit_as(deliveries, add, remove, None).await
    }

    /// [`Lake::commit`], marked as the commit of a derived table when `derived` is given.
    async fn commit_as(&mut self, deliveries: Vec<DeliveryRecord>, add: &[LiveFile], remove: Vec<String>, derived: Option<Derived>) -> Result<(), LakeError> {
        // Each file's size and checksum, from the bytes stored: what every later open and `lake check` hold it to;
        // and for a usage file, the days its charges cover, which derived tables rebuild by.
        let mut sums = Vec::with_capacity(add.len());
        for f in add {
            let days = if f.table == "usage" { derived::days_of(&self.store, &f.path).await? } else { f.days };
            sums.push((hash_live(&self.root, &self.store, &f.path).await?, days));
        }
        // Under the lock: a writer whose lease was lost must not commit (another may have removed its files).
        self.lock.confirm().await?;
        let add: Vec<LiveFile> = add.iter().zip(sums).map(|(f, ((sha256, bytes), days))| LiveFile { bytes, sha256, days, ..f.clone() }).collect();
        let mut c = Commit::new(self.state.version + 1, deliveries, &add, remove);
        c.derived = derived;
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
    replay_to(store, u64::MAX).await
}

/// Replay the commit log in `store`'s `_manifest/` up to and including version `last`.
pub(crate) async fn replay_to(store: &dyn ObjectStore, last: u64) -> Result<State, LakeError> {
    let mut commits: Vec<ObjPath> = store.list(Some(&ObjPath::from(MANIFEST_DIR))).map_ok(|m| m.location).try_collect().await?;
    commits.retain(|p| p.as_ref().ends_with(".json"));
    commits.sort();
    commits.truncate(usize::try_from(last).unwrap_or(usize::MAX));
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

/// [`prepare`] in a store: an empty prefix gets the lake's marker; one holding objects but no `_manifest/` is refused.
async fn prepare_store(root: &Location, store: &dyn ObjectStore) -> Result<(), LakeError> {
    if first(store, MANIFEST_DIR).await?.is_some() {
        return Ok(());
    }
    if let Some(other) = first(store, "").await? {
        return Err(LakeError::NotALake { path: root.to_string(), reason: format!("it holds objects ({other}) and no _manifest/") });
    }
    store.put(&ObjPath::from(MARKER), PutPayload::new()).await?;
    Ok(())
}

/// The store of an existing lake, for a reader: nothing is created.
async fn open_existing(root: &Location) -> Result<Arc<dyn ObjectStore>, LakeError> {
    let not = |reason: &str| LakeError::NotALake { path: root.to_string(), reason: reason.into() };
    if let Some(dir) = root.as_local() {
        if !dir.join(MANIFEST_DIR).is_dir() {
            return Err(not(if dir.exists() { "it has no _manifest folder" } else { "it does not exist" }));
        }
        return root.store();
    }
    let store = root.store()?;
    if first(&*store, MANIFEST_DIR).await?.is_none() {
        return Err(not("it has no _manifest/ objects"));
    }
    Ok(store)
}

/// The first object under `prefix` (`""`: anywhere), if any.
async fn first(store: &dyn ObjectStore, prefix: &str) -> Result<Option<ObjPath>, LakeError> {
    let prefix = (!prefix.is_empty()).then(|| ObjPath::from(prefix));
    Ok(store.list(prefix.as_ref()).map_ok(|m| m.location).try_next().await?)
}

fn live_paths(root: &Location, state: &State, table: &str) -> Vec<std::path::PathBuf> {
    state.live(table).map(|f| std::path::PathBuf::from(root.url_of(&f.path))).collect()
}

/// Every live file present at its committed size: one `stat` each in a folder, one listing of the tables in a store.
async fn check_sizes(root: &Location, store: &dyn ObjectStore, state: &State) -> Result<(), LakeError> {
    let listed: std::collections::HashMap<String, u64> = match root.as_local() {
        Some(_) => Default::default(),
        None => {
            let mut sizes = std::collections::HashMap::new();
            for table in TABLES {
                let found: Vec<object_store::ObjectMeta> = store.list(Some(&ObjPath::from(table))).try_collect().await?;
                sizes.extend(found.into_iter().map(|m| (m.location.to_string(), m.size)));
            }
            sizes
        }
    };
    for f in state.files.values() {
        let damaged = |reason: String| LakeError::Damaged { path: f.path.clone(), reason };
        let size = match root.as_local() {
            Some(dir) => match std::fs::metadata(dir.join(&f.path)) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(LakeError::Io { path: dir.join(&f.path).display().to_string(), source: e }),
                Ok(m) => Some(m.len()),
            },
            None => listed.get(&f.path).copied(),
        };
        match size {
            None => return Err(damaged("named by the manifest but absent".into())),
            Some(n) if f.bytes > 0 && n != f.bytes => return Err(damaged(format!("{n} bytes, committed as {}", f.bytes))),
            Some(_) => {}
        }
    }
    Ok(())
}

/// SHA-256 and size of the lake file `rel`: read from disk in a local lake, streamed from the store otherwise.
pub(crate) async fn hash_live(root: &Location, store: &Arc<dyn ObjectStore>, rel: &str) -> Result<(String, u64), LakeError> {
    match root.as_local() {
        Some(dir) => {
            let path = dir.join(rel);
            let name = rel.to_string();
            tokio::task::spawn_blocking(move || hash_file(&path).map_err(|e| LakeError::Io { path: name, source: e })).await.expect("hashing does not panic")
        }
        None => hash_object(&**store, &ObjPath::from(rel)).await,
    }
}

/// SHA-256 and size of an object, streamed.
pub(crate) async fn hash_object(store: &dyn ObjectStore, path: &ObjPath) -> Result<(String, u64), LakeError> {
    let mut stream = store.get(path).await?.into_stream();
    let mut h = Sha256::new();
    let mut n = 0u64;
    while let Some(chunk) = stream.try_next().await? {
        n += chunk.len() as u64;
        h.update(&chunk);
    }
    Ok((hex::encode(h.finalize()), n))
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
