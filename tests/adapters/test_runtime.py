"""The batch runtime setting: freed memory stays in the process, so the next batch's arrays do
not fault in again; a bad value is one clear error line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from truceline.adapters.runtime import retain_freed_memory

# allocate and free ~60 MB in blocks of several sizes (as a batch's arrays are), twice, and
# print the page faults of the second round
_WORKLOAD = """
import resource, sys
import numpy as np
from truceline.adapters.runtime import retain_freed_memory
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
