//! The monitor (`tlog::monitor`): from an empty state it returns every entry, then only the new ones; a rollback,
//! a split view, growth that does not extend, a bad signature or quorum, and tampered entries are typed errors that
//! do not advance the state; the state file is the checkpoint body, written crash-safely.

use serde_json::json;
use tlog::entry::pseudonym;
use tlog::log::{Checkpoint, Log};
use tlog::monitor::{Monitor, MonitorError, PublicEvent, Update, step};
use tlog::note::Signer;
use tlog::storage::{Area, MemStorage, Storage};

mod fixture;
use fixture::{ORIGIN, Witness, entry, log_of, reader};

const KEY: &[u8] = b"provider pseudonym key";

/// One monitoring run over `storage` with the log's key and no witnesses.
fn run(storage: &MemStorage, log: &Log, state: Option<&Monitor>) -> Result<Update, MonitorError> {
    step(&reader(storage), &[log.verifier()], &[], 0, state)
}

/// The entries a case store writes for one case, as `crates/cases` shapes them, with a scan and a policy pack
/// around them that are not events.
fn case_records() -> Vec<(&'static str, serde_json::Value)> {
    let subject = pseudonym(KEY, "tenant-0042");
    let common = json!({"case": "C-1", "subject": subject, "subject_kind": "organisation", "transition": "t1", "actor": "a@x", "at": "2025-03-01T10:00:00Z", "reason_sha256": "00"});
    let with = |extra: serde_json::Value| {
        let mut m = common.clone();
        m.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        m
    };
    vec![
        ("policy-pack", json!({"policies": [{"id": "mass-surveillance", "version": 1, "sha256": "ab"}]})),
        ("decision", with(json!({"action": "open", "from": null, "to": "open"}))),
        (
            "finding",
            with(json!({"action": "open", "from": null, "to": "open", "findings": [
                {"account": pseudonym(KEY, "acct-1"), "policy": "mass-surveillance", "version": 1},
                {"account": pseudonym(KEY, "acct-2"), "policy": "mass-surveillance", "version": 1},
                {"account": pseudonym(KEY, "acct-1"), "policy": "bulk-transfer", "version": 2},
            ]})),
        ),
        (
            "decision",
            with(json!({"action": "decide", "from": "open", "to": "decided", "outcome": "suspend", "provider": "aws", "services": ["storage", "ai"]})),
        ),
        (
            "enforcement",
            json!({"case": "C-1", "subject": subject, "transition": "t2", "provider": "aws", "document": "scp", "sha256": "5e", "at": "2025-03-02T00:00:00Z"}),
        ),
        ("scan", json!({"day": "2025-03-02"})),
        ("lift", with(json!({"action": "lift", "from": "enforced", "to": "lifted"}))),
    ]
}

#[test]
fn a_first_run_returns_every_entry_and_the_public_events() {
    let (storage, mut log) = log_of(&(0..300).map(entry).collect::<Vec<_>>());
    log.append_records(&case_records()).unwrap();
    log.append(&[b"not json".to_vec()]).unwrap();
    let u = run(&storage, &log, None).unwrap();
    assert_eq!(u.from, 0);
    assert_eq!(u.entries.len(), 308);
    assert_eq!(u.entries[..300], (0..300).map(entry).collect::<Vec<_>>()[..]);
    assert_eq!(u.state.checkpoint, reader(&storage).checkpoint().unwrap().1);
    let kinds: Vec<(u64, &str)> = u.events.iter().map(|e| (e.index, e.kind.as_str())).collect();
    assert_eq!(kinds, [(301, "decision"), (302, "finding"), (303, "decision"), (304, "enforcement"), (306, "lift")]);

    let subject = pseudonym(KEY, "tenant-0042");
    let decide = &u.events[2];
    assert_eq!(decide.tenant.as_deref(), Some(subject.as_str()));
    assert_eq!((decide.action.as_deref(), decide.state.as_deref(), decide.outcome.as_deref()), (Some("decide"), Some("decided"), Some("suspend")));
    assert_eq!(decide.provider.as_deref(), Some("aws"));
    assert_eq!(decide.services, ["storage", "ai"]);
    assert_eq!(decide.entry.as_bytes(), u.entries[303]);
    let finding = &u.events[1];
    assert_eq!(finding.policies, ["mass-surveillance", "bulk-transfer"]);
    assert_eq!(finding.accounts, [pseudonym(KEY, "acct-1"), pseudonym(KEY, "acct-2")]);
    assert_eq!(finding.outcome, None);
    let enforcement = &u.events[3];
    assert_eq!((enforcement.document.as_deref(), enforcement.document_sha256.as_deref()), (Some("scp"), Some("5e")));
    assert_eq!((enforcement.action.as_deref(), enforcement.state.as_deref()), (None, None));
    assert_eq!(enforcement.at.as_deref(), Some("2025-03-02T00:00:00Z"));
    // Whoever holds the tenant id and the key finds the tenant's events; nobody else does.
    assert!(u.events.iter().all(|e| e.concerns(KEY, "tenant-0042")));
    assert!(finding.concerns(KEY, "acct-2") && !decide.concerns(KEY, "acct-2"));
    assert!(!decide.concerns(b"another key", "tenant-0042"));
    // Events serialise for a page or a feed.
    let json = serde_json::to_value(decide).unwrap();
    assert_eq!((json["index"].clone(), json["outcome"].clone()), (json!(303), json!("suspend")));
    assert_eq!(&serde_json::from_value::<PublicEvent>(json).unwrap(), decide);
}

