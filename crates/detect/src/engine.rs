//! Policies compiled to SQL over the daily series, run on DataFusion.
//!
//! Every condition becomes one window query over a `base` table of `(account_id, sector, signal, day, value)`;
//! the conditions of a policy are joined on `(account_id, day)`. Days are integers (days since 1970-01-01) so the
//! windows are standard `RANGE BETWEEN n PRECEDING AND m PRECEDING` frames, which any SQL engine runs. One query
//! answers every day at once for an evaluation. A scan of one day reads only the days its windows reach back over
//! and, unless a condition is monotonic, computes each window as a conditional aggregate per account instead. A
//! missing approval and a recent event are part of the query too (`NOT EXISTS` over `approvals`, `EXISTS` over
//! `events`), so the query states the whole policy and another engine given the same tables returns the same hits.
//!
//! The series is either held in memory (as `oversight signals` builds it from the lake) or read from a Parquet file
//! with DataFusion's streaming execution, filters pushed into the scan. Every statement states its signals and days
//! on the columns themselves (`s.signal IN (…)`, `s.bucket_start >= TIMESTAMP …`), and the series is laid out by
//! signal and day, so a reader skips the row groups and pages a statement does not need. Every statement the
//! scanner runs is recorded, in order, so that the same SQL can be replayed elsewhere (`oversight scan --emit-sql`).

use std::path::Path;
use std::sync::{Arc, Mutex};

use ::engine::Engine;
use arrow::array::{Array, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use chrono::{Duration, NaiveDate};
use datafusion::datasource::MemTable;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use registry::{EventKind, Events, Registry};

use crate::DetectError;
use crate::policy::{Loaded, Measure, Per, Scope};

/// The first day of the integer day scale.
pub fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date")
}

/// A day number as a date.
pub fn date(day: i64) -> NaiveDate {
    epoch() + Duration::days(day)
}

/// A date as a day number.
pub fn day_number(d: NaiveDate) -> i64 {
    (d - epoch()).num_days()
}

/// A policy holding for an account on a day, with each condition's measured value.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The account (a parent organisation for parent-scope policies).
    pub account_id: String,
    /// The day (days since 1970-01-01).
    pub day: i64,
    /// The account's sector.
    pub sector: String,
    /// Measured values, one per condition.
    pub values: Vec<f64>,
}

/// One SQL statement the scanner ran: what it was for (`policy:ID`, `daily`, `before`, `points`, `last-day`) and its text.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// What the statement was for.
    pub label: String,
    /// The SQL text, exactly as run.
    pub sql: String,
    /// Wall time from planning to the last row collected.
    pub elapsed: std::time::Duration,
}

/// One account's daily values of one signal, as [`Scanner::daily`] reads them.
#[derive(Debug, Clone, PartialEq)]
pub struct Daily {
    /// The account.
    pub account_id: String,
    /// Its sector.
    pub sector: String,
    /// (day, value), by day; days without a row are absent.
    pub points: Vec<(i64, f64)>,
    /// For a parent, the sub-accounts whose rows were read (sorted); empty for an account.
    pub parts: Vec<String>,
}

/// Daily series, the registry and the events, ready for policies.
pub struct Scanner {
    ctx: SessionContext,
    registry: Registry,
    tables: Vec<(&'static str, RecordBatch)>,
    log: Mutex<Vec<Statement>>,
    /// The scratch folder of a series written by [`Scanner::from_stream`], removed with the scanner.
    _scratch: Option<tempfile::TempDir>,
}

/// A series row's day number (days since 1970-01-01), for a `series` table aliased `s`.
const DAY: &str = "CAST(CAST(s.bucket_start AS BIGINT) / 86400000000 AS BIGINT)";

/// A series row's parent (for a `series` aliased `s`, its registry row `t` and [`BILLING_PARENT`]'s `bp`): the
/// registry's parent of the sub-account; else the one parent the registry gives the other sub-accounts of its
/// billing account; else the billing account itself (`BillingAccountId`: the payer in every provider's hierarchy,
/// see `registry::hierarchy`).
const PARENT: &str = "COALESCE(t.parent_id, bp.parent_id, s.billing_account_id)";

/// The join that [`PARENT`] reads `bp` from.
const BILLING_PARENT: &str = "LEFT JOIN billing_parents bp ON bp.billing_account_id = s.billing_account_id";

/// Microseconds in a day.
const DAY_MICROS: i64 = 86_400_000_000;

/// Series rows of days `from..=to`, as a condition on `s.bucket_start` itself rather than on its day number: engines
/// prune Parquet row groups and pages by a column's statistics, never by an expression over it.
fn days_between(from: i64, to: i64) -> String {
    format!("s.bucket_start >= {} AND s.bucket_start < {}", start_of(from), start_of(to + 1))
}

/// The first instant of a day, as a SQL timestamp literal in UTC.
fn start_of(day: i64) -> String {
    format!("TIMESTAMP '{} 00:00:00+00:00'", date(day))
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Strings as a quoted SQL list, for `IN (…)`.
fn quoted<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    items.into_iter().map(quote).collect::<Vec<_>>().join(", ")
}

fn table(fields: Vec<Field>, columns: Vec<Arc<dyn Array>>) -> Result<RecordBatch, DetectError> {
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?)
}

