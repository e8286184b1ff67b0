//! Batched ingest: many deliveries share files and commits, a unit's deliveries in one run are read once (the
//! newest), retirement is exact per unit inside shared files, and a delivery that fails mid-read lands nothing.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::{azure_export, azure_run, azure_unit, files_on_disk, focus_csv, ingest, live_rows, live_rows_by, put, rows_on_disk};
use lake::{DeliveryOutcome, IngestOptions, Lake, Outcome};

fn applied(o: &DeliveryOutcome) -> &lake::DeliveryRecord {
    match o {
        DeliveryOutcome::Recorded(r, _) if r.outcome == Outcome::Applied => r,
        other => panic!("not applied: {other:?}"),
    }
}

fn unit_rows(pairs: &[(&str, u64)]) -> BTreeMap<Option<String>, u64> {
    pairs.iter().map(|(u, n)| ((!u.is_empty()).then(|| u.to_string()), *n)).collect()
}

#[tokio::test]
async fn many_deliveries_in_one_run_make_one_commit_and_a_file_per_charge_date() {
    let tmp = tempfile::tempdir().unwrap();
    for s in 0..30 {
        let body = focus_csv("Microsoft", &format!("ba{s}"), 9, "1");
        azure_export(tmp.path(), &format!("s{s:02}"), "run-a", "2025-01-10T06:00:00Z", "part_0_0001.csv", body.as_bytes(), false);
    }
    for f in 1..=5 {
        put(&tmp.path().join(format!("FOCUS Reports/2025/01/0{f}/000{f}-00001.csv")), focus_csv("Oracle", "ocid1.tenancy.oc1..aaa", 9, &f.to_string()));
    }
    let mut lake = Lake::open(tmp.path().join("lake")).await.unwrap();
    let out = ingest(&mut lake, &[tmp.path().join("exports"), tmp.path().join("FOCUS Reports")]).await;
    assert_eq!(out.len(), 35);
    out.iter().for_each(|o| _ = applied(o));
    assert_eq!(lake.state().version, 1, "one commit for the whole run");
    assert_eq!(lake.state().deliveries.len(), 35);
    // One file per charge date (9 days), not per delivery (35 × 9).
    assert_eq!(lake.state().live("usage").count(), 9);
    assert_eq!(files_on_disk(&tmp.path().join("lake")), 9);
    for f in lake.state().live("usage") {
        assert_eq!((f.units.len(), f.append_rows, f.rows), (30, 5, 35), "{}", f.path);
    }
    assert_eq!(live_rows(&lake), 315);
    assert_eq!(rows_on_disk(&tmp.path().join("lake")), 315);
    let by_unit = live_rows_by(&lake, lake::UNIT);
    assert_eq!(by_unit.len(), 31);
    assert_eq!(by_unit[&None], 45, "append rows have no unit");
    assert!((0..30).all(|s| by_unit[&Some(azure_unit(&format!("s{s:02}")))] == 9));
    // The manifest replays to the same state.
    let again = lake::Snapshot::open(tmp.path().join("lake")).await.unwrap();
    assert_eq!(again.state().files, lake.state().files);
}

