//! `oversight log …`: create a transparency log, append entries, print the checkpoint and proofs, and compute
//! tenant pseudonyms.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clap::{Args, Subcommand};

use crate::exit;

/// Work with the transparency log: a C2SP tile log in a folder that any static file server can serve as is.
#[derive(Args)]
pub struct LogArgs {
    /// The public log folder (checkpoint and tiles).
    #[arg(long, global = true, default_value = "./oversight-log", env = "OVERSIGHT_LOG_DIR")]
    dir: PathBuf,
    /// The private state folder (signing key, lock, stage); never serve it. Default: DIR.private
    #[arg(long, global = true)]
    private: Option<PathBuf>,
    #[command(subcommand)]
    command: LogCommand,
}

impl LogArgs {
    /// Whether the command serves HTTP until stopped.
    pub fn is_server(&self) -> bool {
        matches!(self.command, LogCommand::Serve { .. })
    }
}

#[derive(Subcommand)]
enum LogCommand {
    /// Create a log and its Ed25519 key (file mode 0600); prints the verifier key.
    Init {
        /// The log's origin line, e.g. `transparency.example.com/oversight`.
        #[arg(long)]
        origin: String,
    },
    /// Append JSON objects, one per line, from FILE or standard input; prints each entry's index.
    Append {
        /// The file (default: standard input).
        file: Option<PathBuf>,
    },
    /// Print the signed checkpoint; with --witness, first ask those witnesses to cosign it and publish it with
    /// every cosignature got (exit 1 if fewer than --quorum cosigned).
    Checkpoint {
        /// A witness to ask: `URL+NAME+ID+KEY`, its submission prefix and its verifier key; repeat for several.
        #[arg(long = "witness", value_name = "URL+VKEY")]
        witnesses: Vec<String>,
        /// Cosignatures required for success.
        #[arg(long, default_value_t = 0)]
        quorum: usize,
    },
    /// Print an inclusion proof (--index) or a consistency proof (--consistency OLD NEW), from the tiles alone.
    Prove {
        /// The entry index.
        #[arg(long, conflicts_with = "consistency")]
        index: Option<u64>,
        /// Two tree sizes, older first.
        #[arg(long, num_args = 2, value_names = ["OLD", "NEW"])]
        consistency: Option<Vec<u64>>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Serve the log folder over HTTP (C2SP static layout) with the right content types and cache lifetimes.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
    },
    /// Print a tenant's pseudonym (HMAC-SHA256 under the provider key), or check one with --check.
    Pseudonym {
        /// A file holding the provider's pseudonym key.
        #[arg(long)]
        key_file: PathBuf,
        /// The tenant id.
        #[arg(long)]
        tenant: String,
        /// A pseudonym to check against the tenant id (exit 0 if it matches, 1 if not).
        #[arg(long)]
        check: Option<String>,
    },
}

