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
/// document's hash). Each approval's signature is checked against the key its reviewer's `account` entry published
/// (`"approval": "signed"`, `"invalid signature"` or `"key not published"`); the keys seen are kept beside the
/// state (STATE.keys).
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
    let keys_path = a.state.with_extension("keys");
    let mut published: std::collections::BTreeMap<String, (String, String)> = match std::fs::read(&keys_path) {
        Ok(b) => serde_json::from_slice(&b).with_context(|| format!("reading {}", keys_path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Default::default(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", keys_path.display())),
    };
    loop {
        // A new reader each round: its cache must not answer for a checkpoint published since.
        let reader = a.at.reader().map_err(anyhow::Error::msg)?;
        match tlog::monitor::step(&reader, &keys, &witnesses, a.trust.quorum, state.as_ref()) {
            Ok(update) => {
                // Keys first: an approval may follow its reviewer's key in the same run.
                for e in &update.entries {
                    if let Some(k) = std::str::from_utf8(e).ok().and_then(cases::published_key) {
                        use base64::Engine;
                        published.insert(k.key_id, (k.name, base64::engine::general_purpose::STANDARD.encode(k.public_key)));
                    }
                }
                for event in &update.events {
                    let mut v = serde_json::to_value(event)?;
                    if event.action.as_deref() == Some("approve") {
                        v["approval"] = approval(&event.entry, &published).into();
                    }
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
                std::fs::write(&keys_path, serde_json::to_vec(&published)?).with_context(|| format!("writing {}", keys_path.display()))?;
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

/// Whether an approval entry is signed by the key its reviewer published on the log.
fn approval(entry: &str, published: &std::collections::BTreeMap<String, (String, String)>) -> String {
    use base64::Engine;
    let key_id = serde_json::from_str::<serde_json::Value>(entry).ok().and_then(|v| v.get("key_id").and_then(|k| k.as_str().map(str::to_string)));
    let Some((name, key)) = key_id.as_ref().and_then(|id| published.get(id)) else { return "key not published".into() };
    let key: Option<[u8; 32]> = base64::engine::general_purpose::STANDARD.decode(key).ok().and_then(|k| k.try_into().ok());
    match key {
        Some(k) if cases::verify_approval(entry, &k) => format!("signed by {name}'s key"),
        _ => "invalid signature".into(),
    }
}
