#!/usr/bin/env python3
"""Ingest benchmark: FOCUS CSV -> lake (Parquet partitioned by charge date) -> daily series, oversight vs DuckDB.

Both tools do the same job on the same file in the same run, each in its own process, timed with /usr/bin/time
(wall seconds and peak resident memory). Run: `bash bench/run.sh [ROWS ...]` (default 1M and 5M rows).
"""
import os, random, subprocess, sys, tempfile, time, json, shutil

HEAD = ["BillingAccountId", "BillingAccountName", "SubAccountId", "SubAccountName", "BillingPeriodStart", "BillingPeriodEnd",
        "ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory", "ChargeDescription", "BillingCurrency", "BilledCost",
        "EffectiveCost", "ListCost", "ProviderName", "PublisherName", "ServiceName", "ServiceCategory", "RegionId", "ResourceId",
        "SkuId", "ConsumedQuantity", "ConsumedUnit", "PricingQuantity", "PricingUnit", "Tags", "x_UsageType"]
METERS = [("Amazon Simple Storage Service", "Storage", "USE1-TimedStorage-ByteHrs", "GB-Mo"),
          ("Amazon Elastic Compute Cloud", "Compute", "USE1-BoxUsage:m5.large", "Hrs"),
          ("AWS Data Transfer", "Networking", "USE1-DataTransfer-Out-Bytes", "GB"),
          ("Amazon Transcribe", "AI and Machine Learning", "USE1-TranscribeAudio", "Seconds"),
          ("Amazon Translate", "AI and Machine Learning", "USE1-TranslateText", "Characters"),
          ("Amazon Rekognition", "AI and Machine Learning", "USE1-ImagesProcessed", "Count")]


