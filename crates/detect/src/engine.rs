//! Policies compiled to SQL over the daily series, run on DataFusion.
//!
//! Every condition becomes one window query over a `base` table of `(account_id, sector, signal, day, value)`;
//! the conditions of a policy are joined on `(account_id, day)`. Days are integers (days since 1970-01-01) so the
//! windows are standard `RANGE BETWEEN n PRECEDING AND m PRECEDING` frames, which any SQL engine runs. One query
//! answers every day at once: a scan keeps the as-of day, an evaluation keeps them all.

use std::sync::Arc;

use arrow::array::{Array, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use chrono::{Duration, NaiveDate};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use registry::{EventKind, Events, Registry};

use crate::policy::{Loaded, Measure, Per, Scope};
use crate::DetectError;

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

/// Daily series, the registry and the events, ready for policies.
pub struct Scanner {
    ctx: SessionContext,
    registry: Registry,
    events: Events,
}

/// A series row's day number (days since 1970-01-01), for a `series` table aliased `s`.
const DAY: &str = "CAST(CAST(s.bucket_start AS BIGINT) / 86400000000 AS BIGINT)";

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

impl Scanner {
    /// Register the series batches (as `oversight signals` builds them, daily) and the registry.
    pub fn new(series: Vec<RecordBatch>, registry: Registry, events: Events) -> Result<Scanner, DetectError> {
        let ctx = SessionContext::new();
        let schema = signals::series_schema();
        ctx.register_table("series", Arc::new(MemTable::try_new(schema, vec![series])?))?;
        let tenants = Schema::new(vec![Field::new("account_id", DataType::Utf8, false), Field::new("parent_id", DataType::Utf8, true), Field::new("sector", DataType::Utf8, false)]);
        let (mut ids, mut parents, mut sectors) = (Vec::new(), Vec::new(), Vec::new());
        for t in registry.iter() {
            ids.push(t.account_id.clone());
            parents.push(t.parent_id.clone());
            sectors.push(t.sector.as_str().to_string());
        }
        let batch = RecordBatch::try_new(
            Arc::new(tenants.clone()),
            vec![Arc::new(StringArray::from(ids)), Arc::new(StringArray::from(parents)), Arc::new(StringArray::from(sectors))],
        )?;
        ctx.register_table("tenants", Arc::new(MemTable::try_new(Arc::new(tenants), vec![vec![batch]])?))?;
        Ok(Scanner { ctx, registry, events })
    }

    /// The last day with any series value.
    pub async fn last_day(&self) -> Result<Option<i64>, DetectError> {
        let b = self.ctx.sql(&format!("SELECT MAX({DAY}) FROM series s")).await?.collect().await?;
        let v = b.first().map(|b| b.column(0).as_any().downcast_ref::<Int64Array>().expect("a day number").clone());
        Ok(v.filter(|a| !a.is_empty() && !a.is_null(0)).map(|a| a.value(0)))
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
            "SELECT s.sub_account_id AS account_id, COALESCE(t.parent_id, s.billing_account_id) AS parent_id, \
             COALESCE(t.sector, 'unknown') AS sector, s.signal, {DAY} AS day, s.value \
             FROM series s LEFT JOIN tenants t ON t.account_id = s.sub_account_id"
        );
        let base = match p.scope {
            Scope::Account => format!("SELECT account_id, sector, signal, day, SUM(value) AS value FROM ({account}) a GROUP BY account_id, sector, signal, day"),
            Scope::Parent => format!(
                "SELECT a.parent_id AS account_id, COALESCE(t.sector, 'unknown') AS sector, a.signal, a.day, SUM(a.value) AS value \
                 FROM ({account}) a LEFT JOIN tenants t ON t.account_id = a.parent_id GROUP BY a.parent_id, COALESCE(t.sector, 'unknown'), a.signal, a.day"
            ),
        };
        let mut ctes = vec![format!("base AS ({base})")];
        let frame = |from: u32, to: u32| {
            let to = if to == 0 { "CURRENT ROW".to_string() } else { format!("{to} PRECEDING") };
            format!("OVER (PARTITION BY account_id ORDER BY day RANGE BETWEEN {from} PRECEDING AND {to})")
        };
        for (i, c) in p.conditions.iter().enumerate() {
            let n = c.window_days;
            let daily = format!("SELECT account_id, day, SUM(value) AS v FROM base WHERE signal = {} GROUP BY account_id, day", quote(c.signal.get_ref()));
            let expr = match c.measure {
                Measure::Sum => format!("SUM(v) {}", frame(n - 1, 0)),
                Measure::Rate => {
                    let hours = f64::from(n) * if c.per == Some(Per::Hour) { 24.0 } else { 1.0 };
                    format!("SUM(v) {} / {hours:.1}", frame(n - 1, 0))
                }
                Measure::Max => format!("MAX(v) {}", frame(n - 1, 0)),
                // A ratio needs a full baseline week: at the start of the data a partial week would read as growth.
                Measure::Growth => format!("CASE WHEN COUNT(v) {b} = 7 THEN SUM(v) {} / NULLIF(SUM(v) {b}, 0) END", frame(6, 0), b = frame(n + 6, n)),
                Measure::Monotonic => format!("CASE WHEN COUNT(v) {b} = 7 THEN SUM(v) {} / NULLIF(SUM(v) {b}, 0) END", frame(6, 0), b = frame(13, 7)),
            };
            let cte = if c.measure == Measure::Monotonic {
                format!("c{i} AS (SELECT account_id, day, MIN(r) {} AS m FROM (SELECT account_id, day, {expr} AS r FROM ({daily}) d) w)", frame(n - 1, 0))
            } else {
                format!("c{i} AS (SELECT account_id, day, {expr} AS m FROM ({daily}) d)")
            };
            ctes.push(cte);
        }
        ctes.push("sectors AS (SELECT DISTINCT account_id, sector FROM base)".into());
        let mut select = vec!["c0.account_id".to_string(), "c0.day".to_string(), "s.sector".to_string()];
        let mut from = "c0".to_string();
        let mut filters = Vec::new();
        for (i, c) in p.conditions.iter().enumerate() {
            select.push(format!("c{i}.m AS m{i}"));
            if i > 0 {
                from.push_str(&format!(" JOIN c{i} ON c{i}.account_id = c0.account_id AND c{i}.day = c0.day"));
            }
            filters.push(format!("c{i}.m {} {:e}", c.op.sql(), c.threshold));
        }
        from.push_str(" JOIN sectors s ON s.account_id = c0.account_id");
        let sectors = p.sectors.get_ref();
        if !sectors.iter().any(|s| s == "any") {
            filters.push(format!("s.sector IN ({})", sectors.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", ")));
        }
        if let Some((a, b)) = days {
            filters.push(format!("c0.day BETWEEN {a} AND {b}"));
        }
        format!("WITH {} SELECT {} FROM {from} WHERE {} ORDER BY c0.account_id, c0.day", ctes.join(", "), select.join(", "), filters.join(" AND "))
    }

    /// The days on which a policy holds, per account, after its approval and event conditions.
    pub async fn hits(&self, policy: &Loaded, days: Option<(i64, i64)>) -> Result<Vec<Hit>, DetectError> {
        let sql = Self::sql(policy, days);
        let batches = self.ctx.sql(&sql).await?.collect().await?;
        let n = policy.policy.conditions.len();
        let mut out = Vec::new();
        for b in &batches {
            let ids = b.column(0).as_any().downcast_ref::<StringArray>().expect("account_id is text");
            let day = b.column(1).as_any().downcast_ref::<Int64Array>().expect("day is an integer");
            let sector = b.column(2).as_any().downcast_ref::<StringArray>().expect("sector is text");
            let ms: Vec<&Float64Array> = (0..n).map(|i| b.column(3 + i).as_any().downcast_ref::<Float64Array>().expect("measures are doubles")).collect();
            for r in 0..b.num_rows() {
                let hit = Hit { account_id: ids.value(r).to_string(), day: day.value(r), sector: sector.value(r).to_string(), values: ms.iter().map(|m| if m.is_null(r) { f64::NAN } else { m.value(r) }).collect() };
                if self.admits(policy, &hit) {
                    out.push(hit);
                }
            }
        }
        Ok(out)
    }

    /// Daily series of one signal for every account in `sectors`, ordered by account then day.
    pub async fn daily(&self, signal: &str, sectors: &[&str]) -> Result<Vec<(String, String, Vec<(i64, f64)>)>, DetectError> {
        let list = sectors.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT s.sub_account_id AS account_id, COALESCE(t.sector, 'unknown') AS sector, {DAY} AS day, SUM(s.value) AS v \
             FROM series s LEFT JOIN tenants t ON t.account_id = s.sub_account_id WHERE s.signal = {} AND COALESCE(t.sector, 'unknown') IN ({list}) \
             GROUP BY 1, 2, 3 ORDER BY 1, 3",
            quote(signal)
        );
        let batches = self.ctx.sql(&sql).await?.collect().await?;
        let mut out: Vec<(String, String, Vec<(i64, f64)>)> = Vec::new();
        for b in &batches {
            let ids = b.column(0).as_any().downcast_ref::<StringArray>().expect("account_id is text");
            let sector = b.column(1).as_any().downcast_ref::<StringArray>().expect("sector is text");
            let day = b.column(2).as_any().downcast_ref::<Int64Array>().expect("day is an integer");
            let v = b.column(3).as_any().downcast_ref::<Float64Array>().expect("value is a double");
            for r in 0..b.num_rows() {
                if out.last().is_none_or(|l| l.0 != ids.value(r)) {
                    out.push((ids.value(r).to_string(), sector.value(r).to_string(), Vec::new()));
                }
                out.last_mut().expect("pushed above").2.push((day.value(r), v.value(r)));
            }
        }
        Ok(out)
    }

    /// The conditions SQL does not state: the missing approval and the recent event.
    fn admits(&self, policy: &Loaded, hit: &Hit) -> bool {
        let p = &policy.policy;
        let on = date(hit.day);
        if let Some(grant) = &p.without_approval {
            if self.registry.has_approval(&hit.account_id, grant, on) {
                return false;
            }
        }
        if let Some(after) = &p.after_event {
            let kinds: Vec<EventKind> = after.kinds.iter().filter_map(|k| EventKind::parse(k)).collect();
            let end = on.and_hms_opt(23, 59, 59).expect("valid time").and_utc();
            match self.events.last_before(&hit.account_id, &kinds, end) {
                Some(e) if (on - e.at.date_naive()).num_days() <= i64::from(after.within_days) => {}
                _ => return false,
            }
        }
        true
    }

    /// Daily values of one signal for one account (a parent sums its accounts) over `from..=to`.
    pub async fn points(&self, scope: Scope, account: &str, signal: &str, from: i64, to: i64) -> Result<Vec<(i64, f64)>, DetectError> {
        let who = match scope {
            Scope::Account => format!("s.sub_account_id = {}", quote(account)),
            Scope::Parent => format!("COALESCE(t.parent_id, s.billing_account_id) = {}", quote(account)),
        };
        let sql = format!(
            "SELECT {DAY} AS day, SUM(s.value) AS v FROM series s LEFT JOIN tenants t ON t.account_id = s.sub_account_id \
             WHERE {who} AND s.signal = {} AND {DAY} BETWEEN {from} AND {to} GROUP BY 1 ORDER BY 1",
            quote(signal)
        );
        let batches = self.ctx.sql(&sql).await?.collect().await?;
        let mut out = Vec::new();
        for b in &batches {
            let d = b.column(0).as_any().downcast_ref::<Int64Array>().expect("day");
            let v = b.column(1).as_any().downcast_ref::<Float64Array>().expect("value");
            for r in 0..b.num_rows() {
                out.push((d.value(r), v.value(r)));
            }
        }
        Ok(out)
    }
}
