//! The demo's second half: from findings to a reviewed, enforced and logged decision.
//!
//! The story follows the public record: a unit the simulation suspends (its storage and AI, in `events.csv`) is
//! flagged before the suspension, two reviewers approve suspending exactly those services, the documents for its
//! cloud are issued, and the bulk transfer out that follows is caught on the same case the day after. Every step
//! is appended to a fresh transparency log, and each entry's inclusion proof is checked against the signed
//! checkpoint before it is printed.

use std::path::Path;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cases::{Act, Action, Cases, Family, Outcome, Provider, Ruling, Scope, State, Unit};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use detect::{Loaded, Scanner};
use registry::{EventKind, Events};

/// The two reviewers of the demo (the two-person rule needs two different people).
const REVIEWERS: [&str; 2] = ["reviewer-a@trust-and-safety", "reviewer-b@trust-and-safety"];

/// Run the review story on the demo's lake; writes OUT/cases.db, OUT/log (public), OUT/log.private and the
/// enforcement documents in OUT/enforcement.
pub async fn run(out: &Path, lake_dir: &Path, scanner: &Scanner, pack: &[Loaded], events: &Events) -> anyhow::Result<()> {
    let Some(suspension) = events.iter().find(|e| e.kind == EventKind::Suspension) else {
        println!("\nno suspension in events.csv: the review story needs one (simulate at least 60 days)");
        return Ok(());
    };
    let unit_id = suspension.account_id.clone();
    let suspended_on = suspension.at.date_naive();
    // The case opens on the first day of review (the review-opened event), or the day before the suspension.
    let review_on = events
        .for_account(&unit_id)
        .iter()
        .find(|e| e.kind == EventKind::ReviewOpened && e.at < suspension.at)
        .map_or(suspended_on - Duration::days(1), |e| e.at.date_naive());

    let (public, private) = (out.join("log"), out.join("log.private"));
    let mut log =
        tlog::log::Log::create(&public, &private, "demo.oversight.example/log", &super::random_seed()?).context("creating the demo's transparency log")?;
    // The pack goes on the log first, so every finding after it names a policy hash the public can look up.
    let policies: Vec<serde_json::Value> =
        pack.iter().map(|p| serde_json::json!({"id": p.policy.id, "version": p.policy.version, "sha256": p.sha256})).collect();
    let pack_entry = log.append_records(&[("policy-pack", serde_json::json!({"policies": policies}))])?;
    drop(log);
    // The same key file `oversight case` makes and uses (mode 0600), so the demo's cases can be continued with it.
    let key = super::case::pseudonym_key(None, &private)?;
    let (p, q) = (public.clone(), private.clone());
    let db = out.join("cases.db");
    Cases::init(&db.to_string_lossy()).await?;
    let mut store = Cases::open(&db.to_string_lossy(), move || tlog::log::Log::open(&p, &q), &key).await?;
    // Both decide and approve: the two-person rule needs two approvers. Each signs in with a password made here,
    // printed at the end for the console.
    let mut accounts = std::collections::BTreeMap::new();
    let mut passwords = Vec::new();
    for r in REVIEWERS {
        store.add_reviewer(r, cases::Role::Approver).await?;
        let password = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&super::random_seed()?[..15]);
        store.set_password(r, &password).await?;
        accounts.insert(r, store.authenticate(r, &password, &cases::Attempt::now(None)).await?);
        passwords.push((r, password));
    }

    println!("\nreview and enforcement (cases in {}, log in {}):", db.display(), public.display());
    let found = scan_into_cases(&mut store, scanner, pack, review_on).await?;
    let case_id = found
        .iter()
        .find(|(account, _)| *account == unit_id)
        .map(|(_, case)| case.clone())
        .with_context(|| format!("no finding named {unit_id} by {review_on}: the unit the simulation suspends was not flagged before its suspension"))?;
    println!("  {review_on}: {} findings placed in cases; {unit_id} is in {case_id}", found.len());

    let provider = provider_of(lake_dir, &unit_id).await?;
    let unit = Unit { provider, scope: scope_of(provider, &unit_id), aws_management_account: None };
    let services: Vec<Family> = suspension.services.iter().filter_map(|s| Family::ALL.into_iter().find(|f| f.as_str() == s)).collect();
    let at = |d: NaiveDate, hour: u32| -> DateTime<Utc> { d.and_hms_opt(hour, 0, 0).expect("a valid hour").and_utc() };
    let steps: [(&str, DateTime<Utc>, &str, Action); 5] = [
        (REVIEWERS[0], at(review_on, 9), "interception-scale speech-to-text in an intelligence unit", Action::Assign { reviewer: REVIEWERS[0].into() }),
        (
            REVIEWERS[0],
            at(suspended_on - Duration::days(1), 10),
            "mass surveillance of civilians: suspend the unit's storage and AI, not the customer",
            Action::Decide(Ruling { outcome: Outcome::Suspend, unit: Some(unit), services }),
        ),
        (REVIEWERS[0], at(suspended_on - Duration::days(1), 11), "evidence checked against the series", Action::Approve),
        (REVIEWERS[1], at(suspended_on - Duration::days(1), 15), "second reviewer: evidence and scope checked", Action::Approve),
        (REVIEWERS[1], at(suspended_on, 0), "approved by two reviewers", Action::Enforce),
    ];
    let docs_dir = out.join("enforcement");
    for (actor, when, reason, action) in steps {
        let name = action.name();
        let applied = store.apply(&case_id, &Act { actor: accounts[actor].clone(), reason: reason.into(), at: when, expect_version: None }, action).await?;
        println!("  {} {name:<8} by {actor}: {case_id} is {}", when.format("%Y-%m-%d %H:%M"), applied.case.state);
        for d in &applied.documents {
            std::fs::create_dir_all(&docs_dir).with_context(|| format!("creating {}", docs_dir.display()))?;
            let path = docs_dir.join(&d.file_name);
            std::fs::write(&path, &d.json).with_context(|| format!("writing {}", path.display()))?;
            println!("      {} sha256 {}\n        {}", path.display(), d.sha256, d.summary);
        }
    }

    // Watch: the days after the suspension, scanned one by one until the case gets a new finding.
    let last = detect::engine::date(scanner.last_day().await?.context("no usage in the lake")?);
    let mut day = suspended_on + Duration::days(1);
    let mut caught = None;
    while day <= last && caught.is_none() {
        let placed = scan_into_cases(&mut store, scanner, pack, day).await?;
        caught = placed.iter().find(|(_, case)| *case == case_id).map(|_| day);
        day += Duration::days(1);
    }
    let record = store.show(&case_id).await?;
    match caught {
        Some(d) => {
            let after: Vec<String> =
                record.findings.iter().filter(|f| f.finding.as_of == d).map(|f| format!("{} ({})", f.finding.policy.id, f.finding.account_id)).collect();
            println!("  {d}: the day after the suspension, the same case gets {}", after.join(", "));
        }
        None => println!("  nothing more was flagged on {case_id} after the suspension, up to {last}"),
    }
    if record.case.state != State::Enforced {
        bail!("{case_id} should be enforced, it is {}", record.case.state);
    }

    println!("\npolicy pack logged as entry #{} ({} policies)", pack_entry.start, pack.len());
    print_log(&record, &public)?;
    println!("\nthe review console on these cases (sign in as either approver; passwords made for this run):");
    println!("  oversight serve --db {} --dir {} --registry {}", db.display(), public.display(), out.join("scenario").join("registry.csv").display());
    for (name, password) in &passwords {
        println!("    {name:<30} {password}");
    }
    Ok(())
}