#[test]
fn later_runs_return_only_the_new_entries() {
    let (storage, mut log) = log_of(&(0..10).map(entry).collect::<Vec<_>>());
    let first = run(&storage, &log, None).unwrap();
    log.append(&(10..300).map(entry).collect::<Vec<_>>()).unwrap();
    log.append_records(&case_records()).unwrap();
    let second = run(&storage, &log, Some(&first.state)).unwrap();
    assert_eq!(second.from, 10);
    assert_eq!(second.entries[..290], (10..300).map(entry).collect::<Vec<_>>()[..]);
    assert_eq!(second.entries.len(), 297);
    assert_eq!(second.events.first().map(|e| e.index), Some(301));
    assert_eq!(second.state.checkpoint.size, 307);
    // Nothing new: nothing returned, the same state.
    let third = run(&storage, &log, Some(&second.state)).unwrap();
    assert_eq!((third.from, third.entries.len(), third.events.len()), (307, 0, 0));
    assert_eq!(third.state, second.state);
}

#[test]
fn an_empty_log_is_followed_from_its_first_entry() {
    let (storage, mut log) = log_of(&[]);
    let first = run(&storage, &log, None).unwrap();
    assert_eq!((first.state.checkpoint.size, first.entries.len()), (0, 0));
    log.append(&[entry(0)]).unwrap();
    let second = run(&storage, &log, Some(&first.state)).unwrap();
    assert_eq!(second.entries, [entry(0)]);
}

#[test]
fn every_remembered_size_reads_up_to_every_later_size() {
    // Across the sizes where the old tree's complete subtrees change shape, and across a tile boundary.
    let sizes: Vec<u64> = (0..=20).chain([31, 32, 33, 255, 256, 257, 513]).collect();
    let all: Vec<Vec<u8>> = (0..513).map(entry).collect();
    for &n in &sizes {
        let (storage, log) = log_of(&all[..n as usize]);
        for &m in sizes.iter().filter(|&&m| m <= n) {
            let leaves: Vec<_> = all[..m as usize].iter().map(|e| tlog::merkle::leaf_hash(e)).collect();
            let old = Monitor { checkpoint: Checkpoint { origin: ORIGIN.into(), size: m, root: tlog::merkle::root(&leaves) } };
            let u = run(&storage, &log, Some(&old)).unwrap_or_else(|e| panic!("{m} to {n}: {e}"));
            assert_eq!(u.entries, all[m as usize..n as usize], "{m} to {n}");
        }
    }
}