/// The registry and events as tables: `tenants(account_id, parent_id, sector)`, `approvals(account_id, name,
/// from_day)` (from_day null: always) and `events(account_id, kind, at_us, day)`.
fn side_tables(registry: &Registry, events: &Events) -> Result<Vec<(&'static str, RecordBatch)>, DetectError> {
    let (mut ids, mut parents, mut sectors) = (Vec::new(), Vec::new(), Vec::new());
    let (mut a_ids, mut a_names, mut a_from) = (Vec::new(), Vec::new(), Vec::new());
    for t in registry.iter() {
        ids.push(t.account_id.clone());
        parents.push(t.parent_id.clone());
        sectors.push(t.sector.as_str().to_string());
        for a in &t.approvals {
            a_ids.push(t.account_id.clone());
            a_names.push(a.name.clone());
            a_from.push(a.from.map(day_number));
        }
    }
    let (mut e_ids, mut e_kinds, mut e_at, mut e_day) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for e in events.iter() {
        let at = e.at.timestamp_micros();
        e_ids.push(e.account_id.clone());
        e_kinds.push(e.kind.as_str());
        e_at.push(at);
        e_day.push(at.div_euclid(DAY_MICROS));
    }
    let text = |name: &str, nullable: bool| Field::new(name, DataType::Utf8, nullable);
    let int = |name: &str, nullable: bool| Field::new(name, DataType::Int64, nullable);
    Ok(vec![
        (
            "tenants",
            table(
                vec![text("account_id", false), text("parent_id", true), text("sector", false)],
                vec![Arc::new(StringArray::from(ids)), Arc::new(StringArray::from(parents)), Arc::new(StringArray::from(sectors))],
            )?,
        ),
        (
            "approvals",
            table(
                vec![text("account_id", false), text("name", false), int("from_day", true)],
                vec![Arc::new(StringArray::from(a_ids)), Arc::new(StringArray::from(a_names)), Arc::new(Int64Array::from(a_from))],
            )?,
        ),
        (
            "events",
            table(
                vec![text("account_id", false), text("kind", false), int("at_us", false), int("day", false)],
                vec![
                    Arc::new(StringArray::from(e_ids)),
                    Arc::new(StringArray::from(e_kinds)),
                    Arc::new(Int64Array::from(e_at)),
                    Arc::new(Int64Array::from(e_day)),
                ],
            )?,
        ),
    ])
}

impl Scanner {
    /// Register the series batches (as `oversight signals` builds them, daily), the registry and the events.
    pub async fn new(series: Vec<RecordBatch>, registry: Registry, events: Events) -> Result<Scanner, DetectError> {
        let ctx = Self::session(&Engine::Local).await?;
        ctx.register_table("series", Arc::new(MemTable::try_new(signals::series_schema(), vec![series])?))?;
        Self::with_series(ctx, registry, &events, "series").await
    }

