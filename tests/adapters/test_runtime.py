"""The batch runtime setting: freed memory stays in the process, so the next batch's arrays do
not fault in again; a bad value is one clear error line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from truceline.services.memory import retain_freed_memory

# allocate and free ~60 MB in blocks of several sizes (as a batch's arrays are), twice, and
# print the page faults of the second round
_WORKLOAD = """
import resource, sys
import numpy as np
from truceline.services.memory import retain_freed_memory
took = retain_freed_memory(int(sys.argv[1]))
def work():
    arrs = [np.ones(n) for n in (3_000_000, 1_500_000, 700_000, 2_200_000, 400_000)]
    total = sum(float(a.sum()) for a in arrs)
    del arrs
    return total
work()
f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
work()
print(took, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
"""


def _faults_on_repeat(limit_mb: int) -> tuple[str, int]:
    out = subprocess.run([sys.executable, "-c", _WORKLOAD, str(limit_mb)], check=True,
                         capture_output=True, text=True).stdout.split()
    return out[0], int(out[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_retained_memory_is_reused_without_faulting() -> None:
    took, faults = _faults_on_repeat(32)
    assert took == "True"
    assert faults < 100
    # the allocator left alone gives the same blocks back to the kernel: they fault again
    took, faults = _faults_on_repeat(0)
    assert took == "False"
    assert faults > 1_000


def test_zero_leaves_the_allocator_alone() -> None:
    assert retain_freed_memory(0) is False


def test_bad_setting_is_one_line_naming_the_variable() -> None:
    env = {**os.environ, "TRUCELINE_RETAIN_MEMORY_MB": "lots"}
    res = subprocess.run([sys.executable, "-m", "truceline", "settings"], env=env,
                         capture_output=True, text=True)
    assert res.returncode == 65
    assert res.stderr.startswith("error: TRUCELINE_RETAIN_MEMORY_MB: ")
    assert "integer" in res.stderr and "Traceback" not in res.stderr


def test_version_and_help_read_no_setting() -> None:
    """They run no command, so they start without the settings (and a bad one is not theirs
    to refuse)."""
    env = {**os.environ, "TRUCELINE_RETAIN_MEMORY_MB": "lots"}
    for args in (["--version"], ["--help"]):
        res = subprocess.run([sys.executable, "-m", "truceline", *args], env=env,
                             capture_output=True, text=True)
        assert res.returncode == 0 and res.stderr == "", res.stderr


# settle(): what is alive leaves the collector's walks; what is made later is still collected
_SETTLE = """
import gc, weakref
from truceline.adapters.runtime import settle
kept = [[i] for i in range(50_000)]
settle()
tracked = {id(o) for o in gc.get_objects()}
class Cycle:
    pass
c = Cycle(); c.me = c; gone = weakref.ref(c); del c
gc.collect()
print(gc.get_freeze_count() >= 50_000, any(id(x) in tracked for x in kept), gone() is None)
"""


def test_settle_takes_live_objects_out_of_later_collections() -> None:
    out = subprocess.run([sys.executable, "-c", _SETTLE], check=True, capture_output=True,
                         text=True).stdout.split()
    # frozen, not walked by a collection, and garbage made after it is still freed
    assert out == ["True", "False", "True"]


# an object in a reference cycle, alive until the interpreter exits, whose finalizer writes
# to a file descriptor; an atexit handler and a file written before the exit
_EXIT = """
import atexit, os, sys
from pathlib import Path
from truceline.adapters.runtime import skip_exit_collection
out = Path(sys.argv[1])
fd = os.open(out / "finalized", os.O_WRONLY | os.O_CREAT)
class Cycle:
    def __del__(self, write=os.write, fd=fd):
        write(fd, b"finalized")
kept = Cycle(); kept.me = kept
atexit.register(lambda: (out / "handler").write_text("ran"))
(out / "report.md").write_text("x" * 1_000_000)
if sys.argv[2] == "skip":
    skip_exit_collection()
"""


@pytest.mark.parametrize("mode", ["skip", "collect"])
def test_exit_without_the_last_collection_still_runs_handlers_and_closes_files(
        mode: str, tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-c", _EXIT, str(tmp_path), mode], check=True)
    assert (tmp_path / "report.md").read_text() == "x" * 1_000_000
    assert (tmp_path / "handler").read_text() == "ran"
    # the exit's collection finalizes the cycle only when it is not skipped
    assert (tmp_path / "finalized").read_bytes() == (b"" if mode == "skip" else b"finalized")


# the report command run as `truceline report`, counting the collector's passes from main() on
_COUNTED = """
import atexit, gc, sys
from truceline.adapters.cli.main import main
runs = []
gc.callbacks.append(lambda phase, info: runs.append(info["generation"]) if phase == "start"
                    else None)
atexit.register(lambda: print("passes", len(runs), gc.isenabled(), file=sys.stderr))
sys.argv = ["truceline", *sys.argv[1:]]
main()
"""


def test_a_report_runs_without_the_collectors_passes(sample_db: Path, tmp_path: Path) -> None:
    """Its start and its work make objects that live to its end or are freed by reference
    counting: the cyclic collector, which walked them again and again, stays off until the
    report is written (and is on again after)."""
    res = subprocess.run([sys.executable, "-c", _COUNTED, "report", "--db", str(sample_db),
                          "--date", "2025-03-21", "--out", str(tmp_path / "day.md")],
                         check=True, capture_output=True, text=True)
    assert (tmp_path / "day.md").exists() and (tmp_path / "day.png").exists()
    assert res.stderr.splitlines()[-1] == "passes 0 True"
