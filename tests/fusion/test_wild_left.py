"""A wild bearing a fit with few spare rows keeps (core/fusion/wild_left.py)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.fusion.synth import Reports, bearing_report, posts_around, true_xy
from truceline.core.fusion.batch import GroupingParams, candidates
from truceline.core.fusion.dispersion import stated_factor
from truceline.core.fusion.locate import CHI2_95_2DOF, LocateParams, locate
from truceline.core.fusion.wild_left import spoil_chance

pytestmark = pytest.mark.filterwarnings("error")


def _four_posts(n: int, seed: int, rate: float) -> tuple[Reports, list, np.ndarray]:
    """``n`` shots, each seen by four posts (two spare bearings); each bearing stated at 2°,
    off by 2° (1 sigma), or wild with probability ``rate``: off by 40° (1 sigma)."""
    rng = np.random.default_rng(seed)
    r = Reports()
    targets, wild = [], []
    for e in range(n):
        target = (rng.uniform(36.5, 38.5), rng.uniform(47.5, 49.0))
        targets.append(target)
        k = 0
        for j, post in enumerate(posts_around(target, 4, rng)):
            is_wild = bool(rng.random() < rate)
            k += is_wild
            bearing_report(r, e, post, target, e * 7200.0, 2.0, rng, source=f"p{e}-{j}",
                           error_deg=float(rng.normal(0.0, 40.0 if is_wild else 2.0)))
        wild.append(k)
    return r, targets, np.asarray(wild)


def test_a_fit_with_two_spare_bearings_states_the_chance_it_kept_a_wild_one() -> None:
    """Four bearings, 5 % of them wild (40°): the fit finds a wild bearing only where its
    standardised residual shows it, and with two spare rows a bearing's redundancy is ~0.5,
    so the smallest error it finds is ~5 sds (10°); smaller ones stay and can move the fix
    beyond its ellipse. Stated without that chance the ellipses covered the truth for 0.934
    of 4,000 shots; stated with it (at the rate the fits reject), 0.943, and the fixes with
    no wild bearing are not grown past 0.98 (0.963 → 0.970)."""
    inside, clean = [], []
    for seed in (1, 2):
        r, targets, wild = _four_posts(2000, 100 * seed + 4, 0.05)
        b = r.batch()
        labels = np.asarray(r.event, np.int64)
        p = LocateParams(wild_bearing_rate=0.05)
        fx = locate(b, labels, candidates(b, GroupingParams()), p)
        assert fx.located.all()
        sf = stated_factor(b, labels, fx, p)
        d = true_xy(targets) - np.column_stack([fx.x, fx.y])
        m2 = np.einsum("gi,gij,gj->g", d, np.linalg.inv(fx.cov), d) / (sf * fx.widen)
        inside.append(m2 <= CHI2_95_2DOF)
        clean.append((m2 <= CHI2_95_2DOF)[wild == 0])
    assert 0.94 <= np.mean(np.concatenate(inside)) <= 0.97
    assert np.mean(np.concatenate(clean)) <= 0.98


def test_the_window_of_kept_and_spoiling_errors_closes_with_the_spare_rows() -> None:
    """No spare row (``r = 0``): every wild error the ellipse cannot hold counts; a row the
    others pin (``r = 1``, no leverage) spoils nothing; and a wider ellipse holds more of the
    kept errors."""
    kappa = np.full(4, 20.0)
    u = spoil_chance(np.array([0.0, 0.25, 0.5, 1.0]), np.array([1.0, 0.75, 0.5, 0.0]),
                     kappa, 3.5)
    assert u[0] == pytest.approx(2.0 * (1.0 - 0.5487), abs=1e-3)  # P(|e| > 2.45 sds)
    assert u[0] > u[1] > u[2] > u[3] == 0.0
    wider = spoil_chance(np.array([0.0, 0.25, 0.5]), np.array([1.0, 0.75, 0.5]), kappa[:3],
                         3.5, 2.0)
    assert (wider < u[:3]).all()
