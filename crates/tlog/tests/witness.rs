//! The C2SP tlog-witness side: torchwood's add-checkpoint sequence, durable state that never goes backwards, split
//! views refused, a request parser that never panics, and a log → witness → cosigned checkpoint round trip. Our
//! cosignatures are checked with the independent `signed_note` crate.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::Barrier;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Verifier as _, VerifyingKey};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tlog::log::{Checkpoint, Log};
use tlog::merkle::{self, Hash};
use tlog::note::{Cosigner, MAX_SIGNATURES, Note, NoteError, Signature, Signer, Verifier};
use tlog::witness::{
    AddError, ClientError, ConfigError, KnownLogs, MAX_PROOF_LINES, MAX_REQUEST_BYTES, Reply, SIZE_CONTENT_TYPE, Witness, WitnessError, build_request,
    merge_cosignatures, parse_request, parse_response,
};

const WITNESS: &str = "example.com/witness";

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/tlog-vectors")
}

fn cosigner() -> Cosigner {
    Cosigner::from_seed(WITNESS, &[9u8; 32]).unwrap()
}

/// A cosignature/v1 verifier for `signed_note`, built from the vkey text alone: the crate parses the note and
/// matches name and key ID; only the cosignature message is spelled out here, from the spec.
struct CosignatureV1 {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl CosignatureV1 {
    fn new(vkey: &str) -> CosignatureV1 {
        let mut parts = vkey.splitn(3, '+');
        let (name, id, key) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
        let raw = STANDARD.decode(key).unwrap();
        assert_eq!(raw[0], 0x04, "a cosignature/v1 key");
        let id = u32::from_str_radix(id, 16).unwrap();
        assert_eq!(signed_note::key_id(name, &raw), id, "key ID = SHA-256(name || \\n || 0x04 || key)[:4]");
        CosignatureV1 { name: name.into(), id, key: VerifyingKey::from_bytes(raw[1..].try_into().unwrap()).unwrap() }
    }
}

impl signed_note::Verifier for CosignatureV1 {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> u32 {
        self.id
    }

    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        let Some((time, sig)) = sig.split_first_chunk::<8>() else { return false };
        let time = u64::from_be_bytes(*time);
        let mut message = format!("cosignature/v1\ntime {time}\n").into_bytes();
        message.extend_from_slice(msg);
        time != 0 && ed25519_dalek::Signature::from_slice(sig).is_ok_and(|s| self.key.verify(&message, &s).is_ok())
    }
}

/// Check with `signed_note` that the witness's 200 body verifies over the checkpoint text.
fn verify_independently(text: &str, cosignatures: &str, witness: &Verifier) {
    let note = signed_note::Note::from_bytes(format!("{text}\n{cosignatures}").as_bytes()).unwrap();
    let list = signed_note::VerifierList::new(vec![Box::new(CosignatureV1::new(&witness.to_vkey()))]);
    let (verified, unverified) = note.verify(&list).unwrap();
    assert_eq!((verified.len(), unverified.len()), (1, 0));
    assert_eq!(verified[0].name(), witness.name);
}

