//! A tile log on a local folder, with durable batched appends in Sunlight's order.
//!
//! Public folder (the C2SP static layout, servable as is): `checkpoint`, `tile/<L>/<N>[.p/<W>]`,
//! `tile/entries/<N>[.p/<W>]`. Private folder (never served): `key` (the signer), `lock`, `checkpoint` (the
//! compare-and-swap copy) and `stage` (a batch in flight).
//!
//! Append protocol, under an exclusive file lock:
//! 1. build the new tiles and checkpoint in memory and write them to `stage` (durable);
//! 2. compare-and-swap the private checkpoint: it must still be the one this writer started from;
//! 3. write the tiles; 4. publish the public checkpoint; 5. delete the stage.
//! A crash after step 2 is finished on the next open by re-applying the stage; a crash before it discards the
//! stage. Every file is written to a temp file, fsynced, renamed, and its folder fsynced.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::merkle::{self, Hash};
use crate::note::{Note, Signer, Verifier};
use crate::tiles::{self, TILE_WIDTH};

/// Largest entry: the bundle's length prefix is two bytes.
pub const MAX_ENTRY: usize = 65_535;

/// Errors of the log.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// File I/O failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
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
    /// Another writer moved the checkpoint since this one read it.
    #[error("the checkpoint changed under this writer (another writer appended); reopen and retry")]
    Conflict,
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

fn io(path: &Path) -> impl Fn(std::io::Error) -> LogError + '_ {
    move |source| LogError::Io { path: path.display().to_string(), source }
}

/// Write a file durably: temp file, fsync, rename, fsync the folder.
fn write_durable(path: &Path, bytes: &[u8]) -> Result<(), LogError> {
    let dir = path.parent().expect("log paths have a folder");
    fs::create_dir_all(dir).map_err(io(dir))?;
    let tmp = dir.join(format!(".{}.tmp", path.file_name().expect("file name").to_string_lossy()));
    let mut f = File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(bytes).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    fs::rename(&tmp, path).map_err(io(path))?;
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))?;
    Ok(())
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
        let size = size_line.parse().map_err(|_| bad("size is not a decimal number"))?;
        let root = STANDARD.decode(lines.next().ok_or_else(|| bad("no root"))?).ok().and_then(|r| r.try_into().ok()).ok_or_else(|| bad("root is not 32 bytes of base64"))?;
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
    public: PathBuf,
    private: PathBuf,
    signer: Signer,
    origin: String,
    size: u64,
}

