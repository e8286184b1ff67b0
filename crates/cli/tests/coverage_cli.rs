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
