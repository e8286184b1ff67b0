//! Log entries: canonical JSON (RFC 8785), the entry kinds oversight writes, and tenant pseudonyms.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::log::MAX_ENTRY;

/// The entry kinds oversight itself writes (DESIGN.md §6); operators may log other kinds.
pub const KINDS: [&str; 6] = ["policy-pack", "scan", "finding", "decision", "enforcement", "lift"];

/// Why an entry was refused.
#[derive(Debug, thiserror::Error)]
pub enum EntryError {
    /// Not valid JSON.
    #[error("not valid JSON")]
    Json(#[from] serde_json::Error),
    /// Valid JSON, but not an object.
    #[error("an entry must be a JSON object")]
    NotObject,
    /// Larger than an entry bundle can hold.
    #[error("entry is {0} bytes as canonical JSON; the most is 65,535")]
    TooLarge(usize),
}

/// The RFC 8785 canonical form of a JSON object, checked against the entry size limit.
pub fn canonical(json: &str) -> Result<Vec<u8>, EntryError> {
    let v: serde_json::Value = serde_json::from_str(json)?;
    canonical_value(&v)
}

/// The canonical form of an already parsed JSON object.
pub fn canonical_value(v: &serde_json::Value) -> Result<Vec<u8>, EntryError> {
    if !v.is_object() {
        return Err(EntryError::NotObject);
    }
    let bytes = serde_json_canonicalizer::to_vec(v)?;
    if bytes.len() > MAX_ENTRY {
        return Err(EntryError::TooLarge(bytes.len()));
    }
    Ok(bytes)
}

/// A tenant's pseudonym: hex HMAC-SHA256 of the tenant id under the provider's key.
pub fn pseudonym(key: &[u8], tenant: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(tenant.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Whether `pseudonym` is the pseudonym of `tenant` under `key` (constant-time comparison).
pub fn is_pseudonym_of(key: &[u8], tenant: &str, pseudonym: &str) -> bool {
    let Ok(want) = hex::decode(pseudonym) else { return false };
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(tenant.as_bytes());
    mac.verify_slice(&want).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_and_normalises_numbers() {
        assert_eq!(canonical(r#"{"b": 1.0, "a": [true, null, "x"], "c": 1e3}"#).unwrap(), br#"{"a":[true,null,"x"],"b":1,"c":1000}"#);
        assert!(matches!(canonical("[1]"), Err(EntryError::NotObject)));
        assert!(matches!(canonical("{"), Err(EntryError::Json(_))));
        let big = format!(r#"{{"x":"{}"}}"#, "a".repeat(70_000));
        assert!(matches!(canonical(&big), Err(EntryError::TooLarge(_))));
    }

    #[test]
    fn pseudonyms_are_checkable_by_whoever_holds_the_preimage() {
        let p = pseudonym(b"provider-key", "sub-0042");
        assert_eq!(p.len(), 64);
        assert!(is_pseudonym_of(b"provider-key", "sub-0042", &p));
        assert!(!is_pseudonym_of(b"provider-key", "sub-0043", &p));
        assert!(!is_pseudonym_of(b"other-key", "sub-0042", &p));
        // RFC 4231 test case 2: HMAC-SHA256("Jefe", "what do ya want for nothing?").
        assert_eq!(pseudonym(b"Jefe", "what do ya want for nothing?"), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }
}
