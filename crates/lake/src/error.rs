//! Lake errors: each names the file or delivery a user has to look at.

/// Something the lake could not do.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    /// A local file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A manifest could not be understood.
    #[error("{manifest}: not a usable delivery manifest: {reason}")]
    Manifest {
        /// The manifest.
        manifest: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A manifest lists a file that is missing or has the wrong size; the delivery is refused whole.
    #[error("{manifest}: incomplete delivery, nothing from it was ingested: {file}: {reason}")]
    Incomplete {
        /// The manifest.
        manifest: String,
        /// The listed file.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// A data file could not be read as FOCUS; its delivery is refused whole.
    #[error("{0}")]
    Focus(#[from] focus::FocusError),
    /// The lake storage failed.
    #[error("lake storage: {0}")]
    Store(#[from] object_store::Error),
    /// A Parquet file could not be written or read.
    #[error("lake parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// An Arrow operation failed while partitioning rows.
    #[error("lake arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// Another writer committed first; nothing of this delivery was committed.
    #[error("lake manifest version {0} was committed by another writer at the same time; run the ingest again")]
    Conflict(u64),
    /// The lake's manifest log is damaged.
    #[error("lake manifest {file}: {reason}")]
    Corrupt {
        /// The commit file.
        file: String,
        /// What is wrong.
        reason: String,
    },
}
