//! The series, day by day: the one path that builds the series, whether for every day of the lake (`oversight
//! signals`, a scan from the lake) or for the days a daily run's deliveries changed, and the series kept in the lake
//! as a maintained table (`series/month=YYYY-MM/<signal>.<version>.parquet`).
//!
//! **Why the daily result equals a full rebuild's, to the bit.** A point's value is a sum, and a sum of doubles
//! depends on the order of its terms: an engine adds them in the order its partitions and files deliver rows, which
//! differs between a run over a year's files and a run over a day's, between two runs on several threads, and
//! between the local engine and a cluster. So each term (one per usage row, or one per bucket a multi-bucket charge
//! is spread over, each computed from its row alone) is rounded once to a nanounit (`DECIMAL(38, 9)`: a petabyte-
//! month in byte-hours is 7.2e17, far inside its 29 integer digits) and the terms are summed as decimals, which is
//! exact, so every order gives the same sum; only the sum is turned into a double. A point's terms are the same set
//! whether one day or the whole year is built, so its value is the same to the bit. The engine aggregates (and
//! spills) as it would any sum.
//!
//! **Which days a run rebuilds.** Every `usage` file is committed with the first and last day its charge periods
//! cover (`lake::FileEntry::days`), and every commit of the series table records the lake version whose `usage`
//! files it reflects. A run compares the live `usage` files of that version with today's: every file added or
//! removed since (an append delivery's new rows, a replace delivery's restated month, a file rewritten without a
//! retired unit) changes exactly the days it covers, and those days are rebuilt whole, for every account. A crash
//! between an ingest's commit and the series' leaves the series at the older version, and the next run catches up.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Float64Array, Float64Builder, RecordBatch, StringBuilder, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::{DateTime, Datelike, NaiveDate};
use datafusion::datasource::MemTable;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::prelude::SessionContext;
use futures::{StreamExt, TryStreamExt};

use crate::SignalsError;
use crate::key::KEY_COLUMNS;
use crate::series::{Granularity, MeterMapper, SeriesStream, map_keys, series_schema};

/// Microseconds in a day.
const DAY_MICROS: i64 = 86_400_000_000;

/// A day as a SQL timestamp literal in UTC.
fn literal(d: NaiveDate) -> String {
    format!("TIMESTAMP '{d} 00:00:00+00:00'")
}

/// `days` as runs of consecutive days, first and last inclusive.
fn runs(days: &BTreeSet<NaiveDate>) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out: Vec<(NaiveDate, NaiveDate)> = Vec::new();
    for &d in days {
        match out.last_mut() {
            Some((_, last)) if last.succ_opt() == Some(d) => *last = d,
            _ => out.push((d, d)),
        }
    }
    out
}

/// A condition that `column` (a timestamp) lies in one of `days`, on the column itself so that Parquet statistics
/// prune the rest.
fn within(column: &str, days: &BTreeSet<NaiveDate>) -> String {
    let any: Vec<String> = runs(days)
        .iter()
        .map(|(a, b)| format!("({column} >= {} AND {column} < {})", literal(*a), literal(b.succ_opt().expect("dates stay in range"))))
        .collect();
    if any.is_empty() { "FALSE".into() } else { format!("({})", any.join(" OR ")) }
}

