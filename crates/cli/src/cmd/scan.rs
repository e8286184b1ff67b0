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
/// Exit codes: 0 no finding; 4 findings were made; 1 the lake or a policy could not be read; 2 bad command line.
#[derive(Args)]
pub struct ScanArgs {
    /// The lake folder.
    #[arg(long, default_value = lake::DEFAULT_LAKE, env = "OVERSIGHT_LAKE")]
    lake: PathBuf,
    /// A folder of policy files (default: the built-in pack).
    #[arg(long)]
    policies: Option<PathBuf>,
    /// The tenant registry (accounts not in it are scanned as sector `unknown`).
    #[arg(long)]
    registry: Option<PathBuf>,
    /// Enforcement-relevant events.
    #[arg(long)]
    events: Option<PathBuf>,
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

/// The lake's daily series, the registry and the events, ready to scan.
pub async fn scanner(lake_dir: &Path, registry: Option<&Path>, events: Option<&Path>) -> anyhow::Result<Scanner> {
    source(lake_dir, None, registry, events).await
}

/// The daily series from a Parquet file when one is given, else built from the lake; the registry and the events.
async fn source(lake_dir: &Path, series: Option<&Path>, registry: Option<&Path>, events: Option<&Path>) -> anyhow::Result<Scanner> {
    let registry = match registry {
        Some(p) => registry::Registry::from_path(p)?,
        None => registry::Registry::default(),
    };
    let events = match events {
        Some(p) => registry::Events::from_path(p)?,
        None => registry::Events::default(),
    };
    if let Some(path) = series {
        if !path.is_file() {
            bail!("{} is not a file: write the series with `oversight signals --format parquet --out {}`", path.display(), path.display());
        }
        return Scanner::from_parquet(path, registry, events).await.with_context(|| format!("reading the series in {}", path.display()));
    }
    if !lake_dir.join("_manifest").exists() {
        bail!("{} is not a lake yet: run `oversight ingest --lake {} PATH...` first", lake_dir.display(), lake_dir.display());
    }
    let lake = lake::Lake::open(lake_dir).await.with_context(|| format!("opening the lake at {}", lake_dir.display()))?;
    let ctx = signals::session(&lake.live_paths("usage"))?;
    let mapper = signals::CatalogMapper::new(catalog::Catalog::embedded());
    // Through a scratch file, not memory: at 10,000 accounts the in-memory series cost 7.5–15 GB.
    let series = signals::series_stream(&ctx, &mapper, signals::Granularity::Day).await?;
    Ok(Scanner::from_stream(series.points, registry, events).await?)
}

/// Run `scan`.
pub fn run(a: ScanArgs) -> anyhow::Result<ExitCode> {
    if a.format == Format::Parquet && a.out.is_none() {
        eprintln!("error: --format parquet needs --out FILE");
        return Ok(ExitCode::from(exit::USAGE));
    }
    let pack = detect::load_pack(a.policies.as_deref())?;
    let rt = super::runtime()?;
    rt.block_on(async {
        let scanner = source(&a.lake, a.series.as_deref(), a.registry.as_deref(), a.events.as_deref()).await?;
        let as_of = match a.as_of {
            Some(d) => d,
            None => engine::date(scanner.last_day().await?.context("the lake holds no mapped usage")?),
        };
        let findings = detect::scan(&scanner, &pack, as_of).await?;
        if let Some(dir) = &a.emit_sql {
            emit_sql(&scanner, dir).with_context(|| format!("writing the statements to {}", dir.display()))?;
        }
        let ranked = detect::rank(&findings);
        match a.format {
            Format::Json => {
                let v = serde_json::json!({"as_of": as_of.to_string(), "policies": pack.iter().map(|p| serde_json::json!({"id": p.policy.id, "version": p.policy.version, "sha256": p.sha256})).collect::<Vec<_>>(), "accounts": ranked, "findings": findings});
                println!("{}", serde_json::to_string_pretty(&v)?);
            }
            Format::Parquet => {
                let path = a.out.as_deref().expect("checked above");
                write_parquet(&findings, path).with_context(|| format!("writing {}", path.display()))?;
                println!("{} finding(s) as of {as_of} written to {}", findings.len(), path.display());
            }
            Format::Table => {
                println!("as of {as_of}: {} finding(s) on {} account(s), {} policies", findings.len(), ranked.len(), pack.len());
                print!("{}", ranked_table(&scanner, &ranked, ranked.len()));
                for f in &findings {
                    let m: Vec<String> = f.measured.iter().map(|m| format!("{} {} = {:.4e} {} {:.4e}", m.signal, m.measure, m.value, m.op, m.threshold)).collect();
                    println!("  {} {} v{}: {}", f.account_id, f.policy.id, f.policy.version, m.join("; "));
                }
            }
        }
        Ok(ExitCode::from(if findings.is_empty() { exit::OK } else { exit::FINDINGS }))
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
fn emit_sql(scanner: &Scanner, dir: &Path) -> anyhow::Result<()> {
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
        [("policy_id", DataType::Utf8), ("policy_version", DataType::Int64), ("policy_sha256", DataType::Utf8), ("account_id", DataType::Utf8), ("scope", DataType::Utf8), ("sector", DataType::Utf8), ("as_of", DataType::Utf8), ("window_start", DataType::Utf8), ("severity", DataType::Utf8), ("score", DataType::Float64), ("measured", DataType::Utf8), ("evidence", DataType::Utf8)]
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
    let rt = super::runtime()?;
    rt.block_on(async {
        let scanner = source(&a.lake, a.series.as_deref(), Some(&a.scenario.join("registry.csv")), Some(&a.scenario.join("events.csv"))).await?;
        let report = detect::evaluate(&scanner, &pack, &labels).await?;
        if a.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
            return Ok(ExitCode::from(exit::OK));
        }
        println!("{:<24} {:>8} {:>7} {:>7}  days to detect (observable → first finding)", "scenario", "accounts", "caught", "recall");
        for s in &report.scenarios {
            let days: Vec<String> = s.detail.iter().map(|d| d.days_to_detect.map_or("missed".to_string(), |n| n.to_string())).collect();
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
            println!("  FP {} ({}{}) from {}: {}", f.account_id, f.kind, if f.hard_negative { ", hard negative" } else { "" }, f.first_finding, f.policies.join(", "));
        }
        for h in &report.hard_negatives {
            println!("  hard negative {:<22} {:<40} {}", h.kind, h.account_id, if h.policies.is_empty() { "passed".to_string() } else { format!("FLAGGED by {}", h.policies.join(", ")) });
        }
        Ok(ExitCode::from(exit::OK))
    })
}
