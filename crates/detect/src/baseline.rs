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
//!
//! Both run on accounts and on parents (an organisation, or a billing account when the registry names none: the sum
//! of whichever sub-accounts exist each day), each parent against its sector's other parents. A split operation
//! surges at the parent while each part grows slowly or starts new; a parent hit is not reported when one of its
//! sub-accounts surges alone that day, since that account's own finding already says it.
//!
//! An evaluation walks every day on the whole series. A scan of one day reads the 111 days its weeks reach back
//! over, and asks one more statement for the few accounts whose answer depends on what lies before them; both give
//! the same hits, to the bit.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use sha2::{Digest, Sha256};

use crate::DetectError;
use crate::engine::{Daily, Hit, Scanner, date};
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

/// Which signal, what was seen in it, and whose series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Trigger {
    /// The signal.
    pub signal: &'static str,
    /// Surge or first use.
    pub kind: Kind,
    /// An account's series, or a parent's (the sum of its sub-accounts).
    pub scope: Scope,
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

/// The median of `v` (0 for none), sorting it in place.
pub(crate) fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

/// Median and robust spread (1.4826 MAD, plus 0.02 so a flat history does not make every wobble infinite).
fn robust(v: &mut [f64]) -> (f64, f64) {
    let med = median(v);
    for x in v.iter_mut() {
        *x = (*x - med).abs();
    }
    (med, 1.4826 * median(v) + 0.02)
}

/// The detector's parameters as text, hashed into its findings like a policy file.
fn parameters() -> String {
    format!(
        "{ID}, {FIRST_USE_ID} v{VERSION}: history {HISTORY} days, z >= {Z}, peer z >= {Z_PEER} with {MIN_PEERS} peers, week-on-week >= {MIN_RATIO}, signals {SIGNALS:?}, sectors {SECTORS:?}"
    )
}

/// Days from an account's first row to the first day with two full weeks of it, as a growth needs.
const FORTNIGHT: i64 = 13;

/// Days before the first day reported that a surge's weeks read: its week and the week before (13 days), and the
/// 91 days of log growth before that, each a week over the week before it (19 days back from the oldest), plus the
/// day that tells a history of 91 days from a shorter one. A scan of a few days reads only these.
pub const LOOKBACK: i64 = HISTORY as i64 + 20;

/// One account's 7-day totals of a signal, on the days from `origin` to `end` (missing days are 0).
struct Weekly {
    origin: i64,
    w: Vec<f64>,
    eps: f64,
}

impl Weekly {
    /// From the account's points, the first day they may start on (its first point, or earlier) and the last day
    /// looked at (its last point, or later).
    fn new(series: &[(i64, f64)], origin: i64, end: i64, floor: f64) -> Weekly {
        let n = (end - origin + 1).max(0) as usize;
        let mut v = vec![0.0; n];
        for (d, x) in series {
            v[(d - origin) as usize] += x;
        }
        // Each total is the sum of its own 7 days, in day order (not a running sum): a day's total is then the same
        // bits whatever day the values start on, so a scan of one day and a walk over the year agree exactly.
        let w = (0..n).map(|i| v[i.saturating_sub(6)..=i].iter().sum()).collect();
        // A hundredth of the floor keeps the log finite for weeks of nothing.
        Weekly { origin, w, eps: floor / 100.0 }
    }

    /// The last day with a total.
    fn last(&self) -> i64 {
        self.origin + self.w.len() as i64 - 1
    }

    /// Week-on-week log growth on a day (its index and the one 7 days before must be in range).
    fn g(&self, day: i64) -> f64 {
        let i = (day - self.origin) as usize;
        ((self.w[i] + self.eps) / (self.w[i - 7] + self.eps)).ln()
    }

    /// Log growth on a day, for a peer whose rows start on `first`: only with two full weeks and volume in one of
    /// them.
    fn peer_growth(&self, day: i64, first: i64) -> Option<f64> {
        if day - first < FORTNIGHT || day > self.last() {
            return None;
        }
        let i = (day - self.origin) as usize;
        (self.w[i].max(self.w[i - 7]) >= self.eps).then(|| self.g(day))
    }