#[tokio::test]
async fn two_runs_of_one_azure_unit_in_one_call_read_only_the_newer() {
    let tmp = tempfile::tempdir().unwrap();
    let older = azure_run(tmp.path(), "run-a", "2025-01-10T06:00:00Z", &focus_csv("Microsoft", "ba1", 9, "1"), false);
    let newer = azure_run(tmp.path(), "run-b", "2025-01-20T06:00:00Z", &focus_csv("Microsoft", "ba1", 19, "2"), false);
    let mut lake = Lake::open(tmp.path().join("lake")).await.unwrap();
    let found = lake::discover(&[older.clone(), newer.clone()]);
    // Both input orders: the provider's time decides, not the order.
    for reversed in [false, true] {
        let mut lake = Lake::open(tmp.path().join(format!("lake-{reversed}"))).await.unwrap();
        let mut deliveries = found.deliveries.clone();
        if reversed {
            deliveries.reverse();
        }
        let mut out = lake.ingest(&deliveries, &IngestOptions::default(), &|_| {}).await.unwrap();
        if reversed {
            out.reverse();
        }
        let b = applied(&out[1]).clone();
        let DeliveryOutcome::Recorded(a, _) = &out[0] else { panic!("{out:?}") };
        assert_eq!(a.outcome, Outcome::Superseded { by: b.id.clone() });
        assert_eq!((a.files[0].rows_read, a.files[0].focus_version.as_str()), (0, ""), "the superseded run is never read");
        assert_eq!(a.units, [azure_unit("s1")]);
        assert_eq!(b.files[0].rows_kept, 19);
        assert_eq!(lake.state().version, 1);
        assert_eq!(live_rows(&lake), 19);
        assert_eq!(live_rows_by(&lake, "_delivery"), BTreeMap::from([(Some(b.id.clone()), 19)]));
        assert_eq!(lake.state().heads[&azure_unit("s1")].1, b.id);
    }
    // Together again: nothing new.
    ingest(&mut lake, &[older.clone(), newer.clone()]).await;
    let version = lake.state().version;
    let out = ingest(&mut lake, &[older, newer]).await;
    assert!(out.iter().all(|o| matches!(o, DeliveryOutcome::AlreadyIngested { .. })), "{out:?}");
    assert_eq!(lake.state().version, version);
    // The serialised outcome names the superseding delivery.
    let superseded = &lake.state().deliveries[0];
    let json = serde_json::to_value(&superseded.outcome).unwrap();
    assert_eq!(json["superseded"]["by"], lake.state().deliveries[1].id, "{json}");
}

#[tokio::test]
async fn the_same_bytes_twice_in_one_run_are_read_once() {
    let tmp = tempfile::tempdir().unwrap();
    let body = focus_csv("Microsoft", "ba1", 9, "1");
    let first = azure_run(tmp.path(), "run-a", "2025-01-10T06:00:00Z", &body, false);
    let copy = azure_run(tmp.path(), "run-b", "2025-01-11T06:00:00Z", &body, false);
    put(&tmp.path().join("oci/a/0001.csv"), focus_csv("Oracle", "t", 3, "1"));
    put(&tmp.path().join("oci/b/0001.csv"), focus_csv("Oracle", "t", 3, "1"));
    let mut lake = Lake::open(tmp.path().join("lake")).await.unwrap();
    let out = ingest(&mut lake, &[first, copy, tmp.path().join("oci")]).await;
    let already = out.iter().filter(|o| matches!(o, DeliveryOutcome::AlreadyIngested { .. })).count();
    let recorded = out.iter().filter(|o| matches!(o, DeliveryOutcome::Recorded(r, _) if r.outcome == Outcome::Applied)).count();
    assert_eq!((recorded, already), (2, 2), "{out:?}");
    assert_eq!(live_rows(&lake), 12);
    assert_eq!(rows_on_disk(&tmp.path().join("lake")), 12);
}