#[test]
fn torchwood_add_checkpoint_sequence() {
    let v: Value = serde_json::from_slice(&std::fs::read(vectors().join("tlog-witness-add-checkpoint-vectors.json")).unwrap()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let logs = KnownLogs::parse(v["log"]["vkey"].as_str().unwrap()).unwrap();
    let name = v["witness"]["name"].as_str().unwrap();
    let w = Witness::create(&tmp.path().join("state.json"), Cosigner::from_seed(name, &[9u8; 32]).unwrap(), logs).unwrap();
    let cases = v["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 9);
    for (i, case) in cases.iter().enumerate() {
        let body = case["request_body"].as_str().unwrap();
        let torchwood = case["torchwood_expected_status"].as_u64().unwrap();
        // torchwood answers 403 for an unknown origin; tlog-witness (v1.0.0 and HEAD) requires 404, which we follow.
        let expected = if case["analysis"]["origin_known"] == false {
            assert_eq!((torchwood, case["spec_expected_status"].as_u64()), (403, Some(404)));
            404
        } else {
            torchwood
        };
        let r = w.add_checkpoint(body.as_bytes());
        assert_eq!(u64::from(r.status), expected, "case {i}: {}", String::from_utf8_lossy(&r.body));
        let answer = String::from_utf8(r.body).unwrap();
        match r.status {
            200 => {
                assert!(answer.starts_with(&format!("\u{2014} {name} ")), "case {i}: {answer}");
                verify_independently(&parse_request(body.as_bytes()).unwrap().note.text, &answer, &w.verifier());
            }
            409 => {
                assert_eq!(r.content_type, SIZE_CONTENT_TYPE);
                let want: String = serde_json::from_str(case["torchwood_assert"].as_str().unwrap().strip_prefix("body == ").unwrap()).unwrap();
                assert_eq!(answer, want, "case {i}");
            }
            _ => {}
        }
    }
}

/// A log in memory: its signer, leaves, and the requests it would send.
struct TestLog {
    signer: Signer,
    leaves: Vec<Hash>,
}

impl TestLog {
    fn new(origin: &str, seed: u8, leaves: impl IntoIterator<Item = u64>) -> TestLog {
        let signer = Signer::from_seed(origin, &[seed; 32]).unwrap();
        TestLog { signer, leaves: leaves.into_iter().map(|i| merkle::leaf_hash(&i.to_be_bytes())).collect() }
    }

    fn body(&self, size: usize) -> String {
        Checkpoint { origin: self.signer.name.clone(), size: size as u64, root: merkle::root(&self.leaves[..size]) }.body()
    }

    fn checkpoint(&self, size: usize) -> String {
        tlog::note::sign(&self.body(size), &[&self.signer]).unwrap()
    }

    /// The signature line of its checkpoint of `size`.
    fn signature(&self, size: usize) -> String {
        format!("{}\n", self.checkpoint(size).lines().last().unwrap())
    }

    fn request(&self, old: u64, size: usize) -> Vec<u8> {
        build_request(&self.checkpoint(size), old, |o, n| Ok::<_, Infallible>(merkle::consistency_proof(&self.leaves[..n as usize], o as usize))).unwrap()
    }

    fn vkey(&self) -> String {
        self.signer.verifier().to_vkey()
    }
}

fn status(w: &Witness, body: &[u8]) -> (u16, String) {
    let r = w.add_checkpoint(body);
    (r.status, String::from_utf8(r.body).unwrap())
}

#[test]
fn state_is_durable_and_never_goes_backwards() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("witness/state.json");
    let log = TestLog::new("example.org/log", 1, 0..40);
    let logs = || KnownLogs::parse(&log.vkey()).unwrap();
    assert!(matches!(Witness::open(&state, cosigner(), logs()), Err(WitnessError::State { .. })), "a missing state is not an empty one");
    let w = Witness::create(&state, cosigner(), logs()).unwrap();
    assert!(matches!(Witness::open(&state, cosigner(), logs()), Err(WitnessError::Busy { .. })));
    assert_eq!(status(&w, &log.request(0, 5)).0, 200);
    assert_eq!(status(&w, &log.request(5, 9)).0, 200);
    drop(w);
    assert!(matches!(Witness::create(&state, cosigner(), logs()), Err(WitnessError::State { .. })));

    // A crash may leave a temp file beside the state; it is not read.
    std::fs::write(tmp.path().join("witness/.state.json.tmp"), b"garbage").unwrap();
    let w = Witness::open(&state, cosigner(), logs()).unwrap();
    assert_eq!(status(&w, &log.request(0, 9)), (409, "9\n".into()));
    assert_eq!(status(&w, &log.request(5, 12)), (409, "9\n".into()));
    assert_eq!(status(&w, &log.request(9, 12)).0, 200);
    drop(w);

    let w = Witness::open(&state, cosigner(), logs()).unwrap();
    // Backwards: an old size above the checkpoint's is a 400; a stale old size is a 409; neither moves the state.
    assert_eq!(status(&w, format!("old 12\n\n{}", log.checkpoint(9)).as_bytes()).0, 400);
    assert_eq!(status(&w, &log.request(9, 9)), (409, "12\n".into()));
    assert_eq!(status(&w, &log.request(5, 9)), (409, "12\n".into()));
    // Re-cosigning the same checkpoint is fine.
    assert_eq!(status(&w, &log.request(12, 12)).0, 200);
    let latest = w.latest("example.org/log").unwrap();
    let note = Note::parse(latest.as_bytes()).unwrap();
    assert_eq!(Checkpoint::parse(&note.text).unwrap().size, 12);
    note.verify(&[log.signer.verifier()]).unwrap();
    assert_eq!(note.verify_cosignatures(&[w.verifier()]).unwrap().len(), 1);
    drop(w);

    // A state that is not what a witness wrote stops the witness instead of starting it from nothing.
    std::fs::write(&state, b"{\"logs\":{\"example.org/log\":\"not a note\"}}").unwrap();
    assert!(matches!(Witness::open(&state, cosigner(), logs()), Err(WitnessError::Corrupt { .. })));
    std::fs::write(&state, latest.as_bytes()).unwrap();
    assert!(matches!(Witness::open(&state, cosigner(), logs()), Err(WitnessError::Corrupt { .. })));
}

#[test]
fn a_failed_save_is_a_500_and_the_file_only_moves_forward() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, away) = (tmp.path().join("w"), tmp.path().join("away"));
    let state = dir.join("state.json");
    let log = TestLog::new("example.org/log", 1, 0..40);
    let w = Witness::create(&state, cosigner(), KnownLogs::parse(&log.vkey()).unwrap()).unwrap();
    assert_eq!(status(&w, &log.request(0, 5)).0, 200);
    // The state's folder is replaced by a file: saving fails (even as root).
    std::fs::rename(&dir, &away).unwrap();
    std::fs::write(&dir, b"").unwrap();
    let e = w.add(&log.request(5, 9), 1).unwrap_err();
    assert!(matches!(e, AddError::Persist { .. }), "{e}");
    let r = e.response();
    assert_eq!(r.status, 500);
    assert!(!String::from_utf8(r.body).unwrap().contains(tmp.path().to_str().unwrap()), "a 500 does not show local paths");
    std::fs::remove_file(&dir).unwrap();
    std::fs::rename(&away, &dir).unwrap();
    // The witness goes on from the size it checked, never from the older one in the file.
    assert_eq!(status(&w, &log.request(5, 12)), (409, "9\n".into()));
    assert_eq!(status(&w, &log.request(9, 12)).0, 200);
    drop(w);
    let w = Witness::open(&state, cosigner(), KnownLogs::parse(&log.vkey()).unwrap()).unwrap();
    assert_eq!(status(&w, &log.request(0, 12)), (409, "12\n".into()));
}