    /// Read the series from a Parquet file (as `oversight signals --format parquet` writes it, daily) as the
    /// queries stream, instead of holding it in memory; register the registry and the events. The queries run on
    /// `engine`, whose executors must be able to read `series`.
    pub async fn from_parquet(series: &Path, registry: Registry, events: Events, engine: &Engine) -> Result<Scanner, DetectError> {
        let ctx = Self::session(engine).await?;
        ctx.register_parquet("series", &series.to_string_lossy(), ParquetReadOptions::default()).await?;
        // The queries read each column as its series type: check them all here, where a wrong file can be named,
        // not at a downcast deep in a query.
        let found = ctx.table("series").await?.schema().as_arrow().clone();
        for want in signals::series_schema().fields() {
            let problem = match found.field_with_name(want.name()) {
                Err(_) => "is missing".to_string(),
                Ok(f) if f.data_type() != want.data_type() => format!("is {}, expected {}", f.data_type(), want.data_type()),
                Ok(_) => continue,
            };
            return Err(DetectError::SeriesSchema { file: series.display().to_string(), column: want.name().clone(), problem });
        }
        Self::with_series(ctx, registry, &events, "series").await
    }

    /// Read the series from several Parquet files in the order given, as one table: the lake's maintained series
    /// table (`signals::series_files`), whose files in (signal, month) order hold the points of a full rebuild's
    /// single file in the same order, so a scan of them reads every term in the same order and makes the same
    /// findings. `accounts` are the table's files of (billing account, sub-account) pairs (`signals::account_files`),
    /// which spare reading every point to open the scanner; when empty, the pairs are read from the points.
    pub async fn from_parquet_files(
        files: &[std::path::PathBuf],
        accounts: &[std::path::PathBuf],
        registry: Registry,
        events: Events,
        engine: &Engine,
    ) -> Result<Scanner, DetectError> {
        use datafusion::datasource::file_format::parquet::ParquetFormat;
        use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
        let ctx = Self::session(engine).await?;
        let listing = |files: &[std::path::PathBuf], schema: SchemaRef| -> Result<Arc<ListingTable>, DetectError> {
            let urls = files.iter().map(|p| ListingTableUrl::parse(p.to_string_lossy())).collect::<Result<Vec<_>, _>>()?;
            let options = ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
            Ok(Arc::new(ListingTable::try_new(ListingTableConfig::new_with_multi_paths(urls).with_listing_options(options).with_schema(schema))?))
        };
        if files.is_empty() {
            ctx.register_table("series", Arc::new(MemTable::try_new(signals::series_schema(), vec![vec![]])?))?;
        } else {
            ctx.register_table("series", listing(files, signals::series_schema())?)?;
        }
        if accounts.is_empty() {
            return Self::with_series(ctx, registry, &events, "series").await;
        }
        ctx.register_table("series_accounts", listing(accounts, signals::account_schema())?)?;
        Self::with_series(ctx, registry, &events, "series_accounts").await
    }

    /// Write a series stream (as [`signals::series_stream`] builds it from the lake, daily) to a scratch Parquet
    /// file that the scanner owns, then read it as [`Scanner::from_parquet`] does: a large population's series is
    /// never held in memory.
    /// On a cluster, the scratch file is in this machine's temporary folder, so its executors must share it.
    pub async fn from_stream(
        mut points: datafusion::execution::SendableRecordBatchStream,
        registry: Registry,
        events: Events,
        engine: &Engine,
    ) -> Result<Scanner, DetectError> {
        use futures::TryStreamExt;
        let scratch = tempfile::Builder::new().prefix("oversight-scan-").tempdir().map_err(|e| DetectError::Scratch(e.to_string()))?;
        let path = scratch.path().join("series.parquet");
        let file = std::fs::File::create(&path).map_err(|e| DetectError::Scratch(format!("{}: {e}", path.display())))?;
        let mut w = datafusion::parquet::arrow::ArrowWriter::try_new(file, signals::series_schema(), Some(signals::parquet_properties()))?;
        while let Some(b) = points.try_next().await? {
            w.write(&b)?;
        }
        w.close()?;
        let mut scanner = Self::from_parquet(&path, registry, events, engine).await?;
        scanner._scratch = Some(scratch);
        Ok(scanner)
    }

