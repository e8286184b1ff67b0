#!/usr/bin/env python3
"""Ballista scaling: the same `oversight scan` from the lake on the local engine, on a cluster of 1 executor and on
one of 2 executors, each executor running one task at a time (one core), the scheduler and the executors each its
own process on 127.0.0.1.

The population is scan.py's (`oversight simulate --accounts N --days 365 --seed 1 --provider mixed`, ingested once,
cached under ~/.cache/oversight-bench/). The scan builds the daily series from the lake and runs the policy pack on
the last day, as `oversight scan` does by default. Each run's JSON must be byte-identical to the local engine's.
The report gives each run's wall time and the rate per core: usage rows / (seconds × cores), where the local
engine uses every core of the machine and an executor one.
Run: `bash bench/cluster.sh [ACCOUNTS]` (default 2,000).
"""
import json, os, socket, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scan import population, timed  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port, procs):
    for _ in range(600):
        for p in procs:
            if p.poll() is not None:
                sys.exit(f"a cluster process exited ({p.returncode}) before port {port} listened")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"nothing listened on {port} within a minute")


def cluster(oversight, executors, work):
    """Start a scheduler and `executors` one-task executors; return (engine URL, processes)."""
    sched = free_port()
    procs = [subprocess.Popen([oversight, "cluster", "scheduler", "--bind", f"127.0.0.1:{sched}"], stderr=subprocess.DEVNULL)]
    wait_for(sched, procs)
    for n in range(executors):
        bind, grpc = free_port(), free_port()
        wd = os.path.join(work, f"executor-{n}")
        os.makedirs(wd, exist_ok=True)
        procs.append(subprocess.Popen([oversight, "cluster", "executor", "--scheduler", f"127.0.0.1:{sched}", "--bind", f"127.0.0.1:{bind}",
                                       "--grpc-port", str(grpc), "--concurrent-tasks", "1", "--work-dir", wd], stderr=subprocess.DEVNULL))
        wait_for(bind, procs)
        wait_for(grpc, procs)
    return f"ballista://127.0.0.1:{sched}", procs


def main():
    oversight = sys.argv[1]
    accounts = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    root, rows = population(oversight, accounts)
    scenario, lake = os.path.join(root, "scenario"), os.path.join(root, "lake")
    work = tempfile.mkdtemp(prefix="oversight-cluster-bench-")
    base = [oversight, "scan", "--lake", lake, "--registry", os.path.join(scenario, "registry.csv"), "--events",
            os.path.join(scenario, "events.csv"), "--format", "json"]
    runs, reference = [], None
    for name, executors, cores in [("local engine", 0, os.cpu_count()), ("1 executor", 1, 1), ("2 executors", 2, 2)]:
        procs = []
        engine = "local"
        if executors:
            engine, procs = cluster(oversight, executors, work)
        out = os.path.join(work, f"scan-{executors}.json")
        try:
            with open(out, "w") as f:
                secs, peak = timed(base + ["--engine", engine], stdout=f, ok=(0, 4))
        finally:
            for p in procs:
                p.kill()
                p.wait()
        body = open(out, "rb").read()
        reference = reference or body
        same = body == reference
        runs.append({"run": name, "cores": cores, "seconds": secs, "client_peak_mib": round(peak), "rows_per_core_second": rows / (secs * cores), "identical": same})
        print(f"# {name}: {secs:.1f} s, client peak {peak:.0f} MiB, {rows / (secs * cores):,.0f} rows/core/s, {'identical' if same else 'DIFFERENT'}", flush=True)
    print(f"\n{'run':<14} {'cores':>5} {'seconds':>8} {'rows/core/s':>12}  same JSON")
    for r in runs:
        print(f"{r['run']:<14} {r['cores']:>5} {r['seconds']:>8.1f} {r['rows_per_core_second']:>12,.0f}  {r['identical']}")
    print(json.dumps({"accounts": accounts, "usage_rows": rows, "runs": runs}))
    if not all(r["identical"] for r in runs):
        sys.exit("a cluster run's findings differ from the local engine's")


if __name__ == "__main__":
    main()
