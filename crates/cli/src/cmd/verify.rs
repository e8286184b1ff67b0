//! `oversight verify` and `oversight monitor`: the public's checks of a published log, from its folder or its URL.

use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use tlog::log::TileReader;
use tlog::storage::Source;

use crate::exit;

/// Verify a transparency log as an outside auditor: the checkpoint's signature, witness cosignatures, the root
/// recomputed from the tiles, consistency with the checkpoint you saw last time, and an entry's inclusion. Prints one
/// line per check, saying plainly whether it holds; the help's footer says where the log is read from and the exit
/// codes.
#[derive(Args)]
#[command(after_help = "The log is read from its folder, from any host over HTTPS (certificates checked against the \
    web PKI roots, or --ca-file), or over plain HTTP from this machine only. Redirects are not followed: a log's tiles \
    come from the URL its readers were given. Each file is at most one full entry bundle (16 MiB), and each request \
    times out after --timeout seconds.\n\nExit codes: 0 every check holds; 1 a check fails or the log cannot be read; \
    2 bad command line (including plain HTTP off this machine or a malformed key).")]
pub struct VerifyArgs {
    #[command(flatten)]
    at: LogAt,
    #[command(flatten)]
    trust: Trust,
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

/// Where a published log is read from, and how.
#[derive(Args)]
pub struct LogAt {
    /// The log: a folder as served (`checkpoint` and `tile/`), an `https://` URL, or an `http://` URL on this
    /// machine (`http://127.0.0.1:8080/`).
    #[arg(long, default_value = "./oversight-log", value_name = "DIR|URL")]
    log: String,
    /// PEM file of the certificate authorities an `https://` log's certificate must chain to, instead of the web
    /// PKI roots.
    #[arg(long, value_name = "PEM")]
    ca_file: Option<PathBuf>,
    /// Seconds each request may take, connecting included.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
}

/// Whose signatures a reader trusts.
#[derive(Args)]
pub struct Trust {
    /// The log's verifier key (`name+id+key`); repeat for several.
    #[arg(long = "key", required = true)]
    keys: Vec<String>,
    /// A witness verifier key (cosignature/v1); repeat for several.
    #[arg(long = "witness")]
    witnesses: Vec<String>,
    /// Witness cosignatures required.
    #[arg(long, default_value_t = 0)]
    pub quorum: usize,
}

impl Trust {
    /// The log's keys and the witnesses' keys; the error names the flag and the key.
    pub fn keys(&self) -> Result<(Vec<tlog::note::Verifier>, Vec<tlog::note::Verifier>), String> {
        let parse = |keys: &[String], flag: &str| -> Result<Vec<_>, String> {
            keys.iter().map(|k| tlog::note::Verifier::parse(k).map_err(|e| format!("{flag} {k:?}: {e}"))).collect()
        };
        Ok((parse(&self.keys, "--key")?, parse(&self.witnesses, "--witness")?))
    }
}

/// The largest file of the layout: a full bundle of the largest entries (256 × (2 + 65,535) bytes).
const MAX_FILE: u64 = 256 * (2 + tlog::log::MAX_ENTRY as u64);

/// A published log served over HTTP(S).
struct Http {
    /// The URL of the log's root, ending in `/`.
    base: String,
    agent: ureq::Agent,
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

impl LogAt {
    /// A reader of the log; the error says why the URL or the CA file is refused.
    pub fn reader(&self) -> Result<TileReader, String> {
        let log = &self.log;
        let Some((scheme, rest)) = log.split_once("://") else { return Ok(TileReader::new(Path::new(log))) };
        let https = scheme.eq_ignore_ascii_case("https");
        if !https && !scheme.eq_ignore_ascii_case("http") {
            return Err(format!("{log}: {scheme}:// is not read; give a folder, an https:// URL, or an http:// URL on this machine"));
        }
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        if authority.is_empty() || authority.contains('@') || path.contains(['?', '#']) {
            return Err(format!("{log}: a URL with no host, with credentials, a query or a fragment is not a log"));
        }
        let host = match authority.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(""),
            None => authority.split(':').next().unwrap_or(""),
        };
        let loopback = host.eq_ignore_ascii_case("localhost") || host == "127.0.0.1" || host == "::1";
        if !https && !loopback {
            return Err(format!("{log}: plain HTTP is read only from this machine; use https:// for {host:?}"));
        }
        let mut tls = ureq::tls::TlsConfig::builder();
        if let Some(ca) = &self.ca_file {
            let pem = std::fs::read(ca).map_err(|e| format!("--ca-file {}: {e}", ca.display()))?;
            let certs: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => Some(Ok(c)),
                    Ok(_) => None,
                    Err(e) => Some(Err(e)),
                })
                .collect::<Result<_, _>>()
                .map_err(|e| format!("--ca-file {}: {e}", ca.display()))?;
            if certs.is_empty() {
                return Err(format!("--ca-file {}: no certificate in it", ca.display()));
            }
            tls = tls.root_certs(ureq::tls::RootCerts::Specific(Arc::new(certs)));
        }
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // Only the log's own URL is read: no redirects elsewhere, no proxy from the environment.
            .max_redirects(0)
            .proxy(None)
            .https_only(https)
            .tls_config(tls.build())
            .timeout_connect(Some(Duration::from_secs(self.timeout.min(30))))
            .timeout_global(Some(Duration::from_secs(self.timeout)))
            .build();
        let path = if path.is_empty() || path.ends_with('/') { path.to_string() } else { format!("{path}/") };
        let base = format!("{}://{authority}/{path}", scheme.to_ascii_lowercase());
        Ok(TileReader::over(Http { base, agent: ureq::Agent::new_with_config(config) }))
    }
}

/// Run the command.
pub fn run(a: VerifyArgs) -> anyhow::Result<ExitCode> {
    let (reader, (keys, witnesses)) = match (a.at.reader(), a.trust.keys()) {
        (Ok(reader), Ok(keys)) => (reader, keys),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(exit::USAGE));
        }
    };
    let remembered = match &a.state {
        Some(state) => match std::fs::read_to_string(state) {
            Ok(text) => Some(tlog::log::Checkpoint::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", state.display()))?),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(anyhow::anyhow!("reading {}: {e}", state.display())),
        },
        None => None,
    };
    let opts = tlog::verify::Options { keys, witnesses, quorum: a.trust.quorum, entry: a.entry, full: a.full };
    let report = tlog::verify::verify(&reader, &opts, remembered.as_ref());
    let ok = report.holds();
    if let (true, Some(state), Some(cp)) = (ok, &a.state, &report.checkpoint) {
        std::fs::write(state, cp.body()).map_err(|e| anyhow::anyhow!("writing {}: {e}", state.display()))?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({"holds": ok, "checks": report.checks}))?);
    } else {
        for c in &report.checks {
            println!("{} {}: {}", if c.holds { "holds:" } else { "FAILS:" }, c.name, c.detail);
        }
    }
    Ok(ExitCode::from(if ok { exit::OK } else { exit::FAILED }))
}
