//! Signal series from the usage lake: `(account, signal, hour|day) → quantity` in SI units.
//!
//! The series builder never matches meters row by row in SQL. It selects the distinct meter keys of the lake, maps
//! each key once through a [`MeterMapper`] (the meter catalog), registers the mapping as a small table, and lets
//! the query engine join and aggregate. Charges whose period spans several buckets (monthly storage rows, say) are
//! spread over the buckets they cover in proportion to time. The SQL is standard, so a distributed engine can run
//! the same statements over the same Parquet files.
#![deny(missing_docs)]

pub mod coverage;
pub mod daily;
mod key;
mod series;

pub use coverage::{Coverage, coverage};
pub use daily::{Update, account_files, account_schema, series_files, series_of, update_series};
/// The query session every function here takes (DataFusion's), so callers need not name the engine.
pub use datafusion::prelude::SessionContext;
pub use key::{KEY_COLUMNS, MeterKey, MeterStats, meter_keys};
pub use series::{
    CatalogMapper, Granularity, Mapped, MeterMapper, MeterMapping, PARQUET_ROW_GROUP, Quantity, SeriesStream, build_series, parquet_properties, series_schema,
    series_stream, unmapped_keys,
};

use std::num::NonZeroUsize;
use std::sync::Arc;

use datafusion::datasource::MemTable;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::execution::memory_pool::{FairSpillPool, TrackConsumersPool};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::SessionConfig;

/// Memory the query engine may hold for sorts and aggregations before it spills to disk, unless told otherwise.
pub const DEFAULT_MEMORY_LIMIT: usize = 512 << 20;

/// Errors of the series builder.
#[derive(Debug, thiserror::Error)]
pub enum SignalsError {
    /// The query engine failed.
    #[error("query: {0}")]
    Query(#[from] datafusion::error::DataFusionError),
    /// Arrow failed while assembling a result.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// The engine could not be reached or set up.
    #[error(transparent)]
    Engine(#[from] engine::EngineError),
    /// The lake failed while the series table was read or written.
    #[error("lake: {0}")]
    Lake(#[from] lake::LakeError),
}

/// A query session with the lake's live usage files registered as table `usage`.
///
/// Only the files the lake's manifest names are registered, never a folder listing, so a query cannot see a
/// half-written or replaced delivery. Sorts and aggregations spill to the OS temporary folder beyond
/// [`DEFAULT_MEMORY_LIMIT`].
pub fn session(usage_files: &[std::path::PathBuf]) -> Result<SessionContext, SignalsError> {
    session_with_memory(usage_files, DEFAULT_MEMORY_LIMIT)
}

/// The provider names (`ProviderName`, as written) on an account's usage rows: what its enforcement documents must
/// be written for.
pub async fn providers_of(ctx: &SessionContext, account: &str) -> Result<Vec<String>, SignalsError> {
    use datafusion::arrow::array::{Array, StringArray};
    let sql = format!("SELECT DISTINCT \"ProviderName\" FROM usage WHERE \"SubAccountId\" = '{}'", account.replace('\'', "''"));
    let mut names = Vec::new();
    for b in ctx.sql(&sql).await?.collect().await? {
        let Some(col) = b.column(0).as_any().downcast_ref::<StringArray>() else { continue };
        names.extend((0..col.len()).filter(|&i| col.is_valid(i)).map(|i| col.value(i).to_string()));
    }
    names.sort();
    Ok(names)
}

/// [`session`] with its own limit, in bytes, on the memory sorts and aggregations hold before they spill.
pub fn session_with_memory(usage_files: &[std::path::PathBuf], memory_limit: usize) -> Result<SessionContext, SignalsError> {
    let ctx = SessionContext::new_with_config_rt(config(), runtime(memory_limit).build_arc()?);
    register_usage(&ctx, &lake::Location::local("."), usage_files)?;
    Ok(ctx)
}

/// [`session_with_memory`] over a lake at `root`, a local folder or a store, on `engine`: for a store, its bucket is
/// registered with the engine, and `usage_files` are the lake's URLs (`Snapshot::live_paths` gives them as paths).
/// On a cluster, the memory limit is this process's; each executor has its own.
pub async fn session_at(
    root: &lake::Location,
    usage_files: &[std::path::PathBuf],
    memory_limit: usize,
    engine: &engine::Engine,
) -> Result<SessionContext, SignalsError> {
    let ctx = engine.session(config(), runtime(memory_limit)).await?;
    register_usage(&ctx, root, usage_files)?;
    Ok(ctx)
}

fn config() -> SessionConfig {
    let mut config = SessionConfig::new();
    // Text columns of scratch files read back as plain Utf8, the type the lake's schema and the series use.
    config.options_mut().execution.parquet.schema_force_view_types = false;
    config
}

fn runtime(memory_limit: usize) -> RuntimeEnvBuilder {
    // A fair pool: every spillable operator (the aggregations and the final sort run at once) gets its share, so
    // one cannot starve another into failing instead of spilling, as the default greedy pool lets happen.
    let pool = Arc::new(TrackConsumersPool::new(FairSpillPool::new(memory_limit), NonZeroUsize::new(5).expect("nonzero")));
    RuntimeEnvBuilder::new().with_memory_pool(pool)
}

/// Register the lake's live usage files as table `usage`, and a store lake's bucket with the engine.
fn register_usage(ctx: &SessionContext, root: &lake::Location, usage_files: &[std::path::PathBuf]) -> Result<(), SignalsError> {
    if let Some((bucket, store)) = root.engine_store() {
        let url = url::Url::parse(&bucket).map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
        ctx.register_object_store(&url, store);
    }
    let schema = focus::schema::lake_schema();
    if usage_files.is_empty() {
        ctx.register_table("usage", Arc::new(MemTable::try_new(schema, vec![vec![]])?))?;
        return Ok(());
    }
    let urls = usage_files.iter().map(|p| ListingTableUrl::parse(p.to_string_lossy())).collect::<Result<Vec<_>, _>>()?;
    let options = ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    let config = ListingTableConfig::new_with_multi_paths(urls).with_listing_options(options).with_schema(schema);
    ctx.register_table("usage", Arc::new(ListingTable::try_new(config)?))?;
    Ok(())
}
