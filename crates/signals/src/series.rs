//! Building the series: join usage with the meter mapping, aggregate per bucket, spread multi-bucket charges.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::config::TableParquetOptions;
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use futures::{StreamExt, TryStreamExt};

use crate::SignalsError;
use crate::key::{KEY_COLUMNS, MeterKey};

/// Which quantity of a row a signal is measured from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    /// `ConsumedQuantity`.
    Consumed,
    /// `PricingQuantity`.
    Pricing,
    /// `EffectiveCost` (for cost signals such as marketplace spend).
    Cost,
}

/// How one meter key feeds a signal.
#[derive(Debug, Clone, PartialEq)]
pub struct MeterMapping {
    /// Canonical signal name, e.g. `storage.stored_bytes`.
    pub signal: String,
    /// The quantity to read.
    pub quantity: Quantity,
    /// Multiply the quantity by this to get the signal's SI unit.
    pub factor: f64,
    /// The quantity is a share of a month (GB-month): multiply by the hours in the charge's month.
    pub per_month: bool,
    /// The provider prorates per-month meters over this many days whatever the calendar says (Azure: 31);
    /// `None` for the charge's calendar month.
    pub month_days: Option<u32>,
    /// The signal is a gauge: `quantity × factor` (× month hours) is in unit-hours, averaged over the bucket.
    pub gauge: bool,
    /// Tag the series with the row's `PublisherName` (marketplace signals).
    pub tag_publisher: bool,
}

/// What a mapper says about one meter key.
#[derive(Debug, Clone, PartialEq)]
pub enum Mapped {
    /// The key feeds a signal.
    Signal(MeterMapping),
    /// The meter is known and deliberately not a signal.
    Ignored,
    /// The meter is not known (or its unit is not); the reason is reported.
    Unknown(String),
}

/// Maps a meter key to a signal (the meter catalog implements this).
pub trait MeterMapper {
    /// What the key feeds.
    fn map(&self, key: &MeterKey) -> Mapped;
}

/// The embedded meter catalog as a [`MeterMapper`].
pub struct CatalogMapper(&'static catalog::Catalog);

impl CatalogMapper {
    /// Wrap a catalog.
    pub fn new(c: &'static catalog::Catalog) -> Self {
        CatalogMapper(c)
    }
}

impl MeterMapper for CatalogMapper {
    fn map(&self, k: &MeterKey) -> Mapped {
        let key = catalog::MeterKey {
            provider: k.provider.as_deref(),
            service_name: k.service_name.as_deref(),
            service_category: k.service_category.as_deref(),
            sku_id: k.sku_id.as_deref(),
            sku_meter: k.sku_meter.as_deref(),
            meter_id: k.meter_id.as_deref(),
            usage_type: k.usage_type.as_deref(),
            charge_description: k.charge_description.as_deref(),
            charge_category: k.charge_category.as_deref(),
            consumed_unit: k.consumed_unit.as_deref(),
            pricing_unit: k.pricing_unit.as_deref(),
            publisher_name: k.publisher_name.as_deref(),
            resource_type: k.resource_type.as_deref(),
        };
        match self.0.lookup(&key) {
            catalog::Lookup::Signal(m) => Mapped::Signal(MeterMapping {
                signal: m.signal.to_string(),
                quantity: match m.quantity {
                    catalog::QuantitySource::Consumed => Quantity::Consumed,
                    catalog::QuantitySource::Pricing => Quantity::Pricing,
                    catalog::QuantitySource::Cost => Quantity::Cost,
                },
                factor: m.factor,
                per_month: m.per_month,
                month_days: match m.month {
                    catalog::MonthBasis::Calendar => None,
                    catalog::MonthBasis::Days(d) => Some(d),
                },
                gauge: m.gauge,
                tag_publisher: m.tag_publisher,
            }),
            catalog::Lookup::Ignored { .. } => Mapped::Ignored,
            catalog::Lookup::UnitUnknown { rule_id, unit } => Mapped::Unknown(format!("rule {rule_id} matched, unit {unit:?} unknown")),
            catalog::Lookup::Unknown => Mapped::Unknown("no catalog rule".into()),
        }
    }
}

/// Bucket size of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    /// One value per UTC hour.
    Hour,
    /// One value per UTC day.
    Day,
}

