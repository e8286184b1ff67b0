//! `oversight demo`: simulate a population with the scenarios, ingest it, evaluate and scan it, then review, enforce
//! and log one case ([`super::demo_review`]), in one command.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use simulate::{Config, Providers};

use crate::exit;

/// Run the whole pipeline on a simulated population: simulate, ingest, evaluate against the labels, and print the
/// ranked accounts the policy pack flags on the last day, with their evidence, and write OUT/report.html, a
/// self-contained page with a chart per flagged account and the thresholds drawn in.
///
/// Then the review story: the unit the simulation suspends (events.csv) gets a case from its findings, two reviewers
/// approve suspending its storage and AI, the documents for its cloud are issued, and the exodus that follows is
/// caught on the same case; every step is on a fresh transparency log, printed with its checked inclusion proofs.
///
/// Writes OUT/scenario (the scenario folder), OUT/lake (the usage lake), OUT/report.html, OUT/cases.db (the cases),
/// OUT/log and OUT/log.private (the log and its keys) and OUT/enforcement (the documents); a second run with the same
/// OUT refuses unless --force.
///
/// Exit codes: 0 the demo ran; 1 a stage failed; 2 bad command line.
#[derive(clap::Args)]
pub struct DemoArgs {
    /// Where to write the scenario folder and the lake.
    #[arg(long, default_value = "./oversight-demo")]
    out: PathBuf,
    /// Sub-accounts to simulate.
    #[arg(long, default_value_t = 1000)]
    accounts: usize,
    /// Days to simulate.
    #[arg(long, default_value_t = 365)]
    days: u32,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Replace an existing OUT.
    #[arg(long)]
    force: bool,
}

/// Run the command.
pub fn run(a: DemoArgs) -> anyhow::Result<ExitCode> {
    if a.out.exists() {
        if !a.force {
            bail!("{} already exists; pass --force to replace it, or choose another --out", a.out.display());
        }
        std::fs::remove_dir_all(&a.out).with_context(|| format!("removing {}", a.out.display()))?;
    }
    let scenario = a.out.join("scenario");
    let lake_dir = a.out.join("lake");
    let config = Config { accounts: a.accounts, days: a.days, seed: a.seed, providers: Providers::Mixed, ..Config::default() };

    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed})").expect("valid template").progress_chars("=> "),
    );
    bar.set_prefix("1/3 simulate");
    let s = simulate::simulate(&config, &scenario, &|p| {
        bar.set_length(p.total as u64);
        bar.set_position(p.organisations as u64);
        bar.set_message(format!("organisations, {} rows", p.rows));
    })?;
    bar.finish_and_clear();
    println!(
        "simulated {} accounts in {} organisations over {} days: {} deliveries, {} rows ({})",
        s.accounts,
        s.organisations,
        a.days,
        s.deliveries,
        s.rows,
        scenario.display()
    );

    let rt = super::runtime()?;
    rt.block_on(async {
        let mut lake = lake::Lake::open(&lake_dir).await?;
        let found = lake::discover(&[scenario.join("exports")]);
        let bar = indicatif::ProgressBar::new(found.deliveries.len() as u64);
        bar.set_style(indicatif::ProgressStyle::with_template("{spinner} 2/3 ingest {msg} ({elapsed})").expect("valid template"));
        let outcomes = lake
            .ingest(&found.deliveries, &lake::IngestOptions::default(), &|p| {
                if let lake::Progress::Rows(n) = p {
                    bar.set_message(format!("{n} rows"));
                }
            })
            .await?;
        lake.record_refused(&found.refused).await?;
        lake.close().await?;
        bar.finish_and_clear();
        let refused = outcomes.iter().filter(|o| matches!(o, lake::DeliveryOutcome::Refused(_))).count() + found.refused.len();
        println!("ingested {} deliveries into {} ({refused} refused)", outcomes.len(), lake_dir.display());

        let spinner = indicatif::ProgressBar::new_spinner();
        spinner.set_message("3/3 signals, scan and evaluation");
        spinner.enable_steady_tick(std::time::Duration::from_millis(200));
        let scanner = super::scan::scanner(&lake_dir, Some(&scenario.join("registry.csv")), Some(&scenario.join("events.csv"))).await?;
        let pack = detect::load_pack(None)?;
        let labels = simulate::Labels::parse(&std::fs::read_to_string(scenario.join("labels.json"))?)?;
        let report = detect::evaluate(&scanner, &pack, &labels).await?;
        let last = detect::engine::date(scanner.last_day().await?.context("no mapped usage in the lake")?);
        let findings = detect::scan(&scanner, &pack, last).await?;
        spinner.finish_and_clear();

        println!("\nflagged on {last} by the built-in pack ({} policies):", pack.len());
        print!("{}", crate::term::clean(&super::scan::ranked_table(&scanner, &detect::rank(&findings), 20)));
        println!("\nevidence (each measured value against its threshold):");
        for f in &findings {
            for m in &f.measured {
                println!("  {:<40} {:<22} {:<24} {:<44} {:>12.4e} {} {:.4e}", f.account_id, f.policy.id, m.signal, m.measure, m.value, m.op, m.threshold);
            }
        }
        println!("\nevaluation against labels.json, every day walked:");
        for sc in &report.scenarios {
            let days: Vec<String> = sc.detail.iter().map(|d| d.days_to_detect.map_or("missed".into(), |n| format!("{n} days from observable"))).collect();
            println!("  {:<24} recall {:>4.0}%  {}", sc.scenario, sc.recall * 100.0, days.join(", "));
        }
        let to = detect::engine::day_number(last);
        let coverage = super::scan::coverage_of(&lake_dir, last).await?;
        let html =
            crate::report::html(&scanner, &pack, &findings, coverage.as_ref(), (to - i64::from(a.days) + 1, to), &format!("oversight demo: flagged on {last}"))
                .await?;
        let path = a.out.join("report.html");
        std::fs::write(&path, html).with_context(|| format!("writing {}", path.display()))?;
        let flagged_hard = report.hard_negatives.iter().filter(|h| !h.policies.is_empty()).count();
        println!(
            "  false positives: {} of {} benign accounts ({:.2} per 10,000); hard negatives flagged: {flagged_hard} of {}",
            report.false_positives.len(),
            report.benign,
            report.false_positives_per_10k,
            report.hard_negatives.len()
        );
        println!("\nreport with a chart per flagged account: {}", path.display());
        let events = registry::Events::from_path(&scenario.join("events.csv"))?;
        super::demo_review::run(&a.out, &lake_dir, &scanner, &pack, &events).await?;
        Ok(ExitCode::from(exit::OK))
    })
}
