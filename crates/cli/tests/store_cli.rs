//! The lake and the exports in Azure Blob storage (Azurite, started by `.ci/azurite.sh`): `ingest` from a container
//! of exports into a lake in the same account, then `signals`, `scan` and the daily `run`, whose output is
//! byte-identical to the same run on local folders.

mod common;
use common::oversight;

use object_store::path::Path as ObjPath;
use object_store::{ObjectStoreExt, PutPayload};

/// The test container's URL prefix, unique to this run, or `None` (with a note) when Azurite is not running and not
/// required.
fn azurite_prefix(tag: &str) -> Option<String> {
    let Ok(container) = std::env::var("OVERSIGHT_TEST_CONTAINER") else {
        if std::env::var("CI_REQUIRE_AZURITE").is_ok_and(|v| v == "1") {
            panic!("CI_REQUIRE_AZURITE=1 but OVERSIGHT_TEST_CONTAINER is unset: start Azurite with `eval \"$(bash .ci/azurite.sh $$)\"`");
        }
        eprintln!("note: Azurite tests skipped; run `eval \"$(bash .ci/azurite.sh $$)\"` first to run them");
        return None;
    };
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    Some(format!("az://{container}/{tag}-{nanos:x}"))
}

/// Copy a folder's files under a store URL, keeping their relative paths.
async fn upload(from: &std::path::Path, to: &str) {
    let store = lake::Location::parse(to).unwrap().store().unwrap();
    for e in walkdir::WalkDir::new(from).into_iter().flatten().filter(|e| e.file_type().is_file()) {
        let key = e.path().strip_prefix(from).unwrap().to_string_lossy().into_owned();
        store.put(&ObjPath::from(key), PutPayload::from(std::fs::read(e.path()).unwrap())).await.unwrap();
    }
}

fn ok(args: &[&str]) -> String {
    let (code, out, err) = oversight(args, "");
    assert!(code == 0 || (matches!(args[0], "scan" | "run") && code == 4), "oversight {args:?} exited {code}: {err}");
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn ingest_signals_and_scan_on_blob_storage_match_the_same_run_on_folders() {
    let Some(prefix) = azurite_prefix("cli") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let p = |name: &str| tmp.path().join(name).display().to_string();
    ok(&["simulate", "--accounts", "46", "--days", "120", "--seed", "3", "--provider", "mixed", "--out", &p("s")]);
    let (exports, lake) = (format!("{prefix}/exports"), format!("{prefix}/lake"));
    upload(&tmp.path().join("s/exports"), &exports).await;

    let local = ok(&["ingest", "--lake", &p("lake"), &p("s/exports"), "--json"]);
    let remote = ok(&["ingest", "--lake", &lake, &exports, "--json"]);
    let (local, remote): (serde_json::Value, serde_json::Value) = (serde_json::from_str(&local).unwrap(), serde_json::from_str(&remote).unwrap());
    for k in ["rows_read", "rows_kept", "rows_quarantined", "version"] {
        assert_eq!(local[k], remote[k], "{k}");
    }
    assert!(remote["rows_kept"].as_u64().unwrap() > 10_000, "{remote}");
    assert_eq!(remote["lake"], lake.as_str());

    let series = |lake: &str| ok(&["signals", "--lake", lake, "--format", "csv"]);
    let local_series = series(&p("lake"));
    assert!(local_series.lines().count() > 1000);
    assert_eq!(series(&lake), local_series, "the same series, byte for byte");

    let scan = |lake: &str| {
        ok(&["scan", "--lake", lake, "--registry", &p("s/registry.csv"), "--events", &p("s/events.csv"), "--format", "json", "--as-of", "2025-04-30"])
    };
    let local_scan = scan(&p("lake"));
    assert!(local_scan.contains("\"findings\""));
    assert_eq!(scan(&lake), local_scan.replace(&p("lake"), &lake), "the same findings and coverage, byte for byte");

    // The lake on the store verifies, and a second ingest of the same exports changes nothing.
    let (code, out, err) = oversight(&["lake", "check", "--lake", &lake, "--json"], "");
    assert_eq!(code, 0, "{out}{err}");
    let again: serde_json::Value = serde_json::from_str(&ok(&["ingest", "--lake", &lake, &exports, "--json"])).unwrap();
    assert_eq!(again["version"], remote["version"], "{again}");

    // The daily job on the store: it keeps the series table in the lake there, and finds on the day what scan finds.
    let run = |lake: &str| -> serde_json::Value {
        let args = ["run", "--lake", lake, "--registry", &p("s/registry.csv"), "--events", &p("s/events.csv"), "--as-of", "2025-04-30", "--json"];
        serde_json::from_str(&ok(&args)).unwrap()
    };
    let (local_run, remote_run) = (run(&p("lake")), run(&lake));
    assert_eq!(remote_run["series"]["full"], true, "{}", remote_run["series"]);
    assert_eq!(remote_run["series"]["points"], local_run["series"]["points"]);
    assert_eq!(remote_run["scanned"], local_run["scanned"], "the same findings from the table on the store");
    let scanned: serde_json::Value = serde_json::from_str(&local_scan).unwrap();
    assert_eq!(remote_run["scanned"][0]["findings"], scanned["findings"], "run finds what scan finds");
    let (code, out, err) = oversight(&["lake", "check", "--lake", &lake, "--json"], "");
    assert_eq!(code, 0, "the lake with its series table verifies: {out}{err}");
}