    /// A session that pushes filters into Parquet scans, so a query over one signal decodes only its rows.
    async fn session(engine: &Engine) -> Result<SessionContext, DetectError> {
        // One partition: a sum of doubles depends on the order of its terms, and with several partitions the order
        // in which partial sums meet varies from run to run, so the same lake could give findings that differ in
        // the last bit. One partition reads the series in file order, every time.
        let mut config = SessionConfig::new().with_target_partitions(1);
        let parquet = &mut config.options_mut().execution.parquet;
        parquet.pushdown_filters = true;
        parquet.reorder_filters = true;
        // Text columns as plain Utf8, as the in-memory series has them, so every source reads back the same types.
        parquet.schema_force_view_types = false;
        Ok(engine.session(config, RuntimeEnvBuilder::new()).await?)
    }

    /// Register the registry and events tables, and the billing accounts' parents from the (billing account,
    /// sub-account) pairs of table `pairs` (the series itself, or the pairs kept beside it).
    async fn with_series(ctx: SessionContext, registry: Registry, events: &Events, pairs: &str) -> Result<Scanner, DetectError> {
        let mut tables = side_tables(&registry, events)?;
        for (name, batch) in &tables {
            ctx.register_table(*name, Arc::new(MemTable::try_new(batch.schema(), vec![vec![batch.clone()]])?))?;
        }
        // A sub-account the registry does not know yet (created last week, or never registered) belongs to the
        // parent the registry gives the other sub-accounts of its billing account, when they all have the same one:
        // otherwise a parent's new sub-accounts would sum apart from its registered ones, and a split operation
        // that rotates its sub-accounts would stay under every parent threshold. A billing account whose registered
        // sub-accounts have several parents (an enterprise enrollment of many departments) attributes nothing.
        // In account order, so the table is the same whichever source the pairs come from.
        let sql = format!(
            "SELECT b.billing AS billing_account_id, MIN(t.parent_id) AS parent_id \
             FROM (SELECT DISTINCT billing_account_id AS billing, sub_account_id AS sub FROM {pairs}) b \
             JOIN tenants t ON t.account_id = b.sub WHERE t.parent_id IS NOT NULL \
             GROUP BY b.billing HAVING COUNT(DISTINCT t.parent_id) = 1 ORDER BY billing_account_id"
        );
        let found = ctx.sql(&sql).await?.collect().await?;
        let schema = Arc::new(Schema::new(vec![Field::new("billing_account_id", DataType::Utf8, false), Field::new("parent_id", DataType::Utf8, true)]));
        let batch = arrow::compute::concat_batches(&schema, &found)?;
        ctx.register_table("billing_parents", Arc::new(MemTable::try_new(schema, vec![vec![batch.clone()]])?))?;
        tables.push(("billing_parents", batch));
        Ok(Scanner { ctx, registry, tables, log: Mutex::new(Vec::new()), _scratch: None })
    }

