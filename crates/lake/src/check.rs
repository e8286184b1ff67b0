//! `oversight lake check`: every live file verified against what its commit recorded (present, size, SHA-256,
//! Parquet footer and row count), and the files on disk that no commit names.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Serialize;

use crate::{LakeError, MANIFEST_DIR, hash_file, replay};

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
    /// Data files on disk that no commit names: an ingest in progress, or one interrupted (the next writer removes
    /// them). Never read.
    pub uncommitted: Vec<String>,
}

/// Check every live file of the lake at `root`: present, of the committed size and checksum, a readable Parquet
/// file with the committed row count. `progress` gets the bytes checked so far.
pub async fn check(root: &Path, progress: &(dyn Fn(u64) + Sync)) -> Result<CheckReport, LakeError> {
    if !root.join(MANIFEST_DIR).is_dir() {
        return Err(LakeError::NotALake { path: root.display().to_string(), reason: "it has no _manifest folder".into() });
    }
    let store = object_store::local::LocalFileSystem::new_with_prefix(root)?;
    let state = replay(&store).await?;
    let mut report = CheckReport { version: state.version, files: 0, bytes: 0, verified: 0, unrecorded: 0, damaged: vec![], uncommitted: vec![] };
    for f in state.files.values() {
        report.files += 1;
        let path = root.join(&f.path);
        let mut damaged = |reason: String| report.damaged.push(Damage { path: f.path.clone(), reason });
        let (sha, bytes) = match hash_file(&path) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
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
        match parquet_rows(&path) {
            Ok(n) if n == f.rows => {}
            Ok(n) => damaged(format!("{n} rows, committed as {}", f.rows)),
            Err(e) => damaged(format!("not a readable Parquet file: {e}")),
        }
    }
    let live: BTreeSet<&str> = state.files.keys().map(String::as_str).collect();
    for table in ["usage", "quarantine"] {
        for e in walkdir::WalkDir::new(root.join(table)).into_iter().filter_map(Result::ok).filter(|e| e.file_type().is_file()) {
            let rel = e.path().strip_prefix(root).unwrap_or(e.path()).to_string_lossy().replace('\\', "/");
            if !live.contains(rel.as_str()) {
                report.uncommitted.push(rel);
            }
        }
    }
    Ok(report)
}

fn parquet_rows(path: &Path) -> Result<u64, parquet::errors::ParquetError> {
    let f = std::fs::File::open(path).map_err(|e| parquet::errors::ParquetError::External(Box::new(e)))?;
    let r = parquet::file::reader::SerializedFileReader::new(f)?;
    Ok(parquet::file::reader::FileReader::metadata(&r).file_metadata().num_rows() as u64)
}
