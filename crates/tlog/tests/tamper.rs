//! Someone who can write the public folder (but not the private one) edits published tiles: the writer must not
//! sign a tree built on them. It checks the right edge it builds on against its private checkpoint and refuses.

use std::path::Path;

use std::sync::{Arc, Mutex};
use tlog::log::{Checkpoint, Log, LogError, TileReader};
use tlog::merkle;
use tlog::note::Note;

use tlog::storage::{Area, MemStorage, Storage, WriterLock};

mod common;
use common::snapshot;

fn entry(i: u64) -> Vec<u8> {
    format!("{{\"kind\":\"test\",\"n\":{i}}}").into_bytes()
}

fn leaves(n: u64) -> Vec<merkle::Hash> {
    (0..n).map(|i| merkle::leaf_hash(&entry(i))).collect()
}

/// A log of `size` entries on disk: (temp folder, public, private).
fn disk_log(size: u64) -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let (public, private) = (tmp.path().join("log"), tmp.path().join("log.private"));
    let mut log = Log::create(&public, &private, "example.org/tamper", &[4u8; 32]).unwrap();
    log.append(&(0..size).map(entry).collect::<Vec<_>>()).unwrap();
    (tmp, public, private)
}

/// Replace `old` by `new` (same length) inside a file.
fn edit(path: &Path, old: &[u8], new: &[u8]) {
    assert_eq!(old.len(), new.len(), "a forgery of the same length");
    let mut bytes = std::fs::read(path).unwrap();
    let at = bytes.windows(old.len()).position(|w| w == old).unwrap_or_else(|| panic!("{} holds no {old:?}", path.display()));
    bytes[at..at + new.len()].copy_from_slice(new);
    std::fs::write(path, bytes).unwrap();
}

/// Append one entry to the tampered log and check it was refused, naming `names`, with nothing signed or moved.
fn assert_refused(public: &Path, private: &Path, names: &str) {
    let before = (snapshot(public), snapshot(private));
    let mut log = Log::open(public, private).unwrap();
    let err = log.append(&[entry(1_000_000)]).expect_err("an append on a tampered public log is refused");
    assert!(matches!(err, LogError::PublicTampered { .. }), "{err:?}");
    assert!(err.to_string().contains(names), "the error names {names}: {err}");
    assert_eq!(log.size(), Checkpoint::parse(&String::from_utf8_lossy(&before.1["checkpoint"])).unwrap().size);
    let mut after_private = snapshot(private);
    after_private.remove("lock");
    let mut before_private = before.1;
    before_private.remove("lock");
    assert!(snapshot(public) == before.0, "the public folder (tiles, signed checkpoint) did not change");
    assert!(after_private == before_private, "the private checkpoint did not move and no stage is left");
}

/// The attack of issue item 8: entry 290 and its leaf hash are replaced in the right-edge bundle and hash tile.
/// Unchecked, the writer signed the forged tree and a fresh auditor's full verify accepted it.
#[test]
fn an_entry_forged_with_its_leaf_hash_is_refused() {
    let (_tmp, public, private) = disk_log(300);
    let forged = br#"{"kind":"test","n":666}"#;
    edit(&public.join("tile/entries/001.p/44"), &entry(290), forged);
    edit(&public.join("tile/0/001.p/44"), &merkle::leaf_hash(&entry(290)), &merkle::leaf_hash(forged));
    assert_refused(&public, &private, "tile/0/001.p/44");
    // The published checkpoint still commits to the genuine entries, so an auditor sees the forgery.
    let reader = TileReader::new(&public);
    let cp = reader.checkpoint().unwrap().1;
    assert_eq!(cp.root, merkle::root(&leaves(300)));
    assert_ne!(reader.check_every_tile(300).unwrap(), cp.root);
}

#[test]
fn a_forged_hash_tile_is_refused() {
    // One hash changed at level 0, then at level 1 (the hash of the full tile 0, which the writer never rereads).
    for tile in ["tile/0/001.p/44", "tile/1/000.p/1"] {
        let (_tmp, public, private) = disk_log(300);
        let mut bytes = std::fs::read(public.join(tile)).unwrap();
        bytes[0] ^= 1;
        std::fs::write(public.join(tile), bytes).unwrap();
        assert_refused(&public, &private, tile);
    }
    // A hash cut off.
    let (_tmp, public, private) = disk_log(300);
    let bytes = std::fs::read(public.join("tile/0/001.p/44")).unwrap();
    std::fs::write(public.join("tile/0/001.p/44"), &bytes[..bytes.len() - 32]).unwrap();
    assert_refused(&public, &private, "tile/0/001.p/44");
}

