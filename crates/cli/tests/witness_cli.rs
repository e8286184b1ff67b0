//! Three witnesses on loopback: a log's checkpoint cosigned by all three and verified with a quorum, then a split
//! view (the same log key signing a second history of the same size) refused by the witnesses and caught by
//! `verify`.

use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};

mod common;
use common::oversight;

/// `oversight witness serve` on a free port; killed when dropped.
struct Witness {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT`.
    url: String,
    /// Its verifier key.
    vkey: String,
}

impl Witness {
    fn start(dir: &Path, name: &str, logs: &Path) -> Witness {
        let (key, state) = (dir.join(format!("{name}.key")), dir.join(format!("{name}.state")));
        let (code, vkey, err) = oversight(&["witness", "init", "--key", s(&key), "--state", s(&state), "--name", &format!("{name}.example.org")], "");
        assert_eq!(code, 0, "{err}");
        let mut child = Command::new(env!("CARGO_BIN_EXE_oversight"))
            .args(["witness", "serve", "--key", s(&key), "--state", s(&state), "--logs", s(logs), "--listen", "127.0.0.1:0"])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let url = loop {
            let line = lines.next().expect("the witness starts").unwrap();
            if let Some(addr) = line.split("serving on ").nth(1) {
                break addr.trim().to_string();
            }
        };
        Witness { child, url, vkey: vkey.trim().to_string() }
    }

    /// `URL+VKEY`, as `log checkpoint --witness` takes it.
    fn arg(&self) -> String {
        format!("{}+{}", self.url, self.vkey)
    }
}

impl Drop for Witness {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from) {
        let e = e.unwrap();
        let target = to.join(e.path().strip_prefix(from).unwrap());
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

#[test]
fn three_witnesses_cosign_one_history_and_refuse_a_split_view() {
    let tmp = tempfile::tempdir().unwrap();
    let (log, private) = (tmp.path().join("log"), tmp.path().join("log.private"));
    let (code, log_vkey, err) = oversight(&["log", "--dir", s(&log), "init", "--origin", "transparency.example.org/oversight"], "");
    assert_eq!(code, 0, "{err}");
    let log_vkey = log_vkey.trim().to_string();
    oversight(&["log", "--dir", s(&log), "append"], "{\"kind\":\"scan\",\"n\":1}\n{\"kind\":\"finding\",\"n\":2}\n");
    let logs = tmp.path().join("logs.txt");
    std::fs::write(&logs, format!("# the logs these witnesses cosign\n{log_vkey}\n")).unwrap();
    let witnesses: Vec<Witness> = ["w1", "w2", "w3"].iter().map(|n| Witness::start(tmp.path(), n, &logs)).collect();
    let mut cosign = vec!["log", "--dir", s(&log), "checkpoint", "--quorum", "3"];
    let args: Vec<String> = witnesses.iter().map(Witness::arg).collect();
    for a in &args {
        cosign.extend(["--witness", a]);
    }
    let verify = |dir: &Path, quorum: &str| {
        let mut v = vec!["verify", "--log", s(dir), "--key", &log_vkey, "--quorum", quorum, "--json"];
        for w in &witnesses {
            v.extend(["--witness", &w.vkey]);
        }
        let (code, out, _) = oversight(&v, "");
        (code, out)
    };

    // Size 2, cosigned by all three.
    let (code, cp, err) = oversight(&cosign, "");
    assert_eq!(code, 0, "{err}");
    assert_eq!(cp.lines().filter(|l| l.starts_with("— w")).count(), 3, "{cp}");
    assert_eq!(verify(&log, "3").0, 0);

    // The provider forks its log: the same key, a copy of its state, a different history of the same size.
    let (fork, fork_private) = (tmp.path().join("fork"), tmp.path().join("fork.private"));
    copy_dir(&log, &fork);
    copy_dir(&private, &fork_private);
    oversight(&["log", "--dir", s(&log), "append"], "{\"kind\":\"decision\",\"n\":3}\n");
    oversight(&["log", "--dir", s(&fork), "append"], "{\"kind\":\"decision\",\"n\":\"another\"}\n");

    // The public history grows and is cosigned (each witness checks a consistency proof from size 2).
    let (code, cp, err) = oversight(&cosign, "");
    assert_eq!(code, 0, "{err}");
    assert!(cp.contains("\n3\n") && cp.lines().filter(|l| l.starts_with("— w")).count() == 3, "{cp}");
    assert_eq!(verify(&log, "2").0, 0);

    // The split view: every witness has cosigned size 3 with another root and refuses; nothing is cosigned.
    let mut fork_cosign = cosign.clone();
    fork_cosign[2] = s(&fork);
    let (code, cp, err) = oversight(&fork_cosign, "");
    assert_eq!(code, 1, "the quorum is not met: {err}");
    assert_eq!(err.matches("NOT cosigned").count(), 3, "{err}");
    assert!(!cp.lines().any(|l| l.starts_with("— w")), "{cp}");
    let (code, out) = verify(&fork, "2");
    assert_eq!(code, 1, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let quorum = report["checks"].as_array().unwrap().iter().find(|c| c["check"] == "witness quorum").expect("a quorum check");
    assert_eq!(quorum["holds"], false, "{out}");
    // The log's own signature on the fork is valid: only the witnesses tell the two histories apart.
    let signature = report["checks"].as_array().unwrap().iter().find(|c| c["check"] == "log signature").unwrap();
    assert_eq!(signature["holds"], true, "{out}");
}

#[test]
fn a_witness_refuses_an_unknown_log_and_a_bad_witness_argument() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("log");
    let (_, log_vkey, _) = oversight(&["log", "--dir", s(&log), "init", "--origin", "a.example.org/log"], "");
    let other = tmp.path().join("other");
    let (_, other_vkey, _) = oversight(&["log", "--dir", s(&other), "init", "--origin", "b.example.org/log"], "");
    let logs = tmp.path().join("logs.txt");
    std::fs::write(&logs, format!("{}\n", other_vkey.trim())).unwrap();
    let w = Witness::start(tmp.path(), "w", &logs);
    let arg = w.arg();
    let (code, _, err) = oversight(&["log", "--dir", s(&log), "checkpoint", "--witness", &arg, "--quorum", "1"], "");
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("NOT cosigned") && err.contains("404"), "{err}");
    let _ = log_vkey;
    let (code, _, err) = oversight(&["log", "--dir", s(&log), "checkpoint", "--witness", "not-a-url+k+1+x"], "");
    assert_eq!(code, 2, "{err}");
    // The key file is never overwritten.
    let (code, _, err) = oversight(&["witness", "init", "--key", s(&tmp.path().join("w.key")), "--state", s(&tmp.path().join("x")), "--name", "w"], "");
    assert_eq!(code, 1, "{err}");
}
