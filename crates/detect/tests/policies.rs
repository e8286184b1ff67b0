//! Each built-in policy, and the baseline detector, on small hand-made series: where it must fire (the account, the
//! first day, the measured values beside the thresholds) and where it must not (just under each threshold, outside
//! its sectors, after its window, with the approval, away from the event, on a benign look-alike).
//!
//! Levels are derived from the pack's own thresholds, read from the built-in TOML, so a retuned policy keeps these
//! tests meaningful. Days are offsets from day 0 (a Monday); every series has a row for every day it covers.

use std::ops::Range;
use std::sync::Arc;

use arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use chrono::NaiveDate;
use detect::engine::{Hit, date, day_number};
use detect::policy::{Condition, Loaded, Measure, Op, Per};
use detect::{Scanner, baseline, finding};
use registry::{Approval, Event, EventKind, Events, Registry, Sector, Tenant};

/// Day 0 of every test, as a day number.
fn day0() -> i64 {
    day_number(NaiveDate::from_ymd_opt(2025, 1, 6).expect("valid date"))
}

/// A built-in policy by id.
fn policy(id: &str) -> Loaded {
    detect::load_pack(None).expect("the built-in pack loads").into_iter().find(|p| p.policy.id == id).unwrap_or_else(|| panic!("no built-in policy {id}"))
}

/// A policy's condition on a signal with a measure.
fn cond<'a>(p: &'a Loaded, signal: &str, measure: Measure) -> &'a Condition {
    p.policy
        .conditions
        .iter()
        .find(|c| c.signal.get_ref() == signal && c.measure == measure)
        .unwrap_or_else(|| panic!("{} has no {measure:?} condition on {signal}", p.policy.id))
}

/// The daily value that meets a rate, sum or max condition exactly when held over its whole window.
fn daily_threshold(c: &Condition) -> f64 {
    c.daily_level().expect("a ratio has no daily level")
}

/// A daily level that meets the condition on the window's last day of a step up from (nearly) nothing, not before:
/// W days at it reach (2W+1)/2W of the threshold, W-1 days and a trickle of 5 % stay under.
fn onset_level(c: &Condition) -> f64 {
    let w = f64::from(c.window_days);
    daily_threshold(c) * (2.0 * w + 1.0) / (2.0 * w)
}

/// What the condition measures once its whole window is at a daily level.
fn measured_at(c: &Condition, level: f64) -> f64 {
    match c.measure {
        Measure::Rate if c.per == Some(Per::Hour) => level / 24.0,
        Measure::Sum => level * f64::from(c.window_days),
        _ => level,
    }
}

/// A step factor for a growth condition: a level stepping up by it meets the ratio on the step's 7th day, not
/// before (after 6 days the 7-day total has grown by 6/7 × 13/12 < 1 of the needed growth).
fn growth_step(c: &Condition) -> f64 {
    assert_eq!(c.measure, Measure::Growth);
    1.0 + (c.threshold - 1.0) * 13.0 / 12.0
}

/// A growth factor just under a growth condition's threshold.
fn growth_under(c: &Condition) -> f64 {
    1.0 + (c.threshold - 1.0) * 0.95
}

/// The share of the onset level a series trickles at outside its burst.
const TRICKLE: f64 = 0.05;

/// Hand-made series, registry and events.
#[derive(Default)]
struct World {
    rows: Vec<(String, String, String, i64, f64)>,
    tenants: Vec<Tenant>,
    events: Vec<Event>,
}

impl World {
    /// Register an account.
    fn tenant(&mut self, id: &str, parent: Option<&str>, sector: Sector) -> &mut World {
        self.tenants.push(Tenant {
            account_id: id.into(),
            name: format!("{id} (test)"),
            parent_id: parent.map(str::to_string),
            sector,
            country: "ZZ".into(),
            purposes: vec![],
            approvals: vec![],
            extra: Default::default(),
        });
        self
    }

    /// Grant an approval to a registered account from a day (None: always).
    fn approve(&mut self, id: &str, name: &str, from: Option<i64>) {
        let t = self.tenants.iter_mut().find(|t| t.account_id == id).expect("register the account first");
        t.approvals.push(Approval { name: name.into(), from: from.map(|d| date(day0() + d)) });
    }

    /// An event at noon of a day.
    fn event(&mut self, id: &str, day: i64, kind: EventKind) {
        let at = date(day0() + day).and_hms_opt(12, 0, 0).expect("valid time").and_utc();
        self.events.push(Event { account_id: id.into(), at, kind, services: vec![], note: "test".into(), extra: Default::default() });
    }

    /// Daily values of a signal for an account, billed to its registry parent (or to itself).
    fn series(&mut self, account: &str, signal: &str, days: Range<i64>, f: impl Fn(i64) -> f64) {
        let billing = self.tenants.iter().find(|t| t.account_id == account).and_then(|t| t.parent_id.clone()).unwrap_or_else(|| account.to_string());
        self.billed(&billing, account, signal, days, f);
    }

    /// Daily values of a signal for an account under an explicit billing account.
    fn billed(&mut self, billing: &str, account: &str, signal: &str, days: Range<i64>, f: impl Fn(i64) -> f64) {
        for d in days {
            self.rows.push((billing.into(), account.into(), signal.into(), d, f(d)));
        }
    }

    /// The scanner over these series, as `oversight signals` would build them (daily buckets).
    async fn scanner(&self) -> Scanner {
        let col = |i: usize| -> Vec<&str> {
            self.rows
                .iter()
                .map(|r| match i {
                    0 => r.0.as_str(),
                    1 => r.1.as_str(),
                    _ => r.2.as_str(),
                })
                .collect()
        };
        let micros: Vec<i64> = self.rows.iter().map(|r| (day0() + r.3) * 86_400_000_000).collect();
        let batch = RecordBatch::try_new(
            signals::series_schema(),
            vec![
                Arc::new(StringArray::from(col(0))),
                Arc::new(StringArray::from(col(1))),
                Arc::new(StringArray::from(col(2))),
                Arc::new(StringArray::from(vec![""; self.rows.len()])),
                Arc::new(TimestampMicrosecondArray::from(micros).with_timezone("+00:00")),
                Arc::new(Float64Array::from(self.rows.iter().map(|r| r.4).collect::<Vec<_>>())),
                Arc::new(Int64Array::from(vec![1i64; self.rows.len()])),
            ],
        )
        .expect("a series batch");
        let registry = Registry::from_tenants(self.tenants.clone()).expect("unique ids");
        Scanner::new(vec![batch], registry, Events::from_events(self.events.clone())).await.expect("tables register")
    }
}

