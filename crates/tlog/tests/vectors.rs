//! External vectors: every transparency-dev probe, the RFC 6962 reference tree, and real Argon2020 CT proofs.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use tlog::merkle::{self, Hash};

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/tlog-vectors")
}

/// A probe hash: standard base64 that must decode to 32 bytes (the probes include deliberately bad ones).
fn h64(v: &Value) -> Option<Hash> {
    STANDARD.decode(v.as_str()?).ok()?.try_into().ok()
}

fn proof(v: &Value) -> Option<Vec<Hash>> {
    match v {
        Value::Null => Some(vec![]),
        Value::Array(a) => a.iter().map(h64).collect(),
        _ => None,
    }
}

fn probes(kind: &str) -> Vec<(PathBuf, Value)> {
    let mut out = Vec::new();
    for e in walk(&vectors().join("transparency-dev-merkle").join(kind)) {
        if e.extension().is_some_and(|x| x == "json") {
            out.push((e.clone(), serde_json::from_slice(&std::fs::read(&e).unwrap()).unwrap()));
        }
    }
    assert!(!out.is_empty());
    out
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out.sort();
    out
}

#[test]
fn transparency_dev_inclusion_probes() {
    let mut n = 0;
    for (path, v) in probes("inclusion") {
        let ok = (|| {
            let leaf = h64(&v["leafHash"])?;
            let root = h64(&v["root"])?;
            let p = proof(&v["proof"])?;
            let (i, size) = (v["leafIdx"].as_i64()?, v["treeSize"].as_i64()?);
            if i < 0 || size < 0 {
                return Some(false);
            }
            Some(merkle::verify_inclusion(&leaf, i as u64, size as u64, &p, &root).is_ok())
        })()
        .unwrap_or(false);
        assert_eq!(ok, !v["wantErr"].as_bool().unwrap(), "{}", path.display());
        n += 1;
    }
    assert!(n > 50, "{n} probes");
}

#[test]
fn transparency_dev_consistency_probes() {
    let mut n = 0;
    for (path, v) in probes("consistency") {
        // Documented quirk (SOURCES.md): transparency-dev accepts equal non-32-byte roots; a strict verifier refuses.
        if path.ends_with("additional/sizes-are-equal-one-and-proof-is-empty.json") {
            assert!(h64(&v["root1"]).is_none(), "the quirk is about non-32-byte roots");
            continue;
        }
        let ok = (|| {
            let (r1, r2) = (h64(&v["root1"])?, h64(&v["root2"])?);
            let p = proof(&v["proof"])?;
            let (s1, s2) = (v["size1"].as_i64()?, v["size2"].as_i64()?);
            if s1 < 0 || s2 < 0 {
                return Some(false);
            }
            Some(merkle::verify_consistency(s1 as u64, s2 as u64, &r1, &r2, &p).is_ok())
        })()
        .unwrap_or(false);
        assert_eq!(ok, !v["wantErr"].as_bool().unwrap(), "{}", path.display());
        n += 1;
    }
    assert!(n > 50, "{n} probes");
}

fn hx(v: &Value) -> Hash {
    hex::decode(v.as_str().unwrap()).unwrap().try_into().unwrap()
}

#[test]
fn rfc6962_reference_tree() {
    let d: Value = serde_json::from_slice(&std::fs::read(vectors().join("rfc6962-reference-tree.json")).unwrap()).unwrap();
    let leaves: Vec<Hash> = d["leaf_inputs_hex"].as_array().unwrap().iter().map(|x| merkle::leaf_hash(&hex::decode(x.as_str().unwrap()).unwrap())).collect();
    for (size, want) in d["root_hashes_hex_by_tree_size"].as_object().unwrap() {
        let size: usize = size.parse().unwrap();
        assert_eq!(merkle::root(&leaves[..size]), hx(want), "root of {size}");
    }
    for p in d["inclusion_proofs"].as_array().unwrap() {
        let (i, size) = (p["leaf_index"].as_u64().unwrap() as usize, p["tree_size"].as_u64().unwrap() as usize);
        let want: Vec<Hash> = p["proof_hex"].as_array().unwrap().iter().map(hx).collect();
        assert_eq!(merkle::inclusion_proof(&leaves[..size], i), want, "inclusion {i} in {size}");
        merkle::verify_inclusion(&hx(&p["leaf_hash_hex"]), i as u64, size as u64, &want, &hx(&p["root_hex"])).unwrap();
    }
    for p in d["consistency_proofs"].as_array().unwrap() {
        let (m, n) = (p["size1"].as_u64().unwrap() as usize, p["size2"].as_u64().unwrap() as usize);
        let want: Vec<Hash> = p["proof_hex"].as_array().unwrap().iter().map(hx).collect();
        assert_eq!(merkle::consistency_proof(&leaves[..n], m), want, "consistency {m} -> {n}");
        merkle::verify_consistency(m as u64, n as u64, &hx(&p["root1_hex"]), &hx(&p["root2_hex"]), &want).unwrap();
    }
}

