//! What a result rests on: the rows the lake holds per provider, billing account and month, the deliveries behind
//! them, and the days each account has data on. `scan` and `eval` print it beside their findings, so that a
//! "no finding" on an account whose data is mostly missing reads as "not assessed", not as clean.
//!
//! Rows come from the usage table (standard SQL, like the series); deliveries and quarantined rows from the lake's
//! manifest, which records every delivery ever seen, applied or not.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{Int64Type, TimestampMicrosecondType};
use chrono::{DateTime, Duration, NaiveDate};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::prelude::SessionContext;
use serde::Serialize;

use crate::SignalsError;

/// Days before the reported day that an account's data is judged on.
pub const WINDOW_DAYS: i64 = 30;

/// The rows of one provider's billing account in one month.
#[derive(Debug, Clone, Serialize)]
pub struct MonthRows {
    /// `ProviderName` as written.
    pub provider: String,
    /// `BillingAccountId`.
    pub billing_account_id: String,
    /// `YYYY-MM` of `ChargePeriodStart`.
    pub month: String,
    /// Rows in the lake.
    pub rows: u64,
    /// Sub-accounts with rows.
    pub sub_accounts: u64,
}

/// The deliveries of one provider for one month (the replacement unit's month, or for append-model files the month
/// they were delivered in).
#[derive(Debug, Clone, Default, Serialize)]
pub struct MonthDeliveries {
    /// The lake's provider id (`azure`, `aws`, `gcp`, `oci`, `other`).
    pub provider: String,
    /// `YYYY-MM`.
    pub month: String,
    /// Deliveries whose rows are live.
    pub applied: u64,
    /// Deliveries applied, then replaced by a newer delivery of their unit.
    pub replaced: u64,
    /// Deliveries recorded without being applied: older than the applied one, or superseded in the same run.
    pub recorded_only: u64,
    /// Deliveries refused whole and not ingested since (their unit has no applied delivery as new): a file that
    /// could not be read as FOCUS, say. Their rows are missing from the lake.
    pub refused: u64,
    /// Of those, the deliveries whose manifest lists a file that is absent or of another size.
    pub missing: u64,
    /// Rows read from the live deliveries.
    pub rows_read: u64,
    /// Rows of the live deliveries that were quarantined.
    pub rows_quarantined: u64,
}

/// The rows quarantined of one billing account in one month, as the quarantined rows name them (empty when the
/// row's `BillingAccountId` or `ChargePeriodStart` could not be read).
#[derive(Debug, Clone, Serialize)]
pub struct MonthQuarantined {
    /// The lake's provider id of the delivery the rows came in.
    pub provider: String,
    /// `BillingAccountId` as written.
    pub billing_account_id: String,
    /// `YYYY-MM` of `ChargePeriodStart`.
    pub month: String,
    /// Rows quarantined.
    pub rows: u64,
}

/// One account's days with data.
#[derive(Debug, Clone, Serialize)]
pub struct AccountDays {
    /// `BillingAccountId`.
    pub billing_account_id: String,
    /// `SubAccountId` (empty for rows without one).
    pub sub_account_id: String,
    /// The first day with a row.
    pub first_day: NaiveDate,
    /// The last day with a row.
    pub last_day: NaiveDate,
    /// Days with a row, from the first to the lake's last day.
    pub days_with_data: u64,
    /// Days without one in that span: missing exports, or an account retired before the lake's last day.
    pub days_missing: u64,
    /// Days with a row in the window of [`WINDOW_DAYS`] up to the reported day.
    pub days_in_window: u64,
    /// Days of that window on or after the account's first day.
    pub window_days: u64,
}

impl AccountDays {
    /// Whether the account's data covers at least half of the window since it first had data. An account with data
    /// before that has too little in the window is not assessed: no finding on it means nothing.
    pub fn assessed(&self) -> bool {
        self.window_days == 0 || self.days_in_window * 2 >= self.window_days
    }
}

/// What a result rests on.
#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    /// The day the window ends on (the reported day).
    pub as_of: Option<NaiveDate>,
    /// The last day the lake has a row for.
    pub last_day: Option<NaiveDate>,
    /// Rows in the lake.
    pub rows_kept: u64,
    /// Rows quarantined by the live deliveries.
    pub rows_quarantined: u64,
    /// `rows_quarantined / (rows_kept + rows_quarantined)`, 0 for an empty lake.
    pub quarantine_share: f64,
    /// Per provider, billing account and month: the rows kept.
    pub months: Vec<MonthRows>,
    /// Per provider, billing account and month: the rows of live deliveries quarantined, most first.
    pub quarantined: Vec<MonthQuarantined>,
    /// Per provider and month.
    pub deliveries: Vec<MonthDeliveries>,
    /// Per account.
    pub accounts: Vec<AccountDays>,
}

