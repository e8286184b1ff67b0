//! A series file given to `scan --series` is checked column by column on open: a wrong one is refused with its
//! name and the column, never read into a query that would panic at a downcast.

use std::sync::Arc;

use arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use detect::{DetectError, Scanner};

fn write(path: &std::path::Path, value: Arc<dyn arrow::array::Array>, value_type: DataType) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("billing_account_id", DataType::Utf8, false),
        Field::new("sub_account_id", DataType::Utf8, false),
        Field::new("signal", DataType::Utf8, false),
        Field::new("publisher", DataType::Utf8, false),
        Field::new("bucket_start", DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())), false),
        Field::new("value", value_type, false),
        Field::new("rows", DataType::Int64, false),
    ]));
    let text = |s: &str| Arc::new(StringArray::from(vec![s])) as Arc<dyn arrow::array::Array>;
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            text("b"),
            text("s"),
            text("storage.stored_bytes"),
            text(""),
            Arc::new(TimestampMicrosecondArray::from(vec![0]).with_timezone("+00:00")),
            value,
            Arc::new(Int64Array::from(vec![1])),
        ],
    )
    .unwrap();
    let mut w = datafusion::parquet::arrow::ArrowWriter::try_new(std::fs::File::create(path).unwrap(), schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

#[tokio::test]
async fn a_series_file_with_a_column_of_another_type_is_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("good.parquet");
    write(&good, Arc::new(Float64Array::from(vec![1.0])), DataType::Float64);
    Scanner::from_parquet(&good, Default::default(), Default::default(), &engine::Engine::Local).await.unwrap();

    let bad = tmp.path().join("bad.parquet");
    write(&bad, Arc::new(StringArray::from(vec!["1.0"])), DataType::Utf8);
    match Scanner::from_parquet(&bad, Default::default(), Default::default(), &engine::Engine::Local).await {
        Err(DetectError::SeriesSchema { file, column, problem }) => {
            assert!(file.ends_with("bad.parquet") && column == "value" && problem.contains("Utf8"), "{file} {column} {problem}");
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("a text value column was accepted"),
    }
}
