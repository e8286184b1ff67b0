//! One ingest run, batched.
//!
//! 1. Identify every delivery by its bytes (the same bytes, for the same unit, are the same delivery) and drop the
//!    ones already recorded.
//! 2. Group the replace-model deliveries of a known unit (manifest deliveries). Of each unit only the newest by the
//!    provider's time is read, and only if it is newer than the unit's applied delivery; the others are recorded
//!    without being read, as superseded (or as older than the applied delivery), in the commit that applies it.
//! 3. Read the deliveries month by month (the manifest's billing month; a plain file's first charge date), so that
//!    the shared writers keep about one month of charge dates open, into a chunk: one [`PartitionWriter`] with one
//!    file per charge date, shared by all of the chunk's deliveries.
//! 4. When the chunk holds the commit budget's rows (a delivery is never split), or at the end, settle it: decide
//!    each delivery's outcome in input order, retire the committed rows of the units it replaces, and make it all
//!    live in one commit.
//!
//! A delivery that fails mid-read (a corrupt gzip after some rows, a header that cannot be read) has rows in shared
//! files already. Those files are rewritten without its `_delivery` when the chunk is settled, before the commit.
//! Rewriting was chosen over buffering each delivery until it is read whole: buffering would hold a large plain
//! file in memory, while failures are rare and a rewrite touches only the files the failed delivery wrote to. The
//! same rewrite drops the rows of a plain replace-model file that a later file of the same run replaces or that
//! turns out older than the applied delivery, and corrects `_unit` in the rare plain file whose model changes
//! after its first rows were written (a file whose first rows are OCI's and a later row AWS's).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use chrono::Utc;
use object_store::ObjectStoreExt;
use sha2::{Digest, Sha256};

use crate::delivery::{Delivery, Model, Provider, Source, StoredFile};
use crate::manifest::{DeliveryRecord, FileRecord, LiveFile, Outcome};
use crate::write::{self, NO_UNIT, PartitionWriter, QuarantineWriter};
use crate::{DeliveryOutcome, IngestOptions, Lake, LakeError, Progress, hash_file, hash_object};

/// Quarantine records returned per delivery for display (all of them are in the quarantine table).
/// Deliveries a chunk reads before it is committed, whatever their rows: each costs the chunk its record and an
/// entry in every file it wrote to, so a tree of 100,000 small files would otherwise grow one chunk's memory with
/// the number of files.
const COMMIT_DELIVERIES: usize = 5_000;

/// The most (column, reason) groups a delivery reports; cells past them count in one last group. Bounds memory
/// whatever a file holds (a reason that names its value would otherwise make a group per row).
const QUARANTINE_GROUPS: usize = 200;

/// Quarantined cells of one delivery that share a column and a reason: how many, and the first of them. The
/// quarantine table keeps every one.
#[derive(Debug, Clone)]
pub struct QuarantineGroup {
    /// The column as written in the file, or `(row)` for a row that is wrong as a whole.
    pub column: String,
    /// Why the cells were refused.
    pub reason: String,
    /// Cells refused (a row with two bad cells counts in two groups).
    pub cells: u64,
    /// The first cell refused, with its file, row and line.
    pub example: focus::Quarantined,
}

fn group_quarantined(groups: &mut Vec<QuarantineGroup>, cells: &[focus::Quarantined]) {
    for q in cells {
        let full = groups.len() >= QUARANTINE_GROUPS;
        let at = groups.iter().position(|g| g.column == q.column && g.reason == q.reason).or_else(|| full.then(|| groups.len() - 1));
        match at {
            Some(i) => groups[i].cells += 1,
            None => groups.push(QuarantineGroup { column: q.column.clone(), reason: q.reason.clone(), cells: 1, example: q.clone() }),
        }
    }
}

/// A delivery's content id and file records, known before it is read.
pub(crate) struct Ident {
    id: String,
    files: Vec<FileRecord>,
}

/// Something to read next: the best remaining delivery of a unit group, or a delivery on its own.
#[derive(Debug, Clone, Copy)]
enum Work {
    Unit(usize),
    Single(usize),
}

/// One delivery read into a chunk.
struct Member {
    input: usize,
    record: DeliveryRecord,
    /// The unit group it is the chosen delivery of.
    group: Option<usize>,
    /// The chunk's indexes of the units its rows named, and their providers.
    units: BTreeSet<u32>,
    providers: BTreeSet<Provider>,
    /// Whether rows were written with no unit (append) and with a unit (replace): a plain file's model is known
    /// only when it is read whole, so its first batches are written under the model its rows so far imply.
    wrote_append: bool,
    wrote_units: bool,
    quarantine: Option<(String, u64)>,
    quarantined: Vec<QuarantineGroup>,
    failed: Option<LakeError>,
}

/// Deliveries being read into one shared set of files, to be made live by one commit.
struct Chunk {
    name: String,
    writer: PartitionWriter,
    /// Units met so far, with their providers; rows name them by index.
    units: Vec<Arc<str>>,
    unit_providers: Vec<Provider>,
    known: HashMap<String, u32>,
    plain: UnitIndex,
    members: Vec<Member>,
    /// The ids of `members`, so that asking whether the chunk holds a delivery does not scan them (a tree of
    /// 100,000 small files puts tens of thousands of deliveries in one chunk).
    member_ids: HashSet<String>,
    /// Deliveries recorded without being read (input index, record).
    records: Vec<(usize, DeliveryRecord)>,
    rows: u64,
}

