//! A tile log with durable batched appends in Sunlight's order, over a [`Storage`] (a local folder by default).
//!
//! Public area (the C2SP static layout, servable as is): `checkpoint`, `tile/<L>/<N>[.p/<W>]`,
//! `tile/entries/<N>[.p/<W>]`. Private area (never served): `key` (the signer), `lock`, `checkpoint` (the
//! compare-and-swap copy) and `stage` (a batch in flight). On a local folder the private area is `DIR.private`, and it
//! may never lie inside the public folder.
//!
//! Append protocol, under the storage's exclusive writer lock:
//! 1. build the new tiles and checkpoint in memory and write them to `stage` (durable);
//! 2. compare-and-swap the private checkpoint: it must still be the one this writer started from;
//! 3. write the tiles; 4. publish the public checkpoint; 5. delete the stage.
//!
//! A failure after step 2 is finished on the next open or append by re-applying the stage; a failure before it
//! discards the stage. Every write is atomic and durable (on a folder: temp file, fsync, rename, fsync the folder),
//! and a tile path never changes content, so a reader sees the old checkpoint with all its tiles until the new
//! checkpoint is published.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::merkle::{self, Hash};
use crate::note::{Note, Signer, Verifier};
use crate::storage::{Area, Folder, LocalDir, PublicArea, Source, Storage, WriterLock};
use crate::tiles::{self, TILE_WIDTH};

/// Largest entry: the bundle's length prefix is two bytes.
pub const MAX_ENTRY: usize = 65_535;

/// Errors of the log.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file (a path or a URL).
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// An entry is larger than a bundle can hold.
    #[error("entry {index} is {len} bytes; the most is {MAX_ENTRY}")]
    TooLarge {
        /// Position in the batch.
        index: usize,
        /// Its length.
        len: usize,
    },
    /// Stored state is not what the log wrote.
    #[error("corrupt log: {0}")]
    Corrupt(String),
    /// A public tile or entry bundle an append builds on does not match the private checkpoint: someone changed the
    /// published log. Nothing was appended or signed; restore the public folder (the private checkpoint is right).
    #[error("{path}: {detail}; the published log does not match the private checkpoint of {size} entries, so nothing was appended or signed")]
    PublicTampered {
        /// The tile or bundle (for a root that does not match: every tile it was computed from).
        path: String,
        /// The size of the private checkpoint.
        size: u64,
        /// What does not match.
        detail: String,
    },
    /// Another writer moved the checkpoint since this one read it.
    #[error("the checkpoint changed under this writer (another writer appended); reopen and retry")]
    Conflict,
    /// The batch is committed (its entries have these indexes and will not be lost) but publishing its tiles or
    /// checkpoint failed; the next open or append of the log publishes them. Do not append the batch again.
    #[error("entries {start}..{end} are committed but not yet published ({source}); the next open or append of the log publishes them")]
    Unpublished {
        /// First index of the batch.
        start: u64,
        /// One past its last index.
        end: u64,
        /// Why publishing failed.
        source: Box<LogError>,
    },
    /// The local folders cannot hold a log (the private one inside the public one, or the like).
    #[error(transparent)]
    Layout(#[from] crate::storage::LayoutError),
    /// A key or note problem.
    #[error(transparent)]
    Note(#[from] crate::note::NoteError),
    /// A proof was asked for outside the tree.
    #[error("{0}")]
    Range(String),
    /// A record is not a loggable entry.
    #[error("record {index}: {source}")]
    Entry {
        /// Position in the batch.
        index: usize,
        /// Why.
        source: crate::entry::EntryError,
    },
}

/// An inclusion proof with everything needed to check it later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// The entry's index.
    pub index: u64,
    /// The tree size the proof is for.
    pub size: u64,
    /// That tree's root.
    pub root: Hash,
    /// The audit path.
    pub hashes: Vec<Hash>,
    /// The signed checkpoint of that tree.
    pub checkpoint: String,
}

/// A checkpoint body (C2SP tlog-checkpoint): origin, size, base64 root, each on its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin line.
    pub origin: String,
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
}

impl Checkpoint {
    /// The body text.
    pub fn body(&self) -> String {
        format!("{}\n{}\n{}\n", self.origin, self.size, STANDARD.encode(self.root))
    }

