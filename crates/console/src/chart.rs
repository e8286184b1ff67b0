//! Evidence charts: one SVG per signal from the series points the case's findings carry, with each threshold that
//! compares a daily level drawn in and each finding's day marked. The same drawing as the demo report's
//! (`cli/src/report.rs`), rebuilt here from what the case store keeps, so the console needs no `detect`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use cases::CaseFinding;
use chrono::{Datelike, NaiveDate};
use maud::{Markup, html};
use serde_json::Value;

/// One signal's chart: its points (a day's value), the thresholds in the same daily terms, and the findings' days.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Chart {
    /// The canonical signal name.
    pub signal: String,
    /// Daily values, sorted by day, one per day.
    pub points: Vec<(NaiveDate, f64)>,
    /// (daily level, label) of each threshold that compares a daily level.
    pub thresholds: Vec<(f64, String)>,
    /// (day, policy) of each finding that read this signal.
    pub findings: Vec<(NaiveDate, String)>,
}

/// How a signal is shown: its daily value is divided by the second number to give the unit named first.
fn display(signal: &str) -> (&'static str, f64) {
    match signal {
        "storage.stored_bytes" => ("TB stored", 1e12),
        "network.egress_bytes" => ("TB out a day", 1e12),
        "ai.speech_seconds" => ("audio hours a day", 3600.0),
        "ai.translation_chars" => ("M characters a day", 1e6),
        "ai.face_transactions" => ("M face transactions a day", 1e6),
        "ai.ocr_pages" => ("k pages a day", 1e3),
        "marketplace.publisher_cost" => ("$k a day", 1e3),
        "compute.vm_hours" => ("VM hours a day", 1.0),
        "compute.gpu_hours" => ("GPU hours a day", 1.0),
        _ => ("a day", 1.0),
    }
}

/// A condition's threshold as a daily level, for findings scanned before they carried it (`measured[].daily`,
/// which detect's `Condition::daily_level` writes): read from the measure's words (`rate per hour over 7 days`,
/// `sum over 30 days`, `largest day of 7`); growth and monotonicity are ratios, not levels.
pub(crate) fn daily_threshold(measure: &str, threshold: f64) -> Option<f64> {
    if measure.starts_with("rate per hour") {
        Some(threshold * 24.0)
    } else if measure.starts_with("rate per day") || measure.starts_with("largest day") {
        Some(threshold)
    } else if let Some(rest) = measure.strip_prefix("sum over ") {
        let days: f64 = rest.split_whitespace().next()?.parse().ok()?;
        (days > 0.0).then(|| threshold / days)
    } else {
        None
    }
}

/// The charts of a case's findings, one per signal with evidence, in signal order. Points of one signal from several
/// findings are one series (the same account's days).
pub(crate) fn charts(findings: &[CaseFinding]) -> Vec<Chart> {
    let mut by: BTreeMap<String, Chart> = BTreeMap::new();
    for cf in findings {
        let f = &cf.finding;
        for e in &f.evidence {
            let Some(signal) = e.get("signal").and_then(Value::as_str) else { continue };
            let c = by.entry(signal.to_string()).or_insert_with(|| Chart { signal: signal.into(), points: vec![], thresholds: vec![], findings: vec![] });
            for p in e.get("points").and_then(Value::as_array).into_iter().flatten() {
                let day = p.get(0).and_then(Value::as_str).and_then(|d| d.parse::<NaiveDate>().ok());
                if let (Some(day), Some(v)) = (day, p.get(1).and_then(Value::as_f64)) {
                    c.points.push((day, v));
                }
            }
            c.findings.push((f.as_of, f.policy.id.clone()));
        }
        for m in &f.measured {
            let (Some(signal), Some(t)) = (m.get("signal").and_then(Value::as_str), m.get("threshold").and_then(Value::as_f64)) else { continue };
            let measure = m.get("measure").and_then(Value::as_str).unwrap_or("");
            let daily = m.get("daily").and_then(Value::as_f64).or_else(|| daily_threshold(measure, t));
            if let (Some(c), Some(daily)) = (by.get_mut(signal), daily) {
                let label = format!("{} ({measure})", f.policy.id);
                if !c.thresholds.iter().any(|(v, l)| *v == daily && *l == label) {
                    c.thresholds.push((daily, label));
                }
            }
        }
    }
    let mut out: Vec<Chart> = by.into_values().filter(|c| !c.points.is_empty()).collect();
    for c in &mut out {
        // Later findings read the same days again: keep one point a day.
        c.points.sort_by_key(|p| p.0);
        c.points.dedup_by_key(|p| p.0);
        c.findings.sort();
        c.findings.dedup();
    }
    out
}

