//! Helpers of the public-verification benchmark (`bench/public.sh`):
//! - `fill DIR N [BATCH]`: create a log in DIR (private state in DIR.private) and append N decision-like entries
//!   (canonical JSON, about 300 bytes: decisions, findings, enforcements, lifts and scans of simulated cases) in
//!   batches of BATCH (default 4,096) through `tlog::log::Log`; prints one JSON line with the verifier key.
//! - `peer DIR VKEY`: the same work as `oversight verify --full`, by independent code: the checkpoint's signature
//!   with the `signed_note` crate, then every entry bundle hashed into the Go tlog package's hash storage
//!   (`tlog_tiles::stored_hashes`, Cloudflare's port of golang.org/x/mod/sumdb/tlog), every published hash tile
//!   compared with `Tile::read_data` of that storage, and `tlog_tiles::tree_hash` compared with the checkpoint's
//!   root. Prints one JSON line; exits 1 if anything does not match.
//! - `append DIR RATE SECONDS BATCH TIMELINE`: open the log and append RATE entries a second for SECONDS, in
//!   batches of BATCH on a fixed schedule (a late batch goes at once). After each append it writes
//!   `<unix seconds> <size>` to TIMELINE (the published size at that moment); prints one JSON line at the end.
//!
//! `cargo run --release -p tlog --example bench_public -- fill /tmp/log 1000000`

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;
use sha2::{Digest, Sha256};

const ORIGIN: &str = "bench.example/public";
const SEED: [u8; 32] = [7u8; 32];
const PSEUDONYM_KEY: &[u8] = b"bench pseudonym key";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: bench_public fill DIR N [BATCH] | peer DIR VKEY | append DIR RATE SECONDS BATCH TIMELINE";
    match args.first().map(String::as_str) {
        Some("fill") if args.len() >= 3 => {
            fill(Path::new(&args[1]), num(&args[2]), args.get(3).map_or(4096, |b| num(b)));
        }
        Some("peer") if args.len() == 3 => {
            if let Err(e) = peer(Path::new(&args[1]), &args[2]) {
                eprintln!("peer: {e}");
                std::process::exit(1);
            }
        }
        Some("append") if args.len() == 6 => {
            append(Path::new(&args[1]), num(&args[2]), num(&args[3]), num(&args[4]), Path::new(&args[5]));
        }
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    }
}

fn num(s: &str) -> u64 {
    s.replace(['_', ','], "").parse().unwrap_or_else(|_| panic!("{s:?} is not a number"))
}

fn private(dir: &Path) -> PathBuf {
    dir.with_extension("private")
}

fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs_f64()
}

