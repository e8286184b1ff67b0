//! Writes a log of N JSON entries for the independent checkers: `cargo run -p tlog --example write_log -- DIR N`.
//! The public log goes to DIR, its private state to DIR.private; the verifier key is printed on stdout.

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().expect("usage: write_log DIR N"));
    let n: u64 = args.next().expect("usage: write_log DIR N").parse().expect("N is a number");
    let private = dir.with_extension("private");
    let mut log = tlog::log::Log::create(&dir, &private, "oversight.example/ci-log", &[42u8; 32]).expect("create the log");
    let mut i = 0;
    while i < n {
        let batch: Vec<Vec<u8>> = (i..(i + 1000).min(n)).map(|k| format!("{{\"kind\":\"scan\",\"n\":{k}}}").into_bytes()).collect();
        i += batch.len() as u64;
        log.append(&batch).expect("append");
    }
    println!("{}", log.verifier().to_vkey());
}
