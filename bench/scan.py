#!/usr/bin/env python3
"""Scan benchmark: the built-in policy pack over a simulated year, oversight vs DuckDB running the same SQL.

The population (`oversight simulate --accounts N --days 365 --seed 1 --provider mixed`, ingested into a lake) is
cached under ~/.cache/oversight-bench/ keyed by its parameters. Each run, in its own process under /usr/bin/time
(wall seconds and peak resident memory):
1. `oversight signals --format parquet`: the daily series, written once to Parquet; the input of both engines.
2. `oversight scan --series FILE --emit-sql DIR --format json`: the pack over that series (every policy's query, the
   baseline detector's queries, the evidence queries) plus the Rust around them (findings, JSON). It writes every
   statement it ran, in order, and the small tables they join (tenants, approvals, events, billing_parents).
3. DuckDB replays those statements, in order, on the same Parquet files, with the substitutions in DIALECT below.
4. `oversight scan` from the lake without --series (the series streamed through a scratch file, as `scan` does by default); its
   JSON must be byte-identical to step 2's.
The policies' rows must match: same (policy, account, day), measured values equal to 1e-9 relative.
Run: `bash bench/scan.sh [ACCOUNTS]` (default 10,000).
"""
import json, os, re, shutil, subprocess, sys, tempfile
from datetime import date, timedelta

DAYS, SEED, PROVIDER = 365, 1, "mixed"

# The only changes made to oversight's SQL text before DuckDB runs it (mechanical dialect substitutions):
# - DuckDB cannot CAST a TIMESTAMP WITH TIME ZONE to BIGINT: `CAST(x AS BIGINT)` of the timestamp becomes
#   `epoch_us(x)` (the same microseconds since 1970-01-01 that DataFusion's cast gives);
# - DuckDB's `/` on integers divides as floating point; `//` is its integer division, DataFusion's `/` on BIGINTs.
# Each statement then runs as `CREATE OR REPLACE TEMP TABLE result AS <statement>`: its rows are held inside DuckDB,
# as DataFusion's collect() holds them in oversight, rather than converted to Python objects (only the policies'
# few rows are fetched, for the comparison).
DIALECT = [(re.escape("CAST(s.bucket_start AS BIGINT) / 86400000000"), "epoch_us(s.bucket_start) // 86400000000")]

DUCKDB_JOB = r"""
import duckdb, json, os, re, sys, time
sql_dir, series, out, dialect = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
t0 = time.perf_counter()
con = duckdb.connect()
con.execute(f"CREATE VIEW series AS SELECT * FROM read_parquet('{series}')")
for f in sorted(f for f in os.listdir(sql_dir) if f.endswith(".parquet")):
    con.execute(f"CREATE VIEW {f[:-len('.parquet')]} AS SELECT * FROM read_parquet('{os.path.join(sql_dir, f)}')")
hits, rows, millis = {}, 0, {}
files = sorted(f for f in os.listdir(sql_dir) if f.endswith(".sql"))
for f in files:
    sql = open(os.path.join(sql_dir, f)).read()
    for pattern, replacement in dialect:
        sql = re.sub(pattern, replacement, sql)
    t = time.perf_counter()
    con.execute(f"CREATE OR REPLACE TEMP TABLE result AS {sql}")
    millis[f] = (time.perf_counter() - t) * 1000
    rows += con.execute("SELECT COUNT(*) FROM result").fetchone()[0]
    label = f[4:-4]
    if label.startswith("policy_"):
        hits[label[len("policy_"):]] = [list(r) for r in con.execute("SELECT * FROM result").fetchall()]
json.dump({"statements": len(files), "rows": rows, "seconds_in_duckdb": time.perf_counter() - t0, "hits": hits, "millis": millis}, open(out, "w"))
"""


