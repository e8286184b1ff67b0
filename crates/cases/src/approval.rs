//! Approval signatures, and how a reader of the transparency log checks them.
//!
//! Every reviewer has an Ed25519 key, made with the reviewer. Its public half is published on the log in an `account`
//! entry (`action` `add`, or `key` for a reviewer of an older store) before the reviewer can approve anything, and an
//! `account` entry with `action` `remove` names the key of a reviewer removed from then on. The store keeps the seed
//! and signs each approval with the approver's key once the approver has signed in.
//!
//! The `decision` entry of an approval carries `key_id` and `signature`. The signature is over
//! [`CONTEXT`] followed by the entry's RFC 8785 canonical JSON without its `signature` field: the case, the case's
//! `version` after the approval, the decision (`outcome`, `provider`, `services`, and `decision_sha256`, the SHA-256
//! of the decision with its unit, which the log does not show), the approver's name (`actor`), the time, and the key
//! id. A reader takes the public key from the `account` entry with the same `key_id` ([`published_key`]) and checks
//! the approval with [`verify_approval`]; two approvals of one decision under two different key ids were made by two
//! different accounts.
//!
//! Why publish keys on their own entries rather than inside each approval: a key that comes with the signature it
//! checks proves nothing, since the store could make a new one for every approval. A key published when its account
//! was made is bound, on the append-only log and before any approval it signs, to one name; an account made just
//! for one approval shows up as such. What the signature cannot show is that a person held the key: the server holds
//! it, and signs for whoever signed in as that account.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use enforce::Family;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::model::{Outcome, Unit};

/// What an approval signature signs before the entry's bytes, so it can never be taken for another kind of signature.
pub const CONTEXT: &[u8] = b"oversight approval signature v1\n";

/// The id of an approval key: the hex of the first 16 bytes of the public key's SHA-256.
pub fn key_id(public_key: &[u8; 32]) -> String {
    hex::encode(&Sha256::digest(public_key)[..16])
}

/// The SHA-256 (hex) of a decision as the approvals sign it: canonical JSON of its outcome, unit and services.
pub(crate) fn decision_sha256(outcome: Outcome, unit: Option<&Unit>, services: &[Family]) -> String {
    let v = json!({"outcome": outcome, "unit": unit, "services": services});
    let bytes = tlog::entry::canonical_value(&v).expect("a decision is a small JSON object");
    hex::encode(Sha256::digest(&bytes))
}

/// The bytes an approval entry's signature covers: [`CONTEXT`], then the entry without `signature`, canonical.
fn message(entry: &Map<String, Value>) -> Option<Vec<u8>> {
    let mut unsigned = entry.clone();
    unsigned.remove("signature");
    let mut out = CONTEXT.to_vec();
    out.extend(tlog::entry::canonical_value(&Value::Object(unsigned)).ok()?);
    Some(out)
}

/// Sign a complete approval entry (its `entry`, `kind` and `key_id` already in it), adding `signature` (base64).
pub(crate) fn sign(entry: &mut Map<String, Value>, key: &SigningKey) {
    let message = message(entry).expect("an approval entry is a JSON object of entry size");
    entry.insert("signature".into(), STANDARD.encode(key.sign(&message).to_bytes()).into());
}

/// Whether `entry_json`, a `decision` entry of an `approve`, is signed by `public_key`: its `key_id` is that key's
/// and its `signature` checks (strict Ed25519 verification). False for anything else, malformed input included.
pub fn verify_approval(entry_json: &str, public_key: &[u8; 32]) -> bool {
    let Ok(Value::Object(entry)) = serde_json::from_str::<Value>(entry_json) else { return false };
    if entry.get("kind").and_then(Value::as_str) != Some("decision") || entry.get("action").and_then(Value::as_str) != Some("approve") {
        return false;
    }
    if entry.get("key_id").and_then(Value::as_str) != Some(key_id(public_key).as_str()) {
        return false;
    }
    let Some(signature) = entry.get("signature").and_then(Value::as_str).and_then(|s| STANDARD.decode(s).ok()) else { return false };
    let (Ok(signature), Ok(key), Some(message)) = (Signature::from_slice(&signature), VerifyingKey::from_bytes(public_key), message(&entry)) else {
        return false;
    };
    key.verify_strict(&message, &signature).is_ok()
}