    /// Parse a body (extension lines after the root are ignored).
    pub fn parse(text: &str) -> Result<Checkpoint, LogError> {
        let mut lines = text.split('\n');
        let bad = |w: &str| LogError::Corrupt(format!("checkpoint: {w}"));
        let origin = lines.next().filter(|o| !o.is_empty()).ok_or_else(|| bad("no origin"))?.to_string();
        let size_line = lines.next().ok_or_else(|| bad("no size"))?;
        if size_line.len() > 1 && size_line.starts_with('0') {
            return Err(bad("size has a leading zero"));
        }
        // `u64::from_str` would also take a leading `+`.
        if !size_line.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("size is not a decimal number"));
        }
        let size = size_line.parse().map_err(|_| bad("size is not a decimal number"))?;
        let root = STANDARD
            .decode(lines.next().ok_or_else(|| bad("no root"))?)
            .ok()
            .and_then(|r| r.try_into().ok())
            .ok_or_else(|| bad("root is not 32 bytes of base64"))?;
        Ok(Checkpoint { origin, size, root })
    }
}

#[derive(Serialize, Deserialize)]
struct Stage {
    /// The private checkpoint this batch started from, and the one it leads to.
    from: String,
    to: String,
    /// Tiles to write: (path, base64 content).
    tiles: Vec<(String, String)>,
    /// The signed public checkpoint.
    signed: String,
}

/// An open log with its signer.
pub struct Log {
    storage: Arc<dyn Storage>,
    signer: Signer,
    origin: String,
    size: u64,
}

impl Log {
    /// Create a new, empty log in a local folder (`public`) with its private state in `private`, which must lie
    /// outside it ([`LocalDir::new`]). `seed` is the Ed25519 key seed (32 random bytes); the private folder gets
    /// mode 0700 and the key file 0600.
    pub fn create(public: &Path, private: &Path, origin: &str, seed: &[u8; 32]) -> Result<Log, LogError> {
        Log::create_in(LocalDir::new(public, private)?, origin, seed)
    }

    /// Create a new, empty log in `storage`. Refuses a storage that holds a log key or a non-empty checkpoint; a
    /// create that failed part way (no key written yet) can simply be run again.
    pub fn create_in(storage: impl Storage + 'static, origin: &str, seed: &[u8; 32]) -> Result<Log, LogError> {
        let storage: Arc<dyn Storage> = Arc::new(storage);
        let signer = Signer::from_seed(origin, seed)?;
        let log = Log { storage, signer, origin: origin.into(), size: 0 };
        let _lock = log.lock()?;
        if log.get(Area::Private, "key")?.is_some() {
            return Err(LogError::Corrupt(format!("{} already exists", log.storage.describe(Area::Private, "key"))));
        }
        for area in [Area::Private, Area::Public] {
            if let Some(bytes) = log.get(area, "checkpoint")? {
                let cp = Checkpoint::parse(&String::from_utf8_lossy(&bytes))?;
                if cp.size > 0 {
                    return Err(LogError::Corrupt(format!("{} holds a log of {} entries", log.storage.describe(area, "checkpoint"), cp.size)));
                }
            }
        }
        let cp = Checkpoint { origin: origin.into(), size: 0, root: merkle::empty_root() };
        log.put(Area::Private, "checkpoint", cp.body().as_bytes())?;
        log.put(Area::Public, "checkpoint", crate::note::sign(&cp.body(), &[&log.signer])?.as_bytes())?;
        // The key goes last: a log exists once its key does.
        let mut raw = vec![crate::note::ED25519];
        raw.extend_from_slice(seed);
        let skey = format!("PRIVATE+KEY+{origin}+{:08x}+{}", log.signer.verifier().key_id, STANDARD.encode(raw));
        if !log.storage.compare_and_swap("key", None, skey.as_bytes()).map_err(log.io(Area::Private, "key"))? {
            return Err(LogError::Corrupt(format!("{} already exists", log.storage.describe(Area::Private, "key"))));
        }
        Ok(log)
    }

