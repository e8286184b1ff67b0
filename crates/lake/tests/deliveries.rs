//! Delivery semantics: replace units take the newest delivery by provider time, append files are all kept,
//! incomplete deliveries change nothing, and the same bytes twice is a no-op.

mod common;

use common::{HEAD, azure_run, focus_csv, ingest, live_rows, put, rows_on_disk};
use lake::{DeliveryOutcome, IngestOptions, Lake, Outcome};

#[tokio::test]
async fn a_newer_azure_run_replaces_the_month_and_an_older_one_arriving_late_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let mut lake = Lake::open(tmp.path().join("lake")).await.unwrap();
    let first = azure_run(tmp.path(), "run-a", "2025-01-10T06:00:00Z", &focus_csv("Microsoft", "ba1", 9, "1"), false);
    ingest(&mut lake, &[first]).await;
    assert_eq!(live_rows(&lake), 9);

    let second = azure_run(tmp.path(), "run-b", "2025-01-20T06:00:00Z", &focus_csv("Microsoft", "ba1", 19, "2"), false);
    let out = ingest(&mut lake, &[second]).await;
    let DeliveryOutcome::Recorded(rec, _) = &out[0] else { panic!("{out:?}") };
    assert_eq!(rec.replaced.len(), 1);
    assert_eq!(live_rows(&lake), 19, "month-to-date runs must never be unioned");
    assert_eq!(rows_on_disk(&tmp.path().join("lake")), 19);

    // A replay of an older run (different bytes, earlier submittedTime) is recorded and ignored.
    let stale = azure_run(tmp.path(), "run-0", "2025-01-05T06:00:00Z", &focus_csv("Microsoft", "ba1", 4, "3"), false);
    let out = ingest(&mut lake, &[stale]).await;
    let DeliveryOutcome::Recorded(rec, _) = &out[0] else { panic!("{out:?}") };
    assert_eq!(rec.outcome, Outcome::OlderThanApplied);
    assert_eq!(live_rows(&lake), 19);
    assert_eq!(lake.state().deliveries.len(), 3, "every delivery is on record");

    // Reopening replays the same state.
    drop(lake);
    let again = Lake::open(tmp.path().join("lake")).await.unwrap();
    assert_eq!(live_rows(&again), 19);
}

#[tokio::test]
async fn ingesting_the_same_bytes_twice_is_a_no_op() {
    let tmp = tempfile::tempdir().unwrap();
    let mut lake = Lake::open(tmp.path().join("lake")).await.unwrap();
    let run = azure_run(tmp.path(), "run-a", "2025-01-10T06:00:00Z", &focus_csv("Microsoft", "ba1", 9, "1"), false);
    ingest(&mut lake, std::slice::from_ref(&run)).await;
    let version = lake.state().version;
    let out = ingest(&mut lake, &[run]).await;
    assert!(matches!(out[0], DeliveryOutcome::AlreadyIngested { .. }));
    assert_eq!(lake.state().version, version);
    assert_eq!(live_rows(&lake), 9);
}

#[tokio::test]
async fn a_manifest_listing_a_missing_or_short_file_is_refused_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = Lake::open(tmp.path().join("lake")).await.unwrap();
    let run = azure_run(tmp.path(), "run-a", "2025-01-10T06:00:00Z", &focus_csv("Microsoft", "ba1", 9, "1"), true);
    let found = lake::discover(std::slice::from_ref(&run));
    assert!(found.deliveries.is_empty());
    let msg = found.refused[0].to_string();
    assert!(msg.contains("incomplete delivery") && msg.contains("part_0_0001.csv"), "{msg}");

    std::fs::remove_file(run.join("part_0_0001.csv")).unwrap();
    let found = lake::discover(&[run]);
    assert!(found.refused[0].to_string().contains("not found"), "{}", found.refused[0]);
    assert_eq!(lake.state().version, 0);
}

#[tokio::test]
async fn a_refused_delivery_is_on_record_as_missing_and_is_read_once_it_is_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let mut lake = Lake::open(tmp.path().join("lake")).await.unwrap();
    let body = focus_csv("Microsoft", "ba1", 9, "1");
    let run = azure_run(tmp.path(), "run-a", "2025-01-10T06:00:00Z", &body, false);
    std::fs::remove_file(run.join("part_0_0001.csv")).unwrap();
    // Refused on two runs: on record each time, under one id, with its unit, and never as ingested.
    for _ in 0..2 {
        let found = lake::discover(std::slice::from_ref(&run));
        lake.record_refused(&found.refused).await.unwrap();
    }
    let d = &lake.state().deliveries;
    assert_eq!(d.len(), 2);
    assert_eq!(d[0].id, d[1].id);
    assert_eq!(d[0].units, [common::azure_unit("s1")]);
    assert!(matches!(&d[0].outcome, Outcome::Refused { reason, incomplete: true } if reason.contains("part_0_0001.csv")), "{:?}", d[0].outcome);
    assert!(lake.state().ids.is_empty() && lake.state().heads.is_empty());
    assert_eq!(lake::Snapshot::open(tmp.path().join("lake")).await.unwrap().state().deliveries.len(), 2, "refusals replay");

    put(&run.join("part_0_0001.csv"), &body);
    let out = ingest(&mut lake, &[run]).await;
    let DeliveryOutcome::Recorded(rec, _) = &out[0] else { panic!("{out:?}") };
    assert_eq!(rec.outcome, Outcome::Applied);
    assert_eq!(live_rows(&lake), 9);
}

