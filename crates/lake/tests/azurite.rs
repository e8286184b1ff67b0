//! The lake and its inputs in Azure Blob Storage, against Azurite (`.ci/azurite.sh` starts it and exports
//! `OVERSIGHT_TEST_AZURITE=1` with the variables `object_store` reads). Without Azurite these tests print a note and
//! pass, unless `CI_REQUIRE_AZURITE=1`: then they fail, so CI never skips them silently.
//!
//! Each test uses containers of its own, created through the Blob REST API: `object_store` does not create them.

mod common;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use common::{azure_export, azure_run, focus_csv, put};
use futures::StreamExt;
use futures::stream::BoxStream;
use lake::{IngestOptions, Lake, LakeError, Location, Snapshot};
use object_store::path::Path as ObjPath;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore, ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload,
    PutResult, RenameOptions, Result,
};

/// Azurite's blob endpoint and account, or `None` (with a note) when it is not running and not required.
fn azurite() -> Option<(String, String, String)> {
    if std::env::var("OVERSIGHT_TEST_AZURITE").is_err() {
        if std::env::var("CI_REQUIRE_AZURITE").is_ok_and(|v| v == "1") {
            panic!("CI_REQUIRE_AZURITE=1 but OVERSIGHT_TEST_AZURITE is unset: start Azurite with `eval \"$(bash .ci/azurite.sh $$)\"`");
        }
        eprintln!("note: Azurite tests skipped; run `eval \"$(bash .ci/azurite.sh $$)\"` first to run them");
        return None;
    }
    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("OVERSIGHT_TEST_AZURITE is set but {k} is not (see .ci/azurite.sh)"));
    Some((var("AZURITE_BLOB_STORAGE_URL"), var("AZURE_STORAGE_ACCOUNT_NAME"), var("AZURE_STORAGE_ACCOUNT_KEY")))
}

/// Create a new container named `<tag>-<unique>` and return its name. The request is signed with the account's
/// SharedKey (the Blob service's own scheme: HMAC-SHA256 of the canonical request), as a real account requires.
async fn container(tag: &str) -> String {
    use base64::Engine;
    use hmac::Mac;
    let (endpoint, account, key) = azurite().expect("checked by the caller");
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let name = format!("{tag}-{:x}-{}", nanos, N.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let date = chrono::Utc::now().format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let version = "2021-08-06";
    // Path-style (emulator) URLs name the account in the path, so it appears twice in the canonical resource.
    let to_sign = format!("PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:{version}\n/{account}/{account}/{name}\nrestype:container");
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&base64::engine::general_purpose::STANDARD.decode(key).unwrap()).unwrap();
    mac.update(to_sign.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let response = reqwest::Client::new()
        .put(format!("{endpoint}/{account}/{name}?restype=container"))
        .header("x-ms-date", date)
        .header("x-ms-version", version)
        .header("Authorization", format!("SharedKey {account}:{signature}"))
        .header("Content-Length", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201, "creating container {name}: {}", response.text().await.unwrap_or_default());
    name
}

/// Copy the files under `from` into `to` (a store location), keeping their relative paths.
async fn upload(from: &Path, to: &Location) {
    let store = to.store().unwrap();
    for e in walkdir::WalkDir::new(from).into_iter().flatten().filter(|e| e.file_type().is_file()) {
        let key = e.path().strip_prefix(from).unwrap().to_string_lossy().into_owned();
        store.put(&ObjPath::from(key), PutPayload::from(std::fs::read(e.path()).unwrap())).await.unwrap();
    }
}

/// Export runs under `root/exports`: two Azure runs of one month of scope s1 (the newer replaces the older), a run of
/// scope s2, and an AWS Data Exports execution.
fn exports(root: &Path) {
    azure_run(root, "run-a", "2025-01-10T06:00:00Z", &focus_csv("Microsoft", "ba1", 9, "1"), false);
    azure_run(root, "run-b", "2025-01-20T06:00:00Z", &focus_csv("Microsoft", "ba1", 19, "2"), false);
    azure_export(root, "s2", "run-a", "2025-01-10T06:00:00Z", "part_0_0001.csv", focus_csv("Microsoft", "s2", 5, "1").as_bytes(), false);
    let exec = "20250110T000000Z-e1";
    let rel = format!("aws/acme-focus/data/BILLING_PERIOD=2025-01/{exec}/acme-focus-00001.csv");
    put(&root.join("exports").join(&rel), focus_csv("AWS", "111122223333", 7, "1"));
    let m = serde_json::json!({"executionId": exec, "exportArn": "arn:aws:bcm-data-exports:us-east-1:123:export/acme-focus",
        "dataFiles": [format!("s3://bucket/{rel}")]});
    put(&root.join(format!("exports/aws/acme-focus/metadata/BILLING_PERIOD=2025-01/{exec}/acme-focus-Manifest.json")), m.to_string());
}

/// Every live usage row of a lake, as text, sorted; without `_file`, which names the input as it was given (a path
/// or a URL).
async fn rows(lake: &Snapshot) -> Vec<String> {
    use arrow::util::display::{ArrayFormatter, FormatOptions};
    let store = lake.root().store().unwrap();
    let mut out = Vec::new();
    for f in lake.state().live("usage") {
        let bytes = store.get(&ObjPath::from(f.path.as_str())).await.unwrap().bytes().await.unwrap();
        for b in parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes).unwrap().build().unwrap() {
            let b = b.unwrap();
            let keep: Vec<usize> = (0..b.num_columns()).filter(|i| b.schema().field(*i).name() != focus::schema::FILE).collect();
            let opts = FormatOptions::default();
            let cols: Vec<ArrayFormatter> = keep.iter().map(|i| ArrayFormatter::try_new(b.column(*i).as_ref(), &opts).unwrap()).collect();
            out.extend((0..b.num_rows()).map(|r| cols.iter().map(|c| c.value(r).to_string()).collect::<Vec<_>>().join("|")));
        }
    }
    out.sort();
    out
}

