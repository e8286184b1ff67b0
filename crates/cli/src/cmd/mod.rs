//! One module per subcommand: its flags and its run function.

pub mod case;
pub mod demo;
mod demo_review;
pub mod ingest;
pub mod log;
pub mod scan;
pub mod signals;
pub mod simulate;
pub mod verify;

/// A multi-thread tokio runtime for the async library calls.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}
