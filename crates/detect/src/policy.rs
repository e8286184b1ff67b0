//! The policy language: one TOML file per policy, readable and writable without Rust (DESIGN.md §5).
//!
//! ```toml
//! id = "interception-pipeline"
//! version = 1
//! title = "Speech-to-text at interception scale"
//! severity = "critical"                       # low | medium | high | critical
//! sectors = ["military", "intelligence"]      # registry sectors it applies to ("any" for all, "unknown" included)
//! scope = "account"                           # account | parent (sum over the parent organisation's accounts)
//! without_approval = "face-identification"    # optional: only accounts without this grant on the day
//!
//! [clause]                                    # the acceptable-use clause it enforces
//! provider = "Microsoft"
//! source = "Microsoft statement, 25 Sep 2025"
//! text = "…prohibit the use of our technology for mass surveillance of civilians."
//!
//! [after_event]                               # optional: only within N days after one of these events
//! kinds = ["exposure", "review-opened", "notice", "suspension"]
//! within_days = 30
//!
//! [[condition]]                               # every condition must hold on the day
//! signal = "ai.speech_seconds"
//! measure = "rate"                            # sum | rate | max | growth | monotonic
//! per = "hour"                                # rate: per hour or per day
//! window_days = 7
//! op = ">="
//! threshold = 9_000_000.0
//! ```
//! Measures over the `window_days` days ending on the day, on the account's daily series (missing days are 0):
//! - `sum`: the total; `rate`: the total per hour or per day; `max`: the largest day;
//! - `growth`: the last 7 days' total over the 7 days ending `window_days` earlier;
//! - `monotonic`: the smallest week-on-week ratio of 7-day totals over the window (≥ 0.99: nothing is deleted).

use std::path::Path;

use registry::{EventKind, Sector, did_you_mean};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use toml::Spanned;

/// How serious a policy's finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth a look.
    Low,
    /// Review soon.
    Medium,
    /// Review now.
    High,
    /// Review now; enforcement likely.
    Critical,
}

/// Whose series a policy reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Each sub-account on its own.
    #[default]
    Account,
    /// Each parent organisation: the sum over its accounts.
    Parent,
}

/// What a condition measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Measure {
    /// Total over the window.
    Sum,
    /// Total per hour or per day.
    Rate,
    /// Largest day in the window.
    Max,
    /// Last 7 days over the 7 days ending `window_days` earlier.
    Growth,
    /// Smallest week-on-week ratio over the window.
    Monotonic,
}

/// The unit of a rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Per {
    /// Per hour.
    Hour,
    /// Per day.
    Day,
}

impl Per {
    /// How many of the unit a day holds: a daily total over this is the rate.
    pub fn in_a_day(self) -> f64 {
        match self {
            Per::Hour => 24.0,
            Per::Day => 1.0,
        }
    }
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// At least.
    #[serde(rename = ">=")]
    Ge,
    /// More than.
    #[serde(rename = ">")]
    Gt,
    /// At most.
    #[serde(rename = "<=")]
    Le,
    /// Less than.
    #[serde(rename = "<")]
    Lt,
}

impl Op {
    /// The SQL operator.
    pub fn sql(self) -> &'static str {
        match self {
            Op::Ge => ">=",
            Op::Gt => ">",
            Op::Le => "<=",
            Op::Lt => "<",
        }
    }
}

/// The clause a policy enforces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Clause {
    /// Whose clause.
    pub provider: String,
    /// The document and date.
    pub source: String,
    /// The quoted text.
    pub text: String,
}

/// A time condition on events.csv.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AfterEvent {
    /// Event kinds (`exposure`, `review-opened`, `notice`, `suspension`, `lift`).
    pub kinds: Vec<String>,
    /// At most this many days after the latest such event.
    pub within_days: u32,
}

/// One condition over a signal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// The canonical signal.
    pub signal: Spanned<String>,
    /// What is measured.
    pub measure: Measure,
    /// Rate unit (for `rate`).
    #[serde(default)]
    pub per: Option<Per>,
    /// Window in days.
    pub window_days: u32,
    /// Comparison.
    pub op: Op,
    /// Threshold, in the signal's SI unit (per hour or day for rates; a ratio for growth and monotonic).
    pub threshold: f64,
}

impl Condition {
    /// The daily value that meets the threshold when held every day of the window, for a condition on a daily
    /// level (a rate, a sum or a maximum); `None` for a ratio. Charts draw it beside the daily series.
    pub fn daily_level(&self) -> Option<f64> {
        match self.measure {
            Measure::Rate => Some(self.threshold * self.per.unwrap_or(Per::Day).in_a_day()),
            Measure::Max => Some(self.threshold),
            Measure::Sum => Some(self.threshold / f64::from(self.window_days)),
            Measure::Growth | Measure::Monotonic => None,
        }
    }

