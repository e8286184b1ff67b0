//! The reviewer roster on both back ends: one person under two spellings is one reviewer (the three attacks of
//! issue item 10 each fail), only the roster signs in and acts, only as its role allows, and removing a reviewer
//! keeps their history.

mod common;

use cases::{Action, AuthError, CaseError, Outcome, Provider, Role, Ruling, Scope, State, Unit};
use common::*;

fn suspend() -> Action {
    Action::Decide(Ruling {
        outcome: Outcome::Suspend,
        unit: Some(Unit { provider: Provider::Aws, scope: Scope::Accounts(vec!["111122223333".into()]), aws_management_account: None }),
        services: vec![],
    })
}

/// `first` decides and approves a suspension, then signs in as `second` (another spelling of `first`) and approves
/// it too: the sign-in gives the same account (or, for a spelling the roster refuses, none), and the second approval
/// and enforcement are refused, writing nothing.
async fn second_spelling_cannot_approve(first: &str, second: &str) {
    let tmp = tempfile::tempdir().unwrap();
    for (name, url) in common::fixtures::backends(tmp.path()).await {
        let log = mem_log();
        let (mut cases, r) = setup(&url, &log).await;
        if cases.reviewer(first).await.is_err() {
            cases.add_reviewer(first, Role::Approver).await.unwrap();
            common::fixtures::cheap_password(&url, first).await;
        }
        let account = sign_in(&cases, first).await.unwrap();
        cases.add_findings(&[finding("sub-a", "p", 1)], &registry(), "scan", at(0)).await.unwrap();
        let id = "case-000001";
        cases.apply(id, &act(&r["lead"], 1), Action::Assign { reviewer: first.into() }).await.unwrap();
        cases.apply(id, &act(&account, 2), suspend()).await.unwrap();
        cases.apply(id, &act(&account, 3), Action::Approve).await.unwrap();
        let before = cases.get(id).await.unwrap();
        match sign_in(&cases, second).await {
            Ok(again) => {
                assert_eq!(again, account, "{name}: {second:?} signs in as {first:?}");
                let e = cases.apply(id, &act(&again, 4), Action::Approve).await.unwrap_err();
                assert!(matches!(&e, CaseError::SameReviewer { .. }), "{name}: {second:?} after {first:?}: {e}");
            }
            Err(e) => assert!(matches!(e, AuthError::Refused), "{name}: {second:?}: {e}"),
        }
        assert!(matches!(cases.apply(id, &act(&r["ops"], 5), Action::Enforce).await, Err(CaseError::NeedsApprovals { have: 1, .. })));
        let after = cases.get(id).await.unwrap();
        assert_eq!((after.state, after.version, after.approvals.len()), (State::Decided, before.version, 1), "{name}");
        assert_agree(&cases, &log).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ann_and_capital_ann_are_one_reviewer() {
    second_spelling_cannot_approve("ann", "Ann").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ann_with_a_zero_width_space_is_refused() {
    second_spelling_cannot_approve("ann", "ann\u{200b}").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jose_in_nfc_and_nfd_is_one_reviewer() {
    second_spelling_cannot_approve("Jos\u{e9}", "Jose\u{301}").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_roster_keeps_one_name_per_person() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, url) in common::fixtures::backends(tmp.path()).await {
        let log = mem_log();
        cases::Cases::init(&url).await.unwrap();
        let mut cases = open(&url, &log).await;
        let ann = cases.add_reviewer(" Ann Lee ", Role::Approver).await.unwrap();
        assert_eq!((ann.name.as_str(), ann.key.as_str(), ann.role, ann.removed_at), ("Ann Lee", "ann lee", Role::Approver, None));
        for spelling in ["ann lee", "ANN LEE", "\u{ff21}nn Lee"] {
            match cases.add_reviewer(spelling, Role::Reviewer).await {
                Err(CaseError::ReviewerExists { existing, removed: false, .. }) => assert_eq!(existing, "Ann Lee"),
                other => panic!("{name}: {spelling:?}: {other:?}"),
            }
        }
        for refused in ["ann\u{200b} lee", "ann  lee", "", "\u{202e}eel nna"] {
            assert!(matches!(cases.add_reviewer(refused, Role::Reviewer).await, Err(CaseError::Name { .. })), "{refused:?}");
        }
        cases.add_reviewer("Jos\u{e9}", Role::Auditor).await.unwrap();
        assert_eq!(cases.reviewer("JOSE\u{301}").await.unwrap().name, "Jos\u{e9}");
        let listed: Vec<(String, Role)> = cases.list_reviewers().await.unwrap().into_iter().map(|r| (r.name, r.role)).collect();
        assert_eq!(listed, [("Ann Lee".to_string(), Role::Approver), ("Jos\u{e9}".to_string(), Role::Auditor)], "{name}");

        // Removing matches by key; the row stays, and the name cannot be registered again, in any spelling.
        let removed = cases.remove_reviewer("ANN LEE").await.unwrap();
        assert_eq!(removed.name, "Ann Lee");
        assert!(removed.removed_at.is_some());
        assert!(matches!(cases.remove_reviewer("ann lee").await, Err(CaseError::RemovedReviewer { .. })));
        assert!(matches!(cases.remove_reviewer("nobody").await, Err(CaseError::UnknownReviewer(_))));
        assert!(matches!(cases.add_reviewer("ann lee", Role::Approver).await, Err(CaseError::ReviewerExists { removed: true, .. })));
        assert_eq!(cases.list_reviewers().await.unwrap().len(), 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_roster_acts_and_only_as_its_role_allows() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, url) in common::fixtures::backends(tmp.path()).await {
        let log = mem_log();
        let (mut cases, r) = setup(&url, &log).await;
        let reg = registry();
        cases.add_findings(&[finding("sub-a", "p", 1)], &reg, "scan", at(0)).await.unwrap();
        let id = "case-000001";
        let size = || tlog::log::Log::open_in(log.clone()).unwrap().size();
        let before = (cases.get(id).await.unwrap().version, size());
        // Someone not on the roster cannot sign in, so has no account to act with.
        assert!(matches!(sign_in(&cases, "mallory").await, Err(AuthError::Refused)));
        let refused = [
            ("lead", Action::Assign { reviewer: "mallory".into() }),
            ("aud", Action::Assign { reviewer: "ann".into() }),
            ("lead", Action::Assign { reviewer: "aud".into() }),
        ];
        for (actor, action) in refused {
            let e = cases.apply(id, &act(&r[actor], 1), action.clone()).await.unwrap_err();
            assert!(e.is_refusal(), "{name}: {actor} {action:?}: {e}");
            match actor {
                "aud" => assert!(matches!(&e, CaseError::NotPermitted { role: Role::Auditor, .. }), "{e}"),
                _ => assert!(matches!(e, CaseError::UnknownReviewer(_) | CaseError::NotPermitted { .. }), "{e}"),
            }
        }
        assert_eq!((cases.get(id).await.unwrap().version, size()), before, "{name}: a refused action wrote");

        // Any spelling signs in; the store records the name as registered.
        let lead = sign_in(&cases, "LEAD").await.unwrap();
        cases.apply(id, &act(&lead, 2), Action::Assign { reviewer: "DAN".into() }).await.unwrap();
        let c = cases.apply(id, &act(&sign_in(&cases, "Dan").await.unwrap(), 3), suspend()).await.unwrap().case;
        assert_eq!(c.assignee.as_deref(), Some("dan"));
        // A reviewer decides but does not approve, enforce or lift.
        let e = cases.apply(id, &act(&r["dan"], 4), Action::Approve).await.unwrap_err();
        assert!(matches!(&e, CaseError::NotPermitted { role: Role::Reviewer, .. }), "{e}");
        assert!(e.to_string().contains("approver or admin"), "{e}");
        cases.apply(id, &act(&sign_in(&cases, "Ann").await.unwrap(), 5), Action::Approve).await.unwrap();
        cases.apply(id, &act(&sign_in(&cases, "BOB").await.unwrap(), 6), Action::Approve).await.unwrap();
        let enforced = cases.apply(id, &act(&sign_in(&cases, "Ops").await.unwrap(), 7), Action::Enforce).await.unwrap().case;
        assert_eq!(enforced.approvals, ["ann", "bob"]);
        let rec = cases.show(id).await.unwrap();
        let actors: Vec<&str> = rec.history.iter().map(|t| t.actor.as_str()).collect();
        assert_eq!(actors, ["scan", "lead", "dan", "ann", "bob", "ops"], "{name}");
        let logged: Vec<serde_json::Value> = rec.history.iter().map(|t| serde_json::from_str(&t.entries[0].body).unwrap()).collect();
        assert_eq!(logged[3]["actor"], "ann", "{name}: the log records the registered name");
        assert_agree(&cases, &log).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_reviewer_keeps_their_history_and_acts_no_more() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, url) in common::fixtures::backends(tmp.path()).await {
        let log = mem_log();
        let (mut cases, r) = setup(&url, &log).await;
        let fs = [finding("sub-a", "p", 1), finding("sub-x", "p", 1)];
        cases.add_findings(&fs, &registry(), "scan", at(0)).await.unwrap();
        let id = "case-000001";
        cases.apply(id, &act(&r["lead"], 1), Action::Assign { reviewer: "ann".into() }).await.unwrap();
        cases.apply(id, &act(&r["ann"], 2), suspend()).await.unwrap();
        cases.apply(id, &act(&r["ann"], 3), Action::Approve).await.unwrap();
        cases.remove_reviewer("ann").await.unwrap();

        let v = cases.get(id).await.unwrap().version;
        // Her account, signed in before the removal, acts no more; nor can she sign in again.
        for action in [Action::Approve, Action::Enforce] {
            let e = cases.apply(id, &act(&r["ann"], 4), action).await.unwrap_err();
            assert!(matches!(&e, CaseError::RemovedReviewer { name, .. } if name == "ann"), "{name}: {e}");
        }
        assert!(matches!(sign_in(&cases, "Ann").await, Err(AuthError::Refused)));
        // Nor can a case be assigned to her.
        assert!(matches!(
            cases.apply("case-000002", &act(&r["lead"], 4), Action::Assign { reviewer: "ann".into() }).await,
            Err(CaseError::RemovedReviewer { .. })
        ));
        assert_eq!(cases.get(id).await.unwrap().version, v, "{name}: a refused action wrote");
        assert_eq!(cases.get("case-000002").await.unwrap().state, State::Open);
        // Ann's approval stands: with Bob's, the decision has the two it needs.
        cases.apply(id, &act(&r["bob"], 5), Action::Approve).await.unwrap();
        let c = cases.apply(id, &act(&r["bob"], 6), Action::Enforce).await.unwrap().case;
        assert_eq!((c.state, c.approvals.clone()), (State::Enforced, vec!["ann".to_string(), "bob".to_string()]));
        let rec = cases.show(id).await.unwrap();
        assert_eq!(rec.history.iter().filter(|t| t.actor == "ann").count(), 2, "{name}: ann's history is kept");
        assert_agree(&cases, &log).await;
    }
}
