#!/usr/bin/env python3
"""Writes the conformance corpus: small exports per provider, FOCUS version, format and delivery mode, in the forms
each provider really writes (README.md cites the source of every form). Each case folder holds `exports/`, laid out
as the provider delivers, and `expect.json`: the rows ingest must keep (every one, none quarantined) and the series
points `oversight signals` must produce from them, stated as the usage they describe (bytes stored, bytes sent,
seconds of audio), not as the quantities written.

Run with pyarrow (`pip install pyarrow`): `python corpus/make.py`. The files are committed; CI only reads them.
"""
import datetime as dt
import gzip
import io
import json
import os
import shutil
from decimal import Decimal, getcontext

getcontext().prec = 60

import pyarrow as pa
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
GIB = 2**30
STORED = 8_000 * 10**12          # 8,000 TB held (the public record's intercept archive)
EGRESS = 5 * 10**12              # 5 TB sent in a day
AUDIO_H = 24_000                 # 24,000 hours of audio a day, 1,000 an hour


def case(name):
    d = os.path.join(HERE, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "exports"))
    return d


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return len(data)


def gz(text):
    # mtime=0 so the bytes do not change from run to run.
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as g:
        g.write(text.encode())
    return buf.getvalue()


def csv_text(header, rows, crlf=False):
    def cell(v):
        if v is None:
            return ""
        s = str(v)
        return '"' + s.replace('"', '""') + '"' if any(c in s for c in ',"\r\n') else s
    end = "\r\n" if crlf else "\n"
    return end.join([",".join(header)] + [",".join(cell(r.get(h)) for h in header) for r in rows]) + end