/// `2025-01-01T00:00:00Z` plus `secs`, as RFC 3339.
fn timestamp(secs: u64) -> String {
    let days = 20_089 + secs / 86_400; // 2025-01-01 is day 20,089 since 1970-01-01
    let rem = secs % 86_400;
    // Civil date from days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

fn hex_of(what: &str, k: u64) -> String {
    hex::encode(Sha256::digest(format!("{what}/{k}")))
}

/// Entry `k` of the benchmark log: every 8 entries are one simulated case (open, finding, decide, approve, enforce,
/// lift or a second finding) and two daily scans, shaped as `crates/cases` writes them, as canonical JSON.
fn entry(k: u64) -> Vec<u8> {
    let case = k / 8;
    let subject = tlog::entry::pseudonym(PSEUDONYM_KEY, &format!("tenant-{:05}", case * 7_919 % 20_000));
    let at = timestamp(k * 30);
    let provider = ["aws", "azure", "gcp", "oci"][(case % 4) as usize];
    let services = [json!(["storage", "ai"]), json!(["compute"]), json!(["ai"]), json!(["storage", "egress", "ai"])][(case % 4) as usize].clone();
    let common = |action: &str, from: serde_json::Value, to: &str| {
        json!({"case": format!("case-{case:07}"), "subject": subject, "subject_kind": "organisation", "transition": format!("t-{case:07}-{}", k % 8),
               "actor": format!("reviewer-{:02}", k % 23), "at": at, "action": action, "from": from, "to": to, "reason_sha256": hex_of("reason", case)})
    };
    let finding = |n: u64| {
        let policy = ["mass-surveillance", "bulk-transfer", "interception-chain"][((case + n) % 3) as usize];
        json!({"account": tlog::entry::pseudonym(PSEUDONYM_KEY, &format!("acct-{}", (case * 31 + n) % 100_000)), "policy": policy, "version": 1 + n % 3})
    };
    let (kind, body) = match k % 8 {
        0 | 6 => ("scan", json!({"day": &at[..10], "accounts": 10_000 + k % 977, "findings": k % 13, "pack_sha256": hex_of("pack", k / 4096)})),
        1 => ("decision", common("open", serde_json::Value::Null, "open")),
        2 => {
            let mut b = common("open", serde_json::Value::Null, "open");
            b["findings"] = json!([finding(0)]);
            ("finding", b)
        }
        3 => {
            let mut b = common("decide", json!("open"), "decided");
            b["outcome"] = json!(if case.is_multiple_of(3) { "restrict" } else { "suspend" });
            b["provider"] = json!(provider);
            b["services"] = services;
            ("decision", b)
        }
        4 => {
            let mut b = common("approve", json!("decided"), "approved");
            b["approvals"] = json!(2);
            ("decision", b)
        }
        5 => {
            let document = ["scp", "azure-policy", "org-policy", "quota"][(case % 4) as usize];
            let b = json!({"case": format!("case-{case:07}"), "subject": subject, "transition": format!("t-{case:07}-5"), "provider": provider,
                           "document": document, "sha256": hex_of("doc", case), "at": at});
            ("enforcement", b)
        }
        _ if case.is_multiple_of(2) => ("lift", common("lift", json!("enforced"), "lifted")),
        _ => {
            let mut b = common("open", json!("enforced"), "enforced");
            b["findings"] = json!([finding(1)]);
            ("finding", b)
        }
    };
    let mut body = body;
    body["kind"] = json!(kind);
    tlog::entry::canonical_value(&body).expect("a small JSON object")
}

fn fill(dir: &Path, n: u64, batch: u64) {
    let t = Instant::now();
    let mut log = tlog::log::Log::create(dir, &private(dir), ORIGIN, &SEED).expect("create the log");
    let (mut i, mut bytes) = (0u64, 0u64);
    while i < n {
        let b: Vec<Vec<u8>> = (i..(i + batch).min(n)).map(entry).collect();
        bytes += b.iter().map(|e| e.len() as u64).sum::<u64>();
        i += b.len() as u64;
        log.append(&b).expect("append");
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({"what": "fill", "entries": n, "batch": batch, "entry_bytes": bytes, "mean_entry_bytes": bytes as f64 / n.max(1) as f64,
               "seconds": secs, "vkey": log.verifier().to_vkey(), "example": String::from_utf8(entry(3)).expect("UTF-8")})
    );
}

/// The C2SP path of a tile as `tlog_tiles` (Go's sumdb layout, `tile/<H>/<L or data>/…`) names it.
fn c2sp(tile: &tlog_tiles::Tile) -> String {
    let p = tile.path();
    let rest = p.strip_prefix("tile/8/").expect("height 8");
    match rest.strip_prefix("data/") {
        Some(n) => format!("tile/entries/{n}"),
        None => format!("tile/{rest}"),
    }
}

/// The Go tlog package's hash storage, in memory: stored hash index → hash.
struct Storage(Vec<tlog_tiles::Hash>);

impl tlog_tiles::HashReader for Storage {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<tlog_tiles::Hash>, tlog_tiles::Error> {
        indexes.iter().map(|&i| self.0.get(i as usize).copied().ok_or(tlog_tiles::Error::IndexesNotInTree)).collect()
    }
}

fn peer(dir: &Path, vkey: &str) -> Result<(), String> {
    let t = Instant::now();
    let read = |p: &str| std::fs::read(dir.join(p)).map_err(|e| format!("{p}: {e}"));
    let note = signed_note::Note::from_bytes(&read("checkpoint")?).map_err(|e| format!("checkpoint: {e}"))?;
    let verifier = signed_note::StandardVerifier::new(vkey).map_err(|e| format!("key: {e}"))?;
    note.verify(&signed_note::VerifierList::new(vec![Box::new(verifier)])).map_err(|e| format!("signature: {e}"))?;
    let cp = tlog_tiles::Checkpoint::from_bytes(note.text()).map_err(|e| format!("checkpoint: {e}"))?;
    let size = cp.size();
    let mut storage = Storage(Vec::with_capacity(tlog_tiles::stored_hash_count(size) as usize));
    let mut bytes_read = 0u64;
    for n in 0..size.div_ceil(256) {
        let width = (size - n * 256).min(256);
        let tile = tlog_tiles::Tile::new(8, 0, n, width as u32, true);
        let path = c2sp(&tile);
        let bundle = read(&path)?;
        bytes_read += bundle.len() as u64;
        let mut at = 0usize;
        for j in 0..width {
            let len = bundle.get(at..at + 2).map(|l| u16::from_be_bytes([l[0], l[1]]) as usize).ok_or(format!("{path} is short"))?;
            let data = bundle.get(at + 2..at + 2 + len).ok_or(format!("{path} is short"))?;
            at += 2 + len;
            let hashes = tlog_tiles::stored_hashes(n * 256 + j, data, &storage).map_err(|e| format!("{path}: {e}"))?;
            storage.0.extend(hashes);
        }
        if at != bundle.len() {
            return Err(format!("{path} has bytes after its {width} entries"));
        }
    }
    let tiles = tlog_tiles::Tile::new_tiles(8, 0, size);
    for tile in &tiles {
        let path = c2sp(tile);
        let published = read(&path)?;
        bytes_read += published.len() as u64;
        if tile.read_data(&storage).map_err(|e| format!("{path}: {e}"))? != published {
            return Err(format!("{path} differs from the tile rebuilt from the entries"));
        }
    }
    let root = tlog_tiles::tree_hash(size, &storage).map_err(|e| format!("tree hash: {e}"))?;
    if root != *cp.hash() {
        return Err("the entries do not hash to the checkpoint's root".into());
    }
    println!(
        "{}",
        json!({"what": "peer verify (tlog_tiles + signed_note)", "size": size, "hash_tiles": tiles.len(), "bytes_read": bytes_read,
               "seconds": t.elapsed().as_secs_f64()})
    );
    Ok(())
}

fn append(dir: &Path, rate: u64, seconds: u64, batch: u64, timeline: &Path) {
    let mut log = tlog::log::Log::open(dir, &private(dir)).expect("open the log");
    let mut out = std::io::BufWriter::new(std::fs::File::create(timeline).expect("timeline file"));
    let start_size = log.size();
    let total = rate * seconds;
    let every = Duration::from_secs_f64(batch as f64 / rate as f64);
    writeln!(out, "{:.4} {start_size}", unix_now()).expect("write");
    out.flush().expect("flush");
    let t0 = Instant::now();
    let (mut done, mut k, mut late, mut worst) = (0u64, 0u32, 0u64, 0f64);
    while done < total {
        let size = log.size();
        let b: Vec<Vec<u8>> = (size..size + batch.min(total - done)).map(entry).collect();
        let due = t0 + every * k;
        match due.checked_duration_since(Instant::now()) {
            Some(wait) => std::thread::sleep(wait),
            None => late += 1,
        }
        let t = Instant::now();
        log.append(&b).expect("append");
        worst = worst.max(t.elapsed().as_secs_f64());
        done += b.len() as u64;
        k += 1;
        writeln!(out, "{:.4} {}", unix_now(), log.size()).expect("write");
        out.flush().expect("flush");
    }
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({"what": "paced append", "entries": done, "batches": k, "late_batches": late, "seconds": secs, "per_second": done as f64 / secs,
               "slowest_append_seconds": worst, "from": start_size, "to": log.size()})
    );
}
