//! The tile log end to end: batched appends, roots and proofs from the tiles alone, signed checkpoints, recovery.

use tlog::log::{Checkpoint, Log, LogError, TileReader};
use tlog::merkle;

mod common;
use common::snapshot;

fn entry(i: u64) -> Vec<u8> {
    format!("{{\"kind\":\"test\",\"n\":{i}}}").into_bytes()
}

#[test]
fn batches_build_the_same_tree_as_the_reference_and_proofs_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let (public, private) = (tmp.path().join("log"), tmp.path().join("private"));
    let mut log = Log::create(&public, &private, "example.org/oversight-test", &[7u8; 32]).unwrap();
    let verifier = log.verifier();
    let mut leaves = Vec::new();
    let mut sizes = vec![0u64];
    for batch in [1u64, 255, 2, 300, 1000, 65_536 - 1558 + 3] {
        let start = leaves.len() as u64;
        let entries: Vec<Vec<u8>> = (start..start + batch).map(entry).collect();
        let range = log.append(&entries).unwrap();
        assert_eq!(range, start..start + batch);
        leaves.extend(entries.iter().map(|e| merkle::leaf_hash(e)));
        let size = leaves.len() as u64;
        sizes.push(size);

        let reader = TileReader::new(&public);
        let (note, cp) = reader.checkpoint().unwrap();
        note.verify(std::slice::from_ref(&verifier)).unwrap();
        assert_eq!(cp, Checkpoint { origin: "example.org/oversight-test".into(), size, root: merkle::root(&leaves) });
        assert_eq!(reader.root(size).unwrap(), cp.root);
        for i in [0, size / 3, size - 1] {
            let p = reader.inclusion_proof(i, size).unwrap();
            assert_eq!(p, merkle::inclusion_proof(&leaves, i as usize));
            merkle::verify_inclusion(&leaves[i as usize], i, size, &p, &cp.root).unwrap();
            assert_eq!(reader.entry(i, size).unwrap(), entry(i));
        }
        for old in &sizes[1..] {
            let p = reader.consistency_proof(*old, size).unwrap();
            assert_eq!(p, merkle::consistency_proof(&leaves, *old as usize));
            merkle::verify_consistency(*old, size, &merkle::root(&leaves[..*old as usize]), &cp.root, &p).unwrap();
        }
    }
    // Every tile the size needs exists, including the partial ones at every level.
    let size = leaves.len() as u64;
    for (l, n, w) in tlog::tiles::hash_tiles(size) {
        assert!(public.join(tlog::tiles::tile_path(l, n, w)).exists(), "{}", tlog::tiles::tile_path(l, n, w));
    }
    // Reopening continues from the same size.
    let log = Log::open(&public, &private).unwrap();
    assert_eq!(log.size(), size);
}

#[test]
fn oversized_entries_are_refused_and_nothing_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let (public, private) = (tmp.path().join("log"), tmp.path().join("private"));
    let mut log = Log::create(&public, &private, "example.org/t", &[1u8; 32]).unwrap();
    let err = log.append(&[vec![b'a'; 10], vec![b'x'; 65_536]]).unwrap_err();
    assert!(matches!(err, LogError::TooLarge { index: 1, len: 65_536 }), "{err}");
    assert_eq!(log.size(), 0);
    log.append(&[vec![b'x'; 65_535]]).unwrap();
    assert_eq!(TileReader::new(&public).entry(0, 1).unwrap().len(), 65_535);
}

#[test]
fn a_stage_left_before_the_swap_is_discarded_on_open() {
    let tmp = tempfile::tempdir().unwrap();
    let (public, private) = (tmp.path().join("log"), tmp.path().join("private"));
    let mut log = Log::create(&public, &private, "example.org/t", &[2u8; 32]).unwrap();
    log.append(&[entry(0)]).unwrap();
    // A writer staged a batch and died before the compare-and-swap: its target checkpoint is not the current one.
    let stage = serde_json::json!({"from": "x", "to": "example.org/t\n2\nAAAA\n", "tiles": [["tile/0/000.p/2", "AAAA"]], "signed": "junk"});
    std::fs::write(private.join("stage"), stage.to_string()).unwrap();
    let log = Log::open(&public, &private).unwrap();
    assert_eq!(log.size(), 1);
    assert!(!private.join("stage").exists());
    assert!(!public.join("tile/0/000.p/2").exists());
}

#[test]
fn two_writers_cannot_fork_the_log() {
    let tmp = tempfile::tempdir().unwrap();
    let (public, private) = (tmp.path().join("log"), tmp.path().join("private"));
    let mut a = Log::create(&public, &private, "example.org/t", &[3u8; 32]).unwrap();
    let mut b = Log::open(&public, &private).unwrap();
    a.append(&[entry(0)]).unwrap();
    // b still believes the log is empty: its append is refused, not forked.
    assert!(matches!(b.append(&[entry(99)]), Err(LogError::Conflict)));
    let reader = TileReader::new(&public);
    assert_eq!(reader.checkpoint().unwrap().1.size, 1);
    assert_eq!(reader.entry(0, 1).unwrap(), entry(0));
}

