//! `oversight run` over a simulated quarter, deliveries fed day by day in the order they arrive (the month-to-date
//! runs of the 15th and the closing runs of the 3rd that restate them): the series table the runs maintain equals
//! `oversight signals` on the final lake to the bit, and the findings of every day a run scans equal `oversight scan`
//! on the same lake.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use arrow::array::{Array, AsArray, RecordBatch};
use chrono::{Duration, NaiveDate, NaiveDateTime};

/// Run the binary; exit codes 0 and 4 (findings made) are success.
fn oversight(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_oversight")).args(args).output().unwrap();
    let code = out.status.code();
    assert!(matches!(code, Some(0) | Some(4)), "oversight {args:?}: exit {code:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// The day a delivery arrives: the provider's time in its manifest, else (plain files) the time in its name, as the
/// simulator writes them (`focus-extract-YYYYMMDDTHHMMSS.*`, `FOCUS Reports/YYYY/MM/DD/…`).
fn arrival(d: &lake::Delivery) -> NaiveDate {
    if d.manifest.is_some() {
        return d.delivered_at.date_naive();
    }
    let path = d.files[0].path.to_string_lossy().to_string();
    if let Some((_, rest)) = path.split_once("focus-extract-") {
        return NaiveDateTime::parse_from_str(&rest[..15], "%Y%m%dT%H%M%S").unwrap().date();
    }
    let (_, rest) = path.split_once("FOCUS Reports/").expect("an OCI report path");
    NaiveDate::parse_from_str(&rest[..10], "%Y/%m/%d").unwrap()
}

/// Link `file` (under `root`) into `to` at the same relative path.
fn place(root: &Path, file: &Path, to: &Path) {
    let rel = file.strip_prefix(root).unwrap();
    let dest = to.join(rel);
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    if !dest.exists() {
        std::fs::hard_link(file, &dest).unwrap();
    }
}

/// The points of a series in order, as (text columns, bucket, value bits, rows).
fn points(batches: &[RecordBatch]) -> Vec<(String, String, String, String, i64, u64, i64)> {
    let mut out = Vec::new();
    for b in batches {
        let s = |i: usize| b.column(i).as_string::<i32>().clone();
        let (a, sub, sig, publ) = (s(0), s(1), s(2), s(3));
        let bucket = b.column(4).as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
        let value = b.column(5).as_primitive::<arrow::datatypes::Float64Type>();
        let rows = b.column(6).as_primitive::<arrow::datatypes::Int64Type>();
        for r in 0..b.num_rows() {
            assert!(value.is_valid(r));
            out.push((
                a.value(r).to_string(),
                sub.value(r).to_string(),
                sig.value(r).to_string(),
                publ.value(r).to_string(),
                bucket.value(r),
                value.value(r).to_bits(),
                rows.value(r),
            ));
        }
    }
    out
}

fn read_parquet(path: &Path) -> Vec<RecordBatch> {
    let file = std::fs::File::open(path).unwrap();
    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap().map(|b| b.unwrap()).collect()
}

/// `oversight scan --as-of day` on the lake: its findings, as JSON text.
fn scan(lake: &str, scenario: &Path, day: NaiveDate) -> String {
    let (registry, events) = (scenario.join("registry.csv"), scenario.join("events.csv"));
    let out = Command::new(env!("CARGO_BIN_EXE_oversight"))
        .args(["scan", "--lake", lake, "--format", "json", "--as-of", &day.to_string()])
        .args(["--registry", registry.to_str().unwrap(), "--events", events.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(0) | Some(4) | Some(6)), "scan: {}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    serde_json::to_string(&v["findings"]).unwrap()
}

// Ninety runs and their comparisons take some 40 minutes in a debug build on two cores, a few in release: `.ci/run`
// runs this test in release (`cargo test --release -p oversight-cli --test daily_run`), and the debug run of the
// whole workspace leaves it to that.
#[test]
#[cfg_attr(debug_assertions, ignore = "run in release by .ci/run: cargo test --release -p oversight-cli --test daily_run")]
fn a_quarter_of_daily_runs_equals_the_full_rebuild_to_the_bit() {
    let tmp = tempfile::tempdir().unwrap();
    let (scenario, lake, arrivals) = (tmp.path().join("scenario"), tmp.path().join("lake"), tmp.path().join("arrivals"));
    let start = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let days = 90;
    oversight(&[
        "simulate",
        "--accounts",
        "60",
        "--days",
        &days.to_string(),
        "--seed",
        "5",
        "--provider",
        "mixed",
        "--format",
        "csv.gz",
        "--start",
        &start.to_string(),
        "--out",
        scenario.to_str().unwrap(),
    ]);
    let exports = scenario.join("exports");
    let found = lake::discover(std::slice::from_ref(&exports));
    assert!(found.refused.is_empty(), "{:?}", found.refused);
    let mut by_day: BTreeMap<NaiveDate, usize> = BTreeMap::new();
    for d in &found.deliveries {
        let day = arrival(d);
        let to = arrivals.join(day.to_string());
        for f in &d.files {
            place(&exports, &f.path, &to);
        }
        if let Some(m) = &d.manifest {
            place(&exports, m, &to);
        }
        *by_day.entry(day).or_default() += 1;
    }
    // Month-to-date runs on the 15th, closing runs on the 3rd: restatements of what the 16th brought.
    assert!(by_day.keys().any(|d| d.format("%d").to_string() == "15") && by_day.keys().any(|d| d.format("%d").to_string() == "03"), "{by_day:?}");

    let l = lake.to_str().unwrap();
    let (registry, events) = (scenario.join("registry.csv"), scenario.join("events.csv"));
    let last = *by_day.keys().last().unwrap();
    let mut restated = 0;
    let mut checked = 0;
    let mut day = start;
    while day <= last {
        let mut args = vec!["run".to_string(), "--lake".into(), l.into(), "--as-of".into(), day.to_string(), "--json".into()];
        args.extend(["--registry".into(), registry.to_string_lossy().to_string(), "--events".into(), events.to_string_lossy().to_string()]);
        let input = arrivals.join(day.to_string());
        if input.exists() {
            args.push(input.to_string_lossy().to_string());
        }
        let out: serde_json::Value = serde_json::from_str(&oversight(&args.iter().map(String::as_str).collect::<Vec<_>>())).unwrap();
        let series = &out["series"];
        if day == start {
            assert_eq!(series["full"], true, "the first run builds the table: {series}");
        } else {
            assert_eq!(series["full"], false, "{day}: every usage file says its days: {series}");
        }
        let rebuilt: BTreeSet<String> = series["days"].as_array().unwrap().iter().map(|d| d.as_str().unwrap().to_string()).collect();
        if !input.exists() && day != start {
            assert!(rebuilt.is_empty(), "{day}: nothing arrived, nothing to rebuild: {rebuilt:?}");
        }
        let scanned = out["scanned"].as_array().unwrap();
        if scanned.len() > 1 {
            restated += 1;
        }
        // The findings of the day, and of the first and last restated day, against a scan of the same lake.
        let mut compare: Vec<&serde_json::Value> = vec![scanned.last().unwrap()];
        if scanned.len() > 1 {
            compare.push(&scanned[0]);
        }
        if input.exists() || day.format("%d").to_string() == "28" {
            for s in compare {
                let d: NaiveDate = s["as_of"].as_str().unwrap().parse().unwrap();
                assert_eq!(serde_json::to_string(&s["findings"]).unwrap(), scan(l, &scenario, d), "findings of {d} after the run of {day}");
                checked += 1;
            }
        }
        day += Duration::days(1);
    }
    assert!(restated >= 4, "restating runs: {restated}");
    assert!(checked >= 8, "days compared: {checked}");

    // The maintained table against the full rebuild, point for point and bit for bit.
    let full = tmp.path().join("full.parquet");
    oversight(&["signals", "--lake", l, "--format", "parquet", "--out", full.to_str().unwrap()]);
    let want = points(&read_parquet(&full));
    let snapshot = tokio::runtime::Runtime::new().unwrap().block_on(lake::Snapshot::open(&lake)).unwrap();
    let files: Vec<PathBuf> = signals::series_files(snapshot.state()).into_iter().map(|(_, _, p)| lake.join(p)).collect();
    let got = points(&files.iter().flat_map(|f| read_parquet(f)).collect::<Vec<_>>());
    assert!(!want.is_empty());
    assert_eq!(got.len(), want.len(), "points in the table and in the rebuild");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "point {i}");
    }
    // The (billing account, sub-account) pairs kept beside the points, month by month, are the points' pairs.
    let mut pairs = BTreeSet::new();
    for f in signals::account_files(snapshot.state()).expect("every month has its pairs") {
        for b in read_parquet(&lake.join(f)) {
            let (a, s) = (b.column(0).as_string::<i32>(), b.column(1).as_string::<i32>());
            pairs.extend((0..b.num_rows()).map(|r| (a.value(r).to_string(), s.value(r).to_string())));
        }
    }
    let of_points: BTreeSet<(String, String)> = want.iter().map(|p| (p.0.clone(), p.1.clone())).collect();
    assert_eq!(pairs, of_points, "the pairs of the table's months");
    // And the last day's findings from the table equal a scan that rebuilds the series from the lake.
    let out: serde_json::Value = serde_json::from_str(&oversight(&[
        "run",
        "--lake",
        l,
        "--as-of",
        &last.to_string(),
        "--json",
        "--registry",
        registry.to_str().unwrap(),
        "--events",
        events.to_str().unwrap(),
    ]))
    .unwrap();
    assert_eq!(out["series"]["days"].as_array().unwrap().len(), 0, "nothing new: nothing rebuilt");
    assert_eq!(serde_json::to_string(&out["scanned"][0]["findings"]).unwrap(), scan(l, &scenario, last));
}

/// `oversight run --cases`: a restatement that takes an account's usage out of the month withdraws the finding its
/// case holds for the day, on the case and on the log, and the finding stays on the case, marked.
#[test]
fn a_restatement_that_removes_a_finding_withdraws_it_on_its_case() {
    use std::io::{Read, Write};
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let p = |name: &str| t.join(name).display().to_string();
    oversight(&["simulate", "--accounts", "46", "--days", "150", "--seed", "4", "--provider", "azure", "--out", &p("s")]);
    let vkey = oversight(&["log", "--dir", &p("log"), "init", "--origin", "example.org/daily-run"]).trim().to_string();
    oversight(&["case", "--db", &p("cases.db"), "--dir", &p("log"), "init"]);
    let last = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap() + Duration::days(149);
    let run = |inputs: &[String]| -> serde_json::Value {
        let (lake, day) = (p("lake"), last.to_string());
        let mut args = vec!["run", "--lake", &lake];
        let (registry, events) = (p("s/registry.csv"), p("s/events.csv"));
        args.extend(["--as-of", &day, "--json", "--registry", &registry, "--events", &events]);
        let (db, log) = (p("cases.db"), p("log"));
        args.extend(["--cases", &db, "--log-dir", &log]);
        args.extend(inputs.iter().map(String::as_str));
        serde_json::from_str(&oversight(&args)).unwrap()
    };

    // Everything at once: the first run builds the table and scans the last day.
    let first = run(&[p("s/exports")]);
    let found = first["scanned"][0]["findings"].as_array().unwrap().clone();
    let placed = first["cases"].as_array().unwrap();
    assert!(!found.is_empty() && placed.len() == found.len(), "{first}");
    // A finding on one sub-account (not a parent's, which its other sub-accounts could still give).
    let csv = std::fs::read_to_string(t.join("s/registry.csv")).unwrap();
    let is_sub = |a: &str| csv.lines().any(|l| l.starts_with(&format!("{a},")) && !l.split(',').nth(2).unwrap_or("").is_empty());
    let gone = found.iter().find(|f| is_sub(f["account_id"].as_str().unwrap())).expect("a sub-account's finding").clone();
    let account = gone["account_id"].as_str().unwrap().to_string();

    // The last month's latest delivery of the account's billing account, delivered again later without its rows:
    // a new run of the same export, which restates the month.
    let mut latest: Option<(String, PathBuf)> = None;
    for e in walkdir::WalkDir::new(t.join("s/exports/azure")).into_iter().map(Result::unwrap) {
        if e.file_name() != "manifest.json" || !e.path().to_string_lossy().contains(&format!("{}-", last.format("%Y%m01"))) {
            continue;
        }
        let m: serde_json::Value = serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap();
        let part = e.path().parent().unwrap().join(Path::new(m["blobs"][0]["blobName"].as_str().unwrap()).file_name().unwrap());
        let mut text = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&part).unwrap()).read_to_string(&mut text).unwrap();
        let at = m["runInfo"]["submittedTime"].as_str().unwrap().to_string();
        if text.contains(&account) && latest.as_ref().is_none_or(|(t, _)| at > *t) {
            latest = Some((at, e.path().to_path_buf()));
        }
    }
    let (_, manifest) = latest.expect("a delivery of the last month holds the account's rows");
    let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    let run_id = "0f0f0f0f-0000-4000-8000-000000000001";
    let from = manifest.parent().unwrap();
    let folder = from.parent().unwrap().strip_prefix(t.join("s/exports")).unwrap().join(run_id);
    let to = t.join("restated").join(&folder);
    std::fs::create_dir_all(&to).unwrap();
    let blobs = m["blobs"].as_array().unwrap().clone();
    let (mut bytes, mut rows) = (0u64, 0u64);
    for (i, blob) in blobs.iter().enumerate() {
        let name = Path::new(blob["blobName"].as_str().unwrap()).file_name().unwrap().to_owned();
        let mut text = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(from.join(&name)).unwrap()).read_to_string(&mut text).unwrap();
        let kept: Vec<&str> = text.lines().enumerate().filter(|(n, l)| *n == 0 || !l.contains(&account)).map(|(_, l)| l).collect();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all((kept.join("\n") + "\n").as_bytes()).unwrap();
        let data = gz.finish().unwrap();
        std::fs::write(to.join(&name), &data).unwrap();
        m["blobs"][i]["blobName"] = folder.join(&name).to_string_lossy().to_string().into();
        m["blobs"][i]["byteCount"] = data.len().into();
        m["blobs"][i]["dataRowCount"] = (kept.len() - 1).into();
        bytes += data.len() as u64;
        rows += (kept.len() - 1) as u64;
    }
    m["byteCount"] = bytes.into();
    m["dataRowCount"] = rows.into();
    m["runInfo"]["runId"] = run_id.into();
    m["runInfo"]["submittedTime"] = format!("{}T06:00:00Z", last + Duration::days(5)).into();
    std::fs::write(to.join("manifest.json"), serde_json::to_vec_pretty(&m).unwrap()).unwrap();

    let second = run(&[p("restated")]);
    assert_eq!(second["ingest"]["applied"], 1, "{second}");
    assert!(!second["series"]["changed"].as_array().unwrap().is_empty(), "the account's days changed: {}", second["series"]);
    let withdrawn = second["withdrawn"].as_array().unwrap();
    let w = withdrawn
        .iter()
        .find(|w| w["account_id"] == gone["account_id"] && w["policy_id"] == gone["policy"]["id"])
        .unwrap_or_else(|| panic!("{} {} withdrawn: {withdrawn:?}", account, gone["policy"]["id"]));
    assert_eq!(w["as_of"], last.to_string());
    // Every withdrawn finding was one the first run placed, and no longer among the day's findings.
    let now = second["scanned"].as_array().unwrap().last().unwrap()["findings"].as_array().unwrap().clone();
    for w in withdrawn {
        assert!(placed.iter().any(|p| p["account_id"] == w["account_id"] && p["policy_id"] == w["policy_id"]), "{w}");
        assert!(!now.iter().any(|f| f["account_id"] == w["account_id"] && f["policy"]["id"] == w["policy_id"]), "{w}");
    }
    // On its case: still there, marked withdrawn, with the reason; and the log still verifies.
    let case: serde_json::Value =
        serde_json::from_str(&oversight(&["case", "--db", &p("cases.db"), "--dir", &p("log"), "show", w["case_id"].as_str().unwrap(), "--json"])).unwrap();
    let held = case["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["finding"]["account_id"] == gone["account_id"] && f["finding"]["policy"]["id"] == gone["policy"]["id"]);
    let held = held.unwrap_or_else(|| panic!("the finding stays on its case: {case}"));
    assert!(held["withdrawn"]["reason"].as_str().unwrap().contains("scanned again"), "{held}");
    oversight(&["verify", "--log", &p("log"), "--key", &vkey, "--full"]);
}
