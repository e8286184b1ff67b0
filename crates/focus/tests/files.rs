//! Real files: every shared FOCUS sample reads with no row quarantined, the non-conformant examples fail as their
//! SOURCES.md says, and each kind of broken input gets an error that names where it is.

use std::io::Write;
use std::path::{Path, PathBuf};

use focus::{FocusError, ReadOptions};

fn shared(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data").join(rel)
}

struct Totals {
    kept: usize,
    quarantined: Vec<focus::Quarantined>,
    refused_rows: u64,
}

fn read_all(path: &Path) -> Result<Totals, FocusError> {
    read_with(path, focus::Limits::default())
}

fn read_with(path: &Path, limits: focus::Limits) -> Result<Totals, FocusError> {
    let opts = ReadOptions { name: path.file_name().unwrap().to_string_lossy().into(), delivery: "d1".into(), batch_rows: 100, limits };
    let mut r = focus::open(path, &opts)?;
    let mut t = Totals { kept: 0, quarantined: vec![], refused_rows: 0 };
    while let Some(b) = r.next_batch()? {
        t.kept += b.data.num_rows();
        t.refused_rows += b.rows_quarantined;
        t.quarantined.extend(b.quarantined);
    }
    Ok(t)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn every_shared_sample_reads_with_no_row_quarantined() {
    // Each sample with its data row count (from its SOURCES.md).
    let samples = [("focus-samples/finops-foundation-1.0/focus_sample.csv", 1000)];
    for (rel, rows) in samples {
        let t = read_all(&shared(rel)).unwrap();
        assert!(t.quarantined.is_empty(), "{rel}: {:?}", t.quarantined.first());
        assert_eq!(t.kept, rows, "{rel}");
    }
}

#[test]
fn sample_keeps_extra_columns_and_reads_all_digit_ids_as_text() {
    let opts = ReadOptions { name: "s.csv".into(), delivery: "d".into(), batch_rows: 10_000, limits: Default::default() };
    let mut r = focus::open(&shared("focus-samples/finops-foundation-1.0/focus_sample.csv"), &opts).unwrap();
    assert_eq!(r.version(), "1.0");
    let b = r.next_batch().unwrap().unwrap().data;
    let ids = b.column_by_name("BillingAccountId").unwrap();
    assert_eq!(ids.data_type(), &arrow::datatypes::DataType::Utf8);
    let ext = b.column_by_name("x_extensions").unwrap().as_any().downcast_ref::<arrow::array::StringArray>().unwrap();
    assert!(ext.value(0).contains("\"Id\""), "{}", ext.value(0));
    assert!(b.column_by_name("x_UsageType").is_some(), "meter extensions are typed lake columns");
}

#[test]
fn partial_header_is_rejected_listing_the_missing_columns() {
    let err = read_all(&shared("focus-nonconformant/finops-foundation-spec-1.2/commitment_discount_usage_scenario_3.csv")).err().unwrap();
    let msg = err.to_string();
    assert!(matches!(err, FocusError::MissingColumns { .. }));
    for col in ["BillingAccountId", "ServiceName", "ProviderName"] {
        assert!(msg.contains(col), "{msg}");
    }
}

#[test]
fn us_style_dates_are_quarantined_row_by_row_never_guessed() {
    let t = read_all(&shared("focus-nonconformant/finops-foundation-spec-1.2/saas_spend_agreements_a2.csv")).unwrap();
    assert_eq!(t.kept, 0);
    // SOURCES.md says 12 data rows; the file holds 13 (a csv reader and `wc -l` agree), and every one is refused.
    assert_eq!(t.refused_rows, 13);
    let first = &t.quarantined[0];
    assert_eq!(first.row, 1);
    assert_eq!(first.line, 2);
    assert!(first.to_string().contains("saas_spend_agreements_a2.csv: row 1 (line 2), column \"BillingPeriodStart\""), "{first}");
    assert_eq!(first.raw, "4/1/25");
}

const HEAD: &str = "BillingAccountId,BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,BillingCurrency,BilledCost,EffectiveCost,ProviderName,ServiceName,ConsumedQuantity,x_UsageType\n";
const ROW: &str =
    "0123,2025-01-01T00:00:00Z,2025-02-01T00:00:00Z,2025-01-05T00:00:00Z,2025-01-06T00:00:00Z,Usage,USD,1.5,1.5,AWS,Amazon S3,10,USE1-TimedStorage-ByteHrs\n";

#[test]
fn bad_cells_quarantine_their_row_with_file_row_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let body = format!("{HEAD}{ROW}{}{}", ROW.replace(",1.5,1.5,", ",abc,1.5,"), ROW.replace("2025-01-06T00:00:00Z", "2025-01-04T00:00:00Z"));
    let t = read_all(&write(dir.path(), "f.csv", body.as_bytes())).unwrap();
    assert_eq!(t.kept, 1);
    assert_eq!(t.refused_rows, 2);
    assert_eq!((t.quarantined[0].row, t.quarantined[0].column.as_str(), t.quarantined[0].raw.as_str()), (2, "BilledCost", "abc"));
    assert_eq!((t.quarantined[1].row, t.quarantined[1].column.as_str()), (3, "ChargePeriodEnd"));
}

