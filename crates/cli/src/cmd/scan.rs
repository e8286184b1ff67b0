//! `oversight scan` and `oversight eval`: the policy pack over the lake's daily series.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::NaiveDate;
use clap::{Args, ValueEnum};
use detect::{Scanner, engine};

use crate::exit;

/// Scan the lake with a policy pack and print the findings of one day.
///
/// Each policy (a TOML file: see policies/ in the repository) is compiled to one SQL query over the daily signal
/// series, the tenant registry (sector, parent, approvals) and the events. A finding names the policy (id, version,
/// SHA-256 of its file), the account, each measured value beside its threshold, and the series points used.
/// The same lake and pack give byte-identical JSON.
///
/// Beside the findings it prints the coverage: what the lake holds per provider and month, the deliveries behind it,
/// the quarantined share, and the accounts not assessed (data on fewer than half of the 30 days up to the day).
///
/// Exit codes: 0 no finding; 4 findings were made; 6 the quarantined share of rows is above --max-quarantine-share
/// (the findings are printed all the same); 1 the lake or a policy could not be read; 2 bad command line.
#[derive(Args)]
pub struct ScanArgs {
    /// The lake folder.
    #[arg(long, default_value = lake::DEFAULT_LAKE, env = "OVERSIGHT_LAKE")]
    lake: PathBuf,
    #[command(flatten)]
    pack: PackArgs,
    /// The day to report (default: the last day in the lake).
    #[arg(long)]
    as_of: Option<NaiveDate>,
    /// Output format (parquet needs --out).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Write the findings to this file (parquet).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Read the daily series from this Parquet file (`oversight signals --format parquet --out FILE`) instead of
    /// building it from the lake: the queries stream it rather than hold it in memory.
    #[arg(long)]
    series: Option<PathBuf>,
    /// After the scan, write every SQL statement it ran to DIR (NNN-LABEL.sql, in order) and the tables they join
    /// besides `series` (tenants, approvals, events) as Parquet, so another engine can replay the same SQL.
    #[arg(long, value_name = "DIR")]
    emit_sql: Option<PathBuf>,
    /// The share of quarantined rows (0 to 1) above which the lake is too incomplete to trust a "no finding": the
    /// scan exits 6. It exits 6 as well when deliveries were refused and not ingested since.
    #[arg(long, default_value_t = 0.01)]
    max_quarantine_share: f64,
    /// The engine that runs the queries: `local` (this process) or `ballista://HOST:PORT`, the scheduler of an
    /// Apache Ballista cluster (see `oversight cluster`).
    #[arg(long, default_value = "local", env = "OVERSIGHT_ENGINE")]
    engine: ::engine::Engine,
}