/// Build the series of every mapped meter as a stream, on every day of the lake (`days` `None`) or only on `days`.
///
/// The points stream out sorted by signal, bucket, account, sub-account and publisher, each the exact decimal sum of
/// its terms described in the module's documentation, so that a point is the same to the bit whichever days were
/// asked for. With `days`, the session's `usage` is first narrowed to the rows whose charge period
/// overlaps them (a filter Parquet statistics answer), so the meter keys, the mapping and the sums read only those.
pub async fn series_of(
    ctx: &SessionContext,
    mapper: &dyn MeterMapper,
    granularity: Granularity,
    days: Option<&BTreeSet<NaiveDate>>,
) -> Result<SeriesStream, SignalsError> {
    if let Some(days) = days {
        let all = ctx.deregister_table("usage")?.ok_or_else(|| datafusion::error::DataFusionError::Plan("no table usage".into()))?;
        let _ = ctx.deregister_table("usage_all")?;
        ctx.register_table("usage_all", all)?;
        let overlap: Vec<String> = runs(days)
            .iter()
            .map(|(a, b)| {
                format!("(\"ChargePeriodEnd\" > {} AND \"ChargePeriodStart\" < {})", literal(*a), literal(b.succ_opt().expect("dates stay in range")))
            })
            .collect();
        let filter = if overlap.is_empty() { "FALSE".to_string() } else { overlap.join(" OR ") };
        let narrowed = ctx.sql(&format!("SELECT * FROM usage_all WHERE {filter}")).await?.into_view();
        ctx.register_table("usage", narrowed)?;
    }
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
           date_trunc('{g}', u.\"ChargePeriodStart\") AS bucket, {spans} AS spans, \
           u.\"ChargePeriodStart\" AS period_start, u.\"ChargePeriodEnd\" AS period_end, \
           CASE k.quantity WHEN 'consumed' THEN CAST(u.\"ConsumedQuantity\" AS DOUBLE) WHEN 'pricing' THEN CAST(u.\"PricingQuantity\" AS DOUBLE) \
             ELSE CAST(u.\"EffectiveCost\" AS DOUBLE) END \
             * k.factor * CASE WHEN NOT k.per_month THEN 1.0 WHEN k.month_days > 0 THEN k.month_days * 24.0 ELSE {month_hours} END AS amount \
         FROM usage u JOIN meters k ON {on} \
         WHERE u.\"ChargeCategory\" = 'Usage' OR (k.quantity = 'cost' AND u.\"ChargeCategory\" = 'Purchase')"
    );
    // Charges spanning several buckets (a month of storage on one row): each is spread over the buckets it overlaps
    // in proportion to time, one term per bucket, computed from the row alone. They are few; held in memory.
    let spanning =
        format!("SELECT billing_account_id, sub_account_id, signal, publisher, gauge, period_start, period_end, amount FROM ({mapped}) m WHERE m.spans");
    let pieces = spread(ctx.sql(&spanning).await?.collect().await?, granularity, days)?;
    let _ = ctx.deregister_table("pieces")?;
    ctx.register_table("pieces", Arc::new(MemTable::try_new(pieces.schema(), vec![vec![pieces]])?))?;
    let keep = days.map_or_else(|| "TRUE".to_string(), |d| within("m.bucket", d));
    let terms = format!(
        "SELECT billing_account_id, sub_account_id, signal, publisher, gauge, bucket, amount FROM ({mapped}) m WHERE NOT m.spans AND {keep} \
         UNION ALL SELECT billing_account_id, sub_account_id, signal, publisher, gauge, bucket, amount FROM pieces"
    );
    let series = format!(
        "SELECT billing_account_id, sub_account_id, signal, publisher, bucket AS bucket_start, bool_or(gauge) AS gauge, \
           coalesce(sum(CAST(amount AS DECIMAL(38, 9))), CAST(0 AS DECIMAL(38, 9))) AS total, count(*) AS rows \
         FROM ({terms}) t GROUP BY billing_account_id, sub_account_id, signal, publisher, bucket \
         ORDER BY signal, bucket_start, billing_account_id, sub_account_id, publisher"
    );
    let sums = ctx.sql(&series).await?.execute_stream().await?;
    let hours = granularity.micros() as f64 / 3_600_000_000.0;
    Ok(SeriesStream { points: values(sums, hours), unmapped })
}