/// Live rows per unit (null: append rows) from the manifest, and the recorded deliveries' ids and outcomes.
fn summary(state: &lake::State) -> (BTreeMap<String, u64>, Vec<(String, lake::Outcome)>) {
    let mut rows = BTreeMap::new();
    for f in state.live("usage") {
        *rows.entry(f.units.join(",")).or_default() += f.rows;
    }
    (rows, state.deliveries.iter().map(|d| (d.id.clone(), d.outcome.clone())).collect())
}

#[tokio::test]
async fn an_ingest_from_a_container_into_a_lake_in_another_reads_back_as_the_same_ingest_in_folders() {
    if azurite().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    exports(tmp.path());
    // In folders.
    let mut local = Lake::open(tmp.path().join("lake")).await.unwrap();
    let found = lake::discover(&[tmp.path().join("exports")]);
    assert!(found.refused.is_empty() && found.skipped.is_empty(), "{:?} {:?}", found.refused, found.skipped);
    local.ingest(&found.deliveries, &IngestOptions::default(), &|_| {}).await.unwrap();
    // In containers: the same tree uploaded to `exports-…`, ingested into `lake-…/usage-lake`.
    let exports = container("exports").await;
    upload(tmp.path(), &Location::parse(&format!("az://{exports}")).unwrap()).await;
    let lake_url = format!("az://{}/usage-lake", container("lake").await);
    let mut remote = Lake::open(lake_url.as_str()).await.unwrap();
    let input = Location::parse(&format!("az://{exports}/exports")).unwrap();
    let found_remote = lake::discover_in(&[input]).await;
    assert!(found_remote.refused.is_empty() && found_remote.skipped.is_empty(), "{:?} {:?}", found_remote.refused, found_remote.skipped);
    assert_eq!(found_remote.deliveries.len(), found.deliveries.len());
    let out = remote.ingest(&found_remote.deliveries, &IngestOptions::default(), &|_| {}).await.unwrap();
    assert!(out.iter().all(|o| matches!(o, lake::DeliveryOutcome::Recorded(..))), "{out:?}");
    let m = found_remote.deliveries.iter().find_map(|d| d.manifest.as_ref()).unwrap().display().to_string();
    assert!(m.starts_with(&format!("az://{exports}/exports/")), "{m}");
    assert_eq!(summary(remote.state()), summary(local.state()));
    assert_eq!(remote.state().live("usage").map(|f| f.rows).sum::<u64>(), 19 + 5 + 7);
    remote.close().await.unwrap();

    // Read back by a reader, from the store: the same rows, every file named by the manifest and verified.
    let snapshot = Snapshot::open(lake_url.as_str()).await.unwrap();
    let urls = snapshot.live_urls("usage");
    assert!(!urls.is_empty() && urls.iter().all(|u| u.starts_with(&format!("{lake_url}/usage/charge_date="))), "{urls:?}");
    let local_snapshot = Snapshot::open(tmp.path().join("lake")).await.unwrap();
    assert_eq!(rows(&snapshot).await, rows(&local_snapshot).await);
    let report = lake::check(lake_url.as_str(), &|_| {}).await.unwrap();
    assert!(report.damaged.is_empty() && report.uncommitted.is_empty(), "{report:?}");
    assert_eq!((report.files, report.verified), (snapshot.state().files.len() as u64, snapshot.state().files.len() as u64));

    // The same exports again: nothing changes. Reading the lake's own container as input is refused.
    let mut again = Lake::open(lake_url.as_str()).await.unwrap();
    let version = again.state().version;
    let out = again.ingest(&found_remote.deliveries, &IngestOptions::default(), &|_| {}).await.unwrap();
    assert!(out.iter().all(|o| matches!(o, lake::DeliveryOutcome::AlreadyIngested { .. })), "{out:?}");
    assert_eq!(again.state().version, version);
    again.close().await.unwrap();
    let inside = lake::discover_in(&[Location::parse(&format!("{lake_url}/usage")).unwrap()]).await;
    assert!(inside.deliveries.is_empty() && inside.refused[0].to_string().contains("inside the lake"), "{:?}", inside.refused);
}

