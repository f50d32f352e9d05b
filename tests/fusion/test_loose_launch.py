"""One array alone heard a shot's launch with three arrivals, far along its direction: their
own fix is too unsure of its range for any pairing to try it, and posts saw the burst across
the line (typed, placed by bearings and bands, timed by no array). The arrivals are then a
launch region like a group no fix located (:func:`truceline.core.fusion.arcs.loose_fixes`):
placed as the burst's linked origin where the region lies on one side, where before they
stayed an untyped fix and the shot had no origin (restrictions seed 3, e-3-000-00045)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tests.fusion import synth
from tests.fusion.synth import LINE_LON
from tests.fusion.test_heard import ON, _fuse, _group_of
from truceline.core.fusion.batch import ROLE_ANY, ROLE_ORIGIN
from truceline.core.fusion.link import LinkParams

OFF = replace(ON, arc=replace(ON.arc, loose_launches=False))
GUN = (LINE_LON - 0.14, 48.0)  # ~10 km west of the line
BURST = synth.offset(*GUN, 90.0, 14_000.0)  # ~4 km east of it


def _setup(dist: float, burst: tuple[float, float] = BURST) -> synth.Reports:
    # the gun fires at 100 s, its shell bursts at ``burst`` 40 s later; three posts see the
    # burst (typed) and no array times it; three sensors of one array ``dist`` south-south-west
    # of the gun, 1 km apart, hear only the launch
    rng = np.random.default_rng(3)
    r = synth.Reports()
    for k, (az, d) in enumerate(((20.0, 6_000.0), (110.0, 8_000.0), (190.0, 7_000.0))):
        synth.bearing_report(r, 0, synth.offset(*burst, az, d), burst, 140.0, 1.0, rng,
                             source=f"op{k}", band=(d - 1_000.0, d + 1_000.0),
                             explosion_type="impact")
    centre = synth.offset(*GUN, 200.0, dist)
    for k, s in enumerate([centre, synth.offset(*centre, 0.0, 1_000.0),
                           synth.offset(*centre, 120.0, 1_000.0)]):
        synth.arrival_report(r, 1, s, GUN, 100.0, 0.01, rng, source=f"ac-{k}")
    synth.untype_arrays(r)
    return r


def test_a_loose_fix_of_one_arrays_arrivals_is_placed_as_the_launch_of_the_burst():
    for dist in (20_000.0, 22_000.0, 24_000.0):
        r = _setup(dist)
        off = _fuse(r, OFF)
        (a,) = _group_of(off, r, "ac")
        (i,) = _group_of(off, r, "op")
        assert a != i and off.fixes.located[a] and off.role[a] == ROLE_ANY
        assert np.sqrt(np.trace(off.fixes.cov[a])) > LinkParams().max_sigma_m  # too loose
        assert off.partner[a] < 0 and off.partner[i] < 0
        res = _fuse(r, ON)
        assert _group_of(res, r, "ac") == {a} and _group_of(res, r, "op") == {i}
        assert res.partner[i] == a and res.partner[a] == i and res.role[a] == ROLE_ORIGIN
        assert res.prob[a, res.parties.index("west")] >= 0.9
        # the gun lies inside the launch's stated 95 % ellipse
        (gx, gy), = synth.true_xy([GUN])
        d = np.array([gx - res.fixes.x[a], gy - res.fixes.y[a]])
        assert d @ np.linalg.solve(res.fixes.cov[a], d) <= 5.99


def test_a_loose_fix_and_a_burst_on_its_own_side_stay_apart():
    """The same arrivals, the posts' burst 6 km east of the gun, still west of the line: no
    shot across the line joins them, and the region places nothing (the fix stays untyped)."""
    west = synth.offset(*GUN, 90.0, 6_000.0)
    for dist in (20_000.0, 22_000.0, 24_000.0):
        r = _setup(dist, west)
        res = _fuse(r, ON)
        (a,) = _group_of(res, r, "ac")
        assert res.role[a] == ROLE_ANY and res.partner[a] < 0 and res.fixes.located[a]