/// Every hit of a policy, every day. Also checks that a scan of each single day, which reads only the days its
/// windows reach back over, finds exactly that day's hits with the same values.
async fn hits(scanner: &Scanner, p: &Loaded) -> Vec<Hit> {
    let all = scanner.hits(p, None).await.expect("the policy runs");
    let last = scanner.last_day().await.expect("the series reads").expect("the series has days");
    for day in (last - 200).max(day0())..=last + 1 {
        let one = scanner.hits(p, Some((day, day))).await.expect("the policy runs on one day");
        let expected: Vec<&Hit> = all.iter().filter(|h| h.day == day).collect();
        assert_eq!(one.len(), expected.len(), "{} on day {}: one-day scan {one:?}, every-day walk {expected:?}", p.policy.id, day - day0());
        for (a, b) in one.iter().zip(expected) {
            assert_eq!((&a.account_id, &a.sector), (&b.account_id, &b.sector), "{} on day {}", p.policy.id, day - day0());
            assert!(
                a.values.iter().zip(&b.values).all(|(x, y)| close(*x, *y) || (x.is_nan() && y.is_nan())),
                "{} on day {}: {a:?} vs {b:?}",
                p.policy.id,
                day - day0()
            );
        }
    }
    all
}

/// The days (offsets from day 0) a hit names an account.
fn days(hits: &[Hit], account: &str) -> Vec<i64> {
    hits.iter().filter(|h| h.account_id == account).map(|h| h.day - day0()).collect()
}