#[test]
fn real_argon2020_ct_proofs() {
    let dir = vectors().join("argon2020-ct");
    let read = |name: &str| -> Value { serde_json::from_slice(&std::fs::read(dir.join(name)).unwrap()).unwrap() };
    let sth = read("get-sth.json");
    let size = sth["tree_size"].as_u64().unwrap();
    let root = h64(&sth["sha256_root_hash"]).unwrap();
    let proof_file =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).find(|n| n.starts_with("get-proof-by-hash")).unwrap();
    let p = read(&proof_file);
    let path: Vec<Hash> = p["audit_path"].as_array().unwrap().iter().map(|x| h64(x).unwrap()).collect();
    let entries = read("get-entries-start-10000-end-10000.json");
    let leaf_input = STANDARD.decode(entries["entries"][0]["leaf_input"].as_str().unwrap()).unwrap();
    let index = p["leaf_index"].as_u64().unwrap();
    merkle::verify_inclusion(&merkle::leaf_hash(&leaf_input), index, size, &path, &root).unwrap();

    let c = read("get-sth-consistency-first-3654490-second-961984011.json");
    let cpath: Vec<Hash> = c["consistency"].as_array().unwrap().iter().map(|x| h64(x).unwrap()).collect();
    // The old root is from golang/mod sumdb/tlog/ct_test.go (SOURCES.md).
    let old = h64(&Value::String("AuIZ5V6sDUj1vn3Y1K85oOaQ7y+FJJKtyRTl1edIKBQ=".into())).unwrap();
    merkle::verify_consistency(3654490, size, &old, &root, &cpath).unwrap();
    assert!(merkle::verify_consistency(3654490, size, &root, &root, &cpath).is_err());
}

#[test]
fn c2sp_tile_paths() {
    let d: Value = serde_json::from_slice(&std::fs::read(vectors().join("c2sp-spec-examples.json")).unwrap()).unwrap();
    for v in d["tile_index_encoding"].as_array().unwrap() {
        assert_eq!(tlog::tiles::index_path(v["n"].as_u64().unwrap()), v["path_elems"].as_str().unwrap());
    }
    for (size, key) in [(256u64, "tree_size_256"), (70_000, "tree_size_70000")] {
        let tiles: Vec<String> = tlog::tiles::hash_tiles(size).into_iter().map(|(l, n, w)| tlog::tiles::tile_path(l, n, w)).collect();
        let want: Vec<&str> = d[key]["hash_tiles_derived"].as_array().unwrap().iter().map(|x| x.as_str().unwrap()).collect();
        assert_eq!(tiles, want, "{key}");
        let bundles: Vec<String> = tlog::tiles::entry_bundles(size).into_iter().map(|(n, w)| tlog::tiles::entries_path(n, w)).collect();
        match d[key].get("entry_bundles_derived") {
            Some(all) => assert_eq!(bundles, all.as_array().unwrap().iter().map(|x| x.as_str().unwrap()).collect::<Vec<_>>(), "{key}"),
            None => {
                assert_eq!(bundles.len() as u64, d[key]["entry_bundles_count_derived"].as_u64().unwrap());
                assert_eq!(bundles.last().unwrap(), d[key]["last_entry_bundle_derived"].as_str().unwrap());
            }
        }
    }
}

fn note_vectors() -> Value {
    serde_json::from_slice(&std::fs::read(vectors().join("signed-note-vectors.json")).unwrap()).unwrap()
}