def expect(d, meta, rows, series):
    meta = dict(meta, rows=rows, series=series)
    with open(os.path.join(d, "expect.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")


def days(first, n):
    return [first + dt.timedelta(days=i) for i in range(n)]


def pt(account, signal, day, value):
    return {"sub_account_id": account, "signal": signal, "day": day.isoformat(), "value": value}


# ---------------------------------------------------------------------------------------------------------- Azure
AZ_V10 = ["AvailabilityZone", "BilledCost", "BillingAccountId", "BillingAccountName", "BillingAccountType", "BillingCurrency",
          "BillingPeriodEnd", "BillingPeriodStart", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargeFrequency",
          "ChargePeriodEnd", "ChargePeriodStart", "CommitmentDiscountCategory", "CommitmentDiscountId", "CommitmentDiscountName",
          "CommitmentDiscountStatus", "CommitmentDiscountType", "ConsumedQuantity", "ConsumedUnit", "ContractedCost",
          "ContractedUnitPrice", "EffectiveCost", "InvoiceIssuerName", "ListCost", "ListUnitPrice", "PricingCategory",
          "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName", "RegionId", "RegionName", "ResourceId",
          "ResourceName", "ResourceType", "ServiceCategory", "ServiceName", "SkuId", "SkuPriceId", "SubAccountId",
          "SubAccountName", "SubAccountType", "Tags", "x_BillingProfileId", "x_InvoiceSectionId", "x_PricingBlockSize",
          "x_PricingUnitDescription", "x_SkuDetails", "x_SkuMeterCategory", "x_SkuMeterId", "x_SkuMeterName"]
AZ_BILLING = "/providers/Microsoft.Billing/billingAccounts/7f3c91e2-0b4a-4a39-9a7e-0c1d2e3f4a5b:1d2c3b4a-5e6f-4a7b-8c9d-0e1f2a3b4c5d_2019-05-31"
AZ_SUB = "5a1f0c6e-2d4b-4e8a-9c3f-7b6d5e4c3a21"
AZ_METERS = {
    # (service, category, meter name, meter id, consumed unit, block description, block size, price)
    "storage": ("Storage", "Storage", "Hot LRS Data Stored", "10e5ee74-8fd6-4972-909f-65a83f92f0ce", "GB/Month", "1 GB/Month", 1, 0.0184),
    "egress": ("Bandwidth", "Networking", "Standard Data Transfer Out", "9995d93a-7d35-4d3f-9c69-7a7fea447ef4", "GB", "1 GB", 1, 0.087),
    "speech": ("Azure Speech", "AI and Machine Learning", "S1 Speech To Text", "3bd267f0-01d5-4348-ba67-70e2473f0c27", "Hours", "1 Hour", 1, 1.0),
}


def azure_rows(day_list, share_last, seconds):
    """Daily rows of one subscription. Azure FocusCost 1.0 writes minutes and no seconds; 1.0r2 and 1.2 add them."""
    fmt = "%Y-%m-%dT%H:%M:%SZ" if seconds else "%Y-%m-%dT%H:%MZ"
    t = lambda d: dt.datetime(d.year, d.month, d.day).strftime(fmt)
    rows = []
    for i, d in enumerate(day_list):
        share = share_last if i == len(day_list) - 1 else 1.0
        # Azure prorates a GB/Month meter over 31 days whatever the month (catalog [month] azure = 31).
        qty = {"storage": STORED / GIB / 31 * share, "egress": EGRESS / GIB * share, "speech": AUDIO_H * share}
        for key, (svc, cat, meter, mid, unit, block, size, price) in AZ_METERS.items():
            q = Decimal(repr(qty[key]))
            cost = (q * Decimal(str(price))).quantize(Decimal("0.0000000001"))
            rows.append({
                "BilledCost": cost, "BillingAccountId": AZ_BILLING, "BillingAccountName": "Contoso Ministry", "BillingAccountType": "Billing Profile",
                "BillingCurrency": "EUR", "BillingPeriodEnd": t(dt.date(2024, 11, 1)), "BillingPeriodStart": t(dt.date(2024, 10, 1)),
                "ChargeCategory": "Usage", "ChargeDescription": f"{svc} - {meter}", "ChargeFrequency": "Usage-Based",
                "ChargePeriodEnd": t(d + dt.timedelta(days=1)), "ChargePeriodStart": t(d), "ConsumedQuantity": q, "ConsumedUnit": unit,
                "ContractedCost": cost, "ContractedUnitPrice": price, "EffectiveCost": cost, "InvoiceIssuerName": "Microsoft",
                "ListCost": cost, "ListUnitPrice": price, "PricingCategory": "Standard", "PricingQuantity": q, "PricingUnit": unit,
                "ProviderName": "Microsoft", "PublisherName": "Microsoft", "RegionId": "westeurope", "RegionName": "West Europe",
                "ResourceId": f"/subscriptions/{AZ_SUB}/resourcegroups/rg-{key}/providers/microsoft.storage/storageaccounts/st{key}01",
                "ResourceName": f"st{key}01", "ResourceType": "Storage account", "ServiceCategory": cat, "ServiceName": svc,
                "SkuId": "DZH318Z0BPH7", "SkuPriceId": "DZH318Z0BPH7/00BJ", "SubAccountId": f"/subscriptions/{AZ_SUB}",
                "SubAccountName": "unit-8200-archive", "SubAccountType": "Subscription", "Tags": '{"env":"prod","costcenter":"4711"}',
                "x_BillingProfileId": AZ_BILLING, "x_InvoiceSectionId": AZ_BILLING + "/invoiceSections/ABCD-EFGH",
                "x_PricingBlockSize": size, "x_PricingUnitDescription": block, "x_SkuDetails": '{"MeterName":"' + meter + '"}',
                "x_SkuMeterCategory": svc, "x_SkuMeterId": mid, "x_SkuMeterName": meter,
            })
    return rows


def azure_run(root, run_id, submitted, day_list, share_last, fmt, seconds, version):
    folder = f"focus-cost/20241001-20241031/{run_id}"
    rows = azure_rows(day_list, share_last, seconds)
    if fmt == "csv.gz":
        name = "part_0_0001.csv.gz"
        data = gz(csv_text(AZ_V10, rows))
    else:
        name = "part_0_0001.snappy.parquet"
        data = azure_parquet(rows)
    path = f"{folder}/{name}"
    n = write(os.path.join(root, path), data)
    manifest = {
        "manifestVersion": "2024-04-01", "byteCount": n, "blobCount": 1, "dataRowCount": len(rows),
        "exportConfig": {"exportName": "focus-cost", "resourceId": AZ_BILLING + "/providers/Microsoft.CostManagement/exports/focus-cost",
                         "dataVersion": version, "apiVersion": "2025-03-01", "type": "FocusCost", "timeFrame": "MonthToDate", "granularity": "Daily"},
        "deliveryConfig": {"partitionData": True, "dataOverwriteBehavior": "CreateNewReport", "fileFormat": "Csv" if fmt == "csv.gz" else "Parquet",
                           "compressionMode": "gzip" if fmt == "csv.gz" else "snappy", "containerUri": "/subscriptions/###/resourceGroups/###/providers/Microsoft.Storage/storageAccounts/###",
                           "rootFolderPath": "exports"},
        "runInfo": {"executionType": "Scheduled", "submittedTime": submitted, "runId": run_id, "startDate": "2024-10-01T00:00:00",
                    "endDate": f"{day_list[-1].isoformat()}T00:00:00Z"},
        "blobs": [{"blobName": f"exports/{path}", "byteCount": n, "dataRowCount": len(rows)}],
    }
    write(os.path.join(root, folder, "manifest.json"), json.dumps(manifest, indent=2).encode())


def azure_parquet(rows):
    """Azure's Parquet (snappy): costs and quantities DECIMAL(38,18) (FOCUS_Spec #679 reports DECIMAL(38,s)), datetimes as
    INT96 (what the FinOps toolkit reads), everything else strings."""
    time_cols = {"BillingPeriodEnd", "BillingPeriodStart", "ChargePeriodEnd", "ChargePeriodStart"}
    num_cols = {"BilledCost", "ConsumedQuantity", "ContractedCost", "ContractedUnitPrice", "EffectiveCost", "ListCost", "ListUnitPrice", "PricingQuantity", "x_PricingBlockSize"}
    arrays, fields = [], []
    for h in AZ_V10:
        vals = [r.get(h) for r in rows]
        if h in time_cols:
            typ = pa.timestamp("ns")
            vals = [None if v is None else dt.datetime.strptime(v, "%Y-%m-%dT%H:%M:%SZ") for v in vals]
        elif h in num_cols:
            typ = pa.decimal128(38, 18)
            vals = [None if v is None else Decimal(str(v)).quantize(Decimal(10) ** -18) for v in vals]
        else:
            typ = pa.string()
            vals = [None if v is None else str(v) for v in vals]
        arrays.append(pa.array(vals, type=typ))
        fields.append(pa.field(h, typ))
    return parquet_bytes(pa.Table.from_arrays(arrays, schema=pa.schema(fields)), use_deprecated_int96_timestamps=True)


def parquet_bytes(table, **kw):
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="snappy", **kw)
    return buf.getvalue()


