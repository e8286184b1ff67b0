//! The lake under misuse: readers never write, one writer at a time, every committed file present and unchanged,
//! and a folder that is not a lake is never touched.

mod common;

use common::{azure_run, focus_csv, ingest, live_rows};
use lake::{Lake, LakeError, Snapshot};

async fn lake_with_rows(root: &std::path::Path) -> Lake {
    let mut lake = Lake::open(root.join("lake")).await.unwrap();
    let run = azure_run(root, "run-a", "2025-01-10T06:00:00Z", &focus_csv("Microsoft", "ba1", 9, "1"), false);
    ingest(&mut lake, &[run]).await;
    assert_eq!(live_rows(&lake), 9);
    lake
}

#[tokio::test]
async fn a_reader_beside_a_running_ingest_deletes_nothing_and_creates_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let writer = lake_with_rows(tmp.path()).await;
    // A file an ingest has written and not yet committed.
    let pending = tmp.path().join("lake/usage/charge_date=2025-01-02/cnext.parquet");
    std::fs::write(&pending, b"being written").unwrap();
    let reader = Snapshot::open(tmp.path().join("lake")).await.unwrap();
    assert_eq!(reader.state().version, writer.state().version);
    assert!(pending.exists(), "a reader deleted an uncommitted file");
    // A reader of a folder that is not there creates nothing.
    let nowhere = tmp.path().join("nowhere");
    assert!(matches!(Snapshot::open(&nowhere).await, Err(LakeError::NotALake { .. })));
    assert!(!nowhere.exists());
    // The writer, under its lock, is the one that cleans up.
    drop(writer);
    Lake::open(tmp.path().join("lake")).await.unwrap();
    assert!(!pending.exists());
}

#[tokio::test]
async fn one_writer_at_a_time_and_a_dead_writers_lock_is_taken_over() {
    let tmp = tempfile::tempdir().unwrap();
    let first = Lake::open(tmp.path().join("lake")).await.unwrap();
    match Lake::open(tmp.path().join("lake")).await {
        Err(LakeError::Locked { holder, .. }) => assert!(holder.contains(&format!("pid {}", std::process::id())), "{holder}"),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("two writers hold one lake"),
    }
    // Readers need no lock.
    Snapshot::open(tmp.path().join("lake")).await.unwrap();
    // Dropping the handle releases the lock, as the end of a crashed process does; the lock file stays behind.
    drop(first);
    assert!(tmp.path().join("lake/_lock").exists());
    Lake::open(tmp.path().join("lake")).await.unwrap();
}

#[tokio::test]
async fn a_missing_or_resized_committed_file_fails_every_open_with_its_name() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = lake_with_rows(tmp.path()).await;
    let victim = lake.state().live("usage").next().unwrap().path.clone();
    let f = lake.state().live("usage").next().unwrap();
    assert!(f.bytes > 0 && f.sha256.len() == 64, "the commit records size and checksum: {f:?}");
    drop(lake);
    let path = tmp.path().join("lake").join(&victim);
    let bytes = std::fs::read(&path).unwrap();

    std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
    let e = Snapshot::open(tmp.path().join("lake")).await.err().expect("a short file is refused");
    assert!(matches!(&e, LakeError::Damaged { path, .. } if *path == victim), "{e}");
    assert!(e.to_string().contains("committed as"), "{e}");

    std::fs::remove_file(&path).unwrap();
    for e in [Snapshot::open(tmp.path().join("lake")).await.err(), Lake::open(tmp.path().join("lake")).await.err()] {
        let e = e.expect("a missing file is refused");
        assert!(e.to_string().contains(&victim) && e.to_string().contains("absent"), "{e}");
    }
    let report = lake::check(&tmp.path().join("lake"), &|_| {}).await.unwrap();
    assert_eq!(report.damaged.len(), 1);
    assert_eq!(report.damaged[0].path, victim);
}

#[tokio::test]
async fn check_finds_a_changed_byte_that_keeps_the_size() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = lake_with_rows(tmp.path()).await;
    let victim = lake.state().live("usage").next().unwrap().path.clone();
    drop(lake);
    let report = lake::check(&tmp.path().join("lake"), &|_| {}).await.unwrap();
    assert!(report.damaged.is_empty(), "{:?}", report.damaged);
    assert!(report.verified >= 1 && report.verified == report.files);

    let path = tmp.path().join("lake").join(&victim);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[10] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    let report = lake::check(&tmp.path().join("lake"), &|_| {}).await.unwrap();
    assert_eq!(report.damaged.len(), 1, "{report:?}");
    assert!(report.damaged[0].reason.contains("SHA-256"), "{:?}", report.damaged);
}

#[tokio::test]
async fn a_folder_that_is_not_a_lake_is_refused_and_left_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    for f in ["usage/thesis.parquet", "quarantine/notes.txt", "photo.jpg"] {
        common::put(&home.join(f), b"mine");
    }
    let e = Lake::open(&home).await.err().expect("refused");
    assert!(matches!(e, LakeError::NotALake { .. }), "{e}");
    assert!(matches!(Snapshot::open(&home).await, Err(LakeError::NotALake { .. })));
    for f in ["usage/thesis.parquet", "quarantine/notes.txt", "photo.jpg"] {
        assert!(home.join(f).exists(), "{f} was deleted");
    }
    assert!(!home.join("_manifest").exists() && !home.join("_lock").exists());
    // An empty folder becomes a lake.
    std::fs::create_dir(tmp.path().join("empty")).unwrap();
    Lake::open(tmp.path().join("empty")).await.unwrap();
    Snapshot::open(tmp.path().join("empty")).await.unwrap();
}

