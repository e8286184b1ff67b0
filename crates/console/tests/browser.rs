//! The console in a real browser: Debian's Chromium driven by Playwright (`tests/browser/console.mjs`), with axe-core
//! checking every page's accessibility. The test seeds a store and a log, serves the console on a free port, and runs
//! the script, which takes a screenshot of every step into the folder it prints.
//!
//! It fails, never skips, when Node, Chromium or the npm packages are missing: `.ci/console-browser.sh` installs them
//! (`eval "$(bash .ci/console-browser.sh)"` exports `OVERSIGHT_NPM`, the folder they are in; without it the test looks
//! in `$HOME/.cache/oversight-npm`, where the script puts them). `OVERSIGHT_SCREENSHOTS` chooses the screenshots'
//! folder (default: `oversight-console-screenshots` in the temporary folder, emptied first).

mod common;

use std::path::PathBuf;
use std::time::Duration;

use cases::Role;
use common::*;

/// What the browser test runs with.
struct Tools {
    node: String,
    chromium: PathBuf,
    npm: PathBuf,
}

/// Find Node, Chromium and the npm packages, or fail saying how to install them.
fn tools() -> Tools {
    let fix = "run `eval \"$(bash .ci/console-browser.sh)\"` from the repository's root: it installs Node, Chromium and the npm packages \
               (playwright-core, axe-core) the console's browser test needs";
    let node = std::env::var("NODE").unwrap_or_else(|_| "node".into());
    match std::process::Command::new(&node).arg("--version").output() {
        Ok(o) if o.status.success() => {}
        _ => panic!("the browser test needs Node ({node:?} does not run): {fix}"),
    }
    let chromium = PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    assert!(chromium.is_file(), "the browser test needs Chromium at {} (or CHROMIUM=path): {fix}", chromium.display());
    let npm = match std::env::var_os("OVERSIGHT_NPM") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/oversight-npm"),
    };
    for package in ["playwright-core/package.json", "axe-core/axe.min.js"] {
        let file = npm.join("node_modules").join(package);
        assert!(file.is_file(), "the browser test needs {} (OVERSIGHT_NPM={}): {fix}", file.display(), npm.display());
    }
    Tools { node, chromium, npm }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviewers_work_a_case_in_a_real_browser() {
    let tools = tools();
    let s = seed(&[("ann", Role::Approver), ("bob", Role::Approver), ("aud", Role::Auditor)], false).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(console::serve(s.console.clone(), listener));
    let shots = std::env::var_os("OVERSIGHT_SCREENSHOTS").map_or_else(|| std::env::temp_dir().join("oversight-console-screenshots"), PathBuf::from);
    let _ = std::fs::remove_dir_all(&shots);
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser/console.mjs");
    let run = tokio::process::Command::new(&tools.node)
        .arg(&script)
        .env("CONSOLE_URL", &url)
        .env("CASE_ID", &s.case_id)
        .env("SUBJECT", SUBJECT)
        .env("PASSWORD", PASSWORD)
        .env("CHROMIUM", &tools.chromium)
        .env("OVERSIGHT_NPM", &tools.npm)
        .env("SCREENSHOTS", &shots)
        .kill_on_drop(true)
        .output();
    // Bounded: a hung browser fails the test instead of holding CI.
    let out = tokio::time::timeout(Duration::from_secs(300), run).await.expect("the browser script finished within 5 minutes").expect("node runs");
    server.abort();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(out.status.success(), "the browser script failed ({}); screenshots in {}:\n{stdout}\n{stderr}", out.status, shots.display());
    assert!(stdout.contains("every step passed"), "{stdout}");
}