#[test]
fn a_forged_entry_alone_is_refused_naming_its_bundle() {
    let (_tmp, public, private) = disk_log(300);
    edit(&public.join("tile/entries/001.p/44"), &entry(299), br#"{"kind":"test","n":666}"#);
    assert_refused(&public, &private, "tile/entries/001.p/44");
    // A bundle with bytes after its entries, or a length that runs past its end.
    for extra in [&b"x"[..], &[0xff, 0xff][..]] {
        let (_tmp, public, private) = disk_log(300);
        let path = public.join("tile/entries/001.p/44");
        let mut bytes = std::fs::read(&path).unwrap();
        if extra.len() == 2 {
            bytes[..2].copy_from_slice(extra);
        } else {
            bytes.extend_from_slice(extra);
        }
        std::fs::write(&path, bytes).unwrap();
        assert_refused(&public, &private, "tile/entries/001.p/44");
    }
}

/// Full tiles off the right edge are not reread on each append (that would read the whole log): forging them does
/// not stop an append, but the writer signs the genuine root all the same, and an auditor's full check finds them.
#[test]
fn a_forged_full_tile_off_the_right_edge_is_never_signed() {
    let (_tmp, public, private) = disk_log(300);
    let forged = br#"{"kind":"test","n":77}"#;
    edit(&public.join("tile/entries/000"), &entry(10), forged);
    edit(&public.join("tile/0/000"), &merkle::leaf_hash(&entry(10)), &merkle::leaf_hash(forged));
    let mut log = Log::open(&public, &private).unwrap();
    log.append(&[entry(300)]).unwrap();
    let reader = TileReader::new(&public);
    let cp = reader.checkpoint().unwrap().1;
    assert_eq!(cp.root, merkle::root(&leaves(301)), "the signed root is the genuine tree's");
    let err = reader.check_every_tile(301).unwrap_err();
    assert!(err.to_string().contains("tile/1/000.p/1"), "{err}");
}

/// Every tile and bundle of logs of several sizes changed in turn (in memory): the append is refused exactly when
/// the file is on the right edge (a partial tile, the only ones it reads), and whatever it signs is the genuine root.
#[test]
fn any_changed_tile_is_refused_or_left_out_of_the_signed_tree() {
    for size in [1u64, 100, 255, 256, 300, 512, 600, 65_536, 65_536 + 300] {
        let mem = MemStorage::new();
        Log::create_in(mem.clone(), "example.org/tamper", &[4u8; 32]).unwrap().append(&(0..size).map(entry).collect::<Vec<_>>()).unwrap();
        let files = mem.files(Area::Public);
        let genuine = merkle::root(&leaves(size + 1));
        let tiles: Vec<&String> = files.keys().filter(|p| p.starts_with("tile/")).collect();
        // The partial tiles, and the first and last full tile of each kind (not all: each case copies the log).
        let mut cases: Vec<&String> = tiles.iter().copied().filter(|p| p.contains(".p/")).collect();
        for prefix in ["tile/entries/", "tile/0/", "tile/1/"] {
            let full: Vec<&String> = tiles.iter().copied().filter(|p| p.starts_with(prefix) && !p.contains(".p/")).collect();
            cases.extend(full.first().into_iter().chain(full.last()));
        }
        for path in cases {
            let s = mem.deep_copy();
            let mut bytes = files[path].clone();
            *bytes.last_mut().unwrap() ^= 1;
            s.put(Area::Public, path, &bytes).unwrap();
            let signed_before = s.get(Area::Public, "checkpoint").unwrap();
            let mut log = Log::open_in(s.clone()).unwrap();
            let result = log.append(&[entry(size)]);
            let what = format!("size {size}, {path} changed: {result:?}");
            if path.contains(".p/") {
                assert!(matches!(result, Err(LogError::PublicTampered { .. })), "{what}");
                assert_eq!(s.get(Area::Public, "checkpoint").unwrap(), signed_before, "{what}");
                assert_eq!(s.get(Area::Private, "stage").unwrap(), None, "{what}");
                assert_eq!(log.size(), size, "{what}");
            } else {
                assert!(result.is_ok(), "{what}");
                let signed = String::from_utf8(s.get(Area::Public, "checkpoint").unwrap().unwrap()).unwrap();
                let cp = Checkpoint::parse(&Note::parse(signed.as_bytes()).unwrap().text).unwrap();
                assert_eq!(cp.root, genuine, "{what}");
            }
        }
    }
}

/// Records the public files read.
#[derive(Clone)]
struct Reads {
    inner: MemStorage,
    read: Arc<Mutex<Vec<String>>>,
}

impl Storage for Reads {
    fn get(&self, area: Area, path: &str) -> std::io::Result<Option<Vec<u8>>> {
        if area == Area::Public {
            self.read.lock().unwrap().push(path.into());
        }
        self.inner.get(area, path)
    }
    fn put(&self, area: Area, path: &str, bytes: &[u8]) -> std::io::Result<()> {
        self.inner.put(area, path, bytes)
    }
    fn delete(&self, area: Area, path: &str) -> std::io::Result<()> {
        self.inner.delete(area, path)
    }
    fn compare_and_swap(&self, path: &str, old: Option<&[u8]>, new: &[u8]) -> std::io::Result<bool> {
        self.inner.compare_and_swap(path, old, new)
    }
    fn lock(&self) -> std::io::Result<WriterLock> {
        self.inner.lock()
    }
    fn describe(&self, area: Area, path: &str) -> String {
        self.inner.describe(area, path)
    }
}

/// The check costs no extra reads: an append reads the right edge (the partial tile of each level and the partial
/// bundle), each once, and nothing else of the log.
#[test]
fn an_append_reads_only_the_right_edge_once() {
    let mem = MemStorage::new();
    let size = 65_536 + 300;
    Log::create_in(mem.clone(), "example.org/tamper", &[4u8; 32]).unwrap().append(&(0..size).map(entry).collect::<Vec<_>>()).unwrap();
    let s = Reads { inner: mem, read: Arc::default() };
    let mut log = Log::open_in(s.clone()).unwrap();
    s.read.lock().unwrap().clear();
    log.append(&[entry(size), entry(size + 1)]).unwrap();
    let mut read = s.read.lock().unwrap().clone();
    read.sort();
    assert_eq!(read, ["checkpoint", "tile/0/257.p/44", "tile/1/001.p/1", "tile/2/000.p/1", "tile/entries/257.p/44"]);
}
