//! The commit path under storage faults: an `object_store` wrapper fails the n-th write, rename or delete of an
//! ingest, for every n until the ingest goes through. After each failure the writer is dropped (as a crash drops
//! it), and reopening gives exactly the last committed state: the rows before or the rows after, every live file
//! present and unchanged, and no file left that no commit names.

mod common;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{azure_run, focus_csv, ingest, live_rows, put, rows_on_disk};
use futures::StreamExt;
use futures::stream::BoxStream;
use lake::{IngestOptions, Lake};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult,
    RenameOptions, Result,
};

/// A local lake folder whose `fail_at`-th mutation (counting from 1) fails, and every later one too: a process that
/// lost its storage at that point.
#[derive(Debug)]
struct Faulty {
    inner: LocalFileSystem,
    ops: AtomicUsize,
    fail_at: usize,
}

impl fmt::Display for Faulty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Faulty(fail at {})", self.fail_at)
    }
}

impl Faulty {
    fn step(&self, what: &str) -> Result<()> {
        let n = self.ops.fetch_add(1, Ordering::SeqCst) + 1;
        if n >= self.fail_at {
            return Err(object_store::Error::Generic { store: "faulty", source: format!("injected failure at {what} (mutation {n})").into() });
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl ObjectStore for Faulty {
    async fn put_opts(&self, location: &Path, payload: PutPayload, opts: PutOptions) -> Result<PutResult> {
        self.step(&format!("put {location}"))?;
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(&self, location: &Path, opts: PutMultipartOptions) -> Result<Box<dyn MultipartUpload>> {
        self.step(&format!("upload {location}"))?;
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(&self, locations: BoxStream<'static, Result<Path>>) -> BoxStream<'static, Result<Path>> {
        if let Err(e) = self.step("delete") {
            return futures::stream::once(async move { Err(e) }).boxed();
        }
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.step(&format!("copy {from}"))?;
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        self.step(&format!("rename {from}"))?;
        self.inner.rename_opts(from, to, options).await
    }
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    for e in walkdir::WalkDir::new(from).into_iter().filter_map(|e| e.ok()) {
        let dest = to.join(e.path().strip_prefix(from).unwrap());
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

#[tokio::test]
async fn a_fault_at_any_step_of_an_ingest_leaves_the_last_committed_state() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("base");
    // Committed before the faults: one Azure run of January (9 days) for scope s1.
    let mut lake = Lake::open(&base).await.unwrap();
    ingest(&mut lake, &[azure_run(tmp.path(), "run-a", "2025-01-10T06:00:00Z", &focus_csv("Microsoft", "ba1", 9, "1"), false)]).await;
    drop(lake);
    // The ingest under faults: a newer run of the unit (19 days: the 9 rows are retired and rewritten away), a run
    // of another scope, and an OCI append file.
    let newer = azure_run(tmp.path(), "run-b", "2025-01-20T06:00:00Z", &focus_csv("Microsoft", "ba1", 19, "2"), false);
    let other =
        common::azure_export(tmp.path(), "s2", "run-a", "2025-01-10T06:00:00Z", "part_0_0001.csv", focus_csv("Microsoft", "s2", 5, "1").as_bytes(), false);
    put(&tmp.path().join("oci/FOCUS Reports/2025/01/02/0001.csv"), focus_csv("Oracle", "tenancy", 3, "1"));
    let found = lake::discover(&[newer, other, tmp.path().join("oci")]);
    assert!(found.refused.is_empty(), "{:?}", found.refused);
    let (before, after) = (9, 19 + 5 + 3);

    let mut n = 1;
    loop {
        let root = tmp.path().join(format!("lake-{n}"));
        copy_tree(&base, &root);
        let store = Arc::new(Faulty { inner: LocalFileSystem::new_with_prefix(&root).unwrap(), ops: AtomicUsize::new(0), fail_at: n });
        // Small commits, so that faults land between commits of one run as well as inside them.
        let mut lake = Lake::open_in(root.clone(), store).await.unwrap();
        lake.set_commit_rows(10);
        let result = lake.ingest(&found.deliveries, &IngestOptions { batch_rows: Some(4), ..Default::default() }, &|_| {}).await;
        let failed = result.is_err();
        drop(lake);

        let reopened = Lake::open(&root).await.unwrap_or_else(|e| panic!("fault at {n}: reopening failed: {e}"));
        let rows = live_rows(&reopened);
        assert!(rows == before || rows == after || (failed && (before..=after + 9).contains(&rows)), "fault at {n}: {rows} rows");
        assert_eq!(rows_on_disk(&root), rows, "fault at {n}: the folder holds exactly the committed rows");
        let report = lake::check(&root, &|_| {}).await.unwrap();
        assert!(report.damaged.is_empty(), "fault at {n}: {:?}", report.damaged);
        assert!(report.uncommitted.is_empty(), "fault at {n}: {:?}", report.uncommitted);
        // Running the ingest again completes it, and nothing is counted twice.
        let mut lake = reopened;
        lake.ingest(&found.deliveries, &IngestOptions::default(), &|_| {}).await.unwrap();
        assert_eq!(live_rows(&lake), after, "fault at {n}: after a retry");
        assert_eq!(rows_on_disk(&root), after, "fault at {n}: after a retry, on disk");
        if !failed {
            assert!(n > 3, "the ingest must have had mutations to fail");
            break;
        }
        n += 1;
    }
}
