//! Random sequences of findings and actions, by random reviewers, on both back ends: a refused action writes nothing
//! (no version, no log entry), an accepted one logs, and at the end the case states, their histories and the log tell
//! the same story entry for entry.

mod common;

use std::collections::BTreeMap;

use cases::{Action, CaseError, Family, Outcome, Provider, Ruling, Scope, Unit};
use common::*;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    /// A finding on one of the accounts.
    Find(usize, u32),
    /// An action on case `case-00000N` by reviewer R.
    Act(usize, Kind, usize),
}

const ACCOUNTS: [&str; 4] = ["sub-a", "sub-b", "org-1", "sub-x"];
// Approvers, a reviewer (who may not approve, enforce or lift) and an auditor (who may do nothing).
const REVIEWERS: [&str; 5] = ["ann", "bob", "cat", "dan", "aud"];

#[derive(Debug, Clone, Copy)]
enum Kind {
    Assign,
    Decide(Outcome),
    Approve,
    Enforce,
    Lift,
}

fn action(kind: Kind, reviewer: &str) -> Action {
    match kind {
        Kind::Assign => Action::Assign { reviewer: reviewer.into() },
        Kind::Decide(outcome) => {
            let enforcing = outcome.enforces();
            let unit = Unit { provider: Provider::Gcp, scope: Scope::Projects(vec!["unit-project-1".into()]), aws_management_account: None };
            Action::Decide(Ruling { outcome, unit: enforcing.then_some(unit), services: if enforcing { vec![Family::Ai] } else { vec![] } })
        }
        Kind::Approve => Action::Approve,
        Kind::Enforce => Action::Enforce,
        Kind::Lift => Action::Lift,
    }
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    // Weighted so that many sequences take a case all the way to enforced and lifted.
    let kind = prop_oneof![
        2 => Just(Kind::Assign),
        1 => Just(Kind::Decide(Outcome::NoAction)),
        1 => Just(Kind::Decide(Outcome::Notice)),
        2 => Just(Kind::Decide(Outcome::Restrict)),
        2 => Just(Kind::Decide(Outcome::Suspend)),
        4 => Just(Kind::Approve),
        2 => Just(Kind::Enforce),
        2 => Just(Kind::Lift),
    ];
    let case = prop_oneof![3 => Just(1usize), 1 => 2usize..4];
    let op = prop_oneof![
        1 => (0..ACCOUNTS.len(), 1u32..20).prop_map(|(a, d)| Op::Find(a, d)),
        5 => (case, kind, 0..REVIEWERS.len()).prop_map(|(c, k, r)| Op::Act(c, k, r)),
    ];
    proptest::collection::vec(op, 1..60)
}

async fn run(url: &str, ops: &[Op]) {
    let log = mem_log();
    let (mut cases, roster) = setup(url, &log).await;
    let reg = registry();
    let size = || tlog::log::Log::open_in(log.clone()).unwrap().size();
    // Make sure case-000001 exists, so most actions land on a case.
    cases.add_findings(&[finding("sub-a", "p", 1)], &reg, "scan", at(0)).await.unwrap();
    for (step, op) in ops.iter().enumerate() {
        let before_size = size();
        let before: BTreeMap<String, i64> = cases.list(None).await.unwrap().into_iter().map(|c| (c.id, c.version)).collect();
        let minute = step as u32 + 1;
        let result = match op {
            Op::Find(a, day) => cases.add_findings(&[finding(ACCOUNTS[*a], "p", *day)], &reg, "scan", at(minute)).await.map(|_| ()),
            Op::Act(c, kind, r) => {
                let id = format!("case-{c:06}");
                cases.apply(&id, &act(&roster[REVIEWERS[*r]], minute), action(*kind, REVIEWERS[*r])).await.map(|_| ())
            }
        };
        let after: BTreeMap<String, i64> = cases.list(None).await.unwrap().into_iter().map(|c| (c.id, c.version)).collect();
        match result {
            Ok(()) => assert!(size() >= before_size, "step {step} {op:?}"),
            Err(e @ (CaseError::UnknownCase(_) | CaseError::Input(_))) => {
                assert_eq!((size(), &after), (before_size, &before), "step {step} {op:?} refused ({e}) but wrote")
            }
            Err(e) if e.is_refusal() => {
                assert_eq!((size(), &after), (before_size, &before), "step {step} {op:?} refused ({e}) but wrote")
            }
            Err(e) => panic!("step {step} {op:?}: {e}"),
        }
    }
    assert_agree(&cases, &log).await;
    // Replaying the log's case entries gives each case's history and its current state.
    let mut from_log: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for (_, v) in log_entries(&log) {
        let (Some(case), Some(t)) = (v["case"].as_str(), v["transition"].as_str()) else { continue };
        let seen = from_log.entry(case.to_string()).or_default();
        if seen.last().is_none_or(|(last, _)| last != t) {
            seen.push((t.to_string(), v["to"].as_str().unwrap_or_default().to_string()));
        }
    }
    for c in cases.list(None).await.unwrap() {
        let history: Vec<(String, String)> = cases.show(&c.id).await.unwrap().history.into_iter().map(|t| (t.id, t.to.as_str().to_string())).collect();
        assert_eq!(from_log.get(&c.id), Some(&history), "{}", c.id);
        assert_eq!(history.last().unwrap().1, c.state.as_str());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn the_log_and_the_store_never_disagree(ops in ops()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let tmp = tempfile::tempdir().unwrap();
            for (_, url) in common::fixtures::backends(tmp.path()).await {
                run(&url, &ops).await;
            }
        });
    }
}
