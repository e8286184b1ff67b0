//! C2SP tlog-witness: the witness side (`add-checkpoint`, and the monitoring read of the latest cosigned checkpoint)
//! and the log's client helpers. Nothing here does HTTP: [`Witness::add_checkpoint`] takes a request body and returns
//! a status, a content type and a body for any server to send.
//!
//! Cosignatures are Ed25519 tlog-cosignature/v1 (type 0x04); ML-DSA-44, which the spec recommends for new
//! witnesses, is not supported.
//!
//! The witness keeps the latest checkpoint it cosigned for each log in one JSON file, written atomically and durably
//! (temp file, fsync, rename, fsync the folder) before a cosignature is returned. A mutex makes checking the old size
//! and persisting the new one one step (the rollback race of the spec), and an exclusive lock on `<state>.lock`, held
//! while the [`Witness`] lives, keeps a second process off the same file.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::log::{Checkpoint, LogError};
use crate::merkle::{self, Hash, ProofError};
use crate::note::{COSIGNATURE_V1, Cosigner, ED25519, MAX_SIGNATURES, Note, NoteError, Signature, Verifier};

/// Largest `add-checkpoint` body accepted: room for 63 proof lines and a checkpoint with 16 ML-DSA-44 cosignatures
/// (the fewest signatures a verifier must accept) or a hundred Ed25519 ones. A server should stop reading here too.
pub const MAX_REQUEST_BYTES: usize = 128 << 10;
/// Most consistency proof lines in a request (the spec's limit on clients).
pub const MAX_PROOF_LINES: usize = 63;
/// Content type of a 409 answer: the witness's size in decimal and a newline.
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";
/// Content type of every other answer.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; charset=utf-8";

/// An HTTP answer, for the server to send as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// `Content-Type` header.
    pub content_type: &'static str,
    /// Body.
    pub body: Vec<u8>,
}

impl Response {
    fn text(status: u16, body: impl Into<Vec<u8>>) -> Response {
        Response { status, content_type: TEXT_CONTENT_TYPE, body: body.into() }
    }
}

/// Why an `add-checkpoint` request was not cosigned; [`AddError::status`] is the spec's HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum AddError {
    /// The body is larger than [`MAX_REQUEST_BYTES`] (413).
    #[error("request is {len} bytes; the most is {MAX_REQUEST_BYTES}")]
    TooLarge {
        /// Its length.
        len: usize,
    },
    /// The body is not an old size line, proof lines, a blank line and a checkpoint (400).
    #[error("malformed request: {0}")]
    Malformed(String),
    /// No log with this origin is configured (404).
    #[error("unknown log {0:?}")]
    UnknownLog(String),
    /// No signature by the log's keys, or a bad one (403).
    #[error("checkpoint signature: {0}")]
    Signature(NoteError),
    /// The old size is larger than the checkpoint's (400).
    #[error("old size {old} is larger than the checkpoint size {size}")]
    OldTooLarge {
        /// The request's old size.
        old: u64,
        /// The checkpoint's size.
        size: u64,
    },
    /// The old size is not the size of the latest checkpoint cosigned for this log (409).
    #[error("old size {old} is not the latest cosigned size {current}")]
    Conflict {
        /// The request's old size.
        old: u64,
        /// The witness's latest cosigned size (0 if none).
        current: u64,
    },
    /// A checkpoint of size 0 whose root is not the empty tree's (422).
    #[error("a checkpoint of size 0 must have the root of the empty tree")]
    EmptyTreeRoot,
    /// Old size 0 with a non-empty proof (422).
    #[error("old size is 0 but the request holds {0} proof lines")]
    ProofFromEmpty(usize),
    /// The proof does not show the checkpoint extends the latest cosigned one; with equal sizes, the roots differ
    /// (422). This is what a split view looks like.
    #[error("checkpoint of size {size} is not consistent with the cosigned checkpoint of size {old}: {source}")]
    Inconsistent {
        /// The cosigned size.
        old: u64,
        /// The checkpoint's size.
        size: u64,
        /// Why.
        source: ProofError,
    },
    /// Signing failed (500): the clock gave a time a cosignature cannot hold.
    #[error("cannot cosign: {0}")]
    Sign(NoteError),
    /// The new state could not be saved, so nothing was cosigned (500).
    #[error("{path}: cannot save the witness state: {source}")]
    Persist {
        /// The state file.
        path: String,
        /// The cause.
        source: io::Error,
    },
}