/// Google bills bucket storage in byte-seconds: 2.5 PB held for a day is 2.16e20, more than the 20 integer digits
/// a scale-18 decimal leaves, and 8,000 TB kept for a year on one row is 2.5e23, more than scale 15's 23. Both were
/// quarantined or overflowed; quantities now have 29 integer digits, BigQuery's NUMERIC.
#[test]
fn a_google_bucket_of_petabytes_for_a_day_reads_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let head = HEAD.replace(",x_UsageType", ",ConsumedUnit,PricingQuantity");
    let row = "0123,2025-01-01T00:00:00Z,2025-02-01T00:00:00Z,2025-01-05T00:00:00Z,2025-01-06T00:00:00Z,Usage,USD,1180.5,1180.5,\
        Google Cloud,Cloud Storage,252288000000000000000000.000000001,byte-seconds,216000000000000000000\n";
    let t = read_all(&write(dir.path(), "gcp.csv", format!("{head}{row}").as_bytes())).unwrap();
    assert!(t.quarantined.is_empty(), "{:?}", t.quarantined);
    let opts = ReadOptions { name: "gcp.csv".into(), delivery: "d".into(), batch_rows: 10, limits: Default::default() };
    let b = focus::open(&dir.path().join("gcp.csv"), &opts).unwrap().next_batch().unwrap().unwrap().data;
    let q = b.column_by_name("ConsumedQuantity").unwrap();
    assert_eq!(q.data_type(), &arrow::datatypes::DataType::Decimal128(38, focus::schema::QUANTITY_SCALE));
    let q = q.as_any().downcast_ref::<arrow::array::Decimal128Array>().unwrap();
    assert_eq!(q.value_as_string(0), "252288000000000000000000.000000001");
}

#[test]
fn gzip_and_parquet_read_like_csv() {
    let dir = tempfile::tempdir().unwrap();
    let body = format!("{HEAD}{ROW}{ROW}");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(body.as_bytes()).unwrap();
    let t = read_all(&write(dir.path(), "f.csv.gz", &gz.finish().unwrap())).unwrap();
    assert_eq!(t.kept, 2);

    // Parquet with typed columns: the lake batch itself, written back.
    let opts = ReadOptions { name: "f.csv".into(), delivery: "d".into(), batch_rows: 10, limits: Default::default() };
    let batch = focus::open(&write(dir.path(), "f.csv", body.as_bytes()), &opts).unwrap().next_batch().unwrap().unwrap().data;
    let pq = dir.path().join("f.parquet");
    let props = parquet::file::properties::WriterProperties::builder().set_compression(parquet::basic::Compression::ZSTD(Default::default())).build();
    let mut w = parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&pq).unwrap(), batch.schema(), Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let t = read_all(&pq).unwrap();
    assert_eq!(t.kept, 2);
    assert!(t.quarantined.is_empty(), "{:?}", t.quarantined);
}

#[test]
fn parquet_with_wrong_types_is_rejected_naming_the_column() {
    use arrow::array::{BooleanArray, StringArray};
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let names = [
        "BillingAccountId",
        "BillingPeriodStart",
        "BillingPeriodEnd",
        "ChargePeriodStart",
        "ChargePeriodEnd",
        "ChargeCategory",
        "BillingCurrency",
        "BilledCost",
        "EffectiveCost",
        "ProviderName",
        "ServiceName",
    ];
    let fields: Vec<_> = names
        .iter()
        .map(|n| {
            arrow::datatypes::Field::new(
                *n,
                if *n == "ChargePeriodStart" { arrow::datatypes::DataType::Boolean } else { arrow::datatypes::DataType::Utf8 },
                true,
            )
        })
        .collect();
    let cols: Vec<arrow::array::ArrayRef> = names
        .iter()
        .map(|n| if *n == "ChargePeriodStart" { Arc::new(BooleanArray::from(vec![true])) as _ } else { Arc::new(StringArray::from(vec!["x"])) as _ })
        .collect();
    let batch = arrow::record_batch::RecordBatch::try_new(Arc::new(arrow::datatypes::Schema::new(fields)), cols).unwrap();
    let pq = dir.path().join("w.parquet");
    let mut w = parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&pq).unwrap(), batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let err = read_all(&pq).err().unwrap();
    assert!(err.to_string().contains("w.parquet: column \"ChargePeriodStart\" has type Boolean"), "{err}");
}

