//! `oversight lake check`: every live file verified against what its commit recorded (present, size, SHA-256,
//! Parquet footer and row count), and the files on disk that no commit names.

use std::collections::BTreeSet;
use std::sync::Arc;

use futures::TryStreamExt;
use object_store::ObjectStore;
use object_store::path::Path as ObjPath;
use serde::Serialize;

use crate::{LakeError, ToLocation, hash_live, open_existing, replay};

/// A live file that is not what its commit recorded.
#[derive(Debug, Clone, Serialize)]
pub struct Damage {
    /// The file, relative to the lake root.
    pub path: String,
    /// What is wrong with it.
    pub reason: String,
}

/// What a check of the whole lake found.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// The last committed version.
    pub version: u64,
    /// Live files checked.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Files whose checksum was verified.
    pub verified: u64,
    /// Files committed before checksums were recorded: checked for presence and rows only.
    pub unrecorded: u64,
    /// Files that are absent or not what their commit recorded.
    pub damaged: Vec<Damage>,
    /// Data files stored that no commit names: an ingest in progress, or one interrupted (the next writer removes
    /// them). Never read.
    pub uncommitted: Vec<String>,
}

/// Check every live file of the lake at `root` (a folder, or a store URL): present, of the committed size and
/// checksum, a readable Parquet file with the committed row count. `progress` gets the bytes checked so far.
pub async fn check(root: impl ToLocation, progress: &(dyn Fn(u64) + Sync)) -> Result<CheckReport, LakeError> {
    let root = root.to_location()?;
    let store = open_existing(&root).await?;
    let state = replay(&*store).await?;
    let mut report = CheckReport { version: state.version, files: 0, bytes: 0, verified: 0, unrecorded: 0, damaged: vec![], uncommitted: vec![] };
    for f in state.files.values() {
        report.files += 1;
        let mut damaged = |reason: String| report.damaged.push(Damage { path: f.path.clone(), reason });
        let (sha, bytes) = match hash_live(&root, &store, &f.path).await {
            Ok(s) => s,
            Err(LakeError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                damaged("named by the manifest but absent".into());
                continue;
            }
            Err(LakeError::Store(object_store::Error::NotFound { .. })) => {
                damaged("named by the manifest but absent".into());
                continue;
            }
            Err(e) => {
                damaged(format!("unreadable: {e}"));
                continue;
            }
        };
        report.bytes += bytes;
        progress(report.bytes);
        if f.bytes > 0 && bytes != f.bytes {
            damaged(format!("{bytes} bytes, committed as {}", f.bytes));
            continue;
        }
        if f.sha256.is_empty() {
            report.unrecorded += 1;
        } else if sha != f.sha256 {
            damaged(format!("SHA-256 {sha}, committed as {}", f.sha256));
            continue;
        } else {
            report.verified += 1;
        }
        match parquet_rows(&store, &f.path, bytes).await {
            Ok(n) if n == f.rows => {}
            Ok(n) => damaged(format!("{n} rows, committed as {}", f.rows)),
            Err(e) => damaged(format!("not a readable Parquet file: {e}")),
        }
    }
    let live: BTreeSet<&str> = state.files.keys().map(String::as_str).collect();
    for table in ["usage", "quarantine"] {
        let found: Vec<ObjPath> = store.list(Some(&ObjPath::from(table))).map_ok(|m| m.location).try_collect().await?;
        report.uncommitted.extend(found.into_iter().map(|p| p.to_string()).filter(|p| !live.contains(p.as_str())));
    }
    Ok(report)
}

/// The row count in a Parquet file's footer, read through the store (two ranged reads, not the whole file).
async fn parquet_rows(store: &Arc<dyn ObjectStore>, path: &str, size: u64) -> Result<u64, parquet::errors::ParquetError> {
    // Deprecated in favour of a hand-written AsyncFileReader, as in `write::rewrite`.
    #[allow(deprecated)]
    let reader = parquet::arrow::async_reader::ParquetObjectReader::new(store.clone(), ObjPath::from(path)).with_file_size(size);
    let b = parquet::arrow::ParquetRecordBatchStreamBuilder::new(reader).await?;
    Ok(b.metadata().file_metadata().num_rows() as u64)
}
