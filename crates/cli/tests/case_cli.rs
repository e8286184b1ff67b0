//! `oversight case` through the binary, on SQLite and (when `OVERSIGHT_TEST_PG` names a server) PostgreSQL: real
//! findings from `oversight scan` open cases; the interception unit is reviewed, suspended with two approvals,
//! watched (a sibling's finding joins its case) and lifted; the documents on disk are the ones logged; refusals exit 5
//! and write nothing; the log verifies.

use std::path::Path;
use std::process::Command;

use sha2::{Digest, Sha256};

/// A test reviewer's password: their name in lower case and a fixed suffix, so a command finds the one it needs.
fn password(name: &str) -> String {
    format!("{}-has-a-long-passphrase", name.to_lowercase())
}

/// Run `oversight`; `reviewer add|password|token NAME` and `--password-stdin --actor NAME` get NAME's password on
/// standard input.
fn oversight(args: &[&str]) -> (i32, String, String) {
    use std::io::Write;
    let after = |flag: &str| args.iter().position(|a| *a == flag).and_then(|i| args.get(i + 1)).copied();
    let name = if args.contains(&"--password-stdin") {
        after("--actor")
    } else if args.first() == Some(&"reviewer") {
        ["add", "password", "token"].into_iter().find_map(after)
    } else {
        None
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_oversight"))
        .args(args)
        .env_remove("OVERSIGHT_DB")
        .env_remove("OVERSIGHT_ACTOR")
        .env_remove("OVERSIGHT_TOKEN")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = name.map(|n| format!("{}\n", password(n))).unwrap_or_default();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8_lossy(&out.stderr).into())
}

fn ok(args: &[&str]) -> String {
    let (code, out, err) = oversight(args);
    assert_eq!(code, 0, "oversight {args:?}: {err}");
    out
}

fn json(args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&ok(args)).unwrap()
}

/// The databases to run on: a SQLite file, and a new PostgreSQL database when a server is given (required under CI).
fn databases(dir: &Path) -> Vec<String> {
    let mut out = vec![dir.join("cases.db").display().to_string()];
    match std::env::var("OVERSIGHT_TEST_PG") {
        Ok(base) if !base.is_empty() => {
            let name = format!("t_cli_{}_{}", std::process::id(), std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos());
            let st = Command::new("psql").args([base.as_str(), "-qc", &format!("CREATE DATABASE {name}")]).status().unwrap();
            assert!(st.success(), "creating {name} on {base}");
            out.push(format!("{}/{name}", base.rsplit_once('/').unwrap().0));
        }
        _ if std::env::var("CI_REQUIRE_PG").is_ok_and(|v| v == "1") => {
            panic!("CI_REQUIRE_PG=1 but OVERSIGHT_TEST_PG is not set")
        }
        _ => eprintln!("note: OVERSIGHT_TEST_PG is not set, so this test ran on SQLite only"),
    }
    out
}

