//! The embedded usage lake: Hive-style Parquet partitions by charge date, and a manifest of every delivery.
//!
//! Layout under the lake root (a local folder now; any `object_store` bucket later):
//! ```text
//! usage/charge_date=YYYY-MM-DD/<delivery>-u<unit>.parquet   kept rows, in the lake schema of `focus`
//! quarantine/delivery=<id>/part-0.parquet                    refused cells: file, row, line, column, raw value, reason
//! _manifest/<version>.json                                   the commit log (engines skip `_` folders)
//! ```
//! Write protocol: write the delivery's data files, then create the next commit file (create-if-absent: the
//! compare-and-swap), then delete files the commit replaced. A crash before the commit leaves files no commit names;
//! a crash after it leaves replaced files behind. [`Lake::open`] deletes both, so the folder always holds exactly
//! the last committed state, and an engine that lists it (Spark, Trino, DataFusion) reads what oversight reads.
#![deny(missing_docs)]

pub mod delivery;
mod error;
pub mod manifest;
mod write;

use std::collections::{BTreeSet, HashMap};
use std::io::Read;
use std::sync::Arc;

use arrow::array::{Array, StringArray, TimestampMicrosecondArray};
use chrono::Utc;
use futures::TryStreamExt;
use object_store::path::Path as ObjPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use sha2::{Digest, Sha256};

pub use delivery::{Delivery, Discovery, Model, Provider, discover};
pub use error::LakeError;
pub use manifest::{Commit, DeliveryRecord, FileRecord, LiveFile, Outcome, State};
pub use write::quarantine_schema;

/// Quarantine records returned per delivery for display (all of them are in the quarantine table).
const QUARANTINE_SAMPLE: usize = 50;

/// The default lake folder.
pub const DEFAULT_LAKE: &str = "./oversight-data";

/// A usage lake, opened and reconciled.
pub struct Lake {
    store: Arc<dyn ObjectStore>,
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
}

/// What happened to one delivery.
#[derive(Debug)]
pub enum DeliveryOutcome {
    /// Read and committed (or recorded as older than the applied one), with its first quarantine records.
    Recorded(DeliveryRecord, Vec<focus::Quarantined>),
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
        let mut lake = Lake { store, root, state: State::default() };
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
            let c: Commit = serde_json::from_slice(&bytes).map_err(|e| LakeError::Corrupt { file: p.to_string(), reason: e.to_string() })?;
            if c.version != i as u64 + 1 {
                return Err(LakeError::Corrupt { file: p.to_string(), reason: format!("expected version {}, found {}", i + 1, c.version) });
            }
            state.apply(&c);
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

    /// Ingest deliveries one by one, each in its own commit. Refusals are reported per delivery, not fatal.
    pub async fn ingest(&mut self, deliveries: &[Delivery], opts: &IngestOptions, progress: &(dyn Fn(Progress) + Sync)) -> Result<Vec<DeliveryOutcome>, LakeError> {
        let mut out = Vec::new();
        let mut rows_total = 0u64;
        let mut bytes_total = 0u64;
        for d in deliveries {
            let r = self.ingest_one(d, opts, &mut rows_total, progress).await;
            bytes_total += d.files.iter().filter_map(|f| std::fs::metadata(&f.path).ok()).map(|m| m.len()).sum::<u64>();
            progress(Progress::Bytes(bytes_total));
            match r {
                Ok(o) => out.push(o),
                Err(e @ (LakeError::Store(_) | LakeError::Conflict(_) | LakeError::Corrupt { .. })) => return Err(e),
                Err(e) => out.push(DeliveryOutcome::Refused(e)),
            }
        }
        Ok(out)
    }

