//! The simulated population: organisations (billing accounts) and their sub-accounts, each with a workload, plus
//! the scenario tenants calibrated on the public record and the hard negatives that resemble them.
//!
//! Figures are the public record's (`../shared/reference/public-record.md`) where it has one; every other figure is
//! an assumption, stated where it is set and repeated in the labels.

use std::collections::HashSet;

use chrono::{Datelike, Duration, NaiveDate, TimeZone, Utc};
use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use registry::{Approval, Event, EventKind, Events, Registry, Sector, Tenant};

use crate::labels::{Label, Labels};
use crate::meters::Signal;
use crate::usage::{Amounts, Levels, TB, guid, ramp, rng};
use crate::{Cloud, Config, GENERATOR, Providers, SimError};

/// Mean call length assumed for the interception pipeline (public record: "a million calls an hour").
pub const CALL_MINUTES: f64 = 2.0;
/// Calls an hour at the interception pipeline's full rate.
pub const CALLS_PER_HOUR: f64 = 1_000_000.0;
/// Stored bytes per audio hour: 11,500 TB over "approximately 200m hours of audio" (public record, derived).
pub const BYTES_PER_AUDIO_HOUR: f64 = 57.5e6;
/// Characters of transcript per audio hour: 150 words a minute × 6 characters (assumption).
pub const CHARS_PER_AUDIO_HOUR: f64 = 54_000.0;
/// Audio hours a day at which an interception signature counts as observable: 2,500 audio hours an hour (75,000
/// two-minute calls an hour), ten times the largest contact centre simulated, and above what each of the 20
/// structuring sub-accounts carries (1,667), so "each under any per-account threshold" holds at this level.
pub const OBSERVABLE_SPEECH_HOURS_PER_DAY: f64 = 60_000.0;

/// The workload an account is simulated as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A web application.
    WebApp,
    /// Software as a service.
    Saas,
    /// Data analytics.
    Analytics,
    /// ML training on GPUs.
    MlTraining,
    /// Backup and archival.
    BackupArchive,
    /// Media streaming.
    MediaStreaming,
    /// Genomics.
    Genomics,
    /// Hard negative: transcribes and translates customer calls at scale, keeps 90 days.
    ContactCentre,
    /// Hard negative: a state-owned broadcaster digitising its archive; storage grows steeply.
    BroadcasterArchive,
    /// Hard negative: a health agency running OCR and translation on documents.
    HealthDocuments,
    /// Hard negative: a university language lab (speech and translation in term time).
    LanguageLab,
    /// Hard negative: a company moving off the platform, with large legitimate egress.
    Migration,
    /// Hard negative: identity verification with face matching, under an approval.
    IdentityVerification,
    /// Hard-negative twin of structuring's rotation: a government build farm whose sub-accounts live a day each.
    CiRotation,
    /// Hard-negative twin of structuring's split: a public broadcaster's regional accounts, each large for honest
    /// reasons (archive, subtitles, streaming).
    RegionalMedia,
    /// Hard-negative twin of structuring's spread: a government department's storage over many agencies'
    /// subscriptions.
    AgencyStorage,
    /// Scenario `archive-surge`.
    ArchiveSurge,
    /// Scenario `interception-pipeline`.
    Interception,
    /// Scenario `exodus`.
    Exodus,
    /// Scenario `structuring` (one of the sub-accounts).
    Structuring,
    /// Scenario `biometric-sweep`.
    BiometricSweep,
    /// Scenario `analytics-vendor`.
    AnalyticsVendor,
}

impl Kind {
    /// The name written in labels.
    pub fn name(self) -> &'static str {
        match self {
            Kind::WebApp => "web-app",
            Kind::Saas => "saas",
            Kind::Analytics => "analytics",
            Kind::MlTraining => "ml-training",
            Kind::BackupArchive => "backup-archive",
            Kind::MediaStreaming => "media-streaming",
            Kind::Genomics => "genomics",
            Kind::ContactCentre => "contact-centre",
            Kind::BroadcasterArchive => "broadcaster-archive",
            Kind::HealthDocuments => "health-documents",
            Kind::LanguageLab => "language-lab",
            Kind::Migration => "migration",
            Kind::IdentityVerification => "identity-verification",
            Kind::CiRotation => "ci-rotation",
            Kind::RegionalMedia => "regional-media",
            Kind::AgencyStorage => "agency-storage",
            Kind::ArchiveSurge => "archive-surge",
            Kind::Interception => "interception-pipeline",
            Kind::Exodus => "exodus",
            Kind::Structuring => "structuring",
            Kind::BiometricSweep => "biometric-sweep",
            Kind::AnalyticsVendor => "analytics-vendor",
        }
    }

    /// Hard negatives: benign, but like surveillance in one signal.
    pub fn hard_negative(self) -> bool {
        matches!(
            self,
            Kind::ContactCentre
                | Kind::BroadcasterArchive
                | Kind::HealthDocuments
                | Kind::LanguageLab
                | Kind::Migration
                | Kind::IdentityVerification
                | Kind::CiRotation
                | Kind::RegionalMedia
                | Kind::AgencyStorage
        )
    }

    const HARD: [Kind; 6] =
        [Kind::ContactCentre, Kind::BroadcasterArchive, Kind::HealthDocuments, Kind::LanguageLab, Kind::Migration, Kind::IdentityVerification];
}

/// A billing account: one customer organisation.
#[derive(Debug, Clone)]
pub struct Org {
    /// `BillingAccountId`.
    pub id: String,
    /// `BillingAccountName`.
    pub name: String,
    /// Sector.
    pub sector: Sector,
    /// ISO 3166-1 alpha-2.
    pub country: &'static str,
    /// The cloud it is on.
    pub cloud: Cloud,
    /// Its sub-accounts (indexes into [`Population::accounts`]).
    pub accounts: Vec<usize>,
    /// The scenario it is the labelled subject of (structuring parents).
    pub scenario: Option<Truth>,
    /// The id the registry names it by, when that is not its billing account (a ministry recorded as an
    /// organisation, billed through a billing account of its own).
    pub registry_id: Option<String>,
    /// The hard-negative twin it is, for organisations that are one.
    pub twin: Option<Kind>,
}

/// A scenario's truth for one labelled account.
#[derive(Debug, Clone)]
pub struct Truth {
    /// The scenario name.
    pub scenario: &'static str,
    /// Day index of onset.
    pub onset: u32,
    /// Day index of the first observable day (None: not within the simulated days).
    pub observable: Option<u32>,
    /// The assumptions, in words.
    pub assumptions: String,
}

/// A sub-account.
#[derive(Debug, Clone)]
pub struct Account {
    /// `SubAccountId`.
    pub id: String,
    /// `SubAccountName`.
    pub name: String,
    /// Its organisation.
    pub org: usize,
    /// The workload.
    pub kind: Kind,
    /// Sector (usually the organisation's).
    pub sector: Sector,
    /// Declared purposes.
    pub purposes: Vec<String>,
    /// Grants.
    pub approvals: Vec<Approval>,
    /// Expected usage.
    pub levels: Levels,
    /// Daily noise (log-normal sigma).
    pub noise: f64,
    /// The marketplace publisher it buys from.
    pub publisher: &'static str,
    /// The scenario truth, for scenario accounts.
    pub truth: Option<Truth>,
    /// The labelled parent, for structuring sub-accounts.
    pub part_of: Option<String>,
    /// Whether the registry lists it (a sub-account created after the registry was written is not there).
    pub registered: bool,
}

