"""Where a grouping call's CPU goes: each stage's thread CPU, the caller's before the fork, from
the fork to the join and after it, and the reports' thread's, on the fusion bench's 200k slice.

Wraps the stages grouping calls from Python (their module's name, looked up at each call) to
add up ``time.thread_time`` inside them, in a warm process, ``calls`` calls, and prints one
JSON line: best / median ms of each stage, the process's and the caller's CPU, a hash of the
labels, the 1-minute load. A stage called from compiled code cannot be wrapped. Run it under
each ``PYTHONPATH`` in turns (ABBA); numba's cache keeps a caller's old compiled code of
another file, so time each version from its own ``git archive`` (BENCHMARKS.md, session 26):

    PYTHONPATH=/tmp/base/src python bench/group_stages.py --calls 20 --tag base
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from group_turns import WEEKS, _batches
from truceline.core.fusion import FusionParams, arrival_groups, grouping, kernels, report_pairs
from truceline.core.fusion.batch import FireBatch
from truceline.services.memory import retain_freed_memory
from truceline.settings import Settings

_ACC: dict[str, float] = {}
_MARKS: dict[str, float] = {}


def _timed(key: str, f: Callable[..., Any]) -> Callable[..., Any]:
    def run(*a: Any, **k: Any) -> Any:
        t0 = time.thread_time()
        try:
            return f(*a, **k)
        finally:
            _ACC[key] = _ACC.get(key, 0.0) + time.thread_time() - t0
    return run


def _report_index() -> Any:
    """The module of the reports' index and cross pairs, where it is one (split off
    report_pairs in session 26, helper hE2), else report_pairs (nothing to wrap)."""
    try:
        from truceline.core.fusion import report_index
    except ImportError:
        return report_pairs
    return report_index


def _wrap() -> None:
    for mod, names in ((grouping, ("candidates", "_arrival_units", "split_mixed", "same_sound",
                                   "join_far", "reaches", "_units_of_reports")),
                       (arrival_groups, ("measurement_rows", "near_pairs", "max_at")),
                       (report_pairs, ("finish", "_cross_all", "_sweep_all", "_join")),
                       (_report_index(), ("cross_all",)),
                       (kernels, ("sweep", "components", "dense_labels", "first_seen"))):
        for name in names:
            if hasattr(mod, name):
                setattr(mod, name, _timed(f"{mod.__name__.rsplit('.', 1)[-1]}.{name}",
                                          getattr(mod, name)))
    grouping.locate = _timed("grouping.locate (the second fit)", grouping.locate)
    arrival_groups.locate = _timed("split_mixed.locate", arrival_groups.locate)
    report_pairs._reports_ahead = _timed("THREAD _reports_ahead", report_pairs._reports_ahead)
    split_small = kernels.split_small

    def split(F: Any, role: Any, src: Any, mode: int, *a: Any) -> Any:
        return _timed(f"kernels.split_small mode {mode}", split_small)(F, role, src, mode, *a)
    kernels.split_small = split
    FireBatch.take = _timed("FireBatch.take", FireBatch.take)  # type: ignore[method-assign]
    start, result = report_pairs.start, report_pairs.Ahead.result

    def fork(*a: Any, **k: Any) -> Any:
        _MARKS["fork"] = time.thread_time()
        return start(*a, **k)

    def join(self: Any) -> Any:
        _MARKS.setdefault("join", time.thread_time())
        return result(self)
    report_pairs.start = fork
    report_pairs.Ahead.result = join  # type: ignore[method-assign]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=20)
    ap.add_argument("--tag", default="")
    a = ap.parse_args()
    _, b = next(_batches(WEEKS[:1]))
    gp = FusionParams().grouping
    _wrap()
    retain_freed_memory(Settings().retain_memory_mb)  # as the CLI and the bench run
    lab = grouping.group(b, gp)  # compiled or loaded from the cache
    got: dict[str, list[float]] = {}
    for _ in range(a.calls):
        _ACC.clear()
        _MARKS.clear()
        c0, t0 = time.process_time(), time.thread_time()
        grouping.group(b, gp)
        c1, t1 = time.process_time(), time.thread_time()
        _ACC["process"], _ACC["caller"] = c1 - c0, t1 - t0
        if "join" in _MARKS:
            _ACC["caller before the fork"] = _MARKS["fork"] - t0
            _ACC["caller fork to join"] = _MARKS["join"] - _MARKS["fork"]
            _ACC["caller after the join"] = t1 - _MARKS["join"]
        for k, v in _ACC.items():
            got.setdefault(k, []).append(1e3 * v)
    out: dict[str, Any] = {"tag": a.tag, "load": round(os.getloadavg()[0], 1),
                           "labels": hashlib.sha256(np.ascontiguousarray(lab, np.int64)
                                                    .tobytes()).hexdigest()[:16]}
    out.update({k: f"{min(v):.1f} / {float(np.median(v)):.1f}" for k, v in sorted(got.items())})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