#[tokio::test]
async fn aws_create_new_executions_replace_the_period_and_are_not_double_counted() {
    let tmp = tempfile::tempdir().unwrap();
    let export = tmp.path().join("focus/123/acme-focus");
    for (exec, days) in [("20250110T000000Z-e1", 9), ("20250120T000000Z-e2", 19)] {
        let rel = format!("data/BILLING_PERIOD=2025-01/{exec}/acme-focus-00001.csv.gz");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, focus_csv("AWS", "111122223333", days, "1").as_bytes()).unwrap();
        let p = export.join(&rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, gz.finish().unwrap()).unwrap();
        let m = serde_json::json!({"executionId": exec, "exportArn": "arn:aws:bcm-data-exports:us-east-1:123:export/acme-focus",
            "dataFiles": [format!("s3://bucket/focus/123/acme-focus/{rel}")]});
        let mp = export.join(format!("metadata/BILLING_PERIOD=2025-01/{exec}/acme-focus-Manifest.json"));
        put(&mp, m.to_string());
        // The partition-level manifest always describes the latest execution.
        put(&export.join("metadata/BILLING_PERIOD=2025-01/acme-focus-Manifest.json"), m.to_string());
    }
    let mut lake = Lake::open(tmp.path().join("lake")).await.unwrap();
    let out = ingest(&mut lake, std::slice::from_ref(&export)).await;
    assert_eq!(live_rows(&lake), 19, "{out:?}");
    assert_eq!(rows_on_disk(&tmp.path().join("lake")), 19);
}

#[tokio::test]
async fn oci_incremental_files_are_all_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let day = tmp.path().join("FOCUS Reports/2025/01/05");
    put(&day.join("0001000001507847-00001.csv"), focus_csv("Oracle", "ocid1.tenancy.oc1..aaa", 3, "1"));
    put(&day.join("0001000001507848-00001.csv"), focus_csv("Oracle", "ocid1.tenancy.oc1..aaa", 3, "2"));
    let mut lake = Lake::open(tmp.path().join("lake")).await.unwrap();
    let out = ingest(&mut lake, &[tmp.path().join("FOCUS Reports")]).await;
    assert_eq!(out.len(), 2);
    for o in &out {
        let DeliveryOutcome::Recorded(r, _) = o else { panic!("{o:?}") };
        assert_eq!(r.model, lake::Model::Append);
        assert!(r.replaced.is_empty());
    }
    assert_eq!(live_rows(&lake), 6, "an incremental file is never lost");
    // A later file of the same month is also kept.
    put(&day.join("0001000001507849-00001.csv"), focus_csv("Oracle", "ocid1.tenancy.oc1..aaa", 3, "5"));
    ingest(&mut lake, &[tmp.path().join("FOCUS Reports")]).await;
    assert_eq!(live_rows(&lake), 9);
}

#[tokio::test]
async fn the_delivery_flag_overrides_a_plain_files_model() {
    let tmp = tempfile::tempdir().unwrap();
    put(&tmp.path().join("a.csv"), focus_csv("AWS", "1", 3, "1"));
    put(&tmp.path().join("b.csv"), focus_csv("AWS", "1", 3, "2"));
    let mut lake = Lake::open(tmp.path().join("lake")).await.unwrap();
    let found = lake::discover(&[tmp.path().join("a.csv"), tmp.path().join("b.csv")]);
    let opts = IngestOptions { model: Some(lake::Model::Append), ..Default::default() };
    lake.ingest(&found.deliveries, &opts, &|_| {}).await.unwrap();
    assert_eq!(live_rows(&lake), 6);
}

#[tokio::test]
async fn a_plain_file_replacing_one_of_several_accounts_keeps_the_others() {
    let tmp = tempfile::tempdir().unwrap();
    // One file with two billing accounts of January, then a newer file with only the first account.
    let two = format!("{}{}", focus_csv("AWS", "acct-a", 5, "1"), focus_csv("AWS", "acct-b", 5, "1").replacen(HEAD, "", 1));
    put(&tmp.path().join("jan-v1.csv"), &two);
    let mut lake = Lake::open(tmp.path().join("lake")).await.unwrap();
    ingest(&mut lake, &[tmp.path().join("jan-v1.csv")]).await;
    assert_eq!(live_rows(&lake), 10);
    std::thread::sleep(std::time::Duration::from_millis(20));
    put(&tmp.path().join("jan-v2.csv"), focus_csv("AWS", "acct-a", 7, "2"));
    ingest(&mut lake, &[tmp.path().join("jan-v2.csv")]).await;
    // acct-a: 7 new rows replace its 5; acct-b keeps its 5.
    assert_eq!(live_rows(&lake), 12);
    assert_eq!(rows_on_disk(&tmp.path().join("lake")), 12);
    drop(lake);
    let reopened = Lake::open(tmp.path().join("lake")).await.unwrap();
    assert_eq!(live_rows(&reopened), 12);
}

