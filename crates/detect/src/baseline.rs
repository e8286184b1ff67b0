//! A detector for what no policy names yet, reported as low-severity findings for review. Cost-anomaly tools flag
//! spend; this flags capability and scale.
//!
//! For each account in a security sector and each sensitive signal, the weekly total `w(d)` (7 days ending d) and
//! its week-on-week log growth `g(d) = ln(w(d) / w(d-7))`. Weekly totals absorb the weekday cycle.
//! - **Surge** (`baseline-surge`): `g` is at least ln 1.5 (+50 % in a week), the week is past a volume floor that
//!   keeps small accounts out, and `g` is far out on two robust scales (median and MAD): the account's own `g`
//!   over the 91 days before the last week (robust z ≥ 6), and its sector peers' `g` the same week (robust z ≥ 3;
//!   peers are the other accounts of the sector with the signal that week, and the check needs at least 5 of
//!   them). The own history says "unusual for this account"; the peers say "not a swing the whole sector shares",
//!   such as a season or a fiscal year-end, which the 91 days of one account cannot know.
//! - **First use** (`baseline-first-use`): an account with at least 91 days of other watched signals and none of
//!   this one starts it, and its first 7 days reach the floor. A new capability at scale has no history to surge
//!   against.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::DetectError;
use crate::engine::{Hit, Scanner, date};
use crate::finding::{Evidence, Finding, Measured, PolicyRef};
use crate::policy::{Scope, Severity};

/// The surge detector's id in findings.
pub const ID: &str = "baseline-surge";
/// The first-use detector's id in findings.
pub const FIRST_USE_ID: &str = "baseline-first-use";
/// Their version; bump when a parameter changes.
pub const VERSION: u32 = 2;
/// Days of history a baseline needs, and days without a signal before its first use counts.
pub const HISTORY: usize = 91;
/// Robust z-score against the account's own history.
pub const Z: f64 = 6.0;
/// Robust z-score against the sector's peers the same week: the peer check only has to remove swings the whole
/// sector shares, so it asks less than the own-history check.
pub const Z_PEER: f64 = 3.0;
/// Peers needed for the peer check; with fewer, the account's own history decides alone.
pub const MIN_PEERS: usize = 5;
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

/// What the detector saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// Week-on-week growth past the account's own history and its peers'. Hit values: [week-on-week ratio, own z],
    /// then, with a peer group, [peer z, peers, the peers' median ratio].
    Surge,
    /// A signal an established account never used, starting past the floor. Hit values: [total of the first days
    /// of use, days of history without the signal].
    FirstUse,
}

/// Which signal, and what was seen in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Trigger {
    /// The signal.
    pub signal: &'static str,
    /// Surge or first use.
    pub kind: Kind,
}

impl Trigger {
    /// The detector's id in findings.
    pub fn id(self) -> &'static str {
        match self.kind {
            Kind::Surge => ID,
            Kind::FirstUse => FIRST_USE_ID,
        }
    }
}

/// Median and robust spread (1.4826 MAD, plus 0.02 so a flat history does not make every wobble infinite).
fn robust(v: &mut [f64]) -> (f64, f64) {
    let median = |v: &mut [f64]| {
        v.sort_by(f64::total_cmp);
        let n = v.len();
        if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
    };
    let med = median(v);
    for x in v.iter_mut() {
        *x = (*x - med).abs();
    }
    (med, 1.4826 * median(v) + 0.02)
}

/// The detector's parameters as text, hashed into its findings like a policy file.
fn parameters() -> String {
    format!("{ID}, {FIRST_USE_ID} v{VERSION}: history {HISTORY} days, z >= {Z}, peer z >= {Z_PEER} with {MIN_PEERS} peers, week-on-week >= {MIN_RATIO}, signals {SIGNALS:?}, sectors {SECTORS:?}")
}

/// One account's 7-day totals of a signal, on the days from its first to its last row (missing days are 0).
struct Weekly {
    first: i64,
    w: Vec<f64>,
    eps: f64,
}

impl Weekly {
    fn new(series: &[(i64, f64)], floor: f64) -> Weekly {
        let first = series.first().map_or(0, |p| p.0);
        let n = series.last().map_or(0, |p| (p.0 - first + 1) as usize);
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
        // A hundredth of the floor keeps the log finite for weeks of nothing.
        Weekly { first, w, eps: floor / 100.0 }
    }