#[test]
fn a_rollback_is_an_error_and_the_state_stays() {
    let (storage, mut log) = log_of(&(0..10).map(entry).collect::<Vec<_>>());
    let before = storage.deep_copy();
    log.append(&(10..20).map(entry).collect::<Vec<_>>()).unwrap();
    let seen = run(&storage, &log, None).unwrap().state;
    let err = run(&before, &log, Some(&seen)).unwrap_err();
    assert!(matches!(err, MonitorError::Rollback { from: 20, to: 10 }), "{err:?}");
    assert_eq!(err.to_string(), "rollback: the log shrank from 20 to 10 entries since the last verified checkpoint");
    // The state the caller kept still follows the real log.
    log.append(&[entry(20)]).unwrap();
    assert_eq!(run(&storage, &log, Some(&seen)).unwrap().entries, [entry(20)]);
}

#[test]
fn a_split_view_is_an_error() {
    let (storage, log) = log_of(&(0..10).map(entry).collect::<Vec<_>>());
    let seen = run(&storage, &log, None).unwrap().state;
    // The same log key signs another tree of 10 entries for some readers.
    let (other, _) = log_of(&(0..10).map(|i| format!("{{\"kind\":\"test\",\"other\":{i}}}").into_bytes()).collect::<Vec<_>>());
    let err = run(&other, &log, Some(&seen)).unwrap_err();
    assert!(matches!(err, MonitorError::SplitView { size: 10, remembered, seen: now } if remembered == seen.checkpoint.root && now != remembered), "{err:?}");
    assert!(err.to_string().starts_with("split view: the log signed root "), "{err}");
}

#[test]
fn growth_that_does_not_extend_is_inconsistent() {
    let (storage, log) = log_of(&(0..10).map(entry).collect::<Vec<_>>());
    let seen = run(&storage, &log, None).unwrap().state;
    let mut rewritten: Vec<Vec<u8>> = (0..20).map(entry).collect();
    rewritten[3] = b"{\"kind\":\"test\",\"n\":\"three\"}".to_vec();
    let (other, _) = log_of(&rewritten);
    let err = run(&other, &log, Some(&seen)).unwrap_err();
    assert!(matches!(err, MonitorError::Inconsistent { from: 10, to: 20, .. }), "{err:?}");
}

#[test]
fn another_origin_is_an_error() {
    let (storage, log) = log_of(&[entry(0)]);
    let elsewhere = Monitor { checkpoint: Checkpoint { origin: "example.org/other".into(), ..run(&storage, &log, None).unwrap().state.checkpoint } };
    assert!(matches!(run(&storage, &log, Some(&elsewhere)), Err(MonitorError::OriginChanged { .. })));
}

#[test]
fn a_wrong_key_or_a_missing_quorum_is_an_error() {
    let (storage, log) = log_of(&[entry(0)]);
    let stranger = Signer::from_seed(ORIGIN, &[8u8; 32]).unwrap().verifier();
    assert!(matches!(step(&reader(&storage), &[stranger], &[], 0, None), Err(MonitorError::BadSignature(_))));
    let (w1, w2) = (Witness::new("w1.example", 1), Witness::new("w2.example", 2));
    let witnesses = [w1.verifier(), w2.verifier()];
    let with_quorum = |n| step(&reader(&storage), &[log.verifier()], &witnesses, n, None);
    assert!(matches!(with_quorum(1), Err(MonitorError::Quorum { verified: 0, quorum: 1 })));
    w1.cosign(&storage, 1);
    w1.cosign(&storage, 2);
    assert_eq!(with_quorum(1).unwrap().entries, [entry(0)]);
    assert!(matches!(with_quorum(2), Err(MonitorError::Quorum { verified: 1, quorum: 2 })));
    w2.cosign(&storage, 3);
    assert!(with_quorum(2).is_ok());
}

#[test]
fn tampered_new_entries_are_an_error() {
    let (storage, mut log) = log_of(&(0..100).map(entry).collect::<Vec<_>>());
    let seen = run(&storage, &log, None).unwrap().state;
    log.append(&(100..300).map(entry).collect::<Vec<_>>()).unwrap();
    // Entry 150 is changed in its bundle; the hash tiles, and so every proof, are left as they were.
    let mut bundle = storage.get(Area::Public, "tile/entries/000").unwrap().unwrap();
    let at = bundle.windows(6).position(|w| w == b"n\":150").unwrap();
    bundle[at + 5] = b'9';
    storage.put(Area::Public, "tile/entries/000", &bundle).unwrap();
    let err = run(&storage, &log, Some(&seen)).unwrap_err();
    assert!(matches!(err, MonitorError::Entries { from: 100, to: 300 }), "{err:?}");
    // From scratch too.
    assert!(matches!(run(&storage, &log, None), Err(MonitorError::Entries { from: 0, to: 300 })));
}