    /// The registry and events tables the queries join (`tenants`, `approvals`, `events`), for replaying the
    /// statements elsewhere.
    pub fn tables(&self) -> &[(&'static str, RecordBatch)] {
        &self.tables
    }

    /// Every statement run so far, in order.
    pub fn statements(&self) -> Vec<Statement> {
        self.log.lock().expect("the log is never poisoned").clone()
    }

    /// Run a statement, recording it.
    async fn run(&self, label: String, sql: String) -> Result<Vec<RecordBatch>, DetectError> {
        let started = std::time::Instant::now();
        let rows = self.ctx.sql(&sql).await?.collect().await?;
        self.log.lock().expect("the log is never poisoned").push(Statement { label, sql, elapsed: started.elapsed() });
        Ok(rows)
    }

    /// The last day with any series value.
    pub async fn last_day(&self) -> Result<Option<i64>, DetectError> {
        // The maximum of the column itself, which a Parquet reader answers from statistics; the day number is taken here.
        let b = self.run("last-day".into(), "SELECT MAX(s.bucket_start) AS last FROM series s".into()).await?;
        let v = b.first().map(|b| b.column(0).as_any().downcast_ref::<TimestampMicrosecondArray>().expect("a timestamp").clone());
        Ok(v.filter(|a| !a.is_empty() && !a.is_null(0)).map(|a| a.value(0).div_euclid(DAY_MICROS)))
    }

    /// The registry in use.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The SQL of a policy; `days` limits the days answered (inclusive).
    pub fn sql(policy: &Loaded, days: Option<(i64, i64)>) -> String {
        let p = &policy.policy;
        // Sub-accounts with their registry sector; unknown accounts are scanned as `unknown` (DESIGN.md §3).
        let account = format!(
            "SELECT s.sub_account_id AS account_id, {PARENT} AS parent_id, \
             COALESCE(t.sector, 'unknown') AS sector, s.signal, {DAY} AS day, s.value \
             FROM series s LEFT JOIN tenants t ON t.account_id = s.sub_account_id {BILLING_PARENT}"
        );
        // Only the policy's signals: the series is laid out by signal, so the others are never read.
        let mut names: Vec<&str> = p.conditions.iter().map(|c| c.signal.get_ref().as_str()).collect();
        names.sort_unstable();
        names.dedup();
        let signals = format!("s.signal IN ({})", quoted(names));
        // A scan answers a few days: the windows then need only the days they look back over, and reading only those
        // is what makes a daily scan cost days, not the whole history (the frames see exactly the same rows).
        let account = match days {
            Some((first, last)) => {
                format!("{account} WHERE {} AND {}", days_between(first - p.conditions.iter().map(|c| c.reach()).max().unwrap_or(0), last), signals)
            }
            None => format!("{account} WHERE {signals}"),
        };
        let base = match p.scope {
            Scope::Account => {
                format!("SELECT account_id, sector, signal, day, SUM(value) AS value FROM ({account}) a GROUP BY account_id, sector, signal, day")
            }
            Scope::Parent => format!(
                "SELECT a.parent_id AS account_id, COALESCE(t.sector, 'unknown') AS sector, a.signal, a.day, SUM(a.value) AS value \
                 FROM ({account}) a LEFT JOIN tenants t ON t.account_id = a.parent_id GROUP BY a.parent_id, COALESCE(t.sector, 'unknown'), a.signal, a.day"
            ),
        };
        let mut ctes = vec![format!("base AS ({base})")];
        // A scan of one day needs no windows, except for monotonic growth (a minimum over days of a windowed ratio).
        let one_day = match days {
            Some((a, b)) if a == b && p.conditions.iter().all(|c| c.measure != Measure::Monotonic) => Some(a),
            _ => None,
        };
        let frame = |from: u32, to: u32| {
            let to = if to == 0 { "CURRENT ROW".to_string() } else { format!("{to} PRECEDING") };
            format!("OVER (PARTITION BY account_id ORDER BY day RANGE BETWEEN {from} PRECEDING AND {to})")
        };
        for (i, c) in p.conditions.iter().enumerate() {
            let n = c.window_days;
            // An account has one sector, so grouping by it too carries it to the result without another pass.
            let daily = format!(
                "SELECT account_id, sector, day, SUM(value) AS v FROM base WHERE signal = {} GROUP BY account_id, sector, day",
                quote(c.signal.get_ref())
            );
            // Each aggregate over days `from..=to` before the answered day: a window frame when every day is
            // answered, and on a one-day scan a conditional aggregate per account (a plain aggregation, far cheaper
            // than a window over thousands of partitions).
            let agg = |f: &str, from: u32, to: u32| match one_day {
                Some(d) => format!("{f}(CASE WHEN day BETWEEN {} AND {} THEN v END)", d - i64::from(from), d - i64::from(to)),
                None => format!("{f}(v) {}", frame(from, to)),
            };
            let expr = match c.measure {
                Measure::Sum => agg("SUM", n - 1, 0),
                Measure::Rate => {
                    let hours = f64::from(n) * c.per.unwrap_or(Per::Day).in_a_day();
                    format!("{} / {hours:.1}", agg("SUM", n - 1, 0))
                }
                Measure::Max => agg("MAX", n - 1, 0),
                // A ratio needs a full baseline week: at the start of the data a partial week would read as growth.
                Measure::Growth => format!("CASE WHEN {} = 7 THEN {} / NULLIF({}, 0) END", agg("COUNT", n + 6, n), agg("SUM", 6, 0), agg("SUM", n + 6, n)),
                Measure::Monotonic => format!("CASE WHEN {} = 7 THEN {} / NULLIF({}, 0) END", agg("COUNT", 13, 7), agg("SUM", 6, 0), agg("SUM", 13, 7)),
            };
            let cte = if let Some(d) = one_day {
                // As with the window, an account is answered only if it has a value on the day itself.
                format!(
                    "c{i} AS (SELECT account_id, sector, {d} AS day, {expr} AS m FROM ({daily}) d GROUP BY account_id, sector HAVING {} > 0)",
                    agg("COUNT", 0, 0)
                )
            } else if c.measure == Measure::Monotonic {
                format!(
                    "c{i} AS (SELECT account_id, sector, day, MIN(r) {} AS m FROM (SELECT account_id, sector, day, {expr} AS r FROM ({daily}) d) w)",
                    frame(n - 1, 0)
                )
            } else {
                format!("c{i} AS (SELECT account_id, sector, day, {expr} AS m FROM ({daily}) d)")
            };
            ctes.push(cte);
        }
        let mut select = vec!["c0.account_id".to_string(), "c0.day".to_string(), "c0.sector".to_string()];
        let mut from = "c0".to_string();
        let mut filters = Vec::new();
        for (i, c) in p.conditions.iter().enumerate() {
            select.push(format!("c{i}.m AS m{i}"));
            if i > 0 {
                from.push_str(&format!(" JOIN c{i} ON c{i}.account_id = c0.account_id AND c{i}.day = c0.day"));
            }
            filters.push(format!("c{i}.m {} {:e}", c.op.sql(), c.threshold));
        }
        let sectors = p.sectors.get_ref();
        if !sectors.iter().any(|s| s == "any") {
            filters.push(format!("c0.sector IN ({})", quoted(sectors.iter().map(String::as_str))));
        }
        if let Some((a, b)) = days {
            filters.push(format!("c0.day BETWEEN {a} AND {b}"));
        }
        if let Some(grant) = &p.without_approval {
            filters.push(format!(
                "NOT EXISTS (SELECT 1 FROM approvals g WHERE g.account_id = c0.account_id AND g.name = {} AND (g.from_day IS NULL OR g.from_day <= c0.day))",
                quote(grant)
            ));
        }
        if let Some(after) = &p.after_event {
            // The latest such event up to the end of the day (23:59:59) is at most `within_days` days before it.
            let kinds: Vec<String> = after.kinds.iter().filter_map(|k| EventKind::parse(k)).map(|k| quote(k.as_str())).collect();
            let kinds = if kinds.is_empty() { "FALSE".to_string() } else { format!("e.kind IN ({})", kinds.join(", ")) };
            filters.push(format!(
                "EXISTS (SELECT 1 FROM events e WHERE e.account_id = c0.account_id AND {kinds} AND e.at_us <= c0.day * {DAY_MICROS} + {} AND c0.day - e.day <= {})",
                DAY_MICROS - 1_000_000,
                after.within_days
            ));
        }
        format!("WITH {} SELECT {} FROM {from} WHERE {} ORDER BY c0.account_id, c0.day", ctes.join(", "), select.join(", "), filters.join(" AND "))
    }

    /// The days on which a policy holds, per account.
    pub async fn hits(&self, policy: &Loaded, days: Option<(i64, i64)>) -> Result<Vec<Hit>, DetectError> {
        let batches = self.run(format!("policy:{}", policy.policy.id), Self::sql(policy, days)).await?;
        let n = policy.policy.conditions.len();
        let mut out = Vec::new();
        for b in &batches {
            let ids = b.column(0).as_any().downcast_ref::<StringArray>().expect("account_id is text");
            let day = b.column(1).as_any().downcast_ref::<Int64Array>().expect("day is an integer");
            let sector = b.column(2).as_any().downcast_ref::<StringArray>().expect("sector is text");
            let ms: Vec<&Float64Array> = (0..n).map(|i| b.column(3 + i).as_any().downcast_ref::<Float64Array>().expect("measures are doubles")).collect();
            for r in 0..b.num_rows() {
                out.push(Hit {
                    account_id: ids.value(r).to_string(),
                    day: day.value(r),
                    sector: sector.value(r).to_string(),
                    values: ms.iter().map(|m| if m.is_null(r) { f64::NAN } else { m.value(r) }).collect(),
                });
            }
        }
        Ok(out)
    }

    /// Daily values of `signals` for every account in `sectors` over `days` (inclusive; every day without it): per
    /// signal, in the order given, each account's `(account, sector, points)` sorted by account, the points by day.
    ///
    /// The engine only selects the rows: an account's rows of one day are summed here, in a canonical order (by
    /// value), so the sums do not depend on the order the engine returns rows in. A grouping and a sort in the query
    /// would cost more than the selection itself, for results that have about one row per group.
    pub async fn daily(&self, signals: &[&str], sectors: &[&str], days: Option<(i64, i64)>) -> Result<Vec<Vec<Daily>>, DetectError> {
        self.daily_of(Scope::Account, signals, sectors, days).await
    }

    /// [`Scanner::daily`] of accounts, or of parents (each the sum of its sub-accounts, with the parent's sector).
    pub async fn daily_of(&self, scope: Scope, signals: &[&str], sectors: &[&str], days: Option<(i64, i64)>) -> Result<Vec<Vec<Daily>>, DetectError> {
        let within = days.map(|(from, to)| format!(" AND {}", days_between(from, to))).unwrap_or_default();
        let (who, joins, sector) = match scope {
            Scope::Account => ("s.sub_account_id".to_string(), String::new(), "COALESCE(t.sector, 'unknown')"),
            Scope::Parent => {
                (PARENT.to_string(), format!("{BILLING_PARENT} LEFT JOIN tenants tp ON tp.account_id = {PARENT}"), "COALESCE(tp.sector, 'unknown')")
            }
        };
        let sql = format!(
            "SELECT {who} AS account_id, {sector} AS sector, s.signal, {DAY} AS day, s.value, s.sub_account_id \
             FROM series s LEFT JOIN tenants t ON t.account_id = s.sub_account_id {joins} WHERE s.signal IN ({}){within} AND {sector} IN ({})",
            quoted(signals.iter().copied()),
            quoted(sectors.iter().copied())
        );
        let batches = self.run("daily".into(), sql).await?;
        // (signal, account, day, value, sector), sorted: each account's points in order, and a day's rows summed
        // in one order whatever order they came in.
        let mut rows = Vec::with_capacity(batches.iter().map(|b| b.num_rows()).sum());
        for b in &batches {
            let ids = b.column(0).as_any().downcast_ref::<StringArray>().expect("account_id is text");
            let sector = b.column(1).as_any().downcast_ref::<StringArray>().expect("sector is text");
            let signal = b.column(2).as_any().downcast_ref::<StringArray>().expect("signal is text");
            let day = b.column(3).as_any().downcast_ref::<Int64Array>().expect("day is an integer");
            let v = b.column(4).as_any().downcast_ref::<Float64Array>().expect("value is a double");
            let part = b.column(5).as_any().downcast_ref::<StringArray>().expect("sub_account_id is text");
            for r in 0..b.num_rows() {
                let k = signals.iter().position(|s| *s == signal.value(r)).expect("the query selects these signals");
                rows.push((k, ids.value(r), day.value(r), v.value(r), sector.value(r), part.value(r)));
            }
        }
        rows.sort_unstable_by(|a, b| (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)).then(a.3.total_cmp(&b.3)));
        let mut out: Vec<Vec<Daily>> = vec![Vec::new(); signals.len()];
        for (k, account, d, x, sector, part) in rows {
            match out[k].last_mut() {
                Some(a) if a.account_id == account => match a.points.last_mut() {
                    Some(p) if p.0 == d => p.1 += x,
                    _ => a.points.push((d, x)),
                },
                _ => out[k].push(Daily { account_id: account.to_string(), sector: sector.to_string(), points: vec![(d, x)], parts: Vec::new() }),
            }
            if scope == Scope::Parent {
                let a = out[k].last_mut().expect("pushed above");
                if let Err(i) = a.parts.binary_search_by(|p| p.as_str().cmp(part)) {
                    a.parts.insert(i, part.to_string());
                }
            }
        }
        Ok(out)
    }

