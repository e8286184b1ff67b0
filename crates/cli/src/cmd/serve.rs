//! `oversight serve`: the review console on the case store and its transparency log.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;

use super::case::StoreArgs;
use crate::exit;

/// Serve the review console: reviewers sign in (accounts are the roster: `oversight reviewer add`), work the queue,
/// read each case's evidence and act on it; the public reads the log's decisions under `/log/`, with every proof
/// checked.
#[derive(Args)]
#[command(after_help = "The console reads and writes the same store and log as `oversight case`. Serve it on \
    127.0.0.1 behind an HTTPS reverse proxy, with --secure-cookies; sign-in throttling counts per client address, so \
    behind a proxy every client shares the proxy's count.\n\nExit codes: 0 stopped; 1 the store, the log or an input \
    cannot be used; 2 bad command line.")]
pub struct ServeArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
    /// The tenant registry, to show each subject's name and organisation.
    #[arg(long)]
    registry: Option<PathBuf>,
    /// The policy pack folder whose clauses the case pages quote (default: the built-in pack).
    #[arg(long)]
    policies: Option<PathBuf>,
    /// Mark session cookies Secure (set it whenever browsers reach the console over HTTPS).
    #[arg(long)]
    secure_cookies: bool,
}

/// Run the command.
pub fn run(a: ServeArgs) -> anyhow::Result<ExitCode> {
    super::runtime()?.block_on(async {
        let (store, private) = super::case::open_store_at(&a.store).await?;
        let log_key = tlog::log::Log::open(&a.store.dir, &private)?.verifier();
        let pseudonym_key = super::case::pseudonym_key(a.store.pseudonym_key.as_deref(), &private)?;
        let registry = match &a.registry {
            Some(p) => Some(registry::Registry::from_path(p).with_context(|| format!("reading {}", p.display()))?),
            None => None,
        };
        let policies = match &a.policies {
            Some(dir) => console::Policies::from_dir(dir)?,
            None => console::Policies::from_files(detect::policy::BUILT_IN.iter().copied())?,
        };
        let config = console::Config { store, log_dir: a.store.dir.clone(), log_key, pseudonym_key, registry, policies, secure_cookies: a.secure_cookies };
        let listener = tokio::net::TcpListener::bind(&a.addr).await.with_context(|| format!("listening on {}", a.addr))?;
        eprintln!("console on http://{} (public log pages under /log/)", listener.local_addr()?);
        console::serve(Arc::new(console::Console::new(config)), listener).await?;
        Ok(ExitCode::from(exit::OK))
    })
}
