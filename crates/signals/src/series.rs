//! Building the series: join usage with the meter mapping, aggregate per bucket, spread multi-bucket charges.

use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::prelude::SessionContext;
use futures::TryStreamExt;

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
    pub(crate) fn sql(self) -> &'static str {
        match self {
            Granularity::Hour => "hour",
            Granularity::Day => "day",
        }
    }
    pub(crate) fn micros(self) -> i64 {
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
/// Two streaming passes over the lake, and a third over the few charges spanning several buckets. The first selects
/// the distinct meter keys (a few hundred groups, whatever the row count), which are mapped once each through the
/// mapper and registered as table `meters`. The second joins every usage row to its key's mapping (null-safe on
/// all key columns) and scales its quantity to SI units; the spanning charges are spread over their buckets; and
/// the terms of each point are summed exactly as decimals ([`crate::daily`]), so that a day built alone by a daily
/// run equals the same day of this full build to the bit. The engine's aggregation and sort spill to disk beyond the
/// session's memory limit, so memory does not grow with the lake: a simulated population has one row per meter, account and
/// day, and a year of 10,000 accounts is some 18 million series points.
pub async fn series_stream(ctx: &SessionContext, mapper: &dyn MeterMapper, granularity: Granularity) -> Result<SeriesStream, SignalsError> {
    crate::daily::series_of(ctx, mapper, granularity, None).await
}

/// The meter keys that map nowhere, with their row counts and cost: one pass over the key columns, no series.
pub async fn unmapped_keys(ctx: &SessionContext, mapper: &dyn MeterMapper) -> Result<Vec<crate::MeterStats>, SignalsError> {
    Ok(map_keys(ctx, mapper).await?.1)
}

/// Map every distinct meter key of the lake once: the `meters` table (key columns and mapping) and the unmapped keys.
pub(crate) async fn map_keys(ctx: &SessionContext, mapper: &dyn MeterMapper) -> Result<(RecordBatch, Vec<crate::MeterStats>), SignalsError> {
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