/// A reviewer's approval key as an `account` log entry publishes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedKey {
    /// The reviewer's name, as registered.
    pub name: String,
    /// The key id ([`key_id`] of `public_key`).
    pub key_id: String,
    /// The Ed25519 public key.
    pub public_key: [u8; 32],
}

/// The key an `account` entry publishes (`action` `add` or `key`), if `entry_json` is one and its `key_id` matches
/// its `public_key`.
pub fn published_key(entry_json: &str) -> Option<PublishedKey> {
    let v: Value = serde_json::from_str(entry_json).ok()?;
    if v.get("kind")?.as_str()? != "account" || !matches!(v.get("action")?.as_str()?, "add" | "key") {
        return None;
    }
    let public_key: [u8; 32] = STANDARD.decode(v.get("public_key")?.as_str()?).ok()?.try_into().ok()?;
    let (id, name) = (v.get("key_id")?.as_str()?, v.get("name")?.as_str()?);
    (id == key_id(&public_key)).then(|| PublishedKey { name: name.to_string(), key_id: id.to_string(), public_key })
}

/// A new approval key, from the operating system's randomness.
pub(crate) fn new_key() -> SigningKey {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).expect("the operating system's random number generator works");
    SigningKey::from_bytes(&seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approval(key: &SigningKey) -> String {
        let mut m = Map::new();
        for (k, v) in [("kind", "decision"), ("action", "approve"), ("case", "case-000001"), ("actor", "ann"), ("entry", "t.0")] {
            m.insert(k.into(), v.into());
        }
        m.insert("version".into(), 5.into());
        m.insert("key_id".into(), key_id(key.verifying_key().as_bytes()).into());
        sign(&mut m, key);
        String::from_utf8(tlog::entry::canonical_value(&Value::Object(m)).unwrap()).unwrap()
    }

    #[test]
    fn an_approval_verifies_under_its_key_only_and_not_once_changed() {
        let (ann, bob) = (new_key(), new_key());
        let entry = approval(&ann);
        assert!(verify_approval(&entry, ann.verifying_key().as_bytes()));
        assert!(!verify_approval(&entry, bob.verifying_key().as_bytes()), "another key");
        for (from, to) in [("\"version\":5", "\"version\":6"), ("\"actor\":\"ann\"", "\"actor\":\"bob\""), ("case-000001", "case-000002")] {
            assert!(entry.contains(from), "{entry}");
            assert!(!verify_approval(&entry.replace(from, to), ann.verifying_key().as_bytes()), "{to}");
        }
        // The same signature under bob's key id is still ann's signature.
        let relabelled = entry.replace(&key_id(ann.verifying_key().as_bytes()), &key_id(bob.verifying_key().as_bytes()));
        assert!(!verify_approval(&relabelled, bob.verifying_key().as_bytes()));
        assert!(!verify_approval("not json", ann.verifying_key().as_bytes()));
        assert!(!verify_approval(&entry.replace("approve", "decide"), ann.verifying_key().as_bytes()));
    }

    #[test]
    fn a_published_key_must_match_its_id() {
        let k = new_key();
        let public = *k.verifying_key().as_bytes();
        let entry = json!({"kind": "account", "action": "add", "name": "ann", "key_id": key_id(&public), "public_key": STANDARD.encode(public)});
        let got = published_key(&entry.to_string()).unwrap();
        assert_eq!((got.name.as_str(), got.public_key), ("ann", public));
        let wrong = json!({"kind": "account", "action": "add", "name": "ann", "key_id": "00", "public_key": STANDARD.encode(public)});
        assert_eq!(published_key(&wrong.to_string()), None);
        assert_eq!(key_id(&public).len(), 32);
    }
}
