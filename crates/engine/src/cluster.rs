//! The processes of a Ballista cluster, as Ballista's own scheduler and executor libraries run them, with
//! oversight's two additions plugged into their documented extension points: [`StoreRegistry`], so that executors
//! open store lakes with their own credentials, and [`TableCodec`], so that in-memory tables travel with plans.
//! Ballista's stock binaries know only local files and S3, and no in-memory table.

use std::net::SocketAddr;
use std::sync::Arc;

use ballista::prelude::SessionConfigExt;
use ballista_core::extension::{ballista_aggregate_functions, ballista_scalar_functions, ballista_window_functions};
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::SessionConfig;

use crate::{EngineError, StoreRegistry, TableCodec};

/// The session configuration every process of the cluster starts from: Ballista's, with [`TableCodec`].
fn config() -> SessionConfig {
    SessionConfig::new_with_ballista().with_ballista_logical_extension_codec(Arc::new(TableCodec::default()))
}

fn failed(e: impl std::fmt::Display) -> EngineError {
    EngineError::Cluster(e.to_string())
}

/// Run a scheduler listening on `bind` until the process ends. Clients name it as `ballista://HOST:PORT`.
pub async fn scheduler(bind: SocketAddr) -> Result<(), EngineError> {
    let mut config = SchedulerConfig { bind_host: bind.ip().to_string(), bind_port: bind.port(), ..SchedulerConfig::default() }
        .with_override_config_producer(Arc::new(config))
        .with_override_session_builder(Arc::new(|config: SessionConfig| {
            // The scheduler plans: it lists and sizes the files a plan names, so it opens stores too.
            let runtime = RuntimeEnvBuilder::new().with_object_store_registry(Arc::new(StoreRegistry::new())).build_arc()?;
            Ok(SessionStateBuilder::new()
                .with_config(config)
                .with_runtime_env(runtime)
                .with_default_features()
                .with_scalar_functions(ballista_scalar_functions())
                .with_aggregate_functions(ballista_aggregate_functions())
                .with_window_functions(ballista_window_functions())
                .build())
        }));
    config.override_logical_codec = Some(Arc::new(TableCodec::default()));
    let cluster = BallistaCluster::new_from_config(&config).await.map_err(failed)?;
    start_server(cluster, bind, Arc::new(config)).await.map_err(failed)
}

/// What an executor needs to know.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// The scheduler's `HOST:PORT`.
    pub scheduler: String,
    /// The address the executor's Arrow Flight service (the shuffle data) listens on.
    pub bind: SocketAddr,
    /// The port of its gRPC service (the scheduler's calls), on the same host.
    pub grpc_port: u16,
    /// Tasks run at once (0: one per core).
    pub concurrent_tasks: usize,
    /// Where shuffle files and spills go (a temporary folder when absent).
    pub work_dir: Option<String>,
    /// Bytes its tasks may hold before they spill (absent: Ballista's share of the machine's memory).
    pub memory_limit: Option<u64>,
}

/// Run an executor until the process ends: it registers with the scheduler and runs the tasks it is given.
pub async fn executor(o: ExecutorOptions) -> Result<(), EngineError> {
    let (host, port) = o
        .scheduler
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
        .ok_or_else(|| EngineError::Cluster(format!("scheduler {:?}: write HOST:PORT", o.scheduler)))?;
    let work_dir = o.work_dir.clone();
    let config = ExecutorProcessConfig {
        bind_host: o.bind.ip().to_string(),
        port: o.bind.port(),
        grpc_port: o.grpc_port,
        scheduler_host: host,
        scheduler_port: port,
        // Wait for a scheduler that starts after this executor (0 would give up at once).
        scheduler_connect_timeout_seconds: 60,
        vcores: o.concurrent_tasks,
        work_dir: o.work_dir,
        memory_pool_size: o.memory_limit,
        override_config_producer: Some(Arc::new(config)),
        override_runtime_producer: Some(Arc::new(move |_: &SessionConfig| {
            let mut runtime = RuntimeEnvBuilder::new().with_object_store_registry(Arc::new(StoreRegistry::new()));
            if let Some(dir) = &work_dir {
                runtime = runtime.with_temp_file_path(dir);
            }
            runtime.build_arc()
        })),
        override_logical_codec: Some(Arc::new(TableCodec::default())),
        ..ExecutorProcessConfig::default()
    };
    start_executor_process(Arc::new(config)).await.map_err(failed)
}
