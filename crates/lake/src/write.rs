//! Writing an ingest run's rows into Hive-style partitions, with memory bounded by flushing the largest buffer, and
//! rewriting a file without some of its rows.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, LazyLock};

use arrow::array::{Array, ArrayRef, StringArray, TimestampMicrosecondArray, UInt32Array, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use focus::schema::{EXTENSIONS, FILE, ROW};
use object_store::buffered::BufWriter;
use object_store::path::Path as ObjPath;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::AsyncArrowWriter;
use parquet::basic::Encoding;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::error::LakeError;

/// Lake column: the replacement unit of the row (`azure:<scope>:<export>:<dataset>:<month>`, `aws:<export>:<period>`
/// or `<provider>:<billing account>:<month>`); null for a row of an append-model delivery, which is never retired.
pub const UNIT: &str = "_unit";

/// A row that belongs to no unit (an append-model delivery's).
pub(crate) const NO_UNIT: u32 = u32::MAX;

/// Rows buffered across all open partition writers before the fullest is flushed to a row group. Counted in rows,
/// not bytes: a flush always empties a writer's row count, so the loop below always ends, while the writers' byte
/// estimates do not fall reliably on flush.
const ROW_BUDGET: usize = 256 * 1024;

/// Writer settings of every lake file.
///
/// Statistics are kept for the columns a query selects on (periods, accounts, provider, service, category) and
/// dropped for the rest:
/// - decimal columns, because the parquet writer keeps each row group's min and max as slices of the whole buffer
///   it encoded them from, until the file is closed: their statistics held about 16 bytes per row and per decimal
///   column for the life of a file, most of ingest's memory growth with input size;
/// - free text and provenance, because comparing every value for a min and max was a tenth of the writing time
///   and no query prunes on a description, a resource id or a tag.
///
/// `_row` counts up within each file: delta-encoded, without a dictionary its values would never fit.
fn props() -> WriterProperties {
    static PROPS: LazyLock<WriterProperties> = LazyLock::new(|| {
        const UNPRUNED: [&str; 9] = ["ChargeDescription", "ResourceId", "ResourceName", "SkuPriceDetails", "Tags", EXTENSIONS, FILE, ROW, UNIT];
        let mut b = WriterProperties::builder()
            .set_compression(parquet::basic::Compression::SNAPPY)
            .set_max_row_group_row_count(Some(1 << 17))
            .set_column_dictionary_enabled(ColumnPath::from(ROW), false)
            .set_column_encoding(ColumnPath::from(ROW), Encoding::DELTA_BINARY_PACKED);
        use focus::schema::Kind;
        let decimals = focus::schema::COLUMNS.iter().filter(|c| matches!(c.kind, Kind::Decimal | Kind::Quantity)).map(|c| c.name);
        for name in decimals.chain(UNPRUNED) {
            b = b.set_column_statistics_enabled(ColumnPath::from(name), EnabledStatistics::None);
        }
        b.build()
    });
    PROPS.clone()
}

/// Partition files open at once (40: a billing month's days, and a few of the next, fit without churn; an ingest
/// reads its deliveries month by month for this). Each open Parquet writer holds page and dictionary buffers for
/// every column, so memory grows with open files, not rows; past this many, the least recently used file is closed,
/// and a later row for its date starts the date's next part file.
const MAX_OPEN: usize = 40;

/// The schema of the lake's usage files: the lake schema of `focus`, then [`UNIT`].
pub fn usage_file_schema() -> SchemaRef {
    static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
        let lake = focus::schema::lake_schema();
        let mut fields: Vec<_> = lake.fields().iter().cloned().collect();
        fields.push(Arc::new(Field::new(UNIT, DataType::Utf8, true)));
        Arc::new(Schema::new_with_metadata(fields, lake.metadata().clone()))
    });
    SCHEMA.clone()
}

/// A lake batch with its `_unit` column appended.
pub(crate) fn with_units(batch: &RecordBatch, units: ArrayRef) -> Result<RecordBatch, LakeError> {
    let mut cols = batch.columns().to_vec();
    cols.push(units);
    Ok(RecordBatch::try_new(usage_file_schema(), cols)?)
}

/// Slices of fewer rows than this wait in a partition's pending list and go to its writer together. A tree of small
/// files gives each charge date a slice of one or two rows per file, and the Parquet writer's cost per write (a
/// property lookup per column and per page) was then most of ingest's time.
const SMALL_SLICE: usize = 256;

/// One open partition file.
struct Open {
    path: String,
    writer: AsyncArrowWriter<BufWriter>,
    file: FileRows,
    /// When it was last written, for the LRU.
    tick: u64,
    /// Small slices not written yet, and their rows.
    pending: Vec<RecordBatch>,
    pending_rows: usize,
}

