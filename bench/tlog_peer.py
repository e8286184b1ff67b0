"""Peer for the log benchmark: tlog-scales' TilesWriter (Python) writing the same entries in batches of 1,024.
It writes tiles without fsync, so it is a lower bound on work, not a durable peer. Prints one JSON line."""
import json, sys, time
from pathlib import Path
from tlog_scales.writer import TilesWriter
from tlog_scales.signing import PlainEd25519Signer

root, total = Path(sys.argv[1]), int(sys.argv[2])
w = TilesWriter.create(root, "bench.example/peer")
signer = PlainEd25519Signer("bench.example/peer", bytes(32))
t = time.time()
for k in range(total):
    w.add_leaf(json.dumps({"kind": "scan", "n": k, "pad": "x" * 200}, separators=(",", ":")).encode())
    if (k + 1) % 1024 == 0 or k + 1 == total:
        w.commit([signer])
secs = time.time() - t
print(json.dumps({"what": "tlog-scales append (no fsync)", "batch": 1024, "entries": total, "seconds": round(secs, 3), "per_second": round(total / secs)}))
