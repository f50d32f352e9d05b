"""A lone bearing's fix beside its linked shot: it joins the one part its report admits,
allowing for a wild bearing (issue 14; :mod:`truceline.core.fusion.lone_bearing`)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tests.fusion import synth
from tests.fusion.test_same_shot import BURST, GUN
from truceline.core.fusion.pipeline import FusionParams, FusionResult, _last, _locate_attribute
from truceline.core.fusion.same_shot import SameShotParams

POST = synth.offset(*GUN, 250.0, 8000.0)  # the lone post, 8 km west-south-west of the gun


def _lone_wild(error_deg: float, band: tuple[float, float] = (5000.0, 10000.0),
               on: bool = True) -> FusionResult:
    """Three posts fix the launch at ``GUN`` (1 deg bearings, 5-10 km bands), three the burst
    at ``BURST`` 40 s later, the two linked; a lone post on a 5-10 km band reports the launch
    with its bearing off by ``error_deg`` (a wild bearing) and its distance on ``band``, a
    group of its own. ``on``: the rule (``lone_wild_deg``), else off."""
    rng = np.random.default_rng(7)
    r = synth.Reports()
    synth.linked_shot(r, GUN, BURST, rng)
    synth.bearing_report(r, 2, POST, GUN, 100.0, 2.0, rng, source="lone", band=band,
                         error_deg=error_deg)
    partner = np.array([1, 0, -1], np.int64)
    params = FusionParams() if on else FusionParams(same_shot=SameShotParams(lone_wild_deg=0.0))
    geometry = synth.geometry()
    res = _locate_attribute(r.batch(), np.asarray(r.event, np.int64), geometry, params,
                            finish=False)
    res = replace(res, partner=partner)
    return _last(res, geometry, params, finish=True)


def test_a_lone_wild_bearing_joins_the_linked_launch_its_report_admits():
    """The bearing 72 degrees off (within 2 sd of the 40-degree wild spread): the post's fix
    (sd ~3 km) lies ~9 km off the gun, past every ellipse test. Off: an incident of its own.
    On: it joins the launch's group, which keeps its fix and its link."""
    on = _lone_wild(72.0)
    assert on.n_groups == 2 and on.labels[6] == on.labels[0]
    off = _lone_wild(72.0, on=False)
    assert off.n_groups == 3 and off.labels[6] != off.labels[0]
    g = int(on.labels[0])
    assert on.fixes.x[g] == off.fixes.x[0] and on.fixes.y[g] == off.fixes.y[0]
    assert on.partner[g] == on.labels[3]


def test_a_lone_wild_bearing_whose_band_misses_the_launch_stays_apart():
    """The post judged the distance 12-20 km, the gun 8 km off: its report admits no fix
    (the range outside its band), so it stays an incident of its own."""
    on = _lone_wild(72.0, band=(12000.0, 20000.0))
    assert on.n_groups == 3 and on.labels[6] not in (on.labels[0], on.labels[3])
