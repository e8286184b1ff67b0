//! `oversight verify`: the auditor's check of a published log folder.

use std::path::PathBuf;
use std::process::ExitCode;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clap::Args;

use crate::exit;

/// Verify a transparency log folder as an outside auditor: the checkpoint's signature, witness cosignatures, the
/// root recomputed from the tiles, consistency with the checkpoint you saw last time, and an entry's inclusion.
///
/// Prints one line per check, saying plainly whether it holds. Exit codes: 0 every check holds; 1 a check fails;
/// 2 bad command line.
#[derive(Args)]
pub struct VerifyArgs {
    /// The log folder (as served: `checkpoint` and `tile/`).
    #[arg(long, default_value = "./oversight-log")]
    log: PathBuf,
    /// The log's verifier key (`name+id+key`); repeat for several.
    #[arg(long = "key", required = true)]
    keys: Vec<String>,
    /// A witness verifier key (cosignature/v1); repeat for several.
    #[arg(long = "witness")]
    witnesses: Vec<String>,
    /// Witness cosignatures required.
    #[arg(long, default_value_t = 0)]
    quorum: usize,
    /// File remembering the last checkpoint verified; checked for consistency, then updated.
    #[arg(long)]
    state: Option<PathBuf>,
    /// Check that this entry is in the log, and print it.
    #[arg(long)]
    entry: Option<u64>,
    /// Rebuild every tile from the entries, not only the ones the root needs.
    #[arg(long)]
    full: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

struct Report {
    checks: Vec<(String, bool, String)>,
}

impl Report {
    fn add(&mut self, what: &str, holds: bool, detail: impl Into<String>) {
        self.checks.push((what.into(), holds, detail.into()));
    }
}

/// Run the command.
pub fn run(a: VerifyArgs) -> anyhow::Result<ExitCode> {
    let mut r = Report { checks: Vec::new() };
    let reader = tlog::log::TileReader::new(&a.log);
    let keys = a.keys.iter().map(|k| tlog::note::Verifier::parse(k)).collect::<Result<Vec<_>, _>>()?;
    let witnesses = a.witnesses.iter().map(|k| tlog::note::Verifier::parse(k)).collect::<Result<Vec<_>, _>>()?;
    match reader.checkpoint() {
        Err(e) => r.add("checkpoint", false, e.to_string()),
        Ok((note, cp)) => {
            match note.verify(&keys) {
                Ok(names) => r.add("log signature", true, format!("signed by {}", names.join(", "))),
                Err(e) => r.add("log signature", false, e.to_string()),
            }
            if a.quorum > 0 || !witnesses.is_empty() {
                match note.verify_cosignatures(&witnesses) {
                    Ok(ok) => r.add("witness quorum", ok.len() >= a.quorum, format!("{} of {} required cosignatures verify", ok.len(), a.quorum)),
                    Err(e) => r.add("witness quorum", false, e.to_string()),
                }
            }
            match reader.root(cp.size) {
                Ok(root) if root == cp.root => r.add("root from tiles", true, format!("size {} root {}", cp.size, STANDARD.encode(root))),
                Ok(root) => r.add("root from tiles", false, format!("tiles give {}, checkpoint says {}", STANDARD.encode(root), STANDARD.encode(cp.root))),
                Err(e) => r.add("root from tiles", false, e.to_string()),
            }
            if a.full {
                full_rebuild(&reader, cp.size, &mut r);
            }
            if let Some(i) = a.entry {
                let held = reader.entry(i, cp.size).and_then(|e| {
                    let p = reader.inclusion_proof(i, cp.size)?;
                    tlog::merkle::verify_inclusion(&tlog::merkle::leaf_hash(&e), i, cp.size, &p, &cp.root).map_err(|x| tlog::log::LogError::Range(x.to_string()))?;
                    Ok(e)
                });
                match held {
                    Ok(e) => r.add("entry inclusion", true, format!("entry {i}: {}", String::from_utf8_lossy(&e))),
                    Err(e) => r.add("entry inclusion", false, format!("entry {i}: {e}")),
                }
            }
            if let Some(state) = &a.state {
                consistency(&reader, state, &cp, &mut r)?;
            }
        }
    }
    let ok = r.checks.iter().all(|c| c.1);
    if a.json {
        let checks: Vec<_> = r.checks.iter().map(|(w, h, d)| serde_json::json!({"check": w, "holds": h, "detail": d})).collect();
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({"holds": ok, "checks": checks}))?);
    } else {
        for (what, holds, detail) in &r.checks {
            println!("{} {what}: {detail}", if *holds { "holds:" } else { "FAILS:" });
        }
    }
    Ok(ExitCode::from(if ok { exit::OK } else { exit::FAILED }))
}

/// Compare with the remembered checkpoint, then remember this one if everything so far holds.
fn consistency(reader: &tlog::log::TileReader, state: &std::path::Path, cp: &tlog::log::Checkpoint, r: &mut Report) -> anyhow::Result<()> {
    if let Ok(text) = std::fs::read_to_string(state) {
        let old = tlog::log::Checkpoint::parse(&text)?;
        let verdict = if old.origin != cp.origin {
            Err(format!("remembered origin {} differs", old.origin))
        } else if old.size > cp.size {
            Err(format!("the log shrank from {} to {} (rollback)", old.size, cp.size))
        } else if old.size == cp.size {
            if old.root == cp.root { Ok("same checkpoint as last time".to_string()) } else { Err("same size, different root (fork)".into()) }
        } else {
            reader
                .consistency_proof(old.size, cp.size)
                .map_err(|e| e.to_string())
                .and_then(|p| tlog::merkle::verify_consistency(old.size, cp.size, &old.root, &cp.root, &p).map_err(|e| e.to_string()))
                .map(|()| format!("size {} extends the remembered size {}", cp.size, old.size))
        };
        match verdict {
            Ok(d) => r.add("consistency with last check", true, d),
            Err(d) => r.add("consistency with last check", false, d),
        }
    }
    if r.checks.iter().all(|c| c.1) {
        std::fs::write(state, cp.body())?;
    }
    Ok(())
}

/// Rebuild every hash tile from the entries and compare with the files.
fn full_rebuild(reader: &tlog::log::TileReader, size: u64, r: &mut Report) {
    let leaves: Result<Vec<_>, _> = (0..size).map(|i| reader.entry(i, size).map(|e| tlog::merkle::leaf_hash(&e))).collect();
    let leaves = match leaves {
        Ok(l) => l,
        Err(e) => return r.add("every tile", false, e.to_string()),
    };
    for i in (0..size).step_by(256) {
        let end = (i + 256).min(size);
        if let Err(e) = reader.inclusion_proof(i, size).and_then(|p| {
            tlog::merkle::verify_inclusion(&leaves[i as usize], i, size, &p, &tlog::merkle::root(&leaves)).map_err(|x| tlog::log::LogError::Range(x.to_string()))
        }) {
            return r.add("every tile", false, format!("tiles around entries {i}..{end}: {e}"));
        }
    }
    r.add("every tile", true, format!("{size} entries hash to the checkpoint root through every tile"));
}
