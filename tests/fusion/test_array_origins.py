"""An origin that one array's arrivals alone placed is attributed by its region, not by its
fix's ellipse (issue 12; :mod:`truceline.core.fusion.array_origins`)."""

from __future__ import annotations

import numpy as np

from tests.fusion import synth
from tests.fusion.synth import LINE_LON
from truceline.core.fusion.pipeline import FusionParams, FusionResult, fuse_batch
from truceline.core.fusion.region import ArcParams

CENTRE = (LINE_LON - 0.02, 48.0)  # an array ~1.5 km west of the line, sensors 700 m out
BURST = (LINE_LON + 0.1, 48.03)  # ~7 km east of the line


def _fuse(gun: tuple[float, float], on: bool = True, centre: tuple[float, float] = CENTRE
          ) -> tuple[FusionResult, int]:
    """Three sensors of one array hear a gun (an "outgoing" report each); three of another
    array ~8 km east of the line hear its shell burst (timed to milliseconds)."""
    rng = np.random.default_rng(5)
    r = synth.Reports()
    for k, az in enumerate((0.0, 120.0, 240.0)):
        s = synth.offset(*centre, az, 700.0)
        synth.arrival_report(r, 0, s, gun, 100.0, 0.003, rng, source=f"ac0-{k}")
    flight = synth.GEOD.inv(*gun, *BURST)[2] / 350.0
    for k, az in enumerate((30.0, 150.0, 270.0)):
        s = synth.offset(*BURST, az, 700.0)
        synth.arrival_report(r, 1, s, BURST, 100.0 + flight, 0.003, rng, source=f"ac1-{k}")
    r.cols["weapon_class"] = ["tube_artillery"] * len(r.event)
    r.cols["explosion_type"] = ["outgoing" if e == 0 else "impact" for e in r.event]
    params = FusionParams() if on else FusionParams(arc=ArcParams(array_origins=False))
    res = fuse_batch(r.batch(), synth.geometry(), params)
    return res, int(res.labels[0])


def test_an_origin_one_array_placed_is_attributed_by_its_region():
    """The gun lies 10 km behind an array 1.5 km from the line: the three arrivals give its
    direction to a fraction of a degree, its range to tens of kilometres. The fix's ellipse,
    stretched along that direction, runs back through the array over the line (P(west)
    ~0.69: "insufficient evidence"), where no point fits the arrivals; the region of the
    points that do (and that could have fired at the burst it is linked to) is all west,
    and its ellipse holds the gun."""
    gun = synth.offset(*CENTRE, 275.0, 10_000.0)
    res, g = _fuse(gun)
    west = list(res.parties).index("west")
    assert res.role[g] == 0 and res.partner[g] >= 0
    assert res.prob[g, west] >= 0.99
    err = np.array([res.fixes.x[g], res.fixes.y[g]]) - synth.true_xy([gun])[0]
    assert err @ np.linalg.solve(res.fixes.cov[g], err) < 5.99
    off, h = _fuse(gun, on=False)
    assert off.prob[h, west] < 0.9  # what the ellipse said


def test_an_array_on_the_line_of_fire_keeps_its_fix():
    """From an array west of the gun, the arm runs east through the gun, over the line and
    through the burst: the arrivals do not tell the launch from points near its burst, so
    the region decides nothing and the fix stays as it was (as ``arc_launches`` refuses a
    region through its burst)."""
    centre = (LINE_LON - 0.12, 48.0)  # ~9 km west of the line
    az = synth.GEOD.inv(*centre, *BURST)[0]
    gun = synth.offset(*centre, az, 4_000.0)  # between the array and the burst
    res, g = _fuse(gun, centre=centre)
    off, h = _fuse(gun, on=False, centre=centre)
    assert res.partner[g] >= 0
    np.testing.assert_array_equal(res.prob[g], off.prob[h])
    np.testing.assert_array_equal(res.fixes.cov[g], off.fixes.cov[h])


def test_the_region_decides_only_on_the_side_the_ellipse_leans_to():
    """Near the line neither the region's 400 m cells nor its far reach beat the fit: the
    region settles an undecided origin only where it leans to the side the ellipse leans to,
    and leaves a decided one alone. The fix of the first test, undecided west (P 0.69), fed
    again with its ellipse leaning east, or deciding west at 0.95, is kept as it was."""
    from truceline.core.fusion.array_origins import place_array_origins
    from truceline.core.fusion.group_join import emission_windows
    from truceline.core.fusion.late_pairs import group_classes

    gun = synth.offset(*CENTRE, 275.0, 10_000.0)
    off, g = _fuse(gun, on=False)
    G = len(off.role)

    def placed(p: list[float]) -> bool:
        prob = off.prob.copy()
        prob[g] = p
        fixes = type(off.fixes)(**{k: (v.copy() if isinstance(v, np.ndarray) else v)
                                   for k, v in vars(off.fixes).items()})
        p_ = FusionParams()
        done = place_array_origins(off.batch, off.labels, fixes, off.role, prob, off.partner,
                                   np.zeros(0, np.int64),
                                   *emission_windows(off.batch, off.labels, fixes, G),
                                   group_classes(off.batch, off.labels, G), synth.geometry(),
                                   p_.link, p_.arc, p_.attribution)
        return g in done.tolist()

    assert placed([0.69, 0.31])  # leans west, as the region: settled
    assert not placed([0.31, 0.69])  # leans east: the region may not overrule it
    assert not placed([0.95, 0.05])  # decided by its ellipse: left alone, same side or not