/// The consistency proof reads that tile: the log as served does not prove it extends what was seen.
#[test]
fn a_tampered_hash_tile_left_of_the_new_entries_is_an_error() {
    let (storage, mut log) = log_of(&(0..100).map(entry).collect::<Vec<_>>());
    let seen = run(&storage, &log, None).unwrap().state;
    log.append(&(100..300).map(entry).collect::<Vec<_>>()).unwrap();
    let mut tile = storage.get(Area::Public, "tile/0/000").unwrap().unwrap();
    tile[0] ^= 1;
    storage.put(Area::Public, "tile/0/000", &tile).unwrap();
    let err = run(&storage, &log, Some(&seen)).unwrap_err();
    assert!(matches!(err, MonitorError::Inconsistent { from: 100, to: 300, .. }), "{err:?}");
}

#[test]
fn the_state_file_is_the_checkpoint_body_written_whole() {
    let (storage, log) = log_of(&[entry(0)]);
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("state");
    assert_eq!(Monitor::load(&path).unwrap(), None);
    let state = run(&storage, &log, None).unwrap().state;
    state.save(&path).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), state.checkpoint.body());
    assert_eq!(Monitor::load(&path).unwrap(), Some(state.clone()));
    // Saving again replaces it and leaves no temp file.
    state.save(&path).unwrap();
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
    std::fs::write(&path, "not a checkpoint").unwrap();
    assert!(matches!(Monitor::load(&path), Err(MonitorError::StateFormat { .. })));
    // A state in a folder not made yet is made with it; a path that names no file is refused.
    state.save(&tmp.path().join("new/state")).unwrap();
    assert_eq!(Monitor::load(&tmp.path().join("new/state")).unwrap(), Some(state.clone()));
    assert!(matches!(state.save(&tmp.path().join("..")), Err(MonitorError::State { .. })));
}

#[test]
fn events_are_read_tolerantly() {
    assert_eq!(PublicEvent::parse(0, b"not json"), None);
    assert_eq!(PublicEvent::parse(0, b"[1]"), None);
    assert_eq!(PublicEvent::parse(0, br#"{"kind":"scan"}"#), None);
    assert_eq!(PublicEvent::parse(0, br#"{"kind":7}"#), None);
    let bare = PublicEvent::parse(4, br#"{"kind":"decision","outcome":null,"services":"storage","findings":{"policy":"x"},"subject":3}"#).unwrap();
    assert_eq!((bare.index, bare.kind.as_str()), (4, "decision"));
    assert_eq!((bare.outcome, bare.tenant, bare.case), (None, None, None));
    assert!(bare.services.is_empty() && bare.policies.is_empty() && bare.accounts.is_empty());
    let odd = PublicEvent::parse(5, br#"{"kind":"finding","findings":[{"policy":1},"x",{"policy":"p","account":"a"}],"services":["s",2]}"#).unwrap();
    assert_eq!((odd.policies, odd.accounts, odd.services), (vec!["p".to_string()], vec!["a".to_string()], vec!["s".to_string()]));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    /// Whatever the batches, the monitor's outputs, one run per batch, concatenate to the log's entries in order.
    #[test]
    fn the_outputs_concatenate_to_the_log(batches in proptest::collection::vec(0u64..300, 1..6)) {
        let (storage, mut log) = log_of(&[]);
        let (mut state, mut seen, mut next) = (None, Vec::new(), 0u64);
        for n in batches {
            log.append(&(next..next + n).map(entry).collect::<Vec<_>>()).unwrap();
            next += n;
            let u = run(&storage, &log, state.as_ref()).unwrap();
            proptest::prop_assert_eq!(u.from, seen.len() as u64);
            seen.extend(u.entries);
            state = Some(u.state);
        }
        proptest::prop_assert_eq!(seen, (0..next).map(entry).collect::<Vec<_>>());
    }
}
