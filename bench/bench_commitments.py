"""Benchmark what committed entries cost: ingest and verify with and without commitments.

In one run, on the same observations, alternating rounds:

(a) baseline: ingest into the SQLite store with entries stored as they come (the store before
    commitments: ``commit_entry`` replaced by the identity), then ``verify_record``;
(b) the store as it is: each entry committed field by field on append (salted SHA-256), its
    openings written in the same transaction, and ``verify_record`` opening every entry;
(c) the core alone: ``commit_entry`` on canonical observation entries, no storage.

Writes bench/results/commitments.md.
    python bench/bench_commitments.py [--n 5000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.record_service.conftest import new_store, synthetic  # noqa: E402

import truceline.adapters.store.openings as store_openings  # noqa: E402
from truceline.core.observations import parse_observation  # noqa: E402
from truceline.core.record.canonical import entry_bytes  # noqa: E402
from truceline.core.record.commit import commit_entry  # noqa: E402
from truceline.services.ingest import ingest  # noqa: E402
from truceline.services.verify import verify_record  # noqa: E402

OUT = ROOT / "bench" / "results" / "commitments.md"


def _round(rows: list[dict], committed: bool) -> tuple[float, float, int]:
    store_openings.commit_entry = commit_entry if committed else (lambda data, salt: (data, {}))
    try:
        with tempfile.TemporaryDirectory() as d:
            store = new_store(Path(d) / "b.db")
            t = time.perf_counter()
            ingest(store, list(enumerate(rows, 1)))
            t_ingest = time.perf_counter() - t
            t = time.perf_counter()
            assert verify_record(store).ok
            t_verify = time.perf_counter() - t
            store.close()
            size = os.path.getsize(Path(d) / "b.db")
    finally:
        store_openings.commit_entry = commit_entry
    return t_ingest, t_verify, size


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    rows = synthetic(args.n)
    runs: dict[bool, list[tuple[float, float, int]]] = {False: [], True: []}
    for _ in range(args.rounds):
        for committed in (False, True):
            runs[committed].append(_round(rows, committed))
    entries = [entry_bytes("observation", parse_observation(r).to_record()) for r in rows]
    core = []
    for _ in range(args.rounds):
        t = time.perf_counter()
        for e in entries:
            commit_entry(e, lambda: os.urandom(32))
        core.append((time.perf_counter() - t) / len(entries))
    fields = len(commit_entry(entries[0], lambda: os.urandom(32))[1])

    def best(c: bool, k: int) -> float:
        return min(r[k] for r in runs[c])

    n = args.n
    lines = [
        f"Commitments benchmark — CPython {platform.python_version()}, SQLite "
        f"{sqlite3.sqlite_version}, {platform.machine()}, {n:,} synthetic observations, "
        f"best of {args.rounds} alternating rounds",
        "",
        "| measurement | baseline (a) | committed (b) | ratio (b)/(a) |",
        "|---|---:|---:|---:|",
        f"| ingest, s | {best(False, 0):.2f} | {best(True, 0):.2f} | "
        f"{best(True, 0) / best(False, 0):.2f} |",
        f"| ingest, entries/s | {n / best(False, 0):,.0f} | {n / best(True, 0):,.0f} | |",
        f"| verify_record, s | {best(False, 1):.2f} | {best(True, 1):.2f} | "
        f"{best(True, 1) / best(False, 1):.2f} |",
        f"| database size, MB | {runs[False][0][2] / 1e6:.1f} | {runs[True][0][2] / 1e6:.1f} | "
        f"{runs[True][0][2] / runs[False][0][2]:.2f} |",
        f"| (c) commit_entry alone, µs per observation entry ({fields} committed fields) | | "
        f"{min(core) * 1e6:.0f} | |",
        "",
        "All rounds (ingest s, verify s): baseline "
        + ", ".join(f"({a:.2f}, {b:.2f})" for a, b, _ in runs[False])
        + "; committed "
        + ", ".join(f"({a:.2f}, {b:.2f})" for a, b, _ in runs[True])
        + ".",
        "",
        "The cost is per committed field (a salt, a canonical value, a SHA-256, an openings row).",
        "An observation opens all at once (its source, or an analyst), so grouping its fields",
        "into one commitment would cut the cost ~16-fold for observations; findings need two",
        "groups (what a reader of the finding opens, and the exact fields). Not done yet.",
    ]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