    /// Open the log in a local folder, finishing or discarding a batch a crash left in the stage. Refuses the same
    /// folder layouts as [`Log::create`].
    pub fn open(public: &Path, private: &Path) -> Result<Log, LogError> {
        Log::open_in(LocalDir::new(public, private)?)
    }

    /// Open the log in `storage`, finishing or discarding a batch a failure left in the stage.
    pub fn open_in(storage: impl Storage + 'static) -> Result<Log, LogError> {
        let storage: Arc<dyn Storage> = Arc::new(storage);
        let skey = storage.get(Area::Private, "key").map_err(|source| LogError::Io { path: storage.describe(Area::Private, "key"), source })?;
        let skey =
            skey.ok_or_else(|| LogError::Corrupt(format!("{} does not exist: no log here (create one first)", storage.describe(Area::Private, "key"))))?;
        let signer = Signer::parse(String::from_utf8_lossy(&skey).trim())?;
        let mut log = Log { storage, origin: signer.verifier().name.clone(), signer, size: 0 };
        let _lock = log.lock()?;
        log.recover()?;
        let cp = log.private_checkpoint()?.1;
        (log.origin, log.size) = (cp.origin, cp.size);
        Ok(log)
    }

    /// The verifier key of the log's signer.
    pub fn verifier(&self) -> Verifier {
        self.signer.verifier()
    }

    /// Entries in the log.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// A reader of the log's public area (what an auditor sees).
    pub fn reader(&self) -> TileReader {
        TileReader::over(PublicArea(self.storage.clone()))
    }

    fn io<'a>(&'a self, area: Area, path: &'a str) -> impl Fn(std::io::Error) -> LogError + 'a {
        move |source| LogError::Io { path: self.storage.describe(area, path), source }
    }

    fn get(&self, area: Area, path: &str) -> Result<Option<Vec<u8>>, LogError> {
        self.storage.get(area, path).map_err(self.io(area, path))
    }

    fn put(&self, area: Area, path: &str, bytes: &[u8]) -> Result<(), LogError> {
        self.storage.put(area, path, bytes).map_err(self.io(area, path))
    }

    fn lock(&self) -> Result<WriterLock, LogError> {
        self.storage.lock().map_err(self.io(Area::Private, "lock"))
    }

    /// The private checkpoint: its exact text, and parsed.
    fn private_checkpoint(&self) -> Result<(String, Checkpoint), LogError> {
        let bytes = self
            .get(Area::Private, "checkpoint")?
            .ok_or_else(|| LogError::Corrupt(format!("{} is missing", self.storage.describe(Area::Private, "checkpoint"))))?;
        let text = String::from_utf8(bytes).map_err(|_| LogError::Corrupt("private checkpoint is not UTF-8".into()))?;
        let cp = Checkpoint::parse(&text)?;
        Ok((text, cp))
    }

    /// Under the lock: finish a committed stage (re-apply it) or discard an uncommitted one, and publish the
    /// checkpoint if it is missing (a create that failed part way).
    ///
    /// Nothing here is built from the public area: the staged tiles and signed checkpoint were built by an append
    /// that checked the public tiles first, and they overwrite whatever is published at their paths.
    fn recover(&self) -> Result<(), LogError> {
        let (current, cp) = self.private_checkpoint()?;
        if let Some(bytes) = self.get(Area::Private, "stage")? {
            let stage: Stage = serde_json::from_slice(&bytes).map_err(|e| LogError::Corrupt(format!("stage: {e}")))?;
            if current == stage.to {
                // The compare-and-swap happened: finish the batch.
                self.publish(&stage)?;
            } else {
                // The failure came before the swap: the batch never happened.
                self.storage.delete(Area::Private, "stage").map_err(self.io(Area::Private, "stage"))?;
            }
        }
        if self.get(Area::Public, "checkpoint")?.is_none() {
            self.put(Area::Public, "checkpoint", crate::note::sign(&cp.body(), &[&self.signer])?.as_bytes())?;
        }
        Ok(())
    }

    /// Steps 3-5: the tiles, the public checkpoint, then discard the stage.
    fn publish(&self, stage: &Stage) -> Result<(), LogError> {
        for (path, b64) in &stage.tiles {
            let bytes = STANDARD.decode(b64).map_err(|_| LogError::Corrupt("stage tile is not base64".into()))?;
            self.put(Area::Public, path, &bytes)?;
        }
        self.put(Area::Public, "checkpoint", stage.signed.as_bytes())?;
        self.storage.delete(Area::Private, "stage").map_err(self.io(Area::Private, "stage"))
    }

