//! `oversight log …` end to end.

use std::io::Write;
use std::process::{Command, Stdio};

mod common;
use common::oversight;

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

/// A new log in `dir` with `n` scan entries (`{"kind":"scan","n":i}`); returns its verifier key.
fn scan_log(dir: &str, origin: &str, n: u64) -> String {
    let vkey = oversight(&["log", "--dir", dir, "init", "--origin", origin], "").1.trim().to_string();
    let lines: String = (0..n).map(|i| format!("{{\"kind\":\"scan\",\"n\":{i}}}\n")).collect();
    assert_eq!(oversight(&["log", "--dir", dir, "append"], &lines).0, 0);
    vkey
}

#[test]
fn verify_says_what_holds_and_catches_tampering_and_rollback() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let d = dir.to_str().unwrap();
    let state = tmp.path().join("seen");
    let s = state.to_str().unwrap();
    let vkey = scan_log(d, "example.org/v", 600);
    let (code, out, _) = oversight(&["verify", "--log", d, "--key", &vkey, "--state", s, "--entry", "5", "--full"], "");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("holds: entry inclusion: entry 5: {\"kind\":\"scan\",\"n\":5}"), "{out}");
    oversight(&["log", "--dir", d, "append"], "{\"kind\":\"lift\"}\n");
    let (code, out, _) = oversight(&["verify", "--log", d, "--key", &vkey, "--state", s], "");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("extends the remembered size 600"), "{out}");

    // A tampered tile is caught by the full check.
    let copy = tmp.path().join("tampered");
    copy_dir(&dir, &copy);
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
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest)
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
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

/// `oversight log serve` of a folder on a free port; killed when dropped.
struct Server {
    child: std::process::Child,
    addr: String,
}

impl Server {
    fn start(dir: &str) -> Server {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_oversight"))
            .args(["log", "--dir", dir, "serve", "--listen", "127.0.0.1:0"])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        std::io::BufReader::new(child.stderr.take().unwrap()).read_line(&mut first).unwrap();
        let addr = first.trim().rsplit("http://").next().unwrap().to_string();
        Server { child, addr }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn serve_sets_content_types_and_cache_lifetimes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let d = dir.to_str().unwrap();
    oversight(&["log", "--dir", d, "init", "--origin", "example.org/s"], "");
    let lines: String = (0..300).map(|i| format!("{{\"n\":{i}}}\n")).collect();
    oversight(&["log", "--dir", d, "append"], &lines);
    let server = Server::start(d);
    let addr = server.addr.clone();
    let cp = http_get(&addr, "/checkpoint");
    let full = http_get(&addr, "/tile/0/000");
    let partial = http_get(&addr, "/tile/entries/001.p/44");
    let escape = http_get(&addr, "/tile/../../etc/passwd");
    let private = http_get(&addr, "/../log.private/key");
    let hidden = http_get(&addr, "/tile/.hidden");
    drop(server);
    assert!(cp.starts_with("http/1.1 200") && cp.contains("cache-control: no-store") && cp.contains("text/plain"), "{cp}");
    assert!(full.starts_with("http/1.1 200") && full.contains("max-age=31536000, immutable"), "{full}");
    assert!(partial.starts_with("http/1.1 200"), "{partial}");
    // Paths outside the public layout are never served (404, or hyper refuses the request outright).
    assert!(hidden.starts_with("http/1.1 404"), "{hidden}");
    for r in [&escape, &private] {
        assert!(!r.starts_with("http/1.1 200") && !r.contains("private+key"), "{r}");
    }
}

#[test]
fn verify_reads_a_served_log_over_http_and_catches_a_tampered_tile() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let d = dir.to_str().unwrap();
    let state = tmp.path().join("seen");
    let s = state.to_str().unwrap();
    let vkey = scan_log(d, "example.org/h", 600);
    oversight(&["log", "--dir", d, "append"], "{\"kind\":\"lift\"}\n");

