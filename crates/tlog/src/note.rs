//! C2SP signed-note with Ed25519 (signature type 0x01), verifier keys, and tlog-cosignature/v1 (type 0x04).
//!
//! A note is UTF-8 text ending in a newline, a blank line, then signature lines `— <name> <base64(key ID ||
//! signature)>`. Key ID = SHA-256(name || "\n" || type || public key)[:4].

use base64::Engine;
use base64::alphabet;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{GeneralPurpose, GeneralPurposeConfig};
use ed25519_dalek::{Signer as _, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest, Sha256};

/// Signature type of a plain Ed25519 note key.
pub const ED25519: u8 = 0x01;
/// Signature type of an Ed25519 tlog-cosignature/v1 witness key.
pub const COSIGNATURE_V1: u8 = 0x04;
/// Most signatures accepted on one note (Go's limit; C2SP requires accepting at least 16).
pub const MAX_SIGNATURES: usize = 100;

/// How signature lines are decoded: as Go's `base64.StdEncoding` (padding required, non-zero pad bits allowed), as
/// Go's note package and torchwood do, so a known key's signature corrupted in its last character fails as a bad
/// signature (a witness's 403), not as a malformed note (400). Pad bits are not part of the decoded bytes.
const SIGNATURE_BASE64: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true));

/// Why a note, key or signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// A verifier or signer key string is malformed.
    #[error("malformed key: {0}")]
    Key(String),
    /// The note text or its signature block is malformed.
    #[error("malformed note: {0}")]
    Malformed(String),
    /// A signature by a known key does not verify.
    #[error("invalid signature for key {name}+{key_id:08x}")]
    BadSignature {
        /// The key name.
        name: String,
        /// The key ID.
        key_id: u32,
    },
    /// No signature on the note is by a known key.
    #[error("no signature by a known key")]
    Unverified,
}

/// The 4-byte key ID of a key.
pub fn key_id(name: &str, kind: u8, public: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([kind]);
    h.update(public);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// The message a tlog-cosignature/v1 signature signs: `cosignature/v1\ntime <time>\n` then the checkpoint text.
pub fn cosignature_message(time: u64, text: &str) -> String {
    format!("cosignature/v1\ntime {time}\n{text}")
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(['+', ' ']) && name.chars().all(|c| !c.is_control() && !c.is_whitespace())
}

/// A verifier key: `<name>+<hex key ID>+<base64(type || public key)>`.
#[derive(Debug, Clone)]
pub struct Verifier {
    /// Key name.
    pub name: String,
    /// Key ID.
    pub key_id: u32,
    /// Signature type (0x01 note, 0x04 cosignature/v1).
    pub kind: u8,
    key: VerifyingKey,
}

impl Verifier {
    /// Parse a verifier key string; the key ID must match the key.
    pub fn parse(vkey: &str) -> Result<Verifier, NoteError> {
        let mut parts = vkey.splitn(3, '+');
        let (name, id, key) = match (parts.next(), parts.next(), parts.next()) {
            (Some(n), Some(i), Some(k)) => (n, i, k),
            _ => return Err(NoteError::Key("expected <name>+<key id>+<key>".into())),
        };
        if !valid_name(name) {
            return Err(NoteError::Key(format!("bad key name {name:?}")));
        }
        let given = (id.len() == 8).then(|| u32::from_str_radix(id, 16).ok()).flatten().ok_or_else(|| NoteError::Key(format!("bad key ID {id:?}")))?;
        let raw = STANDARD.decode(key).map_err(|_| NoteError::Key("key is not base64".into()))?;
        let (kind, public) = raw.split_first().ok_or_else(|| NoteError::Key("empty key".into()))?;
        if *kind != ED25519 && *kind != COSIGNATURE_V1 {
            return Err(NoteError::Key(format!("unknown signature type 0x{kind:02x}")));
        }
        let public: [u8; 32] = public.try_into().map_err(|_| NoteError::Key(format!("Ed25519 key is {} bytes, not 32", public.len())))?;
        if key_id(name, *kind, &public) != given {
            return Err(NoteError::Key("key ID does not match the key".into()));
        }
        let key = VerifyingKey::from_bytes(&public).map_err(|e| NoteError::Key(e.to_string()))?;
        Ok(Verifier { name: name.into(), key_id: given, kind: *kind, key })
    }

    /// The key string.
    pub fn to_vkey(&self) -> String {
        let mut raw = vec![self.kind];
        raw.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.key_id, STANDARD.encode(raw))
    }
}

/// An Ed25519 note signer.
pub struct Signer {
    /// Key name.
    pub name: String,
    key: SigningKey,
}