def azure_cases():
    oct1, oct2 = dt.date(2024, 10, 1), dt.date(2024, 10, 2)
    truth = [pt(f"/subscriptions/{AZ_SUB}", s, d, v) for d in (oct1, oct2)
             for s, v in (("storage.stored_bytes", STORED), ("network.egress_bytes", EGRESS), ("ai.speech_seconds", AUDIO_H * 3600))]
    d = case("azure-focus-1.0-csv.gz-run")
    root = os.path.join(d, "exports")
    # A month-to-date run whose last day is 60 % in, then the run that restates it: only the second may count.
    azure_run(root, "0c9a8e61-2f0b-4d2e-9a55-2a1f6c3b7d10", "2024-10-02T06:49:06.5756051Z", [oct1, oct2], 0.6, "csv.gz", False, "1.0")
    azure_run(root, "b7e2d4c0-5a91-4f3e-8d21-6c0e9f1a2b34", "2024-10-03T05:12:44.1022183Z", [oct1, oct2], 1.0, "csv.gz", False, "1.0")
    expect(d, {"provider": "Microsoft", "version": "1.0", "format": "csv.gz", "delivery": "replace (Azure export runs, manifest.json)"}, 6, truth)
    d = case("azure-focus-1.2-parquet-run")
    root = os.path.join(d, "exports")
    azure_run(root, "3a9f3d28-8f2f-4a1c-8a56-740bed1165a5", "2024-10-03T05:12:44Z", [oct1, oct2], 1.0, "parquet", True, "1.2")
    expect(d, {"provider": "Microsoft", "version": "1.2", "format": "parquet", "delivery": "replace (Azure export runs, manifest.json)"}, 6, truth)


# ------------------------------------------------------------------------------------------------------------ AWS
AWS_V12 = ["AvailabilityZone", "BilledCost", "BillingAccountId", "BillingAccountName", "BillingAccountType", "BillingCurrency",
           "BillingPeriodEnd", "BillingPeriodStart", "CapacityReservationId", "CapacityReservationStatus", "ChargeCategory",
           "ChargeClass", "ChargeDescription", "ChargeFrequency", "ChargePeriodEnd", "ChargePeriodStart",
           "CommitmentDiscountCategory", "CommitmentDiscountId", "CommitmentDiscountName", "CommitmentDiscountQuantity",
           "CommitmentDiscountStatus", "CommitmentDiscountType", "CommitmentDiscountUnit", "ConsumedQuantity", "ConsumedUnit",
           "ContractedCost", "ContractedUnitPrice", "EffectiveCost", "InvoiceId", "InvoiceIssuerName", "ListCost",
           "ListUnitPrice", "PricingCategory", "PricingCurrency", "PricingCurrencyContractedUnitPrice",
           "PricingCurrencyEffectiveCost", "PricingCurrencyListUnitPrice", "PricingQuantity", "PricingUnit", "ProviderName",
           "PublisherName", "RegionId", "RegionName", "ResourceId", "ResourceName", "ResourceType", "ServiceCategory",
           "ServiceName", "ServiceSubcategory", "SkuId", "SkuMeter", "SkuPriceDetails", "SkuPriceId", "SubAccountId",
           "SubAccountName", "SubAccountType", "Tags", "x_Discounts", "x_Operation", "x_ServiceCode"]
