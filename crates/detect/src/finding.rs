//! Findings: which policy held for which account on which day, each measured value beside its threshold, and the
//! series points used as evidence. Same lake and pack, same bytes.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::DetectError;
use crate::engine::{Hit, Scanner, date, day_number};
use crate::policy::{Loaded, Measure, Op, Per, Scope, Severity};

/// The policy a finding applies, by id, version and the hash of its text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyRef {
    /// Policy id.
    pub id: String,
    /// Policy version.
    pub version: u32,
    /// SHA-256 of the policy file.
    pub sha256: String,
    /// The clause's provider and source.
    pub clause: String,
}

/// One condition's measured value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measured {
    /// The signal.
    pub signal: String,
    /// The measure (`rate per hour over 7 days`, …).
    pub measure: String,
    /// The value measured.
    pub value: f64,
    /// The comparison.
    pub op: String,
    /// The threshold.
    pub threshold: f64,
    /// The daily value that meets the threshold when held over the window, for a condition on a daily level; charts
    /// draw it (`Condition::daily_level`). Absent for ratios.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily: Option<f64>,
}

/// Series points shown as evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The signal.
    pub signal: String,
    /// (day, value) over the window the condition read.
    pub points: Vec<(String, f64)>,
}

/// A policy holding for an account on a day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The policy.
    pub policy: PolicyRef,
    /// The policy's title.
    pub title: String,
    /// The account (or parent organisation) it names.
    pub account_id: String,
    /// Account or parent.
    pub scope: Scope,
    /// The account's sector.
    pub sector: String,
    /// The day the conditions held.
    pub as_of: String,
    /// The first day any condition read.
    pub window_start: String,
    /// Severity.
    pub severity: Severity,
    /// How far past its threshold the weakest condition is (1.0 = at the threshold).
    pub score: f64,
    /// Each condition's value and threshold.
    pub measured: Vec<Measured>,
    /// The points read.
    pub evidence: Vec<Evidence>,
}

fn describe(m: Measure, per: Option<Per>, n: u32) -> String {
    match m {
        Measure::Sum => format!("sum over {n} days"),
        Measure::Rate => format!("rate per {} over {n} days", if per == Some(Per::Hour) { "hour" } else { "day" }),
        Measure::Max => format!("largest day of {n}"),
        Measure::Growth => format!("last 7 days over the 7 days {n} days earlier"),
        Measure::Monotonic => format!("smallest week-on-week ratio over {n} days"),
    }
}

fn op(o: Op) -> &'static str {
    o.sql()
}

/// Turn a hit into a finding, reading its evidence.
pub async fn finding(scanner: &Scanner, policy: &Loaded, hit: &Hit) -> Result<Finding, DetectError> {
    Ok(findings(scanner, policy, std::slice::from_ref(hit)).await?.remove(0))
}