/// One term per (charge spanning several buckets, bucket it overlaps): its amount times the share of its period that
/// falls in the bucket. Only buckets in `days`, when given.
fn spread(batches: Vec<RecordBatch>, g: Granularity, days: Option<&BTreeSet<NaiveDate>>) -> Result<RecordBatch, SignalsError> {
    let step = g.micros();
    let (mut acct, mut sub, mut sig, mut publ) = (StringBuilder::new(), StringBuilder::new(), StringBuilder::new(), StringBuilder::new());
    let (mut gauge, mut bucket_at, mut amounts) = (Vec::new(), Vec::new(), Float64Builder::new());
    let wanted = |bucket: i64| {
        days.is_none_or(|d| DateTime::from_timestamp_micros(bucket.div_euclid(DAY_MICROS) * DAY_MICROS).is_some_and(|t| d.contains(&t.date_naive())))
    };
    for b in &batches {
        let text = |i: usize| arrow::compute::cast(b.column(i), &DataType::Utf8);
        let (a, s, n, p) = (text(0)?, text(1)?, text(2)?, text(3)?);
        let (a, s, n, p) = (a.as_string::<i32>(), s.as_string::<i32>(), n.as_string::<i32>(), p.as_string::<i32>());
        let gauges = b.column(4).as_boolean();
        let ts = |i: usize| b.column(i).as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
        let (ps, pe) = (ts(5), ts(6));
        let amount = b.column(7).as_primitive::<arrow::datatypes::Float64Type>();
        for r in 0..b.num_rows() {
            let (start, end) = (ps.value(r), pe.value(r));
            let total = (end - start) as f64;
            let mut bucket = start.div_euclid(step) * step;
            while bucket < end {
                if wanted(bucket) {
                    let overlap = (end.min(bucket + step) - start.max(bucket)) as f64;
                    acct.append_value(a.value(r));
                    sub.append_value(s.value(r));
                    sig.append_value(n.value(r));
                    publ.append_value(p.value(r));
                    gauge.push(gauges.value(r));
                    bucket_at.push(bucket);
                    amounts.append_option(amount.is_valid(r).then(|| amount.value(r) * overlap / total));
                }
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
        Field::new("bucket", DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())), true),
        Field::new("amount", DataType::Float64, true),
    ]));
    Ok(RecordBatch::try_new(
        schema,
        vec![
            Arc::new(acct.finish()) as ArrayRef,
            Arc::new(sub.finish()),
            Arc::new(sig.finish()),
            Arc::new(publ.finish()),
            Arc::new(BooleanArray::from(gauge)),
            Arc::new(TimestampMicrosecondArray::from(bucket_at).with_timezone("+00:00")),
            Arc::new(amounts.finish()),
        ],
    )?)
}

/// The points in the series schema: each exact decimal sum turned into a double once, a gauge's unit-hours averaged
/// over the bucket's `hours`.
fn values(sums: SendableRecordBatchStream, hours: f64) -> SendableRecordBatchStream {
    let schema = series_schema();
    let out = schema.clone();
    let points = sums.map(move |b| {
        let b = b?;
        let total = arrow::compute::cast(b.column(6), &DataType::Float64)?;
        let (total, gauge): (&Float64Array, _) = (total.as_primitive(), b.column(5).as_boolean());
        let value: Float64Array =
            (0..b.num_rows()).map(|r| Some(if gauge.is_valid(r) && gauge.value(r) { total.value(r) / hours } else { total.value(r) })).collect();
        let text = |i: usize| arrow::compute::cast(b.column(i), &DataType::Utf8);
        let columns = vec![
            text(0)?,
            text(1)?,
            text(2)?,
            text(3)?,
            arrow::compute::cast(b.column(4), out.field(4).data_type())?,
            Arc::new(value) as ArrayRef,
            arrow::compute::cast(b.column(7), &DataType::Int64)?,
        ];
        Ok(RecordBatch::try_new(out.clone(), columns)?)
    });
    Box::pin(RecordBatchStreamAdapter::new(schema, points))
}

/// What [`update_series`] did.
#[derive(Debug, Clone, Default)]
pub struct Update {
    /// The lake version whose `usage` files the series reflected before (`None`: there was no series table).
    pub from_version: Option<u64>,
    /// The lake version whose `usage` files it reflects now.
    pub to_version: u64,
    /// The days rebuilt (every day of the lake when the whole table was rebuilt).
    pub days: BTreeSet<NaiveDate>,
    /// The rebuilt days whose points differ from what the table held (every day, on a full rebuild): the days
    /// whose findings can have changed, with every day after them.
    pub changed: BTreeSet<NaiveDate>,
    /// Whether the whole table was rebuilt (no series yet, or a changed file whose days the manifest does not say).
    pub full: bool,
    /// Points written.
    pub points: u64,
    /// Files written.
    pub files: usize,
}

