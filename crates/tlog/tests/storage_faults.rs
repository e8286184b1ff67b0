//! Failure injection: a storage that fails the Nth write (once, with or without the write landing, or from then on
//! as a crash does), looped over every write of a create, an append and a recovery. After any failure the published
//! view stays consistent with its own checkpoint, and reopening recovers to the old tree or the new one (the new one
//! exactly when the append said it committed), with the same bytes an uninterrupted run writes.

use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, Mutex};

use tlog::log::{Checkpoint, Log, LogError, TileReader};
use tlog::merkle;
use tlog::storage::{Area, LocalDir, MemStorage, Storage, WriterLock};

mod common;

type Files = BTreeMap<String, Vec<u8>>;

const ORIGIN: &str = "example.org/faults";
const SEED: [u8; 32] = [11u8; 32];

fn entry(i: u64) -> Vec<u8> {
    format!("{{\"kind\":\"scan\",\"n\":{i}}}").into_bytes()
}

fn batch(r: std::ops::Range<u64>) -> Vec<Vec<u8>> {
    r.map(entry).collect()
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// Write N fails and does not land; later writes work.
    Once,
    /// Write N lands, then reports an error (say the folder's fsync failed after the rename).
    Landed,
    /// Write N and every later one fail, as when the process dies.
    Crash,
    /// A compare-and-swap at write N reports that the checkpoint moved (another writer won).
    CasLost,
}

#[derive(Default)]
struct Plan {
    fail_at: Option<(usize, Mode)>,
    writes: Vec<String>,
    failed: Vec<usize>,
}

/// Wraps a storage and fails writes by plan. Reads always work.
#[derive(Clone)]
struct Faulty<S> {
    inner: S,
    plan: Arc<Mutex<Plan>>,
}

impl<S: Storage> Faulty<S> {
    fn new(inner: S) -> Self {
        Faulty { inner, plan: Arc::default() }
    }

    fn arm(&self, n: usize, mode: Mode) {
        *self.plan.lock().unwrap() = Plan { fail_at: Some((n, mode)), ..Plan::default() };
    }

    fn writes(&self) -> Vec<String> {
        self.plan.lock().unwrap().writes.clone()
    }

    fn failed(&self) -> bool {
        !self.plan.lock().unwrap().failed.is_empty()
    }

    fn write<T>(&self, what: String, cas: bool, op: impl FnOnce() -> io::Result<T>, lost: T) -> io::Result<T> {
        let mut plan = self.plan.lock().unwrap();
        let n = plan.writes.len();
        plan.writes.push(what.clone());
        let fail = match plan.fail_at {
            Some((at, Mode::Crash)) => n >= at,
            Some((at, Mode::CasLost)) => n == at && cas,
            Some((at, _)) => n == at,
            None => false,
        };
        if !fail {
            return op();
        }
        plan.failed.push(n);
        let injected = || io::Error::other(format!("injected failure at write {n} ({what})"));
        match plan.fail_at.expect("armed").1 {
            Mode::Landed => {
                op()?;
                Err(injected())
            }
            Mode::CasLost => Ok(lost),
            Mode::Once | Mode::Crash => Err(injected()),
        }
    }
}

impl<S: Storage> Storage for Faulty<S> {
    fn get(&self, area: Area, path: &str) -> io::Result<Option<Vec<u8>>> {
        self.inner.get(area, path)
    }
    fn put(&self, area: Area, path: &str, bytes: &[u8]) -> io::Result<()> {
        self.write(format!("put {area:?} {path}"), false, || self.inner.put(area, path, bytes), ())
    }
    fn delete(&self, area: Area, path: &str) -> io::Result<()> {
        self.write(format!("delete {area:?} {path}"), false, || self.inner.delete(area, path), ())
    }
    fn compare_and_swap(&self, path: &str, old: Option<&[u8]>, new: &[u8]) -> io::Result<bool> {
        self.write(format!("swap {path}"), true, || self.inner.compare_and_swap(path, old, new), false)
    }
    fn lock(&self) -> io::Result<WriterLock> {
        self.inner.lock()
    }
    fn describe(&self, area: Area, path: &str) -> String {
        self.inner.describe(area, path)
    }
}

/// A storage whose files the test can list and reopen.
trait Backing: Storage + Clone + 'static {
    fn fresh() -> Self;
    fn snapshot(&self, area: Area) -> Files;
}