#[tokio::test]
async fn leftovers_of_an_interrupted_ingest_are_removed_on_open() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("lake");
    let mut lake = Lake::open(&root).await.unwrap();
    put(&tmp.path().join("a.csv"), focus_csv("AWS", "1", 3, "1"));
    ingest(&mut lake, &[tmp.path().join("a.csv")]).await;
    let stray = root.join("usage/charge_date=2025-01-01/deadbeef.parquet");
    std::fs::write(&stray, b"half a file").unwrap();
    drop(lake);
    let lake = Lake::open(&root).await.unwrap();
    assert!(!stray.exists());
    assert_eq!(live_rows(&lake), 3);
    assert_eq!(rows_on_disk(&root), 3);
}

#[tokio::test]
async fn aws_overwrite_mode_replaces_the_period_in_place() {
    let tmp = tempfile::tempdir().unwrap();
    let export = tmp.path().join("focus/123/acme-focus");
    let data = export.join("data/BILLING_PERIOD=2025-01/acme-focus-00001.csv");
    let manifest = export.join("metadata/BILLING_PERIOD=2025-01/acme-focus-Manifest.json");
    let m = serde_json::json!({"executionId": "e", "exportArn": "arn:aws:bcm-data-exports:us-east-1:123:export/acme-focus",
        "dataFiles": ["s3://bucket/focus/123/acme-focus/data/BILLING_PERIOD=2025-01/acme-focus-00001.csv"]});
    put(&data, focus_csv("AWS", "111122223333", 9, "1"));
    put(&manifest, m.to_string());
    let mut lake = Lake::open(tmp.path().join("lake")).await.unwrap();
    ingest(&mut lake, std::slice::from_ref(&export)).await;
    assert_eq!(live_rows(&lake), 9);
    // The next refresh overwrites the same names; the manifest's own write time orders it.
    std::thread::sleep(std::time::Duration::from_millis(20));
    put(&data, focus_csv("AWS", "111122223333", 19, "1"));
    put(&manifest, m.to_string());
    let out = ingest(&mut lake, &[export]).await;
    let DeliveryOutcome::Recorded(rec, _) = &out[0] else { panic!("{out:?}") };
    assert_eq!(rec.replaced.len(), 1);
    assert_eq!(live_rows(&lake), 19);
    assert_eq!(rows_on_disk(&tmp.path().join("lake")), 19);
}

#[tokio::test]
async fn google_extracts_append() {
    let tmp = tempfile::tempdir().unwrap();
    put(&tmp.path().join("extract-1.csv"), focus_csv("Google Cloud", "01ABCD-234567-89EFGH", 4, "1"));
    put(&tmp.path().join("extract-2.csv"), focus_csv("Google Cloud", "01ABCD-234567-89EFGH", 4, "0.5"));
    let mut lake = Lake::open(tmp.path().join("lake")).await.unwrap();
    let out = ingest(&mut lake, &[tmp.path().to_path_buf()]).await;
    for o in &out {
        let DeliveryOutcome::Recorded(r, _) = o else { panic!("{o:?}") };
        assert_eq!((r.provider, r.model), (lake::Provider::Gcp, lake::Model::Append));
    }
    assert_eq!(live_rows(&lake), 8, "corrections are new rows, never a replacement");
}

#[tokio::test]
async fn more_days_than_open_files_split_into_parts_and_lose_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    // 60 days (more than the 40 files open at once), rows round-robin over the days, three rounds: every batch
    // touches many dates.
    let mut body = HEAD.to_string();
    for round in 0..3 {
        for d in 0..60u32 {
            let day = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap() + chrono::Days::new(u64::from(d));
            let next = day + chrono::Days::new(1);
            body.push_str(&format!(
                "acct,sub-1,2025-01-01T00:00:00Z,2025-02-01T00:00:00Z,{day}T00:00:00Z,{next}T00:00:00Z,Usage,USD,{round},{round},AWS,Storage,1,GB\n"
            ));
        }
    }
    put(&tmp.path().join("f.csv"), &body);
    let mut lake = Lake::open(tmp.path().join("lake")).await.unwrap();
    let found = lake::discover(&[tmp.path().join("f.csv")]);
    let opts = IngestOptions { batch_rows: Some(8), ..Default::default() };
    lake.ingest(&found.deliveries, &opts, &|_| {}).await.unwrap();
    assert_eq!(live_rows(&lake), 180);
    assert_eq!(rows_on_disk(&tmp.path().join("lake")), 180);
    let parts = lake.state().live("usage").count();
    assert!(parts > 60, "dates closed at the cap continue in part files ({parts} files)");
}
