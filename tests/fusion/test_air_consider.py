"""The compiled 3x3 solves of the air's covariance (:func:`.locate_kernels.consider`,
``compiled``) against numpy's stacked ``det``, ``solve`` and ``matmul`` they stand in for
in grouping's arrival fits: the same numbers to a few ulps, the same groups left at zero.
(An exactly singular ``A`` may differ: LAPACK's rounding can leave its determinant a hair
above 0 and solve it to ~1e37; either way ``_marginal_xy`` makes that covariance NaN.)"""

from __future__ import annotations

import dataclasses

import numpy as np

from tests.fusion.synth import Reports, arrival_report, offset
from truceline.core.fusion import locate_kernels as lk
from truceline.core.fusion.arrival_groups import arrival_fit_params
from truceline.core.fusion.batch import GroupingParams, candidates
from truceline.core.fusion.locate import locate


def test_air_consider_is_numpys_solve_to_a_few_ulps():
    rng = np.random.default_rng(5)
    G = 2_000
    J = rng.normal(0, 1, (G, 6, 3)) * np.array([1e-2, 1e-2, 1e2])  # metres and seconds
    A = np.einsum("gki,gkj->gij", J, J)
    A[:, 2, :] *= rng.uniform(0.5, 2.0, (G, 1))  # not symmetric either: the solve must pivot
    B = rng.normal(0, 1, (G, 3, 3)) * 1e-3
    s_c, s_w = rng.uniform(0, 1e-4, G), rng.uniform(0, 16, G)
    use = rng.random(G) < 0.9
    A[0] = 0.0  # singular: no solve, as numpy's det says
    A[2, 0, 0] = np.nan  # NaN: numpy's det is NaN, not above 0
    got = lk.consider(A, B, s_c, s_w, use, compiled=True)
    want = lk.consider(A, B, s_c, s_w, use, compiled=False)  # numpy's (LAPACK's) path
    assert np.array_equal(got == 0.0, want == 0.0)
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=0.0)
    assert (got[0] == 0.0).all() and (got[2] == 0.0).all() and not (got[use][3:] == 0.0).all()


def _bangs() -> Reports:
    """Two arrays 14 km apart hear ten bangs between them a minute apart, under a wind one
    sensor of each reports (so both the given and the unknown wind's shares count)."""
    rng = np.random.default_rng(3)
    r = Reports()
    a = (38.28, 48.79)
    b = offset(*a, 290.0, 14_000.0)
    for e in range(10):
        bang = offset(*a, 290.0 + rng.uniform(-20, 20), rng.uniform(4_000, 10_000))
        for k, (c, az) in enumerate(((a, 0.0), (a, 120.0), (a, 240.0), (b, 60.0), (b, 240.0))):
            arrival_report(r, e, offset(*c, az, 900.0), bang, 1_000.0 + 60.0 * e, 0.01, rng,
                           source=f"s{k}")
    return r


def test_grouping_fits_with_the_compiled_air_state_numpys_covariances():
    """The arrival fits grouping gates on: every fix, flag and covariance as with numpy's
    path, the covariances to a few ulps."""
    b = _bangs().batch()
    p = GroupingParams()
    lab = np.arange(len(b)) // 5
    cd = candidates(b, p)
    fast = arrival_fit_params(p)
    assert fast.compiled_air
    got = locate(b, lab, cd, fast)
    want = locate(b, lab, cd, dataclasses.replace(fast, compiled_air=False))
    for name in ("x", "y", "t0", "located", "rms"):
        assert np.array_equal(getattr(got, name), getattr(want, name), equal_nan=True)
    assert got.located.all()
    np.testing.assert_allclose(got.cov, want.cov, rtol=1e-11, atol=0.0)
