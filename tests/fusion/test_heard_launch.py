"""One array alone heard a shot's launch with three arrivals; other arrays and posts fixed
its typed burst: the arrivals place the launch as the burst's linked origin, stated and
attributed by their region (:mod:`truceline.core.fusion.heard_launch`), where before they
joined the burst's incident as its other sound and left it without an origin."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tests.fusion import synth
from tests.fusion.synth import LINE_LON
from tests.fusion.test_heard import ON, _fuse, _group_of
from tests.fusion.test_heard_other import _fixed
from truceline.core.fusion.batch import ROLE_ORIGIN
from truceline.core.fusion.locate import ellipse

# neither this step nor the arcs' own try of a fix too loose for the link (.arcs.loose_fixes,
# which places the same launch earlier, where the arrivals' fix is that loose)
OFF = replace(ON, arc=replace(ON.arc, heard_launches=False, loose_launches=False))
GUN = (LINE_LON - 0.14, 48.0)  # ~10 km west of the line
BURST = synth.offset(*GUN, 90.0, 14_000.0)  # ~4 km east of it


def _typed_burst(r: synth.Reports, rng: np.random.Generator) -> None:
    """The burst at 140 s: an array of four times it and three posts see it burst (typed)."""
    _fixed(r, 0, BURST, 140.0, rng)
    for k, (az, d) in enumerate(((20.0, 6_000.0), (110.0, 8_000.0), (190.0, 7_000.0))):
        synth.bearing_report(r, 0, synth.offset(*BURST, az, d), BURST, 140.0, 1.0, rng,
                             source=f"op{k}", band=(d - 1_000.0, d + 1_000.0),
                             explosion_type="impact")


def _setup() -> synth.Reports:
    # the gun fires at 100 s, its 350 m/s shell bursts 14 km east at 140 s: an array of four
    # times it and three posts see it burst (typed); three sensors of one array 18 km
    # south-south-west of the gun (its centre and two on a 1.5 km ring) hear only the
    # launch: their own fix is too unsure of its range to be linked
    rng = np.random.default_rng(7)
    r = synth.Reports()
    _typed_burst(r, rng)
    centre = synth.offset(*GUN, 200.0, 18_000.0)
    for k, s in enumerate([centre, synth.offset(*centre, 0.0, 1_500.0),
                           synth.offset(*centre, 120.0, 1_500.0)]):
        synth.arrival_report(r, 1, s, GUN, 100.0, 0.01, rng, source=f"ac-{k}")
    synth.untype_arrays(r)
    return r


def test_an_arrays_three_arrivals_place_the_launch_of_the_burst_they_heard():
    r = _setup()
    off = _fuse(r, OFF)
    (i,) = _group_of(off, r, "bc0")
    assert _group_of(off, r, "op") == {i}
    assert _group_of(off, r, "ac") == {i}  # joined as the burst's other sound, no origin
    assert off.partner[i] < 0
    res = _fuse(r, ON)
    (i,) = _group_of(res, r, "bc0")
    (a,) = _group_of(res, r, "ac")
    assert a != i and res.partner[i] == a and res.partner[a] == i
    assert res.role[a] == ROLE_ORIGIN and res.fixes.located[a]
    west = res.parties.index("west")
    assert res.prob[a, west] >= 0.9
    # the gun lies inside the launch's stated 95 % ellipse
    (gx, gy), = synth.true_xy([GUN])
    d = np.array([gx - res.fixes.x[a], gy - res.fixes.y[a]])
    assert d @ np.linalg.solve(res.fixes.cov[a], d) <= 5.99
    a95, _, _ = ellipse(res.fixes.cov[a][None])
    assert a95[0] < 10_000.0
    # the burst's fix is the one it had
    assert np.isclose(res.fixes.x[i], off.fixes.x[i]) and np.isclose(res.fixes.y[i],
                                                                     off.fixes.y[i])


def test_two_arrays_that_heard_the_launch_place_it_together():
    """Two arrays, 10 km south and 10 km north of the shot, heard only its launch, two
    arrivals each: together they joined the typed burst as its other sound (a shot has one),
    and the burst's incident had no origin (baseline seed 2, e-2-000-00070: three arrivals of
    one array and one of another). Their four arrivals place the launch together."""
    rng = np.random.default_rng(11)
    mid = synth.offset(*GUN, 90.0, 7_000.0)
    r = synth.Reports()
    _typed_burst(r, rng)
    for n, az in enumerate((180.0, 0.0)):
        centre = synth.offset(*mid, az, 10_000.0)
        for k, s in enumerate([centre, synth.offset(*centre, 90.0, 1_500.0)]):
            synth.arrival_report(r, 1, s, GUN, 100.0, 0.01, rng, source=f"ac{n}-{k}")
    synth.untype_arrays(r)
    res = _fuse(r, ON)
    (i,) = _group_of(res, r, "bc0")
    (a,) = _group_of(res, r, "ac")
    assert a != i and res.partner[i] == a and res.partner[a] == i
    assert res.role[a] == ROLE_ORIGIN and res.fixes.located[a]
    assert res.prob[a, res.parties.index("west")] >= 0.9
    (gx, gy), = synth.true_xy([GUN])
    d = np.array([gx - res.fixes.x[a], gy - res.fixes.y[a]])
    assert d @ np.linalg.solve(res.fixes.cov[a], d) <= 5.99