impl AddError {
    /// The HTTP status the spec gives this refusal.
    pub fn status(&self) -> u16 {
        match self {
            AddError::TooLarge { .. } => 413,
            AddError::Malformed(_) | AddError::OldTooLarge { .. } => 400,
            AddError::UnknownLog(_) => 404,
            AddError::Signature(_) => 403,
            AddError::Conflict { .. } => 409,
            AddError::EmptyTreeRoot | AddError::ProofFromEmpty(_) | AddError::Inconsistent { .. } => 422,
            AddError::Sign(_) | AddError::Persist { .. } => 500,
        }
    }

    /// The answer to send: a 409 carries the witness's size as `text/x.tlog.size`; a 500 hides local details.
    pub fn response(&self) -> Response {
        match self {
            AddError::Conflict { current, .. } => Response { status: 409, content_type: SIZE_CONTENT_TYPE, body: format!("{current}\n").into_bytes() },
            AddError::Sign(_) | AddError::Persist { .. } => Response::text(500, "the witness could not cosign; see its log\n"),
            e => Response::text(e.status(), format!("{e}\n")),
        }
    }
}

/// A parsed `add-checkpoint` body.
#[derive(Debug, Clone)]
pub struct Request {
    /// The size the client believes the witness last cosigned.
    pub old: u64,
    /// Consistency proof from `old` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note.
    pub note: Note,
    /// Its body.
    pub checkpoint: Checkpoint,
}

/// An ASCII decimal with no leading zero (the spec's encoding of sizes).
fn decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) || (s.len() > 1 && s[0] == b'0') {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// Parse an `add-checkpoint` body: `old <size>`, up to 63 base64 hashes, an empty line, a signed checkpoint; every
/// line ends in a newline. Signatures are not checked here.
pub fn parse_request(body: &[u8]) -> Result<Request, AddError> {
    if body.len() > MAX_REQUEST_BYTES {
        return Err(AddError::TooLarge { len: body.len() });
    }
    let bad = |what: &str| AddError::Malformed(what.into());
    let mut rest = body;
    let mut next_line = || -> Result<&[u8], AddError> {
        let end = rest.iter().position(|&b| b == b'\n').ok_or_else(|| bad("a line does not end in a newline"))?;
        let line = &rest[..end];
        rest = &rest[end + 1..];
        Ok(line)
    };
    let old = next_line()?.strip_prefix(b"old ").and_then(decimal).ok_or_else(|| bad("the first line is not `old <decimal size>`"))?;
    let mut proof = Vec::new();
    loop {
        let line = next_line()?;
        if line.is_empty() {
            break;
        }
        if proof.len() == MAX_PROOF_LINES {
            return Err(AddError::Malformed(format!("more than {MAX_PROOF_LINES} consistency proof lines")));
        }
        let hash = STANDARD.decode(line).ok().and_then(|h| Hash::try_from(h).ok());
        proof.push(hash.ok_or_else(|| AddError::Malformed(format!("proof line {} is not a base64 SHA-256 hash", proof.len() + 1)))?);
    }
    let note = Note::parse(rest).map_err(|e| AddError::Malformed(format!("checkpoint: {e}")))?;
    // Note::parse splits at the last blank line, so an empty extension line would end up inside the text.
    if note.text.contains("\n\n") {
        return Err(bad("checkpoint: empty extension line"));
    }
    let checkpoint = checkpoint_of(&note).map_err(AddError::Malformed)?;
    Ok(Request { old, proof, note, checkpoint })
}

/// The checkpoint a note's text holds, or why not (without the "corrupt log" of a log's own files).
fn checkpoint_of(note: &Note) -> Result<Checkpoint, String> {
    Checkpoint::parse(&note.text).map_err(|e| match e {
        LogError::Corrupt(detail) => detail,
        e => e.to_string(),
    })
}

/// Why a `--logs` file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A line of the logs file is wrong.
    #[error("line {line}: {detail}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        detail: String,
    },
    /// The file names no log.
    #[error("no log is configured")]
    Empty,
}

