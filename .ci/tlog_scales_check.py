"""Independent check of an oversight log folder with the PyPI package tlog-scales.

Usage: python tlog_scales_check.py DIR VKEY. Verifies the checkpoint signature, recomputes the root from the tiles,
checks inclusion and consistency proofs, and compares EVERY tile file with a rebuild from the entries (tlog-scales'
calculate_root_hash only reads the top tiles it needs, so that alone would not prove the lower tiles right).
"""
import hashlib
import sys
from pathlib import Path

from tlog_scales.backend import LocalBackend
from tlog_scales.reader import TilesReader
from tlog_scales.signing import Vkey
from tlog_scales.tiles import leaf_hash, tile_path


def node(l, r):
    return hashlib.sha256(b"\x01" + l + r).digest()


def mth(hashes):
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return node(mth(hashes[:k]), mth(hashes[k:]))


def main():
    base, vkey = Path(sys.argv[1]), sys.argv[2]
    r = TilesReader(LocalBackend(base))
    cp = r.get_checkpoint()
    cp.verify(Vkey.from_string(vkey))
    assert r.calculate_root_hash() == cp.root_hash, "root from tiles differs from the checkpoint"
    size = cp.size
    entries = [r.get_entry(i) for i in range(size)]
    leaves = [leaf_hash(e) for e in entries]
    # Rebuild every hash tile and compare bytes.
    level, hashes, checked = 0, leaves, 0
    while hashes:
        for n in range(0, (len(hashes) + 255) // 256):
            chunk = hashes[n * 256:(n + 1) * 256]
            partial = len(chunk) if len(chunk) < 256 else 0
            path = base.joinpath(*tile_path(level, n, partial))
            assert path.read_bytes() == b"".join(chunk), f"tile {path} differs from the rebuild"
            checked += 1
        hashes = [mth(hashes[n * 256:(n + 1) * 256]) for n in range(len(hashes) // 256)]
        level += 1
    for i in sorted({0, 1, size // 2, size - 1}):
        r.get_inclusion_proof(i, size).check(leaves[i], cp.root_hash)
    for old in sorted({1, 255, 256, 257, size // 3, size - 1}):
        if 0 < old < size:
            r.get_consistency_proof(old, size).check(mth(leaves[:old]), cp.root_hash)
    print(f"tlog-scales: checkpoint signature, root, {checked} tiles, inclusion and consistency proofs hold for size {size}")


if __name__ == "__main__":
    main()
