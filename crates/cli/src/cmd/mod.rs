//! One module per subcommand: its flags and its run function.

pub mod case;
pub mod cluster;
pub mod demo;
mod demo_review;
pub mod ingest;
pub mod lake;
pub mod log;
pub mod monitor;
pub mod run;
pub mod scan;
pub mod serve;
pub mod signals;
pub mod simulate;
pub mod verify;
pub mod witness;

/// A multi-thread tokio runtime for the async library calls.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    // Few blocking threads: DataFusion reads each Parquet range on one, and with tokio's default (512) a scan of a
    // lake of hundreds of files ran 160 at once, each with its own allocator heap and buffers.
    Ok(tokio::runtime::Builder::new_multi_thread().max_blocking_threads(8).enable_all().build()?)
}

/// 32 bytes from the system's random source, for log signing seeds and pseudonym keys.
pub fn random_seed() -> anyhow::Result<[u8; 32]> {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).map_err(|e| anyhow::anyhow!("reading the system's random source: {e}"))?;
    Ok(seed)
}