    /// What `accounts` had of `signals` before day `until`: for each (account, signal) with rows there, its first day
    /// and whether some day there sums above zero, as `(account, signal, first day, used)`. What a scan of a few days
    /// needs from the history it does not read.
    pub async fn before(&self, accounts: &[&str], signals: &[&str], until: i64) -> Result<Vec<(String, String, i64, bool)>, DetectError> {
        self.before_of(Scope::Account, accounts, signals, until).await
    }

    /// [`Scanner::before`] of accounts, or of parents (each the sum of its sub-accounts).
    pub async fn before_of(&self, scope: Scope, accounts: &[&str], signals: &[&str], until: i64) -> Result<Vec<(String, String, i64, bool)>, DetectError> {
        let mut out = Vec::new();
        if accounts.is_empty() || signals.is_empty() {
            return Ok(out);
        }
        let (who, joins) = match scope {
            Scope::Account => ("s.sub_account_id".to_string(), String::new()),
            Scope::Parent => (PARENT.to_string(), format!("LEFT JOIN tenants t ON t.account_id = s.sub_account_id {BILLING_PARENT}")),
        };
        let sql = format!(
            "SELECT account_id, signal, MIN(day) AS first, MAX(v) AS most FROM (SELECT {who} AS account_id, s.signal, {DAY} AS day, SUM(s.value) AS v \
             FROM series s {joins} WHERE {who} IN ({}) AND s.signal IN ({}) AND s.bucket_start < {} GROUP BY 1, 2, 3) d GROUP BY 1, 2",
            quoted(accounts.iter().copied()),
            quoted(signals.iter().copied()),
            start_of(until)
        );
        for b in &self.run("before".into(), sql).await? {
            let ids = b.column(0).as_any().downcast_ref::<StringArray>().expect("account_id is text");
            let signal = b.column(1).as_any().downcast_ref::<StringArray>().expect("signal is text");
            let first = b.column(2).as_any().downcast_ref::<Int64Array>().expect("day is an integer");
            let most = b.column(3).as_any().downcast_ref::<Float64Array>().expect("value is a double");
            for r in 0..b.num_rows() {
                out.push((ids.value(r).to_string(), signal.value(r).to_string(), first.value(r), most.value(r) > 0.0));
            }
        }
        Ok(out)
    }