impl Granularity {
    fn sql(self) -> &'static str {
        match self {
            Granularity::Hour => "hour",
            Granularity::Day => "day",
        }
    }
    fn micros(self) -> i64 {
        match self {
            Granularity::Hour => 3_600_000_000,
            Granularity::Day => 86_400_000_000,
        }
    }
}

/// The series schema: one row per (billing account, sub-account, signal, publisher, bucket).
pub fn series_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("billing_account_id", DataType::Utf8, false),
        Field::new("sub_account_id", DataType::Utf8, false),
        Field::new("signal", DataType::Utf8, false),
        Field::new("publisher", DataType::Utf8, false),
        Field::new("bucket_start", DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())), false),
        Field::new("value", DataType::Float64, false),
        Field::new("rows", DataType::Int64, false),
    ]))
}

/// Points in a row group when a series is written to Parquet: small enough that a reader asking for one signal over
/// a few days skips most of the file by row-group statistics alone (DuckDB writes 122,880; arrow-rs's default is
/// eight times that), large enough to keep the per-group overhead small.
pub const PARQUET_ROW_GROUP: usize = 1 << 17;

/// Writer settings for a series in Parquet: [`PARQUET_ROW_GROUP`]-point row groups, and the writer's default page
/// statistics and page index, by which a reader skips pages within a group too.
pub fn parquet_properties() -> datafusion::parquet::file::properties::WriterProperties {
    datafusion::parquet::file::properties::WriterProperties::builder().set_max_row_group_row_count(Some(PARQUET_ROW_GROUP)).build()
}

/// A series being built: its points stream out sorted by signal, bucket, account, sub-account and publisher.
///
/// Signal and time first, because that is how the series is read: every policy asks for a few signals over a few
/// days, and in this order those rows are contiguous, so a Parquet reader skips the rest by its page statistics.
pub struct SeriesStream {
    /// The points, in [`series_schema`]. The engine sorts and aggregates within its memory limit, spilling to disk
    /// beyond it, so the caller can write the points out without ever holding them all.
    pub points: SendableRecordBatchStream,
    /// The meter keys that mapped nowhere, with their row counts and cost.
    pub unmapped: Vec<crate::MeterStats>,
}

/// Build the series of every mapped meter into memory. Returns the series batches (sorted) and the keys that mapped
/// nowhere. Use [`series_stream`] when the series may be large.
pub async fn build_series(
    ctx: &SessionContext,
    mapper: &dyn MeterMapper,
    granularity: Granularity,
) -> Result<(Vec<RecordBatch>, Vec<crate::MeterStats>), SignalsError> {
    let s = series_stream(ctx, mapper, granularity).await?;
    Ok((s.points.try_collect().await?, s.unmapped))
}