    async fn ingest_one(&mut self, d: &Delivery, opts: &IngestOptions, rows_total: &mut u64, progress: &(dyn Fn(Progress) + Sync)) -> Result<DeliveryOutcome, LakeError> {
        // Identity from content: the same bytes (for the same unit) are the same delivery.
        let mut files = Vec::with_capacity(d.files.len());
        let mut id_hash = Sha256::new();
        id_hash.update(d.unit.as_deref().unwrap_or("").as_bytes());
        for f in &d.files {
            let (sha, bytes) = hash_file(&f.path).map_err(|e| LakeError::Io { path: f.name.clone(), source: e })?;
            id_hash.update(sha.as_bytes());
            files.push(FileRecord { name: f.name.clone(), sha256: sha, bytes, focus_version: String::new(), rows_read: 0, rows_kept: 0, rows_quarantined: 0 });
        }
        let id = hex::encode(&id_hash.finalize()[..8]);
        if self.state.ids.contains(&id) {
            return Ok(DeliveryOutcome::AlreadyIngested { id, name: d.files.first().map(|f| f.name.clone()).unwrap_or_default() });
        }
        let mut record = DeliveryRecord {
            id: id.clone(),
            source: d.source,
            provider: d.provider.unwrap_or(Provider::Other),
            model: d.model.unwrap_or(Model::Replace),
            units: d.unit.iter().cloned().collect(),
            delivered_at: d.delivered_at,
            ingested_at: Utc::now(),
            manifest: d.manifest.as_ref().map(|m| m.display().to_string()),
            files,
            outcome: Outcome::Applied,
            replaced: vec![],
        };
        if let Some(unit) = &d.unit {
            if self.newer_head(unit, d.delivered_at).is_some() {
                record.outcome = Outcome::OlderThanApplied;
                self.commit(vec![record.clone()], vec![], vec![]).await?;
                return Ok(DeliveryOutcome::Recorded(record, vec![]));
            }
        }

        let mut flight = InFlight {
            writer: write::PartitionWriter::new(self.store.clone(), &id),
            quarantine: write::QuarantineWriter::new(self.store.clone(), &id),
            units: d.unit.iter().cloned().collect(),
            unit_ix: HashMap::new(),
            providers: BTreeSet::new(),
            sample: Vec::new(),
        };
        let read = self.read_files(d, opts, &id, &mut record, &mut flight, rows_total, progress).await;
        let InFlight { writer, quarantine, units, providers, sample, .. } = flight;
        if let Err(e) = read {
            self.abandon(writer.paths().into_iter().chain(quarantine.path())).await;
            return Err(e);
        }
        let written = writer.finish().await?;
        let quarantined = quarantine.finish().await?;

        // Plain files take their rows' provider model unless the user says otherwise.
        if d.source == delivery::Source::Plain {
            let provider = if providers.len() == 1 { *providers.iter().next().expect("one") } else { d.provider.unwrap_or(Provider::Other) };
            record.provider = provider;
            record.model = opts.model.or(d.model).unwrap_or_else(|| {
                if !providers.is_empty() && providers.iter().all(|p| p.model() == Model::Append) { Model::Append } else { provider.model() }
            });
        }
        let append = record.model == Model::Append;
        record.units = if append { vec![] } else { units.clone() };
        if !append && d.unit.is_none() {
            if let Some(newer) = record.units.iter().find_map(|u| self.newer_head(u, d.delivered_at)) {
                let _ = newer;
                record.outcome = Outcome::OlderThanApplied;
                self.abandon(written.iter().map(|w| w.path.clone()).chain(quarantined.iter().map(|q| q.0.clone()))).await;
                self.commit(vec![record.clone()], vec![], vec![]).await?;
                return Ok(DeliveryOutcome::Recorded(record, vec![]));
            }
        }
        let mut add: Vec<LiveFile> = written
            .iter()
            .map(|w| LiveFile {
                path: w.path.clone(),
                delivery: id.clone(),
                units: if append { vec![] } else { w.units.iter().map(|u| units[*u as usize].clone()).collect() },
                rows: w.rows,
                table: "usage".into(),
            })
            .collect();
        if let Some((path, rows)) = quarantined {
            add.push(LiveFile { path, delivery: id.clone(), units: vec![], rows, table: "quarantine".into() });
        }
        let (remove, kept, replaced) = self.retire(&record.units, &id).await?;
        add.extend(kept);
        record.replaced = replaced;
        // At this point every data file is written; the commit below makes them live, atomically, and retires
        // the replaced ones in the same step.
        self.commit(vec![record.clone()], add, remove.clone()).await?;
        for p in remove {
            self.store.delete(&ObjPath::from(p)).await?;
        }
        Ok(DeliveryOutcome::Recorded(record, sample))
    }

