//! A detector for what no policy names yet: a surge in a sensitive signal against the account's own robust
//! baseline, reported as a low-severity finding for review.
//!
//! For each account in a security sector and each sensitive signal: the weekly total `w(d)` (7 days ending d), its
//! week-on-week log growth `g(d) = ln(w(d) / w(d-7))`, and the median and MAD of `g` over the 91 days before the
//! last week. A day is a surge when `g` is at least ln 1.5 (+50 % in a week), its robust z-score against that
//! baseline is at least 6, and the week's volume is past a floor that keeps small accounts out. Weekly totals absorb
//! the weekday cycle, so the baseline is seasonality-aware at the scale that matters here. Cost-anomaly tools flag
//! spend; this flags capability and scale.
//!
//! Not done yet: comparison with the account's peer group (same sector and signal) besides its own history.

use sha2::{Digest, Sha256};

use crate::engine::{Hit, Scanner, date};
use crate::finding::{Evidence, Finding, Measured, PolicyRef};
use crate::policy::{Scope, Severity};
use crate::DetectError;

/// The detector's id in findings.
pub const ID: &str = "baseline-surge";
/// Its version; bump when a parameter changes.
pub const VERSION: u32 = 1;
/// Days of history a baseline needs.
pub const HISTORY: usize = 91;
/// Robust z-score needed.
pub const Z: f64 = 6.0;
/// Week-on-week growth needed (+50 %).
pub const MIN_RATIO: f64 = 1.5;
/// Sensitive signals and the weekly volume below which a surge is not looked at: 100 audio hours an hour,
/// 100,000 face transactions a day, 10^9 characters a day, 100,000 pages a day, 100 TB held, 20 TB out a day.
pub const SIGNALS: [(&str, f64); 6] = [
    ("ai.speech_seconds", 7.0 * 24.0 * 100.0 * 3600.0),
    ("ai.face_transactions", 7.0 * 1e5),
    ("ai.translation_chars", 7.0 * 1e9),
    ("ai.ocr_pages", 7.0 * 1e5),
    ("storage.stored_bytes", 7.0 * 100e12),
    ("network.egress_bytes", 7.0 * 20e12),
];
/// Sectors the detector watches.
pub const SECTORS: [&str; 6] = ["law-enforcement", "immigration", "military", "intelligence", "government", "unknown"];

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

/// The detector's parameters as text, hashed into its findings like a policy file.
fn parameters() -> String {
    format!("{ID} v{VERSION}: history {HISTORY} days, z >= {Z}, week-on-week >= {MIN_RATIO}, signals {SIGNALS:?}, sectors {SECTORS:?}")
}

/// Surges per (account, signal index) and day: `values` are [week-on-week ratio, robust z].
pub fn surges_in(series: &[(i64, f64)], floor: f64) -> Vec<(i64, f64, f64)> {
    let Some(first) = series.first().map(|p| p.0) else { return vec![] };
    let last = series.last().map(|p| p.0).unwrap_or(first);
    let n = (last - first + 1) as usize;
    let mut v = vec![0.0; n];
    for (d, x) in series {
        v[(d - first) as usize] += x;
    }
    let mut w = vec![0.0; n];
    let mut acc = 0.0;
    for i in 0..n {
        acc += v[i];
        if i >= 7 {
            acc -= v[i - 7];
        }
        w[i] = acc;
    }
    if w.iter().copied().fold(0.0, f64::max) < floor {
        return vec![];
    }
    let eps = floor / 100.0;
    // g[i] for i ≥ 13 (two full weeks).
    let g: Vec<f64> = (0..n).map(|i| if i >= 13 { ((w[i] + eps) / (w[i - 7] + eps)).ln() } else { f64::NAN }).collect();
    let mut out = Vec::new();
    let mut window = Vec::with_capacity(HISTORY);
    for i in (13 + HISTORY + 7)..n {
        if w[i] < floor || g[i] < MIN_RATIO.ln() {
            continue;
        }
        window.clear();
        window.extend_from_slice(&g[i - 7 - HISTORY + 1..=i - 7]);
        let med = median(&mut window);
        for x in window.iter_mut() {
            *x = (*x - med).abs();
        }
        let mad = median(&mut window);
        let z = (g[i] - med) / (1.4826 * mad + 0.02);
        if z >= Z {
            out.push((first + i as i64, g[i].exp(), z));
        }
    }
    out
}