/// Build the series of every mapped meter as a stream.
///
/// Two passes over the lake, each streaming. The first selects the distinct meter keys (a few hundred groups,
/// whatever the row count), which are mapped once each through the mapper and registered as table `meters`. The
/// second joins every usage row to its key's mapping (null-safe on all key columns), scales its quantity to SI units
/// and sums per account, sub-account, signal, publisher and bucket (per charge period for charges spanning several
/// buckets) into a scratch Parquet file. The spanning sums are spread over their buckets, and the series streams out
/// of the scratch file sorted. The engine's aggregations and sort spill to disk beyond the session's memory limit,
/// so memory does not grow with the lake: a simulated population has one row per meter, account and day, and a
/// year of 10,000 accounts is some 18 million series points.
pub async fn series_stream(ctx: &SessionContext, mapper: &dyn MeterMapper, granularity: Granularity) -> Result<SeriesStream, SignalsError> {
    let (meters, unmapped) = map_keys(ctx, mapper).await?;
    let _ = ctx.deregister_table("meters")?;
    ctx.register_batch("meters", meters)?;

    // Each branch is cast on its own: a CASE over a Decimal128(38,9) quantity and a Decimal128(38,18) cost would
    // coerce both to (38,18), which overflows on a quantity past 20 integer digits (a petabyte-day in byte-seconds).
    // `amount` is the quantity in SI units; for gauges (per-month meters) it is unit-hours, so that a bucket's
    // time-weighted average is the bucket's summed amount divided by the bucket's hours. A row's month is the month
    // of its start.
    let g = granularity.sql();
    let spans = format!("u.\"ChargePeriodEnd\" > date_trunc('{g}', u.\"ChargePeriodStart\") + INTERVAL '1 {g}'");
    let month_hours = "((date_part('epoch', date_trunc('month', u.\"ChargePeriodStart\") + INTERVAL '1 month') \
        - date_part('epoch', date_trunc('month', u.\"ChargePeriodStart\"))) / 3600.0)";
    let on = KEY_COLUMNS.iter().map(|c| format!("(u.\"{c}\" IS NOT DISTINCT FROM k.\"{c}\")")).collect::<Vec<_>>().join(" AND ");
    let mapped = format!(
        "SELECT u.\"BillingAccountId\" AS billing_account_id, coalesce(u.\"SubAccountId\", '') AS sub_account_id, k.signal, \
           CASE WHEN k.tag_publisher THEN coalesce(u.\"PublisherName\", '') ELSE '' END AS publisher, k.gauge, \
           date_trunc('{g}', u.\"ChargePeriodStart\") AS bucket, \
           CASE WHEN {spans} THEN u.\"ChargePeriodStart\" END AS span_start, CASE WHEN {spans} THEN u.\"ChargePeriodEnd\" END AS span_end, \
           CASE k.quantity WHEN 'consumed' THEN CAST(u.\"ConsumedQuantity\" AS DOUBLE) WHEN 'pricing' THEN CAST(u.\"PricingQuantity\" AS DOUBLE) \
             ELSE CAST(u.\"EffectiveCost\" AS DOUBLE) END \
             * k.factor * CASE WHEN NOT k.per_month THEN 1.0 WHEN k.month_days > 0 THEN k.month_days * 24.0 ELSE {month_hours} END AS amount \
         FROM usage u JOIN meters k ON {on} \
         WHERE u.\"ChargeCategory\" = 'Usage' OR (k.quantity = 'cost' AND u.\"ChargeCategory\" = 'Purchase')"
    );
    let sums = format!(
        "SELECT billing_account_id, sub_account_id, signal, publisher, gauge, bucket, span_start, span_end, \
           sum(amount) AS amount, count(*) AS rows \
         FROM ({mapped}) m GROUP BY billing_account_id, sub_account_id, signal, publisher, gauge, bucket, span_start, span_end"
    );
    let scratch = tempfile::Builder::new().prefix("oversight-series-").tempdir().map_err(|e| DataFusionError::External(Box::new(e)))?;
    let path = scratch.path().join("sums.parquet");
    let path = path.to_string_lossy();
    // Scratch only, read back once: no compression, and small row groups, because both the writer and the reader
    // hold a whole row group's columns in memory outside the engine's memory limit.
    let mut scratch_format = TableParquetOptions::default();
    scratch_format.global.compression = Some("uncompressed".into());
    scratch_format.global.max_row_group_size = 1 << 16;
    ctx.sql(&sums).await?.write_parquet(&path, DataFrameWriteOptions::new().with_single_file_output(true), Some(scratch_format)).await?;
    let _ = ctx.deregister_table("sums")?;
    ctx.register_parquet("sums", &path, ParquetReadOptions::default()).await?;
    let within = "SELECT billing_account_id, sub_account_id, signal, publisher, gauge, bucket AS bucket_start, amount, rows \
         FROM sums WHERE span_start IS NULL";
    let spanning = "SELECT billing_account_id, sub_account_id, signal, publisher, gauge, span_start AS ps, span_end AS pe, sum(amount) AS amount, \
           CAST(sum(rows) AS BIGINT) AS rows \
         FROM sums WHERE span_start IS NOT NULL \
         GROUP BY billing_account_id, sub_account_id, signal, publisher, gauge, span_start, span_end";
    let spread = spread(ctx.sql(spanning).await?.collect().await?, granularity)?;
    let _ = ctx.deregister_table("spread")?;
    ctx.register_table("spread", Arc::new(MemTable::try_new(spread.schema(), vec![vec![spread]])?))?;
    let hours = granularity.micros() as f64 / 3_600_000_000.0;
    let series = format!(
        "SELECT billing_account_id, sub_account_id, signal, publisher, bucket_start, \
           CASE WHEN bool_or(gauge) THEN sum(amount) / {hours:.1} ELSE sum(amount) END AS value, CAST(sum(rows) AS BIGINT) AS rows \
         FROM ({within} UNION ALL SELECT * FROM spread) \
         GROUP BY billing_account_id, sub_account_id, signal, publisher, bucket_start \
         ORDER BY signal, bucket_start, billing_account_id, sub_account_id, publisher"
    );
    let points = ctx.sql(&series).await?.execute_stream().await?;
    let schema = series_schema();
    let cast_to = schema.clone();
    // The stream owns the scratch folder, which is removed when the last point has been read (or the stream dropped).
    let points = points.map(move |b| {
        let _sums = &scratch;
        let b = b?;
        let cols = b.columns().iter().zip(cast_to.fields()).map(|(c, f)| arrow::compute::cast(c, f.data_type())).collect::<Result<Vec<_>, _>>()?;
        Ok(RecordBatch::try_new(cast_to.clone(), cols)?)
    });
    Ok(SeriesStream { points: Box::pin(RecordBatchStreamAdapter::new(schema, points)), unmapped })
}

