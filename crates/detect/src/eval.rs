//! Scoring a pack against `labels.json` (DESIGN.md §3): recall per scenario, false positives per 10,000 benign
//! accounts with every hard negative listed, and days from the first observable day to the first finding.
//!
//! The walk over `--as-of` days is one query per policy: each policy's SQL answers every day at once, and a
//! finding on day D uses only data up to D (every window looks back), so the first day a policy holds is the
//! first day a daily scan would have reported it.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use simulate::Labels;

use crate::DetectError;
use crate::engine::{Scanner, date, day_number};
use crate::policy::Loaded;

/// One scenario's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioScore {
    /// The scenario.
    pub scenario: String,
    /// Labelled accounts (not counting `part_of` sub-accounts).
    pub accounts: usize,
    /// Of which caught on or after onset.
    pub caught: usize,
    /// caught / accounts.
    pub recall: f64,
    /// Per labelled account: first finding day, days from observable to it, and the policies.
    pub detail: Vec<Detection>,
}

/// How one labelled account was (or was not) caught.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// The account.
    pub account_id: String,
    /// The first observable day.
    pub observable: Option<String>,
    /// The first day, on or after onset, a finding named it.
    pub first_finding: Option<String>,
    /// first_finding − observable, in days (negative: caught before the label calls it observable).
    pub days_to_detect: Option<i64>,
    /// Policies that named it on or after onset.
    pub policies: Vec<String>,
    /// Policies that named it before onset (the account was suspicious already, for another reason).
    pub before_onset: Vec<String>,
}

/// A benign account with a finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FalsePositive {
    /// The account.
    pub account_id: String,
    /// Its simulated workload.
    pub kind: String,
    /// Whether it is a hard negative.
    pub hard_negative: bool,
    /// First finding day.
    pub first_finding: String,
    /// Policies.
    pub policies: Vec<String>,
}

/// A hard negative and whether anything named it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HardNegative {
    /// The account.
    pub account_id: String,
    /// Its workload.
    pub kind: String,
    /// Policies that named it (empty: passed).
    pub policies: Vec<String>,
}

/// The evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Per scenario.
    pub scenarios: Vec<ScenarioScore>,
    /// Benign accounts counted (sub-accounts and organisations without a scenario below them).
    pub benign: usize,
    /// False positives.
    pub false_positives: Vec<FalsePositive>,
    /// False positives per 10,000 benign accounts.
    pub false_positives_per_10k: f64,
    /// Every hard negative.
    pub hard_negatives: Vec<HardNegative>,
    /// Findings on accounts a label says are neither right nor wrong (`part_of`, organisations holding a scenario).
    pub neither: usize,
}

/// Evaluate a pack, and the baseline detector, against labels.
pub async fn evaluate(scanner: &Scanner, pack: &[Loaded], labels: &Labels) -> Result<Report, DetectError> {
    // account → policy → sorted days it held.
    let mut held: BTreeMap<String, BTreeMap<String, Vec<i64>>> = BTreeMap::new();
    for policy in pack {
        for hit in scanner.hits(policy, None).await? {
            held.entry(hit.account_id).or_default().entry(policy.policy.id.clone()).or_default().push(hit.day);
        }
    }
    for (hit, trigger) in crate::baseline::surges(scanner, None).await? {
        held.entry(hit.account_id).or_default().entry(trigger.id().to_string()).or_default().push(hit.day);
    }
    for (hit, _) in crate::peers::hits(scanner, None).await? {
        held.entry(hit.account_id).or_default().entry(crate::peers::ID.to_string()).or_default().push(hit.day);
    }
    for days in held.values_mut().flat_map(|p| p.values_mut()) {
        days.sort_unstable();
        days.dedup();
    }
    let day = |s: &Option<String>| s.as_deref().and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()).map(day_number);
    let mut scenarios: BTreeMap<String, ScenarioScore> = BTreeMap::new();
    let (mut benign, mut neither) = (0usize, 0usize);
    let mut fps = Vec::new();
    let mut hard = Vec::new();
    for l in &labels.accounts {
        let policies = held.get(&l.account_id);
        if l.part_of.is_some() || !l.contains.is_empty() {
            neither += usize::from(policies.is_some());
            continue;
        }
        if l.label == "benign" {
            benign += 1;
            let names: Vec<String> = policies.map(|p| p.keys().cloned().collect()).unwrap_or_default();
            if let Some(p) = policies {
                let first = p.values().filter_map(|d| d.first()).min().copied().expect("a policy held on some day");
                fps.push(FalsePositive {
                    account_id: l.account_id.clone(),
                    kind: l.kind.clone().unwrap_or_default(),
                    hard_negative: l.hard_negative == Some(true),
                    first_finding: date(first).to_string(),
                    policies: names.clone(),
                });
            }
            if l.hard_negative == Some(true) {
                hard.push(HardNegative { account_id: l.account_id.clone(), kind: l.kind.clone().unwrap_or_default(), policies: names });
            }
            continue;
        }
        let onset = day(&l.onset).unwrap_or(i64::MIN);
        let observable = day(&l.observable);
        let mut first: Option<i64> = None;
        let (mut after, mut before) = (Vec::new(), Vec::new());
        for (id, days) in policies.into_iter().flatten() {
            if let Some(d) = days.iter().find(|d| **d >= onset) {
                first = Some(first.map_or(*d, |f| f.min(*d)));
                after.push(id.clone());
            }
            if days.first().is_some_and(|d| *d < onset) {
                before.push(id.clone());
            }
        }
        let s = scenarios.entry(l.label.clone()).or_insert_with(|| ScenarioScore {
            scenario: l.label.clone(),
            accounts: 0,
            caught: 0,
            recall: 0.0,
            detail: vec![],
        });
        s.accounts += 1;
        s.caught += usize::from(first.is_some());
        s.detail.push(Detection {
            account_id: l.account_id.clone(),
            observable: l.observable.clone(),
            first_finding: first.map(|d| date(d).to_string()),
            days_to_detect: first.zip(observable).map(|(f, o)| f - o),
            policies: after,
            before_onset: before,
        });
    }
    let mut scenarios: Vec<ScenarioScore> = scenarios.into_values().collect();
    for s in &mut scenarios {
        s.recall = s.caught as f64 / s.accounts.max(1) as f64;
    }
    let per_10k = fps.len() as f64 * 10_000.0 / benign.max(1) as f64;
    Ok(Report { scenarios, benign, false_positives: fps, false_positives_per_10k: per_10k, hard_negatives: hard, neither })
}
