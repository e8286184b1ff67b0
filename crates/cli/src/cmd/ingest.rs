//! `oversight ingest`: FOCUS deliveries into the lake.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use lake::{DeliveryOutcome, IngestOptions, Lake, Outcome, Progress, ToLocation};

use crate::exit;

/// Ingest FOCUS exports into the usage lake.
///
/// Recognises Azure export run folders (manifest.json), AWS Data Exports (BILLING_PERIOD= partitions with their
/// manifest), OCI's append-only report files and plain CSV, CSV.gz or Parquet files. A replace-model delivery
/// replaces its billing month only when it is newer (by the provider's time) than the one applied; an append-model
/// file is loaded once and never deleted. Bad rows are quarantined with file, row and column.
///
/// Exit codes: 0 all ingested (quarantined rows are reported); 1 some input was refused or nothing could be read;
/// 2 bad command line; 3 with --strict, rows were quarantined.
#[derive(Args)]
pub struct IngestArgs {
    /// Files or folders to ingest (folders are walked recursively), or store URLs (`az://container/prefix`,
    /// `s3://bucket/prefix`, `gs://bucket/prefix`; credentials from the providers' standard environment variables).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The lake: a folder, or a store URL as for the inputs.
    #[arg(long, default_value = lake::DEFAULT_LAKE, env = "OVERSIGHT_LAKE")]
    lake: PathBuf,
    /// Force the delivery model of files that have no manifest.
    #[arg(long, value_enum)]
    delivery: Option<DeliveryModel>,
    /// Exit 3 when any row was quarantined.
    #[arg(long)]
    strict: bool,
    /// Print a JSON summary on stdout instead of a table.
    #[arg(long)]
    json: bool,
    /// The most bytes one CSV row may hold; a longer row is quarantined, and a row running on far past it (no line
    /// end) refuses its file. Far above any real export.
    #[arg(long, default_value_t = focus::Limits::default().record_bytes)]
    max_record_bytes: usize,
    /// The most bytes one value may hold; a row with a longer one is quarantined.
    #[arg(long, default_value_t = focus::Limits::default().field_bytes)]
    max_field_bytes: usize,
    /// Show at most this many groups of quarantined cells (by provider, column and reason; every cell is in the
    /// lake's quarantine table and in --json).
    #[arg(long, default_value_t = 20)]
    show_quarantined: usize,
    /// Print one line per delivery as well as the summary.
    #[arg(long, short)]
    verbose: bool,
}

/// The `--delivery` values.
#[derive(Clone, Copy, ValueEnum)]
enum DeliveryModel {
    /// Each file re-sends its whole billing month: the newest replaces the older.
    Replace,
    /// Each file is new data: all are kept.
    Append,
}

/// Run the command.
pub fn run(a: IngestArgs) -> anyhow::Result<ExitCode> {
    let rt = super::runtime()?;
    rt.block_on(async {
        let mut lake = Lake::open(&a.lake).await.with_context(|| format!("opening the lake at {}", a.lake.display()))?;
        let inputs = a.paths.iter().map(|p| p.to_location()).collect::<Result<Vec<_>, _>>()?;
        let found = lake::discover_in(&inputs).await;
        let size = |f: &lake::DataFile| f.stored.as_ref().map(|s| s.bytes).or_else(|| std::fs::metadata(&f.path).ok().map(|m| m.len()));
        let total_bytes: u64 = found.deliveries.iter().flat_map(|d| &d.files).filter_map(size).sum();
        let bar = indicatif::ProgressBar::new(total_bytes);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} ingest [{bar:30}] {bytes}/{total_bytes} {msg} ({elapsed})")
                .expect("valid template")
                .progress_chars("=> "),
        );
        if a.json {
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        let opts = IngestOptions {
            model: a.delivery.map(|m| match m {
                DeliveryModel::Replace => lake::Model::Replace,
                DeliveryModel::Append => lake::Model::Append,
            }),
            batch_rows: None,
            limits: focus::Limits { record_bytes: a.max_record_bytes, field_bytes: a.max_field_bytes },
        };
        let outcomes = lake
            .ingest(&found.deliveries, &opts, &|p| match p {
                Progress::Rows(n) => bar.set_message(format!("{n} rows")),
                Progress::Bytes(n) => bar.set_position(n),
            })
            .await?;
        // On record too, so that scan and eval can say what they are missing.
        lake.record_refused(&found.refused).await?;
        bar.finish_and_clear();
        let code = report(&a, &found, &outcomes, &lake)?;
        // Now, not on drop: on a store, the writer's lease would otherwise hold other writers off until it expires.
        lake.close().await?;
        Ok(code)
    })
}

/// Quarantined cells of one provider that share a column and a reason, over every delivery of the run.
struct Group {
    provider: String,
    column: String,
    reason: String,
    cells: u64,
    example: String,
}

/// What one provider's deliveries came to.
#[derive(Default, serde::Serialize)]
struct ProviderTally {
    deliveries: u64,
    applied: u64,
    recorded_only: u64,
    already_ingested: u64,
    rows_read: u64,
    rows_kept: u64,
    rows_quarantined: u64,
}