#[tokio::test]
async fn a_later_restatement_retires_exactly_its_unit_from_shared_files() {
    let tmp = tempfile::tempdir().unwrap();
    // s1 and s3 have January 1–5, s2 has 1–9, and an OCI file has 1–3: the files of the 6th to the 9th hold s2 alone.
    let run = |scope: &str, run: &str, at: &str, days: u32, cost: &str| {
        azure_export(tmp.path(), scope, run, at, "part_0_0001.csv", focus_csv("Microsoft", scope, days, cost).as_bytes(), false)
    };
    let first = [
        run("s1", "run-a", "2025-01-10T06:00:00Z", 5, "1"),
        run("s2", "run-a", "2025-01-10T06:00:00Z", 9, "1"),
        run("s3", "run-a", "2025-01-10T06:00:00Z", 5, "1"),
    ];
    put(&tmp.path().join("FOCUS Reports/2025/01/03/0001-00001.csv"), focus_csv("Oracle", "t", 3, "1"));
    let mut lake = Lake::open(tmp.path().join("lake")).await.unwrap();
    let mut inputs = first.to_vec();
    inputs.push(tmp.path().join("FOCUS Reports"));
    let out = ingest(&mut lake, &inputs).await;
    let s2_first = applied(&out[1]).id.clone();
    assert_eq!(lake.state().version, 1);
    let (s1, s2, s3) = (azure_unit("s1"), azure_unit("s2"), azure_unit("s3"));
    assert_eq!(live_rows_by(&lake, lake::UNIT), unit_rows(&[(&s1, 5), (&s2, 9), (&s3, 5), ("", 3)]));
    let before: Vec<String> = lake.state().live("usage").map(|f| f.path.clone()).collect();
    assert_eq!(before.len(), 9);

    // The month restated for s2 alone, three days.
    let restated = run("s2", "run-b", "2025-01-20T06:00:00Z", 3, "7");
    let out = ingest(&mut lake, &[restated]).await;
    let rec = applied(&out[0]);
    assert_eq!(rec.replaced, [s2_first]);
    assert_eq!(lake.state().version, 2);
    assert_eq!(live_rows_by(&lake, lake::UNIT), unit_rows(&[(&s1, 5), (&s2, 3), (&s3, 5), ("", 3)]));
    let by_delivery = live_rows_by(&lake, "_delivery");
    assert_eq!(by_delivery[&Some(rec.id.clone())], 3, "s2's rows are the restatement's");
    assert_eq!(live_rows(&lake), 16);
    assert_eq!(rows_on_disk(&tmp.path().join("lake")), 16);
    assert_eq!(files_on_disk(&tmp.path().join("lake")), lake.state().live("usage").count());
    let live: Vec<&lake::LiveFile> = lake.state().live("usage").collect();
    // The 6th to the 9th held s2 alone: removed, not rewritten. The 1st to the 5th: rewritten without s2's rows.
    assert!(live.iter().all(|f| !["06", "07", "08", "09"].iter().any(|d| f.path.contains(&format!("2025-01-{d}")))), "{live:?}");
    assert!(live.iter().all(|f| !before.contains(&f.path)), "every old file held s2");
    for f in &live {
        let day: u32 = f.path[f.path.find("2025-01-").unwrap() + 8..][..2].parse().unwrap();
        let mut want = vec![s1.clone(), s3.clone()];
        if f.path.contains("-r") {
            assert_eq!(f.append_rows, u64::from(day <= 3), "{}", f.path);
        } else {
            want = vec![s2.clone()];
        }
        want.sort();
        assert_eq!(f.units.iter().map(|u| u.to_string()).collect::<Vec<_>>(), want, "{}", f.path);
    }
    let reopened = lake::Snapshot::open(tmp.path().join("lake")).await.unwrap();
    assert_eq!(reopened.state().files, lake.state().files);
}