/// Score a policy pack against a scenario folder's labels.json, walking every day.
///
/// Reports recall per scenario, false positives per 10,000 benign accounts with the hard negatives listed one by
/// one, and days from each scenario's first observable day to its first finding.
///
/// Exit codes: 0 evaluated; 1 the lake, the scenario folder or a policy could not be read; 2 bad command line.
#[derive(Args)]
pub struct EvalArgs {
    /// The scenario folder (registry.csv, events.csv, labels.json).
    #[arg(long)]
    scenario: PathBuf,
    /// The lake the scenario's exports were ingested into.
    #[arg(long, default_value = lake::DEFAULT_LAKE, env = "OVERSIGHT_LAKE")]
    lake: PathBuf,
    /// A folder of policy files (default: the built-in pack).
    #[arg(long)]
    policies: Option<PathBuf>,
    /// Read the daily series from this Parquet file (`oversight signals --format parquet --out FILE`) instead of
    /// building it from the lake.
    #[arg(long)]
    series: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// The engine that runs the queries: `local` (this process) or `ballista://HOST:PORT`, the scheduler of an
    /// Apache Ballista cluster (see `oversight cluster`).
    #[arg(long, default_value = "local", env = "OVERSIGHT_ENGINE")]
    engine: ::engine::Engine,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum Format {
    /// A ranked table of accounts, then one line per finding.
    Table,
    /// A JSON document: the ranked accounts and every finding with its evidence.
    Json,
    /// Parquet, one row per finding; measured values and evidence as JSON text (needs --out).
    Parquet,
}

/// The policy pack and what it is scanned against, as `scan` and `run` take them.
#[derive(Args)]
pub struct PackArgs {
    /// A folder of policy files (default: the built-in pack).
    #[arg(long)]
    policies: Option<PathBuf>,
    /// The tenant registry (accounts not in it are scanned as sector `unknown`).
    #[arg(long)]
    registry: Option<PathBuf>,
    /// Enforcement-relevant events.
    #[arg(long)]
    events: Option<PathBuf>,
}

impl PackArgs {
    /// The pack, the registry and the events, read.
    pub fn load(&self) -> anyhow::Result<(Vec<detect::Loaded>, registry::Registry, registry::Events)> {
        let pack = detect::load_pack(self.policies.as_deref())?;
        let (registry, events) = context(self.registry.as_deref(), self.events.as_deref())?;
        Ok((pack, registry, events))
    }
}

/// The registry and the events from their files; empty when not given.
fn context(registry: Option<&Path>, events: Option<&Path>) -> anyhow::Result<(registry::Registry, registry::Events)> {
    let registry = match registry {
        Some(p) => registry::Registry::from_path(p)?,
        None => registry::Registry::default(),
    };
    let events = match events {
        Some(p) => registry::Events::from_path(p)?,
        None => registry::Events::default(),
    };
    Ok((registry, events))
}

/// The lake's daily series, the registry and the events, ready to scan.
pub async fn scanner(lake_dir: &Path, registry: Option<&Path>, events: Option<&Path>) -> anyhow::Result<Scanner> {
    let (registry, events) = context(registry, events)?;
    Ok(source(lake_dir, None, registry, events, &::engine::Engine::Local).await?.0)
}

/// The lake a scan reads, to say what its result rests on.
pub(super) struct Holdings {
    ctx: signals::SessionContext,
    lake: lake::Snapshot,
}

impl Holdings {
    /// The coverage judged on the 30 days up to `as_of`.
    pub(super) async fn coverage(&self, as_of: NaiveDate) -> anyhow::Result<signals::Coverage> {
        Ok(signals::coverage(&self.ctx, self.lake.state(), &self.lake.live_paths("quarantine"), Some(as_of)).await?)
    }
}

/// The coverage of the lake at `lake_dir` up to `as_of`, when there is a lake.
pub(super) async fn coverage_of(lake_dir: &Path, as_of: NaiveDate) -> anyhow::Result<Option<signals::Coverage>> {
    match holdings(lake_dir, &::engine::Engine::Local).await? {
        Some(h) => Ok(Some(h.coverage(as_of).await?)),
        None => Ok(None),
    }
}

/// The lake at `lake_dir` with its usage registered, when there is one.
async fn holdings(lake_dir: &Path, on: &::engine::Engine) -> anyhow::Result<Option<Holdings>> {
    // A folder without a manifest is no lake (scan then reads --series alone); a store URL is opened and must be one.
    let url = lake_dir.to_string_lossy().contains("://");
    if !url && !lake_dir.join("_manifest").exists() {
        return Ok(None);
    }
    let lake = lake::Snapshot::open(lake_dir).await.with_context(|| format!("opening the lake at {}", lake_dir.display()))?;
    let ctx = signals::session_at(lake.root(), &lake.live_paths("usage"), signals::DEFAULT_MEMORY_LIMIT, on).await?;
    Ok(Some(Holdings { ctx, lake }))
}

/// The daily series from a Parquet file when one is given, else built from the lake; the registry and the events;
/// and the lake, when there is one, for the coverage.
/// The queries run `on` the engine given.
async fn source(
    lake_dir: &Path,
    series: Option<&Path>,
    registry: registry::Registry,
    events: registry::Events,
    on: &::engine::Engine,
) -> anyhow::Result<(Scanner, Option<Holdings>)> {
    let held = holdings(lake_dir, on).await?;
    if let Some(path) = series {
        if !path.is_file() {
            bail!("{} is not a file: write the series with `oversight signals --format parquet --out {}`", path.display(), path.display());
        }
        let scanner = Scanner::from_parquet(path, registry, events, on).await.with_context(|| format!("reading the series in {}", path.display()))?;
        return Ok((scanner, held));
    }
    let Some(held) = held else {
        bail!("{} is not a lake yet: run `oversight ingest --lake {} PATH...` first", lake_dir.display(), lake_dir.display());
    };
    let mapper = signals::CatalogMapper::new(catalog::Catalog::embedded());
    // Through a scratch file, not memory: at 10,000 accounts the in-memory series cost 7.5–15 GB.
    let series = signals::series_stream(&held.ctx, &mapper, signals::Granularity::Day).await?;
    Ok((Scanner::from_stream(series.points, registry, events, on).await?, Some(held)))
}

/// The coverage as JSON: the totals, the months, the deliveries and the accounts not assessed (every account would
/// be as many rows as the lake has accounts).
pub(super) fn coverage_json(c: &signals::Coverage) -> serde_json::Value {
    let not_assessed: Vec<_> = c.not_assessed().collect();
    serde_json::json!({
        "as_of": c.as_of, "last_day": c.last_day, "window_days": signals::coverage::WINDOW_DAYS,
        "rows_kept": c.rows_kept, "rows_quarantined": c.rows_quarantined, "quarantine_share": c.quarantine_share,
        "accounts": c.accounts.len(), "accounts_assessed": c.accounts.len() - not_assessed.len(),
        "not_assessed": not_assessed, "months": c.months, "quarantined": c.quarantined, "deliveries": c.deliveries,
    })
}

/// The coverage as lines a person reads: one per provider (months, billing accounts, rows, deliveries), the
/// quarantined share, and the accounts not assessed.
pub(super) fn coverage_text(c: &signals::Coverage) -> String {
    use std::collections::BTreeMap;
    let mut out = String::from("coverage (what this result rests on):\n");
    let mut by_provider: BTreeMap<&str, (std::collections::BTreeSet<&str>, std::collections::BTreeSet<&str>, u64)> = BTreeMap::new();
    for m in &c.months {
        let e = by_provider.entry(m.provider.as_str()).or_default();
        e.0.insert(m.month.as_str());
        e.1.insert(m.billing_account_id.as_str());
        e.2 += m.rows;
    }
    out += &format!("  {:<28} {:>7} {:>17} {:>12}\n", "provider", "months", "billing accounts", "rows");
    for (p, (months, accounts, rows)) in &by_provider {
        let span = match (months.first(), months.last()) {
            (Some(a), Some(b)) if a != b => format!("{a}..{b}"),
            (Some(a), _) => a.to_string(),
            _ => String::new(),
        };
        out += &format!("  {p:<28} {:>7} {:>17} {rows:>12}  {span}\n", months.len(), accounts.len());
    }
    let (applied, replaced, recorded): (u64, u64, u64) = c.deliveries.iter().fold((0, 0, 0), |a, d| (a.0 + d.applied, a.1 + d.replaced, a.2 + d.recorded_only));
    out += &format!("  deliveries: {applied} live, {replaced} replaced by a newer one, {recorded} recorded only (older or superseded)\n");
    for d in c.deliveries.iter().filter(|d| d.refused > 0) {
        out += &format!(
            "  MISSING {} {}: {} deliveries refused and not ingested since ({} with listed files absent or short)\n",
            d.provider, d.month, d.refused, d.missing
        );
    }
    out += &format!("  rows: {} kept, {} quarantined ({:.3} %)\n", c.rows_kept, c.rows_quarantined, c.quarantine_share * 100.0);
    for q in c.quarantined.iter().take(5) {
        let account = if q.billing_account_id.is_empty() { "(unreadable billing account)" } else { q.billing_account_id.as_str() };
        let month = if q.month.is_empty() { "(unreadable month)" } else { q.month.as_str() };
        out += &format!("    quarantined: {} {account} {month}: {} rows\n", q.provider, q.rows);
    }
    if c.quarantined.len() > 5 {
        out += &format!("    … and {} more billing account months with rows quarantined (--format json lists them all)\n", c.quarantined.len() - 5);
    }
    let not: Vec<_> = c.not_assessed().collect();
    let missing: u64 = c.accounts.iter().map(|a| a.days_missing).sum();
    out += &format!(
        "  accounts: {} with data, {} not assessed (rows on fewer than half of the {} days up to {}); {missing} account-days without data since their first\n",
        c.accounts.len(),
        not.len(),
        signals::coverage::WINDOW_DAYS,
        c.as_of.map_or("-".into(), |d| d.to_string())
    );
    for a in not.iter().take(10) {
        out += &format!(
            "    not assessed: {} {} (rows on {} of {} days; last {})\n",
            a.billing_account_id, a.sub_account_id, a.days_in_window, a.window_days, a.last_day
        );
    }
    if not.len() > 10 {
        out += &format!("    … and {} more (--format json lists them all)\n", not.len() - 10);
    }
    out
}

/// Run `scan`.
pub fn run(a: ScanArgs) -> anyhow::Result<ExitCode> {
    if a.format == Format::Parquet && a.out.is_none() {
        eprintln!("error: --format parquet needs --out FILE");
        return Ok(ExitCode::from(exit::USAGE));
    }
    let (pack, registry, events) = a.pack.load()?;
    let rt = super::runtime()?;
    rt.block_on(async {
        let (scanner, held) = source(&a.lake, a.series.as_deref(), registry, events, &a.engine).await?;
        let as_of = match a.as_of {
            Some(d) => d,
            None => engine::date(scanner.last_day().await?.context("the lake holds no mapped usage")?),
        };
        let findings = detect::scan(&scanner, &pack, as_of).await?;
        if let Some(dir) = &a.emit_sql {
            emit_sql(&scanner, dir).with_context(|| format!("writing the statements to {}", dir.display()))?;
        }
        let ranked = detect::rank(&findings);
        let coverage = match &held {
            Some(h) => Some(h.coverage(as_of).await?),
            None => None,
        };
        let quarantined = coverage.as_ref().is_some_and(|c| c.quarantine_share > a.max_quarantine_share);
        let refused = coverage.as_ref().map_or(0, |c| c.refused());
        let incomplete = quarantined || refused > 0;
        match a.format {
            Format::Json => {
                let v = serde_json::json!({"as_of": as_of.to_string(), "policies": pack.iter().map(|p| serde_json::json!({"id": p.policy.id, "version": p.policy.version, "sha256": p.sha256})).collect::<Vec<_>>(), "accounts": ranked, "findings": findings, "coverage": coverage.as_ref().map(coverage_json)});
                println!("{}", serde_json::to_string_pretty(&v)?);
            }
            Format::Parquet => {
                let path = a.out.as_deref().expect("checked above");
                write_parquet(&findings, path).with_context(|| format!("writing {}", path.display()))?;
                println!("{} finding(s) as of {as_of} written to {}", findings.len(), path.display());
            }
            Format::Table => {
                let mut out = format!("as of {as_of}: {} finding(s) on {} account(s), {} policies\n", findings.len(), ranked.len(), pack.len());
                out += &ranked_table(&scanner, &ranked, ranked.len());
                for f in &findings {
                    let m: Vec<String> = f.measured.iter().map(|m| format!("{} {} = {:.4e} {} {:.4e}", m.signal, m.measure, m.value, m.op, m.threshold)).collect();
                    out += &format!("  {} {} v{}: {}\n", f.account_id, f.policy.id, f.policy.version, m.join("; "));
                }
                match &coverage {
                    Some(c) => out += &coverage_text(c),
                    None => out += &format!("coverage: unknown (no lake at {}; the series file alone does not say what it rests on)\n", a.lake.display()),
                }
                print!("{}", crate::term::clean(&out));
            }
        }
        if refused > 0 {
            eprintln!("error: {refused} deliveries were refused and not ingested since: the lake lacks their rows, so a missing finding may be missing data (see the coverage)");
        }
        if let Some(c) = coverage.as_ref().filter(|_| quarantined) {
            eprintln!(
                "error: {:.3} % of rows were quarantined (more than --max-quarantine-share {:.3} %): a missing finding may be missing data",
                c.quarantine_share * 100.0,
                a.max_quarantine_share * 100.0
            );
        }
        Ok(ExitCode::from(if incomplete {
            exit::INCOMPLETE
        } else if findings.is_empty() {
            exit::OK
        } else {
            exit::FINDINGS
        }))
    })
}

/// The ranked accounts as a text table (at most `limit` rows), with each account's registry name; empty when none.
pub(super) fn ranked_table(scanner: &Scanner, ranked: &[detect::AccountSummary], limit: usize) -> String {
    if ranked.is_empty() {
        return String::new();
    }
    let mut out = format!("{:<4} {:<40} {:<16} {:<9} {:>8}  policies\n", "rank", "account", "sector", "severity", "score");
    for (i, r) in ranked.iter().enumerate().take(limit) {
        let name = scanner.registry().get(&r.account_id).map(|t| format!("  {}", t.name)).unwrap_or_default();
        let severity = format!("{:?}", r.severity).to_lowercase();
        out += &format!("{:<4} {:<40} {:<16} {:<9} {:>8.2}  {}{name}\n", i + 1, r.account_id, r.sector, severity, r.score, r.policies.join(", "));
    }
    out
}

/// Every statement the scan ran, as DIR/NNN-LABEL.sql in order, and the tables they join besides `series`.
pub(super) fn emit_sql(scanner: &Scanner, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut timings = String::from("file\tmillis\n");
    for (i, s) in scanner.statements().iter().enumerate() {
        let label: String = s.label.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' }).collect();
        let file = format!("{i:03}-{label}.sql");
        std::fs::write(dir.join(&file), format!("{}\n", s.sql))?;
        timings.push_str(&format!("{file}\t{:.1}\n", s.elapsed.as_secs_f64() * 1000.0));
    }
    // How long each statement took here, so a replay elsewhere can be compared statement by statement.
    std::fs::write(dir.join("timings.tsv"), timings)?;
    for (name, batch) in scanner.tables() {
        let mut w = parquet::arrow::ArrowWriter::try_new(std::fs::File::create(dir.join(format!("{name}.parquet")))?, batch.schema(), None)?;
        w.write(batch)?;
        w.close()?;
    }
    Ok(())
}

/// Findings as Parquet: one row per finding, nested parts as JSON text.
fn write_parquet(findings: &[detect::Finding], path: &Path) -> anyhow::Result<()> {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    let text = |f: &dyn Fn(&detect::Finding) -> String| -> ArrayRef { Arc::new(StringArray::from(findings.iter().map(f).collect::<Vec<_>>())) };
    let schema = Arc::new(Schema::new(
        [
            ("policy_id", DataType::Utf8),
            ("policy_version", DataType::Int64),
            ("policy_sha256", DataType::Utf8),
            ("account_id", DataType::Utf8),
            ("scope", DataType::Utf8),
            ("sector", DataType::Utf8),
            ("as_of", DataType::Utf8),
            ("window_start", DataType::Utf8),
            ("severity", DataType::Utf8),
            ("score", DataType::Float64),
            ("measured", DataType::Utf8),
            ("evidence", DataType::Utf8),
        ]
        .into_iter()
        .map(|(n, t)| Field::new(n, t, false))
        .collect::<Vec<_>>(),
    ));
    let columns: Vec<ArrayRef> = vec![
        text(&|f| f.policy.id.clone()),
        Arc::new(Int64Array::from(findings.iter().map(|f| i64::from(f.policy.version)).collect::<Vec<_>>())),
        text(&|f| f.policy.sha256.clone()),
        text(&|f| f.account_id.clone()),
        text(&|f| serde_json::to_value(f.scope).map(|v| v.as_str().unwrap_or("").to_string()).unwrap_or_default()),
        text(&|f| f.sector.clone()),
        text(&|f| f.as_of.clone()),
        text(&|f| f.window_start.clone()),
        text(&|f| serde_json::to_value(f.severity).map(|v| v.as_str().unwrap_or("").to_string()).unwrap_or_default()),
        Arc::new(Float64Array::from(findings.iter().map(|f| f.score).collect::<Vec<_>>())),
        text(&|f| serde_json::to_string(&f.measured).expect("findings serialise")),
        text(&|f| serde_json::to_string(&f.evidence).expect("findings serialise")),
    ];
    let batch = arrow::record_batch::RecordBatch::try_new(schema.clone(), columns)?;
    let mut w = parquet::arrow::ArrowWriter::try_new(std::fs::File::create(path)?, schema, None)?;
    w.write(&batch)?;
    w.close()?;
    Ok(())
}

/// Run `eval`.
pub fn eval(a: EvalArgs) -> anyhow::Result<ExitCode> {
    let pack = detect::load_pack(a.policies.as_deref())?;
    let labels_path = a.scenario.join("labels.json");
    let labels = simulate::Labels::parse(&std::fs::read_to_string(&labels_path).with_context(|| format!("reading {}", labels_path.display()))?)
        .with_context(|| format!("parsing {}", labels_path.display()))?;
    let (registry, events) = context(Some(&a.scenario.join("registry.csv")), Some(&a.scenario.join("events.csv")))?;
    let rt = super::runtime()?;
    rt.block_on(async {
        let (scanner, held) = source(&a.lake, a.series.as_deref(), registry, events, &a.engine).await?;
        let report = detect::evaluate(&scanner, &pack, &labels).await?;
        let coverage = match (&held, scanner.last_day().await?) {
            (Some(h), Some(last)) => Some(h.coverage(engine::date(last)).await?),
            _ => None,
        };
        if a.json {
            let mut v = serde_json::to_value(&report)?;
            v["coverage"] = coverage.as_ref().map_or(serde_json::Value::Null, coverage_json);
            println!("{}", serde_json::to_string_pretty(&v)?);
            return Ok(ExitCode::from(exit::OK));
        }
        let not_assessed: std::collections::BTreeSet<&str> = coverage.iter().flat_map(|c| c.not_assessed()).map(|a| a.sub_account_id.as_str()).collect();
        println!("{:<24} {:>8} {:>7} {:>7}  days to detect (observable → first finding)", "scenario", "accounts", "caught", "recall");
        for s in &report.scenarios {
            let days: Vec<String> = s
                .detail
                .iter()
                .map(|d| match d.days_to_detect {
                    Some(n) => n.to_string(),
                    None if not_assessed.contains(d.account_id.as_str()) => "missed (not assessed: data missing)".to_string(),
                    None => "missed".to_string(),
                })
                .collect();
            println!("{:<24} {:>8} {:>7} {:>6.0}%  {}", s.scenario, s.accounts, s.caught, s.recall * 100.0, days.join(", "));
        }
        println!(
            "false positives: {} of {} benign accounts ({:.2} per 10,000); {} finding(s) on accounts that are neither",
            report.false_positives.len(),
            report.benign,
            report.false_positives_per_10k,
            report.neither
        );
        for f in &report.false_positives {
            println!(
                "  FP {} ({}{}) from {}: {}",
                crate::term::clean(&f.account_id),
                f.kind,
                if f.hard_negative { ", hard negative" } else { "" },
                f.first_finding,
                f.policies.join(", ")
            );
        }
        // One line per kind that passed whole (a twin organisation is dozens of accounts), one per account flagged.
        let mut kinds: std::collections::BTreeMap<&str, (usize, Vec<&detect::eval::HardNegative>)> = Default::default();
        for h in &report.hard_negatives {
            let e = kinds.entry(h.kind.as_str()).or_default();
            e.0 += 1;
            if !h.policies.is_empty() {
                e.1.push(h);
            }
        }
        for (kind, (n, flagged)) in &kinds {
            if flagged.is_empty() {
                let who = if *n == 1 { "1 account".to_string() } else { format!("{n} accounts") };
                println!("  hard negative {kind:<22} {who:<40} passed");
            }
        }
        for h in kinds.values().flat_map(|k| &k.1) {
            println!("  hard negative {:<22} {:<40} FLAGGED by {}", h.kind, crate::term::clean(&h.account_id), h.policies.join(", "));
        }
        if let Some(c) = &coverage {
            print!("{}", crate::term::clean(&coverage_text(c)));
        }
        Ok(ExitCode::from(exit::OK))
    })
}