fn report(a: &IngestArgs, found: &lake::Discovery, outcomes: &[DeliveryOutcome], lake: &Lake) -> anyhow::Result<ExitCode> {
    let mut refused: Vec<String> = found.refused.iter().map(|e| e.to_string()).collect();
    let (mut read, mut kept, mut quarantined) = (0u64, 0u64, 0u64);
    let mut rows = Vec::new();
    let mut groups: Vec<Group> = Vec::new();
    let mut providers: std::collections::BTreeMap<String, ProviderTally> = Default::default();
    for o in outcomes {
        match o {
            DeliveryOutcome::Recorded(r, cells) => {
                let provider = serde_json::to_value(r.provider)?.as_str().unwrap_or("unknown").to_string();
                for g in cells {
                    match groups.iter_mut().find(|x| x.provider == provider && x.column == g.column && x.reason == g.reason) {
                        Some(x) => x.cells += g.cells,
                        None => groups.push(Group {
                            provider: provider.clone(),
                            column: g.column.clone(),
                            reason: g.reason.clone(),
                            cells: g.cells,
                            example: g.example.to_string(),
                        }),
                    }
                }
                let (rr, rk, rq) = r.files.iter().fold((0, 0, 0), |acc, f| (acc.0 + f.rows_read, acc.1 + f.rows_kept, acc.2 + f.rows_quarantined));
                read += rr;
                kept += rk;
                quarantined += rq;
                let t = providers.entry(provider).or_default();
                t.deliveries += 1;
                (t.rows_read, t.rows_kept, t.rows_quarantined) = (t.rows_read + rr, t.rows_kept + rk, t.rows_quarantined + rq);
                let status = match r.outcome {
                    Outcome::Applied if r.replaced.is_empty() => "applied".to_string(),
                    Outcome::Applied => format!("applied, replaced {}", r.replaced.join(",")),
                    Outcome::OlderThanApplied => "recorded only: older than the applied delivery".to_string(),
                    Outcome::Superseded { ref by } => format!("recorded only: superseded by {by}, a newer delivery of the same unit in this run"),
                    Outcome::Refused { ref reason, .. } => format!("refused: {reason}"),
                };
                if r.outcome == Outcome::Applied {
                    t.applied += 1;
                } else {
                    t.recorded_only += 1;
                }
                rows.push(serde_json::json!({
                    "delivery": r.id, "file": r.files.first().map(|f| f.name.as_str()).unwrap_or(""), "files": r.files.len(),
                    "provider": r.provider, "model": r.model, "units": r.units,
                    "rows_read": rr, "rows_kept": rk, "rows_quarantined": rq, "status": status,
                }));
            }
            DeliveryOutcome::AlreadyIngested { id, name } => {
                let t = providers.entry("(already ingested)".into()).or_default();
                (t.deliveries, t.already_ingested) = (t.deliveries + 1, t.already_ingested + 1);
                rows.push(serde_json::json!({"delivery": id, "file": name, "status": "already ingested, nothing changed"}));
            }
            DeliveryOutcome::Refused(e) => refused.push(e.to_string()),
        }
    }
    groups.sort_by(|x, y| y.cells.cmp(&x.cells).then_with(|| (&x.provider, &x.column, &x.reason).cmp(&(&y.provider, &y.column, &y.reason))));
    let skipped: Vec<_> = found.skipped.iter().map(|(f, why)| format!("{f}: skipped: {why}")).collect();
    if a.json {
        let quarantine: Vec<_> = groups
            .iter()
            .map(|g| serde_json::json!({"provider": g.provider, "column": g.column, "reason": g.reason, "cells": g.cells, "example": g.example}))
            .collect();
        let v = serde_json::json!({
            "lake": lake.root(), "version": lake.state().version, "deliveries": rows, "providers": providers,
            "rows_read": read, "rows_kept": kept, "rows_quarantined": quarantined,
            "refused": refused, "skipped": skipped, "quarantine": quarantine,
            "quarantine_sample": groups.iter().map(|g| g.example.as_str()).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        if a.verbose {
            for r in &rows {
                println!(
                    "{:<16} {:<50} {:>9} kept {:>6} quarantined  {}",
                    r["delivery"].as_str().unwrap_or(""),
                    r["file"].as_str().unwrap_or(""),
                    r["rows_kept"].as_u64().unwrap_or(0),
                    r["rows_quarantined"].as_u64().unwrap_or(0),
                    r["status"].as_str().unwrap_or("")
                );
            }
        }
        println!(
            "{:<20} {:>10} {:>8} {:>13} {:>8} {:>12} {:>12} {:>12}",
            "provider", "deliveries", "applied", "recorded only", "already", "rows read", "kept", "quarantined"
        );
        for (p, t) in &providers {
            println!(
                "{p:<20} {:>10} {:>8} {:>13} {:>8} {:>12} {:>12} {:>12}",
                t.deliveries, t.applied, t.recorded_only, t.already_ingested, t.rows_read, t.rows_kept, t.rows_quarantined
            );
        }
        if !groups.is_empty() {
            eprintln!("quarantined cells by provider, column and reason (one example each):");
            for g in groups.iter().take(a.show_quarantined) {
                eprintln!("  {:>9}  {}  {}: {}\n             e.g. {}", g.cells, g.provider, g.column, g.reason, g.example);
            }
            if groups.len() > a.show_quarantined {
                eprintln!("  … and {} more groups (--show-quarantined N, or --json)", groups.len() - a.show_quarantined);
            }
        }
        for s in &skipped {
            eprintln!("warning: {s}");
        }
        for e in &refused {
            eprintln!("error: {e}");
        }
        println!(
            "{} deliveries, {read} rows read, {kept} kept, {quarantined} quarantined, {} refused; lake {} at version {}",
            rows.len(),
            refused.len(),
            lake.root().display(),
            lake.state().version
        );
        if quarantined > 0 {
            println!("quarantined rows are in {}/quarantine/ (file, row, line, column, raw value, reason, billing account, month)", lake.root().display());
        }
    }
    let nothing = rows.is_empty() && !refused.is_empty();
    Ok(ExitCode::from(if !refused.is_empty() || nothing {
        exit::FAILED
    } else if a.strict && quarantined > 0 {
        exit::QUARANTINED
    } else {
        exit::OK
    }))
}