#[test]
fn the_state_may_be_a_bare_file_name() {
    // The only test here that changes the current folder; the others use absolute paths.
    let tmp = tempfile::tempdir().unwrap();
    let before = std::env::current_dir().unwrap();
    std::env::set_current_dir(tmp.path()).unwrap();
    let log = TestLog::new("example.org/log", 1, 0..10);
    let result = Witness::create(Path::new("state.json"), cosigner(), KnownLogs::parse(&log.vkey()).unwrap()).map(|w| status(&w, &log.request(0, 5)));
    std::env::set_current_dir(before).unwrap();
    assert_eq!(result.unwrap().0, 200);
    assert!(tmp.path().join("state.json").exists());
    assert!(matches!(Witness::create(&tmp.path().join(".."), cosigner(), KnownLogs::parse(&log.vkey()).unwrap()), Err(WitnessError::State { .. })));
}

#[test]
fn concurrent_requests_from_one_size_advance_it_once() {
    let tmp = tempfile::tempdir().unwrap();
    let log = TestLog::new("example.org/log", 1, 0..40);
    let w = Witness::create(&tmp.path().join("state.json"), cosigner(), KnownLogs::parse(&log.vkey()).unwrap()).unwrap();
    assert_eq!(status(&w, &log.request(0, 10)).0, 200);
    let requests: Vec<Vec<u8>> = (11..19).map(|n| log.request(10, n)).collect();
    let barrier = Barrier::new(requests.len());
    let answers: Vec<(u16, String)> = std::thread::scope(|s| {
        let (w, barrier) = (&w, &barrier);
        let handles: Vec<_> = requests.iter().map(|r| s.spawn(move || (barrier.wait(), status(w, r)).1)).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let won: Vec<usize> = (0..answers.len()).filter(|&i| answers[i].0 == 200).collect();
    assert_eq!(won.len(), 1, "{answers:?}");
    let size = 11 + won[0];
    for (i, a) in answers.iter().enumerate().filter(|(i, _)| *i != won[0]) {
        assert_eq!(*a, (409, format!("{size}\n")), "request {i}");
    }
    assert_eq!(status(&w, &log.request(0, 10)), (409, format!("{size}\n")));
}

#[test]
fn split_views_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let log = TestLog::new("example.org/log", 1, 0..20);
    // The same log key signing a fork: leaf 10 differs.
    let fork = TestLog::new("example.org/log", 1, (0..20).map(|i| if i == 10 { 1000 } else { i }));
    let w = Witness::create(&tmp.path().join("state.json"), cosigner(), KnownLogs::parse(&log.vkey()).unwrap()).unwrap();
    assert_eq!(status(&w, &log.request(0, 12)).0, 200);
    let cosigned = w.latest("example.org/log").unwrap();

    // Same size, another root.
    assert_eq!(status(&w, &fork.request(12, 12)).0, 422);
    // A larger fork with its own (valid) proof from its own size 12.
    assert_eq!(status(&w, &fork.request(12, 15)).0, 422);
    // The fork's checkpoint with the honest log's proof.
    let mut body = log.request(12, 15);
    let honest = log.checkpoint(15);
    body.truncate(body.len() - honest.len());
    body.extend_from_slice(fork.checkpoint(15).as_bytes());
    assert_eq!(status(&w, &body).0, 422);
    // A proof with one hash too many or too few.
    let req = parse_request(&log.request(12, 15)).unwrap();
    let longer = [req.proof.clone(), vec![[7u8; 32]]].concat();
    for proof in [&req.proof[..req.proof.len() - 1], &longer[..]] {
        let mut body = "old 12\n".to_string();
        proof.iter().for_each(|h| body.push_str(&format!("{}\n", STANDARD.encode(h))));
        assert_eq!(status(&w, format!("{body}\n{honest}").as_bytes()).0, 422);
    }
    // Nothing moved, and the honest log still goes on.
    assert_eq!(w.latest("example.org/log").unwrap(), cosigned);
    assert_eq!(status(&w, &log.request(12, 15)).0, 200);
}

#[test]
fn statuses_of_the_spec() {
    let tmp = tempfile::tempdir().unwrap();
    let log = TestLog::new("example.org/log", 1, 0..20);
    let other = TestLog::new("example.org/other", 2, 0..20);
    // The same origin signed by a key the witness does not trust for it.
    let impostor = TestLog::new("example.org/log", 3, 0..20);
    let logs = format!("# two logs\n{}\n\n{}\n", log.vkey(), other.vkey());
    let w = Witness::create(&tmp.path().join("state.json"), cosigner(), KnownLogs::parse(&logs).unwrap()).unwrap();
    let unknown = TestLog::new("example.org/unknown", 4, 0..20);
    assert_eq!(status(&w, &unknown.request(0, 3)).0, 404);
    assert_eq!(status(&w, &impostor.request(0, 3)).0, 403);
    // A bad signature by the trusted key is a 403, even beside a good one by an unknown key of the same name.
    let forged = format!("{}\n{}{}", log.body(4), impostor.signature(4), log.signature(3));
    assert_eq!(status(&w, format!("old 0\n\n{forged}").as_bytes()).0, 403);
    let signed_by_impostor = format!("{}\n{}", log.body(3), impostor.signature(3));
    assert_eq!(status(&w, format!("old 0\n\n{signed_by_impostor}").as_bytes()).0, 403);

    // Size 0 must carry the empty tree's root; old 0 takes no proof.
    let empty = |root: Hash| tlog::note::sign(&Checkpoint { origin: "example.org/other".into(), size: 0, root }.body(), &[&other.signer]).unwrap();
    assert_eq!(status(&w, format!("old 0\n\n{}", empty([1u8; 32])).as_bytes()).0, 422);
    let hash = STANDARD.encode([1u8; 32]);
    assert_eq!(status(&w, format!("old 0\n{hash}\n\n{}", other.checkpoint(3)).as_bytes()).0, 422);
    assert_eq!(status(&w, format!("old 0\n\n{}", empty(merkle::empty_root())).as_bytes()).0, 200);
    assert_eq!(status(&w, &other.request(0, 3)).0, 200);

    // Malformed bodies are 400s; an oversized one is a 413.
    let cp = log.checkpoint(3);
    let proof_lines = |n: usize| format!("{hash}\n").repeat(n);
    for body in [
        format!("old 0\n{cp}"),
        format!("old 00\n\n{cp}"),
        format!("old +0\n\n{cp}"),
        format!("old 0 \n\n{cp}"),
        format!("old  0\n\n{cp}"),
        format!("Old 0\n\n{cp}"),
        format!("old 18446744073709551616\n\n{cp}"),
        format!("old 0\r\n\r\n{cp}"),
        format!("old 1\nAAAA\n\n{cp}"),
        format!("old 1\n{}\n\n{cp}", STANDARD.encode([1u8; 33])),
        format!("old 1\n{}\n{cp}", proof_lines(MAX_PROOF_LINES + 1)),
        format!("old 0\n\n{}", cp.trim_end()),
        // An empty extension line, validly signed.
        format!("old 0\n\n{}", tlog::note::sign(&format!("{}\nextension\n", log.body(3)), &[&log.signer]).unwrap()),
        "old 0\n\n".to_string(),
        String::new(),
    ] {
        let r = w.add_checkpoint(body.as_bytes());
        assert_eq!(r.status, 400, "{body:?}: {}", String::from_utf8_lossy(&r.body));
    }
    // 63 proof lines parse (and fail as a proof).
    assert_eq!(status(&w, format!("old 3\n{}\n{}", proof_lines(MAX_PROOF_LINES), log.checkpoint(5)).as_bytes()).0, 409);
    assert_eq!(parse_request(format!("old 3\n{}\n{cp}", proof_lines(MAX_PROOF_LINES)).as_bytes()).unwrap().proof.len(), MAX_PROOF_LINES);
    let big = vec![b'a'; MAX_REQUEST_BYTES + 1];
    assert_eq!(w.add_checkpoint(&big).status, 413);
    assert!(matches!(parse_request(&big), Err(AddError::TooLarge { .. })));

    // The monitoring read: the latest cosigned checkpoint by origin hash, 404 for a log never cosigned.
    let hash_of = |origin: &str| hex::encode(Sha256::digest(origin.as_bytes()));
    let r = w.get_checkpoint(&hash_of("example.org/other"));
    assert_eq!(r.status, 200);
    let note = Note::parse(&r.body).unwrap();
    note.verify(&[other.signer.verifier()]).unwrap();
    assert_eq!(note.verify_cosignatures(&[w.verifier()]).unwrap().len(), 1);
    assert_eq!(w.get_checkpoint(&hash_of("example.org/log")).status, 404);
    assert_eq!(w.get_checkpoint("not a hash").status, 404);

    // Extension lines are fine, and cosigned with the rest of the text.
    let extended = tlog::note::sign(&format!("{}extension\n", log.body(3)), &[&log.signer]).unwrap();
    let (code, cosignature) = status(&w, format!("old 0\n\n{extended}").as_bytes());
    assert_eq!(code, 200);
    verify_independently(&format!("{}extension\n", log.body(3)), &cosignature, &w.verifier());
}

#[test]
fn the_logs_file() {
    let a = Signer::from_seed("example.org/a", &[1u8; 32]).unwrap().verifier().to_vkey();
    let b = Signer::from_seed("example.org/b", &[2u8; 32]).unwrap().verifier().to_vkey();
    let logs = KnownLogs::parse(&format!("# logs this witness cosigns\n\n{a}\n  {b}   sigsum.org/v1/tree/abc  \n{a} sigsum.org/v1/tree/abc\n")).unwrap();
    assert_eq!(logs.keys("example.org/a").unwrap().len(), 1);
    assert_eq!(logs.keys("sigsum.org/v1/tree/abc").unwrap().len(), 2);
    assert!(logs.keys("example.org/b").is_none());

    let line = |text: &str| match KnownLogs::parse(text) {
        Err(ConfigError::Line { line, detail }) => (line, detail),
        other => panic!("{text:?}: {other:?}"),
    };
    assert_eq!(line(&format!("{a}\n\nnot-a-key\n")).0, 3);
    let (n, detail) = line(&format!("{a}\n{}\n", cosigner().verifier().to_vkey()));
    assert!(n == 2 && detail.contains("type 0x04"), "{detail}");
    let (n, detail) = line(&format!("{a}\n{a}\n"));
    assert!(n == 2 && detail.contains("twice"), "{detail}");
    assert!(matches!(KnownLogs::parse("# nothing\n"), Err(ConfigError::Empty)));
}

#[test]
fn the_key_file_is_a_go_note_signer_key() {
    // Go's PRIVATE+KEY+<name>+<id>+<base64(0x01 || seed)>: the same Ed25519 key, with the cosignature/v1 key ID.
    let skey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    let note_key = Verifier::parse("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").unwrap();
    let cosigner = Cosigner::parse(skey).unwrap();
    let vkey = cosigner.verifier().to_vkey();
    let raw = |v: &str| STANDARD.decode(v.rsplit('+').next().unwrap()).unwrap();
    assert_eq!((raw(&vkey)[0], &raw(&vkey)[1..]), (0x04, &raw(&note_key.to_vkey())[1..]));
    assert_ne!(cosigner.verifier().key_id, note_key.key_id);
    CosignatureV1::new(&vkey);
    assert!(Cosigner::parse("PRIVATE+KEY+PeterNeumann+c74f20a3").is_err());
    assert!(Cosigner::parse(&skey.replace("PRIVATE+KEY+", "")).is_err());
}

#[test]
fn a_log_gets_cosigned_through_the_client_helpers() {
    let tmp = tempfile::tempdir().unwrap();
    let mut log = Log::create(&tmp.path().join("log"), &tmp.path().join("log.private"), "example.org/oversight-witness-test", &[3u8; 32]).unwrap();
    let entries = |r: std::ops::Range<u64>| r.map(|i| format!("{{\"kind\":\"test\",\"n\":{i}}}").into_bytes()).collect::<Vec<_>>();
    log.append(&entries(0..10)).unwrap();
    let w = Witness::create(&tmp.path().join("witness.json"), cosigner(), KnownLogs::parse(&log.verifier().to_vkey()).unwrap()).unwrap();
    let witnesses = [w.verifier()];

    // The log's loop: send with the size it believes; on 409 retry from the witness's size.
    let cosign = |log: &Log, believed: u64| -> (String, usize) {
        let (mut size, mut tries) = (believed, 0);
        loop {
            tries += 1;
            let checkpoint = log.checkpoint().unwrap();
            let body = build_request(&checkpoint, size, |old, new| log.reader().consistency_proof(old, new)).unwrap();
            let r = w.add_checkpoint(&body);
            match parse_response(r.status, &r.body).unwrap() {
                Reply::Cosigned(cosignatures) => return (merge_cosignatures(&checkpoint, &cosignatures, &witnesses).unwrap(), tries),
                Reply::Conflict(witness_size) => size = witness_size,
            }
        }
    };
    let (cosigned, tries) = cosign(&log, 0);
    assert_eq!(tries, 1);
    let note = Note::parse(cosigned.as_bytes()).unwrap();
    note.verify(&[log.verifier()]).unwrap();
    assert_eq!(note.verify_cosignatures(&witnesses).unwrap()[0].0, WITNESS);
    assert_eq!(note.signatures[0].name, "example.org/oversight-witness-test", "the log's signature stays first");
    // signed_note checks both the log's signature and the cosignature.
    let list = signed_note::VerifierList::new(vec![
        Box::new(signed_note::StandardVerifier::new(&log.verifier().to_vkey()).unwrap()),
        Box::new(CosignatureV1::new(&w.verifier().to_vkey())),
    ]);
    assert_eq!(signed_note::Note::from_bytes(cosigned.as_bytes()).unwrap().verify(&list).unwrap().0.len(), 2);

    // The log grows; it believes the witness is at 0, learns 10 from the 409, and proves 10 → 30.
    log.append(&entries(10..30)).unwrap();
    let (cosigned, tries) = cosign(&log, 0);
    assert_eq!(tries, 2);
    assert_eq!(Note::parse(cosigned.as_bytes()).unwrap().verify_cosignatures(&witnesses).unwrap().len(), 1);

    // Merging again replaces the witness's cosignature rather than adding a second one.
    let body = build_request(&log.checkpoint().unwrap(), 30, |_, _| Ok::<_, Infallible>(vec![])).unwrap();
    let Reply::Cosigned(again) = parse_response(200, &w.add_checkpoint(&body).body).unwrap() else { panic!() };
    let merged = merge_cosignatures(&cosigned, &again, &witnesses).unwrap();
    let note = Note::parse(merged.as_bytes()).unwrap();
    assert_eq!(note.signatures.len(), 2);
    assert_eq!(note.signatures[1], again[0]);

    // Unknown witnesses are dropped; a bad cosignature by a known one is refused; the note holds MAX_SIGNATURES.
    let stranger = Cosigner::from_seed("example.org/stranger", &[5u8; 32]).unwrap().sign(&note.text, 1).unwrap();
    assert_eq!(merge_cosignatures(&cosigned, &[stranger], &witnesses).unwrap(), cosigned);
    let mut bad = again[0].clone();
    bad.body[20] ^= 1;
    assert!(matches!(merge_cosignatures(&cosigned, &[bad], &witnesses), Err(NoteError::BadSignature { .. })));
    let full: String = cosigned.clone() + &Signature { name: "example.org/filler".into(), key_id: 1, body: vec![0; 64] }.line().repeat(MAX_SIGNATURES - 2);
    assert_eq!(merge_cosignatures(&full, &again, &witnesses).unwrap().lines().filter(|l| l.starts_with('\u{2014}')).count(), MAX_SIGNATURES);
    let other = Cosigner::from_seed("example.org/w2", &[6u8; 32]).unwrap();
    let both = [w.verifier(), other.verifier()];
    let second = other.sign(&note.text, 2).unwrap();
    assert!(merge_cosignatures(&full, &[second], &both).is_err());

    // The client's refusals.
    assert!(matches!(build_request(&cosigned, 31, |_, _| Ok::<_, Infallible>(vec![])), Err(ClientError::WitnessAhead { witness: 31, log: 30 })));
    assert!(matches!(build_request(&cosigned, 5, |_, _| Err("no tiles")), Err(ClientError::Proof { old: 5, size: 30, .. })));
    assert!(matches!(build_request(&cosigned, 5, |_, _| Ok::<_, Infallible>(vec![[0u8; 32]; 64])), Err(ClientError::Proof { .. })));
    assert!(matches!(parse_response(404, b"unknown log\n"), Err(ClientError::Refused { status: 404, .. })));
    for (status, body) in [(409, &b"05\n"[..]), (409, b"5"), (200, b""), (200, b"\xe2\x80\x94 w AAAA\n"), (200, b"hello\n")] {
        assert!(matches!(parse_response(status, body), Err(ClientError::BadAnswer(_))), "{status} {body:?}");
    }
}

#[test]
fn the_parser_never_panics() {
    use proptest::prelude::*;
    let tmp = tempfile::tempdir().unwrap();
    let log = TestLog::new("example.org/log", 1, 0..20);
    let w = Witness::create(&tmp.path().join("state.json"), cosigner(), KnownLogs::parse(&log.vkey()).unwrap()).unwrap();
    assert_eq!(status(&w, &log.request(0, 5)).0, 200);
    let valid = log.request(5, 9);
    let answers = [200, 400, 403, 404, 409, 413, 422];
    let mut runner = proptest::test_runner::TestRunner::default();
    runner
        .run(&proptest::collection::vec(any::<u8>(), 0..600), |bytes| {
            let _ = parse_request(&bytes);
            prop_assert!(answers.contains(&w.add_checkpoint(&bytes).status));
            Ok(())
        })
        .unwrap();
    // Valid requests cut short or with one byte changed.
    runner
        .run(&(0..valid.len(), any::<u8>(), any::<bool>()), |(at, byte, cut)| {
            let mut body = valid.clone();
            if cut {
                body.truncate(at);
            } else {
                body[at] = byte;
            }
            let r = w.add_checkpoint(&body);
            prop_assert!(answers.contains(&r.status));
            // Only the valid request itself is cosigned (or one differing only in a signature's base64 pad bits).
            let text = |b: &[u8]| parse_request(b).map(|r| (r.old, r.proof, r.note.text)).ok();
            prop_assert!(r.status != 200 || text(&body) == text(&valid));
            Ok(())
        })
        .unwrap();
}
