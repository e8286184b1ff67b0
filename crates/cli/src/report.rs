//! The self-contained HTML report: one chart per flagged account (inline SVG, no scripts, no network), with the
//! policy thresholds drawn in, and the findings as a table.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use console::series_path;
use detect::{Finding, Loaded, Scanner};

/// How a signal is shown: its daily value is divided by `div` to give `unit`.
fn display(signal: &str) -> (&'static str, f64) {
    match signal {
        "storage.stored_bytes" => ("TB stored", 1e12),
        "network.egress_bytes" => ("TB out a day", 1e12),
        "ai.speech_seconds" => ("audio hours an hour", 3600.0 * 24.0),
        "ai.translation_chars" => ("M characters a day", 1e6),
        "ai.face_transactions" => ("M face transactions a day", 1e6),
        "ai.ocr_pages" => ("k pages a day", 1e3),
        "marketplace.publisher_cost" => ("$k a day", 1e3),
        "compute.vm_hours" => ("VM hours a day", 1.0),
        "compute.gpu_hours" => ("GPU hours a day", 1.0),
        _ => ("a day", 1.0),
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A threshold drawn on a chart of daily values, in the chart's unit, when the condition compares a daily level.
fn threshold_line(pack: &[Loaded], f: &Finding, signal: &str, div: f64) -> Vec<(f64, String)> {
    let mut out = Vec::new();
    let Some(p) = pack.iter().find(|p| p.policy.id == f.policy.id) else { return out };
    for c in p.policy.conditions.iter().filter(|c| c.signal.get_ref() == signal) {
        let Some(daily) = c.daily_level() else { continue };
        out.push((daily / div, format!("{} ({})", p.policy.id, esc(&format!("{:?}", c.measure).to_lowercase()))));
    }
    out
}

/// One chart of daily values (day numbers, sorted) over the days `from..=to`, with threshold lines.
fn chart(title: &str, unit: &str, points: &[(i64, f64)], (from, to): (i64, i64), lines: &[(f64, String)]) -> String {
    let (w, h, pad) = (640.0, 180.0, 40.0);
    let max = points.iter().map(|p| p.1).chain(lines.iter().map(|l| l.0)).fold(0.0f64, f64::max).max(1e-12) * 1.1;
    let span = (to - from).max(1) as f64;
    let x = |day: i64| pad + (w - 2.0 * pad) * (day - from) as f64 / span;
    let y = |v: f64| h - pad / 2.0 - (h - pad) * v / max;
    let mut svg = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{}\">", esc(title));
    let _ = write!(svg, "<rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"#fafafa\" stroke=\"#ddd\"/>");
    let _ = write!(svg, "<path fill=\"none\" stroke=\"#1f5fa8\" stroke-width=\"1.5\" stroke-linecap=\"round\" d=\"{}\"/>", series_path(points, x, y));
    for (v, label) in lines {
        let _ = write!(svg, "<line x1=\"{pad}\" x2=\"{}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#c0392b\" stroke-dasharray=\"6 4\"/>", w - pad, y(*v), y(*v));
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{:.1}\" font-size=\"10\" fill=\"#c0392b\" text-anchor=\"end\">threshold {label}: {}</text>",
            w - pad,
            y(*v) - 3.0,
            fmt(*v)
        );
    }
    let _ = write!(svg, "<text x=\"4\" y=\"12\" font-size=\"11\">{} ({})</text>", esc(title), esc(unit));
    let _ = write!(svg, "<text x=\"4\" y=\"{:.1}\" font-size=\"10\">{}</text>", y(max / 1.1) + 10.0, fmt(max / 1.1));
    let (first, last) = (detect::engine::date(from), detect::engine::date(to));
    let _ = write!(
        svg,
        "<text x=\"{pad}\" y=\"{}\" font-size=\"10\">{first}</text><text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">{last}</text>",
        h - 4.0,
        w - pad,
        h - 4.0
    );
    svg.push_str("</svg>");
    svg
}

fn fmt(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

/// What the findings rest on, as a section: the rows kept and quarantined, the deliveries per provider and month
/// (with the refused ones that are still missing), and the accounts not assessed.
fn coverage_section(c: &signals::Coverage) -> String {
    let mut out = String::from("<section><h2>Coverage: what these findings rest on</h2>");
    let not: Vec<_> = c.not_assessed().collect();
    let _ = write!(
        out,
        "<p>{} rows kept, {} quarantined ({:.3} %). {} accounts with data, {} not assessed (rows on fewer than half of the {} days up to {}): no finding on those means nothing.",
        c.rows_kept,
        c.rows_quarantined,
        c.quarantine_share * 100.0,
        c.accounts.len(),
        not.len(),
        signals::coverage::WINDOW_DAYS,
        c.as_of.map_or("-".into(), |d| d.to_string())
    );
    if c.refused() > 0 {
        let _ = write!(out, " <strong>{} deliveries were refused and not ingested since: their rows are missing.</strong>", c.refused());
    }
    out.push_str("</p><table><tr><th>provider</th><th>month</th><th>live</th><th>replaced</th><th>recorded only</th><th>refused</th><th>of which files missing</th><th>rows read</th><th>rows quarantined</th></tr>");
    for d in &c.deliveries {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&d.provider),
            esc(&d.month),
            d.applied,
            d.replaced,
            d.recorded_only,
            d.refused,
            d.missing,
            d.rows_read,
            d.rows_quarantined
        );
    }
    out.push_str("</table>");
    if !c.quarantined.is_empty() {
        out.push_str("<p>Quarantined rows by billing account and month (the quarantine table has each cell):</p><table><tr><th>provider</th><th>billing account</th><th>month</th><th>rows</th></tr>");
        for q in c.quarantined.iter().take(20) {
            let _ = write!(out, "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", esc(&q.provider), esc(&q.billing_account_id), esc(&q.month), q.rows);
        }
        out.push_str("</table>");
    }
    if !not.is_empty() {
        out.push_str("<p>Not assessed:</p><table><tr><th>billing account</th><th>sub-account</th><th>days with rows in the window</th><th>last day</th></tr>");
        for a in not.iter().take(50) {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{} of {}</td><td>{}</td></tr>",
                esc(&a.billing_account_id),
                esc(&a.sub_account_id),
                a.days_in_window,
                a.window_days,
                a.last_day
            );
        }
        out.push_str("</table>");
    }
    out.push_str("</section>");
    out
}