    // The good log, over HTTP: every check as for the folder.
    let good = Server::start(d);
    let url = format!("http://{}/", good.addr);
    let (code, out, err) = oversight(&["verify", "--log", &url, "--key", &vkey, "--state", s, "--entry", "5", "--full"], "");
    assert_eq!(code, 0, "{out}{err}");
    for line in [
        "holds: log signature",
        "holds: root from tiles: size 601",
        "holds: every tile: 601 entries",
        "holds: entry inclusion: entry 5: {\"kind\":\"scan\",\"n\":5}",
    ] {
        assert!(out.contains(line), "{line}\n{out}");
    }
    // The same answers as from the folder.
    let (_, from_folder, _) = oversight(&["verify", "--log", d, "--key", &vkey, "--entry", "5", "--full", "--json"], "");
    let (_, from_url, _) = oversight(&["verify", "--log", url.trim_end_matches('/'), "--key", &vkey, "--entry", "5", "--full", "--json"], "");
    assert_eq!(from_folder, from_url);
    oversight(&["log", "--dir", d, "append"], "{\"kind\":\"lift\"}\n");
    let (code, out, _) = oversight(&["verify", "--log", &url, "--key", &vkey, "--state", s], "");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("holds: consistency with last check: size 602 extends the remembered size 601"), "{out}");
    drop(good);

    // A copy with one hash flipped in the level-1 tile the root is computed from, served the same way.
    let copy = tmp.path().join("tampered");
    copy_dir(&dir, &copy);
    let tile = copy.join("tile/1/000.p/2");
    let mut t = std::fs::read(&tile).unwrap();
    t[3] ^= 1;
    std::fs::write(&tile, t).unwrap();
    let bad = Server::start(copy.to_str().unwrap());
    let url = format!("http://localhost:{}/", bad.addr.rsplit(':').next().unwrap());
    let (code, out, _) = oversight(&["verify", "--log", &url, "--key", &vkey, "--full"], "");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("holds: log signature"), "{out}");
    assert!(out.contains("FAILS: root from tiles: tiles give "), "{out}");
    assert!(out.contains(&format!("FAILS: every tile: corrupt log: {url}tile/1/000.p/2 differs from the tile rebuilt from the entries")), "{out}");
    // A missing file is named by its URL.
    std::fs::remove_file(&tile).unwrap();
    let (code, out, _) = oversight(&["verify", "--log", &url, "--key", &vkey], "");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("FAILS: root from tiles: {url}tile/1/000.p/2: HTTP 404 Not Found")), "{out}");
    drop(bad);
    // Nothing listens any more: the checkpoint cannot be read.
    let (code, out, _) = oversight(&["verify", "--log", &url, "--key", &vkey], "");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("FAILS: checkpoint: {url}checkpoint: ")), "{out}");
}

#[test]
fn verify_refuses_urls_off_this_machine_and_bad_keys_as_usage_errors() {
    let vkey = "example.org/h+01234567+AcYUXfhVvDkrdXp71ZpzwBUY03LPxjhJ5bqrwPcKUFSs";
    // Plain HTTP only from this machine (HTTPS from anywhere: tests/public_verify.rs).
    for url in ["http://example.org/log/", "http://10.0.0.1:80/"] {
        let (code, _, err) = oversight(&["verify", "--log", url, "--key", vkey], "");
        assert_eq!(code, 2, "{url}: {err}");
        assert!(err.contains("plain HTTP is read only from this machine; use https://"), "{url}: {err}");
    }
    for url in ["http://user@localhost:1/", "https://localhost/log/?a=1", "ftp://localhost/"] {
        let (code, _, err) = oversight(&["verify", "--log", url, "--key", vkey], "");
        assert_eq!(code, 2, "{url}: {err}");
    }
    let (code, _, err) = oversight(&["verify", "--log", "http://[::1]:1/", "--key", "not a key"], "");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--key \"not a key\""), "{err}");
    let (code, help, _) = oversight(&["verify", "--help"], "");
    assert_eq!(code, 0);
    assert!(help.contains("--log <DIR|URL>") && help.contains("Exit codes: 0 every check holds; 1 a check fails"), "{help}");
}

#[test]
fn the_private_folder_never_lands_in_the_public_one() {
    let tmp = tempfile::tempdir().unwrap();
    let public = tmp.path().join("pub");
    std::fs::create_dir(&public).unwrap();
    // `--dir .`: the private folder goes beside the served one, not into it.
    let out =
        Command::new(env!("CARGO_BIN_EXE_oversight")).current_dir(&public).args(["log", "--dir", ".", "init", "--origin", "example.org/t"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(tmp.path().join("pub.private/key").exists());
    for f in ["key", "lock", "stage", "pub.private"] {
        assert!(!public.join(f).exists(), "{f} in the public folder");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(tmp.path().join("pub.private")).unwrap().permissions().mode() & 0o777, 0o700);
        assert_eq!(std::fs::metadata(tmp.path().join("pub.private/key")).unwrap().permissions().mode() & 0o777, 0o600);
    }
    // A private folder named inside the public one is refused, and nothing is written.
    let other = tmp.path().join("other");
    let (code, _, err) =
        oversight(&["log", "--dir", other.to_str().unwrap(), "--private", other.join("secret").to_str().unwrap(), "init", "--origin", "o"], "");
    assert_eq!(code, 1);
    assert!(err.contains("inside"), "{err}");
    assert!(!other.join("secret").exists());
}