/// The crates `tlog_tiles` and `signed_note` (independent implementations) accept our proofs and checkpoint.
#[test]
fn independent_crates_accept_our_proofs_and_checkpoint() {
    use tlog_tiles::{Hash as TH, check_record, check_tree, record_hash};
    let tmp = tempfile::tempdir().unwrap();
    let (public, private) = (tmp.path().join("log"), tmp.path().join("private"));
    let mut log = Log::create(&public, &private, "example.org/independent", &[9u8; 32]).unwrap();
    let entries: Vec<Vec<u8>> = (0..1000).map(entry).collect();
    log.append(&entries[..300]).unwrap();
    log.append(&entries[300..]).unwrap();
    let reader = TileReader::new(&public);
    let (_, cp) = reader.checkpoint().unwrap();
    let th = |h: merkle::Hash| TH(h);
    for i in [0u64, 299, 300, 999] {
        let p: Vec<TH> = reader.inclusion_proof(i, 1000).unwrap().into_iter().map(th).collect();
        check_record(&p, 1000, th(cp.root), i, record_hash(&entry(i))).unwrap();
    }
    let old_root = reader.root(300).unwrap();
    let p: Vec<TH> = reader.consistency_proof(300, 1000).unwrap().into_iter().map(th).collect();
    check_tree(&p, 1000, th(cp.root), 300, th(old_root)).unwrap();

    let vkey = log.verifier().to_vkey();
    let note = signed_note::Note::from_bytes(log.checkpoint().unwrap().as_bytes()).unwrap();
    let verifiers = signed_note::VerifierList::new(vec![Box::new(signed_note::StandardVerifier::new(&vkey).unwrap())]);
    let (verified, unverified) = note.verify(&verifiers).unwrap();
    assert_eq!((verified.len(), unverified.len()), (1, 0));
}

#[test]
fn a_crash_after_the_swap_is_finished_on_open() {
    use base64::Engine;
    let tmp = tempfile::tempdir().unwrap();
    let (public, private) = (tmp.path().join("log"), tmp.path().join("private"));
    let mut log = Log::create(&public, &private, "example.org/t", &[5u8; 32]).unwrap();
    log.append(&(0..300).map(entry).collect::<Vec<_>>()).unwrap();
    let (old_public, old_private_cp) = (snapshot(&public), std::fs::read_to_string(private.join("checkpoint")).unwrap());
    log.append(&(300..700).map(entry).collect::<Vec<_>>()).unwrap();
    let new_public = snapshot(&public);
    let new_private_cp = std::fs::read_to_string(private.join("checkpoint")).unwrap();

    // Rebuild the moment after the compare-and-swap: private checkpoint swapped, stage on disk, public folder old.
    let tiles: Vec<(String, String)> = new_public
        .iter()
        .filter(|(p, b)| p.starts_with("tile/") && old_public.get(*p) != Some(*b))
        .map(|(p, b)| (p.clone(), base64::engine::general_purpose::STANDARD.encode(b)))
        .collect();
    let signed = String::from_utf8(new_public["checkpoint"].clone()).unwrap();
    let stage = serde_json::json!({"from": old_private_cp, "to": new_private_cp, "tiles": tiles, "signed": signed});
    std::fs::remove_dir_all(&public).unwrap();
    for (p, b) in &old_public {
        std::fs::create_dir_all(public.join(p).parent().unwrap()).unwrap();
        std::fs::write(public.join(p), b).unwrap();
    }
    std::fs::write(private.join("stage"), stage.to_string()).unwrap();
    assert_eq!(TileReader::new(&public).checkpoint().unwrap().1.size, 300);

    let log = Log::open(&public, &private).unwrap();
    assert_eq!(log.size(), 700);
    assert!(!private.join("stage").exists());
    assert_eq!(snapshot(&public), new_public, "the finished batch leaves exactly what an uninterrupted append wrote");
}

#[test]
fn records_are_logged_as_canonical_json_with_their_kind_and_proved() {
    let tmp = tempfile::tempdir().unwrap();
    let (public, private) = (tmp.path().join("log"), tmp.path().join("private"));
    let mut log = Log::create(&public, &private, "example.org/t", &[6u8; 32]).unwrap();
    let body = serde_json::json!({"policy": "interception-pipeline", "account": "5f1c…", "score": 0.97});
    let range = log.append_records(&[("finding", body.clone()), ("decision", serde_json::json!({"case": 1}))]).unwrap();
    assert_eq!(range, 0..2);
    let reader = TileReader::new(&public);
    assert_eq!(reader.entry(1, 2).unwrap(), br#"{"case":1,"kind":"decision"}"#);
    let proof = log.prove(0).unwrap();
    let leaf = merkle::leaf_hash(&reader.entry(0, 2).unwrap());
    merkle::verify_inclusion(&leaf, proof.index, proof.size, &proof.hashes, &proof.root).unwrap();
    assert!(proof.checkpoint.contains("example.org/t\n2\n"));
    assert!(matches!(log.append_records(&[("scan", serde_json::json!([1]))]), Err(LogError::Entry { index: 0, .. })));
}

#[test]
fn checkpoint_sizes_are_plain_decimals() {
    let root = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, merkle::empty_root());
    assert_eq!(Checkpoint::parse(&format!("o\n0\n{root}\n")).unwrap().size, 0);
    assert_eq!(Checkpoint::parse(&format!("o\n12\n{root}\n")).unwrap().size, 12);
    for size in ["+5", "05", "-1", " 5", "5 ", "", "18446744073709551616"] {
        assert!(Checkpoint::parse(&format!("o\n{size}\n{root}\n")).is_err(), "{size:?} was accepted");
    }
}
