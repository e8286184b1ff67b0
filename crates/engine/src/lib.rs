//! The query engine: which one runs oversight's SQL, and the processes of a cluster.
//!
//! Every stage that queries (the series builder in `signals`, the policies in `detect`) asks an [`Engine`] for its
//! session and then writes standard SQL against it; none of them knows which engine answers. Two engines:
//! - [`Engine::Local`]: DataFusion in this process;
//! - [`Engine::Ballista`]: an Apache Ballista cluster (`ballista://HOST:PORT`, its scheduler), running the same
//!   DataFusion plans on its executors. The tables a stage registers travel to the cluster with the plan: Parquet
//!   files by URL (which the executors open through [`StoreRegistry`] with their own credentials), small in-memory
//!   tables through [`TableCodec`] as Arrow IPC.
//!
//! [`cluster`] runs a Ballista scheduler or executor (Ballista's own, unmodified) with those two pieces plugged in.
#![deny(missing_docs)]

pub mod cluster;
mod codec;
mod stores;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use ballista::prelude::{SessionConfigExt, SessionContextExt};
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};

pub use codec::TableCodec;
pub use stores::StoreRegistry;

/// The scheme of a Ballista scheduler's address on the command line.
pub const BALLISTA_SCHEME: &str = "ballista://";

/// Errors of the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The engine was named in a form not understood.
    #[error("unknown engine {0:?}: use `local` or `ballista://HOST:PORT` (a Ballista scheduler)")]
    Unknown(String),
    /// The query engine failed.
    #[error(transparent)]
    Query(#[from] datafusion::error::DataFusionError),
    /// A cluster process failed.
    #[error("cluster: {0}")]
    Cluster(String),
}

/// Which engine runs the queries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Engine {
    /// DataFusion in this process.
    #[default]
    Local,
    /// An Apache Ballista cluster, by its scheduler's `HOST:PORT`.
    Ballista {
        /// The scheduler's host and port.
        scheduler: String,
    },
}

impl FromStr for Engine {
    type Err = EngineError;

    fn from_str(s: &str) -> Result<Engine, EngineError> {
        if s == "local" {
            return Ok(Engine::Local);
        }
        let Some(addr) = s.strip_prefix(BALLISTA_SCHEME) else { return Err(EngineError::Unknown(s.into())) };
        let addr = addr.trim_end_matches('/');
        // HOST:PORT, with a port: a scheduler on a default port would be a guess.
        match addr.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(Engine::Ballista { scheduler: addr.into() }),
            _ => Err(EngineError::Unknown(s.into())),
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Engine::Local => f.write_str("local"),
            Engine::Ballista { scheduler } => write!(f, "{BALLISTA_SCHEME}{scheduler}"),
        }
    }
}

impl Engine {
    /// A session on this engine with `config`. `runtime` sets the local resources (memory pool, spill folder); the
    /// object stores are [`StoreRegistry`]'s, so a store URL opens with the environment's credentials wherever the
    /// plan runs. On a cluster, each executor spills within its own pool.
    pub async fn session(&self, config: SessionConfig, runtime: RuntimeEnvBuilder) -> Result<SessionContext, EngineError> {
        let runtime = runtime.with_object_store_registry(Arc::new(StoreRegistry::new())).build_arc()?;
        match self {
            Engine::Local => Ok(SessionContext::new_with_config_rt(config, runtime)),
            Engine::Ballista { scheduler } => {
                let config = config.upgrade_for_ballista().with_ballista_logical_extension_codec(Arc::new(TableCodec::default()));
                let state = SessionStateBuilder::new().with_config(config).with_runtime_env(runtime).with_default_features().build();
                Ok(SessionContext::remote_with_state(&format!("df://{scheduler}"), state).await?)
            }
        }
    }

    /// Whether the queries run in this process.
    pub fn is_local(&self) -> bool {
        matches!(self, Engine::Local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_parse_and_print_back() {
        assert_eq!("local".parse::<Engine>().unwrap(), Engine::Local);
        let e: Engine = "ballista://127.0.0.1:50050".parse().unwrap();
        assert_eq!(e, Engine::Ballista { scheduler: "127.0.0.1:50050".into() });
        assert_eq!(e.to_string(), "ballista://127.0.0.1:50050");
        for bad in ["", "ballista://", "ballista://host", "ballista://:1", "ballista://h:port", "df://h:1", "Local"] {
            assert!(bad.parse::<Engine>().is_err(), "{bad:?} parsed");
        }
    }
}
