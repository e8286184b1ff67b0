//! `oversight witness …`: a C2SP tlog-witness that an independent party runs (a regulator, an NGO), and the log's
//! side that asks witnesses to cosign (`oversight log checkpoint --witness`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use tlog::note::{Cosigner, Verifier};
use tlog::witness::{KnownLogs, Reply, Witness};

use crate::exit;

/// Run a witness: it cosigns a log's checkpoint only when it is consistent with every checkpoint of that log it
/// cosigned before, so a log cannot show one history to one reader and another to the next.
#[derive(Args)]
#[command(after_help = "Start with `oversight witness init --key witness.key --state witness.state --name example.org/witness`, \
    which prints the witness's verifier key for the logs and readers that trust it. List the logs it witnesses in a \
    file, one verifier key per line (`<vkey>` or `<vkey> <origin>`; `#` comments), then `oversight witness serve`. \
    Logs submit to POST /add-checkpoint; monitors read GET /<sha256 of origin>/checkpoint.\n\nExit codes: 0 done; \
    1 the key, state or logs file cannot be used; 2 bad command line.")]
pub struct WitnessArgs {
    #[command(subcommand)]
    command: WitnessCommand,
}

#[derive(Subcommand)]
enum WitnessCommand {
    /// Create the witness's Ed25519 key (file mode 0600) and its empty state; prints its verifier key.
    Init {
        /// The key file to create.
        #[arg(long)]
        key: PathBuf,
        /// The state file to create (the latest checkpoint cosigned per log).
        #[arg(long)]
        state: PathBuf,
        /// The witness's name, e.g. `witness.example.org`.
        #[arg(long)]
        name: String,
    },
    /// Serve add-checkpoint requests until stopped.
    Serve {
        /// The key file (`oversight witness init`).
        #[arg(long)]
        key: PathBuf,
        /// The state file (`oversight witness init`).
        #[arg(long)]
        state: PathBuf,
        /// The logs witnessed: one verifier key per line, optionally followed by the origin.
        #[arg(long)]
        logs: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8081")]
        listen: String,
    },
}

impl WitnessArgs {
    /// Whether the command serves HTTP until stopped.
    pub fn is_server(&self) -> bool {
        matches!(self.command, WitnessCommand::Serve { .. })
    }
}

/// Run the command.
pub fn run(a: WitnessArgs) -> anyhow::Result<ExitCode> {
    match a.command {
        WitnessCommand::Init { key, state, name } => {
            let seed = super::random_seed()?;
            let signer = tlog::note::Signer::from_seed(&name, &seed)?;
            let mut raw = vec![tlog::note::ED25519];
            raw.extend_from_slice(&seed);
            use base64::Engine;
            let skey = format!("PRIVATE+KEY+{name}+{:08x}+{}\n", signer.verifier().key_id, base64::engine::general_purpose::STANDARD.encode(raw));
            write_new_private(&key, skey.as_bytes())?;
            // The state records nothing until a listed log submits; the logs are given to `serve`.
            let witness =
                Witness::create(&state, Cosigner::from_seed(&name, &seed)?, KnownLogs::default()).with_context(|| format!("creating {}", state.display()))?;
            println!("{}", witness.verifier().to_vkey());
            eprintln!("witness key in {}, state in {}", key.display(), state.display());
        }
        WitnessCommand::Serve { key, state, logs, listen } => {
            let text = std::fs::read_to_string(&key).with_context(|| format!("reading {}", key.display()))?;
            let cosigner = Cosigner::parse(text.trim()).with_context(|| format!("{}", key.display()))?;
            let list = std::fs::read_to_string(&logs).with_context(|| format!("reading {}", logs.display()))?;
            let known = KnownLogs::parse(&list).with_context(|| format!("{}", logs.display()))?;
            let witness = Witness::open(&state, cosigner, known).with_context(|| format!("opening {}", state.display()))?;
            eprintln!("witness {}", witness.verifier().to_vkey());
            super::runtime()?.block_on(serve(Arc::new(witness), &listen))?;
        }
    }
    Ok(ExitCode::from(exit::OK))
}

/// Create a file only the owner reads, refusing to overwrite one.
fn write_new_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {} (an existing key is never overwritten)", path.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

/// POST /add-checkpoint and GET /<origin hash>/checkpoint.
async fn serve(witness: Arc<Witness>, listen: &str) -> anyhow::Result<()> {
    use axum::body::Bytes;
    use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
    use axum::http::{StatusCode, header};
    use axum::response::{IntoResponse, Response};
    use axum::routing::{get, post};
    fn answer(r: tlog::witness::Response) -> Response {
        let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, [(header::CONTENT_TYPE, r.content_type)], r.body).into_response()
    }
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("listening on {listen}"))?;
    eprintln!("witness serving on http://{}", listener.local_addr()?);
    let app = axum::Router::new()
        .route(
            "/add-checkpoint",
            post(|State(w): State<Arc<Witness>>, body: Bytes| async move {
                // The durable save fsyncs: off the async threads.
                let r = tokio::task::spawn_blocking(move || w.add_checkpoint(&body)).await;
                match r {
                    Ok(r) => answer(r),
                    Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response(),
                }
            }),
        )
        .route("/{origin}/checkpoint", get(|State(w): State<Arc<Witness>>, UrlPath(origin): UrlPath<String>| async move { answer(w.get_checkpoint(&origin)) }))
        // One byte over the witness's own limit, so that it answers 413 itself.
        .layer(DefaultBodyLimit::max(tlog::witness::MAX_REQUEST_BYTES + 1))
        .with_state(witness);
    axum::serve(listener, app).await?;
    Ok(())
}