/// The logs a witness cosigns for: origin → the log's Ed25519 note keys (type 0x01), any one of which must sign.
#[derive(Debug, Clone, Default)]
pub struct KnownLogs {
    logs: BTreeMap<String, Vec<Verifier>>,
}

impl KnownLogs {
    /// Parse a `--logs` file: one log key a line, `<vkey>` (the origin is the key name) or `<vkey> <origin>` (the
    /// rest of the line, trimmed, when the origin differs from the key name). Several lines may give keys of one
    /// origin (key rotation). Blank lines and lines starting with `#` are skipped.
    pub fn parse(text: &str) -> Result<KnownLogs, ConfigError> {
        let mut logs: BTreeMap<String, Vec<Verifier>> = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            let err = |detail: String| ConfigError::Line { line: i + 1, detail };
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (vkey, origin) = match line.split_once(char::is_whitespace) {
                Some((v, o)) => (v, o.trim()),
                None => (line, ""),
            };
            let key = Verifier::parse(vkey).map_err(|e| err(e.to_string()))?;
            if key.kind != ED25519 {
                return Err(err(format!("{} is a type 0x{:02x} key; a log signs checkpoints with an Ed25519 note key (type 0x01)", key.name, key.kind)));
            }
            let origin = if origin.is_empty() { key.name.clone() } else { origin.to_string() };
            if origin.chars().any(char::is_control) {
                return Err(err("the origin holds a control character".into()));
            }
            let keys = logs.entry(origin).or_default();
            if keys.iter().any(|k| k.name == key.name && k.key_id == key.key_id) {
                return Err(err(format!("key {}+{:08x} is listed twice for this origin", key.name, key.key_id)));
            }
            keys.push(key);
        }
        if logs.is_empty() {
            return Err(ConfigError::Empty);
        }
        Ok(KnownLogs { logs })
    }

    /// The keys of the log with this origin.
    pub fn keys(&self, origin: &str) -> Option<&[Verifier]> {
        self.logs.get(origin).map(Vec::as_slice)
    }
}

/// Why a witness could not be created or opened.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: io::Error,
    },
    /// The state file is not what a witness wrote. The witness refuses to start from nothing, which could cosign a
    /// split view.
    #[error("{path}: corrupt witness state: {detail}")]
    Corrupt {
        /// The file.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// The state path does not fit the call: missing for [`Witness::open`], existing for [`Witness::create`], or
    /// not a file name.
    #[error("{path}: {detail}")]
    State {
        /// The file.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// Another witness holds the state's lock.
    #[error("{path} is locked: another witness is running on this state")]
    Busy {
        /// The lock file.
        path: String,
    },
}

/// The state file: origin → the latest cosigned checkpoint note (the log's verified signatures and this witness's
/// cosignature). Size and root are read back from the note, so there is one copy of each.
#[derive(Serialize, Deserialize, Default)]
struct StateFile {
    logs: BTreeMap<String, String>,
}

/// The latest cosigned checkpoint of one log.
struct Latest {
    size: u64,
    root: Hash,
    note: String,
}

/// A witness: its cosigning key, the logs it knows, and their latest cosigned checkpoints.
pub struct Witness {
    cosigner: Cosigner,
    logs: KnownLogs,
    path: PathBuf,
    state: Mutex<BTreeMap<String, Latest>>,
    // Held for its lock: dropping it lets another witness open the state.
    _lock: File,
}

fn io_error(path: &Path) -> impl Fn(io::Error) -> WitnessError + '_ {
    move |source| WitnessError::Io { path: path.display().to_string(), source }
}