impl Signer {
    /// A signer from a 32-byte Ed25519 seed.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Signer, NoteError> {
        if !valid_name(name) {
            return Err(NoteError::Key(format!("bad key name {name:?}")));
        }
        Ok(Signer { name: name.into(), key: SigningKey::from_bytes(seed) })
    }

    /// Parse Go's `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>`.
    pub fn parse(skey: &str) -> Result<Signer, NoteError> {
        let rest = skey.strip_prefix("PRIVATE+KEY+").ok_or_else(|| NoteError::Key("expected PRIVATE+KEY+...".into()))?;
        let mut parts = rest.splitn(3, '+');
        let (name, _id, key) = match (parts.next(), parts.next(), parts.next()) {
            (Some(n), Some(i), Some(k)) => (n, i, k),
            _ => return Err(NoteError::Key("expected PRIVATE+KEY+<name>+<id>+<key>".into())),
        };
        let raw = STANDARD.decode(key).map_err(|_| NoteError::Key("key is not base64".into()))?;
        match raw.split_first() {
            Some((&ED25519, seed)) => Signer::from_seed(name, seed.try_into().map_err(|_| NoteError::Key("seed is not 32 bytes".into()))?),
            _ => Err(NoteError::Key("not an Ed25519 private key".into())),
        }
    }

    /// The verifier of this signer (type 0x01).
    pub fn verifier(&self) -> Verifier {
        let public = self.key.verifying_key();
        Verifier { name: self.name.clone(), key_id: key_id(&self.name, ED25519, public.as_bytes()), kind: ED25519, key: public }
    }

    /// The signature line for `text`.
    pub fn sign_line(&self, text: &str) -> String {
        Signature { name: self.name.clone(), key_id: self.verifier().key_id, body: self.key.sign(text.as_bytes()).to_bytes().to_vec() }.line()
    }
}

/// An Ed25519 tlog-cosignature/v1 signer (type 0x04): a witness key.
pub struct Cosigner {
    /// Key name (the witness name).
    pub name: String,
    key: SigningKey,
}

impl Cosigner {
    /// A cosigner from a 32-byte Ed25519 seed.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Cosigner, NoteError> {
        let Signer { name, key } = Signer::from_seed(name, seed)?;
        Ok(Cosigner { name, key })
    }

    /// Parse the same `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>` as [`Signer::parse`] (as
    /// transparency-dev's `NewSignerForCosignatureV1` does): the seed is Ed25519, the key ID is computed with 0x04.
    pub fn parse(skey: &str) -> Result<Cosigner, NoteError> {
        let Signer { name, key } = Signer::parse(skey)?;
        Ok(Cosigner { name, key })
    }

    /// The verifier of this cosigner (type 0x04).
    pub fn verifier(&self) -> Verifier {
        let public = self.key.verifying_key();
        Verifier { name: self.name.clone(), key_id: key_id(&self.name, COSIGNATURE_V1, public.as_bytes()), kind: COSIGNATURE_V1, key: public }
    }

    /// The cosignature of the checkpoint text `text` at POSIX time `time`, which must be in 1..=2^63-1 (a witness's
    /// cosignature may not omit the time, and the spec caps it); [`Signature::line`] gives its line.
    pub fn sign(&self, text: &str, time: u64) -> Result<Signature, NoteError> {
        check_text(text)?;
        if time == 0 || time > i64::MAX as u64 {
            return Err(NoteError::Malformed(format!("cosignature time {time} is not in 1..=2^63-1")));
        }
        let sig = self.key.sign(cosignature_message(time, text).as_bytes());
        let mut body = time.to_be_bytes().to_vec();
        body.extend_from_slice(&sig.to_bytes());
        Ok(Signature { name: self.name.clone(), key_id: self.verifier().key_id, body })
    }
}

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// Key name.
    pub name: String,
    /// Key ID.
    pub key_id: u32,
    /// What follows the key ID (64 bytes for Ed25519; 8-byte timestamp + 64 for cosignature/v1).
    pub body: Vec<u8>,
}

impl Signature {
    /// Parse one signature line, `— <name> <base64(key ID || signature)>`, without its newline.
    pub fn parse_line(line: &str) -> Result<Signature, NoteError> {
        let rest = line.strip_prefix("\u{2014} ").ok_or_else(|| NoteError::Malformed(format!("not a signature line: {line:?}")))?;
        let (name, b64) = rest.split_once(' ').ok_or_else(|| NoteError::Malformed("signature line without a signature".into()))?;
        if !valid_name(name) {
            return Err(NoteError::Malformed(format!("bad key name {name:?}")));
        }
        let raw = SIGNATURE_BASE64.decode(b64).map_err(|_| NoteError::Malformed("signature is not base64".into()))?;
        if raw.len() < 5 {
            return Err(NoteError::Malformed("signature too short".into()));
        }
        Ok(Signature { name: name.into(), key_id: u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]), body: raw[4..].to_vec() })
    }

    /// The signature line, with its newline.
    pub fn line(&self) -> String {
        let mut raw = self.key_id.to_be_bytes().to_vec();
        raw.extend_from_slice(&self.body);
        format!("\u{2014} {} {}\n", self.name, STANDARD.encode(raw))
    }
}

