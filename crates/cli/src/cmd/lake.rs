//! `oversight lake …`: look after the usage lake itself.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::exit;

/// Verify the usage lake.
#[derive(Args)]
pub struct LakeArgs {
    /// The lake folder.
    #[arg(long, global = true, default_value = lake::DEFAULT_LAKE)]
    lake: PathBuf,
    #[command(subcommand)]
    command: LakeCommand,
}

#[derive(Subcommand)]
enum LakeCommand {
    /// Verify every file the manifest names: present, of the committed size and SHA-256, a readable Parquet file
    /// with the committed rows. Lists files no commit names. Exit 0: whole; 1: damaged or not a lake.
    Check {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Run the command.
pub fn run(a: LakeArgs) -> anyhow::Result<ExitCode> {
    let LakeCommand::Check { json } = a.command;
    let rt = super::runtime()?;
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(indicatif::ProgressStyle::with_template("{spinner} checking {bytes} ({elapsed})").expect("valid template"));
    if json {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let report = rt.block_on(lake::check(&a.lake, &|n| bar.set_position(n))).with_context(|| format!("checking the lake at {}", a.lake.display()))?;
    bar.finish_and_clear();
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "lake {} at version {}: {} live files, {} bytes; {} checksums verified, {} without a recorded checksum (checked for presence and rows)",
            a.lake.display(),
            report.version,
            report.files,
            report.bytes,
            report.verified,
            report.unrecorded
        );
        for d in &report.damaged {
            println!("DAMAGED {}: {}", d.path, d.reason);
        }
        if !report.uncommitted.is_empty() {
            println!("{} files no commit names (an ingest in progress or interrupted; never read, removed by the next ingest)", report.uncommitted.len());
        }
        println!("{}", if report.damaged.is_empty() { "the lake is whole" } else { "the lake is damaged: results read from it lack the rows above" });
    }
    Ok(ExitCode::from(if report.damaged.is_empty() { exit::OK } else { exit::FAILED }))
}