impl Chunk {
    fn is_empty(&self) -> bool {
        self.members.is_empty() && self.records.is_empty()
    }

    fn holds(&self, id: &str) -> bool {
        self.member_ids.contains(id)
    }

    fn unit(&mut self, unit: &str, provider: Provider) -> u32 {
        if let Some(u) = self.known.get(unit) {
            return *u;
        }
        self.units.push(Arc::from(unit));
        self.unit_providers.push(provider);
        let u = (self.units.len() - 1) as u32;
        self.known.insert(unit.to_string(), u);
        u
    }
}

/// The state of one ingest call.
struct Run<'a> {
    deliveries: &'a [Delivery],
    opts: &'a IngestOptions,
    progress: &'a (dyn Fn(Progress) + Sync),
    idents: Vec<Option<Ident>>,
    outcomes: Vec<Option<DeliveryOutcome>>,
    counted: Vec<bool>,
    /// Per unit group, the deliveries not read yet, newest first.
    groups: Vec<Vec<usize>>,
    /// Ids recorded: in the lake, or in this run's commits (made or being made).
    seen: HashSet<String>,
    /// Deliveries refused before they were read, to be put on record by the next commit.
    refusals: Vec<DeliveryRecord>,
    rows_total: u64,
    bytes_total: u64,
}

impl Run<'_> {
    fn id(&self, i: usize) -> &str {
        &self.idents[i].as_ref().expect("identified").id
    }

    /// Set a delivery's outcome, and count its bytes as processed if its reading did not.
    fn settle(&mut self, i: usize, outcome: DeliveryOutcome) {
        self.outcomes[i] = Some(outcome);
        self.count_bytes(i);
    }

    fn count_bytes(&mut self, i: usize) {
        if std::mem::replace(&mut self.counted[i], true) {
            return;
        }
        self.bytes_total += match &self.idents[i] {
            Some(ident) => ident.files.iter().map(|f| f.bytes).sum::<u64>(),
            None => self.deliveries[i]
                .files
                .iter()
                .filter_map(|f| f.stored.as_ref().map(|s| s.bytes).or_else(|| std::fs::metadata(&f.path).ok().map(|m| m.len())))
                .sum(),
        };
        (self.progress)(Progress::Bytes(self.bytes_total));
    }

    fn already(&mut self, i: usize) {
        let id = self.id(i).to_string();
        let name = self.deliveries[i].files.first().map(|f| f.name.clone()).unwrap_or_default();
        self.settle(i, DeliveryOutcome::AlreadyIngested { id, name });
    }

    /// The record of delivery `i` before it is read.
    fn record(&self, i: usize, outcome: Outcome) -> DeliveryRecord {
        let ident = self.idents[i].as_ref().expect("identified");
        record_of(Some(&self.deliveries[i]), ident.id.clone(), ident.files.clone(), outcome)
    }
}