impl Coverage {
    /// Deliveries refused and not ingested since: their rows are missing from the lake.
    pub fn refused(&self) -> u64 {
        self.deliveries.iter().map(|d| d.refused).sum()
    }

    /// The accounts not assessed on the reported day.
    pub fn not_assessed(&self) -> impl Iterator<Item = &AccountDays> {
        self.accounts.iter().filter(|a| !a.assessed())
    }
}

fn day(micros: i64) -> NaiveDate {
    DateTime::from_timestamp_micros(micros).map(|t| t.date_naive()).unwrap_or_default()
}

/// The coverage of the lake whose usage table `ctx` holds, whose manifest replayed to `state` and whose live
/// quarantine files are `quarantine_files`, judged on the [`WINDOW_DAYS`] up to `as_of` (default: the lake's last
/// day).
pub async fn coverage(ctx: &SessionContext, state: &lake::State, quarantine_files: &[PathBuf], as_of: Option<NaiveDate>) -> Result<Coverage, SignalsError> {
    let mut months = Vec::new();
    let sql = "SELECT coalesce(\"ProviderName\", '') AS provider, \"BillingAccountId\" AS billing, \
                 date_trunc('month', \"ChargePeriodStart\") AS month, count(*) AS n, count(DISTINCT \"SubAccountId\") AS subs \
               FROM usage GROUP BY 1, 2, 3 ORDER BY 1, 2, 3";
    for b in ctx.sql(sql).await?.collect().await? {
        let (p, a) = (b.column(0).as_string::<i32>(), b.column(1).as_string::<i32>());
        let (m, n, s) =
            (b.column(2).as_primitive::<TimestampMicrosecondType>(), b.column(3).as_primitive::<Int64Type>(), b.column(4).as_primitive::<Int64Type>());
        for i in 0..b.num_rows() {
            months.push(MonthRows {
                provider: p.value(i).to_string(),
                billing_account_id: a.value(i).to_string(),
                month: day(m.value(i)).format("%Y-%m").to_string(),
                rows: n.value(i) as u64,
                sub_accounts: s.value(i) as u64,
            });
        }
    }
    let rows_kept: u64 = months.iter().map(|m| m.rows).sum();

    let last = ctx.sql("SELECT max(\"ChargePeriodStart\") FROM usage").await?.collect().await?;
    let last_day = last
        .first()
        .map(|b| b.column(0).as_primitive::<TimestampMicrosecondType>().clone())
        .filter(|a| !a.is_empty() && !a.is_null(0))
        .map(|a| day(a.value(0)));
    let end = as_of.or(last_day);
    let mut accounts = Vec::new();
    if let (Some(last_day), Some(end)) = (last_day, end) {
        let start = end - Duration::days(WINDOW_DAYS - 1);
        let lit = |d: NaiveDate| format!("TIMESTAMP '{d} 00:00:00+00:00'");
        let sql = format!(
            "SELECT billing, sub, min(d) AS first, max(d) AS last, count(DISTINCT d) AS days, \
               count(DISTINCT CASE WHEN d >= {} AND d <= {} THEN d END) AS win \
             FROM (SELECT \"BillingAccountId\" AS billing, coalesce(\"SubAccountId\", '') AS sub, date_trunc('day', \"ChargePeriodStart\") AS d FROM usage) r \
             GROUP BY billing, sub ORDER BY billing, sub",
            lit(start),
            lit(end)
        );
        for b in ctx.sql(&sql).await?.collect().await? {
            let (ba, sa) = (b.column(0).as_string::<i32>(), b.column(1).as_string::<i32>());
            let (f, l) = (b.column(2).as_primitive::<TimestampMicrosecondType>(), b.column(3).as_primitive::<TimestampMicrosecondType>());
            let (n, w) = (b.column(4).as_primitive::<Int64Type>(), b.column(5).as_primitive::<Int64Type>());
            for i in 0..b.num_rows() {
                let (first, last) = (day(f.value(i)), day(l.value(i)));
                let span = (last_day - first).num_days() + 1;
                let window_days = (end - first.max(start)).num_days() + 1;
                accounts.push(AccountDays {
                    billing_account_id: ba.value(i).to_string(),
                    sub_account_id: sa.value(i).to_string(),
                    first_day: first,
                    last_day: last,
                    days_with_data: n.value(i) as u64,
                    days_missing: (span - n.value(i)).max(0) as u64,
                    days_in_window: w.value(i) as u64,
                    window_days: window_days.max(0) as u64,
                });
            }
        }
    }

    let mut deliveries: BTreeMap<(String, String), MonthDeliveries> = BTreeMap::new();
    let mut live_ids: HashMap<&str, String> = HashMap::new();
    let mut rows_quarantined = 0;
    // A refusal counts once however often it was tried, and not at all once its delivery or a newer one of its
    // unit was ingested.
    let mut refusals_seen = std::collections::HashSet::new();
    for d in &state.deliveries {
        let provider = serde_json::to_value(d.provider).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        // A unit names its month last (`…:YYYY-MM`); an append-model file has none, and counts in the month it came.
        let month = d.units.first().and_then(|u| u.rsplit(':').next()).map_or_else(|| d.delivered_at.format("%Y-%m").to_string(), str::to_string);
        let e = deliveries.entry((provider.clone(), month.clone())).or_insert_with(|| MonthDeliveries { provider, month, ..Default::default() });
        if let lake::Outcome::Refused { incomplete, .. } = d.outcome {
            let since = state.ids.contains(&d.id) || d.units.iter().any(|u| state.heads.get(u).is_some_and(|(t, _)| *t >= d.delivered_at));
            if !since && refusals_seen.insert(d.id.as_str()) {
                e.refused += 1;
                e.missing += u64::from(incomplete);
            }
        } else if d.outcome != lake::Outcome::Applied {
            e.recorded_only += 1;
        } else if !state.is_live(d) {
            e.replaced += 1;
        } else {
            e.applied += 1;
            live_ids.insert(d.id.as_str(), e.provider.clone());
            let q: u64 = d.files.iter().map(|f| f.rows_quarantined).sum();
            e.rows_read += d.files.iter().map(|f| f.rows_read).sum::<u64>();
            e.rows_quarantined += q;
            rows_quarantined += q;
        }
    }
    let quarantined = quarantined_rows(ctx, quarantine_files, &live_ids).await?;
    let total = rows_kept + rows_quarantined;
    Ok(Coverage {
        as_of: end,
        last_day,
        rows_kept,
        rows_quarantined,
        quarantine_share: if total == 0 { 0.0 } else { rows_quarantined as f64 / total as f64 },
        months,
        quarantined,
        deliveries: deliveries.into_values().collect(),
        accounts,
    })
}