/// A witness the log asks to cosign: `URL+NAME+ID+KEY`, the URL of its submission prefix and its verifier key.
pub struct WitnessUrl {
    /// The submission prefix, without a trailing `/`.
    pub url: String,
    /// Its cosignature/v1 verifier key.
    pub key: Verifier,
}

impl WitnessUrl {
    /// Parse `URL+vkey`. A key's base64 may hold `+` and a key name may not, so the key starts after the first `+`
    /// from which the rest parses as a verifier key.
    pub fn parse(s: &str) -> Result<WitnessUrl, String> {
        let split = s.match_indices('+').find_map(|(i, _)| Verifier::parse(&s[i + 1..]).ok().map(|key| (&s[..i], key)));
        let Some((url, key)) = split else { return Err(format!("{s:?}: expected URL+NAME+ID+KEY with a witness verifier key")) };
        if key.kind != tlog::note::COSIGNATURE_V1 {
            return Err(format!("{s:?}: not a cosignature/v1 witness key"));
        }
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!("{s:?}: the witness URL must be http:// or https://"));
        }
        Ok(WitnessUrl { url: url.trim_end_matches('/').to_string(), key })
    }
}

/// Ask each witness to cosign the log's current checkpoint and publish it with every cosignature got; returns, per
/// witness, `Ok(())` or why it did not cosign. The last size each witness cosigned is remembered in the private
/// folder, so the next request carries the right consistency proof (a 409 corrects it).
pub fn cosign(dir: &Path, private: &Path, witnesses: &[WitnessUrl]) -> anyhow::Result<Vec<(String, Result<(), String>)>> {
    let log = tlog::log::Log::open(dir, private).with_context(|| format!("opening the log at {}", dir.display()))?;
    let checkpoint = log.checkpoint()?;
    let reader = log.reader();
    let sizes_path = private.join("witness-sizes.json");
    let mut sizes: std::collections::BTreeMap<String, u64> = std::fs::read(&sizes_path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).timeout_global(Some(Duration::from_secs(30))).build(),
    );
    let mut got = Vec::new();
    let mut outcomes = Vec::new();
    for w in witnesses {
        let vkey = w.key.to_vkey();
        let mut size = sizes.get(&vkey).copied().unwrap_or(0);
        let mut outcome = Err("no answer".to_string());
        // At most one correction: a 409 says the size the witness has.
        for _ in 0..2 {
            let body = match tlog::witness::build_request(&checkpoint, size, |old, new| reader.consistency_proof(old, new)) {
                Ok(b) => b,
                Err(e) => {
                    outcome = Err(e.to_string());
                    break;
                }
            };
            let response = agent.post(format!("{}/add-checkpoint", w.url)).send(&body[..]);
            let (status, answer) = match response {
                Ok(r) => {
                    let status = r.status().as_u16();
                    match r.into_body().with_config().limit(64 * 1024).read_to_vec() {
                        Ok(b) => (status, b),
                        Err(e) => {
                            outcome = Err(format!("{}: {e}", w.url));
                            break;
                        }
                    }
                }
                Err(e) => {
                    outcome = Err(format!("{}: {e}", w.url));
                    break;
                }
            };
            match tlog::witness::parse_response(status, &answer) {
                Ok(Reply::Cosigned(signatures)) => {
                    got.extend(signatures);
                    sizes.insert(vkey.clone(), reader.checkpoint()?.1.size);
                    outcome = Ok(());
                    break;
                }
                Ok(Reply::Conflict(theirs)) => {
                    size = theirs;
                    outcome = Err(format!("{}: the witness has size {theirs}", w.url));
                }
                Err(e) => {
                    outcome = Err(format!("{}: {e}", w.url));
                    break;
                }
            }
        }
        outcomes.push((vkey, outcome));
    }
    let keys: Vec<Verifier> = witnesses.iter().map(|w| w.key.clone()).collect();
    // Cosignatures that do not verify under the key the log was told are refused whole: nothing is published.
    let cosigned = tlog::witness::merge_cosignatures(&checkpoint, &got, &keys)?;
    log.publish_cosigned(&cosigned)?;
    std::fs::write(&sizes_path, serde_json::to_vec(&sizes)?).with_context(|| format!("writing {}", sizes_path.display()))?;
    Ok(outcomes)
}
