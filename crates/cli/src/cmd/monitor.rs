//! `oversight monitor`: follow a published log for journalists and auditors, and print its new decisions.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use tlog::monitor::{Monitor, MonitorError};

use super::verify::{LogAt, Trust};
use crate::exit;

/// Follow a published log: check each new checkpoint against the last one verified (signature, witness quorum,
/// consistency, the new entries against the signed root), then print every new decision, enforcement, lift and
/// finding as one JSON line, in the public's terms (the tenant's pseudonym, the policy, the outcome and the
/// document's hash).
#[derive(Args)]
#[command(after_help = "The state file keeps the last checkpoint verified (the same file `verify --state` keeps); \
    without one, the first run reads the whole log. A tenant sees its own entries with --tenant-key and --tenant: \
    only the entries whose pseudonym is its own are printed, each marked \"yours\": true.\n\nExit codes: 0 the log \
    holds; 1 the log cannot be read or a check fails; 2 bad command line; 7 split view or rollback: the log signed \
    two different histories, keep the state file and the output as evidence.")]
pub struct MonitorArgs {
    #[command(flatten)]
    at: LogAt,
    #[command(flatten)]
    trust: Trust,
    /// The file keeping the last checkpoint verified.
    #[arg(long)]
    state: PathBuf,
    /// Keep following: check again every --interval seconds until stopped.
    #[arg(long)]
    follow: bool,
    /// Seconds between checks with --follow.
    #[arg(long, default_value_t = 60)]
    interval: u64,
    /// A file holding the pseudonym key the provider gave the tenant; with --tenant, print only its entries.
    #[arg(long, requires = "tenant")]
    tenant_key: Option<PathBuf>,
    /// The tenant's own account id.
    #[arg(long, requires = "tenant_key")]
    tenant: Option<String>,
}

/// Run the command.
pub fn run(a: MonitorArgs) -> anyhow::Result<ExitCode> {
    let (keys, witnesses) = match (a.at.reader(), a.trust.keys()) {
        (Ok(_), Ok(keys)) => keys,
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(exit::USAGE));
        }
    };
    let tenant = match (&a.tenant_key, &a.tenant) {
        (Some(k), Some(t)) => Some((std::fs::read(k).with_context(|| format!("reading {}", k.display()))?, t.clone())),
        _ => None,
    };
    let mut state = Monitor::load(&a.state)?;
    loop {
        // A new reader each round: its cache must not answer for a checkpoint published since.
        let reader = a.at.reader().map_err(anyhow::Error::msg)?;
        match tlog::monitor::step(&reader, &keys, &witnesses, a.trust.quorum, state.as_ref()) {
            Ok(update) => {
                for event in &update.events {
                    let mut v = serde_json::to_value(event)?;
                    if let Some((key, id)) = &tenant {
                        if !event.concerns(key, id) {
                            continue;
                        }
                        v["yours"] = true.into();
                    }
                    println!("{}", serde_json::to_string(&v)?);
                }
                eprintln!(
                    "verified: size {} (from {}), {} new entries, {} public events",
                    update.state.checkpoint.size,
                    update.from,
                    update.entries.len(),
                    update.events.len()
                );
                update.state.save(&a.state)?;
                state = Some(update.state);
            }
            Err(
                e @ (MonitorError::Rollback { .. } | MonitorError::SplitView { .. } | MonitorError::Inconsistent { .. } | MonitorError::OriginChanged { .. }),
            ) => {
                eprintln!("ALERT: {e}");
                return Ok(ExitCode::from(exit::SPLIT_VIEW));
            }
            Err(e) => {
                eprintln!("error: {e}");
                if !a.follow {
                    return Ok(ExitCode::from(exit::FAILED));
                }
            }
        }
        if !a.follow {
            return Ok(ExitCode::from(exit::OK));
        }
        std::thread::sleep(Duration::from_secs(a.interval));
    }
}