/// The meter keys that map nowhere, with their row counts and cost: one pass over the key columns, no series.
pub async fn unmapped_keys(ctx: &SessionContext, mapper: &dyn MeterMapper) -> Result<Vec<crate::MeterStats>, SignalsError> {
    Ok(map_keys(ctx, mapper).await?.1)
}

/// Map every distinct meter key of the lake once: the `meters` table (key columns and mapping) and the unmapped keys.
async fn map_keys(ctx: &SessionContext, mapper: &dyn MeterMapper) -> Result<(RecordBatch, Vec<crate::MeterStats>), SignalsError> {
    let keys = crate::key::meter_keys(ctx).await?;
    let mut k_text: Vec<Vec<Option<String>>> = vec![Vec::new(); KEY_COLUMNS.len()];
    let (mut k_signal, mut k_qty, mut k_factor, mut k_gauge, mut k_pub) = (vec![], vec![], vec![], vec![], vec![]);
    let mut k_month = vec![];
    let mut k_days: Vec<i64> = vec![];
    let mut unmapped = Vec::new();
    for mut s in keys {
        match mapper.map(&s.key) {
            Mapped::Signal(m) => {
                for (column, value) in k_text.iter_mut().zip(s.key.fields()) {
                    column.push(value.clone());
                }
                k_signal.push(m.signal);
                k_qty.push(match m.quantity {
                    Quantity::Consumed => "consumed",
                    Quantity::Pricing => "pricing",
                    Quantity::Cost => "cost",
                });
                k_factor.push(m.factor);
                k_gauge.push(m.gauge);
                k_month.push(m.per_month);
                k_days.push(m.month_days.map_or(0, i64::from));
                k_pub.push(m.tag_publisher);
            }
            Mapped::Ignored => {}
            Mapped::Unknown(reason) => {
                s.reason = reason;
                unmapped.push(s);
            }
        }
    }
    let mut fields: Vec<Field> = KEY_COLUMNS.iter().map(|c| Field::new(*c, DataType::Utf8, true)).collect();
    let mut columns: Vec<ArrayRef> = k_text.into_iter().map(|c| Arc::new(StringArray::from(c)) as ArrayRef).collect();
    fields.extend([
        Field::new("signal", DataType::Utf8, false),
        Field::new("quantity", DataType::Utf8, false),
        Field::new("factor", DataType::Float64, false),
        Field::new("gauge", DataType::Boolean, false),
        Field::new("per_month", DataType::Boolean, false),
        Field::new("month_days", DataType::Int64, false),
        Field::new("tag_publisher", DataType::Boolean, false),
    ]);
    columns.extend([
        Arc::new(StringArray::from(k_signal)) as ArrayRef,
        Arc::new(StringArray::from(k_qty)),
        Arc::new(Float64Array::from(k_factor)),
        Arc::new(BooleanArray::from(k_gauge)),
        Arc::new(BooleanArray::from(k_month)),
        Arc::new(Int64Array::from(k_days)),
        Arc::new(BooleanArray::from(k_pub)),
    ]);
    Ok((RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?, unmapped))
}

