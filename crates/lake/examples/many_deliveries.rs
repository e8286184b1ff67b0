//! Time `Lake::ingest` over many small deliveries: Azure run folders, each billing month delivered twice (a
//! mid-month run and a final run), plus plain OCI append files.
//!
//! ```text
//! cargo run --release -p lake --example many_deliveries -- [ACCOUNTS] [MONTHS] [ROWS_PER_DAY] [OCI_FILES]
//! ```
//! Defaults: 500 billing accounts × 4 months = 2,000 units × 2 runs, 5 rows a day, 100 OCI files. The inputs are
//! written once under `$TMPDIR/oversight-many-<args>/exports` and reused; the lake is made anew on every run.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

const HEAD: &str = "BillingAccountId,SubAccountId,BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,BillingCurrency,BilledCost,EffectiveCost,ProviderName,ServiceName,ConsumedQuantity,ConsumedUnit\n";

fn put(p: &Path, body: &str) {
    std::fs::create_dir_all(p.parent().expect("a parent")).expect("mkdir");
    std::fs::write(p, body).expect("write");
}

/// A billing month's CSV for one account, days `1..=days`, `per_day` rows a day.
fn month_csv(provider: &str, account: &str, month: u32, days: u32, per_day: u32, cost: &str) -> String {
    let mut s = String::from(HEAD);
    let next = if month == 12 { "2026-01".to_string() } else { format!("2025-{:02}", month + 1) };
    for d in 1..=days {
        let day = chrono::NaiveDate::from_ymd_opt(2025, month, d).expect("a day");
        let after = day + chrono::Days::new(1);
        for r in 0..per_day {
            let _ = writeln!(
                s,
                "{account},sub-{r},2025-{month:02}-01T00:00:00Z,{next}-01T00:00:00Z,{day}T00:00:00Z,{after}T00:00:00Z,Usage,USD,{cost},{cost},{provider},Storage,1,GB"
            );
        }
    }
    s
}

fn days_in(month: u32) -> u32 {
    let first = chrono::NaiveDate::from_ymd_opt(2025, month, 1).expect("month");
    let next = if month == 12 { chrono::NaiveDate::from_ymd_opt(2026, 1, 1) } else { chrono::NaiveDate::from_ymd_opt(2025, month + 1, 1) };
    (next.expect("month") - first).num_days() as u32
}

fn generate(root: &Path, accounts: u32, months: u32, per_day: u32, oci: u32) {
    for a in 0..accounts {
        let acct = format!("ba{a:05}");
        for m in 1..=months {
            let days = days_in(m);
            let range = format!("2025{m:02}01-2025{m:02}{days:02}");
            // The mid-month run, then the final run of the month (submitted later).
            for (run, upto, submitted) in
                [("run-mid", 15, format!("2025-{m:02}-16T06:00:00Z")), ("run-final", days, format!("2025-{m:02}-{days:02}T18:00:00Z"))]
            {
                let rel = format!("exports/{acct}/focus-daily/{range}/{run}");
                let body = month_csv("Microsoft", &acct, m, upto, per_day, "1");
                put(&root.join(&rel).join("part_0_0001.csv"), &body);
                let manifest = serde_json::json!({
                    "exportConfig": {"exportName": "focus-daily", "resourceId": format!("/subscriptions/{acct}/providers/Microsoft.CostManagement/exports/focus-daily"), "type": "FocusCost"},
                    "runInfo": {"runId": run, "submittedTime": submitted, "startDate": format!("2025-{m:02}-01T00:00:00"), "endDate": format!("2025-{m:02}-{days:02}T00:00:00Z")},
                    "blobs": [{"blobName": format!("{rel}/part_0_0001.csv"), "byteCount": body.len()}]
                });
                put(&root.join(&rel).join("manifest.json"), &manifest.to_string());
            }
        }
    }
    // OCI: one incremental file a day for one tenancy, each holding that day's rows.
    for i in 0..oci {
        let m = i % months + 1;
        let d = i / months % days_in(m) + 1;
        let mut body = String::from(HEAD);
        let day = chrono::NaiveDate::from_ymd_opt(2025, m, d).expect("a day");
        let after = day + chrono::Days::new(1);
        let next = if m == 12 { "2026-01".to_string() } else { format!("2025-{:02}", m + 1) };
        for r in 0..per_day {
            let _ = writeln!(
                body,
                "ocid1.tenancy.oc1..t,sub-{r},2025-{m:02}-01T00:00:00Z,{next}-01T00:00:00Z,{day}T00:00:00Z,{after}T00:00:00Z,Usage,USD,0.5,0.5,Oracle,Storage,1,GB"
            );
        }
        put(&root.join(format!("exports/FOCUS Reports/2025/{m:02}/{d:02}/{i:016}-00001.csv")), &body);
    }
}

fn dir_bytes(p: &Path) -> (u64, u64) {
    walkdir::WalkDir::new(p)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .fold((0, 0), |(n, b), e| (n + 1, b + e.metadata().map(|m| m.len()).unwrap_or(0)))
}

#[tokio::main]
async fn main() {
    let args: Vec<u32> = std::env::args().skip(1).map(|a| a.parse().expect("numbers")).collect();
    let arg = |i: usize, d: u32| args.get(i).copied().unwrap_or(d);
    let (accounts, months, per_day, oci) = (arg(0, 500), arg(1, 4), arg(2, 5), arg(3, 100));
    let base = std::env::temp_dir().join(format!("oversight-many-{accounts}-{months}-{per_day}-{oci}"));
    let inputs = base.join("exports");
    if !base.join("done").exists() {
        let _ = std::fs::remove_dir_all(&base);
        let t = Instant::now();
        generate(&base, accounts, months, per_day, oci);
        put(&base.join("done"), "");
        println!("generated {} in {:.1?}", inputs.display(), t.elapsed());
    }
    let lake_dir: PathBuf = base.join("lake");
    let _ = std::fs::remove_dir_all(&lake_dir);

    let t = Instant::now();
    let found = lake::discover(&[inputs]);
    let discover = t.elapsed();
    let mut lake = lake::Lake::open(&lake_dir).await.expect("open");
    let t = Instant::now();
    let out = lake.ingest(&found.deliveries, &lake::IngestOptions::default(), &|_| {}).await.expect("ingest");
    let ingest = t.elapsed();
    let refused = out.iter().filter(|o| matches!(o, lake::DeliveryOutcome::Refused(_))).count();
    let rows: u64 = lake.state().live("usage").map(|f| f.rows).sum();
    let (data_files, data_bytes) = dir_bytes(&lake_dir.join("usage"));
    let (_, manifest_bytes) = dir_bytes(&lake_dir.join("_manifest"));
    println!(
        "{} units x 2 runs + {oci} OCI files = {} deliveries ({refused} refused): discover {discover:.1?}, ingest {ingest:.2?}",
        accounts * months,
        found.deliveries.len()
    );
    println!(
        "commits {}, live usage files {}, files on disk {data_files} ({:.1} MB), live rows {rows}, manifest {:.2} MB",
        lake.state().version,
        lake.state().live("usage").count(),
        data_bytes as f64 / 1e6,
        manifest_bytes as f64 / 1e6
    );
    let t = Instant::now();
    let reopened = lake::Lake::open(&lake_dir).await.expect("reopen");
    println!("reopen (replay the manifest) {:.2?}, version {}", t.elapsed(), reopened.state().version);
}