impl Open {
    /// Write the pending slices as one batch.
    async fn write_pending(&mut self) -> Result<(), LakeError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let batch = arrow::compute::concat_batches(&self.pending[0].schema(), &self.pending)?;
        self.pending.clear();
        self.pending_rows = 0;
        self.writer.write(&batch).await?;
        Ok(())
    }

    async fn close(mut self) -> Result<Written, LakeError> {
        self.write_pending().await?;
        self.writer.close().await?;
        Ok(Written { path: self.path, file: self.file })
    }
}

/// What a written file holds: its rows, the units of its rows, its rows without a unit, and the deliveries (by the
/// caller's index) its rows came from.
#[derive(Debug, Default, Clone)]
pub(crate) struct FileRows {
    pub rows: u64,
    pub units: BTreeSet<u32>,
    pub append_rows: u64,
    pub deliveries: BTreeSet<u32>,
}

/// A file written.
pub(crate) struct Written {
    pub path: String,
    pub file: FileRows,
}

/// Open writers for one ingest chunk, one per charge date, shared by all the chunk's deliveries. Files are split
/// neither by delivery nor by unit: one file per (delivery, day) or (account, day) would mean thousands of small
/// files; each row names its delivery and unit instead (`_delivery`, `_unit`).
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

impl PartitionWriter {
    /// Files are named `<name>.parquet` (then `<name>-<n>.parquet`) in each charge-date folder.
    pub(crate) fn new(store: Arc<dyn ObjectStore>, name: &str) -> Self {
        PartitionWriter { store, name: name.to_string(), writers: HashMap::new(), parts: HashMap::new(), done: Vec::new(), opened: Vec::new(), tick: 0 }
    }

    /// Write a batch in the usage file schema whose row `i` belongs to unit `units[i]` ([`NO_UNIT`] for none), all
    /// rows of the caller's delivery `delivery`.
    pub(crate) async fn write(&mut self, batch: &RecordBatch, units: &[u32], delivery: u32) -> Result<(), LakeError> {
        let start = batch
            .column_by_name("ChargePeriodStart")
            .and_then(|c| c.as_any().downcast_ref::<TimestampMicrosecondArray>())
            .expect("lake batches have ChargePeriodStart");
        let days: Vec<i32> = (0..batch.num_rows()).map(|i| start.value(i).div_euclid(86_400_000_000) as i32).collect();
        // Order the rows by day (stable), then write each day's run as a zero-copy slice: one take per batch at the
        // most, none when the rows already come in date order, as exports usually do.
        let (batch, days, units) = if days.is_sorted() {
            (batch.clone(), days, units.to_vec())
        } else {
            let mut order: Vec<u32> = (0..batch.num_rows() as u32).collect();
            order.sort_by_key(|i| days[*i as usize]);
            let sorted = arrow::compute::take_record_batch(batch, &UInt32Array::from(order.clone()))?;
            (sorted, order.iter().map(|i| days[*i as usize]).collect(), order.iter().map(|i| units[*i as usize]).collect())
        };
        let mut at = 0;
        while at < days.len() {
            let key = days[at];
            let end = at + days[at..].iter().take_while(|d| **d == key).count();
            self.write_day(key, &batch.slice(at, end - at), &units[at..end], delivery).await?;
            at = end;
        }
        self.bound_memory().await
    }

    async fn write_day(&mut self, key: i32, part: &RecordBatch, units: &[u32], delivery: u32) -> Result<(), LakeError> {
        if !self.writers.contains_key(&key) {
            if self.writers.len() >= MAX_OPEN {
                let oldest = *self.writers.iter().min_by_key(|(_, w)| w.tick).expect("non-empty at the cap").0;
                let w = self.writers.remove(&oldest).expect("key from map");
                self.done.push(w.close().await?);
            }
            let date = chrono::NaiveDate::from_num_days_from_ce_opt(key + 719_163).expect("date in range");
            let n = self.parts.entry(key).or_insert(0);
            let path =
                if *n == 0 { format!("usage/charge_date={date}/{}.parquet", self.name) } else { format!("usage/charge_date={date}/{}-{n}.parquet", self.name) };
            *n += 1;
            let writer =
                AsyncArrowWriter::try_new(BufWriter::with_capacity(self.store.clone(), ObjPath::from(path.as_str()), 1 << 20), part.schema(), Some(props()))?;
            self.opened.push(path.clone());
            self.writers.insert(key, Open { path, writer, file: FileRows::default(), tick: 0, pending: Vec::new(), pending_rows: 0 });
        }
        self.tick += 1;
        let open = self.writers.get_mut(&key).expect("inserted above");
        if part.num_rows() < SMALL_SLICE {
            open.pending.push(part.clone());
            open.pending_rows += part.num_rows();
            if open.pending_rows >= SMALL_SLICE {
                open.write_pending().await?;
            }
        } else {
            open.write_pending().await?;
            open.writer.write(part).await?;
        }
        open.tick = self.tick;
        let f = &mut open.file;
        f.rows += part.num_rows() as u64;
        f.deliveries.insert(delivery);
        let mut last = None;
        for u in units {
            if *u == NO_UNIT {
                f.append_rows += 1;
            } else if last != Some(*u) {
                f.units.insert(*u);
                last = Some(*u);
            }
        }
        Ok(())
    }