/// Turn hits of one policy into findings, in hit order, reading the evidence with one statement per signal.
pub async fn findings(scanner: &Scanner, policy: &Loaded, hits: &[Hit]) -> Result<Vec<Finding>, DetectError> {
    let p = &policy.policy;
    let mut plans = Vec::new();
    // Per signal: every hit's (account, first day, last day) of evidence, and where each hit's request sits.
    let mut requests: BTreeMap<String, Vec<(String, i64, i64)>> = BTreeMap::new();
    for hit in hits {
        let mut measured = Vec::new();
        let mut evidence: BTreeMap<String, (i64, i64)> = BTreeMap::new();
        let mut score = f64::INFINITY;
        for (c, v) in p.conditions.iter().zip(&hit.values) {
            let ratio = match c.op {
                Op::Ge | Op::Gt => v / c.threshold,
                Op::Le | Op::Lt => c.threshold / v,
            };
            score = score.min(ratio);
            measured.push(Measured {
                signal: c.signal.get_ref().clone(),
                measure: describe(c.measure, c.per, c.window_days),
                value: *v,
                op: op(c.op).into(),
                threshold: c.threshold,
                daily: c.daily_level(),
            });
            let from = hit.day - c.reach();
            let e = evidence.entry(c.signal.get_ref().clone()).or_insert((from, hit.day));
            e.0 = e.0.min(from);
        }
        let mut slots = Vec::new();
        for (signal, (from, to)) in evidence {
            let r = requests.entry(signal.clone()).or_default();
            slots.push((signal, from, r.len()));
            r.push((hit.account_id.clone(), from, to));
        }
        plans.push((hit, measured, score, slots));
    }
    let mut fetched: BTreeMap<String, Vec<Vec<(i64, f64)>>> = BTreeMap::new();
    for (signal, r) in &requests {
        fetched.insert(signal.clone(), scanner.points_of(p.scope, signal, r).await?);
    }
    let mut out = Vec::new();
    for (hit, measured, score, slots) in plans {
        let mut ev = Vec::new();
        let mut start = hit.day;
        for (signal, from, slot) in slots {
            start = start.min(from);
            let points = std::mem::take(&mut fetched.get_mut(&signal).expect("fetched above")[slot]);
            ev.push(Evidence { signal, points: points.into_iter().map(|(d, v)| (date(d).to_string(), v)).collect() });
        }
        out.push(Finding {
            policy: PolicyRef {
                id: p.id.clone(),
                version: p.version,
                sha256: policy.sha256.clone(),
                clause: format!("{}: {}", p.clause.provider, p.clause.source),
            },
            title: p.title.clone(),
            account_id: hit.account_id.clone(),
            scope: p.scope,
            sector: hit.sector.clone(),
            as_of: date(hit.day).to_string(),
            window_start: date(start).to_string(),
            severity: p.severity,
            score: if score.is_finite() { score } else { 0.0 },
            measured,
            evidence: ev,
        });
    }
    Ok(out)
}

/// Every finding of a pack on one day, and the baseline detector's surges, sorted by account, then policy.
pub async fn scan(scanner: &Scanner, pack: &[Loaded], as_of: NaiveDate) -> Result<Vec<Finding>, DetectError> {
    let d = day_number(as_of);
    let mut out = Vec::new();
    for policy in pack {
        let hits = scanner.hits(policy, Some((d, d))).await?;
        out.extend(findings(scanner, policy, &hits).await?);
    }
    for (hit, trigger) in crate::baseline::surges(scanner, Some((d, d))).await? {
        out.push(crate::baseline::finding(scanner, &hit, trigger).await?);
    }
    for (hit, signal) in crate::peers::hits(scanner, Some((d, d))).await? {
        out.push(crate::peers::finding(scanner, &hit, signal).await?);
    }
    out.sort_by(|a, b| (&a.account_id, &a.policy.id, &a.title).cmp(&(&b.account_id, &b.policy.id, &b.title)));
    Ok(out)
}

/// Findings grouped per account, ranked: highest severity first, then highest score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountSummary {
    /// The account.
    pub account_id: String,
    /// Its sector.
    pub sector: String,
    /// The highest severity among its findings.
    pub severity: Severity,
    /// The highest score.
    pub score: f64,
    /// The policies that held.
    pub policies: Vec<String>,
}

/// Group findings per account and rank the accounts.
pub fn rank(findings: &[Finding]) -> Vec<AccountSummary> {
    let mut by: BTreeMap<&str, AccountSummary> = BTreeMap::new();
    for f in findings {
        let s = by.entry(&f.account_id).or_insert_with(|| AccountSummary {
            account_id: f.account_id.clone(),
            sector: f.sector.clone(),
            severity: f.severity,
            score: 0.0,
            policies: vec![],
        });
        s.severity = s.severity.max(f.severity);
        s.score = s.score.max(f.score);
        s.policies.push(f.policy.id.clone());
    }
    let mut out: Vec<AccountSummary> = by.into_values().collect();
    out.sort_by(|a, b| b.severity.cmp(&a.severity).then(b.score.total_cmp(&a.score)).then(a.account_id.cmp(&b.account_id)));
    out
}