    /// Append a batch durably; returns the index of each entry.
    ///
    /// On [`LogError::Unpublished`] the batch is committed all the same; on [`LogError::Conflict`] or any error
    /// before the commit it is not. A storage error from the compare-and-swap itself is resolved by reading the
    /// checkpoint back.
    pub fn append(&mut self, entries: &[Vec<u8>]) -> Result<std::ops::Range<u64>, LogError> {
        for (index, e) in entries.iter().enumerate() {
            if e.len() > MAX_ENTRY {
                return Err(LogError::TooLarge { index, len: e.len() });
            }
        }
        let _lock = self.lock()?;
        // A batch of this writer (or another) may have been committed and not published: finish it first.
        self.recover()?;
        let (from, old) = self.private_checkpoint()?;
        if old.size != self.size {
            return Err(LogError::Conflict);
        }
        if entries.is_empty() {
            return Ok(old.size..old.size);
        }
        let new_size = old.size + entries.len() as u64;
        let public = self.reader();
        // Every public tile the batch builds on is read through `edge` once and checked against the private
        // checkpoint before anything is built: the public area may have been changed by anyone who can write it.
        let edge = Pinned { under: &public, read: Mutex::default() };
        self.check_right_edge(&edge, &old)?;
        let mut tiles_out: Vec<(String, Vec<u8>)> = Vec::new();

        // Entry bundles: the last partial bundle grows, then new ones follow.
        let first_bundle = old.size / TILE_WIDTH;
        let mut bundle = if old.size % TILE_WIDTH > 0 { edge.tile(&tiles::entries_path(first_bundle, old.size % TILE_WIDTH))?.to_vec() } else { Vec::new() };
        let mut pos = old.size;
        for e in entries {
            bundle.extend_from_slice(&(e.len() as u16).to_be_bytes());
            bundle.extend_from_slice(e);
            pos += 1;
            if pos % TILE_WIDTH == 0 || pos == new_size {
                let n = (pos - 1) / TILE_WIDTH;
                tiles_out.push((tiles::entries_path(n, pos - n * TILE_WIDTH), std::mem::take(&mut bundle)));
            }
        }

        // Hash tiles, level by level: new hashes at a level extend its last partial tile; each tile that fills
        // up contributes its subtree root to the level above.
        let mut new_hashes: Vec<Hash> = entries.iter().map(|e| merkle::leaf_hash(e)).collect();
        let mut level = 0u8;
        let mut old_count = old.size;
        while !new_hashes.is_empty() {
            let start_tile = old_count / TILE_WIDTH;
            let mut hashes = if old_count % TILE_WIDTH > 0 { read_tile(&edge, level, start_tile, old_count % TILE_WIDTH)? } else { Vec::new() };
            hashes.extend_from_slice(&new_hashes);
            let mut up = Vec::new();
            for (i, chunk) in hashes.chunks(TILE_WIDTH as usize).enumerate() {
                let n = start_tile + i as u64;
                tiles_out.push((tiles::tile_path(level, n, chunk.len() as u64), chunk.concat()));
                if chunk.len() as u64 == TILE_WIDTH {
                    up.push(merkle::root(chunk));
                }
            }
            old_count /= TILE_WIDTH;
            new_hashes = up;
            level += 1;
        }

        // The new root, from the tiles just built (read back through the same path as proofs).
        let staged = Staged { tiles: tiles_out.iter().map(|(p, b)| (p.clone(), Arc::from(b.as_slice()))).collect(), under: &edge };
        let root = range_hash(&staged, 0, new_size, new_size)?;
        let cp = Checkpoint { origin: self.origin.clone(), size: new_size, root };
        let stage = Stage {
            from: from.clone(),
            to: cp.body(),
            tiles: tiles_out.iter().map(|(p, b)| (p.clone(), STANDARD.encode(b))).collect(),
            signed: crate::note::sign(&cp.body(), &[&self.signer])?,
        };
        // 1. Stage.
        self.put(Area::Private, "stage", &serde_json::to_vec(&stage).expect("stage serialises"))?;
        // 2. Compare-and-swap the private checkpoint.
        match self.storage.compare_and_swap("checkpoint", Some(from.as_bytes()), stage.to.as_bytes()) {
            Ok(true) => {}
            Ok(false) => return Err(LogError::Conflict),
            // The swap may or may not have landed: the checkpoint says which.
            Err(e) => match self.get(Area::Private, "checkpoint") {
                Ok(Some(now)) if now == stage.to.as_bytes() => {}
                _ => return Err(self.io(Area::Private, "checkpoint")(e)),
            },
        }
        // The batch is committed: from here on a failure is finished by the next open or append.
        self.size = new_size;
        // 3-5. Tiles, the public checkpoint, discard the stage.
        self.publish(&stage).map_err(|e| LogError::Unpublished { start: old.size, end: new_size, source: Box::new(e) })?;
        Ok(old.size..new_size)
    }