    /// Daily values of one signal for one account (a parent sums its accounts) over `from..=to`.
    pub async fn points(&self, scope: Scope, account: &str, signal: &str, from: i64, to: i64) -> Result<Vec<(i64, f64)>, DetectError> {
        let mut all = self.points_of(scope, signal, &[(account.to_string(), from, to)]).await?;
        Ok(all.pop().unwrap_or_default())
    }

    /// Daily values of one signal for several `(account, from, to)` requests, in request order, with one statement
    /// (the evidence of every finding of a policy at once, instead of a statement per finding).
    pub async fn points_of(&self, scope: Scope, signal: &str, requests: &[(String, i64, i64)]) -> Result<Vec<Vec<(i64, f64)>>, DetectError> {
        let (Some(from), Some(to)) = (requests.iter().map(|r| r.1).min(), requests.iter().map(|r| r.2).max()) else {
            return Ok(Vec::new());
        };
        let who = match scope {
            Scope::Account => "s.sub_account_id",
            Scope::Parent => PARENT,
        };
        let accounts: std::collections::BTreeSet<&str> = requests.iter().map(|r| r.0.as_str()).collect();
        let list = quoted(accounts);
        let sql = format!(
            "SELECT {who} AS account_id, {DAY} AS day, SUM(s.value) AS v FROM series s LEFT JOIN tenants t ON t.account_id = s.sub_account_id {BILLING_PARENT} \
             WHERE {who} IN ({list}) AND s.signal = {} AND {} GROUP BY 1, 2 ORDER BY 1, 2",
            quote(signal),
            days_between(from, to)
        );
        let batches = self.run("points".into(), sql).await?;
        let mut by: std::collections::HashMap<String, Vec<(i64, f64)>> = std::collections::HashMap::new();
        for b in &batches {
            let a = b.column(0).as_any().downcast_ref::<StringArray>().expect("account_id is text");
            let d = b.column(1).as_any().downcast_ref::<Int64Array>().expect("day");
            let v = b.column(2).as_any().downcast_ref::<Float64Array>().expect("value");
            for r in 0..b.num_rows() {
                by.entry(a.value(r).to_string()).or_default().push((d.value(r), v.value(r)));
            }
        }
        Ok(requests
            .iter()
            .map(|(account, from, to)| by.get(account).map(|p| p.iter().copied().filter(|(d, _)| (*from..=*to).contains(d)).collect()).unwrap_or_default())
            .collect())
    }
}
