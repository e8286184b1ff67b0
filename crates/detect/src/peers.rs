//! A parent far above its sector's peers: structuring below the public record's scale.
//!
//! A split operation need not reach the record's volume (the pack's fixed thresholds) to be what it is. For each
//! security-sector parent (an organisation, or a billing account when the registry names none: see
//! `registry::hierarchy`) and each sensitive signal, the parent's 7-day mean `m(d)` (the sum over its sub-accounts,
//! whichever of them exist that week) is compared with the most its sector's other parents ever reached up to `d`:
//! the median, over those peers, of each one's highest 7-day mean so far. Peers that reached the level at which the
//! pack's fixed policies find them are left out (they are findings, not a benign yardstick), and the median, not
//! the highest, is taken, so that one operation in the sector cannot hide another. The finding (`peer-parent`,
//! medium severity) holds on a day when
//!
//! `m(d) >= K × max(floor, median of the peers' highest)`
//!
//! - `K` = 10: ten times what the typical peer of the sector ever does, a level no benign parent of the sector
//!   reaches by growth alone.
//! - The floor keeps a sector whose peers barely use the signal from making any use a finding: 100 audio hours an
//!   hour (so 1,000 at K: four times the largest benign contact centre we know of, 250, and a thirty-third of the
//!   public record's 33,333), 10^9 characters a day of translation, 10^5 face transactions a day.
//!
//! Every day is judged on what is known up to it, so a walk over the year and a scan of one day agree.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::DetectError;
use crate::baseline::median;
use crate::engine::{Hit, Scanner, date};
use crate::finding::{Evidence, Finding, Measured, PolicyRef};
use crate::policy::{Scope, Severity};

/// The detector's id in findings.
pub const ID: &str = "peer-parent";
/// Its version; bump when a parameter changes.
pub const VERSION: u32 = 1;
/// How many times the peers' typical highest a parent must reach.
pub const K: f64 = 10.0;
/// Signals, their daily floors (100 audio hours an hour, 10^9 characters, 10^5 face transactions a day), and the
/// daily level at which the pack's fixed policies already find an organisation (interception-parent's 2,500 audio
/// hours an hour, biometric-sweep's 10^6 face transactions a day; none for translation). A peer that reached it is
/// a finding, not a benign yardstick, and is left out of the median.
pub const SIGNALS: [(&str, f64, f64); 3] =
    [("ai.speech_seconds", 100.0 * 3600.0 * 24.0, 2500.0 * 3600.0 * 24.0), ("ai.translation_chars", 1e9, f64::INFINITY), ("ai.face_transactions", 1e5, 1e6)];
/// Sectors whose parents are judged (as the baseline's).
pub const SECTORS: [&str; 6] = crate::baseline::SECTORS;
/// Days in a mean.
const WEEK: i64 = 7;

/// The detector's parameters as text, hashed into its findings like a policy file.
fn parameters() -> String {
    format!(
        "{ID} v{VERSION}: K {K}, 7-day means, median of the sector's other parents' highest so far, signals and daily floors {SIGNALS:?}, sectors {SECTORS:?}"
    )
}

/// One parent's 7-day means from its first day to `end`, and its highest so far on each day.
struct Means {
    first: i64,
    m: Vec<f64>,
    high: Vec<f64>,
}

impl Means {
    fn new(points: &[(i64, f64)], end: i64) -> Means {
        let first = points.first().map_or(end, |p| p.0);
        let n = (end - first + 1).max(0) as usize;
        let mut v = vec![0.0; n];
        for (d, x) in points {
            if *d <= end {
                v[(d - first) as usize] += x;
            }
        }
        let m: Vec<f64> = (0..n).map(|i| v[i.saturating_sub(WEEK as usize - 1)..=i].iter().sum::<f64>() / WEEK as f64).collect();
        let high = m.iter().scan(0.0f64, |h, x| {
            *h = h.max(*x);
            Some(*h)
        });
        Means { first, high: high.collect(), m }
    }

    /// The highest 7-day mean up to `day` (0 before the first day).
    fn high_on(&self, day: i64) -> f64 {
        if day < self.first { 0.0 } else { self.high[((day - self.first) as usize).min(self.high.len().saturating_sub(1))] }
    }
}