impl Log {
    /// Create a new, empty log. `seed` is the Ed25519 key seed (32 random bytes); the key file gets mode 0600.
    pub fn create(public: &Path, private: &Path, origin: &str, seed: &[u8; 32]) -> Result<Log, LogError> {
        if private.join("key").exists() {
            return Err(LogError::Corrupt(format!("{} already holds a log key", private.display())));
        }
        let signer = Signer::from_seed(origin, seed)?;
        fs::create_dir_all(private).map_err(io(private))?;
        let mut raw = vec![crate::note::ED25519];
        raw.extend_from_slice(seed);
        let skey = format!("PRIVATE+KEY+{origin}+{:08x}+{}", signer.verifier().key_id, STANDARD.encode(raw));
        write_durable(&private.join("key"), skey.as_bytes())?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(private.join("key"), fs::Permissions::from_mode(0o600)).map_err(io(private))?;
        }
        let log = Log { public: public.into(), private: private.into(), signer, origin: origin.into(), size: 0 };
        let cp = Checkpoint { origin: origin.into(), size: 0, root: merkle::empty_root() };
        let signed = crate::note::sign(&cp.body(), &[&log.signer])?;
        write_durable(&private.join("checkpoint"), cp.body().as_bytes())?;
        write_durable(&public.join("checkpoint"), signed.as_bytes())?;
        Ok(log)
    }

    /// Open a log, finishing or discarding a batch a crash left in the stage.
    pub fn open(public: &Path, private: &Path) -> Result<Log, LogError> {
        let skey = fs::read_to_string(private.join("key")).map_err(io(&private.join("key")))?;
        let signer = Signer::parse(skey.trim())?;
        let cp = Checkpoint::parse(&fs::read_to_string(private.join("checkpoint")).map_err(io(&private.join("checkpoint")))?)?;
        let mut log = Log { public: public.into(), private: private.into(), origin: cp.origin.clone(), signer, size: cp.size };
        let _lock = log.lock()?;
        log.recover()?;
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

    fn lock(&self) -> Result<File, LogError> {
        let path = self.private.join("lock");
        let f = File::create(&path).map_err(io(&path))?;
        f.lock().map_err(io(&path))?;
        Ok(f)
    }

    fn recover(&mut self) -> Result<(), LogError> {
        let stage_path = self.private.join("stage");
        let Ok(bytes) = fs::read(&stage_path) else { return Ok(()) };
        let stage: Stage = serde_json::from_slice(&bytes).map_err(|e| LogError::Corrupt(format!("stage: {e}")))?;
        let current = fs::read_to_string(self.private.join("checkpoint")).map_err(io(&self.private))?;
        if current == stage.to {
            // The compare-and-swap happened: finish the batch.
            self.apply(&stage)?;
        }
        // Otherwise the crash came before the swap: the batch never happened.
        fs::remove_file(&stage_path).map_err(io(&stage_path))?;
        self.size = Checkpoint::parse(&fs::read_to_string(self.private.join("checkpoint")).map_err(io(&self.private))?)?.size;
        Ok(())
    }

    fn apply(&self, stage: &Stage) -> Result<(), LogError> {
        for (path, b64) in &stage.tiles {
            let bytes = STANDARD.decode(b64).map_err(|_| LogError::Corrupt("stage tile is not base64".into()))?;
            write_durable(&self.public.join(path), &bytes)?;
        }
        write_durable(&self.public.join("checkpoint"), stage.signed.as_bytes())
    }

    /// Append a batch durably; returns the index of each entry.
    pub fn append(&mut self, entries: &[Vec<u8>]) -> Result<std::ops::Range<u64>, LogError> {
        for (index, e) in entries.iter().enumerate() {
            if e.len() > MAX_ENTRY {
                return Err(LogError::TooLarge { index, len: e.len() });
            }
        }
        let _lock = self.lock()?;
        let from = fs::read_to_string(self.private.join("checkpoint")).map_err(io(&self.private))?;
        let old = Checkpoint::parse(&from)?;
        if old.size != self.size {
            return Err(LogError::Conflict);
        }
        if entries.is_empty() {
            return Ok(old.size..old.size);
        }
        let new_size = old.size + entries.len() as u64;
        let mut tiles_out: Vec<(String, Vec<u8>)> = Vec::new();

        // Entry bundles: the last partial bundle grows, then new ones follow.
        let first_bundle = old.size / TILE_WIDTH;
        let mut bundle = if old.size % TILE_WIDTH > 0 {
            let p = self.public.join(tiles::entries_path(first_bundle, old.size % TILE_WIDTH));
            fs::read(&p).map_err(io(&p))?
        } else {
            Vec::new()
        };
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
            let mut hashes = if old_count % TILE_WIDTH > 0 { self.read_tile(level, start_tile, old_count % TILE_WIDTH)? } else { Vec::new() };
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
        let staged: std::collections::HashMap<String, Vec<u8>> = tiles_out.iter().cloned().collect();
        let root = self.range_hash(0, new_size, new_size, &staged)?;
        let cp = Checkpoint { origin: self.origin.clone(), size: new_size, root };
        let stage = Stage {
            from: from.clone(),
            to: cp.body(),
            tiles: tiles_out.iter().map(|(p, b)| (p.clone(), STANDARD.encode(b))).collect(),
            signed: crate::note::sign(&cp.body(), &[&self.signer])?,
        };
        // 1. Stage.
        write_durable(&self.private.join("stage"), &serde_json::to_vec(&stage).expect("stage serialises"))?;
        // 2. Compare-and-swap the private checkpoint (the lock makes read-compare-write atomic among writers).
        if fs::read_to_string(self.private.join("checkpoint")).map_err(io(&self.private))? != from {
            return Err(LogError::Conflict);
        }
        write_durable(&self.private.join("checkpoint"), stage.to.as_bytes())?;
        // At this point the batch is committed: a crash from here on is finished by `open`.
        // 3-4. Tiles, then the public checkpoint.
        self.apply(&stage)?;
        // 5. Discard the stage.
        fs::remove_file(self.private.join("stage")).map_err(io(&self.private))?;
        self.size = new_size;
        Ok(old.size..new_size)
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
        let reader = TileReader::new(&self.public);
        let (_, cp) = reader.checkpoint()?;
        let hashes = reader.inclusion_proof(index, cp.size)?;
        Ok(Proof { index, size: cp.size, root: cp.root, hashes, checkpoint: self.checkpoint()? })
    }

    /// The signed public checkpoint.
    pub fn checkpoint(&self) -> Result<String, LogError> {
        let p = self.public.join("checkpoint");
        fs::read_to_string(&p).map_err(io(&p))
    }

    fn read_tile(&self, level: u8, n: u64, width: u64) -> Result<Vec<Hash>, LogError> {
        read_tile(&self.public, level, n, width, &Default::default())
    }

    /// The root of leaves [lo, hi) of the tree of `size`, from tiles (or tiles about to be written).
    fn range_hash(&self, lo: u64, hi: u64, size: u64, staged: &std::collections::HashMap<String, Vec<u8>>) -> Result<Hash, LogError> {
        range_hash(&self.public, lo, hi, size, staged)
    }
}