/// The whole population, with its events.
#[derive(Debug, Clone)]
pub struct Population {
    /// Organisations.
    pub orgs: Vec<Org>,
    /// Sub-accounts.
    pub accounts: Vec<Account>,
    /// Enforcement-relevant events.
    pub events: Vec<Event>,
}

const COUNTRIES: [&str; 20] = ["US", "GB", "DE", "FR", "NL", "IE", "SE", "IL", "IN", "JP", "BR", "CA", "AU", "SG", "ZA", "ES", "IT", "PL", "KR", "MX"];
const NAME_A: [&str; 24] = [
    "Northwind",
    "Contoso",
    "Fabrikam",
    "Tailspin",
    "Woodgrove",
    "Litware",
    "Adatum",
    "Proseware",
    "Lucerne",
    "Wingtip",
    "Alpine",
    "Coho",
    "Humongous",
    "Relecloud",
    "Trey",
    "VanArsdel",
    "Wide World",
    "Blue Yonder",
    "Graphic",
    "Southridge",
    "Datum",
    "Fourth Coffee",
    "Lamna",
    "Munson",
];
const NAME_B: [&str; 20] = [
    "Traders",
    "Bank",
    "Health",
    "Labs",
    "Media",
    "Logistics",
    "Analytics",
    "Systems",
    "Energy",
    "Retail",
    "Foods",
    "Insurance",
    "Games",
    "Airlines",
    "Motors",
    "Pharma",
    "Studios",
    "Networks",
    "Robotics",
    "Holdings",
];
const FUNCTIONS: [&str; 10] = ["Production", "Staging", "Data Platform", "Web", "Analytics", "Research", "Shared Services", "Backup", "ML", "Finance"];
/// Benign marketplace publishers (no sensitive-data analytics among them).
const VENDORS: [&str; 6] = ["Elastic N.V.", "MongoDB, Inc.", "Datadog, Inc.", "Snowflake Inc.", "Red Hat Inc.", "Confluent, Inc."];
/// The data-analytics vendor of the `analytics-vendor` scenario (fictitious).
pub const ANALYTICS_VENDOR: &str = "Northbridge Data Analytics, Inc.";

fn amounts(pairs: &[(Signal, f64)]) -> Amounts {
    let mut a = [0.0; 11];
    for (s, v) in pairs {
        a[s.index()] = *v;
    }
    a
}

fn lognormal(r: &mut ChaCha8Rng, median: f64, sigma: f64) -> f64 {
    let z: f64 = StandardNormal.sample(r);
    median * (sigma * z).exp()
}

/// (signal, probability of use, median daily amount, log sigma) per benign workload.
fn benign_uses(kind: Kind) -> &'static [(Signal, f64, f64, f64)] {
    use Signal::*;
    match kind {
        Kind::WebApp => &[
            (VmHours, 1.0, 96.0, 1.0),
            (Egress, 1.0, 2e11, 1.3),
            (Storage, 1.0, 2.0 * TB, 1.3),
            (LlmTokens, 0.3, 2e7, 1.5),
            (Search, 0.15, 5e3, 1.2),
            (Translation, 0.1, 5e6, 1.5),
        ],
        Kind::Saas => &[
            (VmHours, 1.0, 480.0, 1.0),
            (Egress, 1.0, 1e12, 1.2),
            (Storage, 1.0, 20.0 * TB, 1.2),
            (LlmTokens, 0.5, 1e8, 1.5),
            (Search, 0.4, 5e4, 1.2),
            (Translation, 0.2, 5e7, 1.5),
            (Ocr, 0.15, 2e4, 1.2),
            (Speech, 0.1, 2e5, 1.0),
            (Face, 0.05, 5e4, 1.0),
            (Marketplace, 0.3, 300.0, 1.0),
        ],
        Kind::Analytics => {
            &[(VmHours, 1.0, 1000.0, 1.0), (Storage, 1.0, 80.0 * TB, 1.2), (Egress, 1.0, 3e11, 1.2), (Marketplace, 0.4, 500.0, 1.0), (LlmTokens, 0.2, 5e7, 1.5)]
        }
        Kind::MlTraining => {
            &[(GpuHours, 1.0, 200.0, 1.0), (VmHours, 1.0, 200.0, 1.0), (Storage, 1.0, 60.0 * TB, 1.0), (Egress, 1.0, 1e11, 1.0), (LlmTokens, 0.3, 2e8, 1.5)]
        }
        Kind::BackupArchive => &[(Storage, 1.0, 300.0 * TB, 1.2), (VmHours, 1.0, 24.0, 0.5), (Egress, 1.0, 2e10, 1.0)],
        Kind::MediaStreaming => &[
            (Egress, 1.0, 60.0 * TB, 1.0),
            (Storage, 1.0, 400.0 * TB, 1.0),
            (VmHours, 1.0, 600.0, 1.0),
            (Speech, 0.3, 1.8e6, 1.0),
            (Translation, 0.3, 2e8, 1.0),
        ],
        Kind::Genomics => &[(Storage, 1.0, 400.0 * TB, 1.0), (VmHours, 1.0, 3000.0, 0.8), (GpuHours, 0.3, 100.0, 1.0), (Egress, 1.0, 2e12, 1.0)],
        _ => &[],
    }
}

/// Yearly growth (mean, sd) per benign workload.
fn benign_growth(kind: Kind) -> (f64, f64) {
    match kind {
        Kind::WebApp => (0.15, 0.2),
        Kind::Saas => (0.25, 0.25),
        Kind::Analytics => (0.2, 0.2),
        Kind::MlTraining => (0.3, 0.3),
        Kind::BackupArchive => (0.25, 0.1),
        Kind::MediaStreaming => (0.15, 0.15),
        Kind::Genomics => (0.4, 0.2),
        _ => (0.0, 0.0),
    }
}

fn interactive(kind: Kind) -> bool {
    matches!(kind, Kind::WebApp | Kind::Saas | Kind::ContactCentre | Kind::HealthDocuments | Kind::IdentityVerification)
}

fn benign_levels(r: &mut ChaCha8Rng, kind: Kind) -> Levels {
    let (g_mean, g_sd) = benign_growth(kind);
    let yearly: f64 = (g_mean + g_sd * <StandardNormal as Distribution<f64>>::sample(&StandardNormal, r)).max(-0.5);
    let mut base = [0.0; 11];
    let mut growth = [0.0; 11];
    for &(s, p, median, sigma) in benign_uses(kind) {
        if r.random::<f64>() < p {
            base[s.index()] = lognormal(r, median, sigma);
            let jitter: f64 = 0.05 * <StandardNormal as Distribution<f64>>::sample(&StandardNormal, r);
            growth[s.index()] = ((1.0 + yearly + jitter).max(0.3)).ln() / 365.0;
        }
    }
    let weekend = if interactive(kind) { 0.55 + 0.35 * r.random::<f64>() } else { 1.0 };
    let duty = (kind == Kind::MlTraining).then(|| {
        let period = r.random_range(14..45u32);
        (r.random_range(3..period / 2 + 4), period, r.random_range(0..period))
    });
    Levels::Trend { base, growth, weekend, duty }
}