AWS_V10 = ["AvailabilityZone", "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd",
           "BillingPeriodStart", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargeFrequency", "ChargePeriodEnd",
           "ChargePeriodStart", "CommitmentDiscountCategory", "CommitmentDiscountId", "CommitmentDiscountName",
           "CommitmentDiscountStatus", "CommitmentDiscountType", "ConsumedQuantity", "ConsumedUnit", "ContractedCost",
           "ContractedUnitPrice", "EffectiveCost", "InvoiceIssuerName", "ListCost", "ListUnitPrice", "PricingCategory",
           "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName", "RegionId", "RegionName", "ResourceId",
           "ResourceName", "ResourceType", "ServiceCategory", "ServiceName", "SkuId", "SkuPriceId", "SubAccountId",
           "SubAccountName", "Tags", "x_CostCategories", "x_Discounts", "x_Operation", "x_ServiceCode", "x_UsageType"]
AWS_PAYER, AWS_SUB = "112233445566", "998877665544"
AWS_METERS = {
    "storage": ("Amazon Simple Storage Service", "Storage", "Storage", "WP9ANXZGBYYSGJEA", "EU-TimedStorage-ByteHrs", "StandardStorage", "AmazonS3", "GB-Mo", 0.023),
    "egress": ("Amazon Simple Storage Service", "Networking", "Data Transfer", "N7WSYHVUT72KMK3V", "EU-DataTransfer-Out-Bytes", "GetObject", "AmazonS3", "GB", 0.09),
    "speech": ("Amazon Transcribe", "AI and Machine Learning", "Transcription", "3ZF5HXP5X9QG6W6P", "EU-TranscribeAudio", "Transcribe", "transcribe", "Seconds", 0.0004),
}


def aws_rows(day_list, share_last):
    rows = []
    for i, d in enumerate(day_list):
        share = share_last if i == len(day_list) - 1 else 1.0
        # S3's GB-Mo: byte-hours / 2^30 / (hours in the calendar month) (S3 user guide, catalog [month] aws).
        qty = {"storage": STORED / GIB * 24 / (31 * 24) * share, "egress": EGRESS / GIB * share, "speech": AUDIO_H * 3600 * share}
        for key, (svc, cat, meter, sku, usage, op, code, unit, price) in AWS_METERS.items():
            q = qty[key]
            rows.append({
                "BilledCost": q * price, "BillingAccountId": AWS_PAYER, "BillingAccountName": "ministry-payer", "BillingAccountType": "Billing Account",
                "BillingCurrency": "USD", "BillingPeriodEnd": dt.datetime(2024, 11, 1), "BillingPeriodStart": dt.datetime(2024, 10, 1),
                "ChargeCategory": "Usage", "ChargeDescription": f"{meter} ({usage})", "ChargeFrequency": "Usage-Based",
                "ChargePeriodEnd": dt.datetime(d.year, d.month, d.day) + dt.timedelta(days=1), "ChargePeriodStart": dt.datetime(d.year, d.month, d.day),
                "ConsumedQuantity": q, "ConsumedUnit": unit, "ContractedCost": q * price, "ContractedUnitPrice": price, "EffectiveCost": q * price,
                "InvoiceIssuerName": "Amazon Web Services, Inc.", "ListCost": q * price, "ListUnitPrice": price, "PricingCategory": "Standard",
                "PricingCurrency": "USD", "PricingQuantity": q, "PricingUnit": unit, "ProviderName": "AWS", "PublisherName": "Amazon Web Services, Inc.",
                "RegionId": "eu-west-1", "RegionName": "Europe (Ireland)", "ResourceId": f"arn:aws:s3:::unit-archive-{key}",
                "ResourceName": f"unit-archive-{key}", "ServiceCategory": cat, "ServiceName": svc, "ServiceSubcategory": None, "SkuId": sku,
                "SkuMeter": meter, "SkuPriceId": sku + ".JRTCKXETXF.6YS6EN2CT7", "SubAccountId": AWS_SUB, "SubAccountName": "unit-archive",
                "SubAccountType": "Account", "Tags": {"user:env": "prod", "aws:createdBy": "Root:998877665544"},
                "x_Discounts": {"bundled_discount": 0.0}, "x_Operation": op, "x_ServiceCode": code, "x_UsageType": usage,
                "x_CostCategories": {"unit": "archive"}, "SkuPriceDetails": {"StorageClass": "General Purpose"} if key == "storage" else None,
            })
    return rows