/// Scan one day and place its findings in cases (as the scanning service account); returns (account, case) pairs.
async fn scan_into_cases(store: &mut Cases, scanner: &Scanner, pack: &[Loaded], day: NaiveDate) -> anyhow::Result<Vec<(String, String)>> {
    let findings = detect::scan(scanner, pack, day).await?;
    if findings.is_empty() {
        return Ok(Vec::new());
    }
    let json = serde_json::to_string(&findings)?;
    let findings = cases::findings_from_json(&json)?;
    let at = day.and_hms_opt(6, 0, 0).expect("a valid hour").and_utc();
    let placed = store.add_findings(&findings, scanner.registry(), "oversight-scan", at).await?;
    Ok(placed.into_iter().map(|p| (p.account_id, p.case_id)).collect())
}

/// The unit's cloud, from the provider name its usage rows carry in the lake.
async fn provider_of(lake_dir: &Path, account: &str) -> anyhow::Result<Provider> {
    let lake = lake::Snapshot::open(lake_dir).await?;
    let ctx = signals::session_at(lake.root(), &lake.live_paths("usage"), signals::DEFAULT_MEMORY_LIMIT, &engine::Engine::Local).await?;
    let names = signals::providers_of(&ctx, account).await?;
    let ids: Vec<&str> = names.iter().filter_map(|n| catalog::provider_id(n)).collect();
    match ids.as_slice() {
        ["azure"] => Ok(Provider::Azure),
        ["aws"] => Ok(Provider::Aws),
        ["gcp"] => Ok(Provider::Gcp),
        _ => bail!("account {account} has usage from {names:?}: enforcement documents need exactly one of Azure, AWS or Google Cloud"),
    }
}