    /// How many days before the day it answers the condition reads: its evidence starts there, and a scan of a few
    /// days reads the series from there on. (Monotonic reads one day more than its frames need, n + 12.)
    pub fn reach(&self) -> i64 {
        let n = i64::from(self.window_days);
        match self.measure {
            Measure::Growth => n + 6,
            Measure::Monotonic => n + 13,
            Measure::Sum | Measure::Rate | Measure::Max => n - 1,
        }
    }
}

/// One policy file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Stable id.
    pub id: String,
    /// Version; bump on any change.
    pub version: u32,
    /// One line.
    pub title: String,
    /// Severity of its findings.
    pub severity: Severity,
    /// Sectors it applies to (`any` for all).
    pub sectors: Spanned<Vec<String>>,
    /// Account or parent organisation.
    #[serde(default)]
    pub scope: Scope,
    /// Only accounts without this grant on the day.
    #[serde(default)]
    pub without_approval: Option<String>,
    /// The clause enforced.
    pub clause: Clause,
    /// Only after an event.
    #[serde(default)]
    pub after_event: Option<AfterEvent>,
    /// Conditions, all of which must hold.
    #[serde(rename = "condition")]
    pub conditions: Vec<Condition>,
}

/// A policy with where it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The policy.
    pub policy: Policy,
    /// The file it was read from.
    pub file: String,
    /// SHA-256 of the file's bytes, hex: findings name it so a reader can tell which text was applied.
    pub sha256: String,
}

/// A policy that cannot be used: the message names the file, the line and the field.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct PolicyError {
    /// The file.
    pub file: String,
    /// 1-based line (0 when unknown).
    pub line: usize,
    /// What is wrong, naming the field.
    pub message: String,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].bytes().filter(|b| *b == b'\n').count() + 1
}

/// The dotted name of the key on a line (`condition.measure`), from the line and the table header above it.
fn field_at(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let here = lines.get(line.checked_sub(1)?)?;
    let (key, _) = here.split_once('=')?;
    let key = key.trim();
    let table = lines[..line - 1].iter().rev().map(|l| l.trim()).find(|l| l.starts_with('['));
    Some(match table {
        Some(t) => format!("{}.{key}", t.trim_matches(|c| c == '[' || c == ']')),
        None => key.to_string(),
    })
}

/// Sector names a policy may use: the registry's, plus `any` and `unknown` (accounts missing from the registry).
fn sectors() -> impl Iterator<Item = &'static str> {
    ["any", "unknown"].into_iter().chain(Sector::NAMED.iter().map(|(_, n)| *n))
}

fn event_kinds() -> impl Iterator<Item = &'static str> {
    EventKind::NAMES.iter().map(|(_, n)| *n)
}

impl Loaded {
    /// Parse and check one policy file's text.
    pub fn parse(file: &str, text: &str) -> Result<Loaded, PolicyError> {
        let err = |offset: usize, message: String| PolicyError { file: file.to_string(), line: line_of(text, offset), message };
        let policy: Policy = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(0, |s| line_of(text, s.start));
            let message = e.message().trim().to_string();
            let message = match field_at(text, line) {
                Some(f) if !message.contains(&f) => format!("{f}: {message}"),
                _ => message,
            };
            PolicyError { file: file.to_string(), line, message }
        })?;
        let known = catalog::Catalog::embedded().signals();
        if policy.conditions.is_empty() {
            return Err(err(0, "no [[condition]]: a policy needs at least one".into()));
        }
        for c in &policy.conditions {
            let name = c.signal.get_ref();
            if !known.iter().any(|s| s.name == name) {
                return Err(err(
                    c.signal.span().start,
                    format!("condition.signal: unknown signal \"{name}\"{}", did_you_mean(name, known.iter().map(|s| s.name))),
                ));
            }
            if c.window_days == 0 || c.window_days > 366 {
                return Err(err(c.signal.span().start, format!("condition.window_days: {} is not between 1 and 366", c.window_days)));
            }
            if c.measure == Measure::Rate && c.per.is_none() {
                return Err(err(c.signal.span().start, "condition.per: a rate needs per = \"hour\" or \"day\"".into()));
            }
            if !c.threshold.is_finite() {
                return Err(err(c.signal.span().start, "condition.threshold: not a finite number".into()));
            }
        }
        for s in policy.sectors.get_ref() {
            if !sectors().any(|n| n == s) {
                return Err(err(policy.sectors.span().start, format!("sectors: unknown sector \"{s}\"{}", did_you_mean(s, sectors()))));
            }
        }
        if let Some(a) = &policy.after_event {
            for k in &a.kinds {
                if !event_kinds().any(|n| n == k) {
                    let at = text.find(k.as_str()).unwrap_or(0);
                    return Err(err(at, format!("after_event.kinds: unknown event kind \"{k}\"{}", did_you_mean(k, event_kinds()))));
                }
            }
        }
        Ok(Loaded { policy, file: file.to_string(), sha256: hex::encode(Sha256::digest(text.as_bytes())) })
    }

    /// Whether the policy applies to a sector (by its file spelling, `unknown` for accounts not in the registry).
    pub fn applies_to(&self, sector: &str) -> bool {
        self.policy.sectors.get_ref().iter().any(|s| s == "any" || s == sector)
    }
}