impl Backing for MemStorage {
    fn fresh() -> Self {
        MemStorage::new()
    }
    fn snapshot(&self, area: Area) -> Files {
        self.files(area)
    }
}

/// A local folder pair that lives as long as the test (the temp folder is kept by the value).
#[derive(Clone)]
struct Disk {
    dir: LocalDir,
    root: Arc<tempfile::TempDir>,
}

impl Backing for Disk {
    fn fresh() -> Self {
        let root = Arc::new(tempfile::tempdir().unwrap());
        Disk { dir: LocalDir::new(&root.path().join("log"), &root.path().join("log.private")).unwrap(), root }
    }
    fn snapshot(&self, area: Area) -> Files {
        let dir = self.root.path().join(if area == Area::Public { "log" } else { "log.private" });
        let mut files = common::snapshot(&dir);
        files.remove("lock");
        files
    }
}

impl Storage for Disk {
    fn get(&self, area: Area, path: &str) -> io::Result<Option<Vec<u8>>> {
        self.dir.get(area, path)
    }
    fn put(&self, area: Area, path: &str, bytes: &[u8]) -> io::Result<()> {
        self.dir.put(area, path, bytes)
    }
    fn delete(&self, area: Area, path: &str) -> io::Result<()> {
        self.dir.delete(area, path)
    }
    fn compare_and_swap(&self, path: &str, old: Option<&[u8]>, new: &[u8]) -> io::Result<bool> {
        self.dir.compare_and_swap(path, old, new)
    }
    fn lock(&self) -> io::Result<WriterLock> {
        self.dir.lock()
    }
    fn describe(&self, area: Area, path: &str) -> String {
        self.dir.describe(area, path)
    }
}

/// The public files of an uninterrupted log whose batches ended at these sizes (built once per list).
fn reference(ends: &[u64]) -> Files {
    static BUILT: Mutex<BTreeMap<Vec<u64>, Files>> = Mutex::new(BTreeMap::new());
    if let Some(files) = BUILT.lock().unwrap().get(ends) {
        return files.clone();
    }
    let mem = MemStorage::new();
    let mut log = Log::create_in(mem.clone(), ORIGIN, &SEED).unwrap();
    let mut start = 0;
    for &end in ends {
        log.append(&batch(start..end)).unwrap();
        start = end;
    }
    BUILT.lock().unwrap().insert(ends.to_vec(), mem.files(Area::Public));
    mem.files(Area::Public)
}

/// What a reader sees is consistent: the checkpoint verifies, and its tree is rebuilt from the tiles and the entries.
fn published_size(reader: &TileReader, verifier: &tlog::note::Verifier) -> u64 {
    let (note, cp) = reader.checkpoint().unwrap();
    note.verify(std::slice::from_ref(verifier)).unwrap();
    let leaves: Vec<_> = (0..cp.size).map(|i| merkle::leaf_hash(&entry(i))).collect();
    assert_eq!(cp.root, merkle::root(&leaves), "the checkpoint is the root of the entries 0..{}", cp.size);
    assert_eq!(reader.root(cp.size).unwrap(), cp.root);
    assert_eq!(reader.check_every_tile(cp.size).unwrap(), cp.root);
    cp.size
}

/// After a recovery: no stage, both checkpoints agree, proofs verify, the old tree is a prefix (no fork), and the
/// public files are byte for byte those of an uninterrupted run of the same committed batches (given by their ends).
fn assert_recovered<S: Backing>(s: &S, log: &Log, old: u64, committed: &[u64]) {
    assert_eq!(s.get(Area::Private, "stage").unwrap(), None, "no stage is left");
    let reader = log.reader();
    let size = published_size(&reader, &log.verifier());
    assert_eq!(size, log.size());
    let private = Checkpoint::parse(&String::from_utf8(s.get(Area::Private, "checkpoint").unwrap().unwrap()).unwrap()).unwrap();
    assert_eq!(private.size, size);
    for i in [0, old.saturating_sub(1), size / 2, size - 1] {
        let p = log.prove(i).unwrap();
        merkle::verify_inclusion(&merkle::leaf_hash(&entry(i)), i, p.size, &p.hashes, &p.root).unwrap();
    }
    if old > 0 {
        let old_root = merkle::root(&(0..old).map(|i| merkle::leaf_hash(&entry(i))).collect::<Vec<_>>());
        merkle::verify_consistency(old, size, &old_root, &private.root, &reader.consistency_proof(old, size).unwrap()).unwrap();
    }
    assert!(s.snapshot(Area::Public) == reference(committed), "public files differ from an uninterrupted run of {committed:?}");
}