/// A curve over the simulated days from a per-day function.
fn curve(days: u32, f: impl Fn(u32) -> Amounts) -> Levels {
    Levels::Curve((0..days).map(f).collect())
}

fn first_day(days: u32, from: u32, test: impl Fn(u32) -> bool) -> Option<u32> {
    (from..days).find(|d| test(*d))
}

/// A day index at `frac` of the period, moved by up to ±`jitter` days per seed, kept inside the period.
fn at(days: u32, frac: f64, jitter: i64, r: &mut ChaCha8Rng) -> u32 {
    let base = (f64::from(days) * frac) as i64 + if jitter > 0 { r.random_range(-jitter..=jitter) } else { 0 };
    base.clamp(0, i64::from(days.saturating_sub(1))) as u32
}

/// Interception: speech-to-text ramping to `scale` × one million 2-minute calls an hour, 5 % of transcripts
/// translated, every recording kept (storage only grows).
fn interception_curve(days: u32, onset: u32, ramp_days: u32, scale: f64) -> Vec<Amounts> {
    let full_hours = CALLS_PER_HOUR * CALL_MINUTES / 60.0 * 24.0 * scale;
    let mut stored = 50.0 * TB * scale;
    (0..days)
        .map(|d| {
            let x = ramp(d, onset, ramp_days);
            let hours = full_hours * x;
            stored += hours * BYTES_PER_AUDIO_HOUR;
            amounts(&[
                (Signal::Speech, hours * 3600.0),
                (Signal::Translation, 0.05 * hours * CHARS_PER_AUDIO_HOUR),
                (Signal::Storage, stored),
                (Signal::VmHours, scale * (500.0 + 4000.0 * x)),
                (Signal::Search, scale * 1e5 * x),
                (Signal::Egress, scale * 5e11),
            ])
        })
        .collect()
}

/// How a structuring operation is split, drawn per seed so that no evaluation fits one shape.
#[derive(Debug, Clone)]
struct Shape {
    /// Each part's share at onset and at the end, each set summing to 1; the share drifts linearly between them.
    shares: Vec<(f64, f64)>,
    /// The part's role: `None` carries every signal of its share; `Some(signal)` carries all of that signal (the
    /// operation's archive or translation desk) and nothing else.
    roles: Vec<Option<Signal>>,
    /// Days a part's sub-account lives before a new one replaces it (`None`: one sub-account for the whole period).
    lifetimes: Vec<Option<u32>>,
    /// The day the shares start drifting from.
    onset: u32,
    /// The simulated days: the shares reach their end values on the last.
    days: u32,
    /// The operation's total as a share of the record's rate (before capping the largest part).
    scale: f64,
    /// Whether the registry names the parent under an id of its own, apart from its billing account.
    named_apart: bool,
}

impl Shape {
    /// Draw a shape with at most `budget` sub-accounts.
    fn draw(r: &mut ChaCha8Rng, days: u32, onset: u32, budget: usize) -> Shape {
        let slots = r.random_range(8..=20usize).min(budget);
        let sigma = r.random_range(0.2..1.0);
        // Clipped, so that no part of six or more carries two thirds of the speech: the operation's total then stays
        // above the parent threshold when its largest part is held under the per-account one.
        let drift = r.random_bool(0.5);
        let draw_shares = |r: &mut ChaCha8Rng| {
            let w: Vec<f64> = (0..slots).map(|_| lognormal(r, 1.0, sigma).clamp(0.3, 3.0)).collect();
            let sum: f64 = w.iter().sum();
            w.into_iter().map(|x| x / sum).collect::<Vec<_>>()
        };
        let start = draw_shares(r);
        let end = if drift { draw_shares(r) } else { start.clone() };
        // Spread: one part holds the archive, one the translation desk; the others transcribe.
        let spread = r.random_bool(0.5);
        let mut roles = vec![None; slots];
        if spread && slots >= 4 {
            roles[0] = Some(Signal::Storage);
            roles[1] = Some(Signal::Translation);
        }
        // Rotation: none, slow (45 to 90 days) or fast (7 to 20 days), on as many parts as the budget allows.
        let lifetime = match r.random_range(0..3) {
            0 => None,
            1 => Some(r.random_range(45..=90u32)),
            _ => Some(r.random_range(7..=20u32)),
        };
        let mut lifetimes = vec![None; slots];
        if let Some(l) = lifetime {
            let per_part = (days.saturating_sub(onset)).div_ceil(l).max(1) as usize;
            let mut left = budget.saturating_sub(slots);
            for life in lifetimes.iter_mut().skip(2) {
                if per_part > left + 1 {
                    break;
                }
                *life = Some(l);
                left -= per_part - 1;
            }
        }
        Shape { shares: start.into_iter().zip(end).collect(), roles, lifetimes, onset, days, scale: r.random_range(0.3..=1.0), named_apart: r.random_bool(0.5) }
    }

    fn slots(&self) -> usize {
        self.shares.len()
    }

    /// The largest share a transcribing part ever has of the operation's speech.
    fn largest_share(&self) -> f64 {
        let speech: Vec<usize> = (0..self.slots()).filter(|i| self.roles[*i].is_none()).collect();
        let sum = |f: fn(&(f64, f64)) -> f64| speech.iter().map(|i| f(&self.shares[*i])).sum::<f64>();
        let (a, b) = (sum(|s| s.0), sum(|s| s.1));
        speech.iter().map(|i| (self.shares[*i].0 / a).max(self.shares[*i].1 / b)).fold(0.0, f64::max)
    }

    /// The days each sub-account of a part lives: `[from, to)`, the first from day 0, the last to the end.
    fn lives(&self, slot: usize, days: u32) -> Vec<(u32, u32)> {
        match self.lifetimes[slot] {
            None => vec![(0, days)],
            Some(l) => {
                let mut out = vec![(0, (self.onset + l).min(days))];
                while out.last().expect("one").1 < days {
                    let from = out.last().expect("one").1;
                    out.push((from, (from + l).min(days)));
                }
                out
            }
        }
    }

    /// A part's usage on a day, from the operation's total that day.
    fn part(&self, slot: usize, day: u32, total: &Amounts) -> Amounts {
        let x = if day <= self.onset { 0.0 } else { f64::from(day - self.onset) / f64::from(self.days.saturating_sub(self.onset).max(1)) };
        let share = |i: usize| self.shares[i].0 + (self.shares[i].1 - self.shares[i].0) * x;
        let mut out = [0.0; 11];
        match self.roles[slot] {
            Some(signal) => out[signal.index()] = total[signal.index()],
            None => {
                // The transcribing parts share what the specialised parts do not carry.
                let speech: Vec<usize> = (0..self.slots()).filter(|i| self.roles[*i].is_none()).collect();
                let w = share(slot) / speech.iter().map(|i| share(*i)).sum::<f64>();
                for s in Signal::ALL {
                    if !self.roles.contains(&Some(s)) {
                        out[s.index()] = total[s.index()] * w;
                    }
                }
            }
        }
        out
    }

