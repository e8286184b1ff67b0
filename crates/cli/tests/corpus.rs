//! The conformance corpus (`corpus/`, README there): every provider's exports as it really writes them, through
//! `oversight ingest` and `oversight signals`. Each case must keep every row, quarantine none, and produce exactly
//! the series its `expect.json` states.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn oversight(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_oversight")).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corpus");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).filter(|p| p.join("expect.json").is_file()).collect();
    cases.sort();
    cases
}

/// (sub-account, signal, day) → value, from `oversight signals --format csv`.
fn series(csv: &str) -> BTreeMap<(String, String, String), f64> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let at = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (sub, signal, bucket, value) = (at("sub_account_id"), at("signal"), at("bucket_start"), at("value"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            ((f[sub].to_string(), f[signal].to_string(), f[bucket][..10].to_string()), f[value].parse().unwrap())
        })
        .collect()
}

#[test]
fn every_corpus_case_ingests_whole_and_gives_its_series() {
    let cases = cases();
    assert!(cases.len() >= 8, "the corpus has {} cases", cases.len());
    let mut formats = std::collections::BTreeSet::new();
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let expect: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(case.join("expect.json")).unwrap()).unwrap();
        formats.insert((expect["provider"].as_str().unwrap().to_string(), expect["format"].as_str().unwrap().to_string()));
        let tmp = tempfile::tempdir().unwrap();
        let lake = tmp.path().join("lake");
        let l = lake.to_str().unwrap();
        let (code, out, err) = oversight(&["ingest", "--lake", l, "--json", case.join("exports").to_str().unwrap()]);
        assert_eq!(code, 0, "{name}: {err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["rows_quarantined"], 0, "{name}: {}", v["quarantine_sample"]);
        assert_eq!(v["refused"].as_array().unwrap().len(), 0, "{name}: {}", v["refused"]);
        assert_eq!(v["rows_kept"], expect["rows"], "{name}");

        let (code, out, err) = oversight(&["signals", "--lake", l, "--format", "csv"]);
        assert_eq!(code, 0, "{name}: {err}");
        let got = series(&out);
        let want: BTreeMap<(String, String, String), f64> = expect["series"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let s = |k: &str| p[k].as_str().unwrap().to_string();
                ((s("sub_account_id"), s("signal"), s("day")), p["value"].as_f64().unwrap())
            })
            .collect();
        assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>(), "{name}: the series points");
        for (k, w) in &want {
            let g = got[k];
            assert!((g - w).abs() <= w.abs() * 1e-9, "{name}: {k:?} is {g}, expected {w}");
        }
    }
    // Every provider in CSV (or CSV.gz) and, where it writes Parquet, in Parquet.
    for (provider, format) in [
        ("Microsoft", "csv.gz"),
        ("Microsoft", "parquet"),
        ("AWS", "csv.gz"),
        ("AWS", "parquet"),
        ("Google Cloud", "csv.gz"),
        ("Google Cloud", "parquet"),
        ("Oracle", "csv.gz"),
    ] {
        assert!(formats.contains(&(provider.to_string(), format.to_string())), "no {provider} {format} case");
    }
}
