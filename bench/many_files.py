#!/usr/bin/env python3
"""Many-files benchmark: a delivery tree of many small CSV.gz files in the four providers' layouts, ingested by
oversight and read by DuckDB in the same run.

The tree (about a quarter of the files each):
- Azure: export runs, `azure/<billing>/focus-cost/<YYYYMMDD-YYYYMMDD>/<run guid>/part_0_NNNN.csv.gz` with the run's
  `manifest.json` listing its parts (FocusCost 1.0: datetimes in minutes);
- AWS: Data Exports in overwrite mode, `aws/<payer>/focus/data/BILLING_PERIOD=YYYY-MM/focus-NNNNN.csv.gz` with
  `metadata/BILLING_PERIOD=YYYY-MM/focus-Manifest.json` (`…T00:00:00.000Z`);
- Google Cloud: BigQuery extracts as plain files, `gcp/<billing>/<YYYY-MM>/focus-<day>-NNNNNNNNNNNN.csv.gz`
  (`… 00:00:00 UTC`, lower-case `usage`);
- OCI: report files, `oci/FOCUS Reports/YYYY/MM/DD/<n>-00001.csv.gz` (1.0-preview names, minutes, CRLF).

oversight: `oversight ingest --json --lake LAKE TREE` (discovery, manifests, validation, the lake's Parquet and
manifest). DuckDB: `read_csv` over the same file list with `union_by_name`, written to one Parquet file. Each runs in
its own process under /usr/bin/time (wall seconds, peak RSS). Run: `bash bench/many_files.sh [FILES] [ROWS_PER_FILE]`
(default 100,000 files of 48 rows).
"""
import gzip, json, os, shutil, subprocess, sys, tempfile, time

GIB = 2**30