    /// Days of `from..=to` past the floor whose growth is at least `MIN_RATIO` and z ≥ `Z` against the 91 days
    /// before the last week: (day, log growth, z). Whether the account's rows go back far enough for that history
    /// is the caller's to check (a day needs its first row `LOOKBACK` days before it).
    fn own_surges(&self, floor: f64, from: i64, to: i64) -> Vec<(i64, f64, f64)> {
        let mut out = Vec::new();
        let mut window = Vec::with_capacity(HISTORY);
        for day in from.max(self.origin + LOOKBACK)..=to.min(self.last()) {
            let g = self.g(day);
            if self.w[(day - self.origin) as usize] < floor || g < MIN_RATIO.ln() {
                continue;
            }
            window.clear();
            window.extend((day - 7 - HISTORY as i64 + 1..=day - 7).map(|j| self.g(j)));
            let (med, spread) = robust(&mut window);
            let z = (g - med) / spread;
            if z >= Z {
                out.push((day, g, z));
            }
        }
        out
    }
}

/// Surges of one series against its own history alone: (day, week-on-week ratio, robust z).
pub fn surges_in(series: &[(i64, f64)], floor: f64) -> Vec<(i64, f64, f64)> {
    let (Some(&(first, _)), Some(&(last, _))) = (series.first(), series.last()) else { return Vec::new() };
    Weekly::new(series, first, last, floor).own_surges(floor, i64::MIN, i64::MAX).into_iter().map(|(d, g, z)| (d, g.exp(), z)).collect()
}

/// The first use of a signal: when the account's watched signals began at `tenure` at least `HISTORY` days before
/// the signal's first nonzero day, the day within its first 7 days of use on which their total reaches the floor:
/// (day, total, days without the signal).
pub fn first_use(series: &[(i64, f64)], floor: f64, tenure: i64) -> Option<(i64, f64, i64)> {
    let (day, total, start) = first_week(series, floor)?;
    (start - tenure >= HISTORY as i64).then_some((day, total, start - tenure))
}

/// The day within a signal's first 7 days of use (from its first nonzero day) on which their total reaches the
/// floor: (day, total, first nonzero day).
fn first_week(series: &[(i64, f64)], floor: f64) -> Option<(i64, f64, i64)> {
    let start = series.iter().find(|p| p.1 > 0.0)?.0;
    let mut total = 0.0;
    for &(d, v) in series.iter().skip_while(|p| p.0 < start).take_while(|p| p.0 < start + 7) {
        total += v;
        if total >= floor {
            return Some((d, total, start));
        }
    }
    None
}

/// Every surge and first use of accounts and of parents, as hits, sorted by account, day and trigger; `days` limits
/// the days reported. A parent's hit is left out when one of its sub-accounts has the same (signal, kind, day).
pub async fn surges(scanner: &Scanner, days: Option<(i64, i64)>) -> Result<Vec<(Hit, Trigger)>, DetectError> {
    let (mut out, _) = surges_of(scanner, Scope::Account, days).await?;
    let seen: BTreeSet<(&str, i64, &str, Kind)> = out.iter().map(|(h, t)| (h.account_id.as_str(), h.day, t.signal, t.kind)).collect();
    let (parents, parts_of) = surges_of(scanner, Scope::Parent, days).await?;
    let alone = |h: &Hit, t: &Trigger| {
        parts_of.get(&(h.account_id.clone(), t.signal)).is_some_and(|ps| ps.iter().any(|p| seen.contains(&(p.as_str(), h.day, t.signal, t.kind))))
    };
    let parents: Vec<(Hit, Trigger)> = parents.into_iter().filter(|(h, t)| !alone(h, t)).collect();
    out.extend(parents);
    out.sort_by(|a, b| (&a.0.account_id, a.0.day, a.1).cmp(&(&b.0.account_id, b.0.day, b.1)));
    Ok(out)
}