/// A lake in a new container with one Azure run ingested (9 rows), closed.
async fn lake_with_rows(tmp: &Path) -> String {
    let url = format!("az://{}/lake", container("lake").await);
    let run = azure_run(tmp, "run-a", "2025-01-10T06:00:00Z", &focus_csv("Microsoft", "ba1", 9, "1"), false);
    let mut lake = Lake::open(url.as_str()).await.unwrap();
    common::ingest(&mut lake, &[run]).await;
    assert_eq!(common::live_rows(&lake), 9);
    lake.close().await.unwrap();
    url
}

#[tokio::test]
async fn one_writer_holds_the_lease_and_an_expired_one_is_taken_over() {
    if azurite().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let url = lake_with_rows(tmp.path()).await;
    let first = Lake::open(url.as_str()).await.unwrap();
    match Lake::open(url.as_str()).await {
        Err(LakeError::Locked { path, holder }) => {
            assert_eq!(path, format!("{url}/_lock"));
            assert!(holder.contains(&format!("pid {}", std::process::id())) && holder.contains("lease until"), "{holder}");
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("two writers hold one lake"),
    }
    // Readers need no lease.
    Snapshot::open(url.as_str()).await.unwrap();
    first.close().await.unwrap();
    let second = Lake::open(url.as_str()).await.unwrap();
    // A writer that crashed leaves its lease behind; once it has expired, the next writer takes it over.
    drop(second);
    assert!(matches!(Lake::open(url.as_str()).await, Err(LakeError::Locked { .. })), "a dropped writer's lease holds until it expires");
    expire_lease(&url).await;
    Lake::open(url.as_str()).await.unwrap().close().await.unwrap();
}

/// Rewrite the lease of the lake at `url` as expired, as it is once its writer has not renewed it for [`lake::LEASE`].
async fn expire_lease(url: &str) {
    let store = Location::parse(url).unwrap().store().unwrap();
    let lock = ObjPath::from("_lock");
    let mut lease: serde_json::Value = serde_json::from_slice(&store.get(&lock).await.unwrap().bytes().await.unwrap()).unwrap();
    lease["expires"] = serde_json::json!("2000-01-01T00:00:00Z");
    store.put(&lock, PutPayload::from(serde_json::to_vec(&lease).unwrap())).await.unwrap();
}

#[tokio::test]
async fn a_writer_whose_lease_was_taken_over_commits_nothing_and_a_commit_is_create_if_absent() {
    if azurite().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let url = lake_with_rows(tmp.path()).await;
    let newer = azure_run(tmp.path(), "run-b", "2025-01-20T06:00:00Z", &focus_csv("Microsoft", "ba1", 19, "2"), false);
    let found = lake::discover(&[newer]);

    // A frozen writer: its lease expires, another writer takes the lake over and commits.
    let mut frozen = Lake::open(url.as_str()).await.unwrap();
    expire_lease(&url).await;
    let mut other = Lake::open(url.as_str()).await.unwrap();
    common::ingest(
        &mut other,
        &[azure_export(tmp.path(), "s2", "run-a", "2025-01-10T06:00:00Z", "p.csv", focus_csv("Microsoft", "s2", 5, "1").as_bytes(), false)],
    )
    .await;
    let e = frozen.ingest(&found.deliveries, &IngestOptions::default(), &|_| {}).await.expect_err("the frozen writer commits nothing");
    assert!(matches!(e, LakeError::LeaseLost { .. }), "{e}");
    other.close().await.unwrap();
    drop(frozen);
    let reader = Snapshot::open(url.as_str()).await.unwrap();
    assert_eq!(reader.state().live("usage").map(|f| f.rows).sum::<u64>(), 9 + 5);

    // Two commits of the same version: the second creation of `_manifest/<version>.json` is refused by the store
    // (Azure answers 409), and the writer reports the conflict, committing nothing.
    let mut writer = Lake::open(url.as_str()).await.unwrap();
    let next = writer.state().version + 1;
    let store = Location::parse(&url).unwrap().store().unwrap();
    let last = store.get(&ObjPath::from(lake::manifest::commit_path(next - 1))).await.unwrap().bytes().await.unwrap();
    let mut rival: lake::Commit = serde_json::from_slice(&last).unwrap();
    (rival.version, rival.deliveries, rival.add, rival.remove) = (next, vec![], vec![], vec![]);
    store.put(&ObjPath::from(lake::manifest::commit_path(next)), PutPayload::from(serde_json::to_vec(&rival).unwrap())).await.unwrap();
    let e = writer.ingest(&found.deliveries, &IngestOptions::default(), &|_| {}).await.expect_err("the commit conflicts");
    assert!(matches!(e, LakeError::Conflict(v) if v == next), "{e}");
    writer.close().await.unwrap();
    let reopened = Lake::open(url.as_str()).await.unwrap();
    assert_eq!(reopened.state().version, next);
    assert_eq!(reopened.state().live("usage").map(|f| f.rows).sum::<u64>(), 9 + 5);
    let report = lake::check(url.as_str(), &|_| {}).await.unwrap();
    assert!(report.damaged.is_empty() && report.uncommitted.is_empty(), "{report:?}");
    reopened.close().await.unwrap();
}

/// A store that, like a process that died after writing its data files, never commits and never cleans up: every
/// put under `_manifest/` and every delete of data fails.
#[derive(Debug)]
struct Crashing(Arc<dyn ObjectStore>);

impl fmt::Display for Crashing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Crashing({})", self.0)
    }
}