/// A live file of the series table: its signal and month (its first day), parsed from its path.
fn series_file(path: &str) -> Option<(NaiveDate, &str)> {
    let rest = path.strip_prefix("series/month=")?;
    let (month, name) = rest.split_once('/')?;
    let signal = name.strip_suffix(".parquet")?.rsplit_once('.')?.0;
    Some((NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").ok()?, signal))
}

/// The name, in each month's folder of the series table, of the file of the (billing account, sub-account) pairs with
/// a point that month: the one thing a scan needs from every day of the history to open (`detect::Scanner`
/// attributes a sub-account the registry does not know to its billing account's parent), in far fewer rows.
const ACCOUNTS: &str = "_accounts";

/// The schema of the series table's [`ACCOUNTS`] files: the distinct (billing account, sub-account) pairs of a month.
pub fn account_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new("billing_account_id", DataType::Utf8, false), Field::new("sub_account_id", DataType::Utf8, false)]))
}

/// The first day of `day`'s month.
fn month_of(day: NaiveDate) -> NaiveDate {
    day.with_day(1).expect("every month has a first day")
}

/// The live files of the series table in the order a full rebuild writes its points (by signal, then day: each file
/// holds one signal's month, its days in order), with their signals and months; paths relative to the lake root.
/// Read in this order, they are the full rebuild's series, point for point.
pub fn series_files(state: &lake::State) -> Vec<(String, NaiveDate, String)> {
    let mut files: Vec<(String, NaiveDate, String)> = state
        .live(lake::SERIES)
        .filter_map(|f| series_file(&f.path).filter(|(_, s)| *s != ACCOUNTS).map(|(m, s)| (s.to_string(), m, f.path.clone())))
        .collect();
    files.sort();
    files
}

/// The live files of the series table's (billing account, sub-account) pairs, one per month, in month order; paths
/// relative to the lake root. Together they hold the distinct pairs of every point of the table. `None` when a month
/// with points has none (a table written before they were kept, until its months are rewritten).
pub fn account_files(state: &lake::State) -> Option<Vec<String>> {
    let mut files: BTreeMap<NaiveDate, String> = BTreeMap::new();
    let mut months = BTreeSet::new();
    for f in state.live(lake::SERIES) {
        match series_file(&f.path) {
            Some((m, ACCOUNTS)) => {
                files.insert(m, f.path.clone());
            }
            Some((m, _)) => {
                months.insert(m);
            }
            None => {}
        }
    }
    months.iter().all(|m| files.contains_key(m)).then(|| files.into_values().collect())
}

