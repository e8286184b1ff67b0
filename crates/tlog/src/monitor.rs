//! A monitor for journalists and auditors: follow a published log from run to run, and see every new decision,
//! enforcement, lift and finding as a public event, once the log has proved it only grew.
//!
//! Each [`step`] reads the checkpoint, checks its signature and witness quorum, checks it against the checkpoint
//! of the last run ([`Monitor`]), reads the new entries bundle by bundle and checks that they are exactly the
//! leaves the signed root commits to. Only then does it return the new state, for the caller to [`Monitor::save`].
//! A rollback or a split view is an error and leaves the state where it was: keep the error as evidence.
//!
//! The state file holds the checkpoint body (origin, size, root), the same file `oversight verify --state` keeps.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::log::{Checkpoint, LogError, TileReader};
use crate::merkle::{self, Hash, ProofError};
use crate::note::{NoteError, Verifier};
use crate::verify::{ConsistencyError, consistency, cosigners};

/// The entry kinds a monitor reports as [`PublicEvent`]s.
pub const EVENT_KINDS: [&str; 4] = ["decision", "enforcement", "lift", "finding"];

/// Why a monitor step failed. The state does not advance on any of them.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// The checkpoint, a tile or a bundle could not be read or is malformed.
    #[error("reading the log: {0}")]
    Read(#[from] LogError),
    /// The checkpoint is not signed by the log's key, or a known key's signature on it is bad.
    #[error("the checkpoint's signatures do not verify: {0}")]
    BadSignature(#[source] NoteError),
    /// Too few witnesses cosigned the checkpoint.
    #[error("{verified} of {quorum} required witness cosignatures verify")]
    Quorum {
        /// Distinct witnesses whose cosignature verified.
        verified: usize,
        /// Witnesses required.
        quorum: usize,
    },
    /// The checkpoint is of another log than the one followed.
    #[error("the log's origin is now {seen:?}, not {remembered:?}: this is another log")]
    OriginChanged {
        /// The origin followed.
        remembered: String,
        /// The origin now.
        seen: String,
    },
    /// The log is smaller than when last verified.
    #[error("rollback: the log shrank from {from} to {to} entries since the last verified checkpoint")]
    Rollback {
        /// The size last verified.
        from: u64,
        /// The size now.
        to: u64,
    },
    /// The log signed two different trees of the same size: some readers are shown another log.
    #[error("split view: the log signed root {} for size {size}, and root {} before", STANDARD.encode(seen), STANDARD.encode(remembered))]
    SplitView {
        /// The size of both trees.
        size: u64,
        /// The root verified before.
        remembered: Hash,
        /// The root now.
        seen: Hash,
    },
    /// The new tree does not extend the one last verified.
    #[error("the tree of size {to} does not extend the verified tree of size {from}: {source}")]
    Inconsistent {
        /// The size last verified.
        from: u64,
        /// The size now.
        to: u64,
        /// Why the proof fails.
        source: ProofError,
    },
    /// The entries read are not the ones the signed root commits to (a changed bundle or hash tile).
    #[error("entries {from}..{to} as published do not hash to the signed root of size {to}")]
    Entries {
        /// The first new entry.
        from: u64,
        /// The size now.
        to: u64,
    },
    /// The state file could not be read or written.
    #[error("{}: {source}", path.display())]
    State {
        /// The state file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The state file does not hold a checkpoint.
    #[error("{}: {source}", path.display())]
    StateFormat {
        /// The state file.
        path: PathBuf,
        /// Why (boxed: the other errors are small).
        source: Box<LogError>,
    },
}

impl From<ConsistencyError> for MonitorError {
    fn from(e: ConsistencyError) -> MonitorError {
        match e {
            ConsistencyError::OriginChanged { remembered, seen } => MonitorError::OriginChanged { remembered, seen },
            ConsistencyError::Rollback { from, to } => MonitorError::Rollback { from, to },
            ConsistencyError::Fork { size, remembered, seen } => MonitorError::SplitView { size, remembered, seen },
            ConsistencyError::Read(e) => MonitorError::Read(e),
            ConsistencyError::Proof { from, to, source } => MonitorError::Inconsistent { from, to, source },
        }
    }
}

/// What a monitor remembers between runs: the last checkpoint it verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Monitor {
    /// The last verified checkpoint (origin, size, root).
    pub checkpoint: Checkpoint,
}

impl Monitor {
    /// The state kept in `path`; `None` if there is no such file (the first run).
    pub fn load(path: &Path) -> Result<Option<Monitor>, MonitorError> {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(MonitorError::State { path: path.into(), source }),
        };
        let checkpoint = Checkpoint::parse(&text).map_err(|source| MonitorError::StateFormat { path: path.into(), source: Box::new(source) })?;
        Ok(Some(Monitor { checkpoint }))
    }

    /// Keep the state in `path`, crash-safely: the file holds the old state or the new one, never part of either.
    pub fn save(&self, path: &Path) -> Result<(), MonitorError> {
        write_durable(path, self.checkpoint.body().as_bytes()).map_err(|source| MonitorError::State { path: path.into(), source })
    }
}

