"""A batch whose sensors write no wind is grouped again with the wind estimated from it."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from sklearn.metrics import adjusted_rand_score

from tests.fusion import synth
from tests.fusion.test_locate import _air_week
from truceline.core.fusion import FusionParams, fuse_batch
from truceline.core.fusion.locate import CHI2_95_2DOF


def test_the_estimated_wind_is_read_by_the_second_grouping() -> None:
    """Sensors that write no wind under a steady 3.6 m/s one: the first pass groups the
    arrivals allowing an unknown wind 2 % of each travel time, estimates the day's wind from
    them, and the batch is grouped and located again with that wind as if read (so the gates
    test the arrivals in it). The fused batch carries the estimate as read, each bang is one
    group, and the fixes' ellipses stay honest; with ``regroup_wind`` off the wind stays an
    estimate on an unread column, as before."""
    r, truth = _air_week(12, 48, report_wind=False)
    b = r.batch()
    arr = np.isfinite(b.arr)
    assert not b.wind_known[arr].any()
    p = FusionParams()
    res = fuse_batch(b, None, p)
    fb = res.batch
    assert fb.wind_known[arr].all()
    assert np.allclose(fb.wu[arr], 3.0, atol=0.5) and np.allclose(fb.wv[arr], -2.0, atol=0.5)
    assert adjusted_rand_score(r.event, res.labels) == 1.0
    g = res.labels[np.searchsorted(r.event, np.arange(len(truth)))]
    fx = res.fixes
    assert fx.located[g].all()
    d2 = [synth.true_cov_frame_error(fx.x[k], fx.y[k], fx.cov[k], truth[e])
          for e, k in enumerate(g)]
    assert 0.9 <= float(np.mean(np.asarray(d2) <= CHI2_95_2DOF)) <= 1.0
    # the day's wind kept is the estimate (what a day fused again reads)
    wind = res.errors.wind[0]
    assert len(wind.days) == 2 and np.allclose(wind.values[:, :2], (3.0, -2.0), atol=0.5)
    off = fuse_batch(b, None, replace(p, locate=replace(p.locate, regroup_wind=False)))
    assert not off.batch.wind_known[arr].any()
