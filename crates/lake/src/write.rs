//! Writing one delivery's rows into Hive-style partitions, with memory bounded by flushing the largest buffer.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, StringArray, TimestampMicrosecondArray, UInt32Array, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use object_store::{ObjectStore, ObjectStoreExt};
use object_store::path::Path as ObjPath;
use parquet::arrow::AsyncArrowWriter;
use object_store::buffered::BufWriter;
use parquet::file::properties::WriterProperties;

use crate::error::LakeError;

/// Rows buffered across all open partition writers before the fullest is flushed to a row group. Counted in rows,
/// not bytes: a flush always empties a writer's row count, so the loop below always ends, while the writers' byte
/// estimates do not fall reliably on flush.
const ROW_BUDGET: usize = 256 * 1024;

fn props() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(parquet::basic::Compression::SNAPPY)
        .set_max_row_group_row_count(Some(1 << 17))
        .build()
}

/// Partition files open at once (32: a billing month's days fit without churn). Each open Parquet writer holds page and dictionary buffers for every column, so
/// memory grows with open files, not rows; past this many, the least recently used file is closed, and a later row
/// for its date starts the date's next part file.
const MAX_OPEN: usize = 32;

/// One open partition file: its path, writer, rows, the units of its rows, and when it was last written.
type Open = (String, AsyncArrowWriter<BufWriter>, u64, BTreeSet<u32>, u64);

/// Open writers for one delivery, one per charge date. Files are not split by unit: a plain file can hold many
/// billing accounts, and one file per (account, day) would mean thousands of small files.
pub(crate) struct PartitionWriter {
    store: Arc<dyn ObjectStore>,
    name: String,
    writers: HashMap<i32, Open>,
    /// Part files started per date.
    parts: HashMap<i32, u32>,
    /// Files already closed.
    done: Vec<Written>,
    /// Every path opened, for clean-up.
    opened: Vec<String>,
    tick: u64,
}

/// A file written, with the units of its rows.
pub(crate) struct Written {
    pub path: String,
    pub units: BTreeSet<u32>,
    pub rows: u64,
}

impl PartitionWriter {
    /// Files are named `<name>.parquet` in each charge-date folder.
    pub(crate) fn new(store: Arc<dyn ObjectStore>, name: &str) -> Self {
        PartitionWriter { store, name: name.to_string(), writers: HashMap::new(), parts: HashMap::new(), done: Vec::new(), opened: Vec::new(), tick: 0 }
    }

    /// Write a lake batch whose row `i` belongs to unit `units[i]`.
    pub(crate) async fn write(&mut self, batch: &RecordBatch, units: &[u32]) -> Result<(), LakeError> {
        let start = batch
            .column_by_name("ChargePeriodStart")
            .and_then(|c| c.as_any().downcast_ref::<TimestampMicrosecondArray>())
            .expect("lake batches have ChargePeriodStart");
        let mut groups: HashMap<i32, (Vec<u32>, BTreeSet<u32>)> = HashMap::new();
        for i in 0..batch.num_rows() {
            let day = start.value(i).div_euclid(86_400_000_000) as i32;
            let g = groups.entry(day).or_default();
            g.0.push(i as u32);
            g.1.insert(units[i]);
        }
        let mut keys: Vec<_> = groups.keys().copied().collect();
        keys.sort_unstable();
        for key in keys {
            let (rows, group_units) = groups.remove(&key).expect("key from map");
            let idx = UInt32Array::from(rows);
            let part = if idx.len() == batch.num_rows() { batch.clone() } else { arrow::compute::take_record_batch(batch, &idx)? };
            if !self.writers.contains_key(&key) {
                if self.writers.len() >= MAX_OPEN {
                    let oldest = *self.writers.iter().min_by_key(|(_, w)| w.4).expect("non-empty at the cap").0;
                    let (path, w, rows, units, _) = self.writers.remove(&oldest).expect("key from map");
                    w.close().await?;
                    self.done.push(Written { path, units, rows });
                }
                let date = chrono::NaiveDate::from_num_days_from_ce_opt(key + 719_163).expect("date in range");
                let n = self.parts.entry(key).or_insert(0);
                let path = if *n == 0 {
                    format!("usage/charge_date={date}/{}.parquet", self.name)
                } else {
                    format!("usage/charge_date={date}/{}-{n}.parquet", self.name)
                };
                *n += 1;
                let w = AsyncArrowWriter::try_new(BufWriter::with_capacity(self.store.clone(), ObjPath::from(path.as_str()), 1 << 20), batch.schema(), Some(props()))?;
                self.opened.push(path.clone());
                self.writers.insert(key, (path, w, 0, BTreeSet::new(), 0));
            }
            self.tick += 1;
            let entry = self.writers.get_mut(&key).expect("inserted above");
            entry.1.write(&part).await?;
            entry.2 += part.num_rows() as u64;
            entry.3.extend(group_units);
            entry.4 = self.tick;
        }
        self.bound_memory().await
    }