fn crashed(what: &str) -> object_store::Error {
    object_store::Error::Generic { store: "crashing", source: format!("the writer died before {what}").into() }
}

#[async_trait::async_trait]
impl ObjectStore for Crashing {
    async fn put_opts(&self, location: &ObjPath, payload: PutPayload, opts: PutOptions) -> Result<PutResult> {
        if location.as_ref().starts_with("_manifest/") {
            return Err(crashed(&format!("committing {location}")));
        }
        self.0.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(&self, location: &ObjPath, opts: PutMultipartOptions) -> Result<Box<dyn MultipartUpload>> {
        self.0.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &ObjPath, options: GetOptions) -> Result<GetResult> {
        self.0.get_opts(location, options).await
    }

    fn delete_stream(&self, locations: BoxStream<'static, Result<ObjPath>>) -> BoxStream<'static, Result<ObjPath>> {
        // The lease is still released, so that the test need not wait for it to expire.
        let inner = self.0.clone();
        locations
            .then(move |p| {
                let inner = inner.clone();
                async move {
                    let p = p?;
                    if p.as_ref() != "_lock" {
                        return Err(crashed(&format!("deleting {p}")));
                    }
                    inner.delete(&p).await.map(|()| p)
                }
            })
            .boxed()
    }

    fn list(&self, prefix: Option<&ObjPath>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.0.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&ObjPath>) -> Result<ListResult> {
        self.0.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &ObjPath, to: &ObjPath, options: CopyOptions) -> Result<()> {
        self.0.copy_opts(from, to, options).await
    }

    async fn rename_opts(&self, from: &ObjPath, to: &ObjPath, options: RenameOptions) -> Result<()> {
        self.0.rename_opts(from, to, options).await
    }
}

#[tokio::test]
async fn a_crash_between_the_data_files_and_the_commit_changes_nothing_visible() {
    if azurite().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let url = lake_with_rows(tmp.path()).await;
    let location = Location::parse(&url).unwrap();
    let before = Snapshot::open(url.as_str()).await.unwrap();
    let newer = azure_run(tmp.path(), "run-b", "2025-01-20T06:00:00Z", &focus_csv("Microsoft", "ba1", 19, "2"), false);
    let found = lake::discover(&[newer]);

    let mut dying = Lake::open_in(location.clone(), Arc::new(Crashing(location.store().unwrap()))).await.unwrap();
    assert!(dying.ingest(&found.deliveries, &IngestOptions::default(), &|_| {}).await.is_err());
    dying.close().await.unwrap();

    // Readers see the last commit; the data files written are there, named by no commit, and never read.
    let after = Snapshot::open(url.as_str()).await.unwrap();
    assert_eq!(after.state().version, before.state().version);
    assert_eq!(after.live_urls("usage"), before.live_urls("usage"));
    assert_eq!(rows(&after).await, rows(&before).await);
    let report = lake::check(url.as_str(), &|_| {}).await.unwrap();
    assert!(report.damaged.is_empty(), "{report:?}");
    assert!(!report.uncommitted.is_empty(), "the crashed writer's data files are in the store");
    // The next writer removes them, and its ingest goes through.
    let mut next = Lake::open(url.as_str()).await.unwrap();
    assert!(lake::check(url.as_str(), &|_| {}).await.unwrap().uncommitted.is_empty());
    next.ingest(&found.deliveries, &IngestOptions::default(), &|_| {}).await.unwrap();
    assert_eq!(common::live_rows(&next), 19);
    next.close().await.unwrap();
}

#[tokio::test]
async fn check_over_the_store_finds_a_changed_byte_and_a_missing_file() {
    if azurite().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let url = lake_with_rows(tmp.path()).await;
    let store = Location::parse(&url).unwrap().store().unwrap();
    let report = lake::check(url.as_str(), &|_| {}).await.unwrap();
    assert!(report.damaged.is_empty() && report.verified == report.files && report.files >= 1, "{report:?}");

    let victim = Snapshot::open(url.as_str()).await.unwrap().state().live("usage").next().unwrap().path.clone();
    let path = ObjPath::from(victim.as_str());
    let mut bytes = store.get(&path).await.unwrap().bytes().await.unwrap().to_vec();
    bytes[10] ^= 0x01;
    store.put(&path, PutPayload::from(bytes)).await.unwrap();
    let report = lake::check(url.as_str(), &|_| {}).await.unwrap();
    assert_eq!(report.damaged.len(), 1, "{report:?}");
    assert!(report.damaged[0].path == victim && report.damaged[0].reason.contains("SHA-256"), "{:?}", report.damaged);

    store.delete(&path).await.unwrap();
    let e = Snapshot::open(url.as_str()).await.err().expect("a missing file is refused");
    assert!(matches!(&e, LakeError::Damaged { path, .. } if *path == victim) && e.to_string().contains("absent"), "{e}");
    let report = lake::check(url.as_str(), &|_| {}).await.unwrap();
    assert!(report.damaged[0].reason.contains("absent"), "{:?}", report.damaged);
}

#[tokio::test]
async fn a_prefix_holding_other_objects_is_not_a_lake_and_is_left_untouched() {
    if azurite().is_none() {
        return;
    }
    let url = format!("az://{}/home", container("home").await);
    let store = Location::parse(&url).unwrap().store().unwrap();
    store.put(&ObjPath::from("usage/thesis.parquet"), PutPayload::from_static(b"mine")).await.unwrap();
    let e = Lake::open(url.as_str()).await.err().expect("refused");
    assert!(matches!(e, LakeError::NotALake { .. }) && e.to_string().contains(&url), "{e}");
    assert!(matches!(Snapshot::open(url.as_str()).await, Err(LakeError::NotALake { .. })));
    assert_eq!(store.get(&ObjPath::from("usage/thesis.parquet")).await.unwrap().bytes().await.unwrap().as_ref(), b"mine");
}
