//! The reviewer roster on both back ends: one person under two spellings is one reviewer (the three attacks of
//! issue item 10 each fail), only the roster acts and only as its role allows, and removing a reviewer keeps their
//! history.

mod common;

use cases::{Action, CaseError, Outcome, Provider, Role, Ruling, Scope, State, Unit};
use common::*;

fn suspend() -> Action {
    Action::Decide(Ruling {
        outcome: Outcome::Suspend,
        unit: Some(Unit { provider: Provider::Aws, scope: Scope::Accounts(vec!["111122223333".into()]), aws_management_account: None }),
        services: vec![],
    })
}

/// `first` decides and approves a suspension, `second` (another spelling of `first`) approves it too: the second
/// approval and enforcement must be refused, writing nothing.
async fn second_spelling_cannot_approve(first: &str, second: &str) {
    let tmp = tempfile::tempdir().unwrap();
    for (name, url) in common::fixtures::backends(tmp.path()).await {
        let log = mem_log();
        let mut cases = setup(&url, &log).await;
        if cases.reviewer(first).await.is_err() {
            cases.add_reviewer(first, Role::Approver).await.unwrap();
        }
        cases.add_findings(&[finding("sub-a", "p", 1)], &registry(), "scan", at(0)).await.unwrap();
        let id = "case-000001";
        cases.apply(id, &act("lead", 1), Action::Assign { reviewer: first.into() }).await.unwrap();
        cases.apply(id, &act(first, 2), suspend()).await.unwrap();
        cases.apply(id, &act(first, 3), Action::Approve).await.unwrap();
        let before = cases.get(id).await.unwrap();
        let e = cases.apply(id, &act(second, 4), Action::Approve).await.unwrap_err();
        assert!(matches!(&e, CaseError::SameReviewer { .. } | CaseError::Name { .. }), "{name}: {second:?} after {first:?}: {e}");
        assert!(matches!(cases.apply(id, &act("ops", 5), Action::Enforce).await, Err(CaseError::NeedsApprovals { have: 1, .. })));
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
        let cases = open(&url, &log).await;
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
        let mut cases = setup(&url, &log).await;
        let reg = registry();
        cases.add_findings(&[finding("sub-a", "p", 1)], &reg, "scan", at(0)).await.unwrap();
        let id = "case-000001";
        let size = || tlog::log::Log::open_in(log.clone()).unwrap().size();
        let before = (cases.get(id).await.unwrap().version, size());
        let refused = [
            ("mallory", Action::Assign { reviewer: "ann".into() }),
            ("lead", Action::Assign { reviewer: "mallory".into() }),
            ("aud", Action::Assign { reviewer: "ann".into() }),
            ("lead", Action::Assign { reviewer: "aud".into() }),
        ];
        for (actor, action) in refused {
            let e = cases.apply(id, &act(actor, 1), action.clone()).await.unwrap_err();
            assert!(e.is_refusal(), "{name}: {actor} {action:?}: {e}");
            match actor {
                "mallory" => assert!(matches!(&e, CaseError::UnknownReviewer(n) if n == "mallory"), "{e}"),
                "aud" => assert!(matches!(&e, CaseError::NotPermitted { role: Role::Auditor, .. }), "{e}"),
                _ => assert!(matches!(e, CaseError::UnknownReviewer(_) | CaseError::NotPermitted { .. }), "{e}"),
            }
        }
        assert_eq!((cases.get(id).await.unwrap().version, size()), before, "{name}: a refused action wrote");

        // Any spelling acts; the store records the name as registered.
        cases.apply(id, &act("LEAD", 2), Action::Assign { reviewer: "DAN".into() }).await.unwrap();
        let c = cases.apply(id, &act("Dan", 3), suspend()).await.unwrap().case;
        assert_eq!(c.assignee.as_deref(), Some("dan"));
        // A reviewer decides but does not approve, enforce or lift.
        let e = cases.apply(id, &act("dan", 4), Action::Approve).await.unwrap_err();
        assert!(matches!(&e, CaseError::NotPermitted { role: Role::Reviewer, .. }), "{e}");
        assert!(e.to_string().contains("approver or admin"), "{e}");
        cases.apply(id, &act("Ann", 5), Action::Approve).await.unwrap();
        cases.apply(id, &act("BOB", 6), Action::Approve).await.unwrap();
        let enforced = cases.apply(id, &act("Ops", 7), Action::Enforce).await.unwrap().case;
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
        let mut cases = setup(&url, &log).await;
        let fs = [finding("sub-a", "p", 1), finding("sub-x", "p", 1)];
        cases.add_findings(&fs, &registry(), "scan", at(0)).await.unwrap();
        let id = "case-000001";
        cases.apply(id, &act("lead", 1), Action::Assign { reviewer: "ann".into() }).await.unwrap();
        cases.apply(id, &act("ann", 2), suspend()).await.unwrap();
        cases.apply(id, &act("ann", 3), Action::Approve).await.unwrap();
        cases.remove_reviewer("ann").await.unwrap();

        let v = cases.get(id).await.unwrap().version;
        for action in [Action::Approve, Action::Enforce] {
            let e = cases.apply(id, &act("Ann", 4), action).await.unwrap_err();
            assert!(matches!(&e, CaseError::RemovedReviewer { name, .. } if name == "ann"), "{name}: {e}");
        }
        // Nor can a case be assigned to her.
        assert!(matches!(cases.apply("case-000002", &act("lead", 4), Action::Assign { reviewer: "ann".into() }).await, Err(CaseError::RemovedReviewer { .. })));
        assert_eq!(cases.get(id).await.unwrap().version, v, "{name}: a refused action wrote");
        assert_eq!(cases.get("case-000002").await.unwrap().state, State::Open);
        // Ann's approval stands: with Bob's, the decision has the two it needs.
        cases.apply(id, &act("bob", 5), Action::Approve).await.unwrap();
        let c = cases.apply(id, &act("bob", 6), Action::Enforce).await.unwrap().case;
        assert_eq!((c.state, c.approvals.clone()), (State::Enforced, vec!["ann".to_string(), "bob".to_string()]));
        let rec = cases.show(id).await.unwrap();
        assert_eq!(rec.history.iter().filter(|t| t.actor == "ann").count(), 2, "{name}: ann's history is kept");
        assert_agree(&cases, &log).await;
    }
}