    async fn bound_memory(&mut self) -> Result<(), LakeError> {
        while self.writers.values().map(|w| w.1.in_progress_rows()).sum::<usize>() > ROW_BUDGET {
            let largest = self.writers.values_mut().max_by_key(|w| w.1.in_progress_rows()).expect("non-empty when over budget");
            largest.1.flush().await?;
        }
        Ok(())
    }

    /// Close every file and return what was written.
    pub(crate) async fn finish(self) -> Result<Vec<Written>, LakeError> {
        let mut out = self.done;
        for (_, (path, w, rows, units, _)) in self.writers {
            w.close().await?;
            out.push(Written { path, units, rows });
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// Paths opened so far, for clean-up when the delivery is abandoned.
    pub(crate) fn paths(&self) -> Vec<String> {
        self.opened.clone()
    }
}

/// The quarantine table's schema: one row per bad cell.
pub fn quarantine_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("delivery", DataType::Utf8, false),
        Field::new("file", DataType::Utf8, false),
        Field::new("row", DataType::UInt64, false),
        Field::new("line", DataType::UInt64, false),
        Field::new("column", DataType::Utf8, false),
        Field::new("raw_value", DataType::Utf8, false),
        Field::new("reason", DataType::Utf8, false),
    ]))
}

/// Streams quarantine records of one delivery into `quarantine/delivery=<id>/part-0.parquet`.
pub(crate) struct QuarantineWriter {
    delivery: String,
    path: String,
    writer: Option<AsyncArrowWriter<BufWriter>>,
    store: Arc<dyn ObjectStore>,
    rows: u64,
}

impl QuarantineWriter {
    pub(crate) fn new(store: Arc<dyn ObjectStore>, delivery: &str) -> Self {
        QuarantineWriter { delivery: delivery.into(), path: format!("quarantine/delivery={delivery}/part-0.parquet"), writer: None, store, rows: 0 }
    }

    pub(crate) async fn write(&mut self, q: &[focus::Quarantined]) -> Result<(), LakeError> {
        if q.is_empty() {
            return Ok(());
        }
        if self.writer.is_none() {
            let w = BufWriter::new(self.store.clone(), ObjPath::from(self.path.as_str()));
            self.writer = Some(AsyncArrowWriter::try_new(w, quarantine_schema(), Some(props()))?);
        }
        let text = |f: &dyn Fn(&focus::Quarantined) -> &str| Arc::new(StringArray::from_iter_values(q.iter().map(f))) as ArrayRef;
        let cols: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(std::iter::repeat_n(&self.delivery, q.len()))),
            text(&|r| &r.file),
            Arc::new(UInt64Array::from_iter_values(q.iter().map(|r| r.row))),
            Arc::new(UInt64Array::from_iter_values(q.iter().map(|r| r.line))),
            text(&|r| &r.column),
            text(&|r| &r.raw),
            text(&|r| &r.reason),
        ];
        self.rows += q.len() as u64;
        self.writer.as_mut().expect("opened above").write(&RecordBatch::try_new(quarantine_schema(), cols)?).await?;
        Ok(())
    }

    /// Close the file; returns its path and row count if anything was written.
    pub(crate) async fn finish(self) -> Result<Option<(String, u64)>, LakeError> {
        match self.writer {
            Some(w) => {
                w.close().await?;
                Ok(Some((self.path, self.rows)))
            }
            None => Ok(None),
        }
    }

    pub(crate) fn path(&self) -> Option<String> {
        self.writer.as_ref().map(|_| self.path.clone())
    }
}

/// Copy a lake file to `to`, keeping only the rows `keep` marks; returns the rows kept.
pub(crate) async fn rewrite_without(
    store: Arc<dyn ObjectStore>,
    from: &str,
    to: &str,
    keep: &(dyn Fn(&RecordBatch) -> Vec<bool> + Sync),
) -> Result<u64, LakeError> {
    use futures::TryStreamExt;
    let meta = store.head(&ObjPath::from(from)).await?;
    // Deprecated in favour of a hand-written AsyncFileReader; it still streams row groups with bounded memory,
    // which is all this needs. Replace when the parquet crate ships its successor.
    #[allow(deprecated)]
    let reader = parquet::arrow::async_reader::ParquetObjectReader::new(store.clone(), meta.location).with_file_size(meta.size);
    let mut stream = parquet::arrow::ParquetRecordBatchStreamBuilder::new(reader).await?.build()?;
    let mut w = AsyncArrowWriter::try_new(BufWriter::new(store, ObjPath::from(to)), focus::schema::lake_schema(), Some(props()))?;
    let mut rows = 0u64;
    while let Some(b) = stream.try_next().await? {
        let mask = arrow::array::BooleanArray::from(keep(&b));
        let kept = arrow::compute::filter_record_batch(&b, &mask)?;
        rows += kept.num_rows() as u64;
        w.write(&kept).await?;
    }
    w.close().await?;
    Ok(rows)
}
