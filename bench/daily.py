#!/usr/bin/env python3
"""Daily-run benchmark: one day's `oversight run` against a full rebuild, on a year of a simulated population.

Setup (cached under ~/.cache/oversight-bench/daily-aN-…/, delete it to regenerate; a lake of an older series layout is
regenerated):
1. `oversight simulate --accounts N --days 400 --seed 1 --provider mixed`: a year and the first weeks of the next.
2. The deliveries are grouped by the day they arrive (Azure: the manifest's submittedTime; AWS: the execution
   folder's time; Google: the extract's time in its name; OCI: the report's day folder) and hard-linked into one
   folder per arrival day, as a provider's bucket would have received them.
3. Everything that arrived in the first 365 days is ingested (`oversight ingest`), and `oversight run` at day 365
   builds the lake's series table (the first run builds it whole; timed and reported).
Measured, each in its own process under /usr/bin/time (wall seconds, peak RSS), on a copy of the cached lake:
- the closing day: `oversight run --as-of D arrivals/D` for the first day after the year on which deliveries arrive
  (the closing runs of December on January 3rd, which restate the month);
- a day of daily deliveries: the simulator delivers twice a month, but Azure's exports run daily, each a new run of
  the month to date. Two such runs are cut from the month's Azure deliveries (`azure_daily`): January 1-3 arriving on
  the 4th (run, not reported) and January 1-4 on the 5th (reported): four days restated, one of them new;
- a quiet day (nothing arrives: the run only scans);
- the full rebuild on the same final lake: `oversight signals --format parquet` then `oversight scan --series`
  (the series of every day from the usage rows, then the pack over it), whose findings must equal the quiet day's.
Prints each, the ratios day / full rebuild, and one JSON line with every figure.
Run: `bash bench/daily.sh [ACCOUNTS]` (default 10,000).
"""
import csv, gzip, io, json, os, re, shutil, subprocess, sys, tempfile
from datetime import date, datetime, timedelta

DAYS, SEED, PROVIDER, START = 400, 1, "mixed", date(2025, 1, 1)


