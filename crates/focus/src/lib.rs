//! The FOCUS schema and readers.
//!
//! [`open`] reads one FOCUS file (CSV, CSV.gz or Parquet; FOCUS 1.0 to 1.3) and streams it as Arrow batches in the
//! lake schema ([`schema::lake_schema`]). A file that cannot be FOCUS is refused whole with a [`FocusError`]; a row
//! whose cells do not parse is kept out of the batch and reported as [`Quarantined`] records naming file, row,
//! line and column. Nothing here knows about deliveries, the lake or DataFusion.
#![deny(missing_docs)]

mod builder;
mod error;
mod parquet_text;
mod read;
pub mod schema;
pub mod value;

pub use error::{FocusError, Quarantined};
pub use read::{Batch, FocusReader, Format, Limits, ReadOptions, open, sniff};