    /// The shape in words, for the label's assumptions.
    fn describe(&self) -> String {
        let rotating = self.lifetimes.iter().filter(|l| l.is_some()).count();
        let spread = self.roles.iter().any(Option::is_some);
        let (lo, hi) = self.shares.iter().map(|s| s.0).fold((f64::MAX, 0.0f64), |(lo, hi), x| (lo.min(x), hi.max(x)));
        format!(
            "over {} parts with shares from {:.1} % to {:.1} %{}{}{}{}",
            self.slots(),
            lo * 100.0,
            hi * 100.0,
            if self.shares.iter().any(|s| s.0 != s.1) { ", drifting over the year" } else { "" },
            if rotating > 0 {
                format!(
                    ", {rotating} of them rotating through sub-accounts that live {} days (those created after 60 % of the period not in the registry)",
                    self.lifetimes.iter().flatten().next().expect("one")
                )
            } else {
                String::new()
            },
            if spread { ", one part holding the archive and one the translation" } else { "" },
            if self.named_apart { ", the registry naming the parent apart from its billing account" } else { "" }
        )
    }
}

struct Builder<'a> {
    config: &'a Config,
    r: ChaCha8Rng,
    pop: Population,
    ids: HashSet<String>,
    names: HashSet<String>,
}

impl Builder<'_> {
    fn cloud(&mut self, scenario: Option<Cloud>) -> Cloud {
        match self.config.providers {
            Providers::One(c) => c,
            Providers::Mixed => scenario.unwrap_or_else(|| {
                let u: f64 = self.r.random();
                if u < 0.4 {
                    Cloud::Azure
                } else if u < 0.8 {
                    Cloud::Aws
                } else {
                    Cloud::Gcp
                }
            }),
        }
    }

    fn unique(&mut self, make: impl Fn(&mut ChaCha8Rng) -> String) -> String {
        loop {
            let id = make(&mut self.r);
            if self.ids.insert(id.clone()) {
                return id;
            }
        }
    }

    fn billing_id(&mut self, cloud: Cloud) -> String {
        self.unique(|r| match cloud {
            Cloud::Azure => format!("{}", r.random_range(10_000_000..99_999_999u64)),
            Cloud::Aws => format!("{}", r.random_range(100_000_000_000..999_999_999_999u64)),
            Cloud::Gcp => {
                let h = format!("{:018X}", r.random::<u128>() & ((1u128 << 72) - 1));
                format!("{}-{}-{}", &h[0..6], &h[6..12], &h[12..18])
            }
            // OCI's FOCUS reports carry a numeric BillingAccountId (`7356189`, corpus/sources/oci.md §7).
            Cloud::Oci => format!("{}", r.random_range(1_000_000..9_999_999u64)),
        })
    }

    fn sub_id(&mut self, cloud: Cloud, name: &str) -> String {
        let slug: String = name.to_ascii_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
        let slug = slug.split('-').filter(|s| !s.is_empty()).take(4).collect::<Vec<_>>().join("-");
        // Project ids are at most 30 characters: 23 of name, a dash and six digits.
        let slug = slug[..slug.len().min(23)].trim_end_matches('-').to_string();
        self.unique(|r| match cloud {
            Cloud::Azure => guid(r),
            Cloud::Aws => format!("{}", r.random_range(100_000_000_000..999_999_999_999u64)),
            Cloud::Gcp => format!("{slug}-{}", r.random_range(100_000..999_999u32)),
            // The tenancy OCID is the SubAccountId (corpus/sources/oci.md §7): `ocid1.tenancy.oc1..` and 60 base-32 characters.
            Cloud::Oci => {
                let tail: String = (0..60).map(|_| b"abcdefghijklmnopqrstuvwxyz234567"[r.random_range(0..32usize)] as char).collect();
                format!("ocid1.tenancy.oc1..{tail}")
            }
        })
    }

    fn org_name(&mut self, sector: Sector) -> String {
        loop {
            let name = match sector {
                Sector::Government => format!(
                    "{} {}",
                    ["Ministry of", "Department of", "Office of"].choose(&mut self.r).expect("non-empty"),
                    ["Transport", "Finance", "Education", "Agriculture", "Statistics", "Housing", "Environment"].choose(&mut self.r).expect("non-empty")
                ),
                Sector::LawEnforcement => format!("{} Police Records Office", NAME_A.choose(&mut self.r).expect("non-empty")),
                Sector::Immigration => format!("{} Visa Services Office", NAME_A.choose(&mut self.r).expect("non-empty")),
                Sector::Military => format!("{} Defence Logistics Agency", NAME_A.choose(&mut self.r).expect("non-empty")),
                Sector::Intelligence => format!("{} National Assessments Office", NAME_A.choose(&mut self.r).expect("non-empty")),
                Sector::Academic => format!("University of {}", NAME_A.choose(&mut self.r).expect("non-empty")),
                Sector::Health => format!("{} Health Trust", NAME_A.choose(&mut self.r).expect("non-empty")),
                Sector::Nonprofit => format!("{} Foundation", NAME_A.choose(&mut self.r).expect("non-empty")),
                _ => format!("{} {}", NAME_A.choose(&mut self.r).expect("non-empty"), NAME_B.choose(&mut self.r).expect("non-empty")),
            };
            let name = if self.names.contains(&name) { format!("{name} {}", self.names.len()) } else { name };
            if self.names.insert(name.clone()) {
                return name;
            }
        }
    }

    /// A new organisation on `cloud` (or, for `None`, on a cloud drawn from the configuration).
    fn org(&mut self, name: String, sector: Sector, cloud: Option<Cloud>) -> usize {
        let cloud = self.cloud(cloud);
        let id = self.billing_id(cloud);
        let country = *COUNTRIES.choose(&mut self.r).expect("non-empty");
        self.pop.orgs.push(Org { id, name, sector, country, cloud, accounts: Vec::new(), scenario: None, registry_id: None, twin: None });
        self.pop.orgs.len() - 1
    }

    fn account(&mut self, org: usize, name: &str, kind: Kind, sector: Sector, levels: Levels, purposes: &[&str]) -> usize {
        let cloud = self.pop.orgs[org].cloud;
        let full = format!("{} {name}", self.pop.orgs[org].name);
        // Google project ids read like the project: the organisation's first word and the sub-account's name.
        let first = self.pop.orgs[org].name.split(' ').next().unwrap_or("").to_string();
        let id = self.sub_id(cloud, &format!("{first} {name}"));
        let noise = 0.05 + 0.15 * self.r.random::<f64>();
        let publisher = *VENDORS.choose(&mut self.r).expect("non-empty");
        self.pop.accounts.push(Account {
            id,
            name: full,
            org,
            kind,
            sector,
            purposes: purposes.iter().map(|p| p.to_string()).collect(),
            approvals: Vec::new(),
            levels,
            noise,
            publisher,
            truth: None,
            part_of: None,
            registered: true,
        });
        let i = self.pop.accounts.len() - 1;
        self.pop.orgs[org].accounts.push(i);
        i
    }

    fn benign(&mut self, org: usize, kind: Kind) -> usize {
        let levels = benign_levels(&mut self.r, kind);
        let function = *FUNCTIONS.choose(&mut self.r).expect("non-empty");
        let sector = self.pop.orgs[org].sector;
        let purpose = kind.name().replace('-', " ");
        self.account(org, function, kind, sector, levels, &[&purpose])
    }

    fn benign_kind(&mut self) -> Kind {
        let u: f64 = self.r.random();
        let table = [
            (0.30, Kind::WebApp),
            (0.50, Kind::Saas),
            (0.65, Kind::Analytics),
            (0.73, Kind::MlTraining),
            (0.85, Kind::BackupArchive),
            (0.92, Kind::MediaStreaming),
        ];
        table.iter().find(|(p, _)| u < *p).map_or(Kind::Genomics, |(_, k)| *k)
    }

    fn benign_sector(&mut self) -> Sector {
        let u: f64 = self.r.random();
        let table = [
            (0.72, Sector::Commercial),
            (0.77, Sector::Nonprofit),
            (0.83, Sector::Academic),
            (0.88, Sector::Health),
            (0.91, Sector::Media),
            (0.97, Sector::Government),
            (0.985, Sector::LawEnforcement),
            (0.99, Sector::Immigration),
            (0.997, Sector::Military),
        ];
        table.iter().find(|(p, _)| u < *p).map_or(Sector::Intelligence, |(_, s)| *s)
    }

    fn event(&mut self, account: usize, day: u32, kind: EventKind, services: &[&str], note: &str) {
        let date = self.config.start + Duration::days(i64::from(day));
        self.pop.events.push(Event {
            account_id: self.pop.accounts[account].id.clone(),
            at: Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight")),
            kind,
            services: services.iter().map(|s| s.to_string()).collect(),
            note: note.to_string(),
            extra: Default::default(),
        });
    }

    /// The six scenarios, each in its own organisation with benign siblings.
    fn scenarios(&mut self) {
        let days = self.config.days;
        // archive-surge: about 400 TB to about 1,400 TB in 184 days (×3.5, +23 % a month; public record), with VM
        // hours and AI search, translation and vision growing alongside.
        let org = self.org("Federal Immigration Enforcement Agency".into(), Sector::Immigration, Some(Cloud::Azure));
        let onset = at(days, 0.35, 10, &mut self.r);
        let g = 3.5f64.ln() / 184.0;
        let f = move |d: u32| {
            if d < onset {
                1.0 + 0.0003 * f64::from(d)
            } else {
                (1.0 + 0.0003 * f64::from(onset)) * (g * f64::from((d - onset).min(184))).exp() * (1.0 + 0.0003 * f64::from(d.saturating_sub(onset + 184)))
            }
        };
        let levels = curve(days, |d| {
            let x = f(d);
            amounts(&[
                (Signal::Storage, 400.0 * TB * x),
                (Signal::VmHours, 300.0 * x),
                (Signal::Translation, 2e8 * x),
                (Signal::Search, 2e4 * x),
                (Signal::Face, 5e4 * x),
                (Signal::LlmTokens, 5e6 * x),
                (Signal::Egress, 2e12),
            ])
        });
        let a = self.account(org, "Case Records Archive", Kind::ArchiveSurge, Sector::Immigration, levels, &["case management", "records archive"]);
        let observable = first_day(days, onset, |d| f(d) >= 1.25 * f(onset));
        self.pop.accounts[a].truth = Some(Truth {
            scenario: "archive-surge",
            onset,
            observable,
            assumptions: "stored bytes from 400 TB to 1,400 TB over 184 days (x3.5, public record), VM hours, translation, search, vision and LLM tokens growing in proportion; observable: first day storage is 1.25x its level at onset".into(),
        });
        self.benign(org, Kind::WebApp);
        self.benign(org, Kind::Analytics);

        // interception-pipeline: a military-intelligence unit, sub-account of a defence ministry.
        let org = self.org("Ministry of Defence".into(), Sector::Military, Some(Cloud::Azure));
        let onset = at(days, 0.10, 7, &mut self.r);
        let ramp_days = (f64::from(days) * 0.4).clamp(1.0, 150.0) as u32;
        let c = interception_curve(days, onset, ramp_days, 1.0);
        let observable = first_day(days, onset, |d| c[d as usize][Signal::Speech.index()] >= OBSERVABLE_SPEECH_HOURS_PER_DAY * 3600.0);
        let a = self.account(org, "Signals Processing Unit", Kind::Interception, Sector::Intelligence, Levels::Curve(c), &["signals processing"]);
        self.pop.accounts[a].truth = Some(Truth {
            scenario: "interception-pipeline",
            onset,
            observable,
            assumptions: format!(
                "speech-to-text ramps over {ramp_days} days to 1,000,000 calls an hour of {CALL_MINUTES} minutes (33,333 audio hours an hour); 5% of transcripts translated at 54,000 characters an audio hour; 57.5 MB stored per audio hour, never deleted (about 8,000 TB after six months at full rate); observable: first day with 2,500 audio hours an hour"
            ),
        });
        for k in [Kind::WebApp, Kind::Saas, Kind::Analytics] {
            self.benign(org, k);
        }

        // exodus: a unit holding ~8,000 TB whose storage and AI services are suspended; about 8,000 TB then leaves
        // within four days. Exposure and review precede the suspension, as in the public record.
        let org = self.org("Defence Intelligence Directorate".into(), Sector::Military, Some(Cloud::Azure));
        let s = at(days, 0.70, 7, &mut self.r).min(days.saturating_sub(6));
        let exodus_days = 4u32;
        let levels = curve(days, |d| {
            if d <= s {
                let grow = 1.0 + 0.0001 * f64::from(d);
                amounts(&[
                    (Signal::Storage, 8000.0 * TB * grow),
                    (Signal::Speech, 100_000.0 * 3600.0),
                    (Signal::Translation, 0.05 * 100_000.0 * CHARS_PER_AUDIO_HOUR),
                    (Signal::VmHours, 2000.0),
                    (Signal::Egress, 1e12),
                ])
            } else {
                let k = d - s;
                let total = 8000.0 * TB * (1.0 + 0.0001 * f64::from(s));
                let left = (1.0 - f64::from(k.min(exodus_days)) / f64::from(exodus_days)).max(0.0);
                amounts(&[
                    (Signal::Storage, (total * left).max(5.0 * TB)),
                    (Signal::Egress, if k <= exodus_days { total / f64::from(exodus_days) } else { 1e11 }),
                    (Signal::VmHours, 200.0),
                ])
            }
        });
        let a = self.account(org, "Collection Archive Unit", Kind::Exodus, Sector::Intelligence, levels, &["archive"]);
        let onset = (s + 1).min(days.saturating_sub(1));
        self.pop.accounts[a].truth = Some(Truth {
            scenario: "exodus",
            onset,
            observable: (s + 1 < days).then_some(s + 1),
            assumptions: "holds about 8,000 TB (100,000 audio hours a day transcribed) until its storage and AI services are suspended (events.csv); about 8,000 TB then transfers out in 4 days (2,000 TB a day) and storage empties; exposure 40 and review 25 days before the suspension; observable: the first day after the suspension".into(),
        });
        self.event(a, s.saturating_sub(40), EventKind::Exposure, &[], "press reports the unit's use of the platform");
        self.event(a, s.saturating_sub(25), EventKind::ReviewOpened, &[], "external review opened");
        self.event(a, s, EventKind::Suspension, &["storage", "ai"], "storage and AI services of the unit suspended");
        self.benign(org, Kind::WebApp);

        // structuring: the interception pattern split over a parent's sub-accounts so that each stays under every
        // per-account threshold. The shape is drawn per seed, as real organisations differ (see `Shape`): how many
        // parts and how unequal, whether the shares drift, whether parts rotate through short-lived sub-accounts
        // (the newest not yet in the registry), whether the signals are spread over specialised parts, and whether
        // the registry names the parent apart from its billing account.
        let org = self.org("Interior Security Ministry".into(), Sector::Military, Some(Cloud::Gcp));
        let onset0 = at(days, 0.15, 7, &mut self.r);
        let budget = if self.config.accounts >= 400 { (self.config.accounts / 20).min(60) } else { 20 };
        let shape = Shape::draw(&mut self.r, days, onset0, budget);
        // The operation's total: a share of the record's rate, no more than keeps its largest part under 2,000 audio
        // hours an hour (four fifths of the per-account threshold).
        let record_hours = CALLS_PER_HOUR * CALL_MINUTES / 60.0;
        let scale = shape.scale.min(2000.0 / (record_hours * shape.largest_share()));
        // Below the record's scale (a third of the seeds): 1,200 to 2,400 audio hours an hour, under the pack's
        // fixed parent threshold (2,500) and ten times and more what any benign parent of the sector transcribes.
        let small = self.r.random_bool(1.0 / 3.0);
        let scale = if small { scale.min(self.r.random_range(1200.0..2400.0) / record_hours) } else { scale };
        let observable_hours = if small { 1000.0 } else { OBSERVABLE_SPEECH_HOURS_PER_DAY / 24.0 };
        let total = interception_curve(days, onset0, ramp_days, scale);
        let registry_day = (f64::from(days) * 0.6) as u32;
        let mut parts = Vec::new();
        for slot in 0..shape.slots() {
            for (k, (from, to)) in shape.lives(slot, days).into_iter().enumerate() {
                let c: Vec<Amounts> = (0..days).map(|d| if (from..to).contains(&d) { shape.part(slot, d, &total[d as usize]) } else { [0.0; 11] }).collect();
                let name = if k == 0 { format!("Regional Processing Cell {:02}", slot + 1) } else { format!("Regional Processing Cell {:02}-{k}", slot + 1) };
                let a = self.account(org, &name, Kind::Structuring, Sector::Intelligence, Levels::Curve(c), &["regional processing"]);
                // A sub-account created after the registry was written is not in it.
                self.pop.accounts[a].registered = from <= registry_day;
                parts.push(a);
            }
        }
        if shape.named_apart {
            self.pop.orgs[org].registry_id = Some("org-interior-security-ministry".into());
        }
        let parent = self.pop.orgs[org].registry_id.clone().unwrap_or_else(|| self.pop.orgs[org].id.clone());
        for a in parts {
            self.pop.accounts[a].part_of = Some(parent.clone());
        }
        let observable = first_day(days, onset0, |d| total[d as usize][Signal::Speech.index()] >= observable_hours * 24.0 * 3600.0);
        self.pop.orgs[org].scenario = Some(Truth {
            scenario: "structuring",
            onset: onset0,
            observable,
            assumptions: format!(
                "the interception pattern at {:.0} audio hours an hour ({:.1} % of the record's rate, {CALL_MINUTES}-minute calls), split {}; observable: first day the parent's total reaches {observable_hours:.0} audio hours an hour{}",
                record_hours * scale,
                scale * 100.0,
                shape.describe(),
                if small { " (ten times the most a benign parent of its sector transcribes, about 100)" } else { "" }
            ),
        });
        self.benign(org, Kind::WebApp);
        self.benign(org, Kind::Saas);

        // biometric-sweep: face identification at tens of millions of transactions a day, no approval.
        let org = self.org("Metropolitan Police Service".into(), Sector::LawEnforcement, Some(Cloud::Aws));
        let onset = at(days, 0.45, 10, &mut self.r);
        let face = move |d: u32| 30e6 * ramp(d, onset, 21);
        let levels = curve(days, |d| {
            amounts(&[
                (Signal::Face, face(d)),
                (Signal::Storage, 50.0 * TB + 0.5 * TB * f64::from(d.saturating_sub(onset)) * ramp(d, onset, 21)),
                (Signal::VmHours, 500.0 + 1500.0 * ramp(d, onset, 21)),
                (Signal::Egress, 5e11),
            ])
        });
        let a = self.account(org, "Real-Time Identification Programme", Kind::BiometricSweep, Sector::LawEnforcement, levels, &["public safety"]);
        self.pop.accounts[a].truth = Some(Truth {
            scenario: "biometric-sweep",
            onset,
            observable: first_day(days, onset, |d| face(d) >= 1e6),
            assumptions: "face identification ramps over 21 days to 30 million transactions a day; the registry holds no face-identification approval; observable: first day with 1 million transactions".into(),
        });
        self.benign(org, Kind::Saas);
        self.benign(org, Kind::WebApp);

        // analytics-vendor: marketplace charges from a data-analytics vendor growing with storage.
        let org = self.org("Border Protection Directorate".into(), Sector::Immigration, Some(Cloud::Aws));
        let onset = at(days, 0.30, 10, &mut self.r);
        let gv = 100f64.ln() / 180.0;
        let spend = move |d: u32| if d < onset { 0.0 } else { 300.0 * (gv * f64::from((d - onset).min(180))).exp() };
        // Storage follows the spend on a log scale: x100 spend, x4 storage.
        let levels = curve(days, |d| {
            let k = (spend(d) / 300.0).max(1.0).powf(4f64.ln() / 100f64.ln());
            amounts(&[(Signal::Marketplace, spend(d)), (Signal::Storage, 150.0 * TB * k), (Signal::VmHours, 400.0 * k), (Signal::Egress, 1e12)])
        });
        let a = self.account(org, "Targeting Analytics Platform", Kind::AnalyticsVendor, Sector::Immigration, levels, &["analytics"]);
        self.pop.accounts[a].publisher = ANALYTICS_VENDOR;
        self.pop.accounts[a].truth = Some(Truth {
            scenario: "analytics-vendor",
            onset,
            observable: first_day(days, onset, |d| spend(d) >= 1000.0),
            assumptions: format!(
                "marketplace charges from {ANALYTICS_VENDOR} grow from $300 to $30,000 a day over 180 days while storage grows from 150 TB to 600 TB with them; observable: first day with $1,000 of the vendor's charges"
            ),
        });
        self.benign(org, Kind::Saas);
    }

    /// The hard negatives that are organisations: structuring's shapes, for honest reasons and under every
    /// threshold (the parent's sum included). Each organisation is labelled with its kind as a hard negative.
    fn twins(&mut self) {
        let days = self.config.days;
        let name = |b: &mut Self, what: &str| format!("{} {what}", NAME_A.choose(&mut b.r).expect("non-empty"));
        // A build farm: one long-lived sub-account, then a new one every day for the last 30 days, each building and
        // testing (VM hours, a little storage), deleted the next day.
        let n = name(self, "Government Digital Service Build Farm");
        let org = self.org(n, Sector::Government, None);
        let last = days.saturating_sub(30);
        for (k, (from, to)) in std::iter::once((0, last)).chain((last..days).map(|d| (d, d + 1))).enumerate() {
            let c = curve(days, |d| {
                if (from..to).contains(&d) { amounts(&[(Signal::VmHours, 400.0), (Signal::Storage, 2.0 * TB), (Signal::Egress, 1e11)]) } else { [0.0; 11] }
            });
            self.account(org, &format!("ci-{k:03}"), Kind::CiRotation, Sector::Government, c, &["continuous integration"]);
        }
        self.pop.orgs[org].twin = Some(Kind::CiRotation);
        // A public broadcaster's six regions: each keeps its archive (400 TB, slowly growing), subtitles its
        // channels live (40 audio hours an hour: some 20 channels around the clock, 240 at the parent) and streams.
        let n = name(self, "Public Broadcasting Regions");
        let org = self.org(n, Sector::Government, None);
        for k in 0..6 {
            let size = lognormal(&mut self.r, 1.0, 0.3);
            let c = curve(days, |d| {
                amounts(&[
                    (Signal::Storage, 400.0 * TB * size * (1.0 + 0.0005 * f64::from(d))),
                    (Signal::Speech, 40.0 * 24.0 * 3600.0 * size),
                    (Signal::Translation, 2e8 * size),
                    (Signal::Egress, 30e12 * size),
                    (Signal::VmHours, 800.0 * size),
                ])
            });
            self.account(org, &format!("Region {}", k + 1), Kind::RegionalMedia, Sector::Government, c, &["broadcasting", "subtitling"]);
        }
        self.pop.orgs[org].twin = Some(Kind::RegionalMedia);
        // A department's twelve agencies: records storage of 150 to 400 TB each (3,000 TB at the parent), document
        // OCR, and a small contact centre in some.
        let n = name(self, "Department of Social Services Agencies");
        let org = self.org(n, Sector::Government, None);
        for k in 0..12 {
            let tb = self.r.random_range(150.0..400.0);
            let calls = if k % 3 == 0 { 40.0 * 24.0 * 3600.0 } else { 0.0 };
            let c = curve(days, |d| {
                amounts(&[(Signal::Storage, tb * TB * (1.0 + 0.0003 * f64::from(d))), (Signal::Ocr, 5e4), (Signal::Speech, calls), (Signal::VmHours, 300.0)])
            });
            self.account(org, &format!("Agency {:02}", k + 1), Kind::AgencyStorage, Sector::Government, c, &["records management"]);
        }
        self.pop.orgs[org].twin = Some(Kind::AgencyStorage);
    }

    /// Hard negatives, each a one-account organisation.
    fn hard_negative(&mut self, kind: Kind) {
        let days = self.config.days;
        let (sector, name, purposes): (Sector, String, &[&str]) = match kind {
            Kind::ContactCentre => (
                Sector::Commercial,
                format!("{} Contact Services", NAME_A.choose(&mut self.r).expect("non-empty")),
                &["customer call analytics", "quality assurance"],
            ),
            Kind::BroadcasterArchive => (
                Sector::Government,
                format!("{} Public Broadcasting Archive", NAME_A.choose(&mut self.r).expect("non-empty")),
                &["broadcast archive digitisation"],
            ),
            Kind::HealthDocuments => (
                Sector::Health,
                format!("{} Health Records Agency", NAME_A.choose(&mut self.r).expect("non-empty")),
                &["patient records digitisation", "translation of medical documents"],
            ),
            Kind::LanguageLab => {
                (Sector::Academic, format!("{} University Language Lab", NAME_A.choose(&mut self.r).expect("non-empty")), &["language research", "teaching"])
            }
            Kind::Migration => (Sector::Commercial, format!("{} Cloud Exit Programme", NAME_A.choose(&mut self.r).expect("non-empty")), &["e-commerce"]),
            _ => (Sector::Commercial, format!("{} Identity Verification", NAME_A.choose(&mut self.r).expect("non-empty")), &["customer identity verification"]),
        };
        let name = if self.names.insert(name.clone()) { name } else { format!("{name} {}", self.names.len()) };
        let org = self.org(name, sector, None);
        let scale = lognormal(&mut self.r, 1.0, 0.3);
        let weekend = 0.4 + 0.2 * self.r.random::<f64>();
        let levels = match kind {
            // ~6,000 audio hours a weekday (2 M calls a month of ~5 minutes), 30 % translated; 90-day retention
            // keeps storage flat at the audio of 90 days.
            Kind::ContactCentre => {
                let hours = 6000.0 * scale;
                Levels::Trend {
                    base: amounts(&[
                        (Signal::Speech, hours * 3600.0),
                        (Signal::Translation, 0.3 * hours * CHARS_PER_AUDIO_HOUR),
                        (Signal::Storage, hours * 0.8 * 90.0 * BYTES_PER_AUDIO_HOUR),
                        (Signal::VmHours, 400.0 * scale),
                        (Signal::Search, 5e4 * scale),
                        (Signal::LlmTokens, 2e7 * scale),
                        (Signal::Egress, 2e11),
                    ]),
                    growth: [0.0; 11],
                    weekend,
                    duty: None,
                }
            }
            // Digitisation: 300 TB growing ×4 over the year, with subtitling speech and OCR of paper records.
            Kind::BroadcasterArchive => {
                let g = 4f64.ln() / 365.0;
                let mut growth = [0.0; 11];
                growth[Signal::Storage.index()] = g;
                Levels::Trend {
                    base: amounts(&[
                        (Signal::Storage, 300.0 * TB * scale),
                        (Signal::Speech, 300.0 * 3600.0),
                        (Signal::Ocr, 2e4),
                        (Signal::Egress, 5e12 * scale),
                        (Signal::VmHours, 200.0),
                    ]),
                    growth,
                    weekend: 1.0,
                    duty: None,
                }
            }
            Kind::HealthDocuments => Levels::Trend {
                base: amounts(&[
                    (Signal::Ocr, 1.5e6 * scale),
                    (Signal::Translation, 3e8 * scale),
                    (Signal::Storage, 120.0 * TB * scale),
                    (Signal::VmHours, 600.0),
                    (Signal::LlmTokens, 5e7),
                ]),
                growth: {
                    let mut g = [0.0; 11];
                    g[Signal::Storage.index()] = 1.2f64.ln() / 365.0;
                    g
                },
                weekend,
                duty: None,
            },
            // Term time (mid-September to mid-December, mid-January to mid-June): 1,500 audio hours a day.
            Kind::LanguageLab => {
                let start = self.config.start;
                curve(days, move |d| {
                    let date = start + Duration::days(i64::from(d));
                    let md = date.month() * 100 + date.day();
                    let term = (915..=1215).contains(&md) || (115..=615).contains(&md);
                    let k = if term { 1.0 } else { 0.15 };
                    amounts(&[
                        (Signal::Speech, 1500.0 * 3600.0 * k * scale),
                        (Signal::Translation, 5e7 * k),
                        (Signal::Storage, 40.0 * TB * scale),
                        (Signal::GpuHours, 50.0 * k),
                        (Signal::VmHours, 100.0),
                    ])
                })
            }
            // Moves ~1,100 TB out over 25 days from mid-period, then winds down.
            Kind::Migration => {
                let m = at(days, 0.5, 20, &mut self.r);
                let stored = 900.0 * TB * scale;
                curve(days, move |d| {
                    let k = f64::from(d.saturating_sub(m).min(25)) / 25.0;
                    let moving = d >= m && d < m + 25;
                    amounts(&[
                        (Signal::Storage, (stored * (1.0 - 0.95 * k)).max(1.0 * TB)),
                        (Signal::Egress, if moving { stored * 1.25 / 25.0 } else { 1e12 }),
                        (Signal::VmHours, 2000.0 * (1.0 - 0.9 * k)),
                    ])
                })
            }
            _ => Levels::Trend {
                base: amounts(&[(Signal::Face, 4e5 * scale), (Signal::Storage, 30.0 * TB), (Signal::VmHours, 300.0), (Signal::Egress, 1e11)]),
                growth: {
                    let mut g = [0.0; 11];
                    g[Signal::Face.index()] = 1.3f64.ln() / 365.0;
                    g
                },
                weekend,
                duty: None,
            },
        };
        let a = self.account(org, "Production", kind, sector, levels, purposes);
        if kind == Kind::IdentityVerification {
            let from = self.config.start - Duration::days(200);
            self.pop.accounts[a].approvals.push(Approval { name: "face-identification".into(), from: Some(from) });
        }
    }
}