/// Bring the lake's series table up to date with its `usage` files: find the days the `usage` files changed since
/// the version the table reflects (see the module's documentation), rebuild those days for every account, and
/// rewrite the (signal, month) files that hold them, the other days' points carried over as they were, in one commit
/// that retires the old files. Without a series table yet, every day is built. The rebuild runs on `engine`.
///
/// One file per signal and month, not per day: a scan opens every file of the table for each of its statements,
/// and a year of day files (thousands) cost a daily scan several times what the points in them do.
pub async fn update_series(lake: &mut lake::Lake, mapper: &dyn MeterMapper, memory_limit: usize, engine: &engine::Engine) -> Result<Update, SignalsError> {
    let now = lake.state().clone();
    let from = now.derived.get(lake::SERIES).copied();
    // The table's own commit is the lake's latest (it records the version before it): nothing changed since, and
    // the history need not be replayed to know it.
    if from.is_some_and(|v| v + 1 == now.version) {
        return Ok(Update { from_version: from, to_version: now.version, ..Update::default() });
    }
    let before: BTreeMap<String, lake::LiveFile> = match from {
        Some(v) => lake.state_at(v).await?.live("usage").map(|f| (f.path.clone(), f.clone())).collect(),
        None => BTreeMap::new(),
    };
    let after: BTreeMap<String, lake::LiveFile> = now.live("usage").map(|f| (f.path.clone(), f.clone())).collect();
    let changed: Vec<&lake::LiveFile> = before
        .values()
        .filter(|f| after.get(&f.path).is_none_or(|g| g.sha256 != f.sha256))
        .chain(after.values().filter(|f| before.get(&f.path).is_none_or(|g| g.sha256 != f.sha256)))
        .collect();
    let mut update = Update { from_version: from, to_version: now.version, ..Update::default() };
    if from.is_some() && changed.is_empty() {
        return Ok(update);
    }
    update.full = from.is_none() || changed.iter().any(|f| f.days.is_none());
    let mut days = BTreeSet::new();
    let spans: Vec<[NaiveDate; 2]> =
        if update.full { after.values().filter_map(|f| f.days).collect() } else { changed.iter().filter_map(|f| f.days).collect() };
    for [first, last] in spans {
        days.extend(first.iter_days().take_while(|d| *d <= last));
    }
    // The usage files that can hold rows of those days: all of them for a full rebuild (some may not say their
    // days), else those whose days meet the set.
    let files: Vec<std::path::PathBuf> = after
        .values()
        .filter(|f| update.full || f.days.is_some_and(|[a, b]| days.range(a..=b).next().is_some()))
        .map(|f| std::path::PathBuf::from(lake.root().url_of(&f.path)))
        .collect();
    let ctx = crate::session_at(lake.root(), &files, memory_limit, engine).await?;
    let series = series_of(&ctx, mapper, Granularity::Day, (!update.full).then_some(&days)).await?;

    // The files rewritten: every file of a full rebuild, else those of the months the rebuilt days fall in.
    let months: BTreeSet<NaiveDate> = days.iter().map(|d| month_of(*d)).collect();
    let rewritten = |f: &lake::LiveFile| update.full || series_file(&f.path).is_some_and(|(m, _)| months.contains(&m));
    let remove: Vec<String> = now.live(lake::SERIES).filter(|f| rewritten(f)).map(|f| f.path.clone()).collect();
    // A full rebuild writes every point anew (its points can fall on days no usage file names), so it reads no old
    // file; otherwise the rewritten months' old files carry their other days over.
    let mut old: BTreeMap<(String, NaiveDate), String> = now
        .live(lake::SERIES)
        .filter(|f| !update.full && rewritten(f))
        .filter_map(|f| series_file(&f.path).filter(|(_, s)| *s != ACCOUNTS).map(|(m, s)| ((s.to_string(), m), f.path.clone())))
        .collect();
    let mut merge = Merge {
        lake,
        version: now.version + 1,
        schema: series_schema(),
        rebuilt: (!update.full).then_some(&days),
        add: Vec::new(),
        changed: BTreeSet::new(),
        written: BTreeSet::new(),
        accounts: BTreeMap::new(),
    };
    // The new points arrive by signal, then day: gather one (signal, month) at a time, a day's points together.
    let mut month: Option<(String, NaiveDate)> = None;
    let mut pending: BTreeMap<NaiveDate, Vec<RecordBatch>> = BTreeMap::new();
    let mut points = series.points;
    while let Some(b) = points.try_next().await? {
        for (signal, day, run) in by_day(&b) {
            let key = (signal, month_of(day));
            if month.as_ref() != Some(&key)
                && let Some(done) = month.replace(key.clone())
            {
                let was = old.remove(&done);
                merge.month(&done, was, std::mem::take(&mut pending)).await?;
            }
            pending.entry(day).or_default().push(run);
        }
    }
    if let Some(done) = month.take() {
        let was = old.remove(&done);
        merge.month(&done, was, pending).await?;
    }
    // Months of a signal the rebuilt days no longer give any point: their other days are carried over.
    for (key, was) in std::mem::take(&mut old) {
        merge.month(&key, Some(was), BTreeMap::new()).await?;
    }
    update.points = merge.add.iter().map(|f| f.rows).sum();
    update.files = merge.add.len();
    merge.accounts().await?;
    let (add, points_changed) = (merge.add, merge.changed);
    if update.full {
        days.extend(merge.written);
    }
    update.changed = if update.full { days.clone() } else { points_changed };
    update.days = days;
    lake.commit_derived(lake::SERIES, &add, remove, now.version).await?;
    Ok(update)
}