def timed(cmd, ok=(0, 4)):
    """Run cmd under /usr/bin/time; return (wall seconds, peak RSS MiB, stdout)."""
    out = subprocess.run(["/usr/bin/time", "-f", "TIME %e %M"] + cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if out.returncode not in ok:
        sys.exit(f"{cmd[1]} failed ({out.returncode}):\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    t, m = re.findall(r"TIME (\S+) (\d+)", out.stderr)[-1]
    return float(t), int(m) / 1024, out.stdout


def arrivals(exports):
    """{arrival day: [(file, path relative to exports)]} for every delivery the simulator wrote."""
    days = {}
    add = lambda day, path: days.setdefault(day, []).append(path)
    for dirpath, _, files in os.walk(exports):
        rel = os.path.relpath(dirpath, exports)
        for f in files:
            p = os.path.join(rel, f)
            if rel.startswith("azure") and f == "manifest.json":
                at = json.load(open(os.path.join(dirpath, f)))["runInfo"]["submittedTime"][:10]
                for g in files:
                    add(date.fromisoformat(at), os.path.join(rel, g))
            elif rel.startswith("aws") and "/data/" in "/" + rel + "/":
                execution = os.path.basename(rel)
                day = datetime.strptime(execution[:8], "%Y%m%d").date()
                add(day, p)
                manifest_dir = rel.replace("/data/", "/metadata/", 1)
                for m in os.listdir(os.path.join(exports, manifest_dir)):
                    add(day, os.path.join(manifest_dir, m))
            elif rel.startswith("gcp"):
                add(datetime.strptime(f.split("focus-extract-")[1][:15], "%Y%m%dT%H%M%S").date(), p)
            elif rel.startswith("oci"):
                y, m, d = rel.split("FOCUS Reports/")[1].split("/")[:3]
                add(date(int(y), int(m), int(d)), p)
    return days


def population(oversight, accounts):
    root = os.path.join(os.path.expanduser("~/.cache/oversight-bench"), f"daily-a{accounts}-d{DAYS}-s{SEED}-{PROVIDER}")
    done = os.path.join(root, "setup.json")
    # A lake cached before the series table's layout changed (a file per signal and day, no account pairs) is built again.
    series = os.path.join(root, "lake", "series")
    def current_month(d):
        files = os.listdir(os.path.join(series, d))
        return d.startswith("month=") and (any(f.startswith("_accounts.") for f in files) or not any(f.endswith(".parquet") for f in files))
    current = os.path.isdir(series) and all(current_month(d) for d in os.listdir(series))
    if os.path.exists(done) and current:
        return root, json.load(open(done))
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    scenario, lake, by_day = os.path.join(root, "scenario"), os.path.join(root, "lake"), os.path.join(root, "arrivals")
    print(f"simulating {accounts} accounts, {DAYS} days …", file=sys.stderr)
    subprocess.run([oversight, "simulate", "--accounts", str(accounts), "--days", str(DAYS), "--seed", str(SEED), "--provider", PROVIDER,
                    "--start", START.isoformat(), "--out", scenario], check=True, stdout=subprocess.DEVNULL)
    exports = os.path.join(scenario, "exports")
    days = arrivals(exports)
    for day, files in days.items():
        for rel in files:
            dest = os.path.join(by_day, day.isoformat(), rel)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            if not os.path.exists(dest):
                os.link(os.path.join(exports, rel), dest)
    year_end = START + timedelta(days=364)
    year = [os.path.join(by_day, d.isoformat()) for d in sorted(days) if d <= year_end]
    print(f"ingesting {len(year)} arrival days …", file=sys.stderr)
    t_ingest, m_ingest, _ = timed([oversight, "ingest", "--json", "--lake", lake] + year, ok=(0,))
    reg = ["--registry", os.path.join(scenario, "registry.csv"), "--events", os.path.join(scenario, "events.csv")]
    t_build, m_build, _ = timed([oversight, "run", "--json", "--lake", lake, "--as-of", year_end.isoformat()] + reg)
    nxt = min(d for d in days if d > year_end)
    setup = {"accounts": accounts, "year_end": year_end.isoformat(), "next_arrival": nxt.isoformat(),
             "ingest_s": t_ingest, "ingest_mib": m_ingest, "first_run_s": t_build, "first_run_mib": m_build}
    json.dump(setup, open(done, "w"))
    return root, setup


def azure_daily(exports, cut, to):
    """Azure's daily month-to-date exports, as Azure delivers them, for the month of `cut` up to the day before it:
    for each billing account, its month's latest run cut to the rows whose charge period starts before `cut`, as a
    new run submitted on `cut` (manifest counts updated), written under `to`. The simulator delivers twice a month;
    this is the day-to-day delivery of a provider whose exports run daily."""
    month = f"{cut:%Y%m}01-"
    latest = {}
    for dirpath, _, files in os.walk(os.path.join(exports, "azure")):
        if "manifest.json" in files and os.path.basename(os.path.dirname(dirpath)).startswith(month):
            m = json.load(open(os.path.join(dirpath, "manifest.json")))
            export = os.path.dirname(dirpath)
            if export not in latest or m["runInfo"]["submittedTime"] > latest[export][0]["runInfo"]["submittedTime"]:
                latest[export] = (m, dirpath)
    for export, (m, run) in latest.items():
        run_id = f"00000000-0000-4000-8000-{cut:%Y%m%d}0000"
        rel = os.path.join(os.path.relpath(export, exports), run_id)
        os.makedirs(os.path.join(to, rel), exist_ok=True)
        total_bytes = total_rows = 0
        for blob in m["blobs"]:
            name = os.path.basename(blob["blobName"])
            with gzip.open(os.path.join(run, name), "rt", newline="") as f:
                rows = list(csv.reader(f))
            start = rows[0].index("ChargePeriodStart")
            kept = [rows[0]] + [r for r in rows[1:] if r[start][:10] < cut.isoformat()]
            text = io.StringIO()
            csv.writer(text, lineterminator="\n").writerows(kept)
            data = gzip.compress(text.getvalue().encode())
            open(os.path.join(to, rel, name), "wb").write(data)
            blob.update(blobName=os.path.join(rel, name), byteCount=len(data), dataRowCount=len(kept) - 1)
            total_bytes, total_rows = total_bytes + len(data), total_rows + len(kept) - 1
        m.update(byteCount=total_bytes, dataRowCount=total_rows)
        m["runInfo"].update(runId=run_id, submittedTime=f"{cut}T04:00:00Z")
        json.dump(m, open(os.path.join(to, rel, "manifest.json"), "w"), indent=2)


def main():
    oversight, accounts = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    root, setup = population(oversight, accounts)
    scenario = os.path.join(root, "scenario")
    reg = ["--registry", os.path.join(scenario, "registry.csv"), "--events", os.path.join(scenario, "events.csv")]
    day = date.fromisoformat(setup["next_arrival"])
    first_daily, daily, quiet = day + timedelta(days=1), day + timedelta(days=2), day + timedelta(days=3)
    with tempfile.TemporaryDirectory(prefix="oversight-daily-") as tmp:
        lake = os.path.join(tmp, "lake")
        shutil.copytree(os.path.join(root, "lake"), lake)
        run = lambda d, *inputs: timed([oversight, "run", "--json", "--lake", lake, "--as-of", d.isoformat(), *inputs] + reg)
        # The closing runs: last month restated.
        t_day, m_day, out = run(day, os.path.join(root, "arrivals", day.isoformat()))
        closing = json.loads(out)
        # Azure's daily month-to-date runs: the first (the month's first days, all new), then the next day's.
        for d in (first_daily, daily):
            azure_daily(os.path.join(scenario, "exports"), d, os.path.join(tmp, "daily", d.isoformat()))
        run(first_daily, os.path.join(tmp, "daily", first_daily.isoformat()))
        t_daily, m_daily, out = run(daily, os.path.join(tmp, "daily", daily.isoformat()))
        run_daily = json.loads(out)
        # Nothing arrives: the run only scans.
        t_quiet, m_quiet, out = run(quiet)
        run_quiet = json.loads(out)
        series = os.path.join(tmp, "series.parquet")
        t_sig, m_sig, _ = timed([oversight, "signals", "--lake", lake, "--format", "parquet", "--out", series], ok=(0,))
        t_scan, m_scan, out = timed([oversight, "scan", "--lake", lake, "--series", series, "--format", "json", "--as-of", quiet.isoformat()] + reg, ok=(0, 4, 6))
        full_findings = json.loads(out)["findings"]
        same = json.dumps(full_findings, sort_keys=True) == json.dumps(run_quiet["scanned"][-1]["findings"], sort_keys=True)
    full = t_sig + t_scan
    shape = lambda r: f"{len(r['series']['days'])} days rebuilt, {len(r['series']['changed'])} changed, {len(r['scanned'])} scanned"
    timing = lambda r: f"[ingest {r['timing']['ingest_s']:.2f} s, series {r['timing']['series_s']:.2f} s, scan {r['timing']['scan_s']:.2f} s]"
    print(f"{accounts} accounts, a year in the lake (setup: ingest {setup['ingest_s']:.1f} s, first run building the series table {setup['first_run_s']:.1f} s)")
    print(f"day {day} (closing runs restate last month; {shape(closing)}): {t_day:.2f} s, peak {m_day:.0f} MiB  {timing(closing)}")
    print(f"day {daily} (Azure's daily month-to-date runs; {shape(run_daily)}): {t_daily:.2f} s, peak {m_daily:.0f} MiB  {timing(run_daily)}")
    print(f"day {quiet} (nothing arrives; {len(run_quiet['scanned'])} day scanned): {t_quiet:.2f} s, peak {m_quiet:.0f} MiB")
    print(f"full rebuild: signals {t_sig:.2f} s ({m_sig:.0f} MiB) + scan {t_scan:.2f} s ({m_scan:.0f} MiB) = {full:.2f} s")
    print(f"ratio day/full: {t_day / full:.3f} (closing runs), {t_daily / full:.3f} (daily runs), {t_quiet / full:.3f} (quiet day); "
          f"findings of {quiet} identical to the full rebuild's: {same}")
    print(json.dumps({"accounts": accounts, "setup": setup, "day": day.isoformat(), "day_s": t_day, "day_mib": m_day, "day_timing": closing["timing"],
                      "days_rebuilt": len(closing["series"]["days"]), "days_changed": len(closing["series"]["changed"]), "days_scanned": len(closing["scanned"]),
                      "daily": daily.isoformat(), "daily_s": t_daily, "daily_mib": m_daily, "daily_timing": run_daily["timing"],
                      "daily_rebuilt": len(run_daily["series"]["days"]), "daily_changed": len(run_daily["series"]["changed"]), "daily_scanned": len(run_daily["scanned"]),
                      "quiet_s": t_quiet, "quiet_mib": m_quiet, "signals_s": t_sig, "signals_mib": m_sig, "scan_s": t_scan, "scan_mib": m_scan, "full_s": full,
                      "ratio": t_day / full, "ratio_daily": t_daily / full, "ratio_quiet": t_quiet / full, "findings_identical": same}))


if __name__ == "__main__":
    main()