/// The SVG path data of a daily series: `M` starts a run of consecutive days, `L` continues it, so a missing day is a
/// gap, not bridged; a day alone is a zero-length segment (`h0`), which the round line cap draws as a dot.
pub fn series_path(points: &[(i64, f64)], x: impl Fn(i64) -> f64, y: impl Fn(f64) -> f64) -> String {
    let mut d = String::new();
    for (i, &(day, v)) in points.iter().enumerate() {
        let joined = i > 0 && points[i - 1].0 + 1 == day;
        let alone = !joined && points.get(i + 1).is_none_or(|n| n.0 != day + 1);
        let step = match (joined, i) {
            (true, _) => " L",
            (false, 0) => "M",
            (false, _) => " M",
        };
        let _ = write!(d, "{step}{:.1},{:.1}{}", x(day), y(v), if alone { "h0" } else { "" });
    }
    d
}

/// A number as a chart label.
pub(crate) fn fmt(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

/// The chart as inline SVG (`n` makes its ids unique on the page), with its points as a table for who cannot see it.
pub(crate) fn render(c: &Chart, n: usize) -> Markup {
    let (unit, div) = display(&c.signal);
    let (w, h, pad) = (640.0, 200.0, 44.0);
    let day = |d: NaiveDate| i64::from(d.num_days_from_ce());
    let pts: Vec<(i64, f64)> = c.points.iter().map(|&(d, v)| (day(d), v / div)).collect();
    let lines: Vec<(f64, &str)> = c.thresholds.iter().map(|(v, l)| (v / div, l.as_str())).collect();
    let (from, to) = (pts.first().map_or(0, |p| p.0), pts.last().map_or(0, |p| p.0));
    let max = pts.iter().map(|p| p.1).chain(lines.iter().map(|l| l.0)).fold(0.0f64, f64::max).max(1e-12) * 1.1;
    let span = (to - from).max(1) as f64;
    let x = |d: i64| pad + (w - 2.0 * pad) * (d - from) as f64 / span;
    let y = |v: f64| h - pad / 2.0 - (h - pad) * v / max;
    let (first, last) = (c.points.first().map(|p| p.0), c.points.last().map(|p| p.0));
    let id = format!("chart-{n}");
    let described = match &lines[..] {
        [] => "no threshold on this signal is a daily level".to_string(),
        l => l.iter().map(|(v, label)| format!("threshold {label} at {} {unit}", fmt(*v))).collect::<Vec<_>>().join("; "),
    };
    html! {
        figure.chart {
            svg xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {w} {h}")) role="img" aria-labelledby=(format!("{id}-title {id}-desc")) {
                title id=(format!("{id}-title")) { (c.signal) " in " (unit) }
                desc id=(format!("{id}-desc")) {
                    (c.points.len()) " days from " (first.map_or(String::new(), |d| d.to_string())) " to " (last.map_or(String::new(), |d| d.to_string())) "; " (described)
                }
                rect x="0" y="0" width=(w) height=(h) fill="#ffffff" stroke="#8a8a8a" {}
                @for (d, policy) in &c.findings {
                    @let fx = x(day(*d));
                    line x1=(format!("{fx:.1}")) x2=(format!("{fx:.1}")) y1=(pad / 2.0) y2=(h - pad / 2.0) stroke="#595959" stroke-dasharray="2 3" {}
                    text x=(format!("{:.1}", fx - 3.0)) y=(pad / 2.0 + 10.0) font-size="10" fill="#3d3d3d" text-anchor="end" { "finding " (policy) }
                }
                path fill="none" stroke="#1f5fa8" stroke-width="2" stroke-linecap="round" d=(series_path(&pts, x, y)) {}
                @for (v, label) in &lines {
                    @let ly = y(*v);
                    line x1=(pad) x2=(w - pad) y1=(format!("{ly:.1}")) y2=(format!("{ly:.1}")) stroke="#b3261e" stroke-width="1.5" stroke-dasharray="6 4" {}
                    text x=(w - pad) y=(format!("{:.1}", ly - 4.0)) font-size="11" fill="#b3261e" text-anchor="end" { "threshold " (label) ": " (fmt(*v)) }
                }
                text x="4" y="14" font-size="12" fill="#1a1a1a" { (c.signal) " (" (unit) ")" }
                text x="4" y=(format!("{:.1}", y(max / 1.1) + 12.0)) font-size="11" fill="#1a1a1a" { (fmt(max / 1.1)) }
                text x=(pad) y=(h - 6.0) font-size="11" fill="#1a1a1a" { (first.map_or(String::new(), |d| d.to_string())) }
                text x=(w - pad) y=(h - 6.0) font-size="11" fill="#1a1a1a" text-anchor="end" { (last.map_or(String::new(), |d| d.to_string())) }
            }
            figcaption {
                details {
                    summary { "The " (c.points.len()) " points of " (c.signal) " as a table" }
                    table {
                        thead { tr { th scope="col" { "day" } th scope="col" { (unit) } } }
                        tbody {
                            @for (d, v) in &c.points { tr { td { (d) } td.num { (fmt(v / div)) } } }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(points: &[(i64, f64)]) -> String {
        series_path(points, |d| d as f64, |v| v)
    }

    #[test]
    fn a_missing_day_is_a_gap_not_a_line() {
        assert_eq!(path(&[(0, 1.0), (1, 2.0), (2, 3.0), (5, 6.0), (6, 7.0)]), "M0.0,1.0 L1.0,2.0 L2.0,3.0 M5.0,6.0 L6.0,7.0");
        assert_eq!(path(&[(0, 1.0), (1, 2.0), (3, 4.0), (5, 6.0), (6, 7.0)]), "M0.0,1.0 L1.0,2.0 M3.0,4.0h0 M5.0,6.0 L6.0,7.0");
        assert_eq!(path(&[]), "");
    }

    #[test]
    fn thresholds_become_daily_levels_when_they_are_levels() {
        assert_eq!(daily_threshold("rate per hour over 7 days", 10.0), Some(240.0));
        assert_eq!(daily_threshold("rate per day over 7 days", 10.0), Some(10.0));
        assert_eq!(daily_threshold("largest day of 7", 10.0), Some(10.0));
        assert_eq!(daily_threshold("sum over 5 days", 10.0), Some(2.0));
        assert_eq!(daily_threshold("last 7 days over the 7 days 60 days earlier", 2.0), None);
        assert_eq!(daily_threshold("sum over many days", 2.0), None);
    }

    #[test]
    fn findings_of_one_signal_make_one_chart_with_their_thresholds() {
        let finding = |day: u32, threshold: f64| {
            let d = NaiveDate::from_ymd_opt(2025, 6, day).unwrap();
            let points: Vec<Value> = (1..=day).map(|x| serde_json::json!([format!("2025-06-{x:02}"), f64::from(x)])).collect();
            CaseFinding {
                via: "subject".into(),
                added_at: chrono::Utc::now(),
                finding: cases::Finding {
                    policy: cases::PolicyRef { id: "p".into(), version: 1, sha256: String::new() },
                    title: String::new(),
                    account_id: "a".into(),
                    scope: cases::SubjectKind::Account,
                    as_of: d,
                    window_start: d,
                    severity: "high".into(),
                    score: 1.0,
                    measured: vec![serde_json::json!({"signal": "s", "measure": "rate per day over 7 days", "value": 9.0, "op": ">=", "threshold": threshold})],
                    evidence: vec![serde_json::json!({"signal": "s", "points": points})],
                },
                withdrawn: None,
            }
        };
        let c = charts(&[finding(3, 2.0), finding(5, 2.0)]);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].points.len(), 5, "days 1 to 3 are read twice, kept once");
        assert_eq!(c[0].thresholds, vec![(2.0, "p (rate per day over 7 days)".to_string())]);
        assert_eq!(c[0].findings.len(), 2);
        let svg = render(&c[0], 0).into_string();
        assert!(svg.contains("stroke=\"#b3261e\"") && svg.contains("threshold p (rate per day over 7 days): 2.00"), "{svg}");
        // The daily level scan writes wins over the measure's words, whatever they say.
        let mut f = finding(3, 2.0);
        f.finding.measured =
            vec![serde_json::json!({"signal": "s", "measure": "7-day mean against the peers", "value": 9.0, "op": ">=", "threshold": 5.0, "daily": 5.0})];
        assert_eq!(charts(&[f])[0].thresholds, vec![(5.0, "p (7-day mean against the peers)".to_string())]);
    }
}
