//! `oversight log …` end to end.

use std::io::Write;
use std::process::{Command, Stdio};

fn oversight(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_oversight")).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[test]
fn init_append_checkpoint_prove() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let d = dir.to_str().unwrap();
    let (code, vkey, _) = oversight(&["log", "--dir", d, "init", "--origin", "example.org/t"], "");
    assert_eq!(code, 0);
    assert!(vkey.starts_with("example.org/t+"), "{vkey}");
    let (code, out, _) = oversight(&["log", "--dir", d, "append"], "{\"kind\":\"scan\",\"b\":1,\"a\":2}\n\n{\"kind\":\"finding\"}\n");
    assert_eq!((code, out.as_str()), (0, "0\n1\n"));
    // Entries are stored as canonical JSON.
    let reader = tlog::log::TileReader::new(&dir);
    assert_eq!(reader.entry(0, 2).unwrap(), br#"{"a":2,"b":1,"kind":"scan"}"#);
    // A bad line refuses the whole batch, naming the line.
    let (code, _, err) = oversight(&["log", "--dir", d, "append"], "{\"a\":1}\nnot json\n");
    assert_eq!(code, 1);
    assert!(err.contains("stdin: line 2: not valid JSON"), "{err}");
    assert_eq!(reader.checkpoint().unwrap().1.size, 2);
    let (code, cp, _) = oversight(&["log", "--dir", d, "checkpoint"], "");
    assert_eq!(code, 0);
    let note = tlog::note::Note::parse(cp.as_bytes()).unwrap();
    note.verify(&[tlog::note::Verifier::parse(vkey.trim()).unwrap()]).unwrap();
    let (code, out, _) = oversight(&["log", "--dir", d, "prove", "--index", "1", "--json"], "");
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["hashes"].as_array().unwrap().len(), 1);
    assert_eq!(oversight(&["log", "--dir", d, "prove"], "").0, 2);
    // The key file is private to its owner.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(tmp.path().join("log.private/key")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn pseudonyms_can_be_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("key");
    std::fs::write(&key, b"provider secret").unwrap();
    let k = key.to_str().unwrap();
    let (code, p, _) = oversight(&["log", "pseudonym", "--key-file", k, "--tenant", "sub-0042"], "");
    assert_eq!(code, 0);
    assert_eq!(oversight(&["log", "pseudonym", "--key-file", k, "--tenant", "sub-0042", "--check", p.trim()], "").0, 0);
    assert_eq!(oversight(&["log", "pseudonym", "--key-file", k, "--tenant", "sub-0043", "--check", p.trim()], "").0, 1);
}

#[test]
fn verify_says_what_holds_and_catches_tampering_and_rollback() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let d = dir.to_str().unwrap();
    let state = tmp.path().join("seen");
    let s = state.to_str().unwrap();
    let vkey = oversight(&["log", "--dir", d, "init", "--origin", "example.org/v"], "").1.trim().to_string();
    let lines: String = (0..600).map(|i| format!("{{\"kind\":\"scan\",\"n\":{i}}}\n")).collect();
    oversight(&["log", "--dir", d, "append"], &lines);
    let (code, out, _) = oversight(&["verify", "--log", d, "--key", &vkey, "--state", s, "--entry", "5", "--full"], "");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("holds: entry inclusion: entry 5: {\"kind\":\"scan\",\"n\":5}"), "{out}");
    oversight(&["log", "--dir", d, "append"], "{\"kind\":\"lift\"}\n");
    let (code, out, _) = oversight(&["verify", "--log", d, "--key", &vkey, "--state", s], "");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("extends the remembered size 600"), "{out}");

    // A tampered tile is caught by the full check.
    let copy = tmp.path().join("tampered");
    std::fs::create_dir_all(copy.join("tile/0")).unwrap();
    for f in ["checkpoint"] {
        std::fs::copy(dir.join(f), copy.join(f)).unwrap();
    }
    copy_dir(&dir.join("tile"), &copy.join("tile"));
    let mut t = std::fs::read(copy.join("tile/0/000")).unwrap();
    t[40] ^= 1;
    std::fs::write(copy.join("tile/0/000"), t).unwrap();
    let (code, out, _) = oversight(&["verify", "--log", copy.to_str().unwrap(), "--key", &vkey, "--full"], "");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAILS: every tile"), "{out}");

    // A log that shrank since the last check is a rollback.
    std::fs::write(&state, "example.org/v\n700\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n").unwrap();
    let (code, out, _) = oversight(&["verify", "--log", d, "--key", &vkey, "--state", s], "");
    assert_eq!(code, 1);
    assert!(out.contains("FAILS: consistency with last check: the log shrank from 700 to 601"), "{out}");
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() { copy_dir(&e.path(), &dest) } else { std::fs::copy(e.path(), dest).unwrap(); }
    }
}

fn http_get(addr: &str, path: &str) -> String {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).to_ascii_lowercase()
}

#[test]
fn serve_sets_content_types_and_cache_lifetimes() {
    use std::io::BufRead;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let d = dir.to_str().unwrap();
    oversight(&["log", "--dir", d, "init", "--origin", "example.org/s"], "");
    let lines: String = (0..300).map(|i| format!("{{\"n\":{i}}}\n")).collect();
    oversight(&["log", "--dir", d, "append"], &lines);
    let mut child = Command::new(env!("CARGO_BIN_EXE_oversight"))
        .args(["log", "--dir", d, "serve", "--listen", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stderr.take().unwrap()).read_line(&mut first).unwrap();
    let addr = first.trim().rsplit("http://").next().unwrap().to_string();
    let cp = http_get(&addr, "/checkpoint");
    let full = http_get(&addr, "/tile/0/000");
    let partial = http_get(&addr, "/tile/entries/001.p/44");
    let escape = http_get(&addr, "/tile/../../etc/passwd");
    let private = http_get(&addr, "/../log.private/key");
    let hidden = http_get(&addr, "/tile/.hidden");
    let _ = child.kill();
    let _ = child.wait();
    assert!(cp.starts_with("http/1.1 200") && cp.contains("cache-control: no-store") && cp.contains("text/plain"), "{cp}");
    assert!(full.starts_with("http/1.1 200") && full.contains("max-age=31536000, immutable"), "{full}");
    assert!(partial.starts_with("http/1.1 200"), "{partial}");
    // Paths outside the public layout are never served (404, or hyper refuses the request outright).
    assert!(hidden.starts_with("http/1.1 404"), "{hidden}");
    for r in [&escape, &private] {
        assert!(!r.starts_with("http/1.1 200") && !r.contains("private+key"), "{r}");
    }

}
