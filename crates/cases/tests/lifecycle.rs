//! A case's life on both back ends: findings open it, review, the two-person rule, enforcement documents,
//! watching after enforcement, lift; every refusal typed and writing nothing; two reviewers at once.

mod common;

use cases::{Action, CaseError, Family, Outcome, Provider, Ruling, Scope, State, Unit};
use common::*;

fn aws_unit() -> Unit {
    Unit { provider: Provider::Aws, scope: Scope::Accounts(vec!["111122223333".into()]), aws_management_account: Some("999988887777".into()) }
}

fn restrict() -> Action {
    Action::Decide(Ruling { outcome: Outcome::Restrict, unit: Some(aws_unit()), services: vec![Family::Storage, Family::Ai] })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn findings_to_lift_with_watching_on_both_back_ends() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, url) in common::fixtures::backends(tmp.path()).await {
        let log = mem_log();
        let (mut cases, r) = setup(&url, &log).await;
        let reg = registry();

        // Two findings on sub-a open one case; one on sub-x opens another. Placements come in the order given.
        let placed = cases
            .add_findings(&[finding("sub-a", "interception", 1), finding("sub-x", "archive", 1), finding("sub-a", "archive", 1)], &reg, "scan", at(0))
            .await
            .unwrap();
        let how: Vec<(&str, &str)> = placed.iter().map(|p| (p.case_id.as_str(), p.how)).collect();
        assert_eq!(how, [("case-000001", "opened"), ("case-000002", "opened"), ("case-000001", "joined")], "{name}");
        // The same findings again change nothing.
        let again = cases.add_findings(&[finding("sub-a", "interception", 1)], &reg, "scan", at(1)).await.unwrap();
        assert_eq!(again[0].how, "duplicate");
        assert_eq!(cases.get("case-000001").await.unwrap().version, 1);

        let id = "case-000001";
        cases.apply(id, &act(&r["lead"], 2), Action::Assign { reviewer: "ann".into() }).await.unwrap();
        let c = cases.apply(id, &act(&r["ann"], 3), restrict()).await.unwrap().case;
        assert_eq!((c.state, c.outcome, c.services.clone()), (State::Decided, Some(Outcome::Restrict), vec![Family::Storage, Family::Ai]));

        // The two-person rule.
        assert!(matches!(cases.apply(id, &act(&r["ops"], 4), Action::Enforce).await, Err(CaseError::NeedsApprovals { have: 0, .. })));
        cases.apply(id, &act(&r["ann"], 5), Action::Approve).await.unwrap();
        assert!(matches!(cases.apply(id, &act(&r["ann"], 6), Action::Approve).await, Err(CaseError::SameReviewer { .. })));
        assert!(matches!(cases.apply(id, &act(&r["ops"], 6), Action::Enforce).await, Err(CaseError::NeedsApprovals { have: 1, .. })));
        cases.apply(id, &act(&r["bob"], 7), Action::Approve).await.unwrap();
        assert!(matches!(cases.apply(id, &act(&r["cat"], 7), Action::Approve).await, Err(CaseError::AlreadyApproved { .. })));
        let enforced = cases.apply(id, &act(&r["ops"], 8), Action::Enforce).await.unwrap();
        assert_eq!(enforced.case.state, State::Enforced);
        assert_eq!(enforced.case.approvals, ["ann", "bob"]);
        let kinds: Vec<&str> = enforced.documents.iter().map(|d| d.kind.as_str()).collect();
        assert_eq!(kinds, ["scp", "scp-attachment"], "{name}");
        assert!(enforced.documents[0].json.contains("s3:"), "the SCP denies storage: {}", enforced.documents[0].json);

        // Watching: a sibling's finding and the parent's join the enforced case; an unrelated account's does not.
        let watched = cases
            .add_findings(&[finding("sub-b", "exodus", 12), finding("org-1", "interception-parent", 12), finding("sub-x", "exodus", 12)], &reg, "scan", at(9))
            .await
            .unwrap();
        let how: Vec<(&str, &str)> = watched.iter().map(|p| (p.case_id.as_str(), p.how)).collect();
        assert_eq!(how, [(id, "watch"), (id, "watch"), ("case-000002", "joined")], "{name}");
        assert!(
            matches!(cases.add_findings(&[finding("sub-zz", "exodus", 12)], &reg, "scan", at(9)).await, Err(CaseError::UnknownAccount(a)) if a == "sub-zz")
        );

        let lifted = cases.apply(id, &act(&r["lead"], 10), Action::Lift).await.unwrap().case;
        assert_eq!(lifted.state, State::Lifted);
        assert!(matches!(cases.apply(id, &act(&r["ann"], 11), restrict()).await, Err(CaseError::Closed { .. })));
        // After the lift a new finding on the account opens a new case.
        let after = cases.add_findings(&[finding("sub-a", "interception", 20)], &reg, "scan", at(12)).await.unwrap();
        assert_eq!((after[0].case_id.as_str(), after[0].how), ("case-000003", "opened"));

        let rec = cases.show(id).await.unwrap();
        let actions: Vec<&str> = rec.history.iter().map(|t| t.action.as_str()).collect();
        assert_eq!(actions, ["open", "assign", "decide", "approve", "approve", "enforce", "findings", "lift"]);
        assert!(rec.history.iter().all(|t| !t.actor.is_empty() && !t.reason.is_empty()));
        assert_eq!(rec.findings.iter().filter(|f| f.via == "watch").count(), 2);
        assert_eq!(rec.documents.len(), 2);
        // The enforce transition logged one decision and one enforcement entry per document, with its hash.
        let enforce = rec.history.iter().find(|t| t.action == "enforce").unwrap();
        let logged: Vec<&str> = enforce.entries.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(logged, ["decision", "enforcement", "enforcement"]);
        for (e, d) in enforce.entries[1..].iter().zip(&rec.documents) {
            let v: serde_json::Value = serde_json::from_str(&e.body).unwrap();
            assert_eq!(v["sha256"], d.sha256.as_str());
            assert_eq!(v["sha256"], enforce::sha256_hex(d.json.as_bytes()));
        }
        assert_eq!(rec.history.last().unwrap().entries[0].kind, "lift");
        assert_agree(&cases, &log).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_typed_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, url) in common::fixtures::backends(tmp.path()).await {
        let log = mem_log();
        let (mut cases, r) = setup(&url, &log).await;
        let reg = registry();
        cases.add_findings(&[finding("sub-a", "p", 1), finding("sub-b", "p", 1), finding("sub-c", "p", 1)], &reg, "scan", at(0)).await.unwrap();
        let size = || tlog::log::Log::open_in(log.clone()).unwrap().size();
        let before = size();
        let refused = [
            ("case-000099", Action::Lift),
            ("case-000001", Action::Approve),
            ("case-000001", Action::Enforce),
            ("case-000001", Action::Lift),
            ("case-000001", restrict()),
        ];
        for (id, action) in refused {
            let e = cases.apply(id, &act(&r["ann"], 1), action.clone()).await.unwrap_err();
            match id {
                "case-000099" => assert!(matches!(e, CaseError::UnknownCase(_)), "{name}: {e}"),
                _ => assert!(matches!(e, CaseError::Transition { .. }), "{name} {action:?}: {e}"),
            }
        }
        // A reason is required; a decision to enforce needs its unit, one that enforces nothing refuses one.
        let no_reason = cases::Act { reason: " ".into(), ..act(&r["ann"], 1) };
        assert!(matches!(cases.apply("case-000001", &no_reason, Action::Assign { reviewer: "ann".into() }).await, Err(CaseError::Input(_))));
        cases.apply("case-000001", &act(&r["lead"], 2), Action::Assign { reviewer: "ann".into() }).await.unwrap();
        let bare = Action::Decide(Ruling { outcome: Outcome::Suspend, unit: None, services: vec![] });
        assert!(matches!(cases.apply("case-000001", &act(&r["ann"], 3), bare).await, Err(CaseError::Input(_))));
        // A unit the documents cannot be made for (an AWS management account, which SCPs never affect) is refused
        // when it is decided, before anything is written.
        let mgmt = Unit { aws_management_account: Some("111122223333".into()), ..aws_unit() };
        let v = cases.get("case-000001").await.unwrap().version;
        let mid = size();
        let on_mgmt = Action::Decide(Ruling { outcome: Outcome::Suspend, unit: Some(mgmt), services: vec![] });
        assert!(matches!(cases.apply("case-000001", &act(&r["ann"], 4), on_mgmt).await, Err(CaseError::Enforce(enforce::EnforceError::ManagementAccount(_)))));
        assert_eq!((cases.get("case-000001").await.unwrap().version, size()), (v, mid), "{name}: a refused decision wrote something");
        // No-action closes the case: nothing more happens to it.
        cases.apply("case-000002", &act(&r["lead"], 8), Action::Assign { reviewer: "cat".into() }).await.unwrap();
        cases.apply("case-000002", &act(&r["cat"], 9), Action::Decide(Ruling { outcome: Outcome::NoAction, unit: None, services: vec![] })).await.unwrap();
        for action in [Action::Approve, Action::Enforce, Action::Assign { reviewer: "dan".into() }, restrict()] {
            assert!(matches!(cases.apply("case-000002", &act(&r["cat"], 10), action).await, Err(CaseError::Closed { .. })));
        }
        // A stale version is a conflict.
        let stale = cases::Act { expect_version: Some(1), ..act(&r["dan"], 11) };
        cases.apply("case-000003", &stale, Action::Assign { reviewer: "dan".into() }).await.unwrap();
        assert!(
            matches!(cases.apply("case-000003", &stale, Action::Assign { reviewer: "eve".into() }).await, Err(CaseError::Conflict { expected: 1, version: 2, by, .. }) if by == "dan")
        );
        assert!(size() > before);
        assert_agree(&cases, &log).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_reviewers_deciding_at_once_get_one_success_and_one_conflict() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, url) in common::fixtures::backends(tmp.path()).await {
        let log = mem_log();
        let (mut setup, r) = common::setup(&url, &log).await;
        let reg = registry();
        let accounts = ["sub-a", "sub-b", "sub-c", "sub-x"];
        let fs: Vec<_> = accounts.iter().map(|a| finding(a, "p", 1)).collect();
        setup.add_findings(&fs, &reg, "scan", at(0)).await.unwrap();
        let ids: Vec<String> = setup.list(None).await.unwrap().into_iter().map(|c| c.id).collect();
        for id in &ids {
            setup.apply(id, &act(&r["lead"], 1), Action::Assign { reviewer: "ann".into() }).await.unwrap();
        }
        // Both reviewers read the case at the same version, each in their own process (own store handle), then
        // both decide, really at once.
        for (round, id) in ids.iter().enumerate() {
            let version = setup.get(id).await.unwrap().version;
            let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
            let mut tasks = Vec::new();
            for (who, outcome) in [("ann", Outcome::Notice), ("bob", Outcome::NoAction)] {
                let (url, log, id, barrier, who) = (url.clone(), log.clone(), id.clone(), barrier.clone(), r[who].clone());
                // Half the rounds say which version they saw; the others rely on the read just before the change.
                let expect = (round % 2 == 0).then_some(version);
                tasks.push(tokio::spawn(async move {
                    let mut mine = open(&url, &log).await;
                    barrier.wait().await;
                    let a = cases::Act { expect_version: expect, ..act(&who, 2) };
                    (who.name().to_string(), mine.apply(&id, &a, Action::Decide(Ruling { outcome, unit: None, services: vec![] })).await)
                }));
            }
            let (mut winners, mut named) = (Vec::new(), Vec::new());
            for t in tasks {
                match t.await.unwrap() {
                    (who, Ok(_)) => winners.push(who),
                    // The loser either lost the compare-and-set, or read the case after the winner closed it.
                    (_, Err(CaseError::Conflict { by, .. })) => named.push(by),
                    (_, Err(CaseError::Closed { .. })) => {}
                    (_, Err(e)) => panic!("{name}: unexpected {e}"),
                }
            }
            assert_eq!(winners.len(), 1, "{name} {id}");
            assert!(named.iter().all(|by| *by == winners[0]), "{name} {id}: a conflict names {named:?}, the winner was {winners:?}");
            let rec = setup.show(id).await.unwrap();
            assert_eq!(rec.history.iter().filter(|t| t.action == "decide").count(), 1, "{name} {id}");
        }
        assert_agree(&setup, &log).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finding_gone_after_a_restatement_is_withdrawn_on_its_case_not_dropped() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, url) in common::fixtures::backends(tmp.path()).await {
        let log = mem_log();
        let (mut cases, _) = setup(&url, &log).await;
        let reg = registry();
        cases
            .add_findings(&[finding("sub-a", "interception", 1), finding("sub-a", "archive", 1), finding("sub-x", "archive", 2)], &reg, "run", at(0))
            .await
            .unwrap();
        let day = chrono::NaiveDate::from_ymd_opt(2025, 6, 1).unwrap();

        // Day 1 scanned again: `interception` still holds, `archive` does not; day 2's finding is not touched.
        let gone = cases.withdraw_findings(day, &[finding("sub-a", "interception", 1)], "the month was restated", "run", at(5)).await.unwrap();
        let what: Vec<(&str, &str, &str)> = gone.iter().map(|p| (p.case_id.as_str(), p.policy_id.as_str(), p.how)).collect();
        assert_eq!(what, [("case-000001", "archive", "withdrawn")], "{name}");
        let rec = cases.show("case-000001").await.unwrap();
        assert_eq!(rec.findings.len(), 2, "{name}: the withdrawn finding stays on the case");
        let withdrawn: Vec<&str> = rec.findings.iter().filter(|f| f.withdrawn.is_some()).map(|f| f.finding.policy.id.as_str()).collect();
        assert_eq!(withdrawn, ["archive"], "{name}");
        assert_eq!(rec.findings.iter().find(|f| f.withdrawn.is_some()).unwrap().withdrawn.as_ref().unwrap().reason, "the month was restated");
        let last = rec.history.last().unwrap();
        assert_eq!((last.action.as_str(), last.from, last.to), ("withdraw", Some(State::Open), State::Open), "{name}");
        assert!(rec.case.version == 2, "{name}: a withdrawal is a change of the case");
        assert!(cases.show("case-000002").await.unwrap().findings.iter().all(|f| f.withdrawn.is_none()), "{name}");

        // The log says so: a `finding` entry with how = withdrawn, under the tenant's pseudonym.
        let entries = log_entries(&log);
        let entry = &entries.iter().rev().find(|(_, e)| e["kind"] == "finding").unwrap().1;
        assert_eq!(entry["findings"][0]["how"], "withdrawn", "{name}: {entry}");
        assert_eq!(entry["findings"][0]["policy"], "archive");
        assert!(!entry.to_string().contains("sub-a"), "{name}: pseudonyms only: {entry}");

        // Scanned again with no finding left: only what was still held goes (archive is not withdrawn twice); a
        // withdrawal without a reason is refused.
        assert!(cases.withdraw_findings(day, &[], "again", "run", at(6)).await.unwrap().iter().all(|p| p.policy_id == "interception"));
        assert!(matches!(cases.withdraw_findings(day, &[], " ", "run", at(7)).await, Err(CaseError::Input(_))));
        assert_agree(&cases, &log).await;
    }
}