def gz(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(text.encode())
    return os.path.getsize(path)


def rows_text(header, rows, end="\n"):
    return end.join([",".join(header)] + [",".join(r) for r in rows]) + end


AZ_HEAD = ["BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd", "BillingPeriodStart",
           "ChargeCategory", "ChargePeriodEnd", "ChargePeriodStart", "ConsumedQuantity", "ConsumedUnit", "EffectiveCost",
           "ListCost", "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName", "RegionId", "ResourceId",
           "ServiceCategory", "ServiceName", "SkuId", "SubAccountId", "SubAccountName", "Tags", "x_PricingBlockSize",
           "x_PricingUnitDescription", "x_SkuMeterId", "x_SkuMeterName"]
AWS_HEAD = ["BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd", "BillingPeriodStart",
            "ChargeCategory", "ChargePeriodEnd", "ChargePeriodStart", "ConsumedQuantity", "ConsumedUnit", "EffectiveCost",
            "ListCost", "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName", "RegionId", "ResourceId",
            "ServiceCategory", "ServiceName", "SkuId", "SkuMeter", "SubAccountId", "SubAccountName", "Tags", "x_Operation",
            "x_ServiceCode", "x_UsageType"]
GCP_HEAD = ["BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd", "BillingPeriodStart",
            "ChargeCategory", "ChargePeriodEnd", "ChargePeriodStart", "ConsumedQuantity", "ConsumedUnit", "EffectiveCost",
            "ListCost", "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName", "RegionId", "ResourceId",
            "ServiceCategory", "ServiceName", "SkuId", "SubAccountId", "SubAccountName", "Tags", "x_ExportTime"]
OCI_HEAD = ["BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd", "BillingPeriodStart",
            "ChargeCategory", "ChargeDescription", "ChargePeriodEnd", "ChargePeriodStart", "EffectiveCost", "ListCost",
            "PricingQuantity", "PricingUnit", "Provider", "Publisher", "Region", "ResourceId", "ServiceCategory",
            "ServiceName", "SkuId", "SubAccountId", "SubAccountName", "Tags", "UsageQuantity", "UsageUnit",
            "oci_CompartmentId", "oci_CompartmentName"]


def azure_row(acct, day, hour, i):
    q = f"{(i % 97 + 1) / 31:.10f}"
    t = lambda h: f"2025-01-{day:02d}T{h:02d}:00Z" if h < 24 else f"2025-01-{day + 1:02d}T00:00Z" if day < 31 else "2025-02-01T00:00Z"
    return [q, f"/providers/Microsoft.Billing/billingAccounts/{acct // 20}", f"Org {acct // 20}", "EUR", "2025-02-01T00:00Z",
            "2025-01-01T00:00Z", "Usage", t(hour + 1), t(hour), q, "GB/Month", q, q, q, "GB/Month", "Microsoft", "Microsoft",
            "westeurope", f"/subscriptions/{acct:08x}-0000/resourcegroups/rg/providers/microsoft.storage/storageaccounts/st{i % 7}",
            "Storage", "Storage", "DZH318Z0BPH7", f"/subscriptions/{acct:08x}-0000", f"sub {acct}",
            "\"{\"\"env\"\":\"\"prod\"\"}\"", "1", "1 GB/Month", "10e5ee74-8fd6-4972-909f-65a83f92f0ce", "Hot LRS Data Stored"]


def aws_row(acct, day, hour, i):
    q = f"{(i % 89 + 1) * 1.5e-5:E}" if i % 3 == 0 else f"{(i % 89 + 1) * 0.37:.6f}"
    t = lambda h: f"2025-01-{day:02d}T{h:02d}:00:00.000Z" if h < 24 else (f"2025-01-{day + 1:02d}T00:00:00.000Z" if day < 31 else "2025-02-01T00:00:00.000Z")
    return [q, f"{100000000000 + acct // 20}", f"payer {acct // 20}", "USD", "2025-02-01T00:00:00.000Z", "2025-01-01T00:00:00.000Z",
            "Usage", t(hour + 1), t(hour), q, "GB", q, q, q, "GB", "AWS", "\"Amazon Web Services, Inc.\"", "eu-west-1",
            f"arn:aws:s3:::bucket-{acct}", "Networking", "Amazon Simple Storage Service", "N7WSYHVUT72KMK3V", "Data Transfer",
            f"{200000000000 + acct}", f"member {acct}", "\"{\"\"user:env\"\":\"\"prod\"\"}\"", "GetObject", "AmazonS3",
            "EU-DataTransfer-Out-Bytes"]


def gcp_row(acct, day, hour, i):
    q = f"{(i % 83 + 1) * 3600 * 10**12}"
    t = lambda h: f"2025-01-{day:02d} {h:02d}:00:00 UTC" if h < 24 else (f"2025-01-{day + 1:02d} 00:00:00 UTC" if day < 31 else "2025-02-01 00:00:00 UTC")
    return [f"{(i % 83 + 1) * 0.0001:.6f}", f"01A2B3-{acct // 20:06d}", f"billing {acct // 20}", "USD", "2025-02-01 08:00:00 UTC",
            "2025-01-01 08:00:00 UTC", "usage", t(hour + 1), t(hour), q, "byte-seconds", "0.01", "0.01", q, "gibibyte month",
            "Google Cloud", "Google Cloud", "europe-west4", f"projects/p-{acct}/buckets/b{i % 5}", "Storage", "Cloud Storage",
            "E5F0-6A5D-7BAD", f"project-{acct}", f"Project {acct}",
            "\"[{\"\"key\"\":\"\"env\"\",\"\"value\"\":\"\"prod\"\"}]\"", f"2025-01-{day:02d} 11:04:17.1234 UTC"]


def oci_row(acct, day, hour, i):
    q = f"{(i % 71 + 1) / 744:.12f}"
    t = lambda h: f"2025-01-{day:02d}T{h:02d}:00Z" if h < 24 else (f"2025-01-{day + 1:02d}T00:00Z" if day < 31 else "2025-02-01T00:00Z")
    return [f"{float(q) * 0.0255:.12f}", f"{7000000 + acct // 20}", "", "USD", "2025-01-31T23:59:59.999Z", "2025-01-01T00:00:00.000Z",
            "Usage", "Object Storage - Storage", t(hour + 1), t(hour), "0.0", "0.0", q, "GB Months", "Oracle", "Oracle",
            "eu-frankfurt-1", f"ocid1.bucket.oc1..{acct:012d}{i % 5}", "Storage", "OBJECTSTORE", "B91628",
            f"ocid1.tenancy.oc1..{acct:020d}", f"tenancy{acct}", "\"{\"\"project\"\":\"\"calls\"\"}\"", q, "GB Months",
            "ocid1.compartment.oc1..c", "intercepts"]


def generate(root, files, per_file):
    """Write about `files` files of `per_file` rows; returns (files written, rows, bytes)."""
    quarter = max(1, files // 4)
    parts = 20                                   # parts per Azure run and AWS manifest
    n_files = n_rows = n_bytes = 0
    counter = 0

    def rows(make, first_acct):
        nonlocal counter
        out = []
        for k in range(per_file):
            counter += 1
            acct = first_acct + k % 4
            out.append(make(acct, 1 + counter % 31, counter % 24, counter))
        return out

    # Azure: runs of `parts` parts, one run per (billing account, run).
    for run in range(quarter // parts):
        guid = f"{run:08x}-0000-4000-8000-{run:012x}"
        folder = f"azure/org{run}/focus-cost/20250101-20250131/{guid}"
        blobs = []
        for p in range(parts):
            name = f"{folder}/part_0_{p + 1:04d}.csv.gz"
            size = gz(os.path.join(root, name), rows_text(AZ_HEAD, rows(azure_row, run * 4)))
            blobs.append({"blobName": name, "byteCount": size})
            n_files, n_rows, n_bytes = n_files + 1, n_rows + per_file, n_bytes + size
        manifest = {"manifestVersion": "2024-04-01", "blobCount": parts,
                    "exportConfig": {"exportName": "focus-cost", "resourceId": f"/providers/Microsoft.Billing/billingAccounts/{run}/providers/Microsoft.CostManagement/exports/focus-cost", "type": "FocusCost", "dataVersion": "1.0"},
                    "runInfo": {"runId": guid, "submittedTime": "2025-02-03T05:00:00Z", "startDate": "2025-01-01T00:00:00", "endDate": "2025-01-31T00:00:00Z"},
                    "blobs": blobs}
        with open(os.path.join(root, folder, "manifest.json"), "w") as f:
            json.dump(manifest, f)
    # AWS: one overwrite-mode export per payer, `parts` files each.
    for ex in range(quarter // parts):
        base = f"aws/payer{ex}/focus"
        names = []
        for p in range(parts):
            name = f"focus-{p + 1:05d}.csv.gz"
            size = gz(os.path.join(root, base, "data", "BILLING_PERIOD=2025-01", name), rows_text(AWS_HEAD, rows(aws_row, ex * 4)))
            names.append(f"s3://bucket/{base}/data/BILLING_PERIOD=2025-01/{name}")
            n_files, n_rows, n_bytes = n_files + 1, n_rows + per_file, n_bytes + size
        path = os.path.join(root, base, "metadata", "BILLING_PERIOD=2025-01", "focus-Manifest.json")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            json.dump({"executionId": f"exec-{ex}", "dataFiles": names}, f)
    # Google: plain extract files, append.
    for i in range(quarter):
        acct = (i // 31) * 4
        name = f"gcp/billing{i // 31}/2025-01/focus-{i % 31 + 1:02d}-{i:012d}.csv.gz"
        size = gz(os.path.join(root, name), rows_text(GCP_HEAD, rows(gcp_row, acct)))
        n_files, n_rows, n_bytes = n_files + 1, n_rows + per_file, n_bytes + size
    # OCI: report files, append.
    for i in range(files - n_files):
        acct = (i // 31) * 4
        name = f"oci/FOCUS Reports/2025/01/{i % 31 + 1:02d}/{1000000000000000 + i}-00001.csv.gz"
        size = gz(os.path.join(root, name), rows_text(OCI_HEAD, rows(oci_row, acct), end="\r\n"))
        n_files, n_rows, n_bytes = n_files + 1, n_rows + per_file, n_bytes + size
    return n_files, n_rows, n_bytes


# DuckDB keeps a reader per file of a read_csv call: over 1,000 files with its default 32 MiB buffers it ran out of
# 18.8 GiB, and over 100,000 files with 1 MiB buffers too. So it reads the list in batches of 2,000 files (union_by_name
# within each), inserts each by name into one table of every column, and writes that table to Parquet.
DUCKDB_JOB = r"""
import duckdb, json, sys
files, out, columns = json.load(open(sys.argv[1])), sys.argv[2], json.load(open(sys.argv[3]))
con = duckdb.connect()
con.execute("SET preserve_insertion_order=false")
con.execute("CREATE TABLE t (" + ", ".join('"' + c + '" VARCHAR' for c in columns) + ")")
for i in range(0, len(files), 2000):
    con.execute("INSERT INTO t BY NAME SELECT * FROM read_csv($files, header=true, union_by_name=true, all_varchar=true, hive_partitioning=false, buffer_size=1048576)",
                {"files": files[i:i + 2000]})
con.execute("COPY t TO '" + out + "' (FORMAT parquet)")
print(con.execute("SELECT count(*) FROM t").fetchone()[0])
"""


def timed(cmd):
    """Run cmd under /usr/bin/time; return (wall seconds, peak RSS MiB, stdout)."""
    out = subprocess.run(["/usr/bin/time", "-f", "TIME %e %M"] + cmd, capture_output=True, text=True)
    if out.returncode not in (0, 3):
        sys.exit(f"{cmd[0]} failed ({out.returncode}):\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    line = [l for l in out.stderr.splitlines() if l.startswith("TIME ")][-1]
    _, secs, kib = line.split()
    return float(secs), int(kib) / 1024, out.stdout


def main():
    oversight, python = sys.argv[1], sys.argv[2]
    files = int(sys.argv[3]) if len(sys.argv) > 3 else 100_000
    per_file = int(sys.argv[4]) if len(sys.argv) > 4 else 48
    work = tempfile.mkdtemp(prefix="oversight-many-")
    try:
        tree = os.path.join(work, "exports")
        t = time.time()
        n_files, n_rows, n_bytes = generate(tree, files, per_file)
        print(f"# {n_files:,} files, {n_rows:,} rows, {n_bytes / 1e6:,.0f} MB of CSV.gz in the four layouts (generated in {time.time() - t:.0f} s)", flush=True)
        data = sorted(os.path.join(d, f) for d, _, fs in os.walk(tree) for f in fs if f.endswith(".csv.gz"))
        lst = os.path.join(work, "files.json")
        json.dump(data, open(lst, "w"))
        job = os.path.join(work, "duckdb_job.py")
        open(job, "w").write(DUCKDB_JOB)
        cols = os.path.join(work, "columns.json")
        json.dump(sorted(set(AZ_HEAD + AWS_HEAD + GCP_HEAD + OCI_HEAD)), open(cols, "w"))
        o = timed([oversight, "ingest", "--json", "--lake", os.path.join(work, "lake"), tree])
        summary = json.loads(o[2])
        print(f"oversight {o[0]:7.2f} s, peak {o[1]:.0f} MiB, {summary['rows_kept']:,} rows kept, {summary['rows_quarantined']:,} quarantined", flush=True)
        d = timed([python, job, lst, os.path.join(work, "duck.parquet"), cols])
        r = {"files": n_files, "rows": n_rows, "oversight_s": o[0], "oversight_peak_mib": round(o[1]),
             "oversight_rows_kept": summary["rows_kept"], "oversight_rows_quarantined": summary["rows_quarantined"],
             "duckdb_s": d[0], "duckdb_peak_mib": round(d[1]), "duckdb_rows": int(d[2].strip()), "ratio": round(o[0] / d[0], 2)}
        print(f"oversight {o[0]:7.2f} s, peak {r['oversight_peak_mib']} MiB, {r['oversight_rows_kept']:,} rows kept, "
              f"{r['oversight_rows_quarantined']:,} quarantined | duckdb {d[0]:7.2f} s, peak {r['duckdb_peak_mib']} MiB, "
              f"{r['duckdb_rows']:,} rows | ratio oversight/duckdb = {r['ratio']}", flush=True)
        print(json.dumps(r))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
