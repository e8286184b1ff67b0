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
    /// An input path was refused: it lies inside a lake, or a link or a manifest's file name leads out of the
    /// input tree.
    #[error("{path}: refused: {reason}")]
    Input {
        /// The path as given or found.
        path: String,
        /// Why.
        reason: String,
    },
    /// A file's bytes are already live in the lake under another delivery (of another unit): reading them again
    /// would count their rows twice.
    #[error("{file}: its bytes are already in the lake as {other} (delivery {delivery}); ingesting them again would count their rows twice")]
    Duplicate {
        /// The file refused.
        file: String,
        /// The live file with the same bytes.
        other: String,
        /// The delivery it is live under.
        delivery: String,
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
    /// The folder is neither empty nor a lake: writing there could delete what it holds.
    #[error("{path} is not an oversight lake ({reason}); give --lake an empty or new folder, or an existing lake")]
    NotALake {
        /// The folder.
        path: String,
        /// What is missing or in the way.
        reason: String,
    },
    /// Another writer holds the lake's lock.
    #[error(
        "{path} is locked by another writer ({holder}); wait for it to finish. A crashed writer's lock is released with its process, or in a store when its lease expires"
    )]
    Locked {
        /// The lock file.
        path: String,
        /// What the lock file says of its holder.
        holder: String,
    },
    /// A file a commit names is absent or not what the commit recorded: the lake lacks data, and no result read
    /// from it can be trusted.
    #[error("lake file {path}: {reason}; the lake is damaged (`oversight lake check` lists every such file)")]
    Damaged {
        /// The file, relative to the lake root.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The lake's manifest log is damaged.
    #[error("lake manifest {file}: {reason}")]
    Corrupt {
        /// The commit file.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// This writer's lease on a lake in a store expired or was taken over by another writer (it stopped renewing it
    /// for longer than the lease): nothing more is committed.
    #[error("{path}: this writer's lease on the lake was lost (it expired or another writer took it over); nothing more was committed, run the ingest again")]
    LeaseLost {
        /// The lease object.
        path: String,
    },
    /// A lake or input URL could not be opened: an unknown scheme, a malformed URL, or missing credentials.
    #[error("{url}: cannot open: {reason}")]
    Location {
        /// The URL as given.
        url: String,
        /// Why, with the environment variables to set when credentials are missing.
        reason: String,
    },
}
