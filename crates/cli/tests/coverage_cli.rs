//! `scan` and `eval` say what their result rests on: rows per provider and month, the deliveries behind them, the
//! quarantined share, and the accounts whose data is mostly missing ("not assessed", not clean).

use std::fmt::Write as _;
use std::process::Command;

fn oversight(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_oversight")).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

const HEAD: &str = "BillingAccountId,SubAccountId,BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,\
BillingCurrency,BilledCost,EffectiveCost,ProviderName,ServiceName,ServiceCategory,ConsumedQuantity,ConsumedUnit,PricingQuantity,PricingUnit,SkuMeter,x_UsageType\n";

/// One day of S3 storage (10 GB-months) for a member account of payer 111111111111, in January 2025.
fn row(out: &mut String, account: &str, day: u32, start: &str) {
    let end = if day == 31 { "2025-02-01T00:00:00Z".to_string() } else { format!("2025-01-{:02}T00:00:00Z", day + 1) };
    writeln!(
        out,
        "111111111111,{account},2025-01-01T00:00:00Z,2025-02-01T00:00:00Z,{start},{end},Usage,USD,0.23,0.23,AWS,Amazon Simple Storage Service,Storage,10,GB-Mo,10,GB-Mo,Storage,EU-TimedStorage-ByteHrs"
    )
    .unwrap();
}

#[test]
fn scan_reports_coverage_and_refuses_to_call_missing_data_clean() {
    let tmp = tempfile::tempdir().unwrap();
    // Account "steady" has every day of January; "gone" has days 1 to 10 only; one row of "steady" has a date no
    // one can read, so it is quarantined: 1 of 42 rows, 2.4 %.
    let mut body = String::from(HEAD);
    for d in 1..=31 {
        let start = if d == 15 { "15/01/2025".to_string() } else { format!("2025-01-{d:02}T00:00:00Z") };
        row(&mut body, "222222222222", d, &start);
    }
    for d in 1..=10 {
        row(&mut body, "333333333333", d, &format!("2025-01-{d:02}T00:00:00Z"));
    }
    std::fs::write(tmp.path().join("aws.csv"), body).unwrap();
    let lake = tmp.path().join("lake");
    let l = lake.to_str().unwrap();
    let (code, _, err) = oversight(&["ingest", "--lake", l, tmp.path().join("aws.csv").to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");

    // More than 1 % of rows quarantined: the scan says so and exits 6.
    let (code, out, err) = oversight(&["scan", "--lake", l, "--format", "json"]);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("quarantined"), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let c = &v["coverage"];
    assert_eq!(c["rows_kept"], 40);
    assert_eq!(c["rows_quarantined"], 1);
    assert_eq!(c["as_of"], "2025-01-31");
    assert_eq!(c["months"][0]["provider"], "AWS");
    assert_eq!(c["months"][0]["month"], "2025-01");
    assert_eq!(c["months"][0]["rows"], 40);
    assert_eq!(c["months"][0]["sub_accounts"], 2);
    assert_eq!(c["deliveries"][0]["applied"], 1);
    assert_eq!(c["deliveries"][0]["rows_quarantined"], 1);

    // "gone" has rows on 10 of the 30 days up to the 31st: not assessed. "steady" misses only the quarantined day.
    assert_eq!(c["accounts"], 2);
    assert_eq!(c["accounts_assessed"], 1);
    let gone = &c["not_assessed"][0];
    assert_eq!(gone["sub_account_id"], "333333333333");
    assert_eq!(gone["days_in_window"], 9);
    assert_eq!(gone["window_days"], 30);
    assert_eq!(gone["days_missing"], 21);

    // A looser threshold lets the scan exit on its findings alone; the table says what the result rests on.
    let (code, out, err) = oversight(&["scan", "--lake", l, "--max-quarantine-share", "0.05"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("rows: 40 kept, 1 quarantined (2.439 %)"), "{out}");
    assert!(out.contains("not assessed: 111111111111 333333333333 (rows on 9 of 30 days; last 2025-01-10)"), "{out}");
    assert!(out.contains("2 with data, 1 not assessed"), "{out}");
}

#[test]
fn a_delivery_refused_at_ingest_shows_as_missing_until_it_is_ingested() {
    let tmp = tempfile::tempdir().unwrap();
    let mut body = String::from(HEAD);
    for d in 1..=31 {
        row(&mut body, "222222222222", d, &format!("2025-01-{d:02}T00:00:00Z"));
    }
    std::fs::write(tmp.path().join("aws.csv"), &body).unwrap();
    // An Azure export run for February whose manifest lists a file that never arrived.
    let run = tmp.path().join("exports/sub1/focus-daily/20250201-20250228/run-1");
    std::fs::create_dir_all(&run).unwrap();
    let manifest = serde_json::json!({
        "exportConfig": {"exportName": "focus-daily", "resourceId": "/subscriptions/sub1/providers/Microsoft.CostManagement/exports/focus-daily", "type": "FocusCost"},
        "runInfo": {"runId": "run-1", "submittedTime": "2025-02-03T06:00:00Z", "startDate": "2025-02-01T00:00:00", "endDate": "2025-02-28T00:00:00Z"},
        "blobs": [{"blobName": "exports/sub1/focus-daily/20250201-20250228/run-1/part_0_0001.csv", "byteCount": 1000}]
    });
    std::fs::write(run.join("manifest.json"), manifest.to_string()).unwrap();
    let lake = tmp.path().join("lake");
    let l = lake.to_str().unwrap();
    let (code, _, err) = oversight(&["ingest", "--lake", l, tmp.path().join("aws.csv").to_str().unwrap(), tmp.path().join("exports").to_str().unwrap()]);
    assert_eq!(code, 1, "the ingest fails on the refused delivery: {err}");
    assert!(err.contains("part_0_0001.csv") && err.contains("not found"), "{err}");

    // The scan says which month of which provider is missing, and does not exit 0 on a lake that lacks it.
    let (code, out, err) = oversight(&["scan", "--lake", l, "--format", "json"]);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("1 deliveries were refused"), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let missing: Vec<_> = v["coverage"]["deliveries"].as_array().unwrap().iter().filter(|d| d["refused"] != 0).collect();
    assert_eq!(missing.len(), 1, "{:#}", v["coverage"]["deliveries"]);
    assert_eq!((missing[0]["provider"].as_str(), missing[0]["month"].as_str(), missing[0]["missing"].as_u64()), (Some("azure"), Some("2025-02"), Some(1)));
    let (_, out, _) = oversight(&["scan", "--lake", l]);
    assert!(out.contains("MISSING azure 2025-02: 1 deliveries refused and not ingested since (1 with listed files absent or short)"), "{out}");

    // A second failed attempt counts once; once the file arrives and is ingested, nothing is missing.
    oversight(&["ingest", "--lake", l, tmp.path().join("exports").to_str().unwrap()]);
    let (_, out, _) = oversight(&["scan", "--lake", l]);
    assert!(out.contains("MISSING azure 2025-02: 1 deliveries"), "{out}");
    let data = format!(
        "{HEAD}sub1,sub1,2025-02-01T00:00:00Z,2025-03-01T00:00:00Z,2025-02-01T00:00:00Z,2025-02-02T00:00:00Z,Usage,USD,1,1,Microsoft,Storage,Storage,1,GB,1,GB,Hot LRS,\n"
    );
    let padded = format!("{data}{}", "\n".repeat(1000 - data.len()));
    std::fs::write(run.join("part_0_0001.csv"), padded).unwrap();
    let (code, _, err) = oversight(&["ingest", "--lake", l, tmp.path().join("exports").to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = oversight(&["scan", "--lake", l, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["coverage"]["deliveries"].as_array().unwrap().iter().all(|d| d["refused"] == 0), "{:#}", v["coverage"]["deliveries"]);
}

#[test]
fn quarantined_rows_are_counted_per_billing_account_and_month() {
    let tmp = tempfile::tempdir().unwrap();
    let mut body = String::from(HEAD);
    for d in 1..=31 {
        row(&mut body, "222222222222", d, &format!("2025-01-{d:02}T00:00:00Z"));
    }
    // Two bad cells on one row (a cost and a unit count) of payer 111111111111, in January.
    body.push_str("111111111111,444444444444,2025-01-01T00:00:00Z,2025-02-01T00:00:00Z,2025-01-05T00:00:00Z,2025-01-06T00:00:00Z,Usage,USD,lots,0.23,AWS,Amazon Simple Storage Service,Storage,ten,GB-Mo,10,GB-Mo,Storage,x\n");
    std::fs::write(tmp.path().join("aws.csv"), &body).unwrap();
    let lake = tmp.path().join("lake");
    let l = lake.to_str().unwrap();
    oversight(&["ingest", "--lake", l, tmp.path().join("aws.csv").to_str().unwrap()]);
    let (_, out, err) = oversight(&["scan", "--lake", l, "--format", "json", "--max-quarantine-share", "0.5"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"));
    assert_eq!(v["coverage"]["quarantined"], serde_json::json!([{"provider": "aws", "billing_account_id": "111111111111", "month": "2025-01", "rows": 1}]));
}

#[test]
fn a_closed_pipe_ends_a_scan_quietly_and_ids_cannot_drive_the_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let mut body = String::from(HEAD);
    for d in 1..=31 {
        row(&mut body, "222222222222", d, &format!("2025-01-{d:02}T00:00:00Z"));
    }
    // A sub-account id with a terminal escape (clear screen) and a right-to-left override.
    for d in 1..=3 {
        row(&mut body, "33\u{1b}[2J33\u{202e}4433", d, &format!("2025-01-{d:02}T00:00:00Z"));
    }
    std::fs::write(tmp.path().join("aws.csv"), body).unwrap();
    let lake = tmp.path().join("lake");
    let l = lake.to_str().unwrap();
    let (code, _, err) = oversight(&["ingest", "--lake", l, tmp.path().join("aws.csv").to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = oversight(&["scan", "--lake", l]);
    assert!(out.contains("33\\u{001B}[2J33\\u{202E}4433"), "{out}");
    assert!(!out.contains('\u{1b}') && !out.contains('\u{202e}'), "{out:?}");

    // The reader goes away before the scan writes: it ends quietly, without a panic or an error message.
    for args in [vec!["scan", "--lake", l], vec!["lake", "check", "--lake", l]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_oversight"))
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{args:?}: {err}");
    }
}
