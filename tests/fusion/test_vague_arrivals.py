"""Three arrivals whose exact fix is the wrong crossing join the one event they fit."""

from __future__ import annotations

import numpy as np

from tests.fusion.synth import Reports, arrival_report, bearing_report, offset, posts_around
from truceline.core.fusion.batch import GroupingParams
from truceline.core.fusion.grouping import _arrival_units, group

A = (37.4, 48.2)


def _scene(seed: int, sensors: int, dist: float) -> Reports:
    """Event 0 at ``A``, t0 600 s: four posts' bearings (2-10 km bands) and ``sensors``
    sensors of one small array ``dist`` away (800 m about its centre, exact arrival times)."""
    rng = np.random.default_rng(seed)
    r = Reports()
    for k, post in enumerate(posts_around(A, 4, rng, dist=(3_000, 8_000))):
        bearing_report(r, 0, post, A, 600.0 + rng.uniform(0, 60), 2.0, rng,
                       source=f"p{k}", band=(2_000, 10_000))
    centre = offset(*A, 200.0, dist)
    for k in range(sensors):
        arrival_report(r, 0, offset(*centre, 360.0 / sensors * k, 800.0), A, 600.0, 0.0, rng,
                       source=f"s{k}")
    return r


def test_three_arrivals_whose_fix_is_the_wrong_crossing_join_their_event():
    """Three arrivals fix x, y and the time exactly (no residual): here the fit takes the
    near crossing, kilometres from the event with a covariance of a few hundred metres, so
    the fix fails the gate with the event's bearings. Left alone, it tries as a vague group."""
    p = GroupingParams()
    for seed in (1, 2, 3):
        for dist in (8_000.0, 15_000.0):
            r = _scene(seed, 3, dist)
            b = r.batch()
            rows = np.flatnonzero(np.isfinite(b.arr))
            _, units, fixed = _arrival_units(b, p, rows)
            x, y = b.projection.forward(np.array([A[0]]), np.array([A[1]]))
            off = float(np.hypot(units.mx[0] - x[0], units.my[0] - y[0]))
            assert fixed.all() and off > 5_000.0 > 5 * np.sqrt(units.sxx[0])  # the premise
            labels = group(b)
            assert len(set(labels.tolist())) == 1, (seed, dist)