impl Lake {
    /// Ingest deliveries in as few commits as their rows allow (one per [`Lake::set_commit_rows`] rows read, and
    /// one at the end). Returns one outcome per delivery, in input order; refusals are reported per delivery, not
    /// fatal. Of several deliveries of one replacement unit, only the newest is read; the others are recorded as
    /// [`Outcome::Superseded`]. Storage failures and manifest conflicts end the run with an error; what earlier
    /// commits of the run made live stays live.
    pub async fn ingest(
        &mut self,
        deliveries: &[Delivery],
        opts: &IngestOptions,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<Vec<DeliveryOutcome>, LakeError> {
        let n = deliveries.len();
        let mut run = Run {
            deliveries,
            opts,
            progress,
            idents: Vec::with_capacity(n),
            outcomes: (0..n).map(|_| None).collect(),
            counted: vec![false; n],
            groups: Vec::new(),
            seen: self.state.ids.iter().cloned().collect(),
            refusals: Vec::new(),
            rows_total: 0,
            bytes_total: 0,
        };
        for (i, d) in deliveries.iter().enumerate() {
            match identify(d).await {
                Ok(ident) => run.idents.push(Some(ident)),
                Err(e) => {
                    run.idents.push(None);
                    run.refusals.push(refused_record(Some(d), None, &e));
                    run.settle(i, DeliveryOutcome::Refused(e));
                }
            }
        }
        refuse_duplicates(&mut run, &self.state);
        // Plan: unit groups newest first, the rest on their own; then the reading order, month by month.
        let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        let mut singles = Vec::new();
        for (i, d) in deliveries.iter().enumerate() {
            if run.idents[i].is_none() {
                continue;
            } else if run.seen.contains(run.id(i)) {
                run.already(i);
            } else {
                match &d.unit {
                    Some(u) if d.model != Some(Model::Append) => groups.entry(u.as_str()).or_default().push(i),
                    _ => singles.push(i),
                }
            }
        }
        let mut work: Vec<(i64, usize, Work)> = Vec::new();
        for (unit, mut members) in groups {
            members.sort_by_key(|i| std::cmp::Reverse((deliveries[*i].delivered_at, *i)));
            let first = *members.iter().min().expect("a group has members");
            work.push((unit_month(unit), first, Work::Unit(run.groups.len())));
            run.groups.push(members);
        }
        // A plain file's month is known only from its rows: peek at the first ones when there is an order to make
        // (in local files only; a file in a store is read in input order rather than fetched twice).
        let months = if singles.len() + work.len() < 2 {
            vec![None; singles.len()]
        } else {
            let files: Vec<Option<(std::path::PathBuf, String)>> =
                singles.iter().map(|i| deliveries[*i].files.first().filter(|f| f.stored.is_none()).map(|f| (f.path.clone(), f.name.clone()))).collect();
            tokio::task::spawn_blocking(move || files.into_iter().map(|f| f.and_then(|(p, n)| first_month(&p, &n))).collect::<Vec<_>>())
                .await
                .expect("the peek does not panic")
        };
        for (i, month) in singles.into_iter().zip(months) {
            work.push((month.unwrap_or(i64::MAX), i, Work::Single(i)));
        }
        work.sort_by_key(|(month, first, _)| (*month, *first));
        let mut queue: VecDeque<Work> = work.into_iter().map(|w| w.2).collect();

        let mut chunk = self.chunk();
        let mut deferred: Vec<Work> = Vec::new();
        loop {
            let next = queue.pop_front();
            let step = match next {
                None if chunk.is_empty() && deferred.is_empty() => break,
                None => None,
                Some(Work::Single(i)) if run.seen.contains(run.id(i)) => {
                    run.already(i);
                    continue;
                }
                // The same bytes are being read in this chunk: decide after it is committed (or refused).
                Some(w @ Work::Single(i)) if chunk.holds(run.id(i)) => {
                    deferred.push(w);
                    continue;
                }
                Some(Work::Single(i)) => Some(self.read(&mut run, &mut chunk, i, None).await),
                Some(Work::Unit(g)) => Some(self.next_of_unit(&mut run, &mut chunk, g).await),
            };
            if let Some(Err(e)) = step {
                self.abandon_chunk(chunk).await;
                return Err(e);
            }
            if step.is_none() || chunk.rows >= self.commit_rows || chunk.members.len() >= COMMIT_DELIVERIES {
                let settled = std::mem::replace(&mut chunk, self.chunk());
                queue.extend(self.settle(&mut run, settled).await?);
                queue.extend(deferred.drain(..));
            }
        }
        if !run.refusals.is_empty() {
            self.commit(std::mem::take(&mut run.refusals), &[], vec![]).await?;
        }
        Ok(run.outcomes.into_iter().map(|o| o.expect("every delivery is settled")).collect())
    }

    fn chunk(&self) -> Chunk {
        // Unique per chunk, run and process, so two writers never write the same file.
        static CHUNKS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let mut h = Sha256::new();
        h.update(Utc::now().timestamp_nanos_opt().unwrap_or_default().to_le_bytes());
        h.update(std::process::id().to_le_bytes());
        h.update(CHUNKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed).to_le_bytes());
        let name = format!("c{}", hex::encode(&h.finalize()[..6]));
        Chunk {
            writer: PartitionWriter::new(self.store.clone(), &name),
            name,
            units: Vec::new(),
            unit_providers: Vec::new(),
            known: HashMap::new(),
            plain: UnitIndex::new(),
            members: Vec::new(),
            member_ids: HashSet::new(),
            records: Vec::new(),
            rows: 0,
        }
    }

    async fn abandon_chunk(&self, chunk: Chunk) {
        let quarantine = chunk.members.iter().filter_map(|m| m.quarantine.as_ref().map(|q| q.0.clone()));
        self.abandon(chunk.writer.paths().into_iter().chain(quarantine).collect::<Vec<_>>()).await;
    }

    /// Read the newest remaining delivery of unit group `g`, unless the applied delivery of the unit is newer.
    async fn next_of_unit(&self, run: &mut Run<'_>, chunk: &mut Chunk, g: usize) -> Result<(), LakeError> {
        while let Some(&c) = run.groups[g].first() {
            if run.seen.contains(run.id(c)) {
                run.groups[g].remove(0);
                run.already(c);
                continue;
            }
            let deliveries = run.deliveries;
            let d = &deliveries[c];
            if self.newer_head(d.unit.as_deref().expect("a unit group"), d.delivered_at).is_some() {
                // Everything left is older still: record each, read none.
                let mut rest = std::mem::take(&mut run.groups[g]);
                rest.sort_unstable();
                for c in rest {
                    if run.seen.contains(run.id(c)) {
                        run.already(c);
                    } else {
                        run.seen.insert(run.id(c).to_string());
                        chunk.records.push((c, run.record(c, Outcome::OlderThanApplied)));
                        run.count_bytes(c);
                    }
                }
                return Ok(());
            }
            run.groups[g].remove(0);
            return self.read(run, chunk, c, Some(g)).await;
        }
        Ok(())
    }