/// An Azure run folder under `root/in` whose manifest lists `blob`.
fn run_listing(root: &std::path::Path, blob: &str) -> std::path::PathBuf {
    let dir = root.join("in/exports/s1/focus-daily/20250101-20250131/run-a");
    let manifest = serde_json::json!({
        "exportConfig": {"exportName": "focus-daily", "resourceId": "/subscriptions/s1/providers/Microsoft.CostManagement/exports/focus-daily", "type": "FocusCost"},
        "runInfo": {"runId": "run-a", "submittedTime": "2025-01-10T06:00:00Z", "startDate": "2025-01-01T00:00:00"},
        "blobs": [{"blobName": blob}]
    });
    common::put(&dir.join("manifest.json"), manifest.to_string());
    root.join("in")
}

#[tokio::test]
async fn manifest_names_and_links_never_lead_out_of_the_input_tree() {
    let tmp = tempfile::tempdir().unwrap();
    common::put(&tmp.path().join("outside/x.csv"), focus_csv("Microsoft", "ba1", 3, "1"));
    // `..` is refused outright.
    let found = lake::discover(&[run_listing(tmp.path(), "../../../../../../outside/x.csv")]);
    assert!(found.deliveries.is_empty());
    assert!(found.refused[0].to_string().contains("climbs out"), "{}", found.refused[0]);
    // An absolute name is relative to the container: looked for inside the tree only, where it is not.
    let found = lake::discover(&[run_listing(tmp.path(), "/outside/x.csv")]);
    assert!(found.deliveries.is_empty());
    assert!(found.refused[0].to_string().contains("not found in"), "{}", found.refused[0]);
    // A link inside the tree to a file outside it is refused and reported, for a manifest and for a plain file.
    let inside = tmp.path().join("in/exports/s1/focus-daily/20250101-20250131/run-a/x.csv");
    std::os::unix::fs::symlink(tmp.path().join("outside/x.csv"), &inside).unwrap();
    let found = lake::discover(&[run_listing(tmp.path(), "exports/s1/focus-daily/20250101-20250131/run-a/x.csv")]);
    assert!(found.deliveries.is_empty());
    let msgs: Vec<String> = found.refused.iter().map(|r| r.to_string()).collect();
    assert!(msgs.iter().any(|m| m.contains("outside the input tree")), "{msgs:?}");
    std::fs::remove_file(tmp.path().join("in/exports/s1/focus-daily/20250101-20250131/run-a/manifest.json")).unwrap();
    let found = lake::discover(&[tmp.path().join("in")]);
    assert!(found.deliveries.is_empty());
    assert!(found.refused.iter().any(|r| r.to_string().contains("symbolic link") && r.to_string().contains("x.csv")), "{:?}", found.refused);
    // A link named on the command line is what the user asked for: its target is read.
    std::os::unix::fs::symlink(tmp.path().join("outside/x.csv"), tmp.path().join("named.csv")).unwrap();
    let found = lake::discover(&[tmp.path().join("named.csv")]);
    assert_eq!(found.deliveries.len(), 1, "{:?}", found.refused);
}

#[tokio::test]
async fn the_lakes_own_files_and_copied_export_files_are_never_counted_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let mut lake = lake_with_rows(tmp.path()).await;
    // `oversight ingest LAKE/usage`.
    let found = lake::discover(&[tmp.path().join("lake/usage")]);
    assert!(found.deliveries.is_empty());
    assert!(found.refused[0].to_string().contains("inside the lake"), "{}", found.refused[0]);
    // An export file copied out of its run folder, given as a plain file after the run.
    let run = tmp.path().join("exports/s1/focus-daily/20250101-20250131/run-a");
    std::fs::copy(run.join("part_0_0001.csv"), tmp.path().join("copy.csv")).unwrap();
    let found = lake::discover(&[tmp.path().join("copy.csv")]);
    let out = lake.ingest(&found.deliveries, &lake::IngestOptions::default(), &|_| {}).await.unwrap();
    assert!(matches!(&out[0], lake::DeliveryOutcome::Refused(LakeError::Duplicate { other, .. }) if other.contains("part_0_0001.csv")), "{out:?}");
    assert_eq!(live_rows(&lake), 9);

    // The copy and the run in one call, the copy first: the run is applied, the copy refused.
    let tmp = tempfile::tempdir().unwrap();
    let run = azure_run(tmp.path(), "run-a", "2025-01-10T06:00:00Z", &focus_csv("Microsoft", "ba1", 9, "1"), false);
    std::fs::copy(run.join("part_0_0001.csv"), tmp.path().join("copy.csv")).unwrap();
    let mut lake = Lake::open(tmp.path().join("lake")).await.unwrap();
    let found = lake::discover(&[tmp.path().join("copy.csv"), run]);
    assert_eq!(found.deliveries.len(), 2);
    let out = lake.ingest(&found.deliveries, &lake::IngestOptions::default(), &|_| {}).await.unwrap();
    let refused = out.iter().filter(|o| matches!(o, lake::DeliveryOutcome::Refused(LakeError::Duplicate { .. }))).count();
    assert_eq!(refused, 1, "{out:?}");
    assert_eq!(live_rows(&lake), 9);
    assert!(lake.state().deliveries.iter().any(|d| d.source == lake::delivery::Source::AzureRun && d.outcome == lake::Outcome::Applied));
}
