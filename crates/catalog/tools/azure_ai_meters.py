#!/usr/bin/env python3
"""Regenerate the Azure AI meter-ID rules of catalog/meters.toml from the Retail Prices dumps.

Usage: python3 crates/catalog/tools/azure_ai_meters.py   (from the repository root)
Rewrites the block between '# BEGIN generated: azure-ai' and '# END generated: azure-ai' in meters.toml.
Source: ../shared/data/catalog-sources/azure/retail-prices-westeurope/ (meters.md key `azwe`); meter GUIDs are
region-independent for AI meters (meters.md §4.0).
"""
import json, pathlib, re

ROOT = pathlib.Path(__file__).resolve().parents[3]
SRC = ROOT.parent / "shared/data/catalog-sources/azure/retail-prices-westeurope"
TOML = ROOT / "crates/catalog/catalog/meters.toml"
BLOCK = {"1": 1, "1 Hour": 1, "1 Minute": 1, "1K": 1000, "1M": 1000000}


def items(name):
    d = json.loads((SRC / name).read_text())
    return d if isinstance(d, list) else d.get("Items", d.get("items"))


def pick(rows, product, name_re, units, exclude=None):
    out = {}
    for it in rows:
        if not re.fullmatch(product, it["productName"]) or it["unitOfMeasure"] not in units:
            continue
        n = it["meterName"]
        if re.search(name_re, n, re.I) and not (exclude and re.search(exclude, n, re.I)):
            out.setdefault(it["meterId"].lower(), (n, it["unitOfMeasure"]))
    return out


tools, models, search = items("foundry_tools.json"), items("foundry_models.json"), items("azure_cognitive_search.json")
groups = [
    # (id, signal, block, unit label, meters, what)
    ("azure.speech.meter-ids", "ai.speech_seconds", 1, "1 Hour",
     pick(tools, "Azure Speech", r"speech to text|transcription|speech translation|input audio|enhanced feature audio", {"1 Hour"}, r"training|avatar"),
     "Azure Speech audio-hour meters (speech to text, transcription, speech translation)"),
    ("azure.translation.meter-ids", "ai.translation_chars", 1000000, "1M",
     pick(tools, "Translator Text", r"characters$", {"1M"}, r"training"),
     "Translator Text character meters (training characters excluded)"),
    ("azure.face.meter-ids", "ai.face_transactions", 1000, "1K",
     pick(tools, "Azure Vision - Face", r"transactions$", {"1K"}),
     "Azure Vision - Face transaction meters (Standard, Overage, Free, Liveness)"),
    ("azure.ocr.meter-ids", "ai.ocr_pages", 1000, "1K",
     pick(tools, "Azure Document Intelligence|Form Recognizer", r"pages", {"1K"}),
     "Document Intelligence / Form Recognizer page meters"),
    ("azure.search.meter-ids", "ai.search_queries", 1000, "1K",
     pick(search, "Azure AI Search", r"queries$", {"1K"}),
     "Azure AI Search semantic-ranker query meters (ordinary queries are not metered, meters.md §4.4)"),
    ("azure.llm.meter-ids.1k", "ai.llm_tokens", 1000, "1K",
     {**pick(models, ".*", r"tokens$", {"1K"}), **pick(tools, "Azure Speech", r"tokens$", {"1K"}), **pick(search, ".*", r"tokens$", {"1K"})},
     "Foundry Models (and Voice Live, AI Search) token meters priced per 1K tokens"),
    ("azure.llm.meter-ids.1m", "ai.llm_tokens", 1000000, "1M",
     pick(models, ".*", r"tokens$", {"1M"}),
     "Foundry Models token meters priced per 1M tokens"),
]

lines = ["# BEGIN generated: azure-ai (crates/catalog/tools/azure_ai_meters.py; do not edit by hand)"]
for rid, signal, block, label, meters, what in groups:
    lines += ["", "[[rule]]", f'id = "{rid}"', 'provider = "azure"', f'signal = "{signal}"',
              f"block = {block}          # unit {label} [P azwe]; ConsumedQuantity counts blocks (meters.md §4.0)",
              f"# {what}: {len(meters)} meter IDs [P azwe].", "meter_ids = ["]
    for guid, (name, unit) in sorted(meters.items(), key=lambda kv: kv[1]):
        lines.append(f'  "{guid}",  # {name} ({unit})')
    lines.append("]")
lines.append("# END generated: azure-ai")

text = TOML.read_text()
new = re.sub(r"# BEGIN generated: azure-ai.*?# END generated: azure-ai", lambda _: "\n".join(lines), text, flags=re.S)
assert new != text or "# BEGIN generated: azure-ai" in text, "markers missing"
TOML.write_text(new)
print({g[0]: len(g[4]) for g in groups})