    /// Read delivery `i` into the chunk. Errs only when the lake cannot be written; a delivery that cannot be read
    /// is kept as a failed member, to be refused when the chunk is settled.
    async fn read(&self, run: &mut Run<'_>, chunk: &mut Chunk, i: usize, group: Option<usize>) -> Result<(), LakeError> {
        let mut m = Member {
            input: i,
            record: run.record(i, Outcome::Applied),
            group,
            units: BTreeSet::new(),
            providers: BTreeSet::new(),
            wrote_append: false,
            wrote_units: false,
            quarantine: None,
            quarantined: Vec::new(),
            failed: None,
        };
        let mut quarantine = QuarantineWriter::new(self.store.clone(), &m.record.id);
        let k = chunk.members.len() as u32;
        match self.read_files(run, chunk, k, &mut m, &mut quarantine).await {
            Err(e) => {
                self.abandon(quarantine.path()).await;
                return Err(e);
            }
            Ok(Some(e)) => {
                self.abandon(quarantine.path()).await;
                m.failed = Some(e);
            }
            Ok(None) => m.quarantine = quarantine.finish().await?,
        }
        chunk.member_ids.insert(m.record.id.clone());
        chunk.members.push(m);
        run.count_bytes(i);
        Ok(())
    }

    /// Stream the delivery's files into the chunk. The outer error is the lake's (fatal); the inner one is the
    /// delivery's (it is refused).
    async fn read_files(
        &self,
        run: &mut Run<'_>,
        chunk: &mut Chunk,
        k: u32,
        m: &mut Member,
        quarantine: &mut QuarantineWriter,
    ) -> Result<Option<LakeError>, LakeError> {
        let deliveries = run.deliveries;
        let d = &deliveries[m.input];
        for (fi, f) in d.files.iter().enumerate() {
            let ropts = focus::ReadOptions {
                name: f.name.clone(),
                delivery: m.record.id.clone(),
                batch_rows: run.opts.batch_rows.unwrap_or(65_536),
                limits: run.opts.limits,
            };
            // Parsing runs on a blocking thread while this task encodes and writes Parquet: two cores, two stages.
            // The small channel bounds the batches in flight.
            let (tx, mut rx) = tokio::sync::mpsc::channel::<focus::Batch>(2);
            // A file in a store is copied to a temporary file first: the FOCUS reader reads local files.
            let staged = match &f.stored {
                Some(s) => match stage(s).await {
                    Ok(t) => Some(t),
                    Err(e) => return Ok(Some(e)),
                },
                None => None,
            };
            let path = staged.as_ref().map_or_else(|| f.path.clone(), |t| t.to_path_buf());
            let parser = tokio::task::spawn_blocking(move || -> Result<&'static str, focus::FocusError> {
                let mut r = focus::open(&path, &ropts)?;
                while let Some(b) = r.next_batch()? {
                    if tx.blocking_send(b).is_err() {
                        break;
                    }
                }
                Ok(r.version())
            });
            let mut fatal = None;
            while let Some(b) = rx.recv().await {
                if let Err(e) = self.take_batch(run, chunk, k, m, fi, b, quarantine).await {
                    fatal = Some(e);
                    break;
                }
            }
            drop(rx);
            let version = parser.await.expect("the parser thread does not panic");
            drop(staged);
            if let Some(e) = fatal {
                return Err(e);
            }
            match version {
                Ok(v) => m.record.files[fi].focus_version = v.to_string(),
                Err(e) => return Ok(Some(e.into())),
            }
        }
        Ok(None)
    }

    #[allow(clippy::too_many_arguments)]
    async fn take_batch(
        &self,
        run: &mut Run<'_>,
        chunk: &mut Chunk,
        k: u32,
        m: &mut Member,
        fi: usize,
        b: focus::Batch,
        quarantine: &mut QuarantineWriter,
    ) -> Result<(), LakeError> {
        let n = b.data.num_rows();
        let rec = &mut m.record.files[fi];
        rec.rows_read += n as u64 + b.rows_quarantined;
        rec.rows_kept += n as u64;
        rec.rows_quarantined += b.rows_quarantined;
        run.rows_total += n as u64 + b.rows_quarantined;
        (run.progress)(Progress::Rows(run.rows_total));
        quarantine.write(&b.quarantined).await?;
        group_quarantined(&mut m.quarantined, &b.quarantined);
        if n == 0 {
            return Ok(());
        }
        chunk.rows += n as u64;
        let deliveries = run.deliveries;
        let d = &deliveries[m.input];
        let mut row_units = match &d.unit {
            Some(unit) => vec![chunk.unit(unit, d.provider.unwrap_or(Provider::Other)); n],
            None => plain_units(&b.data, &mut chunk.plain, &mut chunk.units, &mut chunk.unit_providers),
        };
        let mut last = None;
        for u in &row_units {
            if last != Some(*u) && m.units.insert(*u) {
                m.providers.insert(chunk.unit_providers[*u as usize]);
            }
            last = Some(*u);
        }
        let append = match d.unit {
            Some(_) => d.model == Some(Model::Append),
            None => plain_model(d, run.opts, &m.providers).1 == Model::Append,
        };
        let column: ArrayRef = if append {
            m.wrote_append = true;
            row_units.fill(NO_UNIT);
            arrow::array::new_null_array(&DataType::Utf8, n)
        } else {
            m.wrote_units = true;
            Arc::new(StringArray::from_iter_values(row_units.iter().map(|u| &*chunk.units[*u as usize])))
        };
        chunk.writer.write(&write::with_units(&b.data, column)?, &row_units, k).await
    }

    /// Decide the chunk's outcomes, rewrite what must not become live, retire the replaced units' committed rows,
    /// and commit. Returns the unit groups to read again (their chosen delivery was refused).
    async fn settle(&mut self, run: &mut Run<'_>, chunk: Chunk) -> Result<Vec<Work>, LakeError> {
        let Chunk { name, writer, units, members, records, .. } = chunk;
        let mut members = members;
        let written = match writer.finish().await {
            Ok(w) => w,
            Err(e) => {
                let quarantine = members.iter().filter_map(|m| m.quarantine.as_ref().map(|q| q.0.clone()));
                self.abandon(quarantine.collect::<Vec<_>>()).await;
                return Err(e);
            }
        };
        let times: Vec<_> = members.iter().map(|m| m.record.delivered_at).collect();
        let ids: Vec<String> = members.iter().map(|m| m.record.id.clone()).collect();
        let mut order: Vec<usize> = (0..members.len()).collect();
        order.sort_by_key(|k| members[*k].input);

        // Outcomes in input order, as if read one by one: the newest delivery of each unit owns its rows.
        let mut owner: HashMap<Arc<str>, usize> = HashMap::new();
        let mut lost: Vec<BTreeSet<Arc<str>>> = vec![BTreeSet::new(); members.len()];
        let mut dead = vec![false; members.len()];
        let mut fix: HashMap<String, bool> = HashMap::new();
        let mut retire: HashSet<Arc<str>> = HashSet::new();
        for &k in &order {
            let m = &mut members[k];
            if m.failed.is_some() {
                dead[k] = true;
                continue;
            }
            let d = &run.deliveries[m.input];
            if d.source == Source::Plain {
                (m.record.provider, m.record.model) = plain_model(d, run.opts, &m.providers);
            }
            if m.record.model == Model::Append {
                m.record.units.clear();
                if m.wrote_units {
                    fix.insert(m.record.id.clone(), true);
                }
                continue;
            }
            if m.wrote_append {
                fix.insert(m.record.id.clone(), false);
            }
            let names: BTreeSet<Arc<str>> = m.units.iter().map(|u| units[*u as usize].clone()).collect();
            m.record.units = names.iter().map(|u| u.to_string()).collect();
            let t = times[k];
            if names.iter().any(|u| owner.get(u).is_some_and(|j| times[*j] > t) || self.newer_head(u, t).is_some()) {
                m.record.outcome = Outcome::OlderThanApplied;
                dead[k] = true;
                continue;
            }
            let mut replaced = BTreeSet::new();
            for u in names {
                match owner.insert(u.clone(), k) {
                    Some(j) => {
                        replaced.insert(ids[j].clone());
                        lost[j].insert(u.clone());
                    }
                    None => {
                        if let Some((_, h)) = self.state.heads.get(&*u) {
                            replaced.insert(h.clone());
                        }
                    }
                }
                retire.insert(u);
            }
            m.record.replaced = replaced.into_iter().collect();
        }

        // The chunk's files: kept as written, or rewritten without the rows that must not become live.
        let dead_ids: HashSet<&str> = (0..members.len()).filter(|k| dead[*k]).map(|k| ids[k].as_str()).collect();
        let owners: HashMap<&str, &str> = owner.iter().map(|(u, k)| (&**u, ids[*k].as_str())).collect();
        let mut add: Vec<LiveFile> = Vec::new();
        let mut discard: Vec<String> = Vec::new();
        let mut rewrites = 0u32;
        let rewritten = |from: &str, rewrites: &mut u32| {
            *rewrites += 1;
            let dir = from.rsplit_once('/').map_or("", |(d, _)| d);
            format!("{dir}/{name}-r{rewrites}.parquet")
        };
        for w in written {
            let names: Vec<Arc<str>> = w.file.units.iter().map(|u| units[*u as usize].clone()).collect();
            let taint = |k: &u32| {
                let k = *k as usize;
                dead[k] || fix.contains_key(&ids[k]) || names.iter().any(|u| lost[k].contains(u))
            };
            if !w.file.deliveries.iter().any(taint) {
                let mut names = names;
                names.sort();
                add.push(LiveFile {
                    path: w.path,
                    units: names,
                    append_rows: w.file.append_rows,
                    rows: w.file.rows,
                    table: "usage".into(),
                    ..Default::default()
                });
                continue;
            }
            let to = rewritten(&w.path, &mut rewrites);
            let r = write::rewrite(self.store.clone(), &w.path, &to, &mut |b| keep_live(b, &dead_ids, &fix, &owners)).await;
            discard.push(w.path);
            add.extend(rewritten_file(to, r?));
        }
        // Committed files holding retired units: removed, or rewritten without those units' rows.
        let mut remove = Vec::new();
        for f in self.state.live("usage") {
            if !f.units.iter().any(|u| retire.contains(u)) {
                continue;
            }
            remove.push(f.path.clone());
            if f.append_rows == 0 && f.units.iter().all(|u| retire.contains(u)) {
                continue;
            }
            let to = rewritten(&f.path, &mut rewrites);
            let r = write::rewrite(self.store.clone(), &f.path, &to, &mut |b| drop_units(b, &retire)).await?;
            add.extend(rewritten_file(to, r));
        }
        for (k, m) in members.iter_mut().enumerate() {
            match (m.quarantine.take(), dead[k]) {
                (Some((path, rows)), false) => add.push(LiveFile { path, rows, table: "quarantine".into(), ..Default::default() }),
                (Some((path, _)), true) => discard.push(path),
                (None, _) => {}
            }
        }

        // The records: read deliveries, the ones their unit's chosen delivery superseded, and those recorded unread.
        let mut recorded: Vec<(usize, DeliveryRecord, Vec<QuarantineGroup>)> = Vec::new();
        let mut again = Vec::new();
        let mut refusals = std::mem::take(&mut run.refusals);
        for (k, m) in members.into_iter().enumerate() {
            if let Some(e) = m.failed {
                refusals.push(refused_record(Some(&run.deliveries[m.input]), run.idents[m.input].as_ref(), &e));
                run.settle(m.input, DeliveryOutcome::Refused(e));
                if let Some(g) = m.group.filter(|g| !run.groups[*g].is_empty()) {
                    again.push(Work::Unit(g));
                }
                continue;
            }
            run.seen.insert(m.record.id.clone());
            if let Some(g) = m.group {
                let mut rest = std::mem::take(&mut run.groups[g]);
                rest.sort_unstable();
                let outcome = if dead[k] { Outcome::OlderThanApplied } else { Outcome::Superseded { by: m.record.id.clone() } };
                for c in rest {
                    if run.seen.contains(run.id(c)) {
                        run.already(c);
                    } else {
                        run.seen.insert(run.id(c).to_string());
                        recorded.push((c, run.record(c, outcome.clone()), vec![]));
                    }
                }
            }
            let sample = if dead[k] { vec![] } else { m.quarantined };
            recorded.push((m.input, m.record, sample));
        }
        recorded.extend(records.into_iter().map(|(i, r)| (i, r, vec![])));
        recorded.sort_by_key(|r| r.0);
        if !(recorded.is_empty() && refusals.is_empty() && add.is_empty() && remove.is_empty()) {
            let deliveries = recorded.iter().map(|r| r.1.clone()).chain(refusals).collect();
            if let Err(e) = self.commit(deliveries, &add, remove.clone()).await {
                self.abandon(add.into_iter().map(|f| f.path).chain(discard).collect::<Vec<_>>()).await;
                return Err(e);
            }
        }
        for (i, record, sample) in recorded {
            run.settle(i, DeliveryOutcome::Recorded(record, sample));
        }
        // After the commit: files it replaced, and files of this chunk that never became live.
        for p in remove.into_iter().chain(discard) {
            self.store.delete(&object_store::path::Path::from(p)).await?;
        }
        Ok(again)
    }
}