/// A parsed note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The signed text, ending in a newline.
    pub text: String,
    /// Its signatures, in order.
    pub signatures: Vec<Signature>,
}

/// Sign `text` (which must end in a newline) with every signer.
pub fn sign(text: &str, signers: &[&Signer]) -> Result<String, NoteError> {
    check_text(text)?;
    let mut out = format!("{text}\n");
    for s in signers {
        out.push_str(&s.sign_line(text));
    }
    Ok(out)
}

fn check_text(text: &str) -> Result<(), NoteError> {
    if !text.ends_with('\n') {
        return Err(NoteError::Malformed("text does not end in a newline".into()));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(NoteError::Malformed("text holds a control character".into()));
    }
    Ok(())
}

impl Note {
    /// Parse a signed note (without checking signatures).
    pub fn parse(bytes: &[u8]) -> Result<Note, NoteError> {
        let s = std::str::from_utf8(bytes).map_err(|_| NoteError::Malformed("not UTF-8".into()))?;
        let split = s.rfind("\n\n").ok_or_else(|| NoteError::Malformed("no blank line before the signatures".into()))?;
        let (text, sigs) = (&s[..split + 1], &s[split + 2..]);
        check_text(text)?;
        if !sigs.ends_with('\n') {
            return Err(NoteError::Malformed("signature block does not end in a newline".into()));
        }
        let mut signatures = Vec::new();
        for line in sigs[..sigs.len() - 1].split('\n') {
            signatures.push(Signature::parse_line(line)?);
        }
        if signatures.is_empty() {
            return Err(NoteError::Malformed("no signatures".into()));
        }
        if signatures.len() > MAX_SIGNATURES {
            return Err(NoteError::Malformed(format!("{} signatures, more than {MAX_SIGNATURES}", signatures.len())));
        }
        Ok(Note { text: text.into(), signatures })
    }

    /// The note as text: its text, a blank line, then its signature lines in order.
    pub fn encode(&self) -> String {
        let mut out = format!("{}\n", self.text);
        for s in &self.signatures {
            out.push_str(&s.line());
        }
        out
    }

    /// Check the signatures by known Ed25519 note keys. Returns the names that verified; signatures by unknown keys
    /// are skipped. A bad signature by a known key, or no verified signature at all, is an error.
    pub fn verify(&self, verifiers: &[Verifier]) -> Result<Vec<String>, NoteError> {
        let mut ok = Vec::new();
        for s in &self.signatures {
            let Some(v) = verifiers.iter().find(|v| v.kind == ED25519 && v.name == s.name && v.key_id == s.key_id) else { continue };
            let sig = ed25519_dalek::Signature::from_slice(&s.body).map_err(|_| NoteError::BadSignature { name: s.name.clone(), key_id: s.key_id })?;
            v.key.verify(self.text.as_bytes(), &sig).map_err(|_| NoteError::BadSignature { name: s.name.clone(), key_id: s.key_id })?;
            ok.push(s.name.clone());
        }
        if ok.is_empty() { Err(NoteError::Unverified) } else { Ok(ok) }
    }

    /// Check tlog-cosignature/v1 signatures by known witness keys (type 0x04) over this checkpoint note. Returns
    /// (witness name, timestamp) for each that verified.
    pub fn verify_cosignatures(&self, witnesses: &[Verifier]) -> Result<Vec<(String, u64)>, NoteError> {
        let mut ok = Vec::new();
        for s in &self.signatures {
            let Some(v) = witnesses.iter().find(|v| v.kind == COSIGNATURE_V1 && v.name == s.name && v.key_id == s.key_id) else { continue };
            let bad = || NoteError::BadSignature { name: s.name.clone(), key_id: s.key_id };
            if s.body.len() != 72 {
                return Err(bad());
            }
            let time = u64::from_be_bytes(s.body[..8].try_into().expect("8 bytes"));
            let message = cosignature_message(time, &self.text);
            let sig = ed25519_dalek::Signature::from_slice(&s.body[8..]).map_err(|_| bad())?;
            v.key.verify(message.as_bytes(), &sig).map_err(|_| bad())?;
            ok.push((s.name.clone(), time));
        }
        Ok(ok)
    }
}