#[test]
fn a_case_from_scan_findings_to_lift() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let p = |name: &str| t.join(name).display().to_string();
    ok(&["simulate", "--accounts", "46", "--days", "150", "--seed", "4", "--provider", "mixed", "--out", &p("s")]);
    ok(&["ingest", "--lake", &p("lake"), &p("s/exports")]);
    let (code, findings, err) =
        oversight(&["scan", "--lake", &p("lake"), "--registry", &p("s/registry.csv"), "--events", &p("s/events.csv"), "--format", "json"]);
    assert_eq!(code, 4, "{err}");
    std::fs::write(t.join("findings.json"), &findings).unwrap();
    let scan: serde_json::Value = serde_json::from_str(&findings).unwrap();
    let interception = scan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["policy"]["id"] == "interception-pipeline")
        .expect("the scan flags the interception unit")
        .clone();
    let unit = interception["account_id"].as_str().unwrap().to_string();
    let registry = std::fs::read_to_string(t.join("s/registry.csv")).unwrap();
    let parent_of = |a: &str| registry.lines().find(|l| l.starts_with(&format!("{a},"))).unwrap().split(',').nth(2).unwrap().to_string();
    let parent = parent_of(&unit);
    let sibling =
        registry.lines().skip(1).map(|l| l.split(',').next().unwrap()).find(|a| *a != unit && !a.is_empty() && parent_of(a) == parent).unwrap().to_string();
    // The same pattern reappearing under another sub-account of the unit's organisation, a day later.
    let mut again = interception.clone();
    again["account_id"] = sibling.clone().into();
    again["as_of"] = "2025-05-31".into();
    std::fs::write(t.join("sibling.json"), serde_json::json!({"findings": [again]}).to_string()).unwrap();

    for (n, db) in databases(t).iter().enumerate() {
        let log = p(&format!("log{n}"));
        let vkey = ok(&["log", "--dir", &log, "init", "--origin", "example.org/case-cli"]).trim().to_string();
        let common = ["--db", db.as_str(), "--dir", log.as_str()];
        let case = |args: &[&str]| -> Vec<String> { ["case"].iter().chain(&common).chain(args).map(|s| s.to_string()).collect() };
        let run = |args: &[&str]| {
            let v = case(args);
            oversight(&v.iter().map(String::as_str).collect::<Vec<_>>())
        };
        let run_ok = |args: &[&str]| {
            let (code, out, err) = run(args);
            assert_eq!(code, 0, "{db}: case {args:?}: {err}");
            out
        };
        let run_json = |args: &[&str]| -> serde_json::Value { serde_json::from_str(&run_ok(&[args, &["--json"]].concat())).unwrap() };

        // A store is created by `case init` alone: a mistyped --db is an error, not a new empty history.
        let (code, _, err) = run(&["list"]);
        if db.ends_with("cases.db") {
            assert_eq!(code, 1, "{err}");
            assert!(err.contains("case init") && !Path::new(db).exists(), "{err}");
        }
        assert!(run_ok(&["init"]).contains(db.rsplit('/').next().unwrap()));
        assert!(run_ok(&["init"]).contains("exists"), "init twice changes nothing");
        #[cfg(unix)]
        if db.ends_with("cases.db") {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(db).unwrap().permissions().mode() & 0o777, 0o600);
        }
        // The roster: actions by anyone else are refused.
        for (name, role) in [("lead", "admin"), ("ann", "approver"), ("bob", "approver"), ("ops", "approver")] {
            let v: Vec<&str> = ["reviewer"].into_iter().chain(common).chain(["add", name, "--role", role]).collect();
            ok(&v);
        }
        let v: Vec<&str> = ["reviewer"].into_iter().chain(common).chain(["add", "Ann", "--role", "approver"]).collect();
        assert_ne!(oversight(&v).0, 0, "a second spelling of ann is refused");
        let v: Vec<&str> = ["reviewer"].into_iter().chain(common).chain(["list", "--json"]).collect();
        assert_eq!(json(&v).as_array().unwrap().len(), 4);

        let placed = run_json(&["open", "--findings", &p("findings.json"), "--registry", &p("s/registry.csv")]);
        let placed = placed.as_array().unwrap();
        assert_eq!(placed.len(), scan["findings"].as_array().unwrap().len());
        let id = placed.iter().find(|x| x["policy_id"] == "interception-pipeline").unwrap()["case_id"].as_str().unwrap().to_string();
        // Opening the same findings again adds nothing.
        let again = run_json(&["open", "--findings", &p("findings.json"), "--registry", &p("s/registry.csv")]);
        assert!(again.as_array().unwrap().iter().all(|x| x["how"] == "duplicate"));
        let listed = run_json(&["list", "--state", "open"]);
        assert!(listed.as_array().unwrap().iter().any(|c| c["id"] == id.as_str() && c["subject"] == unit.as_str()));

        let who = |actor: &'static str| ["--actor", actor, "--password-stdin", "--reason", "reviewed the evidence points"];
        run_ok(&[&["assign", &id, "--reviewer", "ann"][..], &who("lead")].concat());
        let decided = run_json(&[&["decide", &id, "--outcome", "suspend", "--provider", "azure", "--services", "storage,ai"][..], &who("ann")].concat());
        assert_eq!(decided["case"]["state"], "decided");
        assert_eq!(decided["case"]["unit"]["scope"]["subscriptions"][0], unit.as_str(), "the unit defaults to the case's subject");
        let version = decided["case"]["version"].as_i64().unwrap().to_string();
        // Refusals exit 5 and change nothing.
        let (code, _, err) = run(&[&["enforce", &id, "--out", &p("docs")][..], &who("ops")].concat());
        assert_eq!(code, 5, "{err}");
        assert!(err.contains("0 of the 2 approvals"), "{err}");
        run_ok(&[&["approve", &id, "--expect-version", &version][..], &who("ann")].concat());
        let (code, _, err) = run(&[&["approve", &id][..], &who("ann")].concat());
        assert_eq!(code, 5, "{err}");
        assert!(err.contains("two-person rule"), "{err}");
        // Ann in capitals, or with a zero-width space, is still ann; a name not on the roster acts not at all.
        let (code, _, err) = run(&[&["approve", &id][..], &who("Ann")].concat());
        assert_eq!(code, 5, "{err}");
        let (code, _, err) = run(&[&["approve", &id][..], &who("ann\u{200b}")].concat());
        assert_ne!(code, 0, "{err}");
        let (code, _, err) = run(&[&["approve", &id][..], &who("mallory")].concat());
        assert_eq!(code, 5, "{err}");
        assert!(err.contains("signing in as mallory: sign-in refused"), "{err}");
        // A token that is not one signs no one in; the sign-in audit has every attempt.
        std::fs::write(t.join("bad.token"), "ovt_not-a-token").unwrap();
        let (code, _, err) = run(&["approve", &id, "--actor", "bob", "--token-file", &p("bad.token"), "--reason", "x"]);
        assert_eq!(code, 5, "{err}");
        let v: Vec<&str> = ["reviewer"].into_iter().chain(common).chain(["sign-ins", "--json"]).collect();
        let audit = json(&v);
        assert!(audit.as_array().unwrap().iter().any(|r| r["name"] == "mallory" && r["outcome"] != "success"), "{audit:#}");
        assert!(audit.as_array().unwrap().iter().any(|r| r["method"] == "token" && r["outcome"] != "success"), "{audit:#}");
        let (code, _, err) = run(&[&["approve", &id, "--expect-version", &version][..], &who("bob")].concat());
        assert_eq!(code, 5, "a stale version is a conflict: {err}");
        run_ok(&[&["approve", &id][..], &who("bob")].concat());
        // Ops enforces with a token issued after their password; the same token does not act for bob.
        let v: Vec<&str> = ["reviewer"].into_iter().chain(common).chain(["token", "ops", "--days", "1"]).collect();
        std::fs::write(t.join("ops.token"), ok(&v).trim()).unwrap();
        let by_token =
            |actor: &'static str| ["--actor", actor, "--token-file", t.join("ops.token").to_str().unwrap().to_string().leak(), "--reason", "two approvals"];
        let (code, _, err) = run(&[&["lift", &id][..], &by_token("bob")].concat());
        assert_eq!(code, 5, "{err}");
        assert!(err.contains("the token is ops's, not bob's"), "{err}");
        let enforced = run_json(&[&["enforce", &id, "--out", &p(&format!("docs{n}"))][..], &by_token("ops")].concat());
        assert_eq!(enforced["case"]["state"], "enforced");
        let docs = enforced["documents"].as_array().unwrap();
        assert!(docs.len() >= 2, "an assignment and a cancel for a suspended subscription: {docs:#?}");
        for d in docs {
            let bytes = std::fs::read(d["path"].as_str().unwrap()).unwrap();
            assert_eq!(hex(&Sha256::digest(&bytes)), d["sha256"].as_str().unwrap());
            // A document names the tenant's unit: its owner alone reads it.
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                assert_eq!(std::fs::metadata(d["path"].as_str().unwrap()).unwrap().permissions().mode() & 0o777, 0o600);
            }
        }

        // Watching: the sibling's finding joins the enforced case.
        let watched = run_json(&["open", "--findings", &p("sibling.json"), "--registry", &p("s/registry.csv")]);
        assert_eq!((watched[0]["case_id"].as_str().unwrap(), watched[0]["how"].as_str().unwrap()), (id.as_str(), "watch"), "{db}");

        run_ok(&[&["lift", &id][..], &who("lead")].concat());
        let (code, _, err) = run(&[&["decide", &id, "--outcome", "notice"][..], &who("ann")].concat());
        assert_eq!(code, 5, "{err}");
        let (code, _, _) = run(&[&["lift", "case-999999"][..], &who("lead")].concat());
        assert_eq!(code, 1);
        let (code, _, _) = run(&["decide", &id, "--outcome", "sometimes"]);
        assert_eq!(code, 2);

        let rec = run_json(&["show", &id]);
        let actions: Vec<&str> = rec["history"].as_array().unwrap().iter().map(|t| t["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["open", "assign", "decide", "approve", "approve", "enforce", "findings", "lift"]);
        let entries: Vec<&serde_json::Value> = rec["history"].as_array().unwrap().iter().flat_map(|t| t["entries"].as_array().unwrap()).collect();
        assert!(entries.iter().all(|e| e["index"].is_u64() && e["proof"]["hashes"].is_array()));
        let logged_hashes: Vec<String> = entries
            .iter()
            .filter(|e| e["kind"] == "enforcement")
            .map(|e| serde_json::from_str::<serde_json::Value>(e["body"].as_str().unwrap()).unwrap()["sha256"].as_str().unwrap().to_string())
            .collect();
        let doc_hashes: Vec<String> = docs.iter().map(|d| d["sha256"].as_str().unwrap().to_string()).collect();
        assert_eq!(logged_hashes, doc_hashes);
        // The log as an auditor sees it holds every entry, and the case names its tenant only by pseudonym.
        let v = json(&["verify", "--log", &log, "--key", &vkey, "--full", "--json"]);
        assert_eq!(v["holds"], true, "{v:#}");
        // A monitor reading the log alone sees two approvals signed by two different published keys.
        let events = ok(&["monitor", "--log", &log, "--key", &vkey, "--state", &p(&format!("monitor{n}.state"))]);
        let approvals: Vec<String> = events
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|e| e["action"] == "approve")
            .map(|e| e["approval"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(approvals, ["signed by ann's key", "signed by bob's key"], "{events}");
        let checkpoint = std::fs::read_to_string(Path::new(&log).join("checkpoint")).unwrap();
        let size: u64 = checkpoint.lines().nth(1).unwrap().parse().unwrap();
        assert!(entries.iter().all(|e| e["index"].as_u64().unwrap() < size));
        let pseudonym = ok(&["log", "pseudonym", "--key-file", &format!("{log}.private/pseudonym-key"), "--tenant", &unit]);
        for e in &entries {
            let body = e["body"].as_str().unwrap();
            assert!(!body.contains(&unit), "{body}");
            assert!(body.contains(pseudonym.trim()), "{body}");
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
