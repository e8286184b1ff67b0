//! Signal series from the usage lake: `(account, signal, hour|day) → quantity` in SI units.
//!
//! The series builder never matches meters row by row in SQL. It selects the distinct meter keys of the lake, maps
//! each key once through a [`MeterMapper`] (the meter catalog), registers the mapping as a small table, and lets
//! the query engine join and aggregate. Charges whose period spans several buckets (monthly storage rows, say) are
//! spread over the buckets they cover in proportion to time. The SQL is standard, so a distributed engine can run
//! the same statements over the same Parquet files.
#![deny(missing_docs)]

mod key;
mod series;

pub use key::{KEY_COLUMNS, MeterKey, MeterStats, meter_keys};
pub use series::{CatalogMapper, Granularity, Mapped, MeterMapper, MeterMapping, Quantity, build_series, series_schema};

use std::sync::Arc;

use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;

/// Errors of the series builder.
#[derive(Debug, thiserror::Error)]
pub enum SignalsError {
    /// The query engine failed.
    #[error("query: {0}")]
    Query(#[from] datafusion::error::DataFusionError),
    /// Arrow failed while assembling a result.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
}

/// A query session with the lake's live usage files registered as table `usage`.
///
/// Only the files the lake's manifest names are registered, never a folder listing, so a query cannot see a
/// half-written or replaced delivery.
pub fn session(usage_files: &[std::path::PathBuf]) -> Result<SessionContext, SignalsError> {
    let ctx = SessionContext::new();
    let schema = focus::schema::lake_schema();
    if usage_files.is_empty() {
        ctx.register_table("usage", Arc::new(MemTable::try_new(schema, vec![vec![]])?))?;
        return Ok(ctx);
    }
    let urls = usage_files
        .iter()
        .map(|p| ListingTableUrl::parse(p.to_string_lossy()))
        .collect::<Result<Vec<_>, _>>()?;
    let options = ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    let config = ListingTableConfig::new_with_multi_paths(urls).with_listing_options(options).with_schema(schema);
    ctx.register_table("usage", Arc::new(ListingTable::try_new(config)?))?;
    Ok(ctx)
}
