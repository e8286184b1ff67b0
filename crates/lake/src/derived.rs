//! Tables derived from `usage` and maintained in the lake beside it (the daily series), committed through the same
//! manifest: a derived table's files become live only with the commit that names them, and each such commit says
//! which lake version's `usage` files the table now reflects ([`Derived`]), so that a writer that crashed between
//! an ingest's commit and the derived table's knows, on the next run, which `usage` changes it has not yet applied.
//!
//! What makes this cheap is [`days_of`]: every `usage` file is committed with the first and last day its charge
//! periods cover, so the days a commit changes are known from the manifest alone, for the files it adds and for
//! the files it removes (which are deleted once it commits, and could not be read afterwards).

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, NaiveDate};
use object_store::buffered::BufWriter;
use object_store::path::Path as ObjPath;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::AsyncArrowWriter;
use parquet::file::metadata::ParquetMetaDataReader;
use parquet::file::properties::WriterProperties;
use parquet::file::statistics::Statistics;

use crate::error::LakeError;
use crate::manifest::{Derived, LiveFile, State};
use crate::{Lake, replay_to};

/// The table of the daily series (`series/month=YYYY-MM/<signal>.<version>.parquet`).
pub const SERIES: &str = "series";

/// Microseconds in a day.
const DAY_MICROS: i64 = 86_400_000_000;

/// The first and last day the charge periods of a usage file's rows cover: the day of the least
/// `ChargePeriodStart` and the day of the last instant before the greatest `ChargePeriodEnd`, from the Parquet
/// footer's statistics (which the lake's writer keeps for both columns). `None` when a row group lacks them.
pub(crate) async fn days_of(store: &Arc<dyn ObjectStore>, path: &str) -> Result<Option<[NaiveDate; 2]>, LakeError> {
    // The footer: the metadata's length and the magic in the last 8 bytes, the metadata before them.
    let location = ObjPath::from(path);
    let size = store.head(&location).await?.size;
    let short = || LakeError::Corrupt { file: path.to_string(), reason: "too short for a Parquet file".into() };
    let tail = store.get_range(&location, size.checked_sub(8).ok_or_else(short)?..size).await?;
    let length = u64::from(u32::from_le_bytes(tail[..4].try_into().expect("four bytes")));
    let at = size.checked_sub(8 + length).ok_or_else(short)?;
    let meta = ParquetMetaDataReader::decode_metadata(&store.get_range(&location, at..size - 8).await?)?;
    let column = |name: &str| meta.file_metadata().schema_descr().columns().iter().position(|c| c.name() == name);
    let (Some(start), Some(end)) = (column("ChargePeriodStart"), column("ChargePeriodEnd")) else {
        return Ok(None);
    };
    let (mut first, mut last) = (i64::MAX, i64::MIN);
    for g in meta.row_groups() {
        match (g.column(start).statistics(), g.column(end).statistics()) {
            (Some(Statistics::Int64(s)), Some(Statistics::Int64(e))) => match (s.min_opt(), e.max_opt()) {
                (Some(s), Some(e)) => {
                    first = first.min(*s);
                    // The end is exclusive: a charge ending at midnight does not touch the day that starts then.
                    last = last.max((*e - 1).max(*s));
                }
                _ => return Ok(None),
            },
            _ => return Ok(None),
        }
    }
    if first > last {
        return Ok(None);
    }
    let day = |us: i64| DateTime::from_timestamp_micros(us.div_euclid(DAY_MICROS) * DAY_MICROS).map(|t| t.date_naive());
    Ok(day(first).zip(day(last)).map(|(a, b)| [a, b]))
}

impl Lake {
    /// The lake's state as it was at `version` (every commit up to and including it), replayed from the manifest.
    pub async fn state_at(&self, version: u64) -> Result<State, LakeError> {
        replay_to(&*self.store, version).await
    }

    /// Write `batches` as one Parquet file of a derived table at `path` (relative to the lake root). The file is
    /// not live until [`Lake::commit_derived`] names it; a crash before leaves a file the next open removes.
    pub async fn write_derived(
        &self,
        table: &str,
        path: &str,
        schema: SchemaRef,
        batches: &[RecordBatch],
        props: WriterProperties,
    ) -> Result<LiveFile, LakeError> {
        let mut w = AsyncArrowWriter::try_new(BufWriter::new(self.store.clone(), ObjPath::from(path)), schema, Some(props))?;
        let mut rows = 0u64;
        for b in batches {
            rows += b.num_rows() as u64;
            w.write(b).await?;
        }
        w.close().await?;
        Ok(LiveFile { path: path.to_string(), rows, table: table.to_string(), ..Default::default() })
    }

    /// Read a live file of a derived table (`path` relative to the lake root) whole, in its rows' order.
    pub async fn read_derived(&self, path: &str) -> Result<Vec<RecordBatch>, LakeError> {
        use futures::TryStreamExt;
        let location = ObjPath::from(path);
        let size = self.store.head(&location).await?.size;
        // Deprecated in favour of a hand-written AsyncFileReader, as in `write::rewrite`.
        #[allow(deprecated)]
        let reader = parquet::arrow::async_reader::ParquetObjectReader::new(self.store.clone(), location).with_file_size(size);
        Ok(parquet::arrow::ParquetRecordBatchStreamBuilder::new(reader).await?.build()?.try_collect().await?)
    }

    /// Commit a derived table's change: `add` (written by [`Lake::write_derived`]) becomes live and `remove` is
    /// retired in one commit, which records that `table` now reflects the `usage` files of lake version
    /// `from_version`. The removed files are deleted after the commit; a crash in between leaves them to the next
    /// writer's open.
    pub async fn commit_derived(&mut self, table: &str, add: &[LiveFile], remove: Vec<String>, from_version: u64) -> Result<(), LakeError> {
        let derived = Derived { table: table.to_string(), from_version };
        if let Err(e) = self.commit_as(vec![], add, remove.clone(), Some(derived)).await {
            self.abandon(add.iter().map(|f| f.path.clone()).collect::<Vec<_>>()).await;
            return Err(e);
        }
        for p in remove {
            self.store.delete(&ObjPath::from(p)).await?;
        }
        Ok(())
    }
}