    /// Check the public tiles an append of a tree of `old` builds on against `old` (the private checkpoint): the
    /// right edge's hash tiles must give its root, and the partial bundle's entries must hash to their leaf hashes.
    ///
    /// The root of size N reads every hash of the partial tile of each level (the right edge) and no other hash,
    /// and an append reads no hash outside those (the levels above its new full tiles keep their partial tiles), so
    /// a matching root binds every hash the append builds on. Full tiles off the edge are not reread: the signed
    /// root never depends on them, and an auditor's [`TileReader::check_every_tile`] finds them changed.
    fn check_right_edge(&self, edge: &Pinned, old: &Checkpoint) -> Result<(), LogError> {
        let tampered = |path: &str, detail: String| LogError::PublicTampered { path: self.storage.describe(Area::Public, path), size: old.size, detail };
        // The right edge: the partial hash tile of each level.
        let mut edge_tiles = Vec::new();
        let (mut count, mut level) = (old.size, 0u8);
        while count > 0 {
            let width = count % TILE_WIDTH;
            if width > 0 {
                let path = tiles::tile_path(level, count / TILE_WIDTH, width);
                let len = edge.tile(&path)?.len() as u64;
                if len != width * 32 {
                    return Err(tampered(&path, format!("is {len} bytes, not {width} hashes")));
                }
                edge_tiles.push(path);
            }
            count /= TILE_WIDTH;
            level += 1;
        }
        let root = range_hash(edge, 0, old.size, old.size)?;
        if root != old.root {
            let paths: Vec<String> = edge_tiles.iter().map(|p| self.storage.describe(Area::Public, p)).collect();
            let detail = format!("the root of these tiles is {}, not the private checkpoint's {}", STANDARD.encode(root), STANDARD.encode(old.root));
            return Err(LogError::PublicTampered { path: paths.join(", "), size: old.size, detail });
        }
        let width = old.size % TILE_WIDTH;
        if width == 0 {
            return Ok(());
        }
        let n = old.size / TILE_WIDTH;
        let path = tiles::entries_path(n, width);
        let bytes = edge.tile(&path)?;
        let entries = split_bundle(&bytes, width).map_err(|why| tampered(&path, why))?;
        // The leaf hashes were just checked against the root.
        let leaves = read_tile(edge, 0, n, width)?;
        for (i, (e, leaf)) in entries.iter().zip(&leaves).enumerate() {
            if merkle::leaf_hash(e) != *leaf {
                let detail = format!("entry {} does not hash to its leaf hash in {}", n * TILE_WIDTH + i as u64, tiles::tile_path(0, n, width));
                return Err(tampered(&path, detail));
            }
        }
        Ok(())
    }

    /// Append records of a kind (`scan`, `finding`, `decision`, ... see [`crate::entry::KINDS`]): each body is a
    /// JSON object, logged as canonical JSON with its `kind` field set. Returns the indexes.
    pub fn append_records(&mut self, records: &[(&str, serde_json::Value)]) -> Result<std::ops::Range<u64>, LogError> {
        let mut entries = Vec::with_capacity(records.len());
        for (index, (kind, body)) in records.iter().enumerate() {
            let mut body = body.clone();
            let obj = body.as_object_mut().ok_or(LogError::Entry { index, source: crate::entry::EntryError::NotObject })?;
            obj.insert("kind".into(), serde_json::Value::String((*kind).into()));
            entries.push(crate::entry::canonical_value(&body).map_err(|source| LogError::Entry { index, source })?);
        }
        self.append(&entries)
    }