    async fn bound_memory(&mut self) -> Result<(), LakeError> {
        let held = |w: &Open| w.writer.in_progress_rows() + w.pending_rows;
        while self.writers.values().map(held).sum::<usize>() > ROW_BUDGET {
            let largest = self.writers.values_mut().max_by_key(|w| held(w)).expect("non-empty when over budget");
            largest.write_pending().await?;
            largest.writer.flush().await?;
        }
        Ok(())
    }

    /// Close every file and return what was written, in path order.
    pub(crate) async fn finish(self) -> Result<Vec<Written>, LakeError> {
        let mut out = self.done;
        for (_, w) in self.writers {
            out.push(w.close().await?);
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// Paths opened so far, for clean-up when the chunk is abandoned.
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
        // Nullable: files written before these columns existed read as null.
        Field::new("billing_account", DataType::Utf8, true),
        Field::new("month", DataType::Utf8, true),
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
            text(&|r| &r.billing_account),
            text(&|r| &r.month),
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

/// What a rewritten file holds.
#[derive(Debug, Default)]
pub(crate) struct Rewritten {
    pub rows: u64,
    pub units: BTreeSet<String>,
    pub append_rows: u64,
}

/// Copy a usage file to `to` through `edit`, which returns each batch as it is to be kept (rows dropped, `_unit`
/// corrected). Returns what the new file holds; a file left with no rows is deleted, not kept.
pub(crate) async fn rewrite(
    store: Arc<dyn ObjectStore>,
    from: &str,
    to: &str,
    edit: &mut (dyn FnMut(&RecordBatch) -> Result<RecordBatch, LakeError> + Send),
) -> Result<Rewritten, LakeError> {
    use futures::TryStreamExt;
    let meta = store.head(&ObjPath::from(from)).await?;
    // Deprecated in favour of a hand-written AsyncFileReader; it still streams row groups with bounded memory,
    // which is all this needs. Replace when the parquet crate ships its successor.
    #[allow(deprecated)]
    let reader = parquet::arrow::async_reader::ParquetObjectReader::new(store.clone(), meta.location).with_file_size(meta.size);
    let mut stream = parquet::arrow::ParquetRecordBatchStreamBuilder::new(reader).await?.build()?;
    let mut w = AsyncArrowWriter::try_new(BufWriter::new(store.clone(), ObjPath::from(to)), usage_file_schema(), Some(props()))?;
    let mut out = Rewritten::default();
    while let Some(b) = stream.try_next().await? {
        if b.column_by_name(UNIT).is_none() {
            return Err(LakeError::Corrupt { file: from.into(), reason: format!("no {UNIT} column: written by an older oversight; ingest into a new lake") });
        }
        let kept = edit(&b)?;
        let units = unit_column(&kept);
        let mut last: Option<&str> = None;
        for i in 0..units.len() {
            if units.is_null(i) {
                out.append_rows += 1;
            } else if last != Some(units.value(i)) {
                last = Some(units.value(i));
                if !out.units.contains(units.value(i)) {
                    out.units.insert(units.value(i).to_string());
                }
            }
        }
        out.rows += kept.num_rows() as u64;
        w.write(&kept).await?;
    }
    w.close().await?;
    if out.rows == 0 {
        store.delete(&ObjPath::from(to)).await?;
    }
    Ok(out)
}

/// The `_unit` column of a usage batch.
pub(crate) fn unit_column(b: &RecordBatch) -> &StringArray {
    b.column_by_name(UNIT).and_then(|c| c.as_any().downcast_ref::<StringArray>()).expect("usage batches have a text _unit column")
}

/// A text column of a lake batch.
pub(crate) fn text_column<'a>(b: &'a RecordBatch, name: &str) -> &'a StringArray {
    b.column_by_name(name).and_then(|c| c.as_any().downcast_ref::<StringArray>()).expect("lake text column")
}
