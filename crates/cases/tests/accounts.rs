//! Accounts on both back ends (issue 18, "People, not names"): passwords, throttling, tokens, sessions, the sign-in
//! audit, signed approvals that a reader of the log checks, auditors refused, and a conflict that names who won.

mod common;

use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};
use sqlx::Row;

use cases::accounts::{FAILURES_PER_ADDRESS, FAILURES_PER_NAME, THROTTLE_WINDOW};
use cases::{Action, Attempt, AuthError, CaseError, Cases, Outcome, Provider, Role, Ruling, Scope, SignInMethod, SignInOutcome, State, Unit};
use common::*;

/// `seconds` after the tests' first minute.
fn t(seconds: i64) -> DateTime<Utc> {
    at(0) + TimeDelta::seconds(seconds)
}

fn from(address: Option<&str>, seconds: i64) -> Attempt {
    Attempt { address: address.map(str::to_string), at: t(seconds) }
}

fn suspend() -> Action {
    Action::Decide(Ruling {
        outcome: Outcome::Suspend,
        unit: Some(Unit { provider: Provider::Aws, scope: Scope::Accounts(vec!["111122223333".into()]), aws_management_account: None }),
        services: vec![],
    })
}

/// A connection of its own to the store at `url`, to look at what it keeps.
async fn raw(url: &str) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&cases::db_url(url)).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_signs_in_and_every_refusal_reads_the_same() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, url) in common::fixtures::backends(tmp.path()).await {
        let log = mem_log();
        let (mut cases, _) = setup(&url, &log).await;
        let zoe = cases.add_reviewer("Zoë", Role::Approver).await.unwrap();
        assert!(!zoe.has_password && zoe.key_id.is_some(), "{name}: a new reviewer has a key and no password");
        // No password yet: refused like a wrong one.
        assert!(matches!(cases.authenticate("Zoë", "whatever she types", &from(None, 0)).await, Err(AuthError::Refused)));
        let e = cases.set_password("zoë", "too short").await.unwrap_err();
        assert!(matches!(&e, CaseError::Input(m) if m.contains("at least 15")), "{name}: {e}");
        assert!(cases.set_password("Zoë", "a long and happy passphrase").await.unwrap().has_password);
        // The store keeps an argon2id PHC string at OWASP's cost, never the password.
        let stored: String = sqlx::query("SELECT password_hash FROM reviewers WHERE name = 'Zoë'").fetch_one(&raw(&url).await).await.unwrap().get(0);
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$") && !stored.contains("passphrase"), "{stored}");

        let account = cases.authenticate("ZOË", "a long and happy passphrase", &from(None, 1)).await.unwrap();
        assert_eq!((account.name(), account.role(), Some(account.key_id())), ("Zoë", Role::Approver, zoe.key_id.as_deref()));
        for (i, (who, password)) in
            [("Zoë", "a long and happy passphrasE"), ("nobody", "a long and happy passphrase"), ("zo\u{200b}e", "x")].into_iter().enumerate()
        {
            let e = cases.authenticate(who, password, &from(Some("198.51.100.7"), 2 + i as i64)).await.unwrap_err();
            assert!(matches!(e, AuthError::Refused), "{name}: {who:?}: {e}");
            assert_eq!(e.to_string(), AuthError::Refused.to_string(), "the answer does not say which");
        }
        // The audit says which, newest first, with what was typed escaped.
        let audit = cases.sign_ins(4).await.unwrap();
        let rows: Vec<(Option<&str>, SignInOutcome, &str)> = audit.iter().map(|s| (s.name.as_deref(), s.outcome, s.detail.as_str())).collect();
        assert_eq!(
            rows,
            [
                (Some("zo\\u{200b}e"), SignInOutcome::Refused, "not a valid reviewer name"),
                (Some("nobody"), SignInOutcome::Refused, "no such reviewer"),
                (Some("Zoë"), SignInOutcome::Refused, "wrong password"),
                (Some("ZOË"), SignInOutcome::Accepted, "password"),
            ],
            "{name}"
        );
        assert!(audit[..3].iter().all(|s| s.method == SignInMethod::Password && s.address.as_deref() == Some("198.51.100.7")));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_throttle_a_name_and_an_address_until_the_window_passes() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, url) in common::fixtures::backends(tmp.path()).await {
        let log = mem_log();
        let (cases, _) = setup(&url, &log).await;
        // One failure a minute for ann: the next attempt, right password or not, is not looked at.
        for i in 0..FAILURES_PER_NAME as i64 {
            assert!(matches!(cases.authenticate("ann", "wrong", &from(None, 60 * i)).await, Err(AuthError::Refused)));
        }
        let now = 60 * FAILURES_PER_NAME as i64;
        match cases.authenticate("Ann", PASSWORD, &from(None, now)).await {
            // The first failure leaves the window 15 minutes after it came.
            Err(AuthError::Throttled { retry_after }) => assert_eq!(retry_after.as_secs() as i64, THROTTLE_WINDOW.num_seconds() - now, "{name}"),
            other => panic!("{name}: {other:?}"),
        }
        let e = cases.authenticate("ann", PASSWORD, &from(None, now + 1)).await.unwrap_err();
        assert!(e.to_string().contains("try again in"), "{e}");
        // Throttled attempts do not count: once the first failure is out of the window, ann signs in, and her
        // success clears her count.
        let later = THROTTLE_WINDOW.num_seconds() + 1;
        assert_eq!(cases.authenticate("ann", PASSWORD, &from(None, later)).await.unwrap().name(), "ann", "{name}");
        for i in 1..FAILURES_PER_NAME as i64 {
            assert!(matches!(cases.authenticate("ann", "wrong", &from(None, later + i)).await, Err(AuthError::Refused)));
        }
        cases.authenticate("ann", PASSWORD, &from(None, later + 30)).await.unwrap();
        // Bob is not throttled by ann's failures.
        cases.authenticate("bob", PASSWORD, &from(None, now)).await.unwrap();

        // From one address, failures spread over names (fewer than a name's limit each) throttle the address.
        let names = ["bob", "cat", "dan", "eve", "ops", "lead", "aud"];
        let start = 3600;
        for i in 0..FAILURES_PER_ADDRESS {
            let e = cases.authenticate(names[i % names.len()], "wrong", &from(Some("203.0.113.9"), start + i as i64)).await.unwrap_err();
            assert!(matches!(e, AuthError::Refused), "{name}: attempt {i}: {e}");
        }
        let next = start + FAILURES_PER_ADDRESS as i64;
        assert!(matches!(cases.authenticate("cat", PASSWORD, &from(Some("203.0.113.9"), next)).await, Err(AuthError::Throttled { .. })));
        cases.authenticate("cat", PASSWORD, &from(Some("192.0.2.1"), next)).await.unwrap();
        let throttled = cases.sign_ins(3).await.unwrap().into_iter().find(|s| s.outcome == SignInOutcome::Throttled).unwrap();
        assert!(throttled.detail.contains("from this address"), "{name}: {}", throttled.detail);
        // Tokens from that address are throttled too.
        assert!(matches!(cases.authenticate_token("ovt_x", &from(Some("203.0.113.9"), next)).await, Err(AuthError::Throttled { .. })));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_signs_in_until_it_expires_or_is_revoked() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, url) in common::fixtures::backends(tmp.path()).await {
        let log = mem_log();
        let (cases, r) = setup(&url, &log).await;
        let issued = cases.issue_token(&r["ann"], "laptop CLI", t(3600), t(0)).await.unwrap();
        assert!(issued.token.starts_with("ovt_") && issued.token.len() == 47, "{}", issued.token);
        // Only its SHA-256 is kept.
        let row = sqlx::query("SELECT sha256, label FROM tokens WHERE id = $1").bind(&issued.id).fetch_one(&raw(&url).await).await.unwrap();
        assert_eq!(row.get::<String, _>(0), hex::encode(Sha256::digest(issued.token.as_bytes())));
        assert_eq!(row.get::<String, _>(1), "laptop CLI");

        let account = cases.authenticate_token(&issued.token, &from(Some("192.0.2.1"), 60)).await.unwrap();
        assert_eq!(account, r["ann"], "{name}");
        assert!(matches!(cases.authenticate_token("ovt_not-a-token", &from(None, 61)).await, Err(AuthError::BadToken)));
        assert!(matches!(cases.authenticate_token(&issued.token, &from(None, 3600)).await, Err(AuthError::BadToken)), "{name}: expired");
        assert!(matches!(cases.issue_token(&r["ann"], "x", t(0), t(0)).await, Err(CaseError::Input(_))));
        assert!(matches!(cases.issue_token(&r["ann"], " ", t(60), t(0)).await, Err(CaseError::Input(_))));

        // Only its reviewer or an admin revokes it.
        let second = cases.issue_token(&r["ann"], "CI", t(7200), t(0)).await.unwrap();
        let e = cases.revoke_token(&r["bob"], &second.id, t(120)).await.unwrap_err();
        assert!(matches!(&e, CaseError::NotPermitted { .. }) && e.to_string().contains("admin"), "{name}: {e}");
        assert!(matches!(cases.revoke_token(&r["bob"], "no-such-id", t(120)).await, Err(CaseError::UnknownToken(_))));
        assert!(cases.revoke_token(&r["ann"], &second.id, t(120)).await.unwrap().revoked_at.is_some());
        assert!(matches!(cases.authenticate_token(&second.token, &from(None, 180)).await, Err(AuthError::BadToken)));
        let third = cases.issue_token(&r["ann"], "spare", t(7200), t(0)).await.unwrap();
        cases.revoke_token(&r["lead"], &third.id, t(120)).await.unwrap();
        let listed: Vec<(String, bool)> = cases.list_tokens("ANN").await.unwrap().into_iter().map(|i| (i.label, i.revoked_at.is_some())).collect();
        assert_eq!(listed.len(), 3, "{name}");
        assert_eq!(listed.iter().filter(|(_, revoked)| *revoked).count(), 2);

        let audit = cases.sign_ins(20).await.unwrap();
        let tokens: Vec<(Option<&str>, SignInOutcome)> =
            audit.iter().filter(|s| s.method == SignInMethod::Token).map(|s| (s.name.as_deref(), s.outcome)).collect();
        assert_eq!(
            tokens,
            [
                (Some("ann"), SignInOutcome::Refused),
                (Some("ann"), SignInOutcome::Refused),
                (None, SignInOutcome::Refused),
                (Some("ann"), SignInOutcome::Accepted)
            ],
            "{name}: expired, revoked, unknown, accepted"
        );
        assert!(audit.iter().all(|s| !s.detail.contains(&issued.token)), "the audit never shows a token");
        // A removed reviewer's token stops working.
        let mut cases = cases;
        let fourth = cases.issue_token(&r["cat"], "laptop", t(7200), t(0)).await.unwrap();
        cases.remove_reviewer("cat").await.unwrap();
        assert!(matches!(cases.authenticate_token(&fourth.token, &from(None, 60)).await, Err(AuthError::BadToken)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_lives_until_it_expires_or_ends() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, url) in common::fixtures::backends(tmp.path()).await {
        let log = mem_log();
        let (mut cases, r) = setup(&url, &log).await;
        let s = cases.create_session(&r["aud"], TimeDelta::minutes(30), &from(Some("192.0.2.1"), 0)).await.unwrap();
        assert_eq!((s.id.len(), s.csrf.len()), (43, 43), "256 bits each, base64url");
        assert_ne!(s.id, s.csrf);
        // Only the id's SHA-256 is kept, and no CSRF token at all.
        let kept: Vec<String> = sqlx::query("SELECT sha256 FROM sessions").fetch_all(&raw(&url).await).await.unwrap().iter().map(|r| r.get(0)).collect();
        assert_eq!(kept, [hex::encode(Sha256::digest(s.id.as_bytes()))], "{name}");

        let live = cases.session(&s.id, t(29 * 60)).await.unwrap().unwrap();
        assert_eq!((live.account.name(), live.account.role(), live.expires_at), ("aud", Role::Auditor, t(30 * 60)));
        assert_eq!(live.csrf, s.csrf);
        assert!(live.csrf_matches(&s.csrf) && !live.csrf_matches("") && !live.csrf_matches(&s.id));
        assert!(cases.session("not-a-session", t(60)).await.unwrap().is_none());
        // Expired: gone, even if asked again earlier.
        assert!(cases.session(&s.id, t(30 * 60)).await.unwrap().is_none(), "{name}");
        assert!(cases.session(&s.id, t(60)).await.unwrap().is_none());

        let s = cases.create_session(&r["bob"], TimeDelta::hours(8), &from(None, 0)).await.unwrap();
        assert!(cases.end_session(&s.id).await.unwrap());
        assert!(!cases.end_session(&s.id).await.unwrap());
        assert!(cases.session(&s.id, t(60)).await.unwrap().is_none());
        assert!(matches!(cases.create_session(&r["bob"], TimeDelta::zero(), &from(None, 0)).await, Err(AuthError::Store(CaseError::Input(_)))));

        // A removed reviewer's session ends, and a new one is refused and on record.
        let s = cases.create_session(&r["cat"], TimeDelta::hours(8), &from(None, 0)).await.unwrap();
        cases.remove_reviewer("cat").await.unwrap();
        assert!(cases.session(&s.id, t(60)).await.unwrap().is_none(), "{name}");
        let e = cases.create_session(&r["cat"], TimeDelta::hours(8), &from(None, 60)).await.unwrap_err();
        assert!(matches!(e, AuthError::Store(CaseError::RemovedReviewer { .. })), "{name}: {e}");
        let last = &cases.sign_ins(1).await.unwrap()[0];
        assert_eq!((last.method, last.outcome, last.name.as_deref()), (SignInMethod::Session, SignInOutcome::Refused, Some("cat")));
        // A new password ends the reviewer's sessions.
        let s = cases.create_session(&r["dan"], TimeDelta::hours(8), &from(None, 0)).await.unwrap();
        cases.set_password("dan", "another long passphrase").await.unwrap();
        assert!(cases.session(&s.id, t(60)).await.unwrap().is_none(), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approvals_are_signed_by_two_keys_a_reader_checks_on_the_log() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, url) in common::fixtures::backends(tmp.path()).await {
        let log = mem_log();
        let (mut cases, r) = setup(&url, &log).await;
        cases.add_findings(&[finding("sub-a", "p", 1)], &registry(), "scan", at(0)).await.unwrap();
        let id = "case-000001";
        cases.apply(id, &act(&r["lead"], 1), Action::Assign { reviewer: "ann".into() }).await.unwrap();
        cases.apply(id, &act(&r["ann"], 2), suspend()).await.unwrap();
        cases.apply(id, &act(&r["ann"], 3), Action::Approve).await.unwrap();
        // Ann again, signed in another way: the same account, so the same approver.
        let token = cases.issue_token(&r["ann"], "CLI", t(3600), t(0)).await.unwrap();
        let again = cases.authenticate_token(&token.token, &from(None, 60)).await.unwrap();
        let e = cases.apply(id, &act(&again, 4), Action::Approve).await.unwrap_err();
        assert!(matches!(&e, CaseError::SameReviewer { reviewer, .. } if reviewer == "ann"), "{name}: {e}");
        cases.apply(id, &act(&r["bob"], 5), Action::Approve).await.unwrap();
        assert_eq!(cases.apply(id, &act(&r["ops"], 6), Action::Enforce).await.unwrap().case.state, State::Enforced);
        assert_agree(&cases, &log).await;

        // What a reader has: the log. Keys come from `account` entries, approvals from `decision` entries.
        let entries: Vec<String> = log_entries(&log).into_iter().map(|(b, _)| String::from_utf8(b).unwrap()).collect();
        let keys: Vec<cases::approval::PublishedKey> = entries.iter().filter_map(|e| cases::published_key(e)).collect();
        assert_eq!(keys.len(), common::fixtures::ROSTER.len(), "{name}: every reviewer's key is published");
        let approvals: Vec<serde_json::Value> =
            entries.iter().map(|e| serde_json::from_str::<serde_json::Value>(e).unwrap()).filter(|v| v["action"] == "approve").collect();
        assert_eq!(approvals.len(), 2);
        let key_ids: Vec<&str> = approvals.iter().map(|v| v["key_id"].as_str().unwrap()).collect();
        assert_ne!(key_ids[0], key_ids[1], "{name}: two approvals, two keys");
        assert_eq!(key_ids, [r["ann"].key_id(), r["bob"].key_id()]);
        let decided: serde_json::Value =
            entries.iter().map(|e| serde_json::from_str(e).unwrap()).find(|v: &serde_json::Value| v["action"] == "decide").unwrap();
        for (v, approver) in approvals.iter().zip(["ann", "bob"]) {
            let key = keys.iter().find(|k| k.key_id == v["key_id"]).expect("the approval's key is on the log");
            assert_eq!((key.name.as_str(), v["actor"].as_str()), (approver, Some(approver)));
            let body = serde_json::to_string(v).unwrap();
            assert!(cases::verify_approval(&body, &key.public_key), "{name}: {approver}'s approval checks");
            let other = keys.iter().find(|k| k.key_id != key.key_id).unwrap();
            assert!(!cases::verify_approval(&body, &other.public_key));
            // It signs the decision the log shows, and the case's version after it.
            assert_eq!(v["decision_sha256"], decided["decision_sha256"]);
            assert_eq!((v["case"].as_str(), v["outcome"].as_str()), (Some(id), Some("suspend")));
            let forged = body.replace(&format!("\"version\":{}", v["version"]), &format!("\"version\":{}", v["version"].as_i64().unwrap() + 1));
            assert!(!cases::verify_approval(&forged, &key.public_key));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auditor_takes_no_action_and_an_account_acts_only_in_its_store() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, url) in common::fixtures::backends(tmp.path()).await {
        let log = mem_log();
        let (mut cases, r) = setup(&url, &log).await;
        cases.add_findings(&[finding("sub-a", "p", 1), finding("sub-b", "p", 1)], &registry(), "scan", at(0)).await.unwrap();
        let id = "case-000001";
        cases.apply(id, &act(&r["lead"], 1), Action::Assign { reviewer: "ann".into() }).await.unwrap();
        cases.apply(id, &act(&r["ann"], 2), suspend()).await.unwrap();
        let v = cases.get(id).await.unwrap().version;
        let decide = Action::Decide(Ruling { outcome: Outcome::Notice, unit: None, services: vec![] });
        for action in [Action::Assign { reviewer: "ann".into() }, decide, Action::Approve, Action::Enforce, Action::Lift] {
            for case in [id, "case-000002"] {
                let e = cases.apply(case, &act(&r["aud"], 3), action.clone()).await.unwrap_err();
                assert!(matches!(&e, CaseError::NotPermitted { role: Role::Auditor, .. }) && e.is_refusal(), "{name}: {action:?}: {e}");
            }
        }
        assert_eq!(cases.get(id).await.unwrap().version, v, "{name}: an auditor's attempt wrote");

        // Ann of another store, with the same name and password, is not this store's ann.
        let other = tmp.path().join(format!("other-{name}.db")).display().to_string();
        let (_, elsewhere) = setup(&other, &mem_log()).await;
        let e = cases.apply(id, &act(&elsewhere["ann"], 4), Action::Approve).await.unwrap_err();
        assert!(matches!(&e, CaseError::ForeignAccount(n) if n == "ann"), "{name}: {e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_accounts_acting_at_once_get_one_success_and_a_conflict_naming_the_other() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, url) in common::fixtures::backends(tmp.path()).await {
        let log = mem_log();
        let (mut cases, r) = setup(&url, &log).await;
        cases.add_findings(&[finding("sub-a", "p", 1)], &registry(), "scan", at(0)).await.unwrap();
        let id = "case-000001";
        cases.apply(id, &act(&r["lead"], 1), Action::Assign { reviewer: "dan".into() }).await.unwrap();
        for round in 0..4 {
            // Both read the case at one version, each in their own process, and reassign it at once.
            let version = cases.get(id).await.unwrap().version;
            let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
            let mut tasks = Vec::new();
            for (who, to) in [("ann", "eve"), ("bob", "cat")] {
                let (url, log, barrier, who) = (url.clone(), log.clone(), barrier.clone(), r[who].clone());
                tasks.push(tokio::spawn(async move {
                    let mut mine = open(&url, &log).await;
                    barrier.wait().await;
                    let a = cases::Act { expect_version: Some(version), ..act(&who, 2 + round) };
                    (who.name().to_string(), mine.apply(id, &a, Action::Assign { reviewer: to.into() }).await)
                }));
            }
            let mut results = Vec::new();
            for task in tasks {
                results.push(task.await.unwrap());
            }
            let winners: Vec<&str> = results.iter().filter(|(_, r)| r.is_ok()).map(|(w, _)| w.as_str()).collect();
            assert_eq!(winners.len(), 1, "{name} round {round}: {results:?}");
            let (loser, e) = results.iter().find_map(|(w, r)| r.as_ref().err().map(|e| (w, e))).unwrap();
            match e {
                CaseError::Conflict { by, version: now, expected, .. } => {
                    assert_eq!((by.as_str(), *now, *expected), (winners[0], version + 1, version), "{name} round {round}: {loser}'s conflict");
                }
                other => panic!("{name} round {round}: {loser} got {other}"),
            }
            let message = e.to_string();
            assert!(message.contains(&format!("changed by {}", winners[0])) && message.contains("reload"), "{message}");
        }
        assert_agree(&cases, &log).await;
    }
}

/// The store an older version made (no keys, no passwords) opens: each active reviewer gets a key, published on the
/// log, and signs in once given a password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviewers_of_an_older_store_get_keys_and_sign_in_once_given_a_password() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, url) in common::fixtures::backends(tmp.path()).await {
        let log = mem_log();
        Cases::init(&url).await.unwrap();
        // As migration 0002 left them: no key, no password; one reviewer removed.
        let pool = raw(&url).await;
        for (who, removed) in [("old ann", None), ("old bob", Some("2025-01-02T00:00:00.000000Z"))] {
            sqlx::query("INSERT INTO reviewers (canonical, name, role, created_at, removed_at) VALUES ($1, $1, 'approver', '2025-01-01T00:00:00.000000Z', $2)")
                .bind(who)
                .bind(removed)
                .execute(&pool)
                .await
                .unwrap();
        }
        let cases = open(&url, &log).await;
        let listed: Vec<(String, bool, bool)> =
            cases.list_reviewers().await.unwrap().into_iter().map(|r| (r.name, r.key_id.is_some(), r.has_password)).collect();
        assert_eq!(listed, [("old ann".to_string(), true, false), ("old bob".to_string(), false, false)], "{name}");
        let published: Vec<serde_json::Value> = log_entries(&log).into_iter().map(|(_, v)| v).filter(|v| v["kind"] == "account").collect();
        assert_eq!(published.len(), 1, "{name}");
        assert_eq!((published[0]["action"].as_str(), published[0]["name"].as_str()), (Some("key"), Some("old ann")));
        // Opening again makes no second key.
        drop(cases);
        let cases = open(&url, &log).await;
        assert_eq!(log_entries(&log).len(), 1, "{name}");
        assert!(matches!(cases.authenticate("old ann", "the password she never had", &from(None, 0)).await, Err(AuthError::Refused)));
        cases.set_password("old ann", "the password she now has").await.unwrap();
        let ann = cases.authenticate("Old Ann", "the password she now has", &from(None, 1)).await.unwrap();
        assert_eq!(Some(ann.key_id()), published[0]["key_id"].as_str(), "{name}");
        assert!(matches!(cases.set_password("old bob", "a removed reviewer's password").await, Err(CaseError::RemovedReviewer { .. })));
    }
}
