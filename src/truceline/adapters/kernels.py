"""Fusion's compiled kernels, made in a process apart when none is cached.

numba compiles fusion's kernels at their first call and caches the machine code beside their
source; every later process loads it. A process that compiles them keeps what compiling
made (LLVM's modules, numba's typing and lowering objects) to its end: ~0.16-0.22 GB more
than a process that loaded them, so a first check of a month (a fresh install, or after an
upgrade) peaked over the 1 GB bound that later checks keep (907k reports: 1,092 against
934 MiB; BENCHMARKS.md, session 30). :func:`compiled_apart` has a short-lived process
compile and cache them first, by checking two simulated days in a store of its own (what a
check runs, with the types a check gives), and the check then loads them as any later one.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["cached_kernels", "compile_kernels", "compiled_apart", "uncached_kernels"]


def _kernels() -> Iterator[Any]:
    """Fusion's numba kernels that cache their code (fusion's modules imported)."""
    import importlib
    import pkgutil

    from numba.core.dispatcher import Dispatcher

    import truceline.core.fusion as fusion

    seen: set[int] = set()
    for mod in pkgutil.iter_modules(fusion.__path__, fusion.__name__ + "."):
        for obj in vars(importlib.import_module(mod.name)).values():
            if isinstance(obj, Dispatcher) and id(obj) not in seen \
                    and type(getattr(obj, "_cache", None)).__name__ == "FunctionCache":
                seen.add(id(obj))  # (a module's imported kernels are another's)
                yield obj


def _cached(kernel: Any) -> bool:
    # numba's own index read: empty when absent, of another numba, or of an older source
    return bool(kernel._cache._cache_file._load_index())


def cached_kernels() -> tuple[int, int]:
    """How many of fusion's caching kernels have code cached for their current source, and
    how many there are (a check runs about two thirds of them)."""
    found = list(_kernels())
    return sum(_cached(k) for k in found), len(found)


def uncached_kernels() -> list[str]:
    """``module.name`` of each of fusion's caching kernels with no code cached."""
    return sorted(f"{k.py_func.__module__}.{k.py_func.__name__}"
                  for k in _kernels() if not _cached(k))


def compile_kernels(days: int = 2, scale: float = 1.0) -> None:
    """Check ``days`` simulated days of the shipped ceasefire in a temporary store, so numba
    compiles and caches every kernel such a check calls."""
    from truceline.adapters.agreement_files import load_agreement_file
    from truceline.adapters.importers import read_records
    from truceline.adapters.simulate_files import write_simulation
    from truceline.adapters.store import open_store
    from truceline.core.fusion import report_pairs
    from truceline.services.check import run_check
    from truceline.services.ingest import ingest
    from truceline.services.record import initialize_store

    # grouping sweeps the reports' pairs on a thread of its own only from a month's sizes up
    # (the same labels either way): take that path on these two days too, so that a month's
    # first check finds its kernels cached as well
    min_reports, report_pairs.MIN_REPORTS = report_pairs.MIN_REPORTS, 0
    try:
        with tempfile.TemporaryDirectory(prefix="truceline-kernels-") as tmp:
            write_simulation("march2025", tmp, days=days, seed=1, scale=scale)
            store = open_store(str(Path(tmp) / "kernels.db"), create=True)
            try:
                initialize_store(store, load_agreement_file("march2025")[1])
                ingest(store, read_records(str(Path(tmp) / "observations.jsonl")),
                       on_invalid="skip")
                run_check(store)
            finally:
                store.close()
    finally:
        report_pairs.MIN_REPORTS = min_reports


def compiled_apart() -> bool:
    """Where no kernel of fusion has its code cached, compile them in a child process (see
    the module) and wait for it; whether it compiled them. Where some are cached, those
    missing are compiled where they are first called, as numba does; where the child fails,
    every kernel is (the check's result is the same either way, only its peak is not)."""
    if cached_kernels()[0]:
        return False
    return subprocess.run([sys.executable, "-m", __name__], check=False).returncode == 0


if __name__ == "__main__":
    compile_kernels()