/// Render the report for the findings of one day: a chart per flagged account and signal, over `from..=to`, and
/// the coverage they rest on when it is known.
pub async fn html(
    scanner: &Scanner,
    pack: &[Loaded],
    findings: &[Finding],
    coverage: Option<&signals::Coverage>,
    (from, to): (i64, i64),
    title: &str,
) -> anyhow::Result<String> {
    let ranked = detect::rank(findings);
    let mut out = String::from("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
    out.push_str(&esc(title));
    out.push_str("</title><style>body{font-family:sans-serif;margin:2em;max-width:1400px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 6px;font-size:12px;text-align:left}section{margin-bottom:2em}.charts{display:flex;flex-wrap:wrap;gap:8px}</style></head><body>");
    let _ = write!(
        out,
        "<h1>{}</h1><p>{} flagged account(s), {} finding(s). Dashed red lines are policy thresholds.</p>",
        esc(title),
        ranked.len(),
        findings.len()
    );
    if let Some(c) = coverage {
        out.push_str(&coverage_section(c));
    }
    let mut by: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in findings {
        by.entry(f.account_id.as_str()).or_default().push(f);
    }
    for (i, r) in ranked.iter().enumerate() {
        let fs = &by[r.account_id.as_str()];
        let name = scanner.registry().get(&r.account_id).map(|t| t.name.clone()).unwrap_or_default();
        let _ = write!(
            out,
            "<section><h2>{}. {} <small>{} — {} — {:?}</small></h2><div class=\"charts\">",
            i + 1,
            esc(&r.account_id),
            esc(&name),
            esc(&r.sector),
            r.severity
        );
        let mut signals: BTreeMap<String, (detect::policy::Scope, Vec<(f64, String)>)> = BTreeMap::new();
        for f in fs {
            for m in &f.measured {
                let (_, div) = display(&m.signal);
                let e = signals.entry(m.signal.clone()).or_insert((f.scope, vec![]));
                e.1.extend(threshold_line(pack, f, &m.signal, div));
            }
        }
        // Egress tells whether data is leaving; show it beside the flagged signals.
        signals.entry("network.egress_bytes".into()).or_insert((fs[0].scope, vec![]));
        for (signal, (scope, lines)) in &signals {
            let (unit, div) = display(signal);
            let pts: Vec<(i64, f64)> = scanner.points(*scope, &r.account_id, signal, from, to).await?.into_iter().map(|(d, v)| (d, v / div)).collect();
            if !pts.is_empty() {
                out.push_str(&chart(signal, unit, &pts, (from, to), lines));
            }
        }
        out.push_str("</div><table><tr><th>policy</th><th>severity</th><th>signal</th><th>measure</th><th>value</th><th>threshold</th><th>clause</th></tr>");
        for f in fs {
            for m in &f.measured {
                let _ = write!(
                    out,
                    "<tr><td>{} v{}</td><td>{:?}</td><td>{}</td><td>{}</td><td>{:.4e}</td><td>{} {:.4e}</td><td>{}</td></tr>",
                    esc(&f.policy.id),
                    f.policy.version,
                    f.severity,
                    esc(&m.signal),
                    esc(&m.measure),
                    m.value,
                    esc(&m.op),
                    m.threshold,
                    esc(&f.policy.clause)
                );
            }
        }
        out.push_str("</table></section>");
    }
    out.push_str("</body></html>\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// x is the day, y the value, so the path can be read.
    fn path(points: &[(i64, f64)]) -> String {
        series_path(points, |d| d as f64, |v| v)
    }

    #[test]
    fn a_missing_day_is_a_gap_not_a_line() {
        // Days 3 and 4 missing: two runs, the second starting at day 5.
        assert_eq!(path(&[(0, 1.0), (1, 2.0), (2, 3.0), (5, 6.0), (6, 7.0)]), "M0.0,1.0 L1.0,2.0 L2.0,3.0 M5.0,6.0 L6.0,7.0");
        // A day alone between gaps is a dot.
        assert_eq!(path(&[(0, 1.0), (1, 2.0), (3, 4.0), (5, 6.0), (6, 7.0)]), "M0.0,1.0 L1.0,2.0 M3.0,4.0h0 M5.0,6.0 L6.0,7.0");
        assert_eq!(path(&[(7, 1.0)]), "M7.0,1.0h0");
        assert_eq!(path(&[]), "");
    }

    #[test]
    fn days_are_placed_by_date_over_the_range() {
        let svg = chart("s", "u", &[(10, 1.0), (11, 1.0), (20, 1.0)], (10, 20), &[]);
        let d = svg.split(" d=\"").nth(1).and_then(|r| r.split('"').next()).expect("a path");
        // 560 px over 10 days: day 11 at 96, day 20 at the right edge (600), after a gap.
        assert!(d.starts_with("M40.0,") && d.contains(" L96.0,") && d.contains(" M600.0,") && d.ends_with("h0"), "{d}");
        assert!(svg.contains(">1970-01-11</text>") && svg.contains(">1970-01-21</text>"), "{svg}");
    }
}