impl Population {
    /// Build the population of a configuration.
    pub fn build(config: &Config) -> Result<Population, SimError> {
        let mut b = Builder {
            config,
            r: rng(config.seed, 0x5eed, 0),
            pop: Population { orgs: vec![], accounts: vec![], events: vec![] },
            ids: HashSet::new(),
            names: HashSet::new(),
        };
        b.scenarios();
        let copies = (config.accounts / 2500).max(1);
        let needed = b.pop.accounts.len() + copies * Kind::HARD.len() + 4;
        if config.accounts < needed {
            return Err(SimError::Config(format!("--accounts must be at least {needed} to hold the scenarios and hard negatives (got {})", config.accounts)));
        }
        for _ in 0..copies {
            for k in Kind::HARD {
                b.hard_negative(k);
            }
        }
        // The twins take 55 sub-accounts: only in populations that can hold them beside the benign ones.
        if config.accounts >= 400 {
            b.twins();
        }
        while b.pop.accounts.len() < config.accounts {
            let left = config.accounts - b.pop.accounts.len();
            let u: f64 = b.r.random();
            let size = if u < 0.55 {
                1
            } else if u < 0.85 {
                b.r.random_range(2..=5)
            } else if u < 0.97 {
                b.r.random_range(6..=15)
            } else {
                b.r.random_range(16..=40)
            };
            let sector = b.benign_sector();
            let name = b.org_name(sector);
            let org = b.org(name, sector, None);
            for _ in 0..size.min(left) {
                let kind = b.benign_kind();
                b.benign(org, kind);
            }
        }
        Ok(b.pop)
    }