#[test]
fn broken_inputs_get_located_errors() {
    let dir = tempfile::tempdir().unwrap();
    // Truncated gzip: the whole file is refused, naming where reading stopped.
    let body = format!("{HEAD}{}", ROW.repeat(2000));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(body.as_bytes()).unwrap();
    let full = gz.finish().unwrap();
    let err = read_all(&write(dir.path(), "t.csv.gz", &full[..full.len() / 2])).err().unwrap();
    assert!(matches!(err, FocusError::Broken { .. }), "{err}");
    assert!(err.to_string().starts_with("t.csv.gz: unreadable at row"), "{err}");

    // Wrong delimiter.
    let err = read_all(&write(dir.path(), "semi.csv", HEAD.replace(',', ";").as_bytes())).err().unwrap();
    assert!(err.to_string().contains("delimiter"), "{err}");

    // Empty file.
    assert!(matches!(read_all(&write(dir.path(), "e.csv", b"")).err().unwrap(), FocusError::Empty { .. }));

    // Non-UTF-8 bytes in a cell: that row is quarantined, the rest kept.
    let mut bytes = format!("{HEAD}{ROW}").into_bytes();
    bytes.extend_from_slice(&ROW.replace("Amazon S3", "Amazon \u{1}S3").into_bytes().iter().map(|b| if *b == 1 { 0xff } else { *b }).collect::<Vec<_>>());
    let t = read_all(&write(dir.path(), "u.csv", &bytes)).unwrap();
    assert_eq!((t.kept, t.refused_rows), (1, 1));
    assert_eq!((t.quarantined[0].row, t.quarantined[0].column.as_str()), (2, "ServiceName"));

    // A 10 MB single line with no newline is a header without the FOCUS columns, read without running out of memory.
    let err = read_all(&write(dir.path(), "long.csv", &vec![b'a'; 10 << 20])).err().unwrap();
    assert!(matches!(err, FocusError::MissingColumns { .. }), "{err}");

    // A row with the wrong number of fields.
    let t = read_all(&write(dir.path(), "short.csv", format!("{HEAD}{ROW}0123,2025\n").as_bytes())).unwrap();
    assert_eq!(t.quarantined[0].column, "(row)");
    assert_eq!(t.quarantined[0].row, 2);
}

#[test]
fn a_value_past_the_field_bound_quarantines_its_row_with_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let limits = focus::Limits { record_bytes: 1 << 20, field_bytes: 4096 };
    let huge = ROW.replacen("Storage", &"S".repeat(10_000), 1);
    let csv = write(dir.path(), "f.csv", format!("{HEAD}{ROW}{huge}{ROW}").as_bytes());
    let t = read_with(&csv, limits).unwrap();
    assert_eq!((t.kept, t.refused_rows), (2, 1));
    assert_eq!(t.quarantined[0].row, 2);
    assert!(t.quarantined[0].reason.contains("10018 bytes") && t.quarantined[0].reason.contains("4096"), "{:?}", t.quarantined[0]);
    assert_eq!(t.quarantined[0].column, "x_UsageType");
    assert!(t.quarantined[0].raw.starts_with("USE1-TimedSSS") && t.quarantined[0].raw.len() == 200);
    assert_eq!(t.quarantined[0].billing_account, "0123");

    // The same bound in Parquet, on the column as named.
    let opts = ReadOptions { name: "f.csv".into(), delivery: "d".into(), batch_rows: 10, limits: Default::default() };
    let batch = focus::open(&csv, &opts).unwrap().next_batch().unwrap().unwrap().data;
    let pq = dir.path().join("f.parquet");
    let mut w = parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&pq).unwrap(), batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let t = read_with(&pq, limits).unwrap();
    assert_eq!((t.kept, t.refused_rows), (2, 1));
    assert!(t.quarantined[0].reason.contains("past the bound"), "{:?}", t.quarantined[0]);
    assert_eq!(t.quarantined[0].column, "x_UsageType");
}

#[test]
fn a_row_past_the_record_bound_is_quarantined_and_one_without_end_refuses_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let limits = focus::Limits { record_bytes: 64 << 10, field_bytes: 1 << 20 };
    let long = ROW.replacen("Storage", &"S".repeat(100 << 10), 1);
    let t = read_with(&write(dir.path(), "f.csv", format!("{HEAD}{ROW}{long}{ROW}").as_bytes()), limits).unwrap();
    assert_eq!((t.kept, t.refused_rows), (2, 1));
    assert_eq!(t.quarantined[0].column, "(row)");

    // A gzip member of 64 MiB with no line end: refused at its row and line, not read into memory whole.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(format!("{HEAD}{ROW}").as_bytes()).unwrap();
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..64 {
        gz.write_all(&chunk).unwrap();
    }
    let e = read_with(&write(dir.path(), "f.csv.gz", &gz.finish().unwrap()), limits).err().expect("refused");
    assert!(matches!(e, FocusError::Broken { row: 1, .. }), "{e}");
    assert!(e.to_string().contains("runs on past"), "{e}");
}