    async fn read_files(
        &self,
        d: &Delivery,
        opts: &IngestOptions,
        id: &str,
        record: &mut DeliveryRecord,
        flight: &mut InFlight,
        rows_total: &mut u64,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<(), LakeError> {
        for (f, rec) in d.files.iter().zip(record.files.iter_mut()) {
            let ropts = focus::ReadOptions { name: f.name.clone(), delivery: id.to_string(), batch_rows: opts.batch_rows.unwrap_or(65_536) };
            // Parsing runs on a blocking thread while this task encodes and writes Parquet: two cores, two stages.
            // The small channel bounds the batches in flight.
            let (tx, mut rx) = tokio::sync::mpsc::channel::<focus::Batch>(2);
            let path = f.path.clone();
            let parser = tokio::task::spawn_blocking(move || -> Result<&'static str, focus::FocusError> {
                let mut r = focus::open(&path, &ropts)?;
                while let Some(b) = r.next_batch()? {
                    if tx.blocking_send(b).is_err() {
                        break;
                    }
                }
                Ok(r.version())
            });
            let mut failed = None;
            while let Some(b) = rx.recv().await {
                if let Err(e) = self.take_batch(d, b, rec, flight, rows_total, progress).await {
                    failed = Some(e);
                    break;
                }
            }
            drop(rx);
            let version = parser.await.expect("the parser thread does not panic")?;
            if let Some(e) = failed {
                return Err(e);
            }
            rec.focus_version = version.to_string();
        }
        Ok(())
    }