    /// `registry.csv`: every organisation, then its sub-accounts.
    pub fn registry_csv(&self) -> String {
        let mut tenants = Vec::new();
        for o in &self.orgs {
            let parent = o.registry_id.clone().unwrap_or_else(|| o.id.clone());
            tenants.push(Tenant {
                account_id: parent.clone(),
                name: o.name.clone(),
                parent_id: None,
                sector: o.sector,
                country: o.country.to_string(),
                purposes: vec![],
                approvals: vec![],
                extra: Default::default(),
            });
            for &i in o.accounts.iter().filter(|&&i| self.accounts[i].registered) {
                let a = &self.accounts[i];
                tenants.push(Tenant {
                    account_id: a.id.clone(),
                    name: a.name.clone(),
                    parent_id: Some(parent.clone()),
                    sector: a.sector,
                    country: o.country.to_string(),
                    purposes: a.purposes.clone(),
                    approvals: a.approvals.clone(),
                    extra: Default::default(),
                });
            }
        }
        let reg = Registry::from_tenants(tenants).expect("simulated ids are unique and parents exist");
        let mut out = Vec::new();
        reg.write_csv(&mut out).expect("writing to memory");
        String::from_utf8(out).expect("registry is UTF-8")
    }

    /// `events.csv`.
    pub fn events_csv(&self) -> String {
        let mut out = Vec::new();
        Events::from_events(self.events.clone()).write_csv(&mut out).expect("writing to memory");
        String::from_utf8(out).expect("events are UTF-8")
    }