fn rewritten_file(path: String, r: write::Rewritten) -> Option<LiveFile> {
    (r.rows > 0).then(|| LiveFile {
        path,
        units: r.units.iter().map(|u| Arc::from(u.as_str())).collect(),
        append_rows: r.append_rows,
        rows: r.rows,
        table: "usage".into(),
        ..Default::default()
    })
}

/// A chunk file's rows that may become live: not of a dead delivery, and of a unit the row's delivery still owns.
/// Rows of a plain file whose model changed after they were written get their `_unit` corrected first.
fn keep_live(b: &RecordBatch, dead: &HashSet<&str>, fix: &HashMap<String, bool>, owners: &HashMap<&str, &str>) -> Result<RecordBatch, LakeError> {
    let delivery = write::text_column(b, focus::schema::DELIVERY);
    let mut unit = write::unit_column(b).clone();
    if (0..b.num_rows()).any(|i| fix.contains_key(delivery.value(i))) {
        let (mut ix, mut names, mut provs) = (UnitIndex::new(), Vec::new(), Vec::new());
        let plain = plain_units(b, &mut ix, &mut names, &mut provs);
        unit = (0..b.num_rows())
            .map(|i| match fix.get(delivery.value(i)) {
                Some(true) => None,
                Some(false) => Some(&*names[plain[i] as usize]),
                None => unit.is_valid(i).then(|| unit.value(i)),
            })
            .collect();
    }
    let keep: BooleanArray = (0..b.num_rows())
        .map(|i| {
            let d = delivery.value(i);
            Some(!dead.contains(d) && (unit.is_null(i) || owners.get(unit.value(i)).is_none_or(|o| *o == d)))
        })
        .collect();
    let mut cols = b.columns().to_vec();
    *cols.last_mut().expect("a _unit column") = Arc::new(unit);
    let b = RecordBatch::try_new(write::usage_file_schema(), cols)?;
    Ok(arrow::compute::filter_record_batch(&b, &keep)?)
}

