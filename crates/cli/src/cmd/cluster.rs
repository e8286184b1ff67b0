//! `oversight cluster`: the processes of an Apache Ballista cluster that runs oversight's queries.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::exit;

/// Run a scheduler or an executor of an Apache Ballista cluster (Ballista 55, on the same DataFusion as oversight).
///
/// `signals`, `scan` and `eval` run on the cluster with `--engine ballista://HOST:PORT` (the scheduler's address).
/// Executors read the lake with their own machine's credentials, from the same environment variables as `ingest`
/// (for `az://`, `s3://` and `gs://` lakes). A local lake, and the scratch files `signals` and `scan` write to this
/// machine's temporary folder, must be at the same paths on every executor: start executors on this machine, or
/// give them a shared file system.
///
/// Each process runs until it is stopped (Ctrl-C or SIGTERM).
///
/// Exit codes: 1 the process could not start or failed; 2 bad command line.
#[derive(Args)]
pub struct ClusterArgs {
    #[command(subcommand)]
    process: Process,
}

#[derive(Subcommand)]
enum Process {
    /// The scheduler: clients send it plans; it splits them into stages and tasks for the executors.
    Scheduler {
        /// The address to listen on; clients name it as `--engine ballista://HOST:PORT`.
        #[arg(long, default_value = "127.0.0.1:50050")]
        bind: SocketAddr,
    },
    /// An executor: registers with the scheduler and runs the tasks it is given.
    Executor {
        /// The scheduler's HOST:PORT.
        #[arg(long, default_value = "127.0.0.1:50050")]
        scheduler: String,
        /// The address of its Arrow Flight service, from which other executors and clients fetch results.
        #[arg(long, default_value = "127.0.0.1:50051")]
        bind: SocketAddr,
        /// The port of its gRPC service, on the same host.
        #[arg(long, default_value_t = 50052)]
        grpc_port: u16,
        /// Tasks it runs at once (0: one per core).
        #[arg(long, default_value_t = 0)]
        concurrent_tasks: usize,
        /// Where shuffle files and spills go (default: a new temporary folder).
        #[arg(long)]
        work_dir: Option<PathBuf>,
        /// Memory, in MiB, its tasks may hold before they spill (default: Ballista's share of the machine).
        #[arg(long, value_name = "MIB")]
        memory_limit: Option<u64>,
    },
}

/// Run the command.
pub fn run(a: ClusterArgs) -> anyhow::Result<ExitCode> {
    // Deep stacks, as Ballista's own scheduler binary has: decoding and planning a policy's plan recurses through
    // every expression, and the default 2 MiB overflowed on the scan's statements.
    let rt = tokio::runtime::Builder::new_multi_thread().thread_stack_size(32 << 20).enable_all().build()?;
    rt.block_on(async {
        match a.process {
            Process::Scheduler { bind } => {
                eprintln!("scheduler listening on {bind}: use --engine ballista://{bind}");
                engine::cluster::scheduler(bind).await?;
            }
            Process::Executor { scheduler, bind, grpc_port, concurrent_tasks, work_dir, memory_limit } => {
                eprintln!("executor on {bind} (gRPC port {grpc_port}) joining the scheduler at {scheduler}");
                let options = engine::cluster::ExecutorOptions {
                    scheduler,
                    bind,
                    grpc_port,
                    concurrent_tasks,
                    work_dir: work_dir.map(|d| d.display().to_string()),
                    memory_limit: memory_limit.map(|m| m << 20),
                };
                engine::cluster::executor(options).await?;
            }
        }
        Ok(ExitCode::from(exit::OK))
    })
}
