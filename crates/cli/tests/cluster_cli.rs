//! `signals`, `scan` and `eval` on an Apache Ballista cluster (`oversight cluster`: a scheduler and two executors,
//! each its own process on 127.0.0.1, started here) give byte for byte what the local engine gives on the same lake:
//! a local folder, and (with Azurite, started by `.ci/azurite.sh`) a lake in Azure Blob storage.

mod common;
use common::oversight;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A scheduler and its executors, stopped when dropped.
struct Cluster {
    engine: String,
    processes: Vec<Child>,
    _work: tempfile::TempDir,
}

/// A port free on 127.0.0.1 now (the OS does not hand it out again at once).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_for(addr: SocketAddr, what: &str, processes: &mut [Child]) {
    let started = Instant::now();
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        for p in processes.iter_mut() {
            if let Some(status) = p.try_wait().unwrap() {
                panic!("a cluster process exited ({status}) before the {what} listened on {addr}");
            }
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the {what} did not listen on {addr} within a minute");
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl Cluster {
    /// A scheduler and `executors` executors of one task each, every one its own process.
    fn start(executors: usize) -> Cluster {
        let work = tempfile::tempdir().unwrap();
        let spawn = |args: &[String]| {
            Command::new(env!("CARGO_BIN_EXE_oversight")).arg("cluster").args(args).stdout(Stdio::null()).stderr(Stdio::inherit()).spawn().unwrap()
        };
        let scheduler: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let mut processes = vec![spawn(&["scheduler".into(), "--bind".into(), scheduler.to_string()])];
        wait_for(scheduler, "scheduler", &mut processes);
        for n in 0..executors {
            let (bind, grpc) = (format!("127.0.0.1:{}", free_port()), free_port());
            let dir = work.path().join(format!("executor-{n}"));
            std::fs::create_dir_all(&dir).unwrap();
            processes.push(spawn(&[
                "executor".into(),
                "--scheduler".into(),
                scheduler.to_string(),
                "--bind".into(),
                bind.clone(),
                "--grpc-port".into(),
                grpc.to_string(),
                "--concurrent-tasks".into(),
                "1".into(),
                "--work-dir".into(),
                dir.display().to_string(),
            ]));
            // An executor serves after it has registered with the scheduler.
            wait_for(bind.parse().unwrap(), "executor", &mut processes);
            wait_for(format!("127.0.0.1:{grpc}").parse().unwrap(), "executor's gRPC service", &mut processes);
        }
        Cluster { engine: format!("ballista://{scheduler}"), processes, _work: work }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for p in &mut self.processes {
            let _ = p.kill();
            let _ = p.wait();
        }
    }
}

fn ok(args: &[&str]) -> String {
    let (code, out, err) = oversight(args, "");
    assert!(code == 0 || (args[0] == "scan" && code == 4), "oversight {args:?} exited {code}: {err}");
    out
}

/// `signals`, `scan` and `eval` on `lake` (scenario `s`), locally and on the cluster: each pair byte-identical.
fn same_on_both(cluster: &Cluster, lake: &str, s: &str) {
    let run = |args: &[&str], engine: &str| {
        let mut args = args.to_vec();
        args.extend(["--engine", engine]);
        ok(&args)
    };
    let both = |args: &[&str]| (run(args, "local"), run(args, &cluster.engine));

    let (local, remote) = both(&["signals", "--lake", lake, "--format", "csv"]);
    assert!(local.lines().count() > 1000, "{}", local.lines().count());
    assert!(local == remote, "signals differ on the cluster: {} lines locally, {} on the cluster", local.lines().count(), remote.lines().count());

    let (registry, events) = (format!("{s}/registry.csv"), format!("{s}/events.csv"));
    let scan = ["scan", "--lake", lake, "--registry", &registry, "--events", &events, "--format", "json", "--as-of", "2025-04-30"];
    let (local, remote) = both(&scan);
    let findings = serde_json::from_str::<serde_json::Value>(&local).unwrap()["findings"].as_array().unwrap().len();
    assert!(findings > 0, "the scenario gives findings on that day");
    assert!(local == remote, "scan differs on the cluster:\n{local}\n---\n{remote}");

    let (local, remote) = both(&["eval", "--lake", lake, "--scenario", s, "--json"]);
    assert!(local.contains("\"recall\""), "{local}");
    assert!(local == remote, "eval differs on the cluster:\n{local}\n---\n{remote}");
}

#[test]
fn signals_scan_and_eval_on_a_cluster_match_the_local_engine() {
    let cluster = Cluster::start(2);
    let tmp = tempfile::tempdir().unwrap();
    let p = |name: &str| tmp.path().join(name).display().to_string();
    ok(&["simulate", "--accounts", "46", "--days", "120", "--seed", "3", "--provider", "mixed", "--out", &p("s")]);
    ok(&["ingest", "--lake", &p("lake"), &p("s/exports")]);
    same_on_both(&cluster, &p("lake"), &p("s"));

    // On Azure Blob storage: the executors open the container with their own credentials (the same environment).
    let Ok(container) = std::env::var("OVERSIGHT_TEST_CONTAINER") else {
        if std::env::var("CI_REQUIRE_AZURITE").is_ok_and(|v| v == "1") {
            panic!("CI_REQUIRE_AZURITE=1 but OVERSIGHT_TEST_CONTAINER is unset: start Azurite with `eval \"$(bash .ci/azurite.sh $$)\"`");
        }
        eprintln!("note: the cluster on Azurite skipped; run `eval \"$(bash .ci/azurite.sh $$)\"` first to run it");
        return;
    };
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let lake = format!("az://{container}/cluster-{nanos:x}/lake");
    ok(&["ingest", "--lake", &lake, &p("s/exports")]);
    same_on_both(&cluster, &lake, &p("s"));
}
