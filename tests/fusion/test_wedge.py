"""A bearing read across its ray at the range the fix is unsure of (core/fusion/wedge.py)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.fusion import synth
from tests.fusion.synth import Reports, bearing_report, offset, true_xy
from truceline.core.fusion import FusionParams, fuse_batch
from truceline.core.fusion.locate import CHI2_95_2DOF, LocateParams
from truceline.core.geo import GEOD

pytestmark = pytest.mark.filterwarnings("error")

def _near_and_far(n: int, seed: int) -> tuple[Reports, list]:
    """``n`` bursts, each seen (2.5°) by a post 200-900 m from it (band 0-1 km) and by one
    4-12 km off, 15-60° round from the first: where the rays cross behind the near post,
    the fit stops at its apex."""
    rng = np.random.default_rng(seed)
    r = Reports()
    targets = []
    for e in range(n):
        target = (rng.uniform(36.5, 38.5), rng.uniform(47.5, 49.0))
        targets.append(target)
        az = rng.uniform(0, 360)
        turn = rng.choice([-1.0, 1.0]) * rng.uniform(15.0, 60.0)
        posts = (offset(*target, az, rng.uniform(200.0, 900.0)),
                 offset(*target, (az + turn) % 360.0, rng.uniform(4_000.0, 12_000.0)))
        for j, post in enumerate(posts):
            dist = GEOD.inv(post[0], post[1], target[0], target[1])[2]
            bearing_report(r, e, post, target, e * 7200.0, 2.5, rng, source=f"p{e}-{j}",
                           band=synth.judged_band(rng, dist), explosion_type="impact")
    return r, targets


def _fixes(wedge: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each burst fixed from both its reports: the truth's m², the ellipse's smaller and
    larger sd and the fix's distance from the near post."""
    r, targets = _near_and_far(300, 1)
    b = r.batch()
    res = fuse_batch(b, None, FusionParams() if wedge else
                     FusionParams(locate=LocateParams(wedge=False)))
    g = res.labels.reshape(len(targets), 2)  # each burst's two reports, in the order added
    fx = res.fixes
    both = np.flatnonzero((g[:, 0] == g[:, 1]) & fx.located[g[:, 0]])
    assert len(both) >= 0.95 * len(targets)
    k = g[both, 0]
    truth = true_xy(targets)[both]
    m2 = np.array([synth.true_cov_frame_error(fx.x[i], fx.y[i], fx.cov[i], t)
                   for i, t in zip(k, truth, strict=True)])
    sd = np.sqrt(np.linalg.eigvalsh(fx.cov[k]))
    apex = np.hypot(fx.x[k] - b.ox[2 * both], fx.y[k] - b.oy[2 * both])
    return m2, sd[:, 0], sd[:, 1], apex


def test_a_fix_at_a_rays_apex_states_the_width_of_the_wedge() -> None:
    """Where the two rays cross behind the near post, the fit stops at the post itself and
    the bearing, read there, claimed a few centimetres across its ray for a burst hundreds
    of metres out (on the weeks: m² in the tens of thousands); read at the range the fix
    is unsure of, the apex fixes state the wedge's width, and the ellipses cover the bursts
    a little more often than they claim (all 0.803 → 0.983, the 43 apex fixes 0.07 → 1.0)."""
    m2, minor, _, apex = _fixes(wedge=True)
    assert (apex < 5.0).sum() >= 30  # the fits that stopped at the near post (43 of 299)
    assert minor[apex < 5.0].min() > 5.0  # none claims centimetres across the ray
    inside = np.mean(m2 <= CHI2_95_2DOF)
    assert 0.95 <= inside <= 0.99  # 0.983
    assert np.mean(m2[apex < 5.0] <= CHI2_95_2DOF) >= 0.95


def test_a_fix_away_from_the_apex_keeps_its_ellipse() -> None:
    """Only the rows whose fix lies nearer their observer than its own largest sd are read
    again: a fix farther out on both rays states what it stated before."""
    m2_on, _, _, _ = _fixes(wedge=True)
    m2_off, _, major_off, apex = _fixes(wedge=False)
    out = apex > 1.5 * major_off
    assert out.sum() >= 20
    np.testing.assert_allclose(m2_on[out], m2_off[out])
    assert np.mean(m2_off <= CHI2_95_2DOF) < 0.85  # 0.803: the apex fixes' centimetres


def test_the_wedge_only_widens() -> None:
    """What the wedge adds to a fix's covariance is positive semi-definite: reading a bearing
    at a longer range loses information, and turning its row to the measured direction
    must not narrow an ellipse in any direction (before the clip: 196 of 278 additions on
    these bursts had a negative eigenvalue, down to -356 m²)."""
    from truceline.core.fusion.wedge import wedge_cov

    for seed in (1, 2, 3):
        r, _ = _near_and_far(300, seed)
        b = r.batch()
        res = fuse_batch(b, None, FusionParams(locate=LocateParams(wedge=False)))
        fx = res.fixes
        add = wedge_cov(b, res.labels, fx, fx.cov, LocateParams(), fx.located)
        grew = np.abs(add).sum(axis=(1, 2)) > 0
        assert grew.sum() >= 20
        low = np.linalg.eigvalsh(add[grew])[:, 0]
        assert (low >= -1e-9 * np.trace(add[grew], axis1=1, axis2=2)).all()
