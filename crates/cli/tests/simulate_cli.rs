//! `oversight simulate` end to end: each scenario's labelled signature is in the series that the lake and
//! `oversight signals` compute from the generated exports (not in the generator's own variables), restated months
//! are counted once, and every generated row ingests without quarantine.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{Duration, NaiveDate};
use simulate::Labels;

fn oversight(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_oversight")).args(args).output().unwrap();
    assert!(out.status.success(), "oversight {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// (account, signal, day) → value, summed over publishers; and the marketplace series per publisher.
struct Series {
    v: HashMap<(String, String, NaiveDate), f64>,
    publisher: HashMap<(String, String, NaiveDate), f64>,
}

impl Series {
    fn get(&self, account: &str, signal: &str, day: NaiveDate) -> f64 {
        self.v.get(&(account.to_string(), signal.to_string(), day)).copied().unwrap_or(0.0)
    }
}

fn series(lake: &Path, out: &Path) -> Series {
    let path = out.join("series.jsonl");
    oversight(&["signals", "--lake", lake.to_str().unwrap(), "--format", "json", "--out", path.to_str().unwrap()]);
    let mut s = Series { v: HashMap::new(), publisher: HashMap::new() };
    for line in std::fs::read_to_string(path).unwrap().lines() {
        let r: serde_json::Value = serde_json::from_str(line).unwrap();
        let day = NaiveDate::parse_from_str(&r["bucket_start"].as_str().unwrap()[..10], "%Y-%m-%d").unwrap();
        let account = r["sub_account_id"].as_str().unwrap().to_string();
        let signal = r["signal"].as_str().unwrap().to_string();
        let value = r["value"].as_f64().unwrap_or_else(|| r["value"].as_str().unwrap().parse().unwrap());
        *s.v.entry((account.clone(), signal, day)).or_default() += value;
        if let Some(p) = r["publisher"].as_str().filter(|p| !p.is_empty()) {
            *s.publisher.entry((account, p.to_string(), day)).or_default() += value;
        }
    }
    s
}

fn date(s: &Option<String>) -> NaiveDate {
    NaiveDate::parse_from_str(s.as_deref().expect("a date"), "%Y-%m-%d").unwrap()
}

const SPEECH_OBSERVABLE: f64 = 60_000.0 * 3600.0;

#[test]
fn every_scenario_signature_is_in_the_series_the_lake_computes() {
    let tmp = tempfile::tempdir().unwrap();
    let (scenario, lake): (PathBuf, PathBuf) = (tmp.path().join("scenario"), tmp.path().join("lake"));
    let s = scenario.to_str().unwrap();
    oversight(&["simulate", "--accounts", "50", "--days", "100", "--seed", "3", "--provider", "mixed", "--format", "csv.gz", "--out", s]);
    let ingest: serde_json::Value =
        serde_json::from_str(&oversight(&["ingest", "--json", "--strict", "--lake", lake.to_str().unwrap(), &format!("{s}/exports")])).unwrap();
    assert_eq!(ingest["rows_quarantined"], 0);
    assert_eq!(ingest["refused"].as_array().unwrap().len(), 0);
    let labels = Labels::parse(&std::fs::read_to_string(scenario.join("labels.json")).unwrap()).unwrap();
    let reg = registry::Registry::from_path(&scenario.join("registry.csv")).unwrap();
    let events = registry::Events::from_path(&scenario.join("events.csv")).unwrap();
    let sr = series(&lake, tmp.path());
    let start = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let last = start + Duration::days(99);
    let days = |from: NaiveDate, to: NaiveDate| (0..=(to - from).num_days()).map(move |k| from + Duration::days(k));
    let one = |name: &str| labels.accounts.iter().find(|l| l.label == name && l.part_of.is_none()).unwrap_or_else(|| panic!("{name} labelled"));

    // archive-surge: stored bytes 1.25x the onset level by the observable day, and still growing after it.
    let l = one("archive-surge");
    let (o, v) = (date(&l.onset), date(&l.observable));
    let st = |d| sr.get(&l.account_id, "storage.stored_bytes", d);
    assert!(st(v) >= 1.2 * st(o - Duration::days(1)), "archive-surge storage {} -> {}", st(o), st(v));
    assert!(st(last) > st(v));
    assert!(st(o - Duration::days(1)) > 350e12 && st(o - Duration::days(1)) < 450e12, "about 400 TB before the surge");

    // interception-pipeline: nothing transcribed before onset, 2,500 audio hours an hour by the observable day,
    // storage never falls (weekly means), and the speech volume reaches the full rate of a million calls an hour.
    let l = one("interception-pipeline");
    let (o, v) = (date(&l.onset), date(&l.observable));
    let sp = |d| sr.get(&l.account_id, "ai.speech_seconds", d);
    assert!(o == start || sp(o - Duration::days(1)) == 0.0);
    // Daily noise is up to 20 %, so one day can sit two deviations low; the three days from observable cannot.
    let around: f64 = days(v, v + Duration::days(2)).map(sp).sum::<f64>() / 3.0;
    assert!(around >= 0.8 * SPEECH_OBSERVABLE, "speech from the observable day: {}", around / 3600.0);
    let peak = days(o, last).map(sp).fold(0.0, f64::max);
    assert!(peak > 0.8 * 800_000.0 * 3600.0, "peak {} audio hours a day", peak / 3600.0);
    let weekly: Vec<f64> = days(o, last)
        .collect::<Vec<_>>()
        .chunks(7)
        .map(|w| w.iter().map(|d| sr.get(&l.account_id, "storage.stored_bytes", *d)).sum::<f64>() / w.len() as f64)
        .collect();
    assert!(weekly.windows(2).all(|w| w[1] >= 0.99 * w[0]), "storage falls: {weekly:?}");

    // exodus: the day after the suspension (an event in events.csv), more than 1,000 TB leaves.
    let l = one("exodus");
    let v = date(&l.observable);
    let susp = events.for_account(&l.account_id).into_iter().find(|e| e.kind == registry::EventKind::Suspension).expect("a suspension event");
    assert_eq!(susp.at.date_naive() + Duration::days(1), v);
    assert!(susp.services.contains(&"storage".to_string()) && susp.services.contains(&"ai".to_string()));
    let eg: f64 = days(v, v + Duration::days(3)).map(|d| sr.get(&l.account_id, "network.egress_bytes", d)).sum();
    // Daily noise is up to 20 % a day, so four days land within about 30 % of the total.
    assert!(eg > 5600e12 && eg < 10400e12, "about 8,000 TB out in four days, got {} TB", eg / 1e12);

    // structuring: the parent's sub-accounts together reach the observable volume, and no part carries most of it.
    // The shape is the seed's: at least 8 parts, some possibly rotating through sub-accounts the registry does not
    // know yet (those have no registry parent, only the parent's billing account).
    let l = one("structuring");
    let v = date(&l.observable);
    let subs: Vec<&str> = labels.accounts.iter().filter(|a| a.part_of.as_deref() == Some(&l.account_id)).map(|a| a.account_id.as_str()).collect();
    assert!(subs.len() >= 8, "{} parts", subs.len());
    for sub in &subs {
        assert!(reg.parent_of(sub).is_none_or(|p| p == l.account_id), "{sub}");
    }
    assert!(subs.iter().any(|s| reg.parent_of(s) == Some(l.account_id.as_str())), "the registry names the parent");
    let total: f64 = subs.iter().map(|a| sr.get(a, "ai.speech_seconds", v)).sum();
    assert!(total >= 0.8 * SPEECH_OBSERVABLE, "aggregate speech {}", total / 3600.0);
    let (peak_day, agg_peak) = days(start, last)
        .map(|d| (d, subs.iter().map(|a| sr.get(a, "ai.speech_seconds", d)).sum::<f64>()))
        .fold((start, 0.0), |a, b| if b.1 > a.1 { b } else { a });
    let biggest = subs.iter().map(|a| sr.get(a, "ai.speech_seconds", peak_day)).fold(0.0, f64::max);
    assert!(biggest < 0.7 * agg_peak, "one sub-account carries {biggest} of {agg_peak}");

    // biometric-sweep: a million face transactions a day by the observable day, and no approval in the registry.
    let l = one("biometric-sweep");
    let v = date(&l.observable);
    assert!(sr.get(&l.account_id, "ai.face_transactions", v) >= 0.8e6);
    assert!(!reg.has_approval(&l.account_id, "face-identification", v));

    // analytics-vendor: the vendor's marketplace charges reach $1,000 a day, and storage grows with them.
    let l = one("analytics-vendor");
    let (o, v) = (date(&l.onset), date(&l.observable));
    let vendor = simulate::population::ANALYTICS_VENDOR;
    assert!(sr.publisher.get(&(l.account_id.clone(), vendor.to_string(), v)).copied().unwrap_or(0.0) >= 800.0);
    let st = |d| sr.get(&l.account_id, "storage.stored_bytes", d);
    assert!(st(last) >= 1.3 * st(o), "storage {} -> {}", st(o), st(last));

    // Restated months count once: the 14th (the month-to-date run's incomplete last day, replaced by the closing
    // run on Azure and AWS, completed by correction rows on Google) looks like its neighbours for every account.
    let mut checked = 0;
    for fourteenth in [15, 46, 74].map(|k| start + Duration::days(k - 2)) {
        for t in reg.iter().filter(|t| t.parent_id.is_some()) {
            let st = |d| sr.get(&t.account_id, "storage.stored_bytes", d);
            let (a, b, c) = (st(fourteenth - Duration::days(1)), st(fourteenth), st(fourteenth + Duration::days(1)));
            if a > 0.0 && c > 0.0 && (c / a - 1.0).abs() < 0.2 {
                let r = b / ((a + c) / 2.0);
                assert!((0.8..1.25).contains(&r), "{} on {fourteenth}: {a} {b} {c}", t.account_id);
                checked += 1;
            }
        }
    }
    // About 100 over three months; structuring now stores in one part when its signals are spread.
    assert!(checked > 60, "only {checked} checks");
}

/// Each cloud writes its own forms in every container (Azure's minute datetimes in 1.0 and decimals in Parquet,
/// AWS's E notation and Parquet maps, Google's `… UTC` timestamps, `DECIMAL(38,9)` and key-value lists, OCI's
/// 1.0-preview header, minutes and inclusive billing-period end): every one
/// is read whole, and every meter maps.
#[test]
fn every_cloud_in_every_container_and_version_is_read_whole() {
    let cases = [
        ("azure", "csv", "1.0"),
        ("azure", "parquet", "1.2"),
        ("aws", "csv.gz", "1.2"),
        ("aws", "parquet", "1.0"),
        ("gcp", "csv", "1.0"),
        ("gcp", "parquet", "1.2"),
        ("oci", "csv.gz", "1.0"),
    ];
    for (provider, format, version) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let s = tmp.path().join("s");
        let lake = tmp.path().join("lake");
        oversight(&[
            "simulate",
            "--accounts",
            "50",
            "--days",
            "20",
            "--focus-version",
            version,
            "--provider",
            provider,
            "--format",
            format,
            "--out",
            s.to_str().unwrap(),
        ]);
        let v: serde_json::Value =
            serde_json::from_str(&oversight(&["ingest", "--json", "--strict", "--lake", lake.to_str().unwrap(), s.join("exports").to_str().unwrap()])).unwrap();
        assert_eq!(v["rows_quarantined"], 0, "{provider} {format} {version}: {}", v["quarantine_sample"]);
        assert!(v["rows_kept"].as_u64().unwrap() > 500, "{provider} {format} {version}");
        let unmapped = oversight(&["signals", "--lake", lake.to_str().unwrap(), "--unmapped", "--format", "json"]);
        assert!(unmapped.trim().is_empty(), "{provider} {format} {version}: unmapped meters: {unmapped}");
    }
}
