//! What `simulate` writes: the scenario folder's files, determinism, and the delivery layouts.

use std::path::Path;

use simulate::{Cloud, Config, Format, Labels, Providers, simulate};

fn config(providers: Providers, format: Format) -> Config {
    Config { accounts: 80, days: 75, seed: 7, providers, format, ..Config::default() }
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> =
        walk(dir).into_iter().map(|p| (p.strip_prefix(dir).unwrap().display().to_string(), std::fs::read(&p).unwrap())).collect();
    out.sort();
    out
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}

#[test]
fn the_same_seed_writes_the_same_bytes_whatever_the_threads() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut c = config(Providers::Mixed, Format::CsvGz);
    simulate(&c, a.path(), &|_| {}).unwrap();
    c.threads = 1;
    simulate(&c, b.path(), &|_| {}).unwrap();
    let (fa, fb) = (files(a.path()), files(b.path()));
    assert!(fa.len() > 20);
    assert!(fa == fb, "outputs differ");
    let c2 = Config { seed: 8, ..c };
    let d = tempfile::tempdir().unwrap();
    simulate(&c2, d.path(), &|_| {}).unwrap();
    assert!(files(d.path()) != fa);
}

#[test]
fn labels_cover_every_account_of_the_registry_once() {
    let dir = tempfile::tempdir().unwrap();
    let s = simulate(&config(Providers::One(Cloud::Azure), Format::Csv), dir.path(), &|_| {}).unwrap();
    assert_eq!(s.accounts, 80);
    let labels = Labels::parse(&std::fs::read_to_string(dir.path().join("labels.json")).unwrap()).unwrap();
    let reg = registry::Registry::from_path(&dir.path().join("registry.csv")).unwrap();
    for t in reg.iter() {
        assert!(labels.get(&t.account_id).is_some(), "{} unlabelled", t.account_id);
    }
    // Every label is in the registry, except structuring's newest sub-accounts, created after it was written.
    for l in &labels.accounts {
        assert!(reg.get(&l.account_id).is_some() || l.part_of.is_some(), "{} labelled but not registered", l.account_id);
    }
    let names: Vec<&str> = labels.accounts.iter().map(|l| l.label.as_str()).collect();
    for scenario in ["archive-surge", "interception-pipeline", "exodus", "structuring", "biometric-sweep", "analytics-vendor"] {
        assert!(names.contains(&scenario), "{scenario} missing");
    }
    let parent = labels.accounts.iter().find(|l| l.label == "structuring" && l.part_of.is_none()).unwrap();
    assert!(labels.accounts.iter().filter(|l| l.part_of.as_deref() == Some(parent.account_id.as_str())).count() >= 8);
    assert!(reg.get(&parent.account_id).is_some(), "the labelled parent is the registry's");
    let events = registry::Events::from_path(&dir.path().join("events.csv")).unwrap();
    assert!(events.iter().any(|e| e.kind == registry::EventKind::Suspension));
}