impl Witness {
    /// Create a witness with an empty state at `state` (a file; its folder is created). Refuses an existing state.
    pub fn create(state: &Path, cosigner: Cosigner, logs: KnownLogs) -> Result<Witness, WitnessError> {
        let lock = Witness::lock(state)?;
        if fs::exists(state).map_err(io_error(state))? {
            return Err(WitnessError::State { path: state.display().to_string(), detail: "already exists; open it instead".into() });
        }
        let witness = Witness { cosigner, logs, path: state.into(), state: Mutex::default(), _lock: lock };
        witness.persist(&BTreeMap::new()).map_err(io_error(state))?;
        Ok(witness)
    }

    /// Open the witness state at `state`, written by [`Witness::create`]. A missing or unreadable state is an error,
    /// never an empty state: forgetting what was cosigned would let a split view through.
    pub fn open(state: &Path, cosigner: Cosigner, logs: KnownLogs) -> Result<Witness, WitnessError> {
        let lock = Witness::lock(state)?;
        let bytes = match fs::read(state) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(WitnessError::State { path: state.display().to_string(), detail: "does not exist (create the witness first)".into() });
            }
            Err(e) => return Err(io_error(state)(e)),
        };
        let corrupt = |detail: String| WitnessError::Corrupt { path: state.display().to_string(), detail };
        let file: StateFile = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
        let mut latest = BTreeMap::new();
        for (origin, text) in file.logs {
            let note = Note::parse(text.as_bytes()).map_err(|e| corrupt(format!("{origin}: {e}")))?;
            let cp = Checkpoint::parse(&note.text).map_err(|e| corrupt(format!("{origin}: {e}")))?;
            if cp.origin != origin {
                return Err(corrupt(format!("the checkpoint of {origin:?} is for {:?}", cp.origin)));
            }
            latest.insert(origin, Latest { size: cp.size, root: cp.root, note: text });
        }
        Ok(Witness { cosigner, logs, path: state.into(), state: Mutex::new(latest), _lock: lock })
    }

    fn lock(state: &Path) -> Result<File, WitnessError> {
        if state.file_name().is_none() {
            return Err(WitnessError::State { path: state.display().to_string(), detail: "is not a file name".into() });
        }
        if let Some(dir) = state.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(io_error(dir))?;
        }
        let mut path = state.as_os_str().to_owned();
        path.push(".lock");
        let path = PathBuf::from(path);
        let file = fs::OpenOptions::new().write(true).create(true).truncate(false).open(&path).map_err(io_error(&path))?;
        match file.try_lock() {
            Ok(()) => Ok(file),
            Err(fs::TryLockError::WouldBlock) => Err(WitnessError::Busy { path: path.display().to_string() }),
            Err(fs::TryLockError::Error(e)) => Err(io_error(&path)(e)),
        }
    }

    fn persist(&self, state: &BTreeMap<String, Latest>) -> io::Result<()> {
        let file = StateFile { logs: state.iter().map(|(o, l)| (o.clone(), l.note.clone())).collect() };
        let bytes = serde_json::to_vec_pretty(&file).map_err(io::Error::other)?;
        crate::storage::write_durable(&self.path, &bytes, false)
    }

    /// The witness's verifier key (type 0x04), for the logs and clients that trust it.
    pub fn verifier(&self) -> Verifier {
        self.cosigner.verifier()
    }

    /// Answer an `add-checkpoint` request body, cosigning at the current time.
    pub fn add_checkpoint(&self, body: &[u8]) -> Response {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        match self.add(body, now) {
            Ok(lines) => Response::text(200, lines),
            Err(e) => e.response(),
        }
    }

    /// Check an `add-checkpoint` request body and cosign its checkpoint at POSIX time `time`: returns the
    /// cosignature line(s), the body of a 200. The new state is durable before this returns.
    pub fn add(&self, body: &[u8], time: u64) -> Result<String, AddError> {
        let Request { old, proof, note, checkpoint: cp } = parse_request(body)?;
        let keys = self.logs.keys(&cp.origin).ok_or_else(|| AddError::UnknownLog(cp.origin.clone()))?;
        note.verify(keys).map_err(AddError::Signature)?;
        if old > cp.size {
            return Err(AddError::OldTooLarge { old, size: cp.size });
        }
        // Held from the old-size check until the new state is saved (the spec's rollback race). The map is never
        // behind the file (see below), so a lock poisoned by a panic is safe to go on with.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (current, current_root) = state.get(&cp.origin).map_or((0, merkle::empty_root()), |l| (l.size, l.root));
        if old != current {
            return Err(AddError::Conflict { old, current });
        }
        if cp.size == 0 && cp.root != merkle::empty_root() {
            return Err(AddError::EmptyTreeRoot);
        }
        if old == 0 {
            // The empty tree is consistent with every tree.
            if !proof.is_empty() {
                return Err(AddError::ProofFromEmpty(proof.len()));
            }
        } else {
            merkle::verify_consistency(old, cp.size, &current_root, &cp.root, &proof).map_err(|source| AddError::Inconsistent {
                old,
                size: cp.size,
                source,
            })?;
        }
        let cosignature = self.cosigner.sign(&note.text, time).map_err(AddError::Sign)?;
        let line = cosignature.line();
        // What monitors get back: the log's signatures this witness verified, and its own cosignature.
        let mut signatures: Vec<Signature> = note.signatures.into_iter().filter(|s| keys.iter().any(|k| k.name == s.name && k.key_id == s.key_id)).collect();
        signatures.push(cosignature);
        let stored = Note { text: note.text, signatures }.encode();
        // The map moves first and is not rolled back if saving fails: a failed save may still have replaced the file,
        // and a map behind the file would let a later request take the file backwards. Ahead, it only holds a
        // checkpoint that was checked but whose cosignature was not returned.
        state.insert(cp.origin, Latest { size: cp.size, root: cp.root, note: stored });
        self.persist(&state).map_err(|source| AddError::Persist { path: self.path.display().to_string(), source })?;
        Ok(line)
    }

    /// The latest checkpoint cosigned for `origin`, with the log's signatures and this witness's cosignature.
    pub fn latest(&self, origin: &str) -> Option<String> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).get(origin).map(|l| l.note.clone())
    }

    /// Answer the monitoring read `GET <prefix>/<origin hash>/checkpoint`: `origin_hash` is the lowercase hex
    /// SHA-256 of the origin; 404 if this witness never cosigned for that log.
    pub fn get_checkpoint(&self, origin_hash: &str) -> Response {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match state.iter().find(|(origin, _)| hex::encode(Sha256::digest(origin.as_bytes())) == origin_hash) {
            Some((_, l)) => Response::text(200, l.note.clone()),
            None => Response::text(404, "no checkpoint cosigned for this log\n"),
        }
    }
}

