//! The auditor's checks (`tlog::verify`) on a good log, and each way a log can fail them: a tampered tile or
//! bundle, a wrong key, a missing witness quorum, a rollback, a fork, growth that does not extend what was seen.

use tlog::log::{Checkpoint, Log};
use tlog::merkle::{self, ProofError};
use tlog::note::{NoteError, Verifier};
use tlog::storage::{Area, MemStorage, Storage};
use tlog::verify::{
    CHECKPOINT, CONSISTENCY, Check, ConsistencyError, Consistent, ENTRY, EVERY_TILE, InclusionError, Options, QUORUM, ROOT, Report, SIGNATURE, check_proof,
    consistency, entry_inclusion, verify,
};

mod fixture;
use fixture::{Witness, entry, log_of, reader};

/// A log of `n` test entries.
fn log(n: u64) -> (MemStorage, Log) {
    log_of(&(0..n).map(entry).collect::<Vec<_>>())
}

/// The published checkpoint of a log.
fn checkpoint(storage: &MemStorage) -> Checkpoint {
    reader(storage).checkpoint().unwrap().1
}

/// Every check, and entry 5, against the log's own key.
fn everything(log: &Log) -> Options {
    Options { keys: vec![log.verifier()], entry: Some(5), full: true, ..Options::default() }
}

fn check<'a>(r: &'a Report, name: &str) -> &'a Check {
    r.checks.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no {name} check in {:?}", r.checks))
}

fn names(r: &Report) -> Vec<&str> {
    r.checks.iter().map(|c| c.name.as_str()).collect()
}

/// Replace the first `old` in a public file by `new`, of the same length (a forgery that keeps the layout).
fn tamper(storage: &MemStorage, path: &str, old: &[u8], new: &[u8]) {
    assert_eq!(old.len(), new.len());
    let mut bytes = storage.get(Area::Public, path).unwrap().unwrap();
    let at = bytes.windows(old.len()).position(|w| w == old).unwrap_or_else(|| panic!("{path} holds no {old:?}"));
    bytes[at..at + new.len()].copy_from_slice(new);
    storage.put(Area::Public, path, &bytes).unwrap();
}