    async fn take_batch(
        &self,
        d: &Delivery,
        b: focus::Batch,
        rec: &mut FileRecord,
        flight: &mut InFlight,
        rows_total: &mut u64,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<(), LakeError> {
        let n = b.data.num_rows();
        rec.rows_read += n as u64 + b.rows_quarantined;
        rec.rows_kept += n as u64;
        rec.rows_quarantined += b.rows_quarantined;
        *rows_total += n as u64 + b.rows_quarantined;
        progress(Progress::Rows(*rows_total));
        flight.quarantine.write(&b.quarantined).await?;
        let room = QUARANTINE_SAMPLE.saturating_sub(flight.sample.len());
        flight.sample.extend(b.quarantined.iter().take(room).cloned());
        if n == 0 {
            return Ok(());
        }
        let row_units = if d.unit.is_some() { vec![0u32; n] } else { plain_units(&b.data, &mut flight.unit_ix, &mut flight.units, &mut flight.providers) };
        flight.writer.write(&b.data, &row_units).await
    }

    /// Retire every live row of `units`: files wholly inside them are removed; a file that also holds other units
    /// (a plain file spanning several billing accounts) is rewritten without the retired units' rows.
    /// Returns the paths to remove, the rewritten files to add, and the deliveries replaced.
    async fn retire(&self, units: &[String], by: &str) -> Result<(Vec<String>, Vec<LiveFile>, Vec<String>), LakeError> {
        let set: BTreeSet<&String> = units.iter().collect();
        let (mut remove, mut add, mut replaced) = (Vec::new(), Vec::new(), BTreeSet::new());
        for f in self.state.live("usage") {
            if !f.units.iter().any(|u| set.contains(u)) {
                continue;
            }
            replaced.insert(f.delivery.clone());
            remove.push(f.path.clone());
            if f.units.iter().all(|u| set.contains(u)) {
                continue;
            }
            let path = f.path.replace(".parquet", &format!("-r{by}.parquet"));
            let rows = write::rewrite_without(self.store.clone(), &f.path, &path, &|b| {
                let (mut ix, mut names, mut provs) = (HashMap::new(), Vec::new(), BTreeSet::new());
                let row_units = plain_units(b, &mut ix, &mut names, &mut provs);
                row_units.iter().map(|u| !set.contains(&names[*u as usize])).collect()
            })
            .await?;
            if rows > 0 {
                let left = f.units.iter().filter(|u| !set.contains(u)).cloned().collect();
                add.push(LiveFile { path, delivery: f.delivery.clone(), units: left, rows, table: "usage".into() });
            }
        }
        Ok((remove, add, replaced.into_iter().collect()))
    }

    /// The applied delivery of `unit` when it is newer than `at`.
    fn newer_head(&self, unit: &str, at: chrono::DateTime<Utc>) -> Option<String> {
        self.state.heads.get(unit).filter(|(t, _)| *t > at).map(|(_, id)| id.clone())
    }

    async fn abandon(&self, paths: impl IntoIterator<Item = String>) {
        for p in paths {
            // Best effort: a file left behind is removed by the next open, since no commit names it.
            let _ = self.store.delete(&ObjPath::from(p)).await;
        }
    }

    async fn commit(&mut self, deliveries: Vec<DeliveryRecord>, add: Vec<LiveFile>, remove: Vec<String>) -> Result<(), LakeError> {
        let c = Commit { version: self.state.version + 1, committed_at: Utc::now(), deliveries, add, remove };
        let body = serde_json::to_vec_pretty(&c).expect("commit serialises");
        let put = PutOptions { mode: PutMode::Create, ..Default::default() };
        match self.store.put_opts(&ObjPath::from(manifest::commit_path(c.version)), PutPayload::from(body), put).await {
            Ok(_) => {}
            Err(object_store::Error::AlreadyExists { .. }) => return Err(LakeError::Conflict(c.version)),
            Err(e) => return Err(e.into()),
        }
        self.state.apply(&c);
        Ok(())
    }
}

/// What one delivery's ingest carries while its files are read: the open writers, the units and providers its rows
/// named, and the first quarantine records for display.
struct InFlight {
    writer: write::PartitionWriter,
    quarantine: write::QuarantineWriter,
    units: Vec<String>,
    unit_ix: UnitIndex,
    providers: BTreeSet<Provider>,
    sample: Vec<focus::Quarantined>,
}

/// Units seen so far: billing account → (provider, billing-period start, unit index).
type UnitIndex = HashMap<String, Vec<(String, i64, u32)>>;

/// For a plain file, each row's unit is (provider, billing account, billing month), as in DESIGN.md §3.
fn plain_units(b: &arrow::record_batch::RecordBatch, ix: &mut UnitIndex, units: &mut Vec<String>, providers: &mut BTreeSet<Provider>) -> Vec<u32> {
    let text = |n: &str| b.column_by_name(n).and_then(|c| c.as_any().downcast_ref::<StringArray>()).expect("lake text column");
    let (prov, acct) = (text("ProviderName"), text("BillingAccountId"));
    let period = b.column_by_name("BillingPeriodStart").and_then(|c| c.as_any().downcast_ref::<TimestampMicrosecondArray>()).expect("lake timestamp column");
    let mut out = Vec::with_capacity(b.num_rows());
    let mut last: Option<(usize, u32)> = None;
    for i in 0..b.num_rows() {
        let p = if prov.is_null(i) { "" } else { prov.value(i) };
        let a = acct.value(i);
        let month = period.value(i);
        // Consecutive rows usually share a unit; skip the hash lookup then.
        if let Some((j, u)) = last {
            if prov.value(j) == p && acct.value(j) == a && period.value(j) == month {
                out.push(u);
                continue;
            }
        }
        // Look up by borrowed strings; allocate only for a unit not seen before.
        let known = ix.get(a).and_then(|v| v.iter().find(|(vp, vm, _)| vp == p && *vm == month)).map(|(_, _, u)| *u);
        let u = match known {
            Some(u) => u,
            None => {
                let provider = Provider::from_focus(p);
                providers.insert(provider);
                let m = chrono::DateTime::from_timestamp_micros(month).map(|t| t.format("%Y-%m").to_string()).unwrap_or_default();
                units.push(format!("{}:{a}:{m}", serde_json::to_value(provider).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()));
                let u = (units.len() - 1) as u32;
                ix.entry(a.to_string()).or_default().push((p.to_string(), month, u));
                u
            }
        };
        last = Some((i, u));
        out.push(u);
    }
    out
}

fn hash_file(path: &std::path::Path) -> std::io::Result<(String, u64)> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
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