    /// The inclusion proof of an entry in the current tree, with the signed checkpoint it checks against.
    pub fn prove(&self, index: u64) -> Result<Proof, LogError> {
        let reader = self.reader();
        let signed = self.checkpoint()?;
        let cp = Checkpoint::parse(&Note::parse(signed.as_bytes())?.text)?;
        let hashes = reader.inclusion_proof(index, cp.size)?;
        Ok(Proof { index, size: cp.size, root: cp.root, hashes, checkpoint: signed })
    }

    /// Publish the current checkpoint again with witness cosignatures added (`witness::merge_cosignatures`'s
    /// result). Under the writer lock, its text must be the private checkpoint's and its log signature must verify,
    /// so that a cosigned note never replaces a newer checkpoint or carries another tree.
    pub fn publish_cosigned(&self, note: &str) -> Result<(), LogError> {
        let _lock = self.lock()?;
        let (_, cp) = self.private_checkpoint()?;
        let parsed = Note::parse(note.as_bytes()).map_err(|e| LogError::Corrupt(format!("cosigned checkpoint: {e}")))?;
        if parsed.text != cp.body() {
            return Err(LogError::Conflict);
        }
        parsed.verify(&[self.verifier()]).map_err(|e| LogError::Corrupt(format!("cosigned checkpoint: {e}")))?;
        self.put(Area::Public, "checkpoint", note.as_bytes())
    }

    /// The signed public checkpoint.
    pub fn checkpoint(&self) -> Result<String, LogError> {
        let bytes = self
            .get(Area::Public, "checkpoint")?
            .ok_or_else(|| LogError::Corrupt(format!("{} is missing", self.storage.describe(Area::Public, "checkpoint"))))?;
        String::from_utf8(bytes).map_err(|_| LogError::Corrupt("checkpoint is not UTF-8".into()))
    }
}

/// Reads tiles by path.
trait Tiles {
    fn tile(&self, path: &str) -> Result<Arc<[u8]>, LogError>;
}

/// Tiles about to be written, over the ones already there.
struct Staged<'a> {
    tiles: HashMap<String, Arc<[u8]>>,
    under: &'a dyn Tiles,
}

impl Tiles for Staged<'_> {
    fn tile(&self, path: &str) -> Result<Arc<[u8]>, LogError> {
        match self.tiles.get(path) {
            Some(b) => Ok(b.clone()),
            None => self.under.tile(path),
        }
    }
}

/// The public tiles an append reads, each read once and kept, so the bytes checked are the bytes built on (the
/// reader's cache may drop them).
struct Pinned<'a> {
    under: &'a TileReader,
    read: Mutex<HashMap<String, Arc<[u8]>>>,
}

impl Tiles for Pinned<'_> {
    fn tile(&self, path: &str) -> Result<Arc<[u8]>, LogError> {
        if let Some(b) = self.read.lock().expect("edge lock").get(path) {
            return Ok(b.clone());
        }
        let bytes = self.under.fetch(path)?;
        self.read.lock().expect("edge lock").insert(path.into(), bytes.clone());
        Ok(bytes)
    }
}

/// The `width` entries of a bundle's bytes, or why the bytes are not exactly that.
fn split_bundle(bytes: &[u8], width: u64) -> Result<Vec<&[u8]>, String> {
    let short = || format!("is shorter than its {width} entries");
    let mut out = Vec::with_capacity(width as usize);
    let mut at = 0usize;
    for _ in 0..width {
        let len = u16::from_be_bytes(bytes.get(at..at + 2).ok_or_else(short)?.try_into().expect("2 bytes")) as usize;
        out.push(bytes.get(at + 2..at + 2 + len).ok_or_else(short)?);
        at += 2 + len;
    }
    if at != bytes.len() {
        return Err(format!("has {} bytes after its {width} entries", bytes.len() - at));
    }
    Ok(out)
}