#[test]
fn a_good_log_passes_every_check_with_the_wording_of_the_command_line() {
    let (storage, mut log) = log(100);
    let remembered = checkpoint(&storage);
    log.append(&(100..300).map(entry).collect::<Vec<_>>()).unwrap();
    let (w1, w2) = (Witness::new("w1.example", 1), Witness::new("w2.example", 2));
    w1.cosign(&storage, 1_700_000_000);
    w2.cosign(&storage, 1_700_000_001);
    let opts = Options { witnesses: vec![w1.verifier(), w2.verifier()], quorum: 2, ..everything(&log) };
    let r = verify(&reader(&storage), &opts, Some(&remembered));
    assert_eq!(names(&r), [SIGNATURE, QUORUM, ROOT, EVERY_TILE, ENTRY, CONSISTENCY]);
    assert!(r.holds(), "{:?}", r.checks);
    let cp = checkpoint(&storage);
    assert_eq!(check(&r, SIGNATURE).detail, "signed by example.org/audit");
    assert_eq!(check(&r, QUORUM).detail, "2 of 2 required cosignatures verify");
    assert_eq!(check(&r, ROOT).detail, format!("size 300 root {}", base64(&cp.root)));
    assert_eq!(check(&r, EVERY_TILE).detail, "300 entries rebuild every tile and the checkpoint root");
    assert_eq!(check(&r, ENTRY).detail, r#"entry 5: {"kind":"test","n":5}"#);
    assert_eq!(check(&r, CONSISTENCY).detail, "size 300 extends the remembered size 100");
    assert_eq!(r.checkpoint, Some(cp.clone()));
    assert_eq!(r.entry, Some(entry(5)));

    // The same checkpoint again; without witnesses, --full or --entry only the signature and root are checked.
    let r = verify(&reader(&storage), &Options { keys: vec![log.verifier()], ..Options::default() }, Some(&cp));
    assert_eq!(names(&r), [SIGNATURE, ROOT, CONSISTENCY]);
    assert_eq!(check(&r, CONSISTENCY).detail, "same checkpoint as last time");
    assert!(r.holds());
}

#[test]
fn checks_serialise_as_the_command_line_prints_them_in_json() {
    let (storage, log) = log(3);
    let r = verify(&reader(&storage), &Options { keys: vec![log.verifier()], ..Options::default() }, None);
    let json = serde_json::to_value(&r.checks[0]).unwrap();
    assert_eq!(json, serde_json::json!({"check": "log signature", "holds": true, "detail": "signed by example.org/audit"}));
    assert_eq!(serde_json::from_value::<Check>(json).unwrap(), r.checks[0]);
}

#[test]
fn an_unreadable_checkpoint_is_the_only_check() {
    let (storage, log) = log(3);
    storage.delete(Area::Public, "checkpoint").unwrap();
    let r = verify(&reader(&storage), &everything(&log), None);
    assert_eq!(names(&r), [CHECKPOINT]);
    assert!(!r.holds());
    assert!(check(&r, CHECKPOINT).detail.contains("memory:public/checkpoint"), "{:?}", r.checks);
    assert_eq!(r.checkpoint, None);
}

#[test]
fn a_tampered_right_edge_tile_breaks_the_root() {
    let (storage, log) = log(300);
    let mut tile = storage.get(Area::Public, "tile/0/001.p/44").unwrap().unwrap();
    tile[0] ^= 1;
    storage.put(Area::Public, "tile/0/001.p/44", &tile).unwrap();
    let r = verify(&reader(&storage), &everything(&log), None);
    assert!(!check(&r, ROOT).holds);
    assert!(check(&r, ROOT).detail.starts_with("tiles give "), "{:?}", r.checks);
    assert!(!check(&r, EVERY_TILE).holds);
    assert!(check(&r, SIGNATURE).holds);
    assert!(!r.holds());
}

#[test]
fn a_tampered_full_tile_is_found_only_by_the_full_check() {
    let (storage, log) = log(300);
    let mut tile = storage.get(Area::Public, "tile/0/000").unwrap().unwrap();
    tile[32 * 7] ^= 1;
    storage.put(Area::Public, "tile/0/000", &tile).unwrap();
    // The root reads the level-1 hash of a full tile, not the tile itself (an inclusion proof inside it would).
    let r = verify(&reader(&storage), &Options { full: false, entry: Some(280), ..everything(&log) }, None);
    assert!(r.holds(), "{:?}", r.checks);
    let r = verify(&reader(&storage), &Options { full: false, ..everything(&log) }, None);
    assert_eq!(check(&r, ENTRY).detail, "entry 5: recomputed root does not match");
    let r = verify(&reader(&storage), &everything(&log), None);
    assert!(check(&r, ROOT).holds);
    assert!(!check(&r, EVERY_TILE).holds);
    assert!(check(&r, EVERY_TILE).detail.contains("tile/0/000 differs from the tile rebuilt from the entries"), "{:?}", r.checks);
}

#[test]
fn a_tampered_entry_fails_its_inclusion_and_the_full_check() {
    let (storage, log) = log(300);
    tamper(&storage, "tile/entries/000", br#""n":5}"#, br#""n":9}"#);
    let r = verify(&reader(&storage), &everything(&log), None);
    assert!(check(&r, ROOT).holds);
    assert!(!check(&r, EVERY_TILE).holds);
    assert_eq!(check(&r, ENTRY).detail, "entry 5: recomputed root does not match");
    assert!(!check(&r, ENTRY).holds);
    assert_eq!(r.entry, None);
}

#[test]
fn an_entry_outside_the_log_fails() {
    let (storage, log) = log(3);
    let r = verify(&reader(&storage), &Options { entry: Some(3), ..everything(&log) }, None);
    assert_eq!(check(&r, ENTRY).detail, "entry 3: entry 3 is not inside size 3");
    assert!(!r.holds());
}

#[test]
fn a_wrong_key_or_a_bad_signature_fails_the_signature() {
    let (storage, _) = log(3);
    let stranger = tlog::note::Signer::from_seed(fixture::ORIGIN, &[8u8; 32]).unwrap().verifier();
    let r = verify(&reader(&storage), &Options { keys: vec![stranger], ..Options::default() }, None);
    assert_eq!((check(&r, SIGNATURE).holds, check(&r, SIGNATURE).detail.as_str()), (false, "no signature by a known key"));
    // The right key over a changed signature.
    let (storage, log) = log(3);
    let signed = String::from_utf8(storage.get(Area::Public, "checkpoint").unwrap().unwrap()).unwrap();
    let (text, line) = signed.split_at(signed.find("\n\n").unwrap() + 2);
    let (head, sig) = line.trim_end().rsplit_once(' ').unwrap();
    let mut raw = base64_decode(sig);
    raw[10] ^= 1;
    storage.put(Area::Public, "checkpoint", format!("{text}{head} {}\n", base64(&raw)).as_bytes()).unwrap();
    let r = verify(&reader(&storage), &Options { keys: vec![log.verifier()], ..Options::default() }, None);
    assert!(!check(&r, SIGNATURE).holds);
    assert!(check(&r, SIGNATURE).detail.starts_with("invalid signature for key example.org/audit+"), "{:?}", r.checks);
    // The tiles are fine all the same.
    assert!(check(&r, ROOT).holds);
}

#[test]
fn a_missing_quorum_fails_and_a_witness_counts_once() {
    let (storage, log) = log(3);
    let (w1, w2) = (Witness::new("w1.example", 1), Witness::new("w2.example", 2));
    let witnesses = vec![w1.verifier(), w2.verifier()];
    let quorum = |n| verify(&reader(&storage), &Options { keys: vec![log.verifier()], witnesses: witnesses.clone(), quorum: n, ..Options::default() }, None);
    let r = quorum(1);
    assert_eq!((check(&r, QUORUM).holds, check(&r, QUORUM).detail.as_str()), (false, "0 of 1 required cosignatures verify"));
    w1.cosign(&storage, 10);
    w1.cosign(&storage, 11);
    assert!(quorum(1).holds());
    let r = quorum(2);
    assert_eq!((check(&r, QUORUM).holds, check(&r, QUORUM).detail.as_str()), (false, "1 of 2 required cosignatures verify"));
    // Witnesses given and no quorum asked: the check is shown, and holds.
    assert!(check(&quorum(0), QUORUM).holds);
    // A quorum asked of no known witness.
    let r = verify(&reader(&storage), &Options { keys: vec![log.verifier()], quorum: 1, ..Options::default() }, None);
    assert!(!check(&r, QUORUM).holds);
}

#[test]
fn a_bad_cosignature_by_a_known_witness_fails_the_quorum() {
    let (storage, log) = log(3);
    let w1 = Witness::new("w1.example", 1);
    // A cosignature over another time than the one it states.
    w1.cosign(&storage, 10);
    let signed = String::from_utf8(storage.get(Area::Public, "checkpoint").unwrap().unwrap()).unwrap();
    let (rest, sig) = signed.trim_end().rsplit_once(' ').unwrap();
    let mut raw = base64_decode(sig);
    raw[11] ^= 1;
    storage.put(Area::Public, "checkpoint", format!("{rest} {}\n", base64(&raw)).as_bytes()).unwrap();
    let r = verify(&reader(&storage), &Options { keys: vec![log.verifier()], witnesses: vec![w1.verifier()], quorum: 1, ..Options::default() }, None);
    assert!(check(&r, QUORUM).detail.starts_with("invalid signature for key w1.example+"), "{:?}", r.checks);
    assert!(!r.holds());
}

#[test]
fn a_rollback_fails_consistency() {
    let (storage, mut log) = log(10);
    let before = storage.deep_copy();
    log.append(&(10..20).map(entry).collect::<Vec<_>>()).unwrap();
    let seen = checkpoint(&storage);
    // The log is served as it was at 10 entries to someone who saw 20.
    let r = verify(&reader(&before), &everything(&log), Some(&seen));
    assert_eq!(check(&r, CONSISTENCY).detail, "the log shrank from 20 to 10 (rollback)");
    assert!(!check(&r, CONSISTENCY).holds);
    // Everything else about the old log holds: only the memory of a later checkpoint catches it.
    assert!(r.checks.iter().filter(|c| c.name != CONSISTENCY).all(|c| c.holds));
}

#[test]
fn a_fork_of_the_same_size_fails_consistency() {
    let (storage, log) = log(10);
    let (other, _) = log_of(&(0..10).map(|i| format!("{{\"kind\":\"test\",\"other\":{i}}}").into_bytes()).collect::<Vec<_>>());
    let r = verify(&reader(&storage), &everything(&log), Some(&checkpoint(&other)));
    assert_eq!(check(&r, CONSISTENCY).detail, "same size, different root (fork)");
    assert!(!r.holds());
    assert!(matches!(consistency(&reader(&storage), &checkpoint(&other), &checkpoint(&storage)), Err(ConsistencyError::Fork { size: 10, .. })));
}

#[test]
fn growth_that_does_not_extend_the_remembered_tree_fails_consistency() {
    let (storage, log) = log(20);
    // Another tree of 10 entries under the same key: its entry 3 differs.
    let mut entries: Vec<Vec<u8>> = (0..10).map(entry).collect();
    entries[3] = b"{\"kind\":\"test\",\"n\":\"three\"}".to_vec();
    let (other, _) = log_of(&entries);
    let r = verify(&reader(&storage), &everything(&log), Some(&checkpoint(&other)));
    assert_eq!(check(&r, CONSISTENCY).detail, "recomputed root does not match");
    assert!(!r.holds());
    let err = consistency(&reader(&storage), &checkpoint(&other), &checkpoint(&storage)).unwrap_err();
    assert!(matches!(err, ConsistencyError::Proof { from: 10, to: 20, source: ProofError::RootMismatch }), "{err:?}");
}

#[test]
fn another_origin_fails_consistency() {
    let (storage, log) = log(5);
    let elsewhere = Checkpoint { origin: "example.org/other".into(), ..checkpoint(&storage) };
    let r = verify(&reader(&storage), &everything(&log), Some(&elsewhere));
    assert_eq!(check(&r, CONSISTENCY).detail, "remembered origin example.org/other differs");
    assert!(!r.holds());
}

#[test]
fn the_empty_tree_is_extended_by_any_tree_of_the_log() {
    let (storage, mut log) = log(0);
    let empty = checkpoint(&storage);
    log.append(&[entry(0)]).unwrap();
    assert_eq!(consistency(&reader(&storage), &empty, &checkpoint(&storage)).unwrap(), Consistent::Extends { from: 0, to: 1 });
    let bogus = Checkpoint { root: [1; 32], ..empty };
    assert!(matches!(consistency(&reader(&storage), &bogus, &checkpoint(&storage)), Err(ConsistencyError::Proof { from: 0, to: 1, .. })));
}

#[test]
fn a_missing_tile_fails_consistency_with_the_reason() {
    let (storage, mut log) = log(10);
    let old = checkpoint(&storage);
    log.append(&(10..20).map(entry).collect::<Vec<_>>()).unwrap();
    storage.delete(Area::Public, "tile/0/000.p/20").unwrap();
    let err = consistency(&reader(&storage), &old, &checkpoint(&storage)).unwrap_err();
    assert!(matches!(err, ConsistencyError::Read(_)), "{err:?}");
    assert!(err.to_string().contains("tile/0/000.p/20"), "{err}");
}

#[test]
fn a_stored_proof_is_checked_end_to_end() {
    let (storage, mut log) = log(40);
    let proof = log.prove(17).unwrap();
    let keys = [log.verifier()];
    assert_eq!(check_proof(&entry(17), &proof, &keys).unwrap(), checkpoint(&storage));
    entry_inclusion(&entry(17), 17, &proof.hashes, &checkpoint(&storage)).unwrap();
    // The wrong entry, or the right one at another index.
    assert!(matches!(check_proof(&entry(18), &proof, &keys), Err(InclusionError::Path { index: 17, source: ProofError::RootMismatch })));
    assert!(entry_inclusion(&entry(17), 16, &proof.hashes, &checkpoint(&storage)).is_err());
    // A key that did not sign it.
    let stranger: Verifier = tlog::note::Signer::from_seed(fixture::ORIGIN, &[8u8; 32]).unwrap().verifier();
    assert!(matches!(check_proof(&entry(17), &proof, &[stranger]), Err(InclusionError::Note(NoteError::Unverified))));
    // A proof whose size or root is not the signed checkpoint's: the path checks against the root the log signed.
    log.append(&[entry(40)]).unwrap();
    let later = log.prove(17).unwrap();
    let mixed = tlog::log::Proof { checkpoint: later.checkpoint.clone(), ..proof.clone() };
    let err = check_proof(&entry(17), &mixed, &keys).unwrap_err();
    assert!(matches!(err, InclusionError::NotThatTree { size: 40, signed_size: 41, .. }), "{err:?}");
    let forged_root = tlog::log::Proof { root: merkle::leaf_hash(b"x"), ..proof };
    assert!(matches!(check_proof(&entry(17), &forged_root, &keys), Err(InclusionError::NotThatTree { size: 40, signed_size: 40, .. })));
    check_proof(&entry(17), &later, &keys).unwrap();
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(text).unwrap()
}