/// Parents far above their sector's peers on the days of `days` (all days when `None`): hits with values
/// [7-day mean, median of the peers' highest, peers counted], and the signal. Reads each parent's whole history up to the
/// last day asked, since the peers' highest is over all of it.
pub async fn hits(scanner: &Scanner, days: Option<(i64, i64)>) -> Result<Vec<(Hit, &'static str)>, DetectError> {
    let Some(last) = scanner.last_day().await? else { return Ok(Vec::new()) };
    let (from, to) = days.unwrap_or((i64::MIN, last));
    let end = to.min(last);
    let names: Vec<&str> = SIGNALS.iter().map(|s| s.0).collect();
    let read = scanner.daily_of(Scope::Parent, &names, &SECTORS, None).await?;
    let mut out = Vec::new();
    for ((signal, floor, found), parents) in SIGNALS.iter().zip(&read) {
        let means: Vec<Means> = parents.iter().map(|p| Means::new(&p.points, end)).collect();
        let mut by_sector: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, p) in parents.iter().enumerate() {
            by_sector.entry(p.sector.as_str()).or_default().push(i);
        }
        for (i, p) in parents.iter().enumerate() {
            let a = &means[i];
            let peers = &by_sector[p.sector.as_str()];
            for (k, m) in a.m.iter().enumerate() {
                let day = a.first + k as i64;
                if day < from || *m < K * floor {
                    continue;
                }
                let mut highs: Vec<f64> = peers.iter().filter(|j| **j != i).map(|j| means[*j].high_on(day)).filter(|h| h < found).collect();
                let counted = highs.len();
                let typical = median(&mut highs);
                if *m >= K * typical.max(*floor) {
                    let values = vec![*m, typical, counted as f64];
                    out.push((Hit { account_id: p.account_id.clone(), day, sector: p.sector.clone(), values }, *signal));
                }
            }
        }
    }
    out.sort_by(|a, b| (&a.0.account_id, a.0.day, a.1).cmp(&(&b.0.account_id, b.0.day, b.1)));
    Ok(out)
}

/// A hit as a medium-severity finding on the parent, with its daily points of the last 30 days as evidence.
pub async fn finding(scanner: &Scanner, hit: &Hit, signal: &str) -> Result<Finding, DetectError> {
    let from = hit.day - 29;
    let points = scanner.points(Scope::Parent, &hit.account_id, signal, from, hit.day).await?;
    let floor = SIGNALS.iter().find(|s| s.0 == signal).map_or(0.0, |s| s.1);
    let (m, typical, peers) = (hit.values[0], hit.values[1], hit.values[2]);
    Ok(Finding {
        policy: PolicyRef {
            id: ID.into(),
            version: VERSION,
            sha256: hex::encode(Sha256::digest(parameters().as_bytes())),
            clause: "the interception clauses of the pack (interception-parent), below their fixed scale: an organisation using a sensitive capability at many times what its sector ever does".into(),
        },
        title: format!("{signal} summed over the organisation's sub-accounts, {:.0} times what its {peers} sector peers typically ever reach", m / typical.max(floor)),
        account_id: hit.account_id.clone(),
        scope: Scope::Parent,
        sector: hit.sector.clone(),
        as_of: date(hit.day).to_string(),
        window_start: date(from).to_string(),
        severity: Severity::Medium,
        score: m / (K * typical.max(floor)),
        measured: vec![Measured {
            signal: signal.into(),
            measure: format!("7-day mean against {K} x the larger of the floor ({floor:.3e} a day) and the median of the {peers} sector peers' highest so far ({typical:.3e})"),
            value: m,
            op: ">=".into(),
            threshold: K * typical.max(floor),
            daily: Some(K * typical.max(floor)),
        }],
        evidence: vec![Evidence { signal: signal.into(), points: points.into_iter().map(|(d, v)| (date(d).to_string(), v)).collect() }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn means_and_highest_so_far() {
        let m = Means::new(&[(10, 7.0), (11, 14.0), (13, 7.0)], 14);
        assert_eq!(m.first, 10);
        assert_eq!(m.m, vec![1.0, 3.0, 3.0, 4.0, 4.0]);
        assert_eq!(m.high_on(9), 0.0);
        assert_eq!(m.high_on(12), 3.0);
        assert_eq!(m.high_on(20), 4.0);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut []), 0.0);
    }
}
