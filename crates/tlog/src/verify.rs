//! The auditor's checks of a published log, over any [`Source`](crate::storage::Source) a [`TileReader`] reads:
//! the checkpoint's signature, witness cosignatures, the root recomputed from the tiles, optionally every tile, an
//! entry's inclusion, and consistency with a checkpoint verified earlier. The command line and a web console call
//! [`verify`] and print its [`Report`]; a page holding one entry and its proof calls [`entry_inclusion`] or
//! [`check_proof`].

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::log::{Checkpoint, LogError, Proof, TileReader};
use crate::merkle::{self, Hash, ProofError};
use crate::note::{Note, NoteError, Verifier};

/// Name of the check that the checkpoint can be read and parsed.
pub const CHECKPOINT: &str = "checkpoint";
/// Name of the check of the log's signature on the checkpoint.
pub const SIGNATURE: &str = "log signature";
/// Name of the check that enough witnesses cosigned the checkpoint.
pub const QUORUM: &str = "witness quorum";
/// Name of the check that the tiles give the checkpoint's root.
pub const ROOT: &str = "root from tiles";
/// Name of the check that every tile rebuilds from the entries ([`Options::full`]).
pub const EVERY_TILE: &str = "every tile";
/// Name of the check that an entry is in the log ([`Options::entry`]).
pub const ENTRY: &str = "entry inclusion";
/// Name of the check against the checkpoint verified last time.
pub const CONSISTENCY: &str = "consistency with last check";

/// What to check, and against which keys.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The log's verifier keys; a signature by any of them verifies the checkpoint.
    pub keys: Vec<Verifier>,
    /// Witness verifier keys (cosignature/v1).
    pub witnesses: Vec<Verifier>,
    /// Distinct witnesses whose cosignature must verify. The quorum is checked when this is above 0 or witnesses are
    /// given.
    pub quorum: usize,
    /// Check that this entry is in the log (its bytes end up in [`Report::entry`]).
    pub entry: Option<u64>,
    /// Rebuild every tile from the entries, not only the tiles the root needs.
    pub full: bool,
}

/// One check and its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// Which check ([`SIGNATURE`], [`ROOT`], ...).
    #[serde(rename = "check")]
    pub name: String,
    /// Whether it holds.
    pub holds: bool,
    /// What was found, in a sentence fragment fit to print after the name.
    pub detail: String,
}

/// The outcome of [`verify`].
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The checks, in the order they ran.
    pub checks: Vec<Check>,
    /// The checkpoint read, if it could be read (whether or not its checks hold).
    pub checkpoint: Option<Checkpoint>,
    /// The bytes of [`Options::entry`], if its inclusion holds.
    pub entry: Option<Vec<u8>>,
}

impl Report {
    /// Whether every check holds. Only then should the caller remember [`Report::checkpoint`] for next time.
    pub fn holds(&self) -> bool {
        self.checks.iter().all(|c| c.holds)
    }

    fn add(&mut self, name: &str, holds: bool, detail: impl Into<String>) {
        self.checks.push(Check { name: name.into(), holds, detail: detail.into() });
    }
}