/// A committed file's rows without those of the retired units.
fn drop_units(b: &RecordBatch, retired: &HashSet<Arc<str>>) -> Result<RecordBatch, LakeError> {
    let unit = write::unit_column(b);
    let keep: BooleanArray = (0..b.num_rows()).map(|i| Some(unit.is_null(i) || !retired.contains(unit.value(i)))).collect();
    let b = RecordBatch::try_new(write::usage_file_schema(), b.columns().to_vec())?;
    Ok(arrow::compute::filter_record_batch(&b, &keep)?)
}

/// The record of a delivery refused whole. Its id is its content id when its bytes could be read, else one made of
/// its unit and names, so that the same missing delivery refused on every run counts once in the coverage.
pub(crate) fn refused_record(d: Option<&Delivery>, ident: Option<&Ident>, e: &LakeError) -> DeliveryRecord {
    let id = match ident {
        Some(ident) => ident.id.clone(),
        None => {
            let mut h = Sha256::new();
            h.update(b"refused\0");
            if let Some(d) = d {
                h.update(d.unit.as_deref().unwrap_or("").as_bytes());
                for name in d.manifest.iter().map(|m| m.display().to_string()).chain(d.files.iter().map(|f| f.name.clone())) {
                    h.update(b"\0");
                    h.update(name.as_bytes());
                }
            } else {
                h.update(e.to_string().as_bytes());
            }
            hex::encode(&h.finalize()[..8])
        }
    };
    let files = ident.map(|i| i.files.clone()).unwrap_or_default();
    record_of(d, id, files, Outcome::Refused { reason: e.to_string(), incomplete: matches!(e, LakeError::Incomplete { .. }) })
}