/// Spread charges that span several buckets over the buckets they overlap, in proportion to time.
fn spread(batches: Vec<RecordBatch>, g: Granularity) -> Result<RecordBatch, SignalsError> {
    type Key = (String, String, String, String, bool, i64);
    let mut acc: BTreeMap<Key, (f64, i64)> = BTreeMap::new();
    let step = g.micros();
    for b in &batches {
        let s = |i: usize| b.column(i).as_string::<i32>();
        let (acct, sub, sig, publ) = (s(0), s(1), s(2), s(3));
        let gauge = b.column(4).as_boolean();
        let ts = |i: usize| b.column(i).as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
        let (ps, pe) = (ts(5), ts(6));
        let amount = b.column(7).as_primitive::<arrow::datatypes::Float64Type>();
        let rows = b.column(8).as_primitive::<arrow::datatypes::Int64Type>();
        for r in 0..b.num_rows() {
            let (start, end) = (ps.value(r), pe.value(r));
            let total = (end - start) as f64;
            let mut bucket = start.div_euclid(step) * step;
            while bucket < end {
                let overlap = (end.min(bucket + step) - start.max(bucket)) as f64;
                let key = (acct.value(r).to_string(), sub.value(r).to_string(), sig.value(r).to_string(), publ.value(r).to_string(), gauge.value(r), bucket);
                let e = acc.entry(key).or_insert((0.0, 0));
                e.0 += amount.value(r) * overlap / total;
                e.1 += rows.value(r);
                bucket += step;
            }
        }
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("billing_account_id", DataType::Utf8, true),
        Field::new("sub_account_id", DataType::Utf8, true),
        Field::new("signal", DataType::Utf8, true),
        Field::new("publisher", DataType::Utf8, true),
        Field::new("gauge", DataType::Boolean, true),
        Field::new("bucket_start", DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())), true),
        Field::new("amount", DataType::Float64, true),
        Field::new("rows", DataType::Int64, true),
    ]));
    let col = |f: &dyn Fn(&Key) -> &str| Arc::new(StringArray::from_iter_values(acc.keys().map(f))) as ArrayRef;
    Ok(RecordBatch::try_new(
        schema,
        vec![
            col(&|k| &k.0),
            col(&|k| &k.1),
            col(&|k| &k.2),
            col(&|k| &k.3),
            Arc::new(BooleanArray::from_iter(acc.keys().map(|k| Some(k.4)))),
            Arc::new(TimestampMicrosecondArray::from_iter_values(acc.keys().map(|k| k.5)).with_timezone("+00:00")),
            Arc::new(Float64Array::from_iter_values(acc.values().map(|v| v.0))),
            Arc::new(Int64Array::from_iter_values(acc.values().map(|v| v.1))),
        ],
    )?)
}
