//! `oversight scan` and `oversight eval` on a simulated population: every scenario caught, no benign account
//! flagged, byte-identical findings for the same lake and pack, and exit codes that say whether anything was found.

use std::path::Path;
use std::process::Command;

fn oversight(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_oversight")).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8_lossy(&out.stderr).into())
}

fn ok(args: &[&str]) -> String {
    let (code, out, err) = oversight(args);
    assert_eq!(code, 0, "oversight {args:?}: {err}");
    out
}

#[test]
fn the_built_in_pack_catches_every_scenario_and_no_benign_account() {
    let tmp = tempfile::tempdir().unwrap();
    let s = tmp.path().join("s");
    let lake = tmp.path().join("lake");
    let (s, l) = (s.to_str().unwrap(), lake.to_str().unwrap());
    ok(&["simulate", "--accounts", "60", "--days", "150", "--seed", "4", "--provider", "mixed", "--out", s]);
    ok(&["ingest", "--strict", "--lake", l, &format!("{s}/exports")]);
    let report: serde_json::Value = serde_json::from_str(&ok(&["eval", "--json", "--scenario", s, "--lake", l])).unwrap();
    let scenarios = report["scenarios"].as_array().unwrap();
    assert_eq!(scenarios.len(), 6, "{report:#}");
    for sc in scenarios {
        assert_eq!(sc["recall"], 1.0, "{} missed: {sc:#}", sc["scenario"]);
    }
    assert_eq!(report["false_positives"].as_array().unwrap().len(), 0, "{:#}", report["false_positives"]);
    // The timing targets: interception within 1 day of observable, exodus within 1 day of the egress.
    let days = |name: &str| scenarios.iter().find(|s| s["scenario"] == name).unwrap()["detail"][0]["days_to_detect"].as_i64().unwrap();
    assert!(days("interception-pipeline") <= 1, "interception flagged {} days after observable", days("interception-pipeline"));
    assert!(days("exodus") <= 1, "exodus flagged {} days after the egress started", days("exodus"));
    let hard = report["hard_negatives"].as_array().unwrap();
    assert_eq!(hard.len(), 6);
    assert!(hard.iter().all(|h| h["policies"].as_array().unwrap().is_empty()), "{hard:#?}");

    // The same lake and pack give the same bytes; findings exit 4.
    let reg = Path::new(s).join("registry.csv");
    let ev = Path::new(s).join("events.csv");
    let args = ["scan", "--lake", l, "--registry", reg.to_str().unwrap(), "--events", ev.to_str().unwrap(), "--format", "json"];
    let (c1, a, _) = oversight(&args);
    let (c2, b, _) = oversight(&args);
    assert_eq!((c1, c2), (4, 4));
    assert_eq!(a, b);
    let pq = tmp.path().join("findings.parquet");
    let (code, _, err) = oversight(&[
        "scan",
        "--lake",
        l,
        "--registry",
        reg.to_str().unwrap(),
        "--events",
        ev.to_str().unwrap(),
        "--format",
        "parquet",
        "--out",
        pq.to_str().unwrap(),
    ]);
    assert_eq!(code, 4, "{err}");
    assert_eq!(&std::fs::read(&pq).unwrap()[..4], b"PAR1");
    let v: serde_json::Value = serde_json::from_str(&a).unwrap();
    let f = &v["findings"][0];
    assert_eq!(f["policy"]["sha256"].as_str().unwrap().len(), 64);
    assert!(!f["evidence"][0]["points"].as_array().unwrap().is_empty());
    assert!(f["measured"][0]["value"].as_f64().unwrap() >= f["measured"][0]["threshold"].as_f64().unwrap());
    // Before the biometric sweep starts, its policy finds nothing, and the exit code says so. (The first day: from
    // the fifth, the detectors beside the pack already find the exodus unit's organisation, which transcribes
    // 4,000 audio hours an hour from the start.)
    let pack = tmp.path().join("pack");
    std::fs::create_dir(&pack).unwrap();
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/biometric-sweep.toml"), pack.join("b.toml")).unwrap();
    let (code, out, _) = oversight(&["scan", "--lake", l, "--registry", reg.to_str().unwrap(), "--policies", pack.to_str().unwrap(), "--as-of", "2025-01-01"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn a_bad_policy_is_refused_with_file_line_and_field() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pack");
    std::fs::create_dir(&dir).unwrap();
    let good = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/exodus.toml")).unwrap();
    std::fs::write(dir.join("exodus.toml"), good.replace("network.egress_bytes", "network.egres_bytes")).unwrap();
    let (code, _, err) = oversight(&["scan", "--lake", tmp.path().join("lake").to_str().unwrap(), "--policies", dir.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("exodus.toml:") && err.contains("condition.signal") && err.contains("did you mean \"network.egress_bytes\""), "{err}");
}

#[test]
fn the_demo_runs_the_whole_pipeline_and_catches_every_scenario() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("demo");
    let text = ok(&["demo", "--out", out.to_str().unwrap(), "--accounts", "55", "--days", "110", "--seed", "6"]);
    for scenario in ["analytics-vendor", "archive-surge", "biometric-sweep", "exodus", "interception-pipeline", "structuring"] {
        let line = text.lines().find(|l| l.trim_start().starts_with(scenario)).unwrap_or_else(|| panic!("{scenario} missing:\n{text}"));
        assert!(line.contains("recall  100%"), "{line}");
    }
    assert!(text.contains("false positives: 0 of"), "{text}");
    assert!(out.join("scenario/labels.json").exists() && out.join("lake/_manifest").exists());
    // The review story: the suspended unit's case is approved by two reviewers, enforced with its cloud's documents,
    // and the exodus that follows lands on the same case; every logged entry's proof checks.
    let approvals: Vec<&str> = text.lines().filter(|l| l.contains(" approve ") && l.contains(" is decided")).collect();
    assert_eq!(approvals.len(), 2, "{text}");
    assert_ne!(approvals[0].split(" by ").nth(1), approvals[1].split(" by ").nth(1), "two different reviewers");
    assert!(text.lines().any(|l| l.contains(" enforce ") && l.ends_with(" is enforced")), "{text}");
    let docs: Vec<_> = std::fs::read_dir(out.join("enforcement")).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(!docs.is_empty() && docs.iter().all(|p| serde_json::from_slice::<serde_json::Value>(&std::fs::read(p).unwrap()).is_ok()), "{docs:?}");
    let caught = text.lines().find(|l| l.contains("the same case gets")).unwrap_or_else(|| panic!("no watch finding:\n{text}"));
    assert!(caught.contains("exodus ("), "{caught}");
    let proofs = text.lines().filter(|l| l.contains(") ok  {")).count();
    assert!(proofs >= 8, "{proofs} checked proofs:\n{text}");
    // The public's side: the verifier key, the log verified from its files, and the commands a reader runs, which
    // work as printed.
    assert!(text.contains("the public's side: the log's verifier key is") && text.contains("holds: every tile"), "{text}");
    let command = text.lines().map(str::trim).find(|l| l.starts_with("oversight verify --log")).unwrap_or_else(|| panic!("no verify command:\n{text}"));
    let key = command.split('\'').nth(1).expect("a quoted key");
    let log = out.join("log");
    let (code, checked, err) = oversight(&["verify", "--log", log.to_str().unwrap(), "--key", key, "--full"]);
    assert_eq!(code, 0, "{checked}{err}");
    assert!(text.lines().any(|l| l.trim().starts_with("oversight monitor --log")), "{text}");
    // The console command it prints serves the demo's cases, and an approver signs in with the password printed.
    let serve = text.lines().map(str::trim).find(|l| l.starts_with("oversight serve ")).unwrap_or_else(|| panic!("no console command:\n{text}"));
    let account = text.lines().skip_while(|l| !l.trim().starts_with("oversight serve ")).nth(1).unwrap().split_whitespace().collect::<Vec<_>>();
    let mut args: Vec<&str> = serve.split_whitespace().skip(1).collect();
    args.extend(["--addr", "127.0.0.1:0"]);
    let mut console = Command::new(env!("CARGO_BIN_EXE_oversight")).args(&args).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(console.stderr.take().unwrap()), &mut line).unwrap();
    let addr = line.split("http://").nth(1).and_then(|a| a.split_whitespace().next()).unwrap_or_else(|| panic!("{line}")).to_string();
    let page = http_get(&addr, "/sign-in");
    let _ = console.kill();
    let _ = console.wait();
    assert!(page.starts_with("HTTP/1.1 200") && page.to_lowercase().contains("content-security-policy"), "{page}");
    assert_eq!(account.len(), 2, "a name and a password: {account:?}");
    // The report renders in headless Chromium (Debian's chromium; .ci/run installs it).
    let report = out.join("report.html");
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains("<svg") && html.contains("threshold interception-pipeline"), "no chart with a threshold");
    assert!(html.contains("Coverage: what these findings rest on") && html.contains("<th>refused</th>"), "no coverage beside the findings");
    assert!(!html.contains("were refused and not ingested"), "the simulated deliveries are all ingested");
    let png = tmp.path().join("report.png");
    let shot = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", tmp.path().join("chromium").display()))
        .args(["--window-size=1400,2400", &format!("--screenshot={}", png.display()), &format!("file://{}", report.display())])
        .output()
        .expect("chromium is not installed: `apt-get install -y chromium` (.ci/run does)");
    assert!(shot.status.success(), "{}", String::from_utf8_lossy(&shot.stderr));
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
    assert!(bytes.len() > 50_000, "a near-empty screenshot: {} bytes", bytes.len());
    // A second run refuses to overwrite without --force.
    let (code, _, err) = oversight(&["demo", "--out", out.to_str().unwrap(), "--accounts", "55", "--days", "110"]);
    assert_eq!(code, 1);
    assert!(err.contains("--force"), "{err}");
}

/// A plain HTTP/1.1 GET on this machine: the status line, headers and body as text.
fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}
