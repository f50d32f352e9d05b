"""A fix a distance band placed, stated about its own point (core/fusion/bands.py)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.fusion import synth
from tests.fusion.synth import Reports, bearing_report, offset, true_xy
from truceline.core.fusion import FusionParams, fuse_batch
from truceline.core.fusion.locate import CHI2_95_2DOF, LocateParams

pytestmark = pytest.mark.filterwarnings("error")

def _facing_posts(n: int = 400, seed: int = 1) -> tuple[Reports, list]:
    """``n`` bursts, each heard by day (6°) from two posts on either side of it that look at
    each other across it (their bearings 160-200° apart), each naming a band: along the line
    between them only the bands place the burst."""
    rng = np.random.default_rng(seed)
    r = Reports()
    targets = []
    for e in range(n):
        target = (rng.uniform(36.5, 38.5), rng.uniform(47.5, 49.0))
        targets.append(target)
        az = rng.uniform(0, 360)
        for j, a in enumerate((az, az + 180.0 + rng.uniform(-20.0, 20.0))):
            dist = rng.uniform(1_000.0, 8_000.0)
            post = offset(*target, a % 360.0, dist)
            bearing_report(r, e, post, target, e * 7200.0, 6.0, rng, source=f"p{e}-{j}",
                           band=synth.judged_band(rng, dist), explosion_type="impact")
    return r, targets


def _coverage(r: Reports, targets: list, band_step: bool) -> float:
    """Share of the shots, fixed from both their reports, whose stated ellipse holds them."""
    res = fuse_batch(r.batch(), None, FusionParams(locate=LocateParams(band_step=band_step)))
    g = res.labels.reshape(len(targets), 2)  # each shot's two reports, in the order added
    both = np.flatnonzero((g[:, 0] == g[:, 1]) & res.fixes.located[g[:, 0]])
    assert len(both) >= 0.9 * len(targets)
    truth = true_xy(targets)
    fx = res.fixes
    m2 = np.array([synth.true_cov_frame_error(fx.x[k], fx.y[k], fx.cov[k], truth[e])
                   for e, k in zip(both, g[both, 0], strict=True)])
    return float(np.mean(m2 <= CHI2_95_2DOF))


def test_a_fix_the_bands_placed_states_its_error_about_its_own_point() -> None:
    """Two posts facing each other across a burst: the fit stops anywhere in their bands'
    overlap, while the covariance reads each band as a Gaussian about its middle: the
    ellipses cover 0.88 of the bursts (seeds 1-3; 0.90 on seed 14). Stated about the fit's
    own point (``C + d dᵀ``) they cover 0.92-0.93 (0.945): the rest is the bands' Gaussian
    reading of a log-normal judgement, binned, which this does not change. (Seed 1 with a
    fix near a post read across its ray at its range's sd, :mod:`.wedge`: 0.892 and 0.937.)"""
    r, targets = _facing_posts()
    assert _coverage(r, targets, band_step=False) < 0.90  # 0.892 (0.879 before .wedge)
    assert 0.915 <= _coverage(r, targets, band_step=True) <= 0.97  # 0.937 (0.927)