#[test]
fn signed_note_valid_vectors() {
    use tlog::note::{Note, NoteError, Signer, Verifier};
    let d = note_vectors();
    for v in d["valid_notes"].as_array().unwrap() {
        let note = Note::parse(v["signed_note"].as_str().unwrap().as_bytes()).unwrap();
        match v["id"].as_str().unwrap() {
            "go-two-sigs" => {
                let keys: Vec<Verifier> = v["vkeys"].as_array().unwrap().iter().map(|k| Verifier::parse(k.as_str().unwrap()).unwrap()).collect();
                assert_eq!(note.verify(&keys[..1]).unwrap(), vec!["PeterNeumann"]);
                assert_eq!(note.verify(&keys).unwrap().len(), 2);
                assert_eq!(note.verify(&[]), Err(NoteError::Unverified));
            }
            id => {
                let key = Verifier::parse(v["vkey"].as_str().unwrap()).unwrap();
                assert_eq!(key.to_vkey(), v["vkey"].as_str().unwrap());
                note.verify(std::slice::from_ref(&key)).unwrap_or_else(|e| panic!("{id}: {e}"));
                if let Some(skey) = v.get("skey") {
                    // Ed25519 is deterministic: our signer reproduces the published note byte for byte.
                    let signer = Signer::parse(skey.as_str().unwrap()).unwrap();
                    assert_eq!(tlog::note::sign(v["text"].as_str().unwrap(), &[&signer]).unwrap(), v["signed_note"].as_str().unwrap());
                    assert_eq!(signer.verifier().to_vkey(), key.to_vkey());
                }
            }
        }
    }
}

#[test]
fn signed_note_invalid_vectors_are_refused() {
    use tlog::note::{Note, Verifier};
    let d = note_vectors();
    let mut n = 0;
    for v in d["invalid"].as_array().unwrap() {
        let id = v["id"].as_str().unwrap();
        let refused = match v.get("signed_note") {
            None => Verifier::parse(v["vkey"].as_str().unwrap()).is_err(),
            Some(text) => {
                let keys: Vec<Verifier> = v.get("vkey").map(|k| vec![Verifier::parse(k.as_str().unwrap()).unwrap()]).unwrap_or_default();
                Note::parse(text.as_str().unwrap().as_bytes()).and_then(|note| note.verify(&keys)).is_err()
            }
        };
        assert!(refused, "{id} was accepted");
        n += 1;
    }
    assert_eq!(n, 9);
    // Key IDs of real keys, including a name and key holding '+'.
    for k in d["real_vkeys_for_key_id_checks"].as_array().unwrap() {
        let v = Verifier::parse(k["vkey"].as_str().unwrap()).unwrap();
        assert_eq!(u64::from(v.kind), k["signature_type"].as_u64().unwrap());
    }
}

#[test]
fn derived_cosignature_v1_vector() {
    use tlog::note::{Note, Verifier};
    let d: Value = serde_json::from_slice(&std::fs::read(vectors().join("c2sp-spec-examples.json")).unwrap()).unwrap();
    let k = &d["derived_cosignature_v1_kat"];
    let witness = Verifier::parse(k["vkey_type_0x04"].as_str().unwrap()).unwrap();
    let text = format!("{}\n{}\n", k["checkpoint_text"].as_str().unwrap(), k["cosignature_line"].as_str().unwrap());
    let note = Note::parse(text.as_bytes()).unwrap();
    assert_eq!(
        note.verify_cosignatures(std::slice::from_ref(&witness)).unwrap(),
        vec![(k["cosigner_name"].as_str().unwrap().to_string(), k["timestamp"].as_u64().unwrap())]
    );
    // Ed25519 is deterministic: our cosigner reproduces the line byte for byte, and its key.
    let seed: [u8; 32] = hex::decode(k["ed25519_seed_hex"].as_str().unwrap()).unwrap().try_into().unwrap();
    let cosigner = tlog::note::Cosigner::from_seed(k["cosigner_name"].as_str().unwrap(), &seed).unwrap();
    assert_eq!(cosigner.verifier().to_vkey(), k["vkey_type_0x04"].as_str().unwrap());
    assert_eq!(
        tlog::note::cosignature_message(k["timestamp"].as_u64().unwrap(), k["checkpoint_text"].as_str().unwrap()),
        k["signed_message"].as_str().unwrap()
    );
    let line = cosigner.sign(k["checkpoint_text"].as_str().unwrap(), k["timestamp"].as_u64().unwrap()).unwrap().line();
    assert_eq!(line, format!("{}\n", k["cosignature_line"].as_str().unwrap()));
    // A witness cosignature may not omit the time, nor exceed 2^63-1.
    assert!(cosigner.sign(k["checkpoint_text"].as_str().unwrap(), 0).is_err());
    assert!(cosigner.sign(k["checkpoint_text"].as_str().unwrap(), 1 << 63).is_err());
    // The same line over another checkpoint does not verify.
    let other = text.replace("20852163", "20852164");
    assert!(Note::parse(other.as_bytes()).unwrap().verify_cosignatures(&[witness]).is_err());
}