/// Why the log side could not build a request or read a witness's answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The checkpoint is not a signed note.
    #[error("checkpoint: {0}")]
    Note(#[from] NoteError),
    /// The note's text is not a checkpoint.
    #[error("{0}")]
    Checkpoint(String),
    /// The witness has cosigned a larger tree than this checkpoint: the log lost entries, or the witness saw a fork.
    #[error("the witness cosigned size {witness}, larger than this checkpoint's {log}")]
    WitnessAhead {
        /// The witness's size.
        witness: u64,
        /// The checkpoint's size.
        log: u64,
    },
    /// The consistency proof could not be made.
    #[error("consistency proof from {old} to {size}: {source}")]
    Proof {
        /// The witness's size.
        old: u64,
        /// The checkpoint's size.
        size: u64,
        /// Why.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The witness refused the checkpoint with another status than 409.
    #[error("the witness answered {status}: {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// Its body, as text.
        message: String,
    },
    /// A 200 or 409 body is not what the spec says.
    #[error("malformed witness answer: {0}")]
    BadAnswer(String),
}

/// Build an `add-checkpoint` body for the signed checkpoint note `checkpoint`, given the size the witness last
/// cosigned (0 if unknown: the witness then answers 409 with its size) and `prove(old, new)`, which makes the
/// consistency proof (called only when 0 < old < new).
pub fn build_request<E>(checkpoint: &str, witness_size: u64, prove: impl FnOnce(u64, u64) -> Result<Vec<Hash>, E>) -> Result<Vec<u8>, ClientError>
where
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let note = Note::parse(checkpoint.as_bytes())?;
    let cp = checkpoint_of(&note).map_err(ClientError::Checkpoint)?;
    if witness_size > cp.size {
        return Err(ClientError::WitnessAhead { witness: witness_size, log: cp.size });
    }
    let proof = if witness_size == 0 || witness_size == cp.size {
        Vec::new()
    } else {
        prove(witness_size, cp.size).map_err(|e| ClientError::Proof { old: witness_size, size: cp.size, source: e.into() })?
    };
    if proof.len() > MAX_PROOF_LINES {
        let source = format!("{} hashes; a witness takes at most {MAX_PROOF_LINES}", proof.len()).into();
        return Err(ClientError::Proof { old: witness_size, size: cp.size, source });
    }
    let mut body = format!("old {witness_size}\n");
    for h in &proof {
        body.push_str(&STANDARD.encode(h));
        body.push('\n');
    }
    body.push('\n');
    body.push_str(checkpoint);
    Ok(body.into_bytes())
}

