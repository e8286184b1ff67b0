//! Durable appends per second at several batch sizes, and inclusion-proof latency from the tiles:
//! `cargo run --release -p tlog --example bench_append -- DIR ENTRIES`. Prints one JSON line per measurement.

use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().expect("usage: bench_append DIR ENTRIES"));
    let total: u64 = args.next().expect("usage: bench_append DIR ENTRIES").parse().expect("a number");
    for batch in [1u64, 16, 256, 1024] {
        let public = dir.join(format!("b{batch}"));
        let mut log = tlog::log::Log::create(&public, &public.with_extension("private"), "bench.example/log", &[1u8; 32]).expect("create");
        // Fewer single-entry batches: each one costs several fsyncs.
        let n = if batch == 1 { total.min(2_000) } else { total };
        let t = Instant::now();
        let mut i = 0;
        while i < n {
            let b: Vec<Vec<u8>> =
                (i..(i + batch).min(n)).map(|k| format!("{{\"kind\":\"scan\",\"n\":{k},\"pad\":\"{}\"}}", "x".repeat(200)).into_bytes()).collect();
            i += b.len() as u64;
            log.append(&b).expect("append");
        }
        let secs = t.elapsed().as_secs_f64();
        println!("{{\"what\":\"durable append\",\"batch\":{batch},\"entries\":{n},\"seconds\":{secs:.3},\"per_second\":{:.0}}}", n as f64 / secs);
        if batch == 1024 {
            let reader = tlog::log::TileReader::new(&public);
            let t = Instant::now();
            let probes = 1_000u64;
            for k in 0..probes {
                reader.inclusion_proof((k * 7919) % n, n).expect("proof");
            }
            let us = t.elapsed().as_secs_f64() * 1e6 / probes as f64;
            println!("{{\"what\":\"inclusion proof from tiles\",\"size\":{n},\"microseconds\":{us:.0}}}");
        }
    }
}
