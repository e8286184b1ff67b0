#!/usr/bin/env python3
"""Public verification benchmark: `oversight verify --full` on a log of ENTRIES entries against an independent
verifier doing the same work, and `oversight monitor --follow` keeping up with 10,000 appends a second.

Run: `bash bench/public.sh [ENTRIES]` (default 1,000,000); it builds the release binary and the example
`crates/tlog/examples/bench_public.rs`, then runs this script with both. In one run:
1. fill: a new log of ENTRIES canonical-JSON entries shaped as `crates/cases` writes them (decisions, findings,
   enforcements, lifts, and daily scans; about 300 bytes each), appended through `tlog::log::Log` in batches of 4,096.
2. `oversight verify --log DIR --key VKEY --full` under /usr/bin/time (wall seconds, peak RSS): the signature, the
   root from the tiles, and every tile rebuilt from the entries. Run three times, alternating with the peer; the
   median of each is reported (the log was just written: its files are in the page cache for both).
3. the peer under /usr/bin/time: the same checks by independent code (`bench_public peer`: `signed_note` for the
   signature, the Go tlog package's algorithms as ported in Cloudflare's `tlog_tiles` for the hash storage, the
   tiles and the root). Same language, same SHA-256 crate, same files in the page cache: what differs is the code.
4. `oversight monitor` once without --follow and without a state file: it reads and checks the whole log and prints
   its public events (to /dev/null): the catch-up of a new monitor.
5. `oversight monitor --follow --interval 1` from that state while `bench_public append` appends RATE entries a
   second (batches of BATCH on a fixed schedule) for SECONDS. Each stderr line of the monitor (`verified: size N
   ...`) is timestamped as it arrives; the appender writes the published size after each append. The lag at a
   line is the log's size then minus the size the monitor has verified; just before a line it is larger by the
   entries appended during that round (the sawtooth's peak, also printed). The monitor kept up if its last lag
   during the appends is at most one second of appends and it verified the final size soon after.
Prints the figures and one JSON line with all of them.
"""
import json, os, shutil, signal, subprocess, sys, tempfile, threading, time

RATE, SECONDS, BATCH, INTERVAL = 10_000, 60, 1_000, 1
REPEAT = 3  # runs of each verifier; the median is reported