/// Write a file durably (temp file, fsync, rename, fsync the folder), refusing a path that names no file.
fn write_durable(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if path.file_name().is_none() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "a state file needs a file name"));
    }
    crate::storage::write_durable(path, bytes, false)
}

/// A decision, enforcement, lift or finding entry, as the public can read it. Fields the entry lacks (or holds as
/// something else than expected) are `None` or empty: older and newer entries read alike.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicEvent {
    /// The entry's index in the log.
    pub index: u64,
    /// `decision`, `enforcement`, `lift` or `finding`.
    pub kind: String,
    /// The case.
    pub case: Option<String>,
    /// The pseudonym of the case's subject (the tenant); check it with [`crate::entry::is_pseudonym_of`].
    pub tenant: Option<String>,
    /// The case action (`open`, `decide`, `approve`, `enforce`, ...).
    pub action: Option<String>,
    /// The case's state after the entry.
    pub state: Option<String>,
    /// The decided outcome (`suspend`, `restrict`, ...).
    pub outcome: Option<String>,
    /// The cloud provider concerned.
    pub provider: Option<String>,
    /// The services a decision covers.
    pub services: Vec<String>,
    /// The policies of a finding's findings, each once, in order.
    pub policies: Vec<String>,
    /// The pseudonyms of the accounts a finding names, each once, in order.
    pub accounts: Vec<String>,
    /// The kind of document an enforcement issued.
    pub document: Option<String>,
    /// The SHA-256 of that document, hex.
    pub document_sha256: Option<String>,
    /// When, as the entry says (RFC 3339).
    pub at: Option<String>,
    /// The entry itself (canonical JSON, the bytes the log hashes).
    pub entry: String,
}

impl PublicEvent {
    /// The event of entry `index`, if it is a JSON object of one of the [`EVENT_KINDS`].
    pub fn parse(index: u64, entry: &[u8]) -> Option<PublicEvent> {
        let text = std::str::from_utf8(entry).ok()?;
        let Value::Object(obj) = serde_json::from_str::<Value>(text).ok()? else { return None };
        let kind = text_of(&obj, "kind").filter(|k| EVENT_KINDS.contains(&k.as_str()))?;
        let findings = obj.get("findings").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        let each = |field: &str| {
            let mut out: Vec<String> = Vec::new();
            for v in findings.iter().filter_map(|f| f.get(field)?.as_str()) {
                if !out.iter().any(|o| o == v) {
                    out.push(v.into());
                }
            }
            out
        };
        Some(PublicEvent {
            index,
            case: text_of(&obj, "case"),
            tenant: text_of(&obj, "subject"),
            action: text_of(&obj, "action"),
            state: text_of(&obj, "to"),
            outcome: text_of(&obj, "outcome"),
            provider: text_of(&obj, "provider"),
            services: obj.get("services").and_then(Value::as_array).into_iter().flatten().filter_map(|s| Some(s.as_str()?.to_string())).collect(),
            policies: each("policy"),
            accounts: each("account"),
            document: text_of(&obj, "document"),
            document_sha256: text_of(&obj, "sha256"),
            at: text_of(&obj, "at"),
            entry: text.into(),
            kind,
        })
    }

    /// Whether the event concerns `tenant` under the provider's pseudonym `key`: as the case's subject or as an
    /// account a finding names.
    pub fn concerns(&self, key: &[u8], tenant: &str) -> bool {
        self.tenant.iter().chain(&self.accounts).any(|p| crate::entry::is_pseudonym_of(key, tenant, p))
    }
}

fn text_of(obj: &Map<String, Value>, field: &str) -> Option<String> {
    Some(obj.get(field)?.as_str()?.to_string())
}

/// What one [`step`] found.
#[derive(Debug, Clone)]
pub struct Update {
    /// The state to keep for the next step ([`Monitor::save`]).
    pub state: Monitor,
    /// Index of the first new entry (the size last verified, 0 on a first run).
    pub from: u64,
    /// Every new entry, in order: entry `from + i` is `entries[i]`.
    pub entries: Vec<Vec<u8>>,
    /// The new entries that are public events, in order.
    pub events: Vec<PublicEvent>,
}

