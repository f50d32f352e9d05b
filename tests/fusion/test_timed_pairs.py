"""Pairing timed fixes from candidates near in space and time gives the pairs of one run over
all pairs near in the plane."""

from __future__ import annotations

import numpy as np
import pytest

from truceline.core.fusion.link import LinkParams, pair_by_arrival_order
from truceline.core.fusion.timed_pairs import pair_by_arrival_order_near


def _month(seed: int, shots: int = 600, noise: int = 300, days: float = 30.0):
    """Timed fixes of a month along a 300 km line (y = 0): launches on one side, bursts on
    the other a flight time later (mortar to MLRS speeds), some of them close together in
    space and time (barrages), and lone fixes of either role anywhere."""
    rng = np.random.default_rng(seed)
    t_launch = np.sort(rng.uniform(0, days * 86_400.0, shots))
    # barrages: a fifth of the shots within a minute and 2 km of the one before
    bar = rng.random(shots) < 0.2
    x0 = rng.uniform(0, 300_000.0, shots)
    for k in np.flatnonzero(bar[1:]) + 1:
        t_launch[k] = t_launch[k - 1] + rng.uniform(2.0, 60.0)
        x0[k] = x0[k - 1] + rng.normal(0, 2_000.0)
    y0 = -rng.uniform(1_000.0, 10_000.0, shots)
    d = rng.uniform(3_000.0, 40_000.0, shots)
    ang = rng.uniform(-0.6, 0.6, shots)
    x1, y1 = x0 + d * np.sin(ang), y0 + d * np.cos(ang)
    v = rng.choice([150.0, 350.0, 550.0], shots) * rng.uniform(0.6, 1.6, shots)
    t_burst = t_launch + d / v
    xn, yn = rng.uniform(0, 300_000.0, noise), rng.uniform(-30_000.0, 30_000.0, noise)
    tn = rng.uniform(0, days * 86_400.0, noise)
    x = np.concatenate([x0, x1, xn])
    y = np.concatenate([y0, y1, yn])
    t0 = np.concatenate([t_launch, t_burst, tn])
    n = len(x)
    sig = rng.uniform(50.0, 800.0, n)
    cov = np.zeros((n, 2, 2))
    cov[:, 0, 0] = cov[:, 1, 1] = sig**2 / 2
    wide = rng.random(n) < 0.05  # a few near the widest a pair may be (5 km RMS)
    sig[wide] = rng.uniform(4_000.0, 4_900.0, int(wide.sum()))
    cov[:, 0, 0] = cov[:, 1, 1] = sig**2 / 2
    cov[rng.random(n) < 0.02] *= 1e4  # a few too uncertain to pair
    t_sd = rng.uniform(0.2, 2.0, n)
    t_sd[rng.random(n) < 0.03] = 9.0  # a few not timed well enough
    side = np.where(y < 0, 0, 1).astype(np.int64)
    side[rng.random(n) < 0.05] = -1
    can_o = rng.random(n) > 0.1
    can_i = rng.random(n) > 0.1
    perm = rng.permutation(n)  # fusion lists groups in no time order
    return (x[perm], y[perm], cov[perm], t0[perm], t_sd[perm], can_o[perm], can_i[perm],
            side[perm])


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("days", [30.0, 1.0])
def test_space_time_candidates_pair_as_one_run(seed: int, days: float) -> None:
    """A month, and the same shots in one day (dense: every fix is within a chain of
    neighbours of every other, as on a month of a 20x line)."""
    args = _month(seed, days=days)
    o, i = pair_by_arrival_order(*args, LinkParams())
    s = np.argsort(o, kind="stable")
    po, pi = pair_by_arrival_order_near(*args, LinkParams())
    assert len(o) > 50  # the shots have pairs to find, and ambiguities that leave some out
    assert po.tolist() == o[s].tolist() and pi.tolist() == i[s].tolist()


def test_few_fixes() -> None:
    args = _month(4, shots=1, noise=0)
    assert [a.tolist() for a in pair_by_arrival_order_near(*args)] == \
        [np.sort(a).tolist() for a in pair_by_arrival_order(*args)]
    none = tuple(a[:0] for a in args)
    assert [len(a) for a in pair_by_arrival_order_near(*none)] == [0, 0]