/// Run the command.
pub fn run(a: LogArgs) -> anyhow::Result<ExitCode> {
    let private = match a.private.clone() {
        Some(p) => p,
        // Beside the folder, `.` and `..` resolved first: `--dir .` must never put the key inside the served folder.
        None => tlog::storage::private_beside(&a.dir)?,
    };
    match a.command {
        LogCommand::Init { origin } => {
            let seed = super::random_seed()?;
            let log = tlog::log::Log::create(&a.dir, &private, &origin, &seed)?;
            println!("{}", log.verifier().to_vkey());
            eprintln!("log at {}, private key in {}", a.dir.display(), private.join("key").display());
        }
        LogCommand::Append { file } => {
            let mut log = tlog::log::Log::open(&a.dir, &private).with_context(|| format!("opening the log at {}", a.dir.display()))?;
            let reader: Box<dyn BufRead> = match &file {
                Some(p) => Box::new(std::io::BufReader::new(std::fs::File::open(p).with_context(|| format!("opening {}", p.display()))?)),
                None => Box::new(std::io::stdin().lock()),
            };
            let name = file.as_deref().map_or("stdin".into(), |p: &Path| p.display().to_string());
            let mut entries = Vec::new();
            for (i, line) in reader.lines().enumerate() {
                let line = line.with_context(|| format!("{name}: line {}", i + 1))?;
                if line.trim().is_empty() {
                    continue;
                }
                // One bad line refuses the whole batch: nothing is appended.
                entries.push(tlog::entry::canonical(&line).with_context(|| format!("{name}: line {}", i + 1))?);
            }
            // Appending nothing still finishes a batch an earlier failure left committed but unpublished.
            match log.append(&entries) {
                Ok(range) => range.for_each(|i| println!("{i}")),
                Err(tlog::log::LogError::Unpublished { start, end, source }) => {
                    (start..end).for_each(|i| println!("{i}"));
                    anyhow::bail!(
                        "entries {start}..{end} are in the log, but publishing their tiles and checkpoint failed ({source}); \
                         do not append them again: the next `oversight log append` (even of nothing) publishes them"
                    );
                }
                Err(e) => return Err(e.into()),
            }
        }
        LogCommand::Checkpoint { witnesses, quorum } => {
            let mut cosigned = 0;
            if !witnesses.is_empty() {
                let parsed = match witnesses.iter().map(|w| super::witness::WitnessUrl::parse(w)).collect::<Result<Vec<_>, _>>() {
                    Ok(p) => p,
                    Err(e) => {
                        eprintln!("error: --witness {e}");
                        return Ok(ExitCode::from(exit::USAGE));
                    }
                };
                for (key, outcome) in super::witness::cosign(&a.dir, &private, &parsed)? {
                    match outcome {
                        Ok(()) => {
                            cosigned += 1;
                            eprintln!("cosigned by {key}");
                        }
                        Err(e) => eprintln!("NOT cosigned by {key}: {e}"),
                    }
                }
            }
            let path = a.dir.join("checkpoint");
            print!("{}", std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?);
            if cosigned < quorum {
                eprintln!("error: {cosigned} of the {quorum} cosignatures required");
                return Ok(ExitCode::from(exit::FAILED));
            }
        }
        LogCommand::Prove { index, consistency, json } => {
            let reader = tlog::log::TileReader::new(&a.dir);
            let (_, cp) = reader.checkpoint()?;
            let (kind, proof, extra) = match (index, consistency.as_deref()) {
                (Some(i), _) => ("inclusion", reader.inclusion_proof(i, cp.size)?, serde_json::json!({"index": i, "size": cp.size})),
                (None, Some([old, new])) => ("consistency", reader.consistency_proof(*old, *new)?, serde_json::json!({"old": old, "new": new})),
                _ => {
                    eprintln!("error: give --index N or --consistency OLD NEW");
                    return Ok(ExitCode::from(exit::USAGE));
                }
            };
            let hashes: Vec<String> = proof.iter().map(|h| STANDARD.encode(h)).collect();
            if json {
                let mut v = serde_json::json!({"proof": kind, "root": STANDARD.encode(cp.root), "hashes": hashes});
                v.as_object_mut().expect("object").extend(extra.as_object().expect("object").clone());
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!("{kind} proof {extra} against root {}", STANDARD.encode(cp.root));
                for h in hashes {
                    println!("{h}");
                }
            }
        }
        LogCommand::Serve { listen } => {
            let rt = super::runtime()?;
            rt.block_on(serve(a.dir.clone(), &listen))?;
        }
        LogCommand::Pseudonym { key_file, tenant, check } => {
            let key = std::fs::read(&key_file).with_context(|| format!("reading {}", key_file.display()))?;
            match check {
                None => println!("{}", tlog::entry::pseudonym(&key, &tenant)),
                Some(p) if tlog::entry::is_pseudonym_of(&key, &tenant, &p) => println!("{p} is the pseudonym of {tenant}"),
                Some(p) => {
                    println!("{p} is NOT the pseudonym of {tenant}");
                    return Ok(ExitCode::from(exit::FAILED));
                }
            }
        }
    }
    Ok(ExitCode::from(exit::OK))
}

/// Serve `checkpoint` (never cached) and `tile/...` (immutable: a tile path, full or partial, never changes content).
async fn serve(dir: PathBuf, listen: &str) -> anyhow::Result<()> {
    use axum::http::{StatusCode, Uri, header};
    use axum::response::IntoResponse;
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("listening on {listen}"))?;
    eprintln!("serving {} on http://{}", dir.display(), listener.local_addr()?);
    let app = axum::Router::new().fallback(move |uri: Uri| {
        let dir = dir.clone();
        async move {
            let path = uri.path().trim_start_matches('/');
            let allowed = path == "checkpoint" || (path.starts_with("tile/") && path.split('/').all(|seg| !seg.is_empty() && !seg.starts_with('.')));
            if !allowed {
                return (StatusCode::NOT_FOUND, "not found\n").into_response();
            }
            match tokio::fs::read(dir.join(path)).await {
                Ok(bytes) if path == "checkpoint" => {
                    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8"), (header::CACHE_CONTROL, "no-store")], bytes).into_response()
                }
                Ok(bytes) => ([(header::CONTENT_TYPE, "application/octet-stream"), (header::CACHE_CONTROL, "public, max-age=31536000, immutable")], bytes)
                    .into_response(),
                Err(_) => (StatusCode::NOT_FOUND, "not found\n").into_response(),
            }
        }
    });
    axum::serve(listener, app).await?;
    Ok(())
}