    /// Week-on-week log growth at index i (two full weeks needed).
    fn g(&self, i: usize) -> f64 {
        ((self.w[i] + self.eps) / (self.w[i - 7] + self.eps)).ln()
    }

    /// Log growth on a day, for a peer: only with two full weeks and volume in one of them.
    fn peer_growth(&self, day: i64) -> Option<f64> {
        let i = usize::try_from(day - self.first).ok().filter(|i| *i >= 13 && *i < self.w.len())?;
        (self.w[i].max(self.w[i - 7]) >= self.eps).then(|| self.g(i))
    }

    /// Days past the floor whose growth is at least `MIN_RATIO` and z ≥ `Z` against the 91 days before the last
    /// week: (day, log growth, z).
    fn own_surges(&self, floor: f64) -> Vec<(i64, f64, f64)> {
        let n = self.w.len();
        let mut out = Vec::new();
        let mut window = Vec::with_capacity(HISTORY);
        for i in (13 + HISTORY + 7)..n {
            let g = self.g(i);
            if self.w[i] < floor || g < MIN_RATIO.ln() {
                continue;
            }
            window.clear();
            window.extend((i - 7 - HISTORY + 1..=i - 7).map(|j| self.g(j)));
            let (med, spread) = robust(&mut window);
            let z = (g - med) / spread;
            if z >= Z {
                out.push((self.first + i as i64, g, z));
            }
        }
        out
    }
}

/// Surges of one series against its own history alone: (day, week-on-week ratio, robust z).
pub fn surges_in(series: &[(i64, f64)], floor: f64) -> Vec<(i64, f64, f64)> {
    Weekly::new(series, floor).own_surges(floor).into_iter().map(|(d, g, z)| (d, g.exp(), z)).collect()
}

/// The first use of a signal: when the account's watched signals began at `tenure` at least `HISTORY` days before
/// the signal's first nonzero day, the day within its first 7 days of use on which their total reaches the floor:
/// (day, total, days without the signal).
pub fn first_use(series: &[(i64, f64)], floor: f64, tenure: i64) -> Option<(i64, f64, i64)> {
    let start = series.iter().find(|p| p.1 > 0.0)?.0;
    let quiet = start - tenure;
    if quiet < HISTORY as i64 {
        return None;
    }
    let mut total = 0.0;
    for &(d, v) in series.iter().skip_while(|p| p.0 < start).take_while(|p| p.0 < start + 7) {
        total += v;
        if total >= floor {
            return Some((d, total, quiet));
        }
    }
    None
}

/// Every surge and first use, as hits, sorted by account, day and trigger; `days` limits the days reported.
pub async fn surges(scanner: &Scanner, days: Option<(i64, i64)>) -> Result<Vec<(Hit, Trigger)>, DetectError> {
    let mut all = Vec::new();
    // An account's tenure: the first day of any watched signal.
    let mut tenure: BTreeMap<String, i64> = BTreeMap::new();
    for (signal, floor) in SIGNALS {
        let accounts = scanner.daily(signal, &SECTORS).await?;
        for (account, _, series) in &accounts {
            if let Some(&(d, _)) = series.first() {
                tenure.entry(account.clone()).and_modify(|t| *t = (*t).min(d)).or_insert(d);
            }
        }
        all.push((signal, floor, accounts));
    }
    let reported = |d: i64| days.is_none_or(|(a, b)| d >= a && d <= b);
    let mut out = Vec::new();
    for (signal, floor, accounts) in &all {
        let weekly: Vec<Weekly> = accounts.iter().map(|(_, _, s)| Weekly::new(s, *floor)).collect();
        for (i, (account, sector, series)) in accounts.iter().enumerate() {
            let hit = |day: i64, values: Vec<f64>| Hit { account_id: account.clone(), day, sector: sector.clone(), values };
            for (day, g, z) in weekly[i].own_surges(*floor).into_iter().filter(|s| reported(s.0)) {
                let mut peers: Vec<f64> = accounts.iter().zip(&weekly).enumerate().filter(|(j, ((_, s, _), _))| *j != i && s == sector).filter_map(|(_, (_, w))| w.peer_growth(day)).collect();
                let mut values = vec![g.exp(), z];
                if peers.len() >= MIN_PEERS {
                    let (med, spread) = robust(&mut peers);
                    let peer_z = (g - med) / spread;
                    if peer_z < Z_PEER {
                        continue;
                    }
                    values.extend([peer_z, peers.len() as f64, med.exp()]);
                }
                out.push((hit(day, values), Trigger { signal, kind: Kind::Surge }));
            }
            if let Some((day, total, quiet)) = first_use(series, *floor, tenure[account]).filter(|f| reported(f.0)) {
                out.push((hit(day, vec![total, quiet as f64]), Trigger { signal, kind: Kind::FirstUse }));
            }
        }
    }
    out.sort_by(|a, b| (&a.0.account_id, a.0.day, a.1).cmp(&(&b.0.account_id, b.0.day, b.1)));
    Ok(out)
}

