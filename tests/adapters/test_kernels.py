"""A first check's kernels are compiled in a process apart, and only where none is cached."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

PROBE = """
import json
from truceline.adapters.kernels import cached_kernels, compiled_apart, uncached_kernels
before = cached_kernels()
ran = compiled_apart()
print(json.dumps([before, ran, cached_kernels(), compiled_apart(), uncached_kernels()]))
"""


def test_an_empty_cache_is_filled_by_a_child_and_then_used(tmp_path: Path) -> None:
    # a cache of its own: numba's cache of the source tree is shared with the other tests
    # two threads: a month's check sweeps the reports' pairs on a thread of its own
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba"), "NUMBA_NUM_THREADS": "2"}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, check=True,
                         capture_output=True, text=True).stdout
    (cached0, total), ran, (cached1, total1), again, missing = json.loads(out.splitlines()[-1])
    assert total == total1 > 0
    assert cached0 == 0 and ran is True  # nothing cached: compiled apart
    assert 0 < cached1 <= total  # what a check runs, compiled and cached by the child
    assert again is False  # cached: the check loads them itself
    # the two-thread sweep a month's check takes is cached too (it was compiled inside the
    # month's first check, the days the child checks being too few to take it)
    assert not [k for k in missing if ".report_pairs." in k]