/// The writes of one append of 300..800 onto a log of 300 entries (crossing tiles at two levels).
fn append_writes() -> Vec<String> {
    let mem = MemStorage::new();
    Log::create_in(mem.clone(), ORIGIN, &SEED).unwrap().append(&batch(0..300)).unwrap();
    let f = Faulty::new(mem);
    Log::open_in(f.clone()).unwrap().append(&batch(300..800)).unwrap();
    f.writes()
}

#[test]
fn an_append_writes_stage_swap_tiles_checkpoint_then_drops_the_stage() {
    let w = append_writes();
    assert_eq!(w[0], "put Private stage");
    assert_eq!(w[1], "swap checkpoint");
    assert!(w[2..w.len() - 2].iter().all(|x| x.starts_with("put Public tile/")), "{w:?}");
    assert_eq!(&w[w.len() - 2..], ["put Public checkpoint", "delete Private stage"]);
    // 300..800: bundles 1 (full), 2, 3.p/32; level 0 tiles 1, 2, 3.p/32; level 1 tile 000.p/3.
    assert_eq!(w.len(), 2 + 7 + 2, "{w:?}");
}

/// A log of 300 entries in `s`, reopened through a storage that fails by `mode` at write `n` from now on.
fn log_of_300_failing_at<S: Backing>(s: &S, n: usize, mode: Mode) -> (Faulty<S>, Log) {
    Log::create_in(s.clone(), ORIGIN, &SEED).unwrap().append(&batch(0..300)).unwrap();
    let f = Faulty::new(s.clone());
    let log = Log::open_in(f.clone()).unwrap();
    f.arm(n, mode);
    (f, log)
}

fn append_fails_then_recovers<S: Backing>(modes: &[Mode]) {
    let names = append_writes();
    for &mode in modes {
        for (n, name) in names.iter().enumerate() {
            let s = S::fresh();
            let (f, mut log) = log_of_300_failing_at(&s, n, mode);
            let result = log.append(&batch(300..800));
            let what = format!("{mode:?} at write {n} ({name}): {result:?}");
            if mode == Mode::CasLost && n != 1 {
                assert!(result.is_ok() && !f.failed(), "{what}");
                continue;
            }
            assert!(f.failed(), "{what}");
            let committed = match &result {
                Ok(r) => {
                    assert_eq!(*r, 300..800);
                    true
                }
                Err(LogError::Unpublished { start: 300, end: 800, .. }) => true,
                Err(LogError::Io { .. } | LogError::Conflict) => false,
                Err(e) => panic!("{what}: unexpected {e}"),
            };
            // Meanwhile readers see a consistent log: the old tree, or the new one once its checkpoint is out.
            let seen = published_size(&log.reader(), &log.verifier());
            assert!(seen == 300 || (committed && seen == 800), "{what}: readers see {seen}");

            // Reopen over the same files, without faults.
            let mut log = Log::open_in(s.clone()).unwrap();
            let mut ends = if committed { vec![300, 800] } else { vec![300] };
            assert_eq!(log.size(), *ends.last().unwrap(), "{what}");
            assert_recovered(&s, &log, 300, &ends);
            // Appends continue.
            let next = log.size()..log.size() + 100;
            assert_eq!(log.append(&batch(next.clone())).unwrap(), next);
            ends.push(next.end);
            assert_recovered(&s, &log, 300, &ends);
        }
    }
}

#[test]
fn every_write_of_an_append_can_fail_in_memory() {
    append_fails_then_recovers::<MemStorage>(&[Mode::Once, Mode::Landed, Mode::Crash, Mode::CasLost]);
}

#[test]
fn every_write_of_an_append_can_fail_on_disk() {
    append_fails_then_recovers::<Disk>(&[Mode::Crash, Mode::Landed]);
}

/// Without reopening: the same writer retries a batch that did not commit, or goes on after one that did.
#[test]
fn the_same_writer_goes_on_after_a_passing_failure() {
    let writes = append_writes().len();
    for mode in [Mode::Once, Mode::Landed] {
        for n in 0..writes {
            let mem = MemStorage::new();
            let (_, mut log) = log_of_300_failing_at(&mem, n, mode);
            let what = format!("{mode:?} at write {n}");
            match log.append(&batch(300..800)) {
                Ok(_) | Err(LogError::Unpublished { .. }) => {}
                Err(LogError::Io { .. }) => assert_eq!(log.append(&batch(300..800)).unwrap(), 300..800, "{what}: retry"),
                Err(e) => panic!("{what}: {e}"),
            }
            assert_eq!(log.size(), 800, "{what}");
            assert_eq!(log.append(&batch(800..900)).unwrap(), 800..900, "{what}");
            assert_recovered(&mem, &log, 300, &[300, 800, 900]);
        }
    }
}

