//! `oversight simulate`: a scenario folder of FOCUS exports with labelled ground truth.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use chrono::NaiveDate;
use clap::{Args, ValueEnum};
use simulate::{Cloud, Config, FocusVersion, Format, Providers};

use crate::exit;

/// Simulate FOCUS exports for a population of accounts, with the surveillance scenarios of the public record.
///
/// Writes OUT/exports (FOCUS files laid out as each cloud delivers them, every month delivered twice: a
/// month-to-date run on the 15th and the closing run), OUT/registry.csv, OUT/events.csv and OUT/labels.json (for
/// every account: benign or the scenario, its onset and first observable day, and the assumptions). The same seed
/// gives the same bytes.
///
/// Scenarios: archive-surge, interception-pipeline, exodus, structuring, biometric-sweep, analytics-vendor. Hard
/// negatives: contact-centre, broadcaster-archive, health-documents, language-lab, migration, identity-verification.
///
/// Exit codes: 0 written; 1 could not write or the configuration cannot hold the scenarios; 2 bad command line.
#[derive(Args)]
pub struct SimulateArgs {
    /// Sub-accounts to simulate (scenario accounts and hard negatives included; at least 50).
    #[arg(long, default_value_t = 1000)]
    accounts: usize,
    /// Days to simulate.
    #[arg(long, default_value_t = 365)]
    days: u32,
    /// The first day (YYYY-MM-DD).
    #[arg(long, default_value = "2025-01-01")]
    start: NaiveDate,
    /// The seed: the same seed gives the same files.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The folder to write (created; must not hold an exports/ folder yet unless --force).
    #[arg(long, default_value = "./scenario")]
    out: PathBuf,
    /// The clouds: every account on one, or each organisation on one of the three.
    #[arg(long, value_enum, default_value_t = ProviderArg::Azure)]
    provider: ProviderArg,
    /// File format of the exports: `native` writes what each cloud delivers (Azure and Google CSV.gz, AWS Parquet);
    /// the others put every cloud in one container. Each cloud keeps its own datetime, number and type forms.
    #[arg(long, value_enum, default_value_t = FormatArg::Native)]
    format: FormatArg,
    /// FOCUS version of the columns (1.0 is what focus-validator 1.0.0 checks).
    #[arg(long, value_enum, default_value_t = VersionArg::V1_2)]
    focus_version: VersionArg,
    /// Replace an existing OUT/exports folder.
    #[arg(long)]
    force: bool,
    /// Worker threads (the output does not depend on it).
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    json: bool,
}

/// `--provider` values.
#[derive(Clone, Copy, ValueEnum)]
enum ProviderArg {
    /// Microsoft Azure (Cost Management run folders).
    Azure,
    /// AWS (Data Exports executions).
    Aws,
    /// Google Cloud (billing-export extracts, append model).
    Gcp,
    /// Oracle Cloud (FOCUS report files, append model; no per-query search or per-token model meters).
    Oci,
    /// Each organisation on Azure, AWS or Google Cloud.
    Mixed,
}

/// `--format` values.
#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    /// Each cloud's own.
    Native,
    /// Plain CSV.
    Csv,
    /// Gzip-compressed CSV.
    #[value(name = "csv.gz")]
    CsvGz,
    /// Snappy Parquet.
    Parquet,
}

/// `--focus-version` values.
#[derive(Clone, Copy, ValueEnum)]
enum VersionArg {
    /// FOCUS 1.0.
    #[value(name = "1.0")]
    V1_0,
    /// FOCUS 1.2.
    #[value(name = "1.2")]
    V1_2,
}

/// Run the command.
pub fn run(a: SimulateArgs) -> anyhow::Result<ExitCode> {
    let exports = a.out.join("exports");
    if exports.exists() {
        if !a.force {
            bail!("{} already exists; pass --force to replace it, or choose another --out", exports.display());
        }
        std::fs::remove_dir_all(&exports).with_context(|| format!("removing {}", exports.display()))?;
    }
    let config = Config {
        accounts: a.accounts,
        days: a.days,
        start: a.start,
        seed: a.seed,
        providers: match a.provider {
            ProviderArg::Azure => Providers::One(Cloud::Azure),
            ProviderArg::Aws => Providers::One(Cloud::Aws),
            ProviderArg::Gcp => Providers::One(Cloud::Gcp),
            ProviderArg::Oci => Providers::One(Cloud::Oci),
            ProviderArg::Mixed => Providers::Mixed,
        },
        format: match a.format {
            FormatArg::Native => Format::Native,
            FormatArg::Csv => Format::Csv,
            FormatArg::CsvGz => Format::CsvGz,
            FormatArg::Parquet => Format::Parquet,
        },
        focus_version: match a.focus_version {
            VersionArg::V1_0 => FocusVersion::V1_0,
            VersionArg::V1_2 => FocusVersion::V1_2,
        },
        threads: a.threads,
    };
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} simulate [{bar:30}] {pos}/{len} organisations, {msg} ({elapsed}, eta {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    if a.json {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let t0 = Instant::now();
    let summary = simulate::simulate(&config, &a.out, &|p| {
        bar.set_length(p.total as u64);
        bar.set_position(p.organisations as u64);
        bar.set_message(format!("{} rows", p.rows));
    })
    .with_context(|| format!("simulating into {}", a.out.display()))?;
    bar.finish_and_clear();
    let secs = t0.elapsed().as_secs_f64();
    let rate = summary.rows as f64 / secs.max(1e-9);
    if a.json {
        let v = serde_json::json!({
            "out": a.out, "accounts": summary.accounts, "organisations": summary.organisations,
            "deliveries": summary.deliveries, "files": summary.files, "rows": summary.rows, "bytes": summary.bytes,
            "seconds": secs, "rows_per_second": rate,
            "labels": summary.labels.iter().map(|(l, n)| serde_json::json!({"label": l, "accounts": n})).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "{} accounts in {} organisations: {} deliveries, {} rows, {:.1} MB in {:.1} s ({:.0} rows/s)",
            summary.accounts,
            summary.organisations,
            summary.deliveries,
            summary.rows,
            summary.bytes as f64 / 1e6,
            secs,
            rate
        );
        for (label, n) in &summary.labels {
            println!("  {label:<24} {n:>6} accounts");
        }
        println!("wrote {}/exports, registry.csv, events.csv, labels.json", a.out.display());
    }
    Ok(ExitCode::from(exit::OK))
}
