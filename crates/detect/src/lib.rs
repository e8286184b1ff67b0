//! Detection: the policy language (`policy`), its compilation to SQL over daily signal series (`engine`), findings
//! with their evidence (`finding`), and evaluation against labelled scenarios (`eval`).
//!
//! The flow: `oversight signals`' daily series and the tenant registry are registered as tables; each policy
//! becomes one standard-SQL query with window frames that answers every day at once, a missing approval and a recent
//! event included (joined from the registry's and the events' tables); a hit on the as-of day becomes a finding,
//! with the series points its windows read. Beside the pack, `baseline` flags surges no policy names against each
//! account's own history and its sector peers' same week, and the first use of a sensitive signal at volume, as
//! low-severity findings; `peers` flags an organisation far above its sector's other organisations in a sensitive
//! signal (structuring below the pack's fixed scale).
#![deny(missing_docs)]

pub mod baseline;
pub mod engine;
pub mod eval;
pub mod finding;
pub mod peers;
pub mod policy;

pub use engine::{Hit, Scanner};
pub use eval::{Report, evaluate};
pub use finding::{AccountSummary, Finding, rank, scan};
pub use policy::{Loaded, PolicyError, load_pack};

/// Errors of detection.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    /// A policy cannot be used.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The query engine failed.
    #[error("query: {0}")]
    Query(#[from] datafusion::error::DataFusionError),
    /// Arrow failed.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// The engine could not be reached or set up.
    #[error(transparent)]
    Engine(#[from] ::engine::EngineError),
    /// Writing the series to Parquet failed.
    #[error("writing the series: {0}")]
    Parquet(#[from] datafusion::parquet::errors::ParquetError),
    /// The scratch folder for the series could not be made or written.
    #[error("scratch folder for the series: {0}")]
    Scratch(String),
    /// A series file lacks a column, or has it with another type.
    #[error("{file}: not a series file: column {column:?} {problem}; write one with `oversight signals --format parquet --out FILE`")]
    SeriesSchema {
        /// The file.
        file: String,
        /// The column.
        column: String,
        /// What is wrong with it.
        problem: String,
    },
}
