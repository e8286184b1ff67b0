//! Fixtures shared by the lake's integration tests: FOCUS CSVs, Azure run folders, and reading the lake's files
//! back with the parquet crate alone, as an external engine would.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lake::{DeliveryOutcome, IngestOptions, Lake};

pub const HEAD: &str = "BillingAccountId,SubAccountId,BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,BillingCurrency,BilledCost,EffectiveCost,ProviderName,ServiceName,ConsumedQuantity,ConsumedUnit\n";

/// `days` daily rows of one account in January 2025, each costing `cost`.
pub fn focus_csv(provider: &str, account: &str, days: u32, cost: &str) -> String {
    let mut s = HEAD.to_string();
    for d in 1..=days {
        s.push_str(&format!(
            "{account},sub-1,2025-01-01T00:00:00Z,2025-02-01T00:00:00Z,2025-01-{d:02}T00:00:00Z,2025-01-{:02}T00:00:00Z,Usage,USD,{cost},{cost},{provider},Storage,1,GB\n",
            d + 1
        ));
    }
    s
}

pub fn put(p: &Path, body: impl AsRef<[u8]>) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

/// An Azure run folder of scope `scope` for January 2025: `exports/<scope>/focus-daily/20250101-20250131/<run>/`
/// with one data file `file` and its manifest (whose byte count is one too many when `lie_about_size`).
pub fn azure_export(root: &Path, scope: &str, run: &str, submitted: &str, file: &str, body: &[u8], lie_about_size: bool) -> PathBuf {
    let rel = format!("exports/{scope}/focus-daily/20250101-20250131/{run}");
    let dir = root.join(&rel);
    put(&dir.join(file), body);
    let manifest = serde_json::json!({
        "exportConfig": {"exportName": "focus-daily", "resourceId": format!("/subscriptions/{scope}/providers/Microsoft.CostManagement/exports/focus-daily"), "type": "FocusCost", "dataVersion": "1.0r2"},
        "runInfo": {"runId": run, "submittedTime": submitted, "startDate": "2025-01-01T00:00:00", "endDate": "2025-01-31T00:00:00Z"},
        "blobs": [{"blobName": format!("{rel}/{file}"), "byteCount": body.len() + usize::from(lie_about_size)}]
    });
    put(&dir.join("manifest.json"), manifest.to_string());
    dir
}

/// An Azure run folder of scope `s1` with one CSV.
pub fn azure_run(root: &Path, run: &str, submitted: &str, body: &str, lie_about_size: bool) -> PathBuf {
    azure_export(root, "s1", run, submitted, "part_0_0001.csv", body.as_bytes(), lie_about_size)
}

/// The unit of an Azure run folder made by [`azure_export`].
pub fn azure_unit(scope: &str) -> String {
    format!("azure:/subscriptions/{scope}:focus-daily:FocusCost:2025-01")
}

pub async fn ingest(lake: &mut Lake, inputs: &[PathBuf]) -> Vec<DeliveryOutcome> {
    let found = lake::discover(inputs);
    assert!(found.refused.is_empty() || inputs.is_empty(), "{:?}", found.refused);
    lake.ingest(&found.deliveries, &IngestOptions::default(), &|_| {}).await.unwrap()
}

pub fn live_rows(lake: &Lake) -> u64 {
    lake.state().live("usage").map(|f| f.rows).sum()
}

fn parquet_files(root: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(root.join("usage"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "parquet"))
        .map(|e| e.path().to_path_buf())
        .collect()
}

/// Rows actually on disk under usage/, read back with the parquet crate: what an external engine would see.
pub fn rows_on_disk(root: &Path) -> u64 {
    parquet_files(root)
        .iter()
        .map(|p| {
            let r = parquet::file::reader::SerializedFileReader::new(std::fs::File::open(p).unwrap()).unwrap();
            parquet::file::reader::FileReader::metadata(&r).file_metadata().num_rows() as u64
        })
        .sum()
}

/// Parquet files on disk under usage/.
pub fn files_on_disk(root: &Path) -> usize {
    parquet_files(root).len()
}

/// Rows of the live usage files by the value of a text column (`_unit`, `_delivery`), null as `None`.
pub fn live_rows_by(lake: &Lake, column: &str) -> BTreeMap<Option<String>, u64> {
    use arrow::array::{Array, AsArray};
    let mut out = BTreeMap::new();
    for p in lake.live_paths("usage") {
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&p).unwrap()).unwrap().build().unwrap();
        for b in reader {
            let b = b.unwrap();
            let col = b.column_by_name(column).unwrap_or_else(|| panic!("{} has no {column}", p.display())).as_string::<i32>();
            for i in 0..col.len() {
                *out.entry(col.is_valid(i).then(|| col.value(i).to_string())).or_default() += 1;
            }
        }
    }
    out
}