fn read_tile(public: &Path, level: u8, n: u64, width: u64, staged: &std::collections::HashMap<String, Vec<u8>>) -> Result<Vec<Hash>, LogError> {
    let rel = tiles::tile_path(level, n, width);
    let bytes = match staged.get(&rel) {
        Some(b) => b.clone(),
        None => fs::read(public.join(&rel)).map_err(io(&public.join(&rel)))?,
    };
    if bytes.len() as u64 != width * 32 {
        return Err(LogError::Corrupt(format!("{rel} is {} bytes, expected {}", bytes.len(), width * 32)));
    }
    Ok(bytes.chunks(32).map(|c| c.try_into().expect("32-byte chunks")).collect())
}

/// The hash of the complete aligned subtree of 2^k leaves starting at `start`, from the tiles of a tree of `size`.
fn subtree_hash(public: &Path, start: u64, k: u32, size: u64, staged: &std::collections::HashMap<String, Vec<u8>>) -> Result<Hash, LogError> {
    let level = k / 8;
    let span = 1u64 << (k % 8);
    let idx = start >> (8 * level);
    let count = size >> (8 * level);
    let tile = idx / TILE_WIDTH;
    let width = (count - tile * TILE_WIDTH).min(TILE_WIDTH);
    let hashes = read_tile(public, level as u8, tile, width, staged)?;
    let from = (idx % TILE_WIDTH) as usize;
    Ok(merkle::root(&hashes[from..from + span as usize]))
}

/// The Merkle root of leaves [lo, hi) (RFC 9162 MTH over that range), from tiles.
fn range_hash(public: &Path, lo: u64, hi: u64, size: u64, staged: &std::collections::HashMap<String, Vec<u8>>) -> Result<Hash, LogError> {
    let n = hi - lo;
    if n == 0 {
        return Ok(merkle::empty_root());
    }
    if n.is_power_of_two() && lo % n == 0 {
        return subtree_hash(public, lo, n.trailing_zeros(), size, staged);
    }
    let k = 1u64 << (63 - (n - 1).leading_zeros());
    Ok(merkle::node_hash(&range_hash(public, lo, lo + k, size, staged)?, &range_hash(public, lo + k, hi, size, staged)?))
}

/// Proofs from the tiles of a published log folder alone (what an auditor has).
pub struct TileReader {
    public: PathBuf,
}

impl TileReader {
    /// Read a log folder.
    pub fn new(public: &Path) -> TileReader {
        TileReader { public: public.into() }
    }

    /// The published checkpoint note.
    pub fn checkpoint(&self) -> Result<(Note, Checkpoint), LogError> {
        let p = self.public.join("checkpoint");
        let bytes = fs::read(&p).map_err(io(&p))?;
        let note = Note::parse(&bytes)?;
        let cp = Checkpoint::parse(&note.text)?;
        Ok((note, cp))
    }

    /// The root of the tree of `size`, recomputed from the tiles.
    pub fn root(&self, size: u64) -> Result<Hash, LogError> {
        range_hash(&self.public, 0, size, size, &Default::default())
    }

    /// Entry `index` of a tree of `size`.
    pub fn entry(&self, index: u64, size: u64) -> Result<Vec<u8>, LogError> {
        if index >= size {
            return Err(LogError::Range(format!("entry {index} is not inside size {size}")));
        }
        let n = index / TILE_WIDTH;
        let width = (size - n * TILE_WIDTH).min(TILE_WIDTH);
        let p = self.public.join(tiles::entries_path(n, width));
        let bytes = fs::read(&p).map_err(io(&p))?;
        let mut at = 0usize;
        for i in 0..width {
            let len = u16::from_be_bytes(bytes.get(at..at + 2).ok_or_else(|| LogError::Corrupt("short bundle".into()))?.try_into().expect("2 bytes")) as usize;
            if i == index % TILE_WIDTH {
                return bytes.get(at + 2..at + 2 + len).map(<[u8]>::to_vec).ok_or_else(|| LogError::Corrupt("short bundle".into()));
            }
            at += 2 + len;
        }
        Err(LogError::Corrupt("entry not in bundle".into()))
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
            proof.push(range_hash(&self.public, a, b, size, &Default::default())?);
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
                out.push(range_hash(&self.public, lo, hi, size, &Default::default())?);
            }
            return Ok(());
        }
        let k = 1u64 << (63 - (n - 1).leading_zeros());
        if m <= k {
            self.subproof(m, lo, lo + k, complete, size, out)?;
            out.push(range_hash(&self.public, lo + k, hi, size, &Default::default())?);
        } else {
            self.subproof(m - k, lo + k, hi, false, size, out)?;
            out.push(range_hash(&self.public, lo, lo + k, size, &Default::default())?);
        }
        Ok(())
    }
}