/// Every surge, as hits: `values` are [week-on-week ratio, robust z]; `signal` says which.
pub async fn surges(scanner: &Scanner, days: Option<(i64, i64)>) -> Result<Vec<(Hit, &'static str)>, DetectError> {
    let mut out = Vec::new();
    for (signal, floor) in SIGNALS {
        for (account, sector, series) in scanner.daily(signal, &SECTORS).await? {
            for (day, ratio, z) in surges_in(&series, floor) {
                if days.is_none_or(|(a, b)| day >= a && day <= b) {
                    out.push((Hit { account_id: account.clone(), day, sector: sector.clone(), values: vec![ratio, z] }, signal));
                }
            }
        }
    }
    out.sort_by(|a, b| (&a.0.account_id, a.0.day, a.1).cmp(&(&b.0.account_id, b.0.day, b.1)));
    Ok(out)
}

/// A surge as a low-severity finding, with the weekly baseline's points as evidence.
pub async fn finding(scanner: &Scanner, hit: &Hit, signal: &str) -> Result<Finding, DetectError> {
    let from = hit.day - (HISTORY as i64 + 13);
    let points = scanner.points(Scope::Account, &hit.account_id, signal, from, hit.day).await?;
    Ok(Finding {
        policy: PolicyRef {
            id: ID.into(),
            version: VERSION,
            sha256: hex::encode(Sha256::digest(parameters().as_bytes())),
            clause: "none: a surge no policy names, against the account's own baseline, for review".into(),
        },
        title: format!("Surge in {signal} against the account's own 91-day baseline"),
        account_id: hit.account_id.clone(),
        scope: Scope::Account,
        sector: hit.sector.clone(),
        as_of: date(hit.day).to_string(),
        window_start: date(from).to_string(),
        severity: Severity::Low,
        score: hit.values[1] / Z,
        measured: vec![
            Measured { signal: signal.into(), measure: "week-on-week ratio of 7-day totals".into(), value: hit.values[0], op: ">=".into(), threshold: MIN_RATIO },
            Measured { signal: signal.into(), measure: "robust z of log growth against 91 days".into(), value: hit.values[1], op: ">=".into(), threshold: Z },
        ],
        evidence: vec![Evidence { signal: signal.into(), points: points.into_iter().map(|(d, v)| (date(d).to_string(), v)).collect() }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(f: impl Fn(i64) -> f64) -> Vec<(i64, f64)> {
        (0..200).map(|d| (d, f(d))).collect()
    }

    #[test]
    fn a_steady_noisy_series_has_no_surge_and_a_jump_does() {
        let floor = 7.0;
        // Deterministic wobble of ±20 % with a weekly cycle.
        let steady = series(|d| 10.0 * (1.0 + 0.2 * ((d * 37 % 11) as f64 / 10.0 - 0.5)) * if d % 7 >= 5 { 0.6 } else { 1.0 });
        assert!(surges_in(&steady, floor).is_empty());
        let jump = series(|d| if d < 150 { 10.0 } else { 40.0 });
        let s = surges_in(&jump, floor);
        assert!(!s.is_empty() && s[0].0 >= 150 && s[0].0 < 157, "{s:?}");
        assert!(s[0].1 >= 1.5 && s[0].2 >= Z);
    }

    #[test]
    fn small_accounts_and_short_histories_are_not_looked_at() {
        let jump = series(|d| if d < 150 { 0.1 } else { 0.4 });
        assert!(surges_in(&jump, 7.0).is_empty(), "below the floor");
        let young: Vec<(i64, f64)> = (0..60).map(|d| (d, if d < 40 { 10.0 } else { 40.0 })).collect();
        assert!(surges_in(&young, 7.0).is_empty(), "no 91-day baseline yet");
    }
}
