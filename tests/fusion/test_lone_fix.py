"""A lone fix of two posts' bearings beside its linked shot, one bearing wild: it joins the
one part its reports fit; a bearing of another shot crossing it keeps it apart (issue 14;
:mod:`truceline.core.fusion.lone_fix`)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tests.fusion import synth
from tests.fusion.test_same_shot import BURST, GUN
from truceline.core.fusion.pipeline import FusionParams, FusionResult, _last, _locate_attribute
from truceline.core.fusion.same_shot import SameShotParams

GOOD = synth.offset(*GUN, 250.0, 8000.0)  # a post 8 km west-south-west of the gun
WILD = synth.offset(*GUN, 340.0, 7000.0)  # a post 7 km north-north-west, its bearing wild
# a second gun 6 km east of WILD (its bearing 60 deg off the gun's), 14 km from GOOD
OTHER = synth.offset(*WILD, 100.0, 6000.0)


def _lone_pair(wild_deg: float, other: bool = False, on: bool = True) -> FusionResult:
    """Three posts fix the launch at ``GUN`` (1 deg bearings, 5-10 km bands), three the burst
    at ``BURST`` 40 s later, the two linked; two more posts report the launch, a group of their
    own: ``GOOD`` on the gun (2 deg), ``WILD`` off by ``wild_deg``. ``other``: a second gun
    fixed by three posts at ``OTHER`` at the same time, linked to a burst of its own, which the
    wild bearing points at (another shot's bearing crossing the first's, not a wild one).
    ``on``: the rule (``lone_fix_sigmas``), else off."""
    rng = np.random.default_rng(11)
    r = synth.Reports()
    synth.linked_shot(r, GUN, BURST, rng)
    synth.bearing_report(r, 2, GOOD, GUN, 100.0, 2.0, rng, source="good",
                         band=(5000.0, 10000.0), error_deg=0.5)
    synth.bearing_report(r, 2, WILD, GUN, 100.0, 2.0, rng, source="wild",
                         band=(2000.0, 10000.0), error_deg=wild_deg)
    partner = [1, 0, -1]
    if other:
        for k, (az, d) in enumerate(((90.0, 6000.0), (200.0, 7000.0), (300.0, 6000.0))):
            synth.bearing_report(r, 3, synth.offset(*OTHER, az, d), OTHER, 100.0, 1.0, rng,
                                 source=f"xl-{k}", band=(5000.0, 10000.0))
        far = synth.offset(*OTHER, 0.0, 12000.0)
        for k, (az, d) in enumerate(((20.0, 6000.0), (110.0, 8000.0), (250.0, 7000.0))):
            synth.bearing_report(r, 4, synth.offset(*far, az, d), far, 140.0, 1.0, rng,
                                 source=f"xb-{k}", band=(5000.0, 10000.0),
                                 explosion_type="impact")
        partner += [4, 3]
    params = FusionParams() if on else FusionParams(
        same_shot=SameShotParams(lone_fix_sigmas=0.0))
    geometry = synth.geometry()
    res = _locate_attribute(r.batch(), np.asarray(r.event, np.int64), geometry, params,
                            finish=False)
    res = replace(res, partner=np.asarray(partner, np.int64))
    return _last(res, geometry, params, finish=True)


def _wild_ray() -> float:
    """The error that points ``WILD``'s bearing at ``OTHER`` instead of ``GUN`` (deg)."""
    to_gun = synth.GEOD.inv(WILD[0], WILD[1], GUN[0], GUN[1])[0]
    to_other = synth.GEOD.inv(WILD[0], WILD[1], OTHER[0], OTHER[1])[0]
    return float((to_other - to_gun + 180.0) % 360.0 - 180.0)


def test_a_lone_fix_with_one_wild_bearing_joins_the_linked_launch_its_reports_fit():
    """The wild bearing (60 deg off) pulls the two posts' fix ~11 km off the gun, its sd ~5
    km: no earlier join takes it, an incident of its own. On: the good bearing fits the
    launch, the wild one within the wild tail; it joins the launch's group, which keeps its
    fix and its link."""
    err = _wild_ray()
    on = _lone_pair(err)
    assert on.n_groups == 2 and on.labels[6] == on.labels[7] == on.labels[0]
    off = _lone_pair(err, on=False)
    assert off.n_groups == 3 and off.labels[6] != off.labels[0]
    assert np.hypot(off.fixes.x[2] - off.fixes.x[0], off.fixes.y[2] - off.fixes.y[0]) > 5000.0
    g = int(on.labels[0])
    assert on.fixes.x[g] == off.fixes.x[0] and on.fixes.y[g] == off.fixes.y[0]
    assert on.partner[g] == on.labels[3]


def test_a_lone_fix_whose_odd_bearing_points_at_another_shot_stays_apart():
    """The same two reports, a second shot fixed where the odd bearing points: that bearing
    is another event's crossing the first's, not a wild one, and the lone fix stays apart."""
    on = _lone_pair(_wild_ray(), other=True)
    assert on.labels[6] == on.labels[7]
    assert on.labels[6] not in (on.labels[0], on.labels[3], on.labels[8], on.labels[11])