def aws_parquet(rows, cols, timestamps, discount_values):
    """AWS Data Exports Parquet: costs and quantities DOUBLE, the four periods as timestamps (INT96 in the FOCUS 1.0 files
    Spark wrote, INT64 milliseconds in the 1.2 data dictionary), maps of string to string (x_Discounts to DOUBLE in 1.2,
    to STRING in the 1.0 preview)."""
    maps = {"Tags": pa.string(), "x_CostCategories": pa.string(), "SkuPriceDetails": pa.string(), "x_Discounts": discount_values}
    time_cols = {"BillingPeriodEnd", "BillingPeriodStart", "ChargePeriodEnd", "ChargePeriodStart"}
    num_cols = {"BilledCost", "ConsumedQuantity", "ContractedCost", "ContractedUnitPrice", "EffectiveCost", "ListCost", "ListUnitPrice",
                "PricingQuantity", "CommitmentDiscountQuantity", "PricingCurrencyContractedUnitPrice", "PricingCurrencyEffectiveCost", "PricingCurrencyListUnitPrice"}
    arrays, fields = [], []
    for h in cols:
        vals = [r.get(h) for r in rows]
        if h in maps:
            typ = pa.map_(pa.string(), maps[h])
            vals = [None if v is None else [(k, (x if maps[h] != pa.string() else str(x))) for k, x in v.items()] for v in vals]
        elif h in time_cols:
            typ = timestamps
        elif h in num_cols:
            typ = pa.float64()
        else:
            typ = pa.string()
        arrays.append(pa.array(vals, type=typ))
        fields.append(pa.field(h, typ))
    int96 = timestamps == pa.timestamp("ns")
    return parquet_bytes(pa.Table.from_arrays(arrays, schema=pa.schema(fields)), use_deprecated_int96_timestamps=int96, coerce_timestamps=None if int96 else "ms")


def aws_csv(rows, cols):
    """The CSV form: timestamps with milliseconds and Z, maps as JSON text, numbers as Java prints doubles (E notation)."""
    def java_double(x):
        if x == 0:
            return "0.0"
        if 1e-3 <= abs(x) < 1e7:
            return repr(float(x))
        m, e = f"{x:.16E}".split("E")
        return f"{float(m)!r}E{int(e)}"
    out = []
    for r in rows:
        o = {}
        for h in cols:
            v = r.get(h)
            if isinstance(v, dict):
                v = json.dumps(v, separators=(",", ":"))
            elif isinstance(v, dt.datetime):
                v = v.strftime("%Y-%m-%dT%H:%M:%S.000Z")
            elif isinstance(v, float):
                v = java_double(v)
            o[h] = v
        out.append(o)
    return csv_text(cols, out)


def aws_manifest(root, export, period, exec_folder, files, cols):
    sub = f"{period}/{exec_folder}" if exec_folder else period
    manifest = {
        "executionId": exec_folder.split("-", 1)[1] if exec_folder else "0f6b2f39-5e3b-4a7d-a0d7-6c45f2d1e8a9",
        "billingPeriod": {"start": "2024-10-01T00:00:00.000Z", "end": "2024-11-01T00:00:00.000Z"},
        "dataFiles": [f"s3://ministry-billing/{export}/data/BILLING_PERIOD={sub}/{f}" for f in files],
        "columns": [{"name": c} for c in cols],
    }
    write(os.path.join(root, export, "metadata", f"BILLING_PERIOD={sub}", f"{export}-Manifest.json"), json.dumps(manifest, indent=2).encode())


def aws_cases():
    oct1, oct2 = dt.date(2024, 10, 1), dt.date(2024, 10, 2)
    truth = [pt(AWS_SUB, s, d, v) for d in (oct1, oct2)
             for s, v in (("storage.stored_bytes", STORED), ("network.egress_bytes", EGRESS), ("ai.speech_seconds", AUDIO_H * 3600))]
    d = case("aws-focus-1.0-parquet-overwrite")
    root = os.path.join(d, "exports")
    name = "focus-1-0-00001.snappy.parquet"
    write(os.path.join(root, "focus-1-0", "data", "BILLING_PERIOD=2024-10", name), aws_parquet(aws_rows([oct1, oct2], 1.0), AWS_V10, pa.timestamp("ns"), pa.string()))
    aws_manifest(root, "focus-1-0", "2024-10", None, [name], AWS_V10)
    expect(d, {"provider": "AWS", "version": "1.0", "format": "parquet", "delivery": "replace (AWS Data Exports, overwrite mode)"}, 6, truth)

    d = case("aws-focus-1.2-parquet-create-new")
    root = os.path.join(d, "exports")
    for folder, share in (("20241002T041530Z-6c0d9e2a-1b3f-4e5d-8a7b-9c0d1e2f3a4b", 0.6), ("20241003T052144Z-2e4f6a8b-0c1d-4e3f-a5b6-c7d8e9f0a1b2", 1.0)):
        name = "focus-1-2-00001.snappy.parquet"
        write(os.path.join(root, "focus-1-2", "data", "BILLING_PERIOD=2024-10", folder, name),
              aws_parquet(aws_rows([oct1, oct2], share), AWS_V12 + ["x_UsageType"], pa.timestamp("ms", tz="UTC"), pa.float64()))
        aws_manifest(root, "focus-1-2", "2024-10", folder, [name], AWS_V12 + ["x_UsageType"])
    expect(d, {"provider": "AWS", "version": "1.2", "format": "parquet", "delivery": "replace (AWS Data Exports, create-new mode)"}, 6, truth)

    d = case("aws-focus-1.2-csv.gz-overwrite")
    root = os.path.join(d, "exports")
    names = ["focus-1-2-csv-00001.csv.gz", "focus-1-2-csv-00002.csv.gz"]
    rows = aws_rows([oct1, oct2], 1.0)
    for name, part in zip(names, (rows[:3], rows[3:])):
        write(os.path.join(root, "focus-1-2-csv", "data", "BILLING_PERIOD=2024-10", name), gz(aws_csv(part, AWS_V12 + ["x_UsageType"])))
    aws_manifest(root, "focus-1-2-csv", "2024-10", None, names, AWS_V12 + ["x_UsageType"])
    expect(d, {"provider": "AWS", "version": "1.2", "format": "csv.gz", "delivery": "replace (AWS Data Exports, overwrite mode)"}, 6, truth)