/// One monitoring run: read the log's checkpoint, check it is signed by one of `keys` and cosigned by `quorum`
/// distinct `witnesses` (checked when `quorum` is above 0 or witnesses are given), check it against `state` (the
/// last verified checkpoint, `None` on a first run), then read every entry since and check that they are the ones
/// its root commits to. Returns them with the new state; on any error the caller keeps the old state.
pub fn step(reader: &TileReader, keys: &[Verifier], witnesses: &[Verifier], quorum: usize, state: Option<&Monitor>) -> Result<Update, MonitorError> {
    let (note, cp) = reader.checkpoint()?;
    note.verify(keys).map_err(MonitorError::BadSignature)?;
    if quorum > 0 || !witnesses.is_empty() {
        let verified = cosigners(&note, witnesses).map_err(MonitorError::BadSignature)?;
        if verified < quorum {
            return Err(MonitorError::Quorum { verified, quorum });
        }
    }
    let old = match state {
        Some(s) => {
            consistency(reader, &s.checkpoint, &cp)?;
            s.checkpoint.clone()
        }
        None => Checkpoint { origin: cp.origin.clone(), size: 0, root: merkle::empty_root() },
    };
    // One bundle is fetched once: the reader keeps it while its entries are taken one by one.
    let entries = (old.size..cp.size).map(|i| reader.entry(i, cp.size)).collect::<Result<Vec<_>, _>>()?;
    let leaves: Vec<Hash> = entries.iter().map(|e| merkle::leaf_hash(e)).collect();
    if !commits_to(reader, &old, &cp, &leaves)? {
        return Err(MonitorError::Entries { from: old.size, to: cp.size });
    }
    let events = entries.iter().zip(old.size..).filter_map(|(e, i)| PublicEvent::parse(i, e)).collect();
    Ok(Update { state: Monitor { checkpoint: cp }, from: old.size, entries, events })
}

/// Whether `leaves` are exactly the leaves `old.size..new.size` of the tree `new`, `old` being a verified earlier
/// tree that `new` extends.
///
/// The hashes left of leaf `old.size` in the new tree (the complete subtrees of the old tree) come from the tiles,
/// in the inclusion proof of that leaf; with the new leaves they must rebuild the signed new root, which binds
/// them all. Linear in the new leaves, plus one proof.
fn commits_to(reader: &TileReader, old: &Checkpoint, new: &Checkpoint, leaves: &[Hash]) -> Result<bool, LogError> {
    let m = old.size;
    if m == new.size {
        return Ok(old.root == new.root);
    }
    let frontier = if m == 0 { Some(Vec::new()) } else { left_subtrees(m, new.size, &reader.inclusion_proof(m, new.size)?) };
    let Some(frontier) = frontier else { return Ok(false) };
    let mut left = frontier.into_iter();
    Ok(tree_hash(0, new.size, m, &mut left, leaves) == Some(new.root))
}

/// The largest power of two strictly smaller than `n` (n ≥ 2): where RFC 9162 splits a tree of `n` leaves.
fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// Of the inclusion proof of leaf `m` in the tree of `size` (siblings from the leaf up), the siblings left of the
/// leaf, from the top down: the complete subtrees of the first `m` leaves, largest first. `None` if the proof is not
/// as long as the path.
fn left_subtrees(m: u64, size: u64, proof: &[Hash]) -> Option<Vec<Hash>> {
    let mut is_left = Vec::new();
    let (mut lo, mut hi) = (0, size);
    while hi - lo > 1 {
        let k = split(hi - lo);
        is_left.push(m >= lo + k);
        if m < lo + k { hi = lo + k } else { lo += k }
    }
    if proof.len() != is_left.len() {
        return None;
    }
    Some(is_left.iter().zip(proof.iter().rev()).filter(|(l, _)| **l).map(|(_, h)| *h).collect())
}

/// The hash of leaves `lo..hi` (RFC 9162 MTH): subtrees left of `m` come from `left` in order, the rest from
/// `leaves` (leaf `m` first). `None` if `left` runs out.
fn tree_hash(lo: u64, hi: u64, m: u64, left: &mut impl Iterator<Item = Hash>, leaves: &[Hash]) -> Option<Hash> {
    if hi <= m {
        return left.next();
    }
    if lo >= m {
        return Some(merkle::root(&leaves[(lo - m) as usize..(hi - m) as usize]));
    }
    let k = split(hi - lo);
    let l = tree_hash(lo, lo + k, m, left, leaves)?;
    Some(merkle::node_hash(&l, &tree_hash(lo + k, hi, m, left, leaves)?))
}