/// The account as its provider's enforcement unit: a subscription, an AWS account, or a project.
fn scope_of(provider: Provider, account: &str) -> Scope {
    match provider {
        Provider::Azure => Scope::Subscriptions(vec![account.into()]),
        Provider::Aws => Scope::Accounts(vec![account.into()]),
        Provider::Gcp => Scope::Projects(vec![account.into()]),
    }
}

/// Print the case's log entries with their inclusion proofs, each checked against its signed checkpoint, then the
/// public's side: the log's verifier key, the log verified as an outsider would, and the commands a reader runs.
fn print_log(record: &cases::CaseRecord, public: &Path) -> anyhow::Result<()> {
    let log = tlog::log::TileReader::new(public);
    let (_, checkpoint) = log.checkpoint()?;
    println!("\ntransparency log {} (tree size {}), the case's entries, each proof checked:", public.display(), checkpoint.size);
    let verifier = tlog::log::Log::open(public, &public.with_file_name("log.private"))?.verifier();
    let decode = |b64: &str| -> anyhow::Result<tlog::merkle::Hash> { STANDARD.decode(b64)?.try_into().map_err(|_| anyhow::anyhow!("a hash is not 32 bytes")) };
    for t in &record.history {
        for e in &t.entries {
            let (Some(index), Some(stored)) = (e.index, &e.proof) else {
                bail!("entry {} of {} is still pending", e.id, record.case.id);
            };
            let proof = tlog::log::Proof {
                index,
                size: stored.size,
                root: decode(&stored.root)?,
                hashes: stored.hashes.iter().map(|h| decode(h)).collect::<anyhow::Result<_>>()?,
                checkpoint: stored.checkpoint.clone(),
            };
            tlog::verify::check_proof(e.body.as_bytes(), &proof, std::slice::from_ref(&verifier))
                .with_context(|| format!("the inclusion proof of entry {index} does not verify"))?;
            let body = if e.body.chars().count() > 150 { format!("{}…", e.body.chars().take(150).collect::<String>()) } else { e.body.clone() };
            println!("  #{index:<4} {:<11} proof in tree {} ({} hashes) ok  {body}", e.kind, proof.size, proof.hashes.len());
        }
    }
    let vkey = verifier.to_vkey();
    println!("\nthe public's side: the log's verifier key is\n  {vkey}");
    let opts = tlog::verify::Options { keys: vec![verifier], full: true, ..Default::default() };
    let report = tlog::verify::verify(&log, &opts, None);
    println!("verified as an outsider would, from the published files alone:");
    for c in &report.checks {
        println!("  {} {}: {}", if c.holds { "holds:" } else { "FAILS:" }, c.name, c.detail);
    }
    if !report.holds() {
        bail!("the demo's log does not verify");
    }
    let dir = public.display();
    println!("a reader checks it, and follows its decisions, with (serve it with `oversight log --dir {dir} serve`, or any static or HTTPS server):");
    println!("  oversight verify --log {dir} --key '{vkey}' --full");
    println!("  oversight monitor --log {dir} --key '{vkey}' --state monitor.state");
    Ok(())
}