/// The record of a delivery (when known; a refusal may know none) under `id`, with its files and outcome.
fn record_of(d: Option<&Delivery>, id: String, files: Vec<FileRecord>, outcome: Outcome) -> DeliveryRecord {
    let now = Utc::now();
    DeliveryRecord {
        id,
        source: d.map_or(Source::Plain, |d| d.source),
        provider: d.and_then(|d| d.provider).unwrap_or(Provider::Other),
        model: d.and_then(|d| d.model).unwrap_or(Model::Replace),
        units: d.and_then(|d| d.unit.clone()).into_iter().collect(),
        delivered_at: d.map_or(now, |d| d.delivered_at),
        ingested_at: now,
        manifest: d.and_then(|d| d.manifest.as_ref()).map(|m| m.display().to_string()),
        files,
        outcome,
        replaced: vec![],
    }
}

/// A delivery's identity from its content: the same bytes (for the same unit) are the same delivery. A file in a
/// store is streamed through the hash, not kept.
async fn identify(d: &Delivery) -> Result<Ident, LakeError> {
    let mut files = Vec::with_capacity(d.files.len());
    let mut id_hash = Sha256::new();
    id_hash.update(d.unit.as_deref().unwrap_or("").as_bytes());
    for f in &d.files {
        let (sha, bytes) = match &f.stored {
            Some(s) => hash_object(&*s.store, &s.path).await?,
            None => hash_file(&f.path).map_err(|e| LakeError::Io { path: f.name.clone(), source: e })?,
        };
        id_hash.update(sha.as_bytes());
        files.push(FileRecord { name: f.name.clone(), sha256: sha, bytes, focus_version: String::new(), rows_read: 0, rows_kept: 0, rows_quarantined: 0 });
    }
    Ok(Ident { id: hex::encode(&id_hash.finalize()[..8]), files })
}

/// Copy a data file from its store to a temporary file, deleted when the returned path is dropped.
async fn stage(f: &StoredFile) -> Result<tempfile::TempPath, LakeError> {
    use futures::TryStreamExt;
    use tokio::io::AsyncWriteExt;
    let io = |e: std::io::Error| LakeError::Io { path: format!("a temporary copy of {}", f.path), source: e };
    let (file, path) = tempfile::Builder::new().prefix("oversight-stage-").tempfile().map_err(io)?.into_parts();
    let mut file = tokio::fs::File::from_std(file);
    let mut stream = f.store.get(&f.path).await?.into_stream();
    while let Some(chunk) = stream.try_next().await? {
        file.write_all(&chunk).await.map_err(io)?;
    }
    file.flush().await.map_err(io)?;
    Ok(path)
}

/// Refuse every delivery with a file whose bytes are live under a delivery of another unit (in the lake, or read
/// earlier in this run): an export file copied out of its run folder and given as a plain file, or the run folder
/// after its copy. Manifest deliveries are weighed first, so that in one run the copy is refused, not the run. A
/// newer delivery of the same unit may repeat a file: it replaces the older one.
fn refuse_duplicates(run: &mut Run<'_>, state: &crate::State) {
    let key = |units: &[String]| units.first().cloned();
    let mut live: HashMap<String, (String, String, Option<String>)> = HashMap::new();
    for d in &state.deliveries {
        if state.is_live(d) {
            for f in &d.files {
                live.insert(f.sha256.clone(), (d.id.clone(), f.name.clone(), key(&d.units)));
            }
        }
    }
    let mut order: Vec<usize> = (0..run.deliveries.len()).filter(|i| run.idents[*i].is_some()).collect();
    order.sort_by_key(|i| (run.deliveries[*i].source == Source::Plain, *i));
    for i in order {
        let d = &run.deliveries[i];
        let ident = run.idents[i].as_ref().expect("identified");
        let clash = ident.files.iter().find_map(|f| {
            live.get(&f.sha256)
                .filter(|(id, _, unit)| *id != ident.id && (unit.is_none() || *unit != d.unit))
                .map(|(id, name, _)| (f.name.clone(), name.clone(), id.clone()))
        });
        if let Some((file, other, delivery)) = clash {
            let e = LakeError::Duplicate { file, other, delivery };
            run.refusals.push(refused_record(Some(d), Some(ident), &e));
            run.idents[i] = None;
            run.settle(i, DeliveryOutcome::Refused(e));
            continue;
        }
        for f in &ident.files {
            live.entry(f.sha256.clone()).or_insert_with(|| (ident.id.clone(), f.name.clone(), d.unit.clone()));
        }
    }
}