/// The day of a bucket's start.
fn day_of(bucket: i64) -> NaiveDate {
    DateTime::from_timestamp_micros(bucket.div_euclid(DAY_MICROS) * DAY_MICROS).map(|t| t.date_naive()).unwrap_or_default()
}

/// A batch of points sorted by signal, then bucket, cut into its runs of one (signal, day).
fn by_day(b: &RecordBatch) -> Vec<(String, NaiveDate, RecordBatch)> {
    let signal = b.column(2).as_string::<i32>();
    let bucket = b.column(4).as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
    let key = |r: usize| (signal.value(r), day_of(bucket.value(r)));
    let mut out = Vec::new();
    let mut start = 0;
    while start < b.num_rows() {
        let (sig, day) = key(start);
        let end = (start + 1..b.num_rows()).find(|r| key(*r) != (sig, day)).unwrap_or(b.num_rows());
        out.push((sig.to_string(), day, b.slice(start, end - start)));
        start = end;
    }
    out
}

/// The rewriting of the series table's (signal, month) files.
struct Merge<'a> {
    lake: &'a lake::Lake,
    version: u64,
    schema: SchemaRef,
    /// The days rebuilt (`None`: every day): their points come from the rebuild, every other day's from the old file.
    rebuilt: Option<&'a BTreeSet<NaiveDate>>,
    /// The files written.
    add: Vec<lake::LiveFile>,
    /// The rebuilt days whose points differ from the old ones, in any signal.
    changed: BTreeSet<NaiveDate>,
    /// The days with points in the files written.
    written: BTreeSet<NaiveDate>,
    /// The (billing account, sub-account) pairs of each month written.
    accounts: BTreeMap<NaiveDate, BTreeSet<(String, String)>>,
}

impl Merge<'_> {
    /// Write the file of one (signal, month): the rebuilt days' points from `new`, the others' from the old file
    /// `was`, in day order; note the rebuilt days whose points changed.
    async fn month(
        &mut self,
        (signal, month): &(String, NaiveDate),
        was: Option<String>,
        mut new: BTreeMap<NaiveDate, Vec<RecordBatch>>,
    ) -> Result<(), SignalsError> {
        let mut kept: BTreeMap<NaiveDate, Vec<RecordBatch>> = BTreeMap::new();
        if let Some(path) = &was {
            for b in self.lake.read_derived(path).await? {
                // As the series schema, whatever metadata the file's own carries.
                let b = RecordBatch::try_new(self.schema.clone(), b.columns().to_vec())?;
                for (_, day, run) in by_day(&b) {
                    kept.entry(day).or_default().push(run);
                }
            }
        }
        let all: BTreeSet<NaiveDate> = kept.keys().chain(new.keys()).copied().collect();
        let mut out = Vec::new();
        for day in all {
            let batches = if self.rebuilt.is_none_or(|r| r.contains(&day)) {
                let fresh = new.remove(&day).unwrap_or_default();
                if !same(&self.schema, kept.get(&day).map_or(&[][..], Vec::as_slice), &fresh)? {
                    self.changed.insert(day);
                }
                fresh
            } else {
                kept.remove(&day).unwrap_or_default()
            };
            if batches.iter().any(|b| b.num_rows() > 0) {
                self.written.insert(day);
            }
            out.extend(batches);
        }
        if out.iter().all(|b| b.num_rows() == 0) {
            return Ok(());
        }
        let pairs = self.accounts.entry(*month).or_default();
        for b in &out {
            let (billing, sub) = (b.column(0).as_string::<i32>(), b.column(1).as_string::<i32>());
            let mut last = None;
            for r in 0..b.num_rows() {
                let pair = (billing.value(r), sub.value(r));
                if last != Some(pair) {
                    pairs.insert((pair.0.to_string(), pair.1.to_string()));
                    last = Some(pair);
                }
            }
        }
        // Signal names are catalog names (`storage.stored_bytes`); anything else that could leave the folder is escaped.
        let name: String = signal.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' { c } else { '_' }).collect();
        let path = format!("{}/month={}/{name}.{}.parquet", lake::SERIES, month.format("%Y-%m"), self.version);
        self.add.push(self.lake.write_derived(lake::SERIES, &path, self.schema.clone(), &out, crate::parquet_properties()).await?);
        Ok(())
    }

    /// Write each rewritten month's (billing account, sub-account) pairs, in order, as the month's [`ACCOUNTS`] file.
    async fn accounts(&mut self) -> Result<(), SignalsError> {
        let schema = account_schema();
        for (month, pairs) in std::mem::take(&mut self.accounts) {
            let (billing, sub): (Vec<String>, Vec<String>) = pairs.into_iter().unzip();
            let batch = RecordBatch::try_new(
                schema.clone(),
                vec![Arc::new(arrow::array::StringArray::from(billing)) as ArrayRef, Arc::new(arrow::array::StringArray::from(sub))],
            )?;
            let path = format!("{}/month={}/{ACCOUNTS}.{}.parquet", lake::SERIES, month.format("%Y-%m"), self.version);
            self.add.push(self.lake.write_derived(lake::SERIES, &path, schema.clone(), &[batch], crate::parquet_properties()).await?);
        }
        Ok(())
    }
}

