//! The binary end to end: exit codes, `--json`, `--strict`, and a kill -9 in the middle of an ingest.

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_oversight"))
}

fn shared(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data").join(rel)
}

fn oversight(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin()).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[test]
fn shared_sample_ingests_cleanly_and_twice_is_a_no_op() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    let sample = shared("focus-samples");
    let (code, out, err) = oversight(&["ingest", "--lake", lake.to_str().unwrap(), "--json", sample.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["rows_kept"], 1000);
    assert_eq!(v["rows_quarantined"], 0);
    let (code, out, _) = oversight(&["ingest", "--lake", lake.to_str().unwrap(), "--json", sample.to_str().unwrap()]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["rows_read"], 0);
    assert!(v["deliveries"][0]["status"].as_str().unwrap().starts_with("already ingested"));
}

#[test]
fn exit_codes_say_what_happened() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    let l = lake.to_str().unwrap();
    // Rows quarantined: 0 normally, 3 under --strict.
    let dates = shared("focus-nonconformant/finops-foundation-spec-1.2/saas_spend_agreements_a2.csv");
    let (code, _, err) = oversight(&["ingest", "--lake", l, dates.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("row 1 (line 2), column \"BillingPeriodStart\""), "{err}");
    let fresh = tmp.path().join("lake2");
    let (code, _, _) = oversight(&["ingest", "--strict", "--lake", fresh.to_str().unwrap(), dates.to_str().unwrap()]);
    assert_eq!(code, 3);
    // A file that cannot be FOCUS: 1, and the message lists the missing columns.
    let partial = shared("focus-nonconformant/finops-foundation-spec-1.2/commitment_discount_usage_scenario_3.csv");
    let (code, _, err) = oversight(&["ingest", "--lake", l, partial.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("missing required column(s) BillingAccountId"), "{err}");
    // Bad flags: 2.
    assert_eq!(oversight(&["ingest", "--delivery", "sideways", "x"]).0, 2);
}

/// Sum of rows in the Parquet files under `usage/`, read back without oversight's own reader.
fn rows_on_disk(root: &Path) -> u64 {
    walkdir::WalkDir::new(root.join("usage"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "parquet"))
        .map(|e| {
            let r = parquet::file::reader::SerializedFileReader::new(std::fs::File::open(e.path()).unwrap()).unwrap();
            parquet::file::reader::FileReader::metadata(&r).file_metadata().num_rows() as u64
        })
        .sum()
}

#[test]
fn kill_9_mid_ingest_leaves_the_old_state_or_the_new_one() {
    let tmp = tempfile::tempdir().unwrap();
    let head = "BillingAccountId,BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,BillingCurrency,BilledCost,EffectiveCost,ProviderName,ServiceName,ConsumedQuantity\n";
    let mut body = String::from(head);
    for i in 0..100_000u32 {
        let d = i % 28 + 1;
        body.push_str(&format!(
            "acct,2025-01-01T00:00:00Z,2025-02-01T00:00:00Z,2025-01-{d:02}T00:00:00Z,2025-01-{d:02}T01:00:00Z,Usage,USD,0.{i},0.{i},Microsoft,Storage,{i}\n"
        ));
    }
    let big = tmp.path().join("big.csv");
    std::fs::write(&big, &body).unwrap();
    let small = tmp.path().join("small.csv");
    std::fs::write(
        &small,
        format!("{head}acct2,2025-01-01T00:00:00Z,2025-02-01T00:00:00Z,2025-01-01T00:00:00Z,2025-01-01T01:00:00Z,Usage,USD,1,1,Microsoft,Storage,1\n"),
    )
    .unwrap();

    // Kill points from before the first byte is written to after the commit (None: let it finish).
    let mut versions = Vec::new();
    for (n, delay_ms) in [Some(5u64), Some(300), Some(1000), Some(2000), None].into_iter().enumerate() {
        let lake = tmp.path().join(format!("lake{n}"));
        let l = lake.to_str().unwrap();
        assert_eq!(oversight(&["ingest", "--lake", l, small.to_str().unwrap()]).0, 0);
        let mut child = Command::new(bin()).args(["ingest", "--lake", l, big.to_str().unwrap()]).stdout(std::process::Stdio::null()).spawn().unwrap();
        if let Some(ms) = delay_ms {
            std::thread::sleep(std::time::Duration::from_millis(ms));
            let _ = child.kill(); // SIGKILL on Unix
        }
        let _ = child.wait();
        // Opening the lake (any command) reconciles it; then the files on disk are exactly the committed state.
        let (code, out, err) = oversight(&["ingest", "--lake", l, "--json", small.to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let committed: u64 = match v["version"].as_u64().unwrap() {
            1 => 1,
            2 => 100_001,
            other => panic!("unexpected version {other}"),
        };
        assert_eq!(rows_on_disk(&lake), committed, "kill after {delay_ms:?} ms");
        versions.push(v["version"].as_u64().unwrap());
    }
    assert_eq!(versions.last(), Some(&2), "the uninterrupted ingest commits");
}

#[test]
fn signals_of_the_shared_sample_and_its_unmapped_meters() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    let l = lake.to_str().unwrap();
    // Before any ingest: a clear error, exit 1.
    let (code, _, err) = oversight(&["signals", "--lake", l]);
    assert_eq!(code, 1);
    assert!(err.contains("not a lake yet"), "{err}");
    oversight(&["ingest", "--lake", l, shared("focus-samples").to_str().unwrap()]);
    let (code, out, err) = oversight(&["signals", "--lake", l, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let signals: std::collections::BTreeSet<&str> = rows.iter().map(|r| r["signal"].as_str().unwrap()).collect();
    for s in ["storage.stored_bytes", "network.egress_bytes", "compute.vm_hours"] {
        assert!(signals.contains(s), "{s} missing from {signals:?}");
    }
    // Deterministic: the same lake gives byte-identical output.
    assert_eq!(oversight(&["signals", "--lake", l, "--format", "json"]).1, out);
    let (code, out, _) = oversight(&["signals", "--lake", l, "--unmapped", "--format", "csv"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("provider,service,sku_meter,usage_type,charge_description"), "{}", &out[..80]);
    // Parquet needs --out.
    assert_eq!(oversight(&["signals", "--lake", l, "--format", "parquet"]).0, 2);
    let pq = tmp.path().join("s.parquet");
    assert_eq!(oversight(&["signals", "--lake", l, "--format", "parquet", "--out", pq.to_str().unwrap()]).0, 0);
    let r = parquet::file::reader::SerializedFileReader::new(std::fs::File::open(&pq).unwrap()).unwrap();
    assert_eq!(parquet::file::reader::FileReader::metadata(&r).file_metadata().num_rows() as usize, rows.len());
}