fn read_tile(t: &dyn Tiles, level: u8, n: u64, width: u64) -> Result<Vec<Hash>, LogError> {
    let rel = tiles::tile_path(level, n, width);
    let bytes = t.tile(&rel)?;
    if bytes.len() as u64 != width * 32 {
        return Err(LogError::Corrupt(format!("{rel} is {} bytes, expected {}", bytes.len(), width * 32)));
    }
    Ok(bytes.chunks(32).map(|c| c.try_into().expect("32-byte chunks")).collect())
}

/// The hash of the complete aligned subtree of 2^k leaves starting at `start`, from the tiles of a tree of `size`.
fn subtree_hash(t: &dyn Tiles, start: u64, k: u32, size: u64) -> Result<Hash, LogError> {
    let level = k / 8;
    let span = 1u64 << (k % 8);
    let idx = start >> (8 * level);
    let count = size >> (8 * level);
    let tile = idx / TILE_WIDTH;
    let width = (count - tile * TILE_WIDTH).min(TILE_WIDTH);
    let hashes = read_tile(t, level as u8, tile, width)?;
    let from = (idx % TILE_WIDTH) as usize;
    Ok(merkle::root(&hashes[from..from + span as usize]))
}

/// The Merkle root of leaves [lo, hi) (RFC 9162 MTH over that range), from tiles.
fn range_hash(t: &dyn Tiles, lo: u64, hi: u64, size: u64) -> Result<Hash, LogError> {
    let n = hi - lo;
    if n == 0 {
        return Ok(merkle::empty_root());
    }
    if n.is_power_of_two() && lo.is_multiple_of(n) {
        return subtree_hash(t, lo, n.trailing_zeros(), size);
    }
    let k = 1u64 << (63 - (n - 1).leading_zeros());
    Ok(merkle::node_hash(&range_hash(t, lo, lo + k, size)?, &range_hash(t, lo + k, hi, size)?))
}

/// Tiles kept by a reader: a tile path never changes content, so a read tile is good for good. Bounded in bytes.
#[derive(Default)]
struct Cache {
    tiles: HashMap<String, Arc<[u8]>>,
    bytes: usize,
}

const CACHE_BYTES: usize = 64 << 20;

/// Proofs from the published tiles alone (what an auditor has), read from a folder, an HTTP server or any other
/// [`Source`].
pub struct TileReader {
    source: Box<dyn Source>,
    cache: Mutex<Cache>,
}

impl Tiles for TileReader {
    fn tile(&self, path: &str) -> Result<Arc<[u8]>, LogError> {
        self.fetch(path)
    }
}

impl TileReader {
    /// Read a log folder.
    pub fn new(public: &Path) -> TileReader {
        TileReader::over(Folder(public.into()))
    }