/// The built-in pack (`policies/` at the repository root), embedded in the binary.
pub const BUILT_IN: &[(&str, &str)] = &[
    ("archive-surge.toml", include_str!("../../../policies/archive-surge.toml")),
    ("interception-pipeline.toml", include_str!("../../../policies/interception-pipeline.toml")),
    ("interception-parent.toml", include_str!("../../../policies/interception-parent.toml")),
    ("interception-chain.toml", include_str!("../../../policies/interception-chain.toml")),
    ("exodus.toml", include_str!("../../../policies/exodus.toml")),
    ("biometric-sweep.toml", include_str!("../../../policies/biometric-sweep.toml")),
    ("analytics-vendor.toml", include_str!("../../../policies/analytics-vendor.toml")),
];

/// Load a pack: every `*.toml` in `dir` (sorted by name), or the built-in pack.
pub fn load_pack(dir: Option<&Path>) -> Result<Vec<Loaded>, PolicyError> {
    let mut out = Vec::new();
    match dir {
        None => {
            for (name, text) in BUILT_IN {
                out.push(Loaded::parse(&format!("policies/{name}"), text)?);
            }
        }
        Some(dir) => {
            let read = std::fs::read_dir(dir).map_err(|e| PolicyError { file: dir.display().to_string(), line: 0, message: e.to_string() })?;
            let mut files: Vec<_> = read.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "toml")).collect();
            files.sort();
            for f in files {
                let name = f.display().to_string();
                let text = std::fs::read_to_string(&f).map_err(|e| PolicyError { file: name.clone(), line: 0, message: e.to_string() })?;
                out.push(Loaded::parse(&name, &text)?);
            }
        }
    }
    let mut ids: Vec<&str> = out.iter().map(|l| l.policy.id.as_str()).collect();
    ids.sort_unstable();
    if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
        return Err(PolicyError {
            file: dir.map(|d| d.display().to_string()).unwrap_or_default(),
            line: 0,
            message: format!("two policies have id \"{}\"", w[0]),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"id = "t"
version = 1
title = "test"
severity = "high"
sectors = ["military"]

[clause]
provider = "X"
source = "Y"
text = "Z"

[[condition]]
signal = "ai.speech_seconds"
measure = "rate"
per = "hour"
window_days = 7
op = ">="
threshold = 1.0
"#;

    #[test]
    fn the_built_in_pack_loads() {
        let pack = load_pack(None).unwrap();
        assert_eq!(pack.len(), BUILT_IN.len());
        assert!(pack.iter().all(|p| p.sha256.len() == 64));
    }

    #[test]
    fn a_good_policy_parses() {
        let p = Loaded::parse("t.toml", GOOD).unwrap();
        assert_eq!(p.policy.conditions[0].measure, Measure::Rate);
        assert!(p.applies_to("military") && !p.applies_to("commercial"));
    }

    #[test]
    fn an_unknown_signal_names_file_line_and_a_guess() {
        let e = Loaded::parse("t.toml", &GOOD.replace("ai.speech_seconds", "ai.speach_seconds")).unwrap_err();
        assert_eq!(e.line, 13, "{e}");
        assert!(e.to_string().starts_with("t.toml:13: condition.signal: unknown signal \"ai.speach_seconds\" (did you mean \"ai.speech_seconds\"?)"), "{e}");
    }

    #[test]
    fn malformed_policies_name_the_line_and_the_field() {
        let e = Loaded::parse("t.toml", &GOOD.replace("measure = \"rate\"", "measure = \"average\"")).unwrap_err();
        assert_eq!(e.line, 14, "{e}");
        assert!(e.message.starts_with("condition.measure: ") && e.message.contains("average"), "{e}");
        let e = Loaded::parse("t.toml", &GOOD.replace("window_days = 7", "window_days = \"seven\"")).unwrap_err();
        assert_eq!(e.line, 16, "{e}");
        assert!(e.message.starts_with("condition.window_days"), "{e}");
        let e = Loaded::parse("t.toml", &GOOD.replace("op = \">=\"", "op = \">=\"\nlimit = 3")).unwrap_err();
        assert!(e.message.contains("limit"), "{e}");
        let e = Loaded::parse("t.toml", &GOOD.replace("[\"military\"]", "[\"militray\"]")).unwrap_err();
        assert!(e.message.contains("did you mean \"military\""), "{e}");
        assert_eq!(e.line, 5);
        let e = Loaded::parse("t.toml", &GOOD.replace("severity = \"high\"\n", "")).unwrap_err();
        assert!(e.message.contains("severity"), "{e}");
    }
}