/// A crash while `open` finishes a batch is finished by the next open.
#[test]
fn a_crash_during_recovery_is_recovered_by_the_next_open() {
    let writes = append_writes().len();
    // Crash just after the swap: the stage and the swapped checkpoint are on disk, nothing published.
    for crash in 2..writes {
        let mem = MemStorage::new();
        let (_, mut log) = log_of_300_failing_at(&mem, crash, Mode::Crash);
        assert!(matches!(log.append(&batch(300..800)), Err(LogError::Unpublished { .. })));
        let after_crash = mem.deep_copy();
        // Count the writes of a clean recovery, then crash at each of them.
        let count = Faulty::new(after_crash.deep_copy());
        Log::open_in(count.clone()).unwrap();
        let recovery = count.writes().len();
        assert_eq!(recovery, writes - 2, "recovery writes every staged tile again, the checkpoint, and drops the stage");
        for m in 0..recovery {
            let s = after_crash.deep_copy();
            let f = Faulty::new(s.clone());
            f.arm(m, Mode::Crash);
            assert!(Log::open_in(f.clone()).is_err());
            let log = Log::open_in(s.clone()).unwrap();
            assert_eq!(log.size(), 800);
            assert_recovered(&s, &log, 300, &[300, 800]);
        }
    }
}

/// A create that fails part way leaves either a log that opens or nothing that stops a second create.
#[test]
fn every_write_of_a_create_can_fail() {
    let count = Faulty::new(MemStorage::new());
    Log::create_in(count.clone(), ORIGIN, &SEED).unwrap();
    assert_eq!(count.writes(), ["put Private checkpoint", "put Public checkpoint", "swap key"]);
    for mode in [Mode::Once, Mode::Landed, Mode::Crash] {
        for n in 0..3 {
            let mem = MemStorage::new();
            let f = Faulty::new(mem.clone());
            f.arm(n, mode);
            let created = Log::create_in(f, ORIGIN, &SEED).is_ok();
            let mut log = match Log::open_in(mem.clone()) {
                Ok(log) => log,
                Err(e) => {
                    assert!(!created, "{mode:?} at {n}: a created log opens ({e})");
                    Log::create_in(mem.clone(), ORIGIN, &SEED).unwrap()
                }
            };
            log.append(&batch(0..10)).unwrap();
            assert_recovered(&mem, &log, 0, &[10]);
        }
    }
}

#[test]
fn create_refuses_a_storage_that_holds_a_log() {
    let mem = MemStorage::new();
    Log::create_in(mem.clone(), ORIGIN, &SEED).unwrap().append(&batch(0..3)).unwrap();
    let err = Log::create_in(mem.clone(), ORIGIN, &[1u8; 32]).err().unwrap();
    assert!(err.to_string().contains("key already exists"), "{err}");
    // Even with its key gone, a non-empty log is not overwritten.
    mem.delete(Area::Private, "key").unwrap();
    let err = Log::create_in(mem.clone(), ORIGIN, &[1u8; 32]).err().unwrap();
    assert!(err.to_string().contains("holds a log of 3 entries"), "{err}");
}

#[test]
fn two_writers_on_one_storage_take_turns_and_never_fork() {
    let mem = MemStorage::new();
    Log::create_in(mem.clone(), ORIGIN, &SEED).unwrap();
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let mem = mem.clone();
            std::thread::spawn(move || {
                let mut done = 0;
                while done < 5 {
                    let mut log = Log::open_in(mem.clone()).unwrap();
                    let body = serde_json::json!({"writer": t, "n": done});
                    match log.append_records(&[("scan", body)]) {
                        Ok(_) => done += 1,
                        Err(LogError::Conflict) => {}
                        Err(e) => panic!("{e}"),
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let log = Log::open_in(mem.clone()).unwrap();
    assert_eq!(log.size(), 20);
    let reader = log.reader();
    let cp = reader.checkpoint().unwrap().1;
    assert_eq!(reader.check_every_tile(20).unwrap(), cp.root);
}