# --------------------------------------------------------------------------------------------------------- Google
GCP_VIEW = ["AvailabilityZone", "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd",
            "BillingPeriodStart", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargeFrequency", "ChargePeriodEnd",
            "ChargePeriodStart", "CommitmentDiscountCategory", "CommitmentDiscountId", "CommitmentDiscountName",
            "CommitmentDiscountStatus", "CommitmentDiscountType", "ConsumedQuantity", "ConsumedUnit", "ContractedCost",
            "ContractedUnitPrice", "EffectiveCost", "InvoiceIssuerName", "ListCost", "ListUnitPrice", "PricingCategory",
            "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName", "RegionId", "RegionName", "ResourceId",
            "ResourceName", "ResourceType", "ServiceCategory", "ServiceName", "SkuId", "SkuPriceId", "SubAccountId",
            "SubAccountName", "Tags", "x_CurrencyConversionRate", "x_ExportTime"]
GCP_BILLING, GCP_PROJECT = "01A2B3-C4D5E6-F7A8B9", "unit-intercepts-prod"
GCP_METERS = {
    "storage": ("Cloud Storage", "Storage", "Standard Storage Europe Multi-region", "E5F0-6A5D-7BAD", "byte-seconds", "gibibyte month", 0.026 / (GIB * 30 * 86400)),
    "egress": ("Compute Engine", "Networking", "Network Internet Egress from EMEA to Americas", "9DE9-9092-B3BC", "bytes", "gibibyte", 0.12 / GIB),
    "speech": ("Cloud Speech API", "AI and Machine Learning", "Speech Recognition", "9DF8-2A4C-7E10", "seconds", "minute", 0.016 / 60),
}


def gcp_rows(day_list, share_first, share_last):
    """One project's rows. BillingPeriodStart is midnight Pacific (the view parses invoice.month in America/Los_Angeles)."""
    rows = []
    for i, d in enumerate(day_list):
        share = share_first if i == 0 else share_last if i == len(day_list) - 1 else 1.0
        qty = {"storage": Decimal(STORED) * 86400 * Decimal(repr(share)), "egress": Decimal(EGRESS) * Decimal(repr(share)), "speech": Decimal(AUDIO_H * 3600) * Decimal(repr(share))}
        for key, (svc, cat, meter, sku, unit, punit, price) in GCP_METERS.items():
            q = qty[key].quantize(Decimal("0.000000001"))
            cost = (q * Decimal(repr(price))).quantize(Decimal("0.000000001"))
            rows.append({
                "BilledCost": cost, "BillingAccountId": GCP_BILLING, "BillingAccountName": "Ministry billing", "BillingCurrency": "USD",
                "BillingPeriodStart": dt.datetime(2024, 10, 1, 7), "BillingPeriodEnd": dt.datetime(2024, 11, 1, 7),
                "ChargeCategory": "usage", "ChargeDescription": meter, "ChargeFrequency": "Usage-Based",
                "ChargePeriodStart": dt.datetime(d.year, d.month, d.day), "ChargePeriodEnd": dt.datetime(d.year, d.month, d.day) + dt.timedelta(days=1),
                "ConsumedQuantity": q, "ConsumedUnit": unit, "ContractedCost": cost, "EffectiveCost": cost, "InvoiceIssuerName": "Google Cloud",
                "ListCost": cost, "PricingCategory": "Standard", "PricingQuantity": q, "PricingUnit": punit, "ProviderName": "Google Cloud",
                "PublisherName": "Google Cloud", "RegionId": "europe-west4", "RegionName": "europe-west4",
                "ResourceId": f"projects/{GCP_PROJECT}/buckets/intercepts-{key}", "ResourceName": f"intercepts-{key}", "ServiceCategory": cat,
                "ServiceName": svc, "SkuId": sku, "SkuPriceId": sku, "SubAccountId": GCP_PROJECT, "SubAccountName": "Unit intercepts prod",
                "Tags": [{"key": "env", "value": "prod", "x_type": "label", "x_inherited": False, "x_namespace": None},
                         {"key": "goog-managed-by", "value": "terraform", "x_type": "system_label", "x_inherited": False, "x_namespace": None}],
                "x_CurrencyConversionRate": 1.0, "x_ExportTime": dt.datetime(d.year, d.month, d.day, 11, 4, 17, 123400) + dt.timedelta(days=1),
            })
    return rows