def timed(cmd, stdout=None):
    """Run cmd under /usr/bin/time; return (wall seconds, peak RSS MiB, stdout text or None, stderr text)."""
    out = subprocess.run(["/usr/bin/time", "-f", "TIME %e %M"] + cmd, stdout=stdout or subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if out.returncode != 0:
        sys.exit(f"{cmd[0]} failed ({out.returncode}):\n{(out.stdout or '')[-2000:]}\n{out.stderr[-2000:]}")
    line = [l for l in out.stderr.splitlines() if l.startswith("TIME ")][-1]
    _, secs, kib = line.split()
    return float(secs), int(kib) / 1024, out.stdout, out.stderr


def size_at(timeline, t):
    """The published size at time t: the last (time, size) of the appender at or before t."""
    lo, hi = 0, len(timeline)
    while lo < hi:
        mid = (lo + hi) // 2
        if timeline[mid][0] <= t:
            lo = mid + 1
        else:
            hi = mid
    return timeline[lo - 1][1] if lo else timeline[0][1]


def main():
    oversight, helper = sys.argv[1], sys.argv[2]
    entries = int(sys.argv[3].replace(",", "").replace("_", "")) if len(sys.argv) > 3 else 1_000_000
    work = tempfile.mkdtemp(prefix="oversight-public-")
    try:
        run(oversight, helper, entries, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(work + ".private", ignore_errors=True)


def run(oversight, helper, entries, work):
    log, state = os.path.join(work, "log"), os.path.join(work, "monitor.state")
    print(f"# filling a log of {entries:,} entries (load average {os.getloadavg()[0]:.2f})", flush=True)
    fill = json.loads(subprocess.run([helper, "fill", log, str(entries)], check=True, capture_output=True, text=True).stdout)
    vkey = fill["vkey"]
    on_disk = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(log) for f in fs)
    print(f"fill: {entries:,} entries of {fill['mean_entry_bytes']:.0f} bytes on average in {fill['seconds']:.1f} s "
          f"({on_disk / 2**20:,.0f} MiB on disk); e.g. {fill['example']}", flush=True)

    ours_runs, peer_runs = [], []
    for _ in range(REPEAT):  # alternately, so that a busy moment of the machine hits both alike
        secs, mib, out, _ = timed([oversight, "verify", "--log", log, "--key", vkey, "--full"])
        if "holds: every tile" not in out:
            sys.exit(f"verify --full did not check every tile:\n{out}")
        ours_runs.append((secs, mib))
        secs, mib, pout, _ = timed([helper, "peer", log, vkey])
        assert json.loads(pout)["size"] == entries, pout
        peer_runs.append((secs, mib))
    ours_s, ours_mib = sorted(ours_runs)[REPEAT // 2]
    peer_s, peer_mib = sorted(peer_runs)[REPEAT // 2]
    ratio = ours_s / peer_s
    print(f"verify --full (median of {REPEAT}): oversight {ours_s:.2f} s ({entries / ours_s:,.0f} entries/s), peak {ours_mib:,.0f} MiB; "
          f"tlog_tiles peer {peer_s:.2f} s ({entries / peer_s:,.0f} entries/s), peak {peer_mib:,.0f} MiB; ratio {ratio:.2f}", flush=True)
    print(f"  each run: oversight {', '.join(f'{s:.2f}' for s, _ in ours_runs)} s; peer {', '.join(f'{s:.2f}' for s, _ in peer_runs)} s", flush=True)

    with open(os.devnull, "w") as null:
        catch_s, catch_mib, _, err = timed([oversight, "monitor", "--log", log, "--key", vkey, "--state", state], stdout=null)
    caught = [l for l in err.splitlines() if l.startswith("verified:")][-1]
    print(f"monitor, first run over the whole log: {catch_s:.2f} s ({entries / catch_s:,.0f} entries/s), peak {catch_mib:,.0f} MiB ({caught})", flush=True)

    follow = monitor_while_appending(oversight, helper, log, vkey, state, work)
    f = follow
    print(f"monitor --follow --interval {INTERVAL} while appending {RATE:,}/s for {SECONDS} s (achieved {f['append_per_second']:,.0f}/s, "
          f"{f['late_batches']} late batches of {f['batches']}): {f['rounds']} rounds, verified {f['verified_per_second']:,.0f} entries/s over the run; "
          f"busy {f['busy_per_second']:,.0f} entries/s of round time (median round {f['median_round_entries']:,} entries in {f['median_round_busy_s']:.3f} s); "
          f"CPU {f['cpu_seconds']:.1f} s ({f['cpu_share']:.0%} of a core), peak {f['peak_mib']:,.0f} MiB", flush=True)
    print(f"lag at each round (entries): max {f['max_lag']:,}, final {f['final_lag']:,}, mean {f['mean_lag']:,.0f}; just before a round: "
          f"max {f['max_lag_before']:,}; caught up with the final size {f['drain_s']:.2f} s after the last append; "
          f"kept up: {'yes' if f['kept_up'] else 'NO'} (final lag <= {RATE:,}, one second of appends)", flush=True)
    print(f"peer of the monitor: the appender's rate, {RATE:,}/s target: busy throughput / rate = {f['busy_per_second'] / RATE:.1f}", flush=True)
    print(f"load average at the end: {os.getloadavg()[0]:.2f} (1 min), {os.getloadavg()[1]:.2f} (5 min)", flush=True)
    print(json.dumps({"entries": entries, "load_average_5min": round(os.getloadavg()[1], 2), "mean_entry_bytes": round(fill["mean_entry_bytes"], 1), "log_mib": round(on_disk / 2**20, 1),
                      "verify_full": {"seconds": ours_s, "per_second": round(entries / ours_s), "peak_mib": round(ours_mib, 1), "runs": [s for s, _ in ours_runs]},
                      "peer_tlog_tiles": {"seconds": peer_s, "per_second": round(entries / peer_s), "peak_mib": round(peer_mib, 1), "runs": [s for s, _ in peer_runs]},
                      "ratio": round(ratio, 3),
                      "monitor_first_run": {"seconds": catch_s, "per_second": round(entries / catch_s), "peak_mib": round(catch_mib, 1)},
                      "monitor_follow": follow}))


def monitor_while_appending(oversight, helper, log, vkey, state, work):
    timeline_file = os.path.join(work, "timeline")
    lines = []  # (arrival time, verified size, new entries)
    errors = []
    mon = subprocess.Popen([oversight, "monitor", "--log", log, "--key", vkey, "--state", state, "--follow", "--interval", str(INTERVAL)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, bufsize=1)

    def read():
        for line in mon.stderr:
            now = time.time()
            if line.startswith("verified: size "):
                words = line.split()
                lines.append((now, int(words[2]), int(words[5])))
            else:
                errors.append(line.rstrip())

    ended = []  # (status, rusage) once the monitor has exited; reaped here, not by Popen, to get its rusage

    def alive():
        if not ended:
            pid, status, usage = os.wait4(mon.pid, os.WNOHANG)
            if pid:
                ended.append((status, usage))
        return not ended

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        while not lines and alive():
            time.sleep(0.05)
        app = json.loads(subprocess.run([helper, "append", log, str(RATE), str(SECONDS), str(BATCH), timeline_file], check=True,
                                        capture_output=True, text=True).stdout)
        timeline = [(float(t), int(s)) for t, s in (l.split() for l in open(timeline_file))]
        t_start, t_end, final = timeline[0][0], timeline[-1][0], timeline[-1][1]
        deadline = time.time() + 60
        while (not lines or lines[-1][1] < final) and time.time() < deadline and alive():
            time.sleep(0.05)
    finally:
        if alive():
            os.kill(mon.pid, signal.SIGTERM)  # not reaped yet: the pid is still this monitor
    if not ended:
        ended.append(os.wait4(mon.pid, 0)[1:])
    status, usage = ended[0]
    mon.returncode = status
    reader.join(timeout=5)
    if errors:
        print("monitor said:\n  " + "\n  ".join(errors[:10]), flush=True)

    during = [l for l in lines if t_start <= l[0] <= t_end]
    lags = [size_at(timeline, t) - v for t, v, _ in during]
    before = [size_at(timeline, t) - prev[1] for prev, (t, _, _) in zip(lines, lines[1:]) if t_start <= t <= t_end]
    rounds = [(k, t1 - t0 - INTERVAL) for (t0, _, _), (t1, _, k) in zip(lines, lines[1:]) if t1 >= t_start and k > 0]
    busy = sorted(rounds, key=lambda r: r[1] / r[0])
    median = busy[len(busy) // 2] if busy else (0, 0.0)
    verified = [l for l in lines if l[0] >= t_start]
    caught = next((t for t, v, _ in lines if v >= final), None)
    first_v = max([v for t, v, _ in lines if t <= t_start] or [timeline[0][1]])
    span = (verified[-1][0] - t_start) if verified else 0
    cpu = usage.ru_utime + usage.ru_stime
    wall = (lines[-1][0] - lines[0][0]) if lines else 0
    final_lag = lags[-1] if lags else final - first_v
    return {
        "append_per_second": app["per_second"], "batches": app["batches"], "late_batches": app["late_batches"],
        "slowest_append_s": round(app["slowest_append_seconds"], 3), "appended": app["entries"], "final_size": final,
        "rounds": len(during),
        "verified_per_second": round((verified[-1][1] - first_v) / span) if span > 0 else 0,
        "busy_per_second": round(sum(k for k, _ in rounds) / sum(max(b, 1e-3) for _, b in rounds)) if rounds else 0,
        "median_round_entries": median[0], "median_round_busy_s": round(median[1], 3),
        "max_lag": max(lags, default=0), "final_lag": final_lag, "mean_lag": sum(lags) / len(lags) if lags else 0,
        "max_lag_before": max(before, default=0),
        "max_lag_seconds": round(max(lags, default=0) / RATE, 2), "final_lag_seconds": round(final_lag / RATE, 2),
        "drain_s": round(caught - t_end, 2) if caught else None,
        "kept_up": caught is not None and final_lag <= RATE,
        "cpu_seconds": round(cpu, 2), "cpu_share": cpu / wall if wall else 0, "peak_mib": round(usage.ru_maxrss / 1024, 1),
        "lag_series": lags,
    }


if __name__ == "__main__":
    main()
