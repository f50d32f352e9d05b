"""Benchmark the record core against its physical limit (standalone, < 2 minutes).

(a) raw Ed25519 verification with PyNaCl/libsodium: the baseline every append pays once;
(b) the append path: canonical entry bytes + signature check under truceline's rule + leaf
    hash + incremental tree append, as a ratio to (a);
(c) inclusion and consistency proofs on a 10,000,000-entry tree, generated from all stored
    full-node levels and from hash tiles (fresh reader per proof = cold cache), and verified.

Prints a Markdown table and writes it to bench/results/record.md.

    python bench/bench_record.py [--size 10000000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import random
import time
from collections.abc import Callable
from hashlib import sha256
from pathlib import Path

import nacl
import nacl.bindings
import numpy as np

from truceline.core.record import canonical, merkle, signing, tiles

OUT = Path(__file__).resolve().parent / "results" / "record.md"


def _rate(fn: Callable[[], int], min_seconds: float) -> float:
    """Items per second of ``fn`` (which returns how many items it processed)."""
    n, t0 = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - t0) < min_seconds or n == 0:
        n += fn()
    return n / elapsed


def bench_signatures(rows: list[tuple[str, str, str]]) -> float:
    rng = random.Random(1)
    seeds = [rng.randbytes(32) for _ in range(16)]
    pks = [signing.public_key(s) for s in seeds]
    base = dt.datetime(2025, 3, 1, 19, 30, tzinfo=dt.UTC)
    bodies = [
        {
            "source": f"monitor-{i % 16}",
            "observed_at": base + dt.timedelta(seconds=i),
            "position": [37.8 + i * 1e-5, 48.0 - i * 1e-5],
            "bearing_deg": (i * 7) % 360,
            "distance_band": "2-4km",
            "weapon": "artillery",
            "kind": "impact",
            "count": 1 + i % 3,
            "note": "Зафіксовано вибух",
        }
        for i in range(2000)
    ]
    datas = [canonical.entry_bytes("observation", b) for b in bodies]
    keys = [pks[i % 16] for i in range(len(datas))]
    sigs = [signing.sign(seeds[i % 16], d) for i, d in enumerate(datas)]
    signed = [s + d for s, d in zip(sigs, datas, strict=True)]

    def raw() -> int:
        for sm, pk in zip(signed, keys, strict=True):
            nacl.bindings.crypto_sign_open(sm, pk)
        return len(signed)

    def rule() -> int:
        for pk, d, s in zip(keys, datas, sigs, strict=True):
            signing.verify(pk, d, s)
        return len(datas)

    def many() -> int:
        assert signing.verify_many(keys, datas, sigs).all()
        return len(datas)

    def append() -> int:
        cr = merkle.CompactRange()
        for body, pk, s in zip(bodies, keys, sigs, strict=True):
            data = canonical.entry_bytes("observation", body)
            signing.verify(pk, data, s)
            cr.append(merkle.leaf_hash(data))
        return len(bodies)

    def canon_only() -> int:
        for body in bodies:
            canonical.entry_bytes("observation", body)
        return len(bodies)

    # Interleaved rounds, best of each: this machine is noisy and shared.
    fns = (raw, rule, many, append, canon_only)
    best = [0.0] * len(fns)
    for _ in range(3):
        for k, f in enumerate(fns):
            best[k] = max(best[k], _rate(f, 0.7))
    r_raw, r_rule, r_many, r_append, r_canon = best
    rows.append(
        ("(a) raw Ed25519 verify, PyNaCl `crypto_sign_open` (baseline)", f"{r_raw:,.0f} /s", "1.00")
    )
    rows.append(
        (
            "`signing.verify` (truceline rule: canonical, small-order, S<L checks)",
            f"{r_rule:,.0f} /s",
            f"{r_rule / r_raw:.2f}",
        )
    )
    rows.append(
        ("`signing.verify_many` (2,000 per call)", f"{r_many:,.0f} /s", f"{r_many / r_raw:.2f}")
    )
    rows.append(
        (
            "canonical entry bytes alone (9-field observation)",
            f"{r_canon:,.0f} /s",
            f"{r_canon / r_raw:.2f}",
        )
    )
    rows.append(
        (
            "(b) append: canonical bytes + verify + leaf hash + tree append",
            f"{r_append:,.0f} /s",
            f"{r_append / r_raw:.2f}",
        )
    )
    return r_raw


def _time_per(fn: Callable[[int], object], n: int) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        fn(i)
    return (time.perf_counter() - t0) / n * 1e6


def bench_proofs(rows: list[tuple[str, str, str]], size: int) -> None:
    t0 = time.perf_counter()
    leaf = b"".join([sha256(i.to_bytes(8, "big")).digest() for i in range(size)])
    leaves = np.frombuffer(leaf, dtype=np.uint8).reshape(-1, 32)
    t_leaves = time.perf_counter() - t0
    t0 = time.perf_counter()
    levels = merkle.HashLevels.from_leaf_hashes(leaves)
    root = levels.root()
    t_levels = time.perf_counter() - t0
    rows.append((f"build {size:,} leaf hashes (sha256 of index)", f"{t_leaves:.1f} s", ""))
    rows.append(
        (f"build all interior levels ({size - 1:,} node hashes, hashlib)", f"{t_levels:.1f} s", "")
    )

    t0 = time.perf_counter()
    tile_files = {
        tiles.tile_path(lv, ix, w): levels.levels[8 * lv][ix * 256 :][:w].tobytes()
        for lv, ix, w in tiles.tiles_for_size(size)
    }
    rows.append(
        (
            f"cut {len(tile_files):,} hash tiles from the levels",
            f"{time.perf_counter() - t0:.1f} s",
            "",
        )
    )

    rng = random.Random(2)
    n = 2000
    idx = [rng.randrange(size) for _ in range(n)]
    pairs = [tuple(sorted(rng.sample(range(1, size + 1), 2))) for _ in range(n)]
    roots = {m: merkle.range_hash(0, m, levels.get_node) for pair in pairs for m in pair}
    lh = [levels.get_node(0, i) for i in idx]

    warm = tiles.TileReader(tile_files.__getitem__, size)
    for i in idx:  # fill the reader's cache: what a store's tile cache holds in steady state
        merkle.inclusion_proof(i, size, warm.get_node)
    for a, b in pairs:
        merkle.consistency_proof(a, b, warm.get_node)
    incl = [merkle.inclusion_proof(i, size, levels.get_node) for i in idx]
    cons = [merkle.consistency_proof(a, b, levels.get_node) for a, b in pairs]
    us = {
        "inclusion proof, generate (stored levels)": _time_per(
            lambda k: merkle.inclusion_proof(idx[k], size, levels.get_node), n
        ),
        "inclusion proof, generate (hash tiles, cold reader)": _time_per(
            lambda k: merkle.inclusion_proof(
                idx[k], size, tiles.TileReader(tile_files.__getitem__, size).get_node
            ),
            n // 4,
        ),
        "inclusion proof, generate (hash tiles, warm reader)": _time_per(
            lambda k: merkle.inclusion_proof(idx[k], size, warm.get_node), n
        ),
        "inclusion proof, verify": _time_per(
            lambda k: merkle.verify_inclusion(lh[k], idx[k], size, incl[k], root), n
        ),
        "consistency proof, generate (stored levels)": _time_per(
            lambda k: merkle.consistency_proof(*pairs[k], levels.get_node), n
        ),
        "consistency proof, generate (hash tiles, cold reader)": _time_per(
            lambda k: merkle.consistency_proof(
                *pairs[k], tiles.TileReader(tile_files.__getitem__, size).get_node
            ),
            n // 4,
        ),
        "consistency proof, generate (hash tiles, warm reader)": _time_per(
            lambda k: merkle.consistency_proof(*pairs[k], warm.get_node), n
        ),
        "consistency proof, verify": _time_per(
            lambda k: merkle.verify_consistency(
                *pairs[k], cons[k], roots[pairs[k][0]], roots[pairs[k][1]]
            ),
            n,
        ),
    }
    for name, v in us.items():
        rows.append((f"(c) {name}, {size:,} entries", f"{v:,.1f} µs", ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=10_000_000)
    args = ap.parse_args()
    rows: list[tuple[str, str, str]] = []
    t0 = time.perf_counter()
    bench_signatures(rows)
    bench_proofs(rows, args.size)
    head = (
        f"Record core benchmark — {platform.python_implementation()} {platform.python_version()},"
        f" PyNaCl {nacl.__version__}, numpy {np.__version__}, {platform.machine()},"
        f" total {time.perf_counter() - t0:.0f} s\n\n"
    )
    table = "| measurement | result | ratio to (a) |\n|---|---:|---:|\n" + "".join(
        f"| {a} | {b} | {c} |\n" for a, b, c in rows
    )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(head + table, encoding="utf-8")
    print(head + table)


if __name__ == "__main__":
    main()