#[tokio::test]
async fn a_delivery_failing_mid_read_lands_nothing_while_the_others_land() {
    let tmp = tempfile::tempdir().unwrap();
    let good = |scope: &str| {
        azure_export(tmp.path(), scope, "run-a", "2025-01-10T06:00:00Z", "part_0_0001.csv", focus_csv("Microsoft", scope, 9, "1").as_bytes(), false)
    };
    // 270 rows over the same nine days, gzipped, with a wrong CRC: the reader fails after every row was parsed.
    let mut body = focus_csv("Microsoft", "s2", 9, "1");
    for i in 0..29 {
        body.push_str(&focus_csv("Microsoft", "s2", 9, &format!("{i}")).replacen(common::HEAD, "", 1));
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, body.as_bytes()).unwrap();
    let mut gz = gz.finish().unwrap();
    let crc = gz.len() - 8;
    gz[crc] ^= 0xff;
    let inputs = [good("s1"), azure_export(tmp.path(), "s2", "run-a", "2025-01-10T06:00:00Z", "part_0_0001.csv.gz", &gz, false), good("s3")];
    // A plain file whose header is not FOCUS.
    put(&tmp.path().join("bad.csv"), "a,b\n1,2\n");
    let mut lake = Lake::open(tmp.path().join("lake")).await.unwrap();
    let mut found = lake::discover(&inputs);
    found.deliveries.insert(1, lake::discover(&[tmp.path().join("bad.csv")]).deliveries.remove(0));
    let opts = IngestOptions { batch_rows: Some(16), ..Default::default() };
    let rows = std::sync::atomic::AtomicU64::new(0);
    let out = lake
        .ingest(&found.deliveries, &opts, &|p| {
            if let lake::Progress::Rows(n) = p {
                rows.store(n, std::sync::atomic::Ordering::Relaxed)
            }
        })
        .await
        .unwrap();
    assert!(rows.into_inner() >= 18 + 16, "the corrupt file's first rows were read");
    assert!(matches!(&out[1], DeliveryOutcome::Refused(_)), "{:?}", out[1]);
    assert!(matches!(&out[2], DeliveryOutcome::Refused(e) if e.to_string().contains("part_0_0001.csv.gz")), "{:?}", out[2]);
    let (s1, s3) = (applied(&out[0]).id.clone(), applied(&out[3]).id.clone());
    assert_eq!(lake.state().version, 1);
    let refused: Vec<_> = lake.state().deliveries.iter().filter(|d| matches!(d.outcome, Outcome::Refused { .. })).collect();
    assert_eq!(lake.state().deliveries.len(), 4, "refused deliveries are on record too");
    assert_eq!(refused.len(), 2);
    assert!(refused.iter().all(|d| !lake.state().ids.contains(&d.id)), "a refused delivery does not count as ingested");
    assert!(refused.iter().any(
        |d| d.units == [azure_unit("s2")] && matches!(&d.outcome, Outcome::Refused { reason, incomplete: false } if reason.contains("part_0_0001.csv.gz"))
    ));
    assert_eq!(live_rows_by(&lake, "_delivery"), BTreeMap::from([(Some(s1), 9), (Some(s3), 9)]));
    assert_eq!(live_rows(&lake), 18);
    assert_eq!(rows_on_disk(&tmp.path().join("lake")), 18, "no rows of the refused delivery on disk");
    assert_eq!(files_on_disk(&tmp.path().join("lake")), 9);
    assert!(lake.state().live("usage").all(|f| f.path.contains("-r")), "the shared files were rewritten without its rows");
    assert!(!lake.state().heads.contains_key(&azure_unit("s2")));
}

/// A small deterministic generator (xorshift64*), for reproducible orders.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }
}