/// What a witness answered to `add-checkpoint`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// 200: its cosignature(s), to check and add with [`merge_cosignatures`].
    Cosigned(Vec<Signature>),
    /// 409: the size it last cosigned; build the request again from that size.
    Conflict(u64),
}

/// Read a witness's answer to `add-checkpoint`.
pub fn parse_response(status: u16, body: &[u8]) -> Result<Reply, ClientError> {
    let bad = |what: &str| ClientError::BadAnswer(what.into());
    match status {
        200 => {
            let text = std::str::from_utf8(body).map_err(|_| bad("cosignatures are not UTF-8"))?;
            let lines = text.strip_suffix('\n').ok_or_else(|| bad("cosignatures do not end in a newline"))?;
            let signatures = lines.split('\n').map(Signature::parse_line).collect::<Result<Vec<_>, _>>().map_err(|e| ClientError::BadAnswer(e.to_string()))?;
            Ok(Reply::Cosigned(signatures))
        }
        409 => body.strip_suffix(b"\n").and_then(decimal).map(Reply::Conflict).ok_or_else(|| bad("a 409 body is not a decimal size and a newline")),
        status => Err(ClientError::Refused { status, message: String::from_utf8_lossy(body).trim_end().to_string() }),
    }
}

/// Add cosignatures to the signed checkpoint note `checkpoint`. Cosignatures by keys not in `witnesses` (type 0x04)
/// are dropped, as the spec asks of clients; those by known keys must verify. The note's signatures keep their
/// order, a witness's new cosignature replaces its old one and goes last (as Go's `note.Sign`), and the result holds
/// at most [`MAX_SIGNATURES`].
pub fn merge_cosignatures(checkpoint: &str, cosignatures: &[Signature], witnesses: &[Verifier]) -> Result<String, NoteError> {
    let mut note = Note::parse(checkpoint.as_bytes())?;
    let same_key = |a: &Signature, b: &Signature| a.name == b.name && a.key_id == b.key_id;
    let mut new: Vec<Signature> = Vec::new();
    for s in cosignatures {
        let known = witnesses.iter().any(|w| w.kind == COSIGNATURE_V1 && w.name == s.name && w.key_id == s.key_id);
        if known && !new.iter().any(|n| same_key(n, s)) {
            new.push(s.clone());
        }
    }
    Note { text: note.text.clone(), signatures: new.clone() }.verify_cosignatures(witnesses)?;
    note.signatures.retain(|s| !new.iter().any(|n| same_key(n, s)));
    note.signatures.extend(new);
    if note.signatures.len() > MAX_SIGNATURES {
        return Err(NoteError::Malformed(format!("{} signatures, more than {MAX_SIGNATURES}", note.signatures.len())));
    }
    Ok(note.encode())
}