/// Run every check [`Options`] asks for against the log `reader` reads, and, if `remembered` is given (the
/// checkpoint of the last run whose checks all held), check that the log still extends it. A check that cannot run
/// (a file that cannot be read) fails with the reason as its detail; nothing here returns early on a failed check.
pub fn verify(reader: &TileReader, opts: &Options, remembered: Option<&Checkpoint>) -> Report {
    let mut r = Report::default();
    let (note, cp) = match reader.checkpoint() {
        Ok(read) => read,
        Err(e) => {
            r.add(CHECKPOINT, false, e.to_string());
            return r;
        }
    };
    match note.verify(&opts.keys) {
        Ok(names) => r.add(SIGNATURE, true, format!("signed by {}", names.join(", "))),
        Err(e) => r.add(SIGNATURE, false, e.to_string()),
    }
    if opts.quorum > 0 || !opts.witnesses.is_empty() {
        match cosigners(&note, &opts.witnesses) {
            Ok(n) => r.add(QUORUM, n >= opts.quorum, format!("{n} of {} required cosignatures verify", opts.quorum)),
            Err(e) => r.add(QUORUM, false, e.to_string()),
        }
    }
    match reader.root(cp.size) {
        Ok(root) if root == cp.root => r.add(ROOT, true, format!("size {} root {}", cp.size, STANDARD.encode(root))),
        Ok(root) => r.add(ROOT, false, format!("tiles give {}, checkpoint says {}", STANDARD.encode(root), STANDARD.encode(cp.root))),
        Err(e) => r.add(ROOT, false, e.to_string()),
    }
    if opts.full {
        match reader.check_every_tile(cp.size) {
            Ok(root) if root == cp.root => r.add(EVERY_TILE, true, format!("{} entries rebuild every tile and the checkpoint root", cp.size)),
            Ok(root) => r.add(EVERY_TILE, false, format!("the entries hash to {}, the checkpoint says {}", STANDARD.encode(root), STANDARD.encode(cp.root))),
            Err(e) => r.add(EVERY_TILE, false, e.to_string()),
        }
    }
    if let Some(i) = opts.entry {
        match read_included(reader, i, &cp) {
            Ok(e) => {
                r.add(ENTRY, true, format!("entry {i}: {}", String::from_utf8_lossy(&e)));
                r.entry = Some(e);
            }
            Err(e) => r.add(ENTRY, false, format!("entry {i}: {e}")),
        }
    }
    if let Some(old) = remembered {
        match consistency(reader, old, &cp) {
            Ok(c) => r.add(CONSISTENCY, true, c.to_string()),
            Err(e) => r.add(CONSISTENCY, false, e.to_string()),
        }
    }
    r.checkpoint = Some(cp);
    r
}

/// How many distinct witnesses cosigned `note`: a witness that signed twice counts once.
pub(crate) fn cosigners(note: &Note, witnesses: &[Verifier]) -> Result<usize, NoteError> {
    let mut names: Vec<String> = note.verify_cosignatures(witnesses)?.into_iter().map(|(name, _)| name).collect();
    names.sort_unstable();
    names.dedup();
    Ok(names.len())
}

/// Entry `index` of the tree `cp`, read from the tiles and checked against its root; the error says why not.
fn read_included(reader: &TileReader, index: u64, cp: &Checkpoint) -> Result<Vec<u8>, String> {
    let entry = reader.entry(index, cp.size).map_err(|e| e.to_string())?;
    let proof = reader.inclusion_proof(index, cp.size).map_err(|e| e.to_string())?;
    entry_inclusion(&entry, index, &proof, cp).map_err(|e| e.to_string())?;
    Ok(entry)
}

/// Check that `entry` is at `index` in the tree of `checkpoint`, given its audit path `proof` (as
/// [`TileReader::inclusion_proof`] or [`Proof::hashes`] give it). The checkpoint's signature is the caller's to
/// check, or use [`check_proof`].
pub fn entry_inclusion(entry: &[u8], index: u64, proof: &[Hash], checkpoint: &Checkpoint) -> Result<(), ProofError> {
    merkle::verify_inclusion(&merkle::leaf_hash(entry), index, checkpoint.size, proof, &checkpoint.root)
}

/// Why a stored inclusion proof does not hold.
#[derive(Debug, thiserror::Error)]
pub enum InclusionError {
    /// The signed checkpoint is malformed or not signed by a known log key.
    #[error("the proof's checkpoint: {0}")]
    Note(#[from] NoteError),
    /// The signed text is not a checkpoint.
    #[error("the proof's checkpoint: {0}")]
    Checkpoint(#[from] LogError),
    /// The proof names a tree other than the one its signed checkpoint describes.
    #[error(
        "the proof is for the tree of size {size} and root {}, its signed checkpoint is of size {signed_size} and root {}",
        STANDARD.encode(root), STANDARD.encode(signed_root)
    )]
    NotThatTree {
        /// The size the proof names.
        size: u64,
        /// The root the proof names.
        root: Hash,
        /// The size of the signed checkpoint.
        signed_size: u64,
        /// The root of the signed checkpoint.
        signed_root: Hash,
    },
    /// The audit path does not lead from the entry to the root.
    #[error("the entry is not at index {index} of that tree: {source}")]
    Path {
        /// The index the proof names.
        index: u64,
        /// Why.
        source: ProofError,
    },
}