    /// Read a published log from `source`.
    pub fn over(source: impl Source + 'static) -> TileReader {
        TileReader { source: Box::new(source), cache: Mutex::default() }
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, LogError> {
        self.source.read(path).map_err(|source| LogError::Io { path: self.source.describe(path), source })
    }

    /// A tile or bundle, from the cache or the source.
    fn fetch(&self, path: &str) -> Result<Arc<[u8]>, LogError> {
        if let Some(b) = self.cache.lock().expect("cache lock").tiles.get(path) {
            return Ok(b.clone());
        }
        let bytes: Arc<[u8]> = self.read(path)?.into();
        let mut cache = self.cache.lock().expect("cache lock");
        if cache.bytes + bytes.len() > CACHE_BYTES {
            *cache = Cache::default();
        }
        cache.bytes += bytes.len();
        cache.tiles.insert(path.into(), bytes.clone());
        Ok(bytes)
    }

    /// The published checkpoint note (read afresh every time).
    pub fn checkpoint(&self) -> Result<(Note, Checkpoint), LogError> {
        let bytes = self.read("checkpoint")?;
        let note = Note::parse(&bytes)?;
        let cp = Checkpoint::parse(&note.text)?;
        Ok((note, cp))
    }

    /// The root of the tree of `size`, recomputed from the tiles.
    pub fn root(&self, size: u64) -> Result<Hash, LogError> {
        range_hash(self, 0, size, size)
    }

    /// The entries of bundle `n` of a tree of `size`, checked to be exactly its width with nothing after them.
    fn bundle(&self, n: u64, size: u64) -> Result<Vec<Vec<u8>>, LogError> {
        let width = (size - n * TILE_WIDTH).min(TILE_WIDTH);
        let path = tiles::entries_path(n, width);
        let bytes = self.fetch(&path)?;
        let entries = split_bundle(&bytes, width).map_err(|why| LogError::Corrupt(format!("{} {why}", self.source.describe(&path))))?;
        Ok(entries.into_iter().map(<[u8]>::to_vec).collect())
    }

    /// Entry `index` of a tree of `size`.
    pub fn entry(&self, index: u64, size: u64) -> Result<Vec<u8>, LogError> {
        if index >= size {
            return Err(LogError::Range(format!("entry {index} is not inside size {size}")));
        }
        let mut bundle = self.bundle(index / TILE_WIDTH, size)?;
        Ok(bundle.swap_remove((index % TILE_WIDTH) as usize))
    }

    /// Rebuild every hash tile of the tree of `size` from the entries and compare it byte for byte with the
    /// published one; returns the root of the entries (compare it with the checkpoint's). The error names the first
    /// tile or bundle that does not match.
    pub fn check_every_tile(&self, size: u64) -> Result<Hash, LogError> {
        let mut leaves = Vec::with_capacity(size as usize);
        for (n, _) in tiles::entry_bundles(size) {
            leaves.extend(self.bundle(n, size)?.iter().map(|e| merkle::leaf_hash(e)));
        }
        let mut level_hashes = leaves.clone();
        let mut level = 0u8;
        while !level_hashes.is_empty() {
            let mut up = Vec::new();
            for (n, chunk) in level_hashes.chunks(TILE_WIDTH as usize).enumerate() {
                let path = tiles::tile_path(level, n as u64, chunk.len() as u64);
                if *self.fetch(&path)? != *chunk.concat() {
                    let first = (n as u64 * TILE_WIDTH) << (8 * level as u32);
                    return Err(LogError::Corrupt(format!(
                        "{} differs from the tile rebuilt from the entries (from entry {first})",
                        self.source.describe(&path)
                    )));
                }
                if chunk.len() as u64 == TILE_WIDTH {
                    up.push(merkle::root(chunk));
                }
            }
            level_hashes = up;
            level += 1;
        }
        Ok(merkle::root(&leaves))
    }

    /// The inclusion proof of `index` in the tree of `size` (RFC 9162 PATH), from tiles.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, LogError> {
        if index >= size {
            return Err(LogError::Range(format!("index {index} is not inside size {size}")));
        }
        let mut proof = Vec::new();
        let (mut lo, mut hi, i) = (0u64, size, index);
        let mut stack = Vec::new();
        while hi - lo > 1 {
            let k = 1u64 << (63 - (hi - lo - 1).leading_zeros());
            if i < lo + k {
                stack.push((lo + k, hi));
                hi = lo + k;
            } else {
                stack.push((lo, lo + k));
                lo += k;
            }
        }
        while let Some((a, b)) = stack.pop() {
            proof.push(range_hash(self, a, b, size)?);
        }
        Ok(proof)
    }

    /// The consistency proof from `old` to `new` (RFC 9162 PROOF), from tiles.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, LogError> {
        if old == 0 || old > new {
            return Err(LogError::Range(format!("no consistency proof from {old} to {new}")));
        }
        let mut out = Vec::new();
        self.subproof(old, 0, new, true, new, &mut out)?;
        Ok(out)
    }

    fn subproof(&self, m: u64, lo: u64, hi: u64, complete: bool, size: u64, out: &mut Vec<Hash>) -> Result<(), LogError> {
        let n = hi - lo;
        if m == n {
            if !complete {
                out.push(range_hash(self, lo, hi, size)?);
            }
            return Ok(());
        }
        let k = 1u64 << (63 - (n - 1).leading_zeros());
        if m <= k {
            self.subproof(m, lo, lo + k, complete, size, out)?;
            out.push(range_hash(self, lo + k, hi, size)?);
        } else {
            self.subproof(m - k, lo + k, hi, false, size, out)?;
            out.push(range_hash(self, lo, lo + k, size)?);
        }
        Ok(())
    }
}
