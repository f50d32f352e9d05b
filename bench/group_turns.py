"""Grouping under two versions of the code: the same labels, and the time each takes.

``labels`` writes the labels of ``group`` on the fusion bench's data (the 200k slice of the
seed-1 week of 1M, and the weeks of 1M/seed 1, 200k/1, 50k/2, 10k/3) as one ``.npz``; run it
under each ``PYTHONPATH`` and ``--compare`` the files: element by element. ``time`` runs one
turn on the 200k slice (``calls`` calls at numba's threads and as many at one thread,
alternating) and prints one JSON line: best wall time and best CPU time
(``time.process_time``) of each, the 1-minute load before and after. Take turns ABBA:

    for c in /tmp/base/src src src /tmp/base/src; do
        PYTHONPATH=$c nice -n 10 python bench/group_turns.py time --calls 10; done
    PYTHONPATH=/tmp/base/src python bench/group_turns.py labels --out a.npz
    PYTHONPATH=src python bench/group_turns.py labels --out b.npz --compare a.npz
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numba
import numpy as np

from bench_fusion import simulate
from truceline.adapters.agreement_files import load_agreement_file
from truceline.core.fusion import FireBatch, FusionParams
from truceline.core.fusion.grouping import group
from truceline.services.context import context_for_doc
from truceline.services.memory import retain_freed_memory
from truceline.settings import Settings

WEEKS = ((1_000_000, 1), (200_000, 1), (50_000, 2), (10_000, 3))


def _batches(weeks: tuple[tuple[int, int], ...]):  # type: ignore[no-untyped-def]
    """``(name, batch)`` of each week, the 200k slice after the 1M week (as the bench)."""
    params = FusionParams()
    ag, doc = load_agreement_file("march2025")
    geom = context_for_doc(doc).geometry
    epoch = np.datetime64(ag.entry_into_force_at.replace(tzinfo=None), "s")
    for size, seed in weeks:
        cols, _, _ = simulate(size, seed, geom)
        b = FireBatch.from_columns(cols, geom.projection, epoch, params.grouping)
        if size == 1_000_000 and seed == 1:
            yield "slice200k", b.take(np.arange(200_000))
        yield f"week{size}s{seed}", b


def labels(out: str, compare: str | None) -> int:
    gp = FusionParams().grouping
    got = {name: group(b, gp) for name, b in _batches(WEEKS)}
    np.savez(out, **got)
    if compare is None:
        return 0
    want = np.load(compare)
    bad = 0
    for name, lab in got.items():
        same = name in want and np.array_equal(want[name], lab)
        bad += not same
        print(name, len(lab), "identical" if same else "DIFFERENT")
    return 1 if bad else 0


def turn(calls: int) -> None:
    gp = FusionParams().grouping
    _, bs = next(_batches(WEEKS[:1]))
    retain_freed_memory(Settings().retain_memory_mb)  # as the CLI and the bench run
    group(bs, gp)  # compiled or loaded from the cache
    threads = numba.get_num_threads()
    best = {threads: [np.inf, np.inf], 1: [np.inf, np.inf]}
    load0 = os.getloadavg()[0]
    for _ in range(calls):
        for k in (threads, 1):
            numba.set_num_threads(k)
            t0, c0 = time.perf_counter(), time.process_time()
            group(bs, gp)
            w, c = time.perf_counter() - t0, time.process_time() - c0
            best[k] = [min(best[k][0], w), min(best[k][1], c)]
    numba.set_num_threads(threads)
    print(json.dumps({"code": os.environ.get("PYTHONPATH", ""), "threads": threads,
                      "load": [round(load0, 1), round(os.getloadavg()[0], 1)],
                      "wall": round(best[threads][0], 4), "cpu": round(best[threads][1], 4),
                      "wall_1": round(best[1][0], 4), "cpu_1": round(best[1][1], 4)}))


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    lab = sub.add_parser("labels")
    lab.add_argument("--out", required=True)
    lab.add_argument("--compare")
    tm = sub.add_parser("time")
    tm.add_argument("--calls", type=int, default=10)
    a = ap.parse_args()
    if a.cmd == "labels":
        sys.exit(labels(a.out, a.compare))
    turn(a.calls)


if __name__ == "__main__":
    main()
