"""`truceline check` in this process with its resident memory sampled every 20 ms and marked
at each stage's start and end (``>name``/``<name``): where a check's peak is (issue 21).

A measurement aid: it wraps the stages' functions in their modules (nothing else changes)
and runs the CLI's own entry point (so the allocator settings are the command's).

    python bench/check_stages.py check --db copy-of-unchecked.db
"""

from __future__ import annotations

import os
import resource
import threading
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import truceline.core.fusion.pipeline as pipeline
import truceline.core.fusion.to_incidents as to_incidents
import truceline.services.check as check
import truceline.services.guarantees as guarantees
from truceline.adapters.cli.main import main

PAGE = os.sysconf("SC_PAGE_SIZE")
_peak = [0]
_t0 = time.process_time()


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def _sample() -> None:
    while True:
        _peak[0] = max(_peak[0], _rss())
        time.sleep(0.02)


def _mark(name: str) -> None:
    r = _rss()
    _peak[0] = max(_peak[0], r)
    print(f"{time.process_time() - _t0:8.1f} s CPU  {name:<26} RSS {r / 2**20:7.0f} MB  "
          f"peak so far {_peak[0] / 2**20:7.0f} MB", flush=True)


def _wrap(mod: ModuleType, name: str) -> None:
    f: Callable[..., Any] = getattr(mod, name)

    def marked(*a: Any, **k: Any) -> Any:
        _mark(">" + name)
        out = f(*a, **k)
        _mark("<" + name)
        return out

    setattr(mod, name, marked)


STAGES = [(check, "store_input"), (check, "gather"), (check, "check"),
          (check, "_write_incidents"), (check, "_write_findings"),
          (to_incidents, "batch_from_columns"), (to_incidents, "fuse_batch"),
          (to_incidents, "incidents_from"), (pipeline, "group"),
          (pipeline, "_locate_attribute"), (pipeline, "_join_heard"),
          (pipeline, "_pair_arcs"), (pipeline, "calibrate"), (guarantees, "notify")]

if __name__ == "__main__":
    threading.Thread(target=_sample, daemon=True).start()
    for mod, name in STAGES:
        _wrap(mod, name)
    try:
        main()
    finally:
        _mark("end")
        ru = resource.getrusage(resource.RUSAGE_SELF)
        print(f"user {ru.ru_utime:.1f} s, sys {ru.ru_stime:.1f} s, "
              f"max RSS {ru.ru_maxrss / 1024:.0f} MB", flush=True)