/// Whether two runs of batches hold the same points, value bits included.
fn same(schema: &SchemaRef, a: &[RecordBatch], b: &[RecordBatch]) -> Result<bool, SignalsError> {
    let a = arrow::compute::concat_batches(schema, a)?;
    let b = arrow::compute::concat_batches(schema, b)?;
    // Float equality in arrow compares values, not bits: compare the values' bits apart.
    let bits = |x: &RecordBatch| x.column(5).as_primitive::<arrow::datatypes::Float64Type>().values().iter().map(|v| v.to_bits()).collect::<Vec<u64>>();
    Ok(a.num_rows() == b.num_rows() && (0..a.num_columns()).filter(|i| *i != 5).all(|i| a.column(i) == b.column(i)) && bits(&a) == bits(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_run_together_and_name_their_files() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let days: BTreeSet<NaiveDate> = [d("2025-01-01"), d("2025-01-02"), d("2025-01-03"), d("2025-01-07")].into();
        assert_eq!(runs(&days), vec![(d("2025-01-01"), d("2025-01-03")), (d("2025-01-07"), d("2025-01-07"))]);
        assert_eq!(within("b", &BTreeSet::new()), "FALSE");
        assert_eq!(series_file("series/month=2025-01/storage.stored_bytes.12.parquet"), Some((d("2025-01-01"), "storage.stored_bytes")));
        assert_eq!(series_file("usage/charge_date=2025-01-02/a.parquet"), None);
    }

    #[test]
    fn a_month_without_its_pairs_sends_the_scan_back_to_the_points() {
        let file = |p: &str| (p.to_string(), lake::LiveFile { path: p.into(), table: lake::SERIES.into(), ..Default::default() });
        let mut state = lake::State::default();
        state.files.extend([
            file("series/month=2025-01/storage.stored_bytes.3.parquet"),
            file("series/month=2025-01/_accounts.3.parquet"),
            file("series/month=2025-02/storage.stored_bytes.5.parquet"),
        ]);
        assert_eq!(account_files(&state), None, "February has points and no pairs");
        let signals: Vec<String> = series_files(&state).into_iter().map(|(s, _, _)| s).collect();
        assert_eq!(signals, ["storage.stored_bytes", "storage.stored_bytes"], "the pairs are not a signal");
        state.files.extend([file("series/month=2025-02/_accounts.5.parquet")]);
        let want = ["series/month=2025-01/_accounts.3.parquet", "series/month=2025-02/_accounts.5.parquet"];
        assert_eq!(account_files(&state), Some(want.map(String::from).to_vec()));
    }
}