/// The quarantined rows of the live deliveries (`live`: id → provider) per billing account and month, most first.
/// A row with several bad cells has a record per cell; it counts once.
async fn quarantined_rows(ctx: &SessionContext, files: &[PathBuf], live: &HashMap<&str, String>) -> Result<Vec<MonthQuarantined>, SignalsError> {
    if files.is_empty() {
        return Ok(vec![]);
    }
    let urls = files.iter().map(|p| ListingTableUrl::parse(p.to_string_lossy())).collect::<Result<Vec<_>, _>>()?;
    let options = ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    let config = ListingTableConfig::new_with_multi_paths(urls).with_listing_options(options).with_schema(lake::quarantine_schema());
    ctx.register_table("quarantine", Arc::new(ListingTable::try_new(config)?))?;
    let sql = "SELECT delivery, coalesce(billing_account, '') AS billing, coalesce(month, '') AS month, count(*) AS n \
               FROM (SELECT DISTINCT delivery, file, \"row\", billing_account, month FROM quarantine) q GROUP BY 1, 2, 3";
    let mut out: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    for b in ctx.sql(sql).await?.collect().await? {
        let (d, a, m, n) =
            (b.column(0).as_string::<i32>(), b.column(1).as_string::<i32>(), b.column(2).as_string::<i32>(), b.column(3).as_primitive::<Int64Type>());
        for i in 0..b.num_rows() {
            if let Some(p) = live.get(d.value(i)) {
                *out.entry((p.clone(), a.value(i).to_string(), m.value(i).to_string())).or_default() += n.value(i) as u64;
            }
        }
    }
    ctx.deregister_table("quarantine")?;
    let mut rows: Vec<MonthQuarantined> =
        out.into_iter().map(|((provider, billing_account_id, month), rows)| MonthQuarantined { provider, billing_account_id, month, rows }).collect();
    rows.sort_by_key(|q| std::cmp::Reverse(q.rows));
    Ok(rows)
}