/// A hit of an account on a day.
fn hit_on<'a>(hits: &'a [Hit], account: &str, day: i64) -> &'a Hit {
    hits.iter().find(|h| h.account_id == account && h.day == day0() + day).unwrap_or_else(|| panic!("no hit on {account} day {day}: {hits:?}"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

/// The hit's values are the expected ones, each on the right side of its threshold, and its finding shows each
/// value beside its threshold with the points read.
async fn check(scanner: &Scanner, p: &Loaded, hit: &Hit, expected: &[f64]) {
    assert_eq!(hit.values.len(), p.policy.conditions.len());
    for ((c, v), e) in p.policy.conditions.iter().zip(&hit.values).zip(expected) {
        assert!(close(*v, *e), "{}: {} measured {v}, expected {e}", p.policy.id, c.signal.get_ref());
        let holds = match c.op {
            Op::Ge => *v >= c.threshold,
            Op::Gt => *v > c.threshold,
            Op::Le => *v <= c.threshold,
            Op::Lt => *v < c.threshold,
        };
        assert!(holds, "{}: {v} {} {}", p.policy.id, c.op.sql(), c.threshold);
    }
    let f = finding::finding(scanner, p, hit).await.expect("a finding");
    assert_eq!((f.account_id.as_str(), f.as_of.as_str(), f.severity), (hit.account_id.as_str(), date(hit.day).to_string().as_str(), p.policy.severity));
    assert_eq!(f.policy.sha256, p.sha256);
    for (m, (c, v)) in f.measured.iter().zip(p.policy.conditions.iter().zip(&hit.values)) {
        assert_eq!((m.signal.as_str(), m.value, m.op.as_str(), m.threshold), (c.signal.get_ref().as_str(), *v, c.op.sql(), c.threshold));
    }
    assert!(f.score >= 1.0, "a hit is at or past every threshold: score {}", f.score);
    for e in &f.evidence {
        assert!(!e.points.is_empty(), "evidence for {}", e.signal);
        assert!(e.points.iter().all(|(d, _)| *d >= f.window_start && *d <= f.as_of), "{e:?}");
    }
}

#[tokio::test]
async fn interception_pipeline() {
    let p = policy("interception-pipeline");
    let c = cond(&p, "ai.speech_seconds", Measure::Rate);
    let w = i64::from(c.window_days);
    let on = onset_level(c);
    let (start, stop, end) = (30, 50, 80);
    let burst = move |d: i64| {
        if (start..=stop).contains(&d) { on } else { TRICKLE * on }
    };
    let mut world = World::default();
    for (id, sector) in
        [("mil", Sector::Military), ("cc", Sector::Commercial), ("at", Sector::Military), ("low", Sector::Military), ("spike", Sector::Intelligence)]
    {
        world.tenant(id, None, sector);
    }
    world.series("mil", "ai.speech_seconds", 0..end, burst);
    // Not in the registry: scanned as `unknown`.
    world.series("stranger", "ai.speech_seconds", 0..end, burst);
    // A contact centre at twice the volume: the sector is not this policy's business.
    world.series("cc", "ai.speech_seconds", 0..end, move |d| 2.0 * burst(d));
    // At the threshold every day (it is `>=`), and just under it.
    world.series("at", "ai.speech_seconds", 0..end, |_| daily_threshold(c));
    world.series("low", "ai.speech_seconds", 0..end, |_| 0.99 * daily_threshold(c));
    // One day carrying 99 % of a whole window's volume: the window's mean absorbs it.
    world.series("spike", "ai.speech_seconds", 0..end, move |d| if d == start { 0.99 * daily_threshold(c) * w as f64 } else { 0.0 });
    let s = world.scanner().await;
    let h = hits(&s, &p).await;

    let expected: Vec<i64> = (start + w - 1..=stop).collect();
    assert_eq!(days(&h, "mil"), expected, "from the window's last day of the burst to its end, not after");
    check(&s, &p, hit_on(&h, "mil", start + w - 1), &[measured_at(c, on)]).await;
    assert!(p.applies_to("unknown"));
    assert_eq!(days(&h, "stranger"), expected);
    assert!(!p.applies_to("commercial"));
    assert_eq!(days(&h, "cc"), Vec::<i64>::new());
    assert_eq!(c.op, Op::Ge);
    assert_eq!(days(&h, "at"), (w - 1..end).collect::<Vec<_>>(), "at the threshold from the first full window");
    assert_eq!(days(&h, "low"), Vec::<i64>::new());
    assert_eq!(days(&h, "spike"), Vec::<i64>::new());
    assert!(h.iter().all(|h| ["mil", "stranger", "at"].contains(&h.account_id.as_str())), "{h:?}");
}

#[tokio::test]
async fn interception_parent() {
    let p = policy("interception-parent");
    let per_account = policy("interception-pipeline");
    let c = cond(&p, "ai.speech_seconds", Measure::Rate);
    assert_eq!(c.threshold, cond(&per_account, "ai.speech_seconds", Measure::Rate).threshold, "structuring is caught at the per-account threshold");
    let w = i64::from(c.window_days);
    let on = onset_level(c);
    let (start, end) = (30, 60);
    let n = 3;
    let share = move |d: i64| if d >= start { on / n as f64 } else { 0.0 };
    let mut world = World::default();
    // An organisation whose three accounts each carry a third of the volume.
    world.tenant("org", None, Sector::Intelligence);
    for i in 1..=n {
        let id = format!("org-{i}");
        world.tenant(&id, Some("org"), Sector::Intelligence);
        world.series(&id, "ai.speech_seconds", 0..end, share);
    }
    // Two organisations with one such account each: no parent holds the sum.
    for org in ["one", "two"] {
        let sub = format!("{org}-1");
        world.tenant(org, None, Sector::Intelligence).tenant(&sub, Some(org), Sector::Intelligence);
        world.series(&sub, "ai.speech_seconds", 0..end, share);
    }
    // The same structure in a company.
    world.tenant("co", None, Sector::Commercial);
    for i in 1..=n {
        let id = format!("co-{i}");
        world.tenant(&id, Some("co"), Sector::Commercial);
        world.series(&id, "ai.speech_seconds", 0..end, share);
    }
    // Accounts missing from the registry are summed over their billing account, an `unknown` parent.
    for i in 1..=n {
        world.billed("bill", &format!("bill-{i}"), "ai.speech_seconds", 0..end, share);
    }
    let s = world.scanner().await;
    let h = hits(&s, &p).await;

    let expected: Vec<i64> = (start + w - 1..end).collect();
    assert_eq!(days(&h, "org"), expected);
    check(&s, &p, hit_on(&h, "org", start + w - 1), &[measured_at(c, on)]).await;
    assert_eq!(days(&h, "bill"), expected, "unregistered accounts sum over their billing account");
    assert!(!p.applies_to("commercial"));
    let named: std::collections::BTreeSet<&str> = h.iter().map(|h| h.account_id.as_str()).collect();
    assert_eq!(named, ["bill", "org"].into(), "the parent policy names organisations, never a sub-account alone");
    assert!(hits(&s, &per_account).await.is_empty(), "no account alone reaches the per-account threshold");
}

/// Structuring as real organisations do it: sub-accounts that come and go (the new ones not yet in the registry,
/// billed to the billing account of the registered ones), unequal shares that drift, and the signals spread so that
/// one sub-account stores, another translates and others transcribe. The parent sees the combination; its twins,
/// the same shapes under the threshold, in a commercial parent, or under a billing account of several parents,
/// are not flagged.
#[tokio::test]
async fn interception_parent_with_rotating_uneven_and_spread_sub_accounts() {
    let p = policy("interception-parent");
    let c = cond(&p, "ai.speech_seconds", Measure::Rate);
    let w = i64::from(c.window_days);
    let on = onset_level(c);
    let (start, end) = (20, 80);
    let mut world = World::default();
    // How an organisation splits a daily total over its sub-accounts: two registered transcribers with drifting
    // shares (40 % falling to 25 %, 20 % rising to 35 %), and the other 40 % carried by sub-accounts that live 5
    // days each, two at a time, none of them in the registry. Each share stays under the threshold.
    let split = |world: &mut World, parent: &str, sector: Sector, billing: &str, total: f64| {
        world.tenant(parent, None, sector);
        let drift = move |d: i64| ((d - start) as f64 / (end - start) as f64).clamp(0.0, 1.0);
        let on_days = move |d: i64| d >= start;
        for (k, (from, to)) in [(0.40, 0.25), (0.20, 0.35)].into_iter().enumerate() {
            let id = format!("{parent}-unit-{k}");
            world.tenant(&id, Some(parent), sector);
            world.billed(billing, &id, "ai.speech_seconds", 0..end, move |d| if on_days(d) { total * (from + (to - from) * drift(d)) } else { 0.0 });
        }
        // One registered sub-account stores the audio, one translates it: other signals, same organisation.
        world.tenant(&format!("{parent}-store"), Some(parent), sector);
        world.billed(billing, &format!("{parent}-store"), "storage.stored_bytes", 0..end, |d| 1e14 + 1e12 * d as f64);
        world.tenant(&format!("{parent}-translate"), Some(parent), sector);
        world.billed(billing, &format!("{parent}-translate"), "ai.translation_chars", 0..end, |_| 5e9);
        for r in (start..end).step_by(5) {
            for half in 0..2 {
                let id = format!("{parent}-cell-{r}-{half}");
                world.billed(billing, &id, "ai.speech_seconds", r..(r + 5).min(end), move |_| total * 0.20);
            }
        }
    };
    split(&mut world, "ministry", Sector::Intelligence, "bill-ministry", on);
    // Twins: the same shape at 80 % of the threshold; in a commercial parent; and under a billing account whose
    // registered sub-accounts belong to two parents, where a new sub-account cannot be placed (it sums with the
    // other unregistered ones, under the billing account, and there alone stays under).
    split(&mut world, "quiet", Sector::Intelligence, "bill-quiet", 0.8 * daily_threshold(c));
    split(&mut world, "media", Sector::Commercial, "bill-media", on);
    split(&mut world, "dept-a", Sector::Government, "bill-enrollment", on * 0.5);
    world.tenant("dept-b", None, Sector::Government).tenant("dept-b-1", Some("dept-b"), Sector::Government);
    world.billed("bill-enrollment", "dept-b-1", "ai.speech_seconds", 0..end, move |d| if d >= start { on * 0.5 } else { 0.0 });
    let s = world.scanner().await;
    let h = hits(&s, &p).await;

    let expected: Vec<i64> = (start + w - 1..end).collect();
    assert_eq!(days(&h, "ministry"), expected, "the parent holds the sum every day, whichever sub-accounts carry it");
    check(&s, &p, hit_on(&h, "ministry", start + w + 10), &[measured_at(c, on)]).await;
    let named: std::collections::BTreeSet<&str> = h.iter().map(|h| h.account_id.as_str()).collect();
    assert_eq!(named, ["ministry"].into(), "no twin is flagged: {h:?}");
    let per_account = policy("interception-pipeline");
    assert!(hits(&s, &per_account).await.is_empty(), "no sub-account alone reaches the per-account threshold");
}

/// The record's whole chain at a fraction of its scale: transcription split over drifting and rotating
/// sub-accounts, one sub-account translating and one keeping the archive. The parent sees the combination; its
/// twins are not flagged: the same speech and translation with a contact centre's 90-day retention (a flat
/// archive), a broadcaster's subtitling with a slowly growing archive, the chain without translation, and the
/// chain in a commercial parent.
#[tokio::test]
async fn interception_chain() {
    let p = policy("interception-chain");
    let speech = cond(&p, "ai.speech_seconds", Measure::Rate);
    let translation = cond(&p, "ai.translation_chars", Measure::Rate);
    let growth = cond(&p, "storage.stored_bytes", Measure::Growth);
    let (start, end) = (50, 100);
    // 1.2 times each threshold: speech reaches its 7-day rate on the 6th day (6 × 1.2 ≥ 7), translation on the 6th.
    let (talk, words) = (1.2 * daily_threshold(speech), 1.2 * daily_threshold(translation));
    // An archive under archive-surge's 200 TB, growing by 0.3 TB a day.
    let archive = move |d: i64| 20e12 + 0.3e12 * d as f64;
    let mut world = World::default();
    let chain = |world: &mut World, parent: &str, sector: Sector, talk: f64, words: f64, stored: &dyn Fn(i64) -> f64| {
        let billing = format!("bill-{parent}");
        world.tenant(parent, None, sector);
        let drift = move |d: i64| ((d - start) as f64 / (end - start) as f64).clamp(0.0, 1.0);
        for (k, (from, to)) in [(0.45, 0.15), (0.15, 0.45)].into_iter().enumerate() {
            let id = format!("{parent}-unit-{k}");
            world.tenant(&id, Some(parent), sector);
            world.billed(&billing, &id, "ai.speech_seconds", 0..end, move |d| if d >= start { talk * (from + (to - from) * drift(d)) } else { 0.0 });
        }
        for r in (start..end).step_by(4) {
            for half in 0..2 {
                world.billed(&billing, &format!("{parent}-cell-{r}-{half}"), "ai.speech_seconds", r..(r + 4).min(end), move |_| talk * 0.2);
            }
        }
        world.tenant(&format!("{parent}-desk"), Some(parent), sector);
        world.billed(&billing, &format!("{parent}-desk"), "ai.translation_chars", 0..end, move |d| if d >= start { words } else { 0.0 });
        world.tenant(&format!("{parent}-archive"), Some(parent), sector);
        let points: Vec<f64> = (0..end).map(stored).collect();
        world.billed(&billing, &format!("{parent}-archive"), "storage.stored_bytes", 0..end, |d| points[d as usize]);
    };
    chain(&mut world, "unit", Sector::Intelligence, talk, words, &archive);
    chain(&mut world, "police", Sector::LawEnforcement, talk, words, &|_| 90.0 * 0.8 * 24.0 * 600.0 * 57.5e6);
    chain(&mut world, "broadcaster", Sector::Government, 240.0 * 3600.0 * 24.0, 1.2e9, &|d| 2400e12 * (1.0 + 0.0005 * d as f64));
    chain(&mut world, "quiet-desk", Sector::Military, talk, 0.0, &archive);
    chain(&mut world, "media", Sector::Commercial, talk, words, &archive);
    let s = world.scanner().await;
    let h = hits(&s, &p).await;

    assert_eq!(days(&h, "unit"), (start + 5..end).collect::<Vec<_>>(), "from the 6th day of speech, every day");
    let day = start + 20;
    let grown = (0..7).map(|k| archive(day - k)).sum::<f64>() / (0..7).map(|k| archive(day - 30 - k)).sum::<f64>();
    check(&s, &p, hit_on(&h, "unit", day), &[measured_at(speech, talk), measured_at(translation, words), grown]).await;
    assert!(grown >= growth.threshold);
    let named: std::collections::BTreeSet<&str> = h.iter().map(|h| h.account_id.as_str()).collect();
    assert_eq!(named, ["unit"].into(), "no twin is flagged: {h:?}");
    for other in ["interception-parent", "interception-pipeline", "archive-surge"] {
        assert!(hits(&s, &policy(other)).await.iter().all(|h| !h.account_id.starts_with("unit")), "{other} alone does not find the unit");
    }
}

#[tokio::test]
async fn archive_surge() {
    let p = policy("archive-surge");
    let g = cond(&p, "storage.stored_bytes", Measure::Growth);
    let v = cond(&p, "storage.stored_bytes", Measure::Max);
    let n = i64::from(g.window_days);
    let k = growth_step(g);
    let held = 1.1 * v.threshold;
    let start = n + 10;
    let end = start + n + 30;
    let step = move |f: f64, base: f64| move |d: i64| if d >= start { base * f } else { base };
    let mut world = World::default();
    for (id, sector) in [
        ("imm", Sector::Immigration),
        ("slow", Sector::Immigration),
        ("small", Sector::Immigration),
        ("co", Sector::Commercial),
        ("broadcaster", Sector::Government),
        ("digitising", Sector::Immigration),
        ("staging", Sector::Immigration),
        ("rotation", Sector::Immigration),
        ("deleted", Sector::Immigration),
    ] {
        world.tenant(id, None, sector);
    }
    world.series("imm", "storage.stored_bytes", 0..end, step(k, held));
    // Growth just under the ratio, and the full step on an account just under the volume.
    world.series("slow", "storage.stored_bytes", 0..end, step(growth_under(g), held));
    world.series("small", "storage.stored_bytes", 0..end, step(k, 0.95 * v.threshold / k));
    // The step outside the policy's sectors: a company, a state broadcaster.
    world.series("co", "storage.stored_bytes", 0..end, step(k, held));
    world.series("broadcaster", "storage.stored_bytes", 0..end, step(k, held));
    // The policy's own look-alike, in a sector it watches: an archive growing x4 a year (+12 % a month).
    let yearly = 4f64.ln() / 365.0;
    world.series("digitising", "storage.stored_bytes", 0..end, move |d| held * (yearly * d as f64).exp());
    // Growth deleted again within days: twice the needed growth, held for 3 days.
    let twice = 1.0 + 2.0 * (g.threshold - 1.0);
    world.series("staging", "storage.stored_bytes", 0..end, move |d| if (start..start + 3).contains(&d) { held * twice } else { held });
    // A weekly backup rotation: a week of backups grows by twice the needed growth, then is deleted.
    world.series("rotation", "storage.stored_bytes", 0..end, move |d| held * (1.0 + (twice - 1.0) * (d % 7) as f64 / 6.0));
    // The surge, deleted 10 days in.
    let gone = start + 10;
    world.series("deleted", "storage.stored_bytes", 0..end, move |d| if (start..gone).contains(&d) { held * k } else { held });
    let s = world.scanner().await;
    let h = hits(&s, &p).await;

    let imm = days(&h, "imm");
    assert_eq!(imm.first(), Some(&(start + 6)), "on the 7th day of the step: {imm:?}");
    assert!(imm.starts_with(&(start + 6..start + n).collect::<Vec<_>>()), "while the baseline week is before the step: {imm:?}");
    assert!(imm.iter().all(|d| *d < start + n + 6), "not once the baseline week is past the step: {imm:?}");
    check(&s, &p, hit_on(&h, "imm", start + 6), &[k, held * k]).await;
    assert!(!p.applies_to("commercial") && !p.applies_to("government"));
    let deleted = days(&h, "deleted");
    assert_eq!(deleted.first(), Some(&(start + 6)));
    assert!(deleted.iter().all(|d| *d < gone + 6), "no hit once the 7-day window is past the deletion: {deleted:?}");
    for quiet in ["slow", "small", "co", "broadcaster", "digitising", "staging", "rotation"] {
        assert_eq!(days(&h, quiet), Vec::<i64>::new(), "{quiet}");
    }
}

#[tokio::test]
async fn exodus() {
    let p = policy("exodus");
    let c = cond(&p, "network.egress_bytes", Measure::Sum);
    let after = p.policy.after_event.as_ref().expect("exodus follows an event");
    let kind = EventKind::parse(&after.kinds[0]).expect("a known kind");
    assert!(!after.kinds.iter().any(|k| k == "lift"));
    let within = i64::from(after.within_days);
    let w = i64::from(c.window_days);
    let on = onset_level(c);
    let x = 20;
    let end = x + within + 20;
    let burst = move |from: i64, to: i64| {
        move |d: i64| {
            if (from..=to).contains(&d) { on } else { TRICKLE * on }
        }
    };
    let mut world = World::default();
    // Sectors: `any`, so companies are in.
    assert!(p.applies_to("commercial"));
    for id in ["out", "migration", "before", "running", "late", "edge", "lifted", "under"] {
        world.tenant(id, None, Sector::Commercial);
    }
    for id in ["out", "before", "running", "late", "edge", "under"] {
        world.event(id, x, kind);
    }
    world.event("lifted", x, EventKind::Lift);
    world.series("out", "network.egress_bytes", 0..end, burst(x + 5, x + 15));
    // A company leaving the platform: the same egress, no event.
    world.series("migration", "network.egress_bytes", 0..end, burst(x + 5, x + 15));
    // Egress that ended before the event.
    world.series("before", "network.egress_bytes", 0..end, burst(x - 15, x - w - 1));
    // Egress under way before the event: flagged from the event's day, not before.
    world.series("running", "network.egress_bytes", 0..end, burst(x - 10, x + 5));
    // After the event's window, and straddling its end.
    world.series("late", "network.egress_bytes", 0..end, burst(x + within + 1, x + within + 10));
    world.series("edge", "network.egress_bytes", 0..end, burst(x + within - w - 1, x + within + 5));
    // After a lift, which is no reason to watch egress.
    world.series("lifted", "network.egress_bytes", 0..end, burst(x + 5, x + 15));
    // Just under: 99 % of the threshold in every window.
    world.series("under", "network.egress_bytes", 0..end, |_| 0.99 * daily_threshold(c));
    let s = world.scanner().await;
    let h = hits(&s, &p).await;

    assert_eq!(days(&h, "out"), (x + 5 + w - 1..=x + 15).collect::<Vec<_>>());
    check(&s, &p, hit_on(&h, "out", x + 5 + w - 1), &[measured_at(c, on)]).await;
    assert_eq!(days(&h, "running"), (x..=x + 5).collect::<Vec<_>>());
    assert_eq!(days(&h, "edge"), (x + within - 2..=x + within).collect::<Vec<_>>(), "the last day is {within} days after the event");
    for quiet in ["migration", "before", "late", "lifted", "under"] {
        assert_eq!(days(&h, quiet), Vec::<i64>::new(), "{quiet}");
    }
}

#[tokio::test]
async fn biometric_sweep() {
    let p = policy("biometric-sweep");
    let c = cond(&p, "ai.face_transactions", Measure::Rate);
    let grant = p.policy.without_approval.clone().expect("the policy names its approval");
    let w = i64::from(c.window_days);
    let on = onset_level(c);
    let (start, end) = (20, 70);
    let step = move |d: i64| if d >= start { on } else { TRICKLE * on };
    let granted = start + w + 5;
    let mut world = World::default();
    for (id, sector) in [
        ("police", Sector::LawEnforcement),
        ("late", Sector::LawEnforcement),
        ("approved", Sector::LawEnforcement),
        ("other", Sector::LawEnforcement),
        ("idv", Sector::Commercial),
        ("under", Sector::LawEnforcement),
    ] {
        world.tenant(id, None, sector);
    }
    world.approve("late", &grant, Some(granted));
    world.approve("approved", &grant, None);
    world.approve("other", "speaker-recognition", None);
    world.approve("idv", &grant, None);
    for id in ["police", "late", "approved", "other", "idv"] {
        world.series(id, "ai.face_transactions", 0..end, step);
    }
    world.series("under", "ai.face_transactions", 0..end, |_| 0.99 * daily_threshold(c));
    let s = world.scanner().await;
    let h = hits(&s, &p).await;

    let expected: Vec<i64> = (start + w - 1..end).collect();
    assert_eq!(days(&h, "police"), expected);
    check(&s, &p, hit_on(&h, "police", start + w - 1), &[measured_at(c, on)]).await;
    assert_eq!(days(&h, "other"), expected, "another grant is not this one");
    assert_eq!(days(&h, "late"), (start + w - 1..granted).collect::<Vec<_>>(), "until the approval's first day");
    assert!(!p.applies_to("commercial"));
    for quiet in ["approved", "idv", "under"] {
        assert_eq!(days(&h, quiet), Vec::<i64>::new(), "{quiet}");
    }
}

#[tokio::test]
async fn analytics_vendor() {
    let p = policy("analytics-vendor");
    let spend = cond(&p, "marketplace.publisher_cost", Measure::Growth);
    let rate = cond(&p, "marketplace.publisher_cost", Measure::Rate);
    let stored = cond(&p, "storage.stored_bytes", Measure::Growth);
    let n = i64::from(spend.window_days.max(stored.window_days));
    let start = n + 10;
    let end = start + n + 20;
    let (ks, kb) = (growth_step(spend), growth_step(stored));
    let base = 1.05 * daily_threshold(rate);
    let bytes = 200e12;
    let step = move |f: f64, level: f64| move |d: i64| if d >= start { level * f } else { level };
    let mut world = World::default();
    for (id, sector) in [
        ("vendor", Sector::Immigration),
        ("flat-spend", Sector::Immigration),
        ("cheap", Sector::Immigration),
        ("flat-storage", Sector::Immigration),
        ("co", Sector::Commercial),
        ("database", Sector::Immigration),
    ] {
        world.tenant(id, None, sector);
    }
    let mut both = |id: &str, spend_step: f64, spend_level: f64, storage_step: f64| {
        world.series(id, "marketplace.publisher_cost", 0..end, step(spend_step, spend_level));
        world.series(id, "storage.stored_bytes", 0..end, step(storage_step, bytes));
    };
    both("vendor", ks, base, kb);
    // Each condition just under while the others hold.
    both("flat-spend", growth_under(spend), base, kb);
    both("cheap", ks, 0.99 * daily_threshold(rate) / ks, kb);
    both("flat-storage", ks, base, growth_under(stored));
    both("co", ks, base, kb);
    // A marketplace database growing with the business (+3 % a month) beside storage growing fast.
    let monthly = 1.03f64.ln() / 30.0;
    world.series("database", "marketplace.publisher_cost", 0..end, move |d| 10.0 * base * (monthly * d as f64).exp());
    world.series("database", "storage.stored_bytes", 0..end, step(2.0 * kb, bytes));
    let s = world.scanner().await;
    let h = hits(&s, &p).await;

    let vendor = days(&h, "vendor");
    assert_eq!(vendor.first(), Some(&(start + 6)), "{vendor:?}");
    assert!(vendor.iter().all(|d| *d < start + n + 6), "{vendor:?}");
    check(&s, &p, hit_on(&h, "vendor", start + 6), &[ks, base * ks, kb]).await;
    assert!(!p.applies_to("commercial"));
    for quiet in ["flat-spend", "cheap", "flat-storage", "co", "database"] {
        assert_eq!(days(&h, quiet), Vec::<i64>::new(), "{quiet}");
    }
}

/// The baseline detector over every day, checked against a scan of each single day: a one-day scan reads only the
/// `LOOKBACK` days before it and asks for what lies further back, and must report exactly what the walk reports.
async fn surges(scanner: &Scanner) -> Vec<(Hit, baseline::Trigger)> {
    let all = baseline::surges(scanner, None).await.expect("the detector runs");
    let last = scanner.last_day().await.expect("the series reads").expect("the series has days");
    for day in day0()..=last + 1 {
        let one = baseline::surges(scanner, Some((day, day))).await.expect("the detector runs on one day");
        let expected: Vec<(Hit, baseline::Trigger)> = all.iter().filter(|h| h.0.day == day).cloned().collect();
        assert_eq!(one, expected, "day {}: one-day scan against the every-day walk", day - day0());
    }
    all
}

/// The baseline detector's weekly floor for a signal.
fn floor(signal: &str) -> f64 {
    baseline::SIGNALS.iter().find(|s| s.0 == signal).map(|s| s.1).unwrap_or_else(|| panic!("{signal} is not watched"))
}

/// A deterministic wobble of ±10 % around 1.
fn wobble(d: i64) -> f64 {
    1.0 + 0.2 * ((d * 37 % 11) as f64 / 10.0 - 0.5)
}

/// A split operation surges at its parent while no sub-account does: new sub-accounts, each too young for a
/// baseline or a first use, join four steady ones. The parent is found with the organisation's series as evidence;
/// its twin, a CI parent whose sub-accounts are replaced every day at a steady total, is not, nor is a parent whose
/// one sub-account surges (that account's finding says it).
#[tokio::test]
async fn baseline_surge_of_a_parent() {
    let signal = "ai.speech_seconds";
    let part = floor(signal) / 7.0;
    let history = baseline::HISTORY as i64;
    let (start, end) = (history + 40, history + 70);
    let mut world = World::default();
    world.tenant("op", None, Sector::Intelligence);
    for k in 0..4 {
        let id = format!("op-{k}");
        world.tenant(&id, Some("op"), Sector::Intelligence);
        world.billed("bill-op", &id, signal, 0..end, move |d| part * wobble(d + k));
    }
    // From `start`, six new unregistered sub-accounts, each carrying what a steady one does, replaced every 10 days.
    for r in (start..end).step_by(10) {
        for k in 0..6 {
            world.billed("bill-op", &format!("op-new-{r}-{k}"), signal, r..(r + 10).min(end), move |d| part * wobble(d + k));
        }
    }
    // The twin: ten CI sub-accounts a day, each for one day, at a steady total of twice the operation's before.
    world.tenant("ci", None, Sector::Intelligence);
    for d in 0..end {
        for k in 0..10 {
            world.billed("bill-ci", &format!("ci-{d}-{k}"), signal, d..d + 1, move |d| 0.8 * part * wobble(d + k));
        }
    }
    // One sub-account surging alone under its parent.
    world.tenant("unit", None, Sector::Intelligence).tenant("unit-1", Some("unit"), Sector::Intelligence);
    world.series("unit-1", signal, 0..end, move |d| 4.0 * part * wobble(d) * if d >= start { 4.0 } else { 1.0 });
    let s = world.scanner().await;
    let found = surges(&s).await;

    let named: std::collections::BTreeSet<&str> = found.iter().map(|(h, _)| h.account_id.as_str()).collect();
    assert_eq!(named, ["op", "unit-1"].into(), "{found:?}");
    let (hit, trigger) = found.iter().find(|(h, _)| h.account_id == "op").expect("the operation");
    assert_eq!((trigger.kind, trigger.scope), (baseline::Kind::Surge, detect::policy::Scope::Parent));
    assert!(hit.day - day0() >= start && hit.day - day0() < start + 7, "{hit:?}");
    assert!(hit.values[0] >= baseline::MIN_RATIO, "{hit:?}");
    let f = baseline::finding(&s, hit, *trigger).await.expect("a finding");
    assert_eq!((f.scope, f.policy.id.as_str()), (detect::policy::Scope::Parent, baseline::ID));
    assert!(f.title.contains("organisation"), "{}", f.title);
    let last = f.evidence[0].points.last().expect("evidence");
    assert!(close(last.1, (0..4).chain(0..6).map(|k| part * wobble(hit.day - day0() + k)).sum()), "the parent's sum that day: {last:?}");
}

#[tokio::test]
async fn baseline_surge() {
    let signal = "ai.speech_seconds";
    let daily = 2.0 * floor(signal) / 7.0;
    let jump = 4.0;
    assert!(jump >= baseline::MIN_RATIO);
    let history = baseline::HISTORY as i64;
    let start = history + 40;
    let end = start + 30;
    let surge = move |level: f64| move |d: i64| level * wobble(d) * if d >= start { jump } else { 1.0 };
    let mut world = World::default();
    for (id, sector) in
        [("mil", Sector::Military), ("co", Sector::Commercial), ("small", Sector::Military), ("growing", Sector::Military), ("young", Sector::Military)]
    {
        world.tenant(id, None, sector);
    }
    assert!(baseline::SECTORS.contains(&"military") && !baseline::SECTORS.contains(&"commercial"));
    world.series("mil", signal, 0..end, surge(daily));
    world.series("co", signal, 0..end, surge(daily));
    // Below the floor even after the jump.
    world.series("small", signal, 0..end, surge(0.9 * floor(signal) / 7.0 / jump));
    // Steady growth, +5 % a week, is its own baseline.
    world.series("growing", signal, 0..end, move |d| daily * wobble(d) * (1.05f64.ln() / 7.0 * d as f64).exp());
    // The jump without the history a baseline needs.
    world.series("young", signal, start - history..end, surge(daily));
    // The same jump after months without a row: its history is the quiet months, which a one-day scan does not
    // read (it learns from `before` that the account's rows go back far enough).
    world.tenant("gap", None, Sector::Military);
    world.series("gap", signal, 0..15, surge(daily));
    world.series("gap", signal, start - 20..end, surge(daily));
    let s = world.scanner().await;
    let found = surges(&s).await;

    let mil: Vec<&Hit> = found
        .iter()
        .filter(|(h, _)| h.account_id == "mil")
        .map(|(h, t)| {
            assert_eq!(t.signal, signal);
            h
        })
        .collect();
    let first = mil.first().expect("the jump is a surge");
    assert_eq!(first.values.len(), 2, "fewer than {} military peers: the account's own history decides alone", baseline::MIN_PEERS);
    assert!((start..start + 7).contains(&(first.day - day0())), "within the jump's first week: {first:?}");
    assert!(first.values[0] >= baseline::MIN_RATIO && first.values[1] >= baseline::Z, "{first:?}");
    assert!(mil.iter().all(|h| h.day - day0() < start + 13), "once both weeks compared are past the jump, it is the new level: {mil:?}");
    assert!(found.iter().all(|(h, t)| ["mil", "gap"].contains(&h.account_id.as_str()) && t.kind == baseline::Kind::Surge), "{found:?}");
    assert!(found.iter().any(|(h, _)| h.account_id == "gap" && (start..start + 7).contains(&(h.day - day0()))), "the jump after the gap: {found:?}");
    assert!(s.statements().iter().any(|st| st.label == "before"), "the one-day scans asked for the history before their window");
    let f = baseline::finding(&s, first, baseline::Trigger { signal, kind: baseline::Kind::Surge, scope: detect::policy::Scope::Account })
        .await
        .expect("a finding");
    assert_eq!(
        (f.policy.id.as_str(), f.severity, f.measured[0].value, f.measured[1].threshold),
        (baseline::ID, detect::policy::Severity::Low, first.values[0], baseline::Z)
    );
}

#[tokio::test]
async fn baseline_peers() {
    let signal = "ai.speech_seconds";
    let daily = 2.0 * floor(signal) / 7.0;
    let jump = 2.0;
    assert!(jump >= baseline::MIN_RATIO);
    let start = baseline::HISTORY as i64 + 40;
    let end = start + 30;
    let peers = baseline::MIN_PEERS as i64 + 3;
    let mut world = World::default();
    // A swing the whole sector shares, such as a season: every account doubles the same week.
    for k in 0..=peers {
        let id = format!("season-{k}");
        world.tenant(&id, None, Sector::Military);
        world.series(&id, signal, 0..end, move |d| daily * wobble(d + 3 * k) * if d >= start { jump } else { 1.0 });
    }
    // One account of a sector doubling while its peers stay level.
    for k in 0..peers {
        let id = format!("level-{k}");
        world.tenant(&id, None, Sector::Intelligence);
        world.series(&id, signal, 0..end, move |d| daily * wobble(d + 3 * k));
    }
    world.tenant("lone", None, Sector::Intelligence);
    world.series("lone", signal, 0..end, move |d| daily * wobble(d) * if d >= start { jump } else { 1.0 });
    // A peer back from months without a row just before the surge: a one-day scan sees its rows start days before
    // and must learn from `before` that it has the two weeks a peer needs.
    world.tenant("back", None, Sector::Intelligence);
    world.series("back", signal, 0..15, move |d| daily * wobble(d));
    world.series("back", signal, start - 5..end, move |d| daily * wobble(d));
    // A peer that stopped days before the surge: it had the signal that fortnight, so it counts, although it has no
    // row on the day (whether it has rows later must not matter: a day is judged on what was known then).
    world.tenant("gone", None, Sector::Intelligence);
    world.series("gone", signal, 0..start - 3, move |d| daily * wobble(d));
    let s = world.scanner().await;
    let found = surges(&s).await;

    let season = baseline::surges_in(&(0..end).map(|d| (d, daily * wobble(d) * if d >= start { jump } else { 1.0 })).collect::<Vec<_>>(), floor(signal));
    assert!(!season.is_empty(), "each account alone would be a surge against its own history");
    let named: std::collections::BTreeSet<&str> = found.iter().map(|(h, _)| h.account_id.as_str()).collect();
    assert_eq!(named, ["back", "lone"].into(), "coming back after months at volume is a surge too: {found:?}");
    let (first, trigger) = found.iter().find(|(h, _)| h.account_id == "lone").expect("lone surges");
    assert!((start..start + 7).contains(&(first.day - day0())), "{first:?}");
    let [ratio, z, peer_z, n, peer_ratio] = first.values[..] else { panic!("a peer group of {peers}: {first:?}") };
    assert!(ratio >= baseline::MIN_RATIO && z >= baseline::Z && peer_z >= baseline::Z_PEER, "{first:?}");
    assert_eq!(n, peers as f64 + 2.0, "the level accounts, the one back and the one gone");
    assert!((peer_ratio - 1.0).abs() < 0.1, "the peers are level: {peer_ratio}");
    let f = baseline::finding(&s, first, *trigger).await.expect("a finding");
    assert_eq!(f.measured.len(), 3);
    assert_eq!((f.measured[2].value, f.measured[2].threshold), (peer_z, baseline::Z_PEER));
}

#[tokio::test]
async fn baseline_first_use() {
    let signal = "ai.speech_seconds";
    let fl = floor(signal);
    let start = baseline::HISTORY as i64 + 30;
    let end = start + 30;
    let mut world = World::default();
    for (id, sector) in [
        ("est", Sector::Military),
        ("new", Sector::Military),
        ("slow", Sector::Military),
        ("co", Sector::Commercial),
        ("back", Sector::Military),
        ("recent", Sector::Military),
    ] {
        world.tenant(id, None, sector);
    }
    // Established accounts: storage since day 0 (`recent` only since shortly before the speech starts).
    for id in ["est", "new", "slow", "co", "back"] {
        if id != "new" {
            world.series(id, "storage.stored_bytes", 0..end, |_| 1e12);
        }
    }
    world.series("recent", "storage.stored_bytes", start - baseline::HISTORY as i64 + 1..end, |_| 1e12);
    let speech = move |per_day: f64| move |d: i64| if d >= start { per_day } else { 0.0 };
    // Starts at 40 % of the weekly floor a day: the floor is passed on the third day.
    world.series("est", signal, start..end, speech(fl / 2.5));
    world.series("recent", signal, start..end, speech(fl / 2.5));
    world.series("co", signal, start..end, speech(fl / 2.5));
    // A new account: its first signal is this one.
    world.series("new", signal, start..end, speech(fl / 2.5));
    // A first week under the floor.
    world.series("slow", signal, start..end, speech(fl / 20.0));
    // Used before, then resumed: its own history has the signal.
    world.series("back", signal, 0..end, move |d| if d < 20 || d >= start { fl / 2.5 } else { 0.0 });
    let s = world.scanner().await;
    let found = surges(&s).await;

    assert!(s.statements().iter().any(|st| st.label == "before"), "the one-day scans asked for the history before their window");
    let (first, surges): (Vec<_>, Vec<_>) = found.iter().partition(|(_, t)| t.kind == baseline::Kind::FirstUse);
    assert!(
        !surges.is_empty() && surges.iter().all(|(h, _)| h.account_id == "back"),
        "resuming after months of nothing is a surge, not a first use: {surges:?}"
    );
    assert_eq!(first.len(), 1, "{first:?}");
    let (hit, trigger) = first[0];
    assert_eq!(
        (hit.account_id.as_str(), hit.day - day0(), *trigger),
        ("est", start + 2, baseline::Trigger { signal, kind: baseline::Kind::FirstUse, scope: detect::policy::Scope::Account })
    );
    assert!(close(hit.values[0], 3.0 * fl / 2.5) && hit.values[1] == start as f64, "{hit:?}");
    let f = baseline::finding(&s, hit, *trigger).await.expect("a finding");
    assert_eq!((f.policy.id.as_str(), f.severity), (baseline::FIRST_USE_ID, detect::policy::Severity::Low));
    assert_eq!((f.measured[0].threshold, f.measured[1].threshold), (fl, baseline::HISTORY as f64));
}

/// Structuring below the record's scale: a parent far above what its sector's other parents ever reach is found,
/// whichever of its sub-accounts carry the volume; its twins (loud peers, a level under the floor, a sector not
/// watched, one operation among quiet peers not hiding another) are not.
#[tokio::test]
async fn peer_parent() {
    use detect::peers;
    let hour = 3600.0 * 24.0;
    let (start, end) = (20, 60);
    let mut world = World::default();
    // Six quiet intelligence organisations transcribing 10 to 60 audio hours an hour, each with one sub-account.
    for k in 0..6 {
        let (org, sub) = (format!("quiet-{k}"), format!("quiet-{k}-1"));
        world.tenant(&org, None, Sector::Intelligence).tenant(&sub, Some(&org), Sector::Intelligence);
        world.series(&sub, "ai.speech_seconds", 0..end, move |_| (10.0 + 10.0 * k as f64) * hour);
    }
    // The operation: 1,500 audio hours an hour over ten parts from day 20, two of them rotating unregistered
    // sub-accounts under the organisation's billing account.
    world.tenant("op", None, Sector::Intelligence);
    for k in 0..8 {
        let id = format!("op-{k}");
        world.tenant(&id, Some("op"), Sector::Intelligence);
        world.billed("bill-op", &id, "ai.speech_seconds", 0..end, move |d| if d >= start { 150.0 * hour } else { 0.0 });
    }
    for r in (start..end).step_by(10) {
        for k in 0..2 {
            world.billed("bill-op", &format!("op-cell-{r}-{k}"), "ai.speech_seconds", r..r + 10, |_| 150.0 * hour);
        }
    }
    // A second operation, ten times louder, in the same sector: a peer the pack already finds is no yardstick, so
    // it does not hide the first.
    world.tenant("loud-op", None, Sector::Intelligence).tenant("loud-op-1", Some("loud-op"), Sector::Intelligence);
    world.series("loud-op-1", "ai.speech_seconds", 0..end, |_| 15_000.0 * hour);
    // Twins: a government parent at 600 (under ten times the floor); the same operation among law-enforcement
    // peers that typically transcribe 500 (a contact-centre-heavy sector); and in a commercial parent.
    world.tenant("dept", None, Sector::Government).tenant("dept-1", Some("dept"), Sector::Government);
    world.series("dept-1", "ai.speech_seconds", 0..end, |_| 600.0 * hour);
    for k in 0..6 {
        let (org, sub) = (format!("police-{k}"), format!("police-{k}-1"));
        world.tenant(&org, None, Sector::LawEnforcement).tenant(&sub, Some(&org), Sector::LawEnforcement);
        world.series(&sub, "ai.speech_seconds", 0..end, |_| 500.0 * hour);
    }
    world.tenant("busy-police", None, Sector::LawEnforcement).tenant("busy-police-1", Some("busy-police"), Sector::LawEnforcement);
    world.series("busy-police-1", "ai.speech_seconds", 0..end, move |d| if d >= start { 1500.0 * hour } else { 0.0 });
    world.tenant("media", None, Sector::Commercial).tenant("media-1", Some("media"), Sector::Commercial);
    world.series("media-1", "ai.speech_seconds", 0..end, |_| 5000.0 * hour);
    let s = world.scanner().await;

    let all = peers::hits(&s, None).await.unwrap();
    let on = |who: &str| all.iter().filter(|h| h.0.account_id == who).map(|h| h.0.day).collect::<Vec<_>>();
    // 1,500 × d/7 reaches 1,000 (ten times the floor, above ten times the quiet peers' median) on the 5th day.
    let d0 = day0();
    assert_eq!(on("op"), (d0 + start + 4..d0 + end).collect::<Vec<_>>());
    let h = all.iter().find(|h| h.0.account_id == "op").unwrap();
    assert!((h.0.values[0] - 1500.0 * hour * 5.0 / 7.0).abs() < 1.0, "{:?}", h.0.values);
    assert_eq!(h.0.values[2], 6.0, "six quiet peers; the loud operation is a finding of the pack, not a yardstick");
    let named: std::collections::BTreeSet<&str> = all.iter().map(|h| h.0.account_id.as_str()).collect();
    assert_eq!(named, ["loud-op", "op"].into(), "{named:?}");
    // A scan of one day finds that day's hits with the same values.
    for day in [start + 3, start + 4, end - 1].map(|d| d0 + d) {
        let one = peers::hits(&s, Some((day, day))).await.unwrap();
        let want: Vec<_> = all.iter().filter(|h| h.0.day == day).cloned().collect();
        assert_eq!(one, want, "day {day}");
    }
    let f = peers::finding(&s, &h.0, h.1).await.unwrap();
    assert_eq!((f.policy.id.as_str(), f.scope), (peers::ID, detect::policy::Scope::Parent));
    assert_eq!(f.evidence[0].points.len(), 25, "the parent's days of the last 30, from its first (day 0)");
    assert_eq!(f.evidence[0].points.last().unwrap().1, 1500.0 * hour, "the sum of its sub-accounts that day");
}