    /// `labels.json`.
    pub fn labels(&self, config: &Config) -> Labels {
        let date = |d: u32| (config.start + Duration::days(i64::from(d))).format("%Y-%m-%d").to_string();
        let mut accounts = Vec::new();
        for o in &self.orgs {
            let mut l = Label::benign(o.registry_id.as_ref().unwrap_or(&o.id), "organisation");
            if let Some(t) = &o.scenario {
                l.label = t.scenario.into();
                l.kind = Some(t.scenario.into());
                l.onset = Some(date(t.onset));
                l.observable = t.observable.map(date);
                l.assumptions = Some(t.assumptions.clone());
            } else {
                l.contains = o.accounts.iter().filter(|&&i| self.accounts[i].truth.is_some()).map(|&i| self.accounts[i].id.clone()).collect();
            }
            if let Some(k) = o.twin {
                l.kind = Some(k.name().into());
                l.hard_negative = Some(true);
            }
            accounts.push(l);
            for &i in &o.accounts {
                let a = &self.accounts[i];
                let mut l = Label::benign(&a.id, a.kind.name());
                if a.kind.hard_negative() {
                    l.hard_negative = Some(true);
                }
                if let Some(t) = &a.truth {
                    l.label = t.scenario.into();
                    l.onset = Some(date(t.onset));
                    l.observable = t.observable.map(date);
                    l.assumptions = Some(t.assumptions.clone());
                }
                if let (Some(p), Some(t)) = (&a.part_of, &o.scenario) {
                    l.label = t.scenario.into();
                    l.part_of = Some(p.clone());
                }
                accounts.push(l);
            }
        }
        Labels { generator: GENERATOR.into(), seed: config.seed, start: config.start.format("%Y-%m-%d").to_string(), days: config.days, accounts }
    }

    /// Weekday (0 = Monday) of a day index.
    pub fn weekday(config: &Config, day: u32) -> u32 {
        (config.start + Duration::days(i64::from(day))).weekday().num_days_from_monday()
    }
}

/// The date of a day index.
pub fn date_of(start: NaiveDate, day: u32) -> NaiveDate {
    start + Duration::days(i64::from(day))
}