def timed(cmd, stdout=None, ok=(0,)):
    """Run cmd under /usr/bin/time; return (wall seconds, peak RSS MiB)."""
    out = subprocess.run(["/usr/bin/time", "-f", "TIME %e %M"] + cmd, stdout=stdout or subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if out.returncode not in ok:
        sys.exit(f"{cmd[0]} failed ({out.returncode}):\n{(out.stdout or '')[-2000:]}\n{out.stderr[-2000:]}")
    line = [l for l in out.stderr.splitlines() if l.startswith("TIME ")][-1]
    _, secs, kib = line.split()
    return float(secs), int(kib) / 1024


def population(oversight, accounts):
    """The cached scenario folder and lake for these parameters, generated and ingested on the first run."""
    root = os.path.join(os.path.expanduser("~/.cache/oversight-bench"), f"scan-a{accounts}-d{DAYS}-s{SEED}-{PROVIDER}")
    done = os.path.join(root, "ingest.json")
    if not os.path.exists(done):
        shutil.rmtree(root, ignore_errors=True)
        os.makedirs(root)
        print(f"# generating the population once into {root}", flush=True)
        subprocess.run([oversight, "simulate", "--accounts", str(accounts), "--days", str(DAYS), "--seed", str(SEED), "--provider", PROVIDER,
                        "--out", os.path.join(root, "scenario")], check=True, stdout=subprocess.DEVNULL)
        summary = subprocess.run([oversight, "ingest", "--json", "--lake", os.path.join(root, "lake"), os.path.join(root, "scenario", "exports")],
                                 check=True, capture_output=True, text=True).stdout
        open(done + ".tmp", "w").write(summary)
        os.replace(done + ".tmp", done)
    return root, json.load(open(done))["rows_kept"]


def main():
    oversight, python = sys.argv[1], sys.executable
    accounts = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    root, usage_rows = population(oversight, accounts)
    lake, scenario = os.path.join(root, "lake"), os.path.join(root, "scenario")
    as_of = str(date(2025, 1, 1) + timedelta(days=DAYS - 1))
    ctx = ["--registry", os.path.join(scenario, "registry.csv"), "--events", os.path.join(scenario, "events.csv"), "--as-of", as_of, "--format", "json"]
    work = tempfile.mkdtemp(prefix="oversight-scan-bench-")
    try:
        series, sql_dir = os.path.join(work, "series.parquet"), os.path.join(work, "sql")
        job = os.path.join(work, "duckdb_job.py")
        open(job, "w").write(DUCKDB_JOB)
        sb = timed([oversight, "signals", "--lake", lake, "--format", "parquet", "--out", series])
        print(f"# {accounts:,} accounts x {DAYS} days (seed {SEED}, {PROVIDER}), {usage_rows:,} usage rows; "
              f"series {os.path.getsize(series) / 1e6:.0f} MB Parquet, built in {sb[0]:.2f} s, peak {sb[1]:.0f} MiB (not in the ratio)", flush=True)
        with open(os.path.join(work, "streamed.json"), "w") as f:
            o = timed([oversight, "scan", "--lake", lake, "--series", series, "--emit-sql", sql_dir] + ctx, stdout=f, ok=(0, 4))
        duck = os.path.join(work, "duckdb.json")
        d = timed([python, job, sql_dir, series, duck, json.dumps(DIALECT)])
        with open(os.path.join(work, "lake.json"), "w") as f:
            e = timed([oversight, "scan", "--lake", lake] + ctx, stdout=f, ok=(0, 4))
        identical = open(os.path.join(work, "streamed.json"), "rb").read() == open(os.path.join(work, "lake.json"), "rb").read()

        ours = json.load(open(os.path.join(work, "streamed.json")))
        theirs = json.load(open(duck))
        o_hits = {(f["policy"]["id"], f["account_id"], f["as_of"]): [m["value"] for m in f["measured"]] for f in ours["findings"] if f["policy"]["id"] != "baseline-surge"}
        d_hits = {(p, r[0], str(date(1970, 1, 1) + timedelta(days=r[1]))): r[3:] for p, rows in theirs["hits"].items() for r in rows}
        close = lambda a, b: all(abs(x - y) <= 1e-9 * max(abs(x), abs(y), 1e-300) for x, y in zip(a, b))
        same = o_hits.keys() == d_hits.keys() and all(close(o_hits[k], d_hits[k]) for k in o_hits)
        statements = sorted(os.listdir(sql_dir))
        kinds = {}
        for s in (s for s in statements if s.endswith(".sql")):
            k = s[4:-4].split("_")[0]
            kinds[k] = kinds.get(k, 0) + 1

        r = {"accounts": accounts, "days": DAYS, "seed": SEED, "usage_rows": usage_rows, "series_mb": round(os.path.getsize(series) / 1e6, 1),
             "series_build_s": sb[0], "series_build_peak_mib": round(sb[1]), "oversight_s": o[0], "oversight_peak_mib": round(o[1]),
             "duckdb_s": d[0], "duckdb_peak_mib": round(d[1]), "duckdb_in_process_s": round(theirs["seconds_in_duckdb"], 2),
             "ratio": round(o[0] / d[0], 2), "statements": kinds, "policy_hits": len(o_hits), "hits_match": same,
             "oversight_from_lake_s": e[0], "oversight_from_lake_peak_mib": round(e[1]), "from_lake_json_identical": identical}
        print(f"oversight scan --series {o[0]:7.2f} s, peak {r['oversight_peak_mib']} MiB | duckdb (same {sum(kinds.values())} statements: {kinds}) "
              f"{d[0]:7.2f} s ({r['duckdb_in_process_s']} s inside), peak {r['duckdb_peak_mib']} MiB | ratio oversight/duckdb = {r['ratio']}")
        print(f"policy hits on {as_of}: {len(o_hits)} oversight, {len(d_hits)} duckdb, {'the same' if same else 'DIFFERENT'}")
        print(f"oversight scan from the lake (series built from the lake): {e[0]:.2f} s, peak {r['oversight_from_lake_peak_mib']} MiB; "
              f"findings {'byte-identical to' if identical else 'DIFFER from'} the --series run")
        # Where the time goes: the slowest statements here beside DuckDB's time for the same text.
        ours_ms = dict(l.split("\t") for l in open(os.path.join(sql_dir, "timings.tsv")).read().splitlines()[1:])
        slowest = sorted(ours_ms, key=lambda f: -float(ours_ms[f]))[:8]
        print("slowest statements (ms, oversight / duckdb): " + ", ".join(f"{f[:-4]} {float(ours_ms[f]):.0f}/{theirs['millis'][f]:.0f}" for f in slowest))
        print(json.dumps(r))
        if not same or not identical:
            if not same:
                print("only oversight:", sorted(o_hits.keys() - d_hits.keys())[:20], "\nonly duckdb:", sorted(d_hits.keys() - o_hits.keys())[:20], file=sys.stderr)
            sys.exit(1)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