/// A plain file's provider and model: its rows' provider, and that provider's model unless the user says otherwise
/// (a file whose rows are all OCI's or Google's appends; any other mix replaces).
fn plain_model(d: &Delivery, opts: &IngestOptions, providers: &BTreeSet<Provider>) -> (Provider, Model) {
    let provider = if providers.len() == 1 { *providers.iter().next().expect("one") } else { d.provider.unwrap_or(Provider::Other) };
    let model = opts
        .model
        .or(d.model)
        .unwrap_or_else(|| if !providers.is_empty() && providers.iter().all(|p| p.model() == Model::Append) { Model::Append } else { provider.model() });
    (provider, model)
}

/// The billing month of a unit whose last part is `YYYY-MM` (manifest units), as months since year 0.
fn unit_month(unit: &str) -> i64 {
    let m = unit.rsplit(':').next().unwrap_or("");
    let parse = || -> Option<i64> { Some(m.get(..4)?.parse::<i64>().ok()? * 12 + m.get(5..7)?.parse::<i64>().ok()? - 1) };
    parse().unwrap_or(i64::MAX)
}

/// The month of a plain file's first charge, read from its first rows, to order the reading.
fn first_month(path: &std::path::Path, name: &str) -> Option<i64> {
    use chrono::Datelike;
    let mut r = focus::open(path, &focus::ReadOptions { name: name.into(), delivery: String::new(), batch_rows: 16, limits: Default::default() }).ok()?;
    for _ in 0..4 {
        let b = r.next_batch().ok()??;
        let start = b.data.column_by_name("ChargePeriodStart")?.as_any().downcast_ref::<TimestampMicrosecondArray>()?;
        if let Some(t) = (0..start.len()).find(|i| start.is_valid(*i)).and_then(|i| chrono::DateTime::from_timestamp_micros(start.value(i))) {
            return Some(i64::from(t.year()) * 12 + i64::from(t.month0()));
        }
    }
    None
}

/// Units seen so far: billing account → (provider, billing-period start, unit index).
pub(crate) type UnitIndex = HashMap<String, Vec<(String, i64, u32)>>;

/// For a plain file, each row's unit is (provider, billing account, billing month), as in DESIGN.md §3. New units
/// are appended to `units` with their provider in `providers`.
pub(crate) fn plain_units(b: &RecordBatch, ix: &mut UnitIndex, units: &mut Vec<Arc<str>>, providers: &mut Vec<Provider>) -> Vec<u32> {
    let (prov, acct) = (write::text_column(b, "ProviderName"), write::text_column(b, "BillingAccountId"));
    let period = b.column_by_name("BillingPeriodStart").and_then(|c| c.as_any().downcast_ref::<TimestampMicrosecondArray>()).expect("lake timestamp column");
    let mut out = Vec::with_capacity(b.num_rows());
    let mut last: Option<(usize, u32)> = None;
    for i in 0..b.num_rows() {
        let p = if prov.is_null(i) { "" } else { prov.value(i) };
        let a = acct.value(i);
        let month = period.value(i);
        // Consecutive rows usually share a unit; skip the hash lookup then.
        if let Some((j, u)) = last
            && prov.value(j) == p
            && acct.value(j) == a
            && period.value(j) == month
        {
            out.push(u);
            continue;
        }
        // Look up by borrowed strings; allocate only for a unit not seen before.
        let known = ix.get(a).and_then(|v| v.iter().find(|(vp, vm, _)| vp == p && *vm == month)).map(|(_, _, u)| *u);
        let u = match known {
            Some(u) => u,
            None => {
                let provider = Provider::from_focus(p);
                let m = chrono::DateTime::from_timestamp_micros(month).map(|t| t.format("%Y-%m").to_string()).unwrap_or_default();
                let tag = serde_json::to_value(provider).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
                units.push(Arc::from(format!("{tag}:{a}:{m}")));
                providers.push(provider);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_months_order_the_reading() {
        assert_eq!(unit_month("azure:/subscriptions/s1:focus-daily:FocusCost:2025-01"), 2025 * 12);
        assert_eq!(unit_month("aws:arn:aws:bcm-data-exports:us-east-1:123:export/x:2025-03"), 2025 * 12 + 2);
        assert_eq!(unit_month("odd"), i64::MAX);
    }
}
