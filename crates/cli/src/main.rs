//! `oversight`: the one binary. It parses flags, calls the library crates, and maps their errors to messages and
//! exit codes. No stage logic lives here.

mod cmd;
mod report;
mod term;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

// Ingest allocates and frees many short-lived Arrow buffers; glibc's allocator returns them to the kernel and
// faults them back in, which cost more than the parsing itself in profiles.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Usage metadata in, accountability out: scan cloud billing exports for signs of mass surveillance, and record
/// every decision on a verifiable log.
#[derive(Parser)]
#[command(name = "oversight", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Simulate a population with the surveillance scenarios, ingest it, scan and evaluate it: the whole pipeline.
    Demo(cmd::demo::DemoArgs),
    /// Ingest FOCUS exports (files or folders, recursively) into the usage lake.
    Ingest(cmd::ingest::IngestArgs),
    /// Verify the usage lake: every committed file present and unchanged.
    Lake(cmd::lake::LakeArgs),
    /// One day's work: ingest the deliveries that arrived, rebuild the series of the days they change, scan.
    Run(cmd::run::RunArgs),
    /// Build signal series from the lake, or list the meters the catalog does not know.
    Signals(cmd::signals::SignalsArgs),
    /// Scan the lake with the policy pack and print the findings of a day.
    Scan(cmd::scan::ScanArgs),
    /// Score the policy pack against a scenario folder's labels.
    Eval(cmd::scan::EvalArgs),
    /// Simulate FOCUS exports for a population with the surveillance scenarios, and their labels.
    Simulate(cmd::simulate::SimulateArgs),
    /// Create and append to the transparency log, print its checkpoint and proofs.
    Log(cmd::log::LogArgs),
    /// Verify a published transparency log as an auditor.
    Verify(cmd::verify::VerifyArgs),
    /// Follow a published log and print its new decisions as JSON lines; exits 7 on a split view or rollback.
    Monitor(cmd::monitor::MonitorArgs),
    /// Run a witness that cosigns a log's checkpoints only when they are consistent with what it cosigned before.
    Witness(cmd::witness::WitnessArgs),
    /// Open cases from findings, review, decide, approve (two reviewers), enforce and lift them.
    Case(cmd::case::CaseArgs),
    /// Keep the reviewer roster: who may act on cases, and in which role.
    Reviewer(cmd::case::ReviewerArgs),
    /// Serve the review console (reviewers sign in and work cases) and the log's public pages.
    Serve(cmd::serve::ServeArgs),
    /// Run a scheduler or an executor of an Apache Ballista cluster for `--engine ballista://HOST:PORT`.
    Cluster(cmd::cluster::ClusterArgs),
}

/// Exit codes, documented in `--help` of each command and in README.md.
pub mod exit {
    /// Everything worked (quarantined rows are reported, not failures, unless `--strict`).
    pub const OK: u8 = 0;
    /// Some input could not be used at all (a file or delivery refused), or a command failed.
    pub const FAILED: u8 = 1;
    /// Bad command line (clap's own code).
    pub const USAGE: u8 = 2;
    /// `--strict` and at least one row was quarantined.
    pub const QUARANTINED: u8 = 3;
    /// `scan` made at least one finding.
    pub const FINDINGS: u8 = 4;
    /// `case`: the review rules refused the action, or someone else changed the case first; nothing was written.
    pub const REFUSED: u8 = 5;
    /// `scan`: more rows were quarantined than --max-quarantine-share allows, so a missing finding may be missing data.
    pub const INCOMPLETE: u8 = 6;
    /// `monitor`: the log showed a split view or rolled back (two histories under one key).
    pub const SPLIT_VIEW: u8 = 7;
}

/// Index of `mi_option_arena_eager_commit` in mimalloc v3's `mi_option_e` (libmimalloc-sys 0.1.49, pinned).
const MI_OPTION_ARENA_EAGER_COMMIT: i32 = 4;
/// Index of `mi_option_purge_delay` in the same enum.
const MI_OPTION_PURGE_DELAY: i32 = 15;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, Command::Ingest(_) | Command::Demo(_)) {
        // Ingest frees and re-allocates batch-sized buffers continuously; mimalloc's default 10 ms purge hands them
        // back to the kernel and faults them in again, which measured 1.5 s of 3.2 s system time per million rows.
        // A 1 s delay keeps that reuse; never purging (-1) kept every page a run ever touched, 633 MiB on 100,000
        // small files against 498 MiB with the delay (bench/many_files.py; 1M-row ingest time unchanged).
        // Not for the query commands: their spilling sorts and aggregations free memory on many threads, and never
        // purging kept it all resident (signals on 2,000 accounts: 1.3 GB committed under a 256 MiB query limit).
        // SAFETY: plain option setters, called before any other thread exists.
        unsafe {
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 1000);
            libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 1);
        }
    }
    // `oversight scan | head -1`: a closed pipe ends the process quietly, as it does any Unix filter, instead of a
    // panic in the middle of a table. Not for the servers, whose closed client sockets must not end them.
    #[cfg(unix)]
    let server = match &cli.command {
        Command::Log(l) => l.is_server(),
        Command::Witness(w) => w.is_server(),
        Command::Serve(_) | Command::Cluster(_) => true,
        _ => false,
    };
    if !server {
        // SAFETY: restoring the default disposition of one signal, before any other thread exists.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_env("OVERSIGHT_LOG")).with_writer(std::io::stderr).init();
    let result = match cli.command {
        Command::Demo(a) => cmd::demo::run(a),
        Command::Ingest(a) => cmd::ingest::run(a),
        Command::Lake(a) => cmd::lake::run(a),
        Command::Run(a) => cmd::run::run(a),
        Command::Signals(a) => cmd::signals::run(a),
        Command::Simulate(a) => cmd::simulate::run(a),
        Command::Scan(a) => cmd::scan::run(a),
        Command::Eval(a) => cmd::scan::eval(a),
        Command::Log(a) => cmd::log::run(a),
        Command::Verify(a) => cmd::verify::run(a),
        Command::Witness(a) => cmd::witness::run(a),
        Command::Monitor(a) => cmd::monitor::run(a),
        Command::Serve(a) => cmd::serve::run(a),
        Command::Case(a) => cmd::case::run(a),
        Command::Reviewer(a) => cmd::case::reviewer(a),
        Command::Cluster(a) => cmd::cluster::run(a),
    };
    match result {
        Ok(code) => code,
        // A closed pipe (`oversight signals | head`) is the reader's choice, not a failure.
        Err(e) if e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)) => {
            ExitCode::from(exit::OK)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit::FAILED)
        }
    }
}