def bq_timestamp(v):
    """BigQuery's text form of a TIMESTAMP: a space, then ` UTC`; fractions of 1 to 6 digits with trailing zeros trimmed."""
    s = v.strftime("%Y-%m-%d %H:%M:%S")
    if v.microsecond:
        s += "." + f"{v.microsecond:06d}".rstrip("0")
    return s + " UTC"


def gcp_csv(rows):
    """A CSV extract of the view: nested Tags through TO_JSON_STRING (CSV export refuses nested data), NUMERIC as plain digits."""
    out = []
    for r in rows:
        o = {}
        for h in GCP_VIEW:
            v = r.get(h)
            if isinstance(v, dt.datetime):
                v = bq_timestamp(v)
            elif isinstance(v, list):
                v = json.dumps(v, separators=(",", ":"))
            elif isinstance(v, Decimal):
                v = format(v.normalize(), "f")
            o[h] = v
        out.append(o)
    return csv_text(GCP_VIEW, out)


def gcp_parquet(rows):
    """Google's FOCUS export, extracted to Parquet: TIMESTAMP as INT64 microseconds (isAdjustedToUTC false in Google's table of
    types), NUMERIC as DECIMAL(38,9), tags as x_Tags, a repeated record of Key and Value (no Tags column)."""
    cols = [c for c in GCP_VIEW if c != "Tags"] + ["x_Tags"]
    tag = pa.struct([("Key", pa.string()), ("Value", pa.string()), ("x_Inherited", pa.bool_()), ("x_Namespace", pa.string())])
    arrays, fields = [], []
    for h in cols:
        if h == "x_Tags":
            vals = [[{"Key": t["key"], "Value": t["value"], "x_Inherited": t["x_inherited"], "x_Namespace": t["x_namespace"]} for t in r["Tags"]] for r in rows]
            typ = pa.list_(tag)
        else:
            vals = [r.get(h) for r in rows]
            sample = next((v for v in vals if v is not None), "")
            typ = pa.timestamp("us") if isinstance(sample, dt.datetime) else pa.decimal128(38, 9) if isinstance(sample, Decimal) else pa.float64() if isinstance(sample, float) else pa.string()
        arrays.append(pa.array(vals, type=typ))
        fields.append(pa.field(h, typ))
    return parquet_bytes(pa.Table.from_arrays(arrays, schema=pa.schema(fields)))


def gcp_cases():
    oct1, oct2 = dt.date(2024, 10, 1), dt.date(2024, 10, 2)
    truth = [pt(GCP_PROJECT, s, d, v) for d in (oct1, oct2)
             for s, v in (("storage.stored_bytes", STORED), ("network.egress_bytes", EGRESS), ("ai.speech_seconds", AUDIO_H * 3600))]
    d = case("gcp-focus-1.0-view-csv.gz-append")
    root = os.path.join(d, "exports", "gcp-focus", "2024-10")
    # Append: the first extract holds day 1 and 60 % of day 2, the next holds the rest of day 2 as new rows.
    write(os.path.join(root, "focus-20241002-000000000000.csv.gz"), gz(gcp_csv(gcp_rows([oct1, oct2], 1.0, 0.6))))
    write(os.path.join(root, "focus-20241003-000000000000.csv.gz"), gz(gcp_csv(gcp_rows([oct2], 0.4, 0.4))))
    expect(d, {"provider": "Google Cloud", "version": "1.0", "format": "csv.gz", "delivery": "append (BigQuery extracts, plain files)"}, 9, truth)
    d = case("gcp-focus-export-parquet-append")
    root = os.path.join(d, "exports", "gcp-focus-export", "2024-10")
    write(os.path.join(root, "shard-000000000000.parquet"), gcp_parquet(gcp_rows([oct1, oct2], 1.0, 1.0)))
    expect(d, {"provider": "Google Cloud", "version": "1.0", "format": "parquet", "delivery": "append (BigQuery extracts, plain files)"}, 6, truth)


