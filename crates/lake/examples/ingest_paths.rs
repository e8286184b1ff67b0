//! Ingest files or folders into a lake and print the time: `Lake::ingest` without the CLI, for profilers that
//! need the system allocator (heaptrack) or a smaller binary (perf).
//!
//! ```text
//! cargo run --release -p lake --example ingest_paths -- LAKE PATH...
//! ```

use std::time::Instant;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (lake_dir, paths) = args.split_first().expect("usage: ingest_paths LAKE PATH...");
    let paths: Vec<std::path::PathBuf> = paths.iter().map(Into::into).collect();
    let found = lake::discover(&paths);
    let mut lake = lake::Lake::open(lake_dir).await.expect("open");
    let t = Instant::now();
    let out = lake.ingest(&found.deliveries, &lake::IngestOptions::default(), &|_| {}).await.expect("ingest");
    let refused = out.iter().filter(|o| matches!(o, lake::DeliveryOutcome::Refused(_))).count();
    let rows: u64 = lake.state().live("usage").map(|f| f.rows).sum();
    println!("{} deliveries ({refused} refused), {rows} live rows, ingest {:.2?}", found.deliveries.len(), t.elapsed());
}