/// Check a stored proof ([`crate::log::Log::prove`]) end to end: its checkpoint is signed by one of `keys`, it is
/// the tree the proof names, and `entry` is at the proof's index in it. Returns the signed checkpoint.
pub fn check_proof(entry: &[u8], proof: &Proof, keys: &[Verifier]) -> Result<Checkpoint, InclusionError> {
    let note = Note::parse(proof.checkpoint.as_bytes())?;
    note.verify(keys)?;
    let cp = Checkpoint::parse(&note.text)?;
    if cp.size != proof.size || cp.root != proof.root {
        return Err(InclusionError::NotThatTree { size: proof.size, root: proof.root, signed_size: cp.size, signed_root: cp.root });
    }
    entry_inclusion(entry, proof.index, &proof.hashes, &cp).map_err(|source| InclusionError::Path { index: proof.index, source })?;
    Ok(cp)
}

/// How a checkpoint relates to the one remembered, when the log is consistent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consistent {
    /// The very same checkpoint.
    Same,
    /// A larger tree that extends the remembered one.
    Extends {
        /// The remembered size.
        from: u64,
        /// The size now.
        to: u64,
    },
}

impl std::fmt::Display for Consistent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Consistent::Same => write!(f, "same checkpoint as last time"),
            Consistent::Extends { from, to } => write!(f, "size {to} extends the remembered size {from}"),
        }
    }
}

/// Why a checkpoint is not consistent with the one remembered.
#[derive(Debug, thiserror::Error)]
pub enum ConsistencyError {
    /// The checkpoint is of another log.
    #[error("remembered origin {remembered} differs")]
    OriginChanged {
        /// The remembered origin.
        remembered: String,
        /// The origin now.
        seen: String,
    },
    /// The log is smaller than it was: it was rolled back, or this is another view of it.
    #[error("the log shrank from {from} to {to} (rollback)")]
    Rollback {
        /// The remembered size.
        from: u64,
        /// The size now.
        to: u64,
    },
    /// The same size with another root: two different logs were signed under one name (a split view).
    #[error("same size, different root (fork)")]
    Fork {
        /// The size of both.
        size: u64,
        /// The remembered root.
        remembered: Hash,
        /// The root now.
        seen: Hash,
    },
    /// The consistency proof could not be read from the tiles.
    #[error(transparent)]
    Read(#[from] LogError),
    /// The consistency proof from the remembered tree to this one does not verify.
    #[error("{source}")]
    Proof {
        /// The remembered size.
        from: u64,
        /// The size now.
        to: u64,
        /// Why.
        source: ProofError,
    },
}

/// Decide whether `seen` (a checkpoint just read) is consistent with `remembered` (one verified earlier): same
/// origin, no smaller, the same root at the same size, and otherwise a consistency proof from the tiles that
/// verifies. The empty tree is consistent with any tree.
pub fn consistency(reader: &TileReader, remembered: &Checkpoint, seen: &Checkpoint) -> Result<Consistent, ConsistencyError> {
    let (from, to) = (remembered.size, seen.size);
    if remembered.origin != seen.origin {
        return Err(ConsistencyError::OriginChanged { remembered: remembered.origin.clone(), seen: seen.origin.clone() });
    }
    if from > to {
        return Err(ConsistencyError::Rollback { from, to });
    }
    if from == to {
        return if remembered.root == seen.root {
            Ok(Consistent::Same)
        } else {
            Err(ConsistencyError::Fork { size: from, remembered: remembered.root, seen: seen.root })
        };
    }
    // RFC 9162 has no proof from the empty tree; its root is all there is to check.
    if from == 0 {
        return if remembered.root == merkle::empty_root() {
            Ok(Consistent::Extends { from, to })
        } else {
            Err(ConsistencyError::Proof { from, to, source: ProofError::RootMismatch })
        };
    }
    let proof = reader.consistency_proof(from, to)?;
    merkle::verify_consistency(from, to, &remembered.root, &seen.root, &proof).map_err(|source| ConsistencyError::Proof { from, to, source })?;
    Ok(Consistent::Extends { from, to })
}