# ------------------------------------------------------------------------------------------------------------ OCI
OCI_HEADER = ("AvailabilityZone,BilledCost,BillingAccountId,BillingAccountName,BillingCurrency,BillingPeriodEnd,BillingPeriodStart,"
              "ChargeCategory,ChargeDescription,ChargeFrequency,ChargePeriodEnd,ChargePeriodStart,ChargeSubcategory,"
              "CommitmentDiscountCategory,CommitmentDiscountId,CommitmentDiscountName,CommitmentDiscountType,EffectiveCost,"
              "InvoiceIssuer,ListCost,ListUnitPrice,PricingCategory,PricingQuantity,PricingUnit,Provider,Publisher,Region,"
              "ResourceId,ResourceName,ResourceType,ServiceCategory,ServiceName,SkuId,SkuPriceId,SubAccountId,SubAccountName,"
              "Tags,UsageQuantity,UsageUnit,oci_ReferenceNumber,oci_CompartmentId,oci_CompartmentName,oci_OverageFlag,"
              "oci_UnitPriceOverage,oci_BilledQuantityOverage,oci_CostOverage,oci_AttributedUsage,oci_AttributedCost,"
              "oci_BackReferenceNumber").split(",")
OCI_TENANCY = "ocid1.tenancy.oc1..aaaaaaaa3kq7xw2mzn5c4vb6lq7rzt2s4e5d6f7g8h9j0k1l2m3n4o5p6q7r"
OCI_METERS = {
    "storage": ("OBJECTSTORE", "Object Storage - Storage", "B91628", "GB Months", 0.0255),
    "egress": ("NETWORK", "Outbound Data Transfer Zone 1", "B88327", "GB Months", 0.0085),
}


def oci_rows(day, hours):
    """Hourly rows of one tenancy. Charge periods in minutes with no seconds, billing period in milliseconds with an inclusive
    end, decimals with 12 places, empty cells for nulls."""
    rows = []
    for h in hours:
        start = dt.datetime(day.year, day.month, day.day, h)
        # An hour's share of a GiB-month over the calendar month (September: 720 hours).
        qty = {"storage": STORED / GIB / 720, "egress": EGRESS / GIB / 24}
        for key, (svc, desc, sku, unit, price) in OCI_METERS.items():
            q = qty[key]
            rows.append({
                "BilledCost": f"{q * price:.12f}", "BillingAccountId": "7356189", "BillingAccountName": "", "BillingCurrency": "USD",
                "BillingPeriodEnd": "2025-09-30T23:59:59.999Z", "BillingPeriodStart": "2025-09-01T00:00:00.000Z", "ChargeCategory": "Usage",
                "ChargeDescription": desc, "ChargeFrequency": "Usage-Based", "ChargePeriodEnd": (start + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%MZ"),
                "ChargePeriodStart": start.strftime("%Y-%m-%dT%H:%MZ"), "ChargeSubcategory": "On-Demand", "EffectiveCost": f"{q * price:.12f}",
                "InvoiceIssuer": "Oracle", "ListCost": f"{q * price:.12f}", "ListUnitPrice": f"{price:.12f}", "PricingCategory": "Standard",
                "PricingQuantity": f"{q:.12f}", "PricingUnit": unit, "Provider": "Oracle", "Publisher": "Oracle", "Region": "eu-frankfurt-1",
                "ResourceId": f"ocid1.bucket.oc1.eu-frankfurt-1.aaaaaaaa{key}", "ResourceName": f"intercepts-{key}", "ResourceType": "bucket",
                "ServiceCategory": "Storage" if key == "storage" else "Network", "ServiceName": svc, "SkuId": sku, "SkuPriceId": sku,
                "SubAccountId": OCI_TENANCY, "SubAccountName": "unitarchive", "Tags": '{"Oracle-Tags.CreatedBy":"svc-ingest","project":"calls"}',
                "UsageQuantity": f"{q:.12f}", "UsageUnit": unit, "oci_ReferenceNumber": f"{h:03d}-{key}",
                "oci_CompartmentId": "ocid1.compartment.oc1..aaaaaaaaintercepts", "oci_CompartmentName": "intercepts",
            })
    return rows


def oci_cases():
    sep25 = dt.date(2025, 9, 25)
    d = case("oci-focus-1.0-preview-csv.gz-append")
    root = os.path.join(d, "exports", "FOCUS Reports", "2025", "09", "25")
    # Two report files of one day, each new data (hours 0-11, then 12-23): both count, neither replaces the other.
    write(os.path.join(root, "0001000002103533-00001.csv.gz"), gz(csv_text(OCI_HEADER, oci_rows(sep25, range(0, 12)), crlf=True)))
    write(os.path.join(root, "0001000002103534-00001.csv.gz"), gz(csv_text(OCI_HEADER, oci_rows(sep25, range(12, 24)), crlf=True)))
    truth = [pt(OCI_TENANCY, "storage.stored_bytes", sep25, STORED), pt(OCI_TENANCY, "network.egress_bytes", sep25, EGRESS)]
    expect(d, {"provider": "Oracle", "version": "1.0-preview", "format": "csv.gz", "delivery": "append (OCI FOCUS Reports, plain files)"}, 48, truth)


if __name__ == "__main__":
    azure_cases()
    aws_cases()
    gcp_cases()
    oci_cases()