/// Three Azure units with three runs each, two versions of a plain AWS file (replace model, ordered by file time),
/// and three OCI files, in a random order, a random duplicate, split over one to three ingest calls with a random
/// commit budget: the live rows are always the newest delivery of each unit and every append file once.
#[tokio::test]
async fn any_order_of_deliveries_ends_with_the_newest_per_unit_and_every_append_file_once() {
    for seed in 1..=24u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let tmp = tempfile::tempdir().unwrap();
        let mut want: BTreeMap<Option<String>, u64> = BTreeMap::new();
        let mut inputs: Vec<PathBuf> = Vec::new();
        for (s, scope) in ["s1", "s2", "s3"].into_iter().enumerate() {
            // Distinct row counts per run, submitted at shuffled hours: the newest is not the largest.
            let mut hours = [6, 12, 18];
            for i in (1..3).rev() {
                hours.swap(i, rng.below(i + 1));
            }
            for (r, hour) in hours.into_iter().enumerate() {
                let days = 3 + 3 * s as u32 + r as u32;
                let body = focus_csv("Microsoft", scope, days, &format!("{r}"));
                inputs.push(azure_export(
                    tmp.path(),
                    scope,
                    &format!("run-{r}"),
                    &format!("2025-01-10T{hour:02}:00:00Z"),
                    "part_0_0001.csv",
                    body.as_bytes(),
                    false,
                ));
                if hour == 18 {
                    want.insert(Some(azure_unit(scope)), u64::from(days));
                }
            }
        }
        let newer_aws = rng.below(2);
        for v in 0..2 {
            let p = tmp.path().join(format!("aws/v{v}.csv"));
            put(&p, focus_csv("AWS", "acct-x", 5 + v as u32, "1"));
            let at = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_736_000_000 + 3600 * u64::from(v == newer_aws));
            std::fs::File::options().write(true).open(&p).unwrap().set_modified(at).unwrap();
            inputs.push(p);
        }
        want.insert(Some("aws:acct-x:2025-01".into()), 5 + newer_aws as u64);
        for f in 1..=3u32 {
            put(&tmp.path().join(format!("FOCUS Reports/2025/01/0{f}/000{f}-00001.csv")), focus_csv("Oracle", "t", f + 1, &f.to_string()));
        }
        inputs.push(tmp.path().join("FOCUS Reports"));
        want.insert(None, 2 + 3 + 4);

        let mut deliveries = lake::discover(&inputs).deliveries;
        assert_eq!(deliveries.len(), 14);
        for i in (1..deliveries.len()).rev() {
            deliveries.swap(i, rng.below(i + 1));
        }
        let dup = deliveries[rng.below(deliveries.len())].clone();
        deliveries.insert(rng.below(deliveries.len() + 1), dup);
        let mut cuts = vec![0, deliveries.len()];
        for _ in 0..rng.below(3) {
            cuts.push(rng.below(deliveries.len() + 1));
        }
        cuts.sort_unstable();
        let mut lake = Lake::open(tmp.path().join("lake")).await.unwrap();
        lake.set_commit_rows([1, 20, lake::COMMIT_ROWS][rng.below(3)]);
        let mut applied_count = 0;
        for w in cuts.windows(2) {
            let out = lake.ingest(&deliveries[w[0]..w[1]], &IngestOptions::default(), &|_| {}).await.unwrap();
            assert_eq!(out.len(), w[1] - w[0]);
            for o in &out {
                match o {
                    DeliveryOutcome::Refused(e) => panic!("seed {seed}: {e}"),
                    DeliveryOutcome::Recorded(r, _) if r.outcome == Outcome::Applied => applied_count += 1,
                    _ => {}
                }
            }
        }
        let root = tmp.path().join("lake");
        assert_eq!(live_rows_by(&lake, lake::UNIT), want, "seed {seed}, cuts {cuts:?}");
        let total: u64 = want.values().sum();
        assert_eq!((live_rows(&lake), rows_on_disk(&root)), (total, total), "seed {seed}");
        assert_eq!(files_on_disk(&root), lake.state().live("usage").count(), "seed {seed}");
        assert_eq!(lake.state().deliveries.len(), 14, "seed {seed}: each delivery recorded once");
        assert!((7..=14).contains(&applied_count), "seed {seed}");
        // Each unit's live rows come from one delivery: 4 units and 3 append files.
        assert_eq!(live_rows_by(&lake, "_delivery").len(), 7, "seed {seed}");
        let reopened = lake::Snapshot::open(&root).await.unwrap();
        assert_eq!(reopened.state().files, lake.state().files, "seed {seed}");
    }
}

#[tokio::test]
async fn a_plain_file_whose_model_changes_midway_gets_its_units_right() {
    let tmp = tempfile::tempdir().unwrap();
    // The first batches are OCI's alone (append, so written with no unit), then AWS rows make the file replace-model.
    let mixed = format!("{}{}", focus_csv("Oracle", "t", 16, "1"), focus_csv("AWS", "acct-a", 4, "1").replacen(common::HEAD, "", 1));
    put(&tmp.path().join("mixed.csv"), mixed);
    put(&tmp.path().join("oci.csv"), focus_csv("Oracle", "t", 3, "2"));
    let mut lake = Lake::open(tmp.path().join("lake")).await.unwrap();
    let found = lake::discover(&[tmp.path().join("mixed.csv"), tmp.path().join("oci.csv")]);
    let opts = IngestOptions { batch_rows: Some(8), ..Default::default() };
    let out = lake.ingest(&found.deliveries, &opts, &|_| {}).await.unwrap();
    let rec = applied(&out[0]);
    assert_eq!((rec.model, rec.units.len()), (lake::Model::Replace, 2));
    assert_eq!(applied(&out[1]).model, lake::Model::Append);
    let want = |aws: u64| unit_rows(&[("oci:t:2025-01", 16), ("aws:acct-a:2025-01", aws), ("", 3)]);
    assert_eq!(live_rows_by(&lake, lake::UNIT), want(4));
    // A newer AWS file for the account replaces its four rows, and nothing else.
    std::thread::sleep(std::time::Duration::from_millis(20));
    put(&tmp.path().join("fix.csv"), focus_csv("AWS", "acct-a", 2, "3"));
    ingest(&mut lake, &[tmp.path().join("fix.csv")]).await;
    assert_eq!(live_rows_by(&lake, lake::UNIT), want(2));
    assert_eq!(rows_on_disk(&tmp.path().join("lake")), 21);
}