/// A surge or first use as a low-severity finding, with the points of the baseline's days as evidence.
pub async fn finding(scanner: &Scanner, hit: &Hit, trigger: Trigger) -> Result<Finding, DetectError> {
    let signal = trigger.signal;
    let from = hit.day - (HISTORY as i64 + 13);
    let points = scanner.points(Scope::Account, &hit.account_id, signal, from, hit.day).await?;
    let v = &hit.values;
    let floor = SIGNALS.iter().find(|s| s.0 == signal).map_or(0.0, |s| s.1);
    let (title, clause, score, measured) = match trigger.kind {
        Kind::Surge => {
            let mut measured = vec![
                Measured { signal: signal.into(), measure: "week-on-week ratio of 7-day totals".into(), value: v[0], op: ">=".into(), threshold: MIN_RATIO },
                Measured { signal: signal.into(), measure: format!("robust z of log growth against the account's own {HISTORY} days"), value: v[1], op: ">=".into(), threshold: Z },
            ];
            let title = if let [_, _, peer_z, peers, ratio] = v[..] {
                measured.push(Measured {
                    signal: signal.into(),
                    measure: format!("robust z of log growth against {peers} sector peers the same week (their median ratio {ratio:.3})"),
                    value: peer_z,
                    op: ">=".into(),
                    threshold: Z_PEER,
                });
                format!("Surge in {signal} against the account's own {HISTORY}-day baseline and its sector peers")
            } else {
                format!("Surge in {signal} against the account's own {HISTORY}-day baseline (fewer than {MIN_PEERS} sector peers)")
            };
            (title, "none: a surge no policy names, against the account's own baseline and its peers, for review", v[1] / Z, measured)
        }
        Kind::FirstUse => (
            format!("First use of {signal} at volume, after {} days without it", v[1]),
            "none: a sensitive signal an established account never used, starting at volume, for review",
            v[0] / floor,
            vec![
                Measured { signal: signal.into(), measure: "total of the first 7 days of use".into(), value: v[0], op: ">=".into(), threshold: floor },
                Measured { signal: signal.into(), measure: "days of account history without the signal".into(), value: v[1], op: ">=".into(), threshold: HISTORY as f64 },
            ],
        ),
    };
    Ok(Finding {
        policy: PolicyRef { id: trigger.id().into(), version: VERSION, sha256: hex::encode(Sha256::digest(parameters().as_bytes())), clause: clause.into() },
        title,
        account_id: hit.account_id.clone(),
        scope: Scope::Account,
        sector: hit.sector.clone(),
        as_of: date(hit.day).to_string(),
        window_start: date(from).to_string(),
        severity: Severity::Low,
        score,
        measured,
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

    #[test]
    fn first_use_needs_an_established_account_and_volume_from_the_start() {
        let floor = 7.0;
        let late: Vec<(i64, f64)> = (120..200).map(|d| (d, floor / 2.5)).collect();
        let (day, total, quiet) = first_use(&late, floor, 0).expect("a first use");
        assert_eq!((day, quiet), (122, 120), "the third day's total passes the floor");
        assert!((total - 3.0 * floor / 2.5).abs() < 1e-9);
        assert_eq!(first_use(&late, floor, 120 - HISTORY as i64 + 1), None, "too little history without the signal");
        let slow: Vec<(i64, f64)> = (120..200).map(|d| (d, floor / 20.0)).collect();
        assert_eq!(first_use(&slow, floor, 0), None, "a first week under the floor");
        let mut zeros_first: Vec<(i64, f64)> = (0..120).map(|d| (d, 0.0)).collect();
        zeros_first.extend_from_slice(&late);
        assert_eq!(first_use(&zeros_first, floor, 0), first_use(&late, floor, 0), "rows of zero are no use");
    }
}
