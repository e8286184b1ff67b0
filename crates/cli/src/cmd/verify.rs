//! `oversight verify`: the auditor's check of a published log, from its folder or its URL on this machine.

use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clap::Args;
use tlog::log::TileReader;
use tlog::storage::Source;

use crate::exit;

/// Verify a transparency log as an outside auditor: the checkpoint's signature, witness cosignatures, the root
/// recomputed from the tiles, consistency with the checkpoint you saw last time, and an entry's inclusion. Prints one
/// line per check, saying plainly whether it holds; the help's footer says where the log is read from and the exit
/// codes.
#[derive(Args)]
#[command(after_help = "The log is read from its folder or over plain HTTP from this machine (`oversight log serve`, \
    or any static server); every check runs the same either way. Other hosts are refused: mirror such a log to a \
    folder and verify that.\n\nExit codes: 0 every check holds; 1 a check fails or the log cannot be read; 2 bad \
    command line (including a URL off this machine or a malformed key).")]
pub struct VerifyArgs {
    /// The log: a folder as served (`checkpoint` and `tile/`), or its URL on this machine, e.g.
    /// `http://127.0.0.1:8080/` or `http://localhost:8080/log/`. Other hosts are refused.
    #[arg(long, default_value = "./oversight-log", value_name = "DIR|URL")]
    log: String,
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
    /// Rebuild every tile from the entries and compare it byte for byte, not only the tiles the root needs.
    #[arg(long)]
    full: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// The largest file of the layout: a full bundle of the largest entries (256 × (2 + 65,535) bytes).
const MAX_FILE: u64 = 256 * (2 + tlog::log::MAX_ENTRY as u64);

/// A published log served over plain HTTP on this machine.
struct Http {
    /// The URL of the log's root, ending in `/`.
    base: String,
    agent: ureq::Agent,
}

impl Http {
    fn new(base: String) -> Http {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // Only the log's own host is read: no redirects elsewhere, no proxy from the environment.
            .max_redirects(0)
            .proxy(None)
            .timeout_global(Some(Duration::from_secs(60)))
            .build();
        Http { base, agent: ureq::Agent::new_with_config(config) }
    }
}

impl Source for Http {
    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        let response = self.agent.get(format!("{}{path}", self.base)).call().map_err(io::Error::other)?;
        match response.status().as_u16() {
            200 => response.into_body().with_config().limit(MAX_FILE).read_to_vec().map_err(io::Error::other),
            404 => Err(io::Error::new(io::ErrorKind::NotFound, "HTTP 404 Not Found")),
            status => Err(io::Error::other(format!("HTTP {status}"))),
        }
    }

    fn describe(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// A reader of `log`: a folder, or a plain-HTTP URL on localhost. The error says why the URL is refused.
fn reader(log: &str) -> Result<TileReader, String> {
    let Some((scheme, rest)) = log.split_once("://") else { return Ok(TileReader::new(Path::new(log))) };
    let only = "verify reads a log folder or a plain-HTTP URL on this machine (http://127.0.0.1:PORT/ or \
                http://localhost:PORT/...); to check a log elsewhere, mirror it to a folder and verify the folder";
    if !scheme.eq_ignore_ascii_case("http") {
        return Err(format!("{log}: {scheme}:// is not read; {only}"));
    }
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    if authority.contains('@') || path.contains(['?', '#']) {
        return Err(format!("{log}: a URL with credentials, a query or a fragment is not a log folder; {only}"));
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.split(':').next().unwrap_or(""),
    };
    if !(host.eq_ignore_ascii_case("localhost") || host == "127.0.0.1" || host == "::1") {
        return Err(format!("{log}: {host:?} is not this machine; {only}"));
    }
    let path = if path.is_empty() || path.ends_with('/') { path.to_string() } else { format!("{path}/") };
    Ok(TileReader::over(Http::new(format!("http://{authority}/{path}"))))
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
    let parse = |keys: &[String], what: &str| {
        keys.iter().map(|k| tlog::note::Verifier::parse(k).map_err(|e| format!("{what} {k:?}: {e}"))).collect::<Result<Vec<_>, _>>()
    };
    let (reader, keys, witnesses) = match (reader(&a.log), parse(&a.keys, "--key"), parse(&a.witnesses, "--witness")) {
        (Ok(reader), Ok(keys), Ok(witnesses)) => (reader, keys, witnesses),
        (Err(e), ..) | (_, Err(e), _) | (.., Err(e)) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(exit::USAGE));
        }
    };
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
                match reader.check_every_tile(cp.size) {
                    Ok(root) if root == cp.root => r.add("every tile", true, format!("{} entries rebuild every tile and the checkpoint root", cp.size)),
                    Ok(root) => {
                        r.add("every tile", false, format!("the entries hash to {}, the checkpoint says {}", STANDARD.encode(root), STANDARD.encode(cp.root)))
                    }
                    Err(e) => r.add("every tile", false, e.to_string()),
                }
            }
            if let Some(i) = a.entry {
                let held = reader.entry(i, cp.size).and_then(|e| {
                    let p = reader.inclusion_proof(i, cp.size)?;
                    tlog::merkle::verify_inclusion(&tlog::merkle::leaf_hash(&e), i, cp.size, &p, &cp.root)
                        .map_err(|x| tlog::log::LogError::Range(x.to_string()))?;
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
fn consistency(reader: &TileReader, state: &std::path::Path, cp: &tlog::log::Checkpoint, r: &mut Report) -> anyhow::Result<()> {
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