def generate(path, rows, seed=1):
    rnd = random.Random(seed)
    accounts = 2000
    with open(path, "w") as f:
        f.write(",".join(HEAD) + "\n")
        buf = []
        for i in range(rows):
            a = i % accounts
            hour = (i // accounts) % (31 * 24)
            day, h = hour // 24 + 1, hour % 24
            svc, cat, usage, unit = METERS[(i * 7 + a) % len(METERS)]
            q = rnd.random() * 100
            cost = q * 0.023
            start = f"2025-01-{day:02d}T{h:02d}:00:00Z"
            end = f"2025-01-{day:02d}T{h:02d}:59:59Z" if h == 23 else f"2025-01-{day:02d}T{h + 1:02d}:00:00Z"
            buf.append(f"{100000000000 + a // 10},Org {a // 10},{200000000000 + a},Acct {a},2025-01-01T00:00:00Z,2025-02-01T00:00:00Z,"
                       f"{start},{end},Usage,{svc} usage,USD,{cost:.10f},{cost:.10f},{cost:.10f},AWS,AWS,{svc},{cat},us-east-1,"
                       f"arn:aws:s3:::bucket-{a},SKU{a % 50},{q:.12f},{unit},{q:.12f},{unit},\"{{\"\"team\"\": \"\"t{a % 9}\"\"}}\",{usage}\n")
            if len(buf) >= 50000:
                f.writelines(buf)
                buf.clear()
        f.writelines(buf)


DUCKDB_JOB = r"""
import duckdb, sys
src, lake, out = sys.argv[1], sys.argv[2], sys.argv[3]
con = duckdb.connect()
con.execute(f'''COPY (SELECT *, CAST(ChargePeriodStart AS DATE) AS charge_date FROM read_csv('{src}', header=true,
    nullstr=['', 'NULL'], all_varchar=false, types={{'BillingAccountId':'VARCHAR','SubAccountId':'VARCHAR',
    'BilledCost':'DECIMAL(38,18)','EffectiveCost':'DECIMAL(38,18)','ListCost':'DECIMAL(38,18)',
    'ConsumedQuantity':'DECIMAL(38,15)','PricingQuantity':'DECIMAL(38,15)'}}))
    TO '{lake}' (FORMAT parquet, PARTITION_BY (charge_date))''')
con.execute('''CREATE TABLE meters AS SELECT * FROM (VALUES
    ('USE1-TimedStorage-ByteHrs', 'storage.stored_bytes', 1e9, true), ('USE1-BoxUsage:m5.large', 'compute.vm_hours', 1.0, false),
    ('USE1-DataTransfer-Out-Bytes', 'network.egress_bytes', 1e9, false), ('USE1-TranscribeAudio', 'ai.speech_seconds', 1.0, false),
    ('USE1-TranslateText', 'ai.translation_chars', 1.0, false), ('USE1-ImagesProcessed', 'ai.face_transactions', 1.0, false))
    AS t(usage_type, signal, factor, gauge)''')
con.execute(f'''COPY (SELECT BillingAccountId, coalesce(SubAccountId, '') AS sub, signal, date_trunc('day', ChargePeriodStart) AS day,
    sum(CAST(ConsumedQuantity AS DOUBLE) * factor * CASE WHEN gauge THEN 744 ELSE 1 END) / CASE WHEN bool_or(gauge) THEN 24 ELSE 1 END AS value,
    count(*) AS rows
    FROM read_parquet('{lake}/*/*.parquet', hive_partitioning=true) u JOIN meters m ON u.x_UsageType = m.usage_type
    WHERE ChargeCategory = 'Usage' GROUP BY ALL ORDER BY ALL) TO '{out}' (FORMAT parquet)''')
"""


def timed(cmd, env=None):
    """Run cmd under /usr/bin/time; return (wall seconds, peak RSS MiB)."""
    out = subprocess.run(["/usr/bin/time", "-f", "TIME %e %M"] + cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        sys.exit(f"{cmd[0]} failed ({out.returncode}):\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    line = [l for l in out.stderr.splitlines() if l.startswith("TIME ")][-1]
    _, secs, kib = line.split()
    return float(secs), int(kib) / 1024


def main():
    oversight = sys.argv[1]
    python = sys.argv[2]
    sizes = [int(s) for s in sys.argv[3:]] or [1_000_000, 5_000_000]
    work = tempfile.mkdtemp(prefix="oversight-bench-")
    job = os.path.join(work, "duckdb_job.py")
    open(job, "w").write(DUCKDB_JOB)
    results = []
    try:
        for rows in sizes:
            csv = os.path.join(work, f"focus-{rows}.csv")
            t = time.time()
            generate(csv, rows)
            mb = os.path.getsize(csv) / 1e6
            print(f"# {rows:,} rows, {mb:,.0f} MB CSV (generated in {time.time() - t:.0f} s)", flush=True)
            lake = os.path.join(work, "lake")
            o1 = timed([oversight, "ingest", "--json", "--lake", lake, csv])
            o2 = timed([oversight, "signals", "--lake", lake, "--format", "parquet", "--out", os.path.join(work, "series.parquet")])
            shutil.rmtree(lake)
            d = timed([python, job, csv, os.path.join(work, "duck-lake"), os.path.join(work, "duck-series.parquet")])
            shutil.rmtree(os.path.join(work, "duck-lake"))
            os.remove(csv)
            ours = o1[0] + o2[0]
            r = {"rows": rows, "oversight_s": round(ours, 2), "oversight_ingest_s": o1[0], "oversight_signals_s": o2[0],
                 "oversight_peak_mib": round(max(o1[1], o2[1])), "duckdb_s": d[0], "duckdb_peak_mib": round(d[1]),
                 "ratio": round(ours / d[0], 2), "oversight_rows_per_s": round(rows / ours)}
            results.append(r)
            print(f"oversight {ours:7.2f} s (ingest {o1[0]:.2f} + signals {o2[0]:.2f}), peak {r['oversight_peak_mib']} MiB | "
                  f"duckdb {d[0]:7.2f} s, peak {r['duckdb_peak_mib']} MiB | ratio oversight/duckdb = {r['ratio']}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
