"""How numba's OpenMP threads wait: fusion asks for a passive wait before the OpenMP runtime
starts (so the runtime takes it), and an explicit setting in the environment wins."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = """
import ctypes, os
import numpy as np
from tests.fusion.synth import Reports, bearing_report, posts_around
from truceline.core.fusion.grouping import group

def gomp_loaded():
    return any("libgomp" in line for line in open("/proc/self/maps"))

print("policy", os.environ.get("OMP_WAIT_POLICY"))
print("loaded before", gomp_loaded())
rng = np.random.default_rng(3)
r = Reports()
for e in range(40):
    target = (37.0 + rng.uniform(0, 0.5), 48.0 + rng.uniform(0, 0.3))
    for k, post in enumerate(posts_around(target, 3, rng)):
        bearing_report(r, e, post, target, rng.uniform(0, 7_200), 3.0, rng,
                       source=f"e{e}m{k}", band=(2_000, 10_000))
group(r.batch())
import numba
print("layer", numba.threading_layer())
print("loaded after", gomp_loaded())
ctypes.CDLL("libgomp.so.1").omp_display_env(0)  # the runtime's own settings, on stderr
"""


def _run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True,
                          timeout=300, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    return {**env, "NUMBA_THREADING_LAYER": "omp", "NUMBA_NUM_THREADS": "2", **extra}


def _omp_available() -> bool:
    try:
        from numba.np.ufunc import omppool  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.skipif(not _omp_available(), reason="numba's OpenMP layer is not installed here")
def test_fusion_asks_for_a_passive_wait_before_the_runtime_starts() -> None:
    done = _run(_env())
    out = done.stdout.splitlines()
    assert "policy PASSIVE" in out
    assert "loaded before False" in out  # set before libgomp read its environment
    assert "layer omp" in out and "loaded after True" in out
    assert "OMP_WAIT_POLICY = 'PASSIVE'" in done.stderr  # and the runtime took it


@pytest.mark.skipif(not _omp_available(), reason="numba's OpenMP layer is not installed here")
def test_an_explicit_wait_policy_is_kept() -> None:
    done = _run(_env(OMP_WAIT_POLICY="ACTIVE"))
    assert "policy ACTIVE" in done.stdout.splitlines()
    assert "OMP_WAIT_POLICY = 'ACTIVE'" in done.stderr