/// The sub-accounts read for each (parent, signal), as [`surges_of`] returns them.
type Parts = HashMap<(String, &'static str), Vec<String>>;

/// [`surges`] of one scope, with the sub-accounts read for each parent that has a hit.
///
/// A scan of a few days reads only the `LOOKBACK` days before them. Three facts lie further back: whether a
/// surging account's rows go back far enough for its 91-day history, the same for its peers whose rows in the
/// window start late, and whether a first use is really the first, and after how long. The window names the few
/// accounts those questions concern, and one more statement answers them ([`Scanner::before`]).
async fn surges_of(scanner: &Scanner, scope: Scope, days: Option<(i64, i64)>) -> Result<(Vec<(Hit, Trigger)>, Parts), DetectError> {
    let names: Vec<&str> = SIGNALS.iter().map(|s| s.0).collect();
    let window = days.map(|(from, _)| from - LOOKBACK);
    // Every account is looked at up to the same day, the series' last (or the last reported), whether or not its own
    // rows reach it: what is known on a day must not depend on rows after it.
    let Some(last) = scanner.last_day().await? else { return Ok(Default::default()) };
    let (from, to) = days.unwrap_or((i64::MIN, last));
    let end = to.min(last);
    let read = scanner.daily_of(scope, &names, &SECTORS, window.map(|w| (w, to))).await?;
    let weekly: Vec<Vec<Weekly>> = read
        .iter()
        .zip(SIGNALS)
        .map(|(accounts, (_, floor))| accounts.iter().map(|a| Weekly::new(&a.points, window.unwrap_or(a.points[0].0), end, floor)).collect())
        .collect();
    // First days within what was read: an account's first row of each signal, and its tenure (first of any).
    let mut tenure: BTreeMap<&str, i64> = BTreeMap::new();
    for a in read.iter().flatten() {
        let d = a.points[0].0;
        tenure.entry(a.account_id.as_str()).and_modify(|t| *t = (*t).min(d)).or_insert(d);
    }

    // The window's candidates, and which of them (and of their peers) need the history before it.
    let mut surging = Vec::new();
    let mut first_uses = Vec::new();
    let mut ask: BTreeSet<&str> = BTreeSet::new();
    let mut ask_signals: BTreeSet<&str> = BTreeSet::new();
    for (k, (signal, floor)) in SIGNALS.iter().enumerate() {
        for (i, a) in read[k].iter().enumerate() {
            for (day, g, z) in weekly[k][i].own_surges(*floor, from, to) {
                if window.is_some() {
                    ask.insert(&a.account_id);
                    ask_signals.insert(signal);
                    for p in &read[k] {
                        if p.sector == a.sector && day - p.points[0].0 < FORTNIGHT {
                            ask.insert(&p.account_id);
                        }
                    }
                }
                surging.push((k, i, day, g, z));
            }
            if let Some((day, total, start)) = first_week(&a.points, *floor).filter(|f| (from..=to).contains(&f.0)) {
                if window.is_some() {
                    ask.insert(&a.account_id);
                    ask_signals.extend(names.iter());
                }
                first_uses.push((k, i, day, total, start));
            }
        }
    }
    let before = match window {
        Some(w) if !ask.is_empty() => scanner.before_of(scope, &ask.into_iter().collect::<Vec<_>>(), &ask_signals.into_iter().collect::<Vec<_>>(), w).await?,
        _ => Default::default(),
    };
    // Per signal, by account: (first day, used) before the window.
    let mut earlier: Vec<HashMap<&str, (i64, bool)>> = vec![HashMap::new(); SIGNALS.len()];
    for (account, signal, first, used) in &before {
        if let Some(k) = names.iter().position(|n| n == signal) {
            earlier[k].insert(account.as_str(), (*first, *used));
        }
        if let Some(t) = tenure.get_mut(account.as_str()) {
            *t = (*t).min(*first);
        }
    }
    let first_of = |k: usize, a: &Daily| earlier[k].get(a.account_id.as_str()).map_or(a.points[0].0, |b| b.0);

    let mut out = Vec::new();
    let mut parts = Parts::new();
    for (k, i, day, g, z) in surging {
        let (signal, a) = (SIGNALS[k].0, &read[k][i]);
        if day - first_of(k, a) < LOOKBACK {
            continue;
        }
        let mut peers: Vec<f64> = read[k]
            .iter()
            .zip(&weekly[k])
            .enumerate()
            .filter(|(j, (p, _))| *j != i && p.sector == a.sector)
            .filter_map(|(_, (p, pw))| pw.peer_growth(day, first_of(k, p)))
            .collect();
        let mut values = vec![g.exp(), z];
        if peers.len() >= MIN_PEERS {
            let (med, spread) = robust(&mut peers);
            let peer_z = (g - med) / spread;
            if peer_z < Z_PEER {
                continue;
            }
            values.extend([peer_z, peers.len() as f64, med.exp()]);
        }
        parts.entry((a.account_id.clone(), signal)).or_insert_with(|| a.parts.clone());
        out.push((Hit { account_id: a.account_id.clone(), day, sector: a.sector.clone(), values }, Trigger { signal, kind: Kind::Surge, scope }));
    }
    for (k, i, day, total, start) in first_uses {
        let (signal, a) = (SIGNALS[k].0, &read[k][i]);
        if earlier[k].get(a.account_id.as_str()).is_some_and(|b| b.1) {
            continue; // used before the window: not its first use
        }
        let quiet = start - tenure[a.account_id.as_str()];
        if quiet >= HISTORY as i64 {
            parts.entry((a.account_id.clone(), signal)).or_insert_with(|| a.parts.clone());
            out.push((
                Hit { account_id: a.account_id.clone(), day, sector: a.sector.clone(), values: vec![total, quiet as f64] },
                Trigger { signal, kind: Kind::FirstUse, scope },
            ));
        }
    }
    Ok((out, parts))
}

/// A surge or first use as a low-severity finding, with the points of the baseline's days as evidence.
pub async fn finding(scanner: &Scanner, hit: &Hit, trigger: Trigger) -> Result<Finding, DetectError> {
    let signal = trigger.signal;
    let from = hit.day - (HISTORY as i64 + 13);
    let points = scanner.points(trigger.scope, &hit.account_id, signal, from, hit.day).await?;
    let v = &hit.values;
    let floor = SIGNALS.iter().find(|s| s.0 == signal).map_or(0.0, |s| s.1);
    let whose = match trigger.scope {
        Scope::Account => "account",
        Scope::Parent => "organisation",
    };
    let (title, clause, score, measured) = match trigger.kind {
        Kind::Surge => {
            let mut measured = vec![
                Measured {
                    signal: signal.into(),
                    measure: "week-on-week ratio of 7-day totals".into(),
                    value: v[0],
                    op: ">=".into(),
                    threshold: MIN_RATIO,
                    daily: None,
                },
                Measured {
                    signal: signal.into(),
                    measure: format!("robust z of log growth against the {whose}'s own {HISTORY} days"),
                    value: v[1],
                    op: ">=".into(),
                    threshold: Z,
                    daily: None,
                },
            ];
            let title = if let [_, _, peer_z, peers, ratio] = v[..] {
                measured.push(Measured {
                    signal: signal.into(),
                    measure: format!("robust z of log growth against {peers} sector peers the same week (their median ratio {ratio:.3})"),
                    value: peer_z,
                    op: ">=".into(),
                    threshold: Z_PEER,
                    daily: None,
                });
                format!("Surge in {signal} against the {whose}'s own {HISTORY}-day baseline and its sector peers")
            } else {
                format!("Surge in {signal} against the {whose}'s own {HISTORY}-day baseline (fewer than {MIN_PEERS} sector peers)")
            };
            (title, "none: a surge no policy names, against the own baseline and the sector peers, for review", v[1] / Z, measured)
        }
        Kind::FirstUse => (
            format!("First use of {signal} at volume, after {} days without it", v[1]),
            "none: a sensitive signal an established account never used, starting at volume, for review",
            v[0] / floor,
            vec![
                Measured {
                    signal: signal.into(),
                    measure: "total of the first 7 days of use".into(),
                    value: v[0],
                    op: ">=".into(),
                    threshold: floor,
                    daily: None,
                },
                Measured {
                    signal: signal.into(),
                    measure: format!("days of {whose} history without the signal"),
                    value: v[1],
                    op: ">=".into(),
                    threshold: HISTORY as f64,
                    daily: None,
                },
            ],
        ),
    };
    Ok(Finding {
        policy: PolicyRef { id: trigger.id().into(), version: VERSION, sha256: hex::encode(Sha256::digest(parameters().as_bytes())), clause: clause.into() },
        title,
        account_id: hit.account_id.clone(),
        scope: trigger.scope,
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
