"""One shot linked twice is one incident (issue 14; :mod:`truceline.core.fusion.same_pair`):
two launch-burst pairs whose launches agree and whose bursts agree join, the larger pair's
fixes kept."""

from __future__ import annotations

import numpy as np

from tests.fusion import synth
from tests.fusion.synth import LINE_LON
from truceline.core.fusion.pipeline import FusionParams, FusionResult, _last, _locate_attribute
from truceline.core.fusion.same_shot import SameShotParams

GUN = (LINE_LON - 0.07, 48.0)  # ~5 km west of the line


def _pairs(second: tuple[float, float], on: bool = True, dt: float = 0.0,
           shared: bool = False, third: tuple[float, float] | None = None) -> FusionResult:
    """Three posts fix a launch at ``GUN`` and three its burst 9 km east (1 degree on their
    bands); two more posts report a launch at ``second``, ``dt`` s later, and two its burst 9
    km east of it (2 degrees on theirs): four groups, as grouping splits a shot's reports on
    the simulated weeks (clocks, bands), each launch linked to its burst. ``shared``: the
    second pair's first launch report is by a post of the first pair. ``third``: a third
    pair like the second there at that moment (a second gun beside it)."""
    rng = np.random.default_rng(7)
    r = synth.Reports()

    def pair(ev: int, gun: tuple[float, float], t: float, n: int, sd: float, tag: str) -> None:
        burst = synth.offset(*gun, 90.0, 9_000.0)
        for k, post in enumerate(synth.posts_around(gun, n, rng)):
            d = synth.GEOD.inv(*post, *gun)[2]
            src = "o-a0" if shared and tag == "b" and k == 0 else f"o-{tag}{k}"
            synth.bearing_report(r, ev, post, gun, t, sd, rng, source=src,
                                 band=(d - 1_000.0, d + 1_000.0))
        for k, post in enumerate(synth.posts_around(burst, n, rng)):
            d = synth.GEOD.inv(*post, *burst)[2]
            synth.bearing_report(r, ev + 1, post, burst, t + 26.0, sd, rng, source=f"i-{tag}{k}",
                                 band=(d - 1_000.0, d + 1_000.0), explosion_type="impact")

    pair(0, GUN, 100.0, 3, 1.0, "a")
    pair(2, second, 100.0 + dt, 2, 2.0, "b")
    if third is not None:
        pair(4, third, 100.0, 2, 2.0, "c")
    r.cols["weapon_class"] = ["tube_artillery"] * len(r.event)
    geometry = synth.geometry()
    params = FusionParams(same_shot=SameShotParams(pairs=on))
    res = _locate_attribute(r.batch(), np.asarray(r.event, np.int64), geometry, params,
                            finish=False)
    return _last(res, geometry, params, finish=True)


def test_two_linked_pairs_of_one_shot_are_one_incident():
    """Both pairs fix the one gun and its burst, each launch linked to its own burst: two
    incidents, the shot counted twice. Now the smaller pair joins the larger part by part:
    one launch group, one burst group, linked, the larger pair's fixes kept."""
    off = _pairs(GUN, on=False)
    assert off.n_groups == 4 and list(off.partner) == [1, 0, 3, 2]
    on = _pairs(GUN)
    assert on.n_groups == 2 and list(on.partner) == [1, 0]
    launch, burst = on.labels[0], on.labels[3]
    assert (on.labels[12:14] == launch).all() and (on.labels[14:16] == burst).all()
    assert on.fixes.x[launch] == off.fixes.x[0] and on.fixes.y[burst] == off.fixes.y[1]
    assert on.prob[launch].tolist() == off.prob[0].tolist()


def test_a_second_gun_and_its_burst_elsewhere_stay_apart():
    """The second pair 4 km north: neither its launch nor its burst fits the first's."""
    on = _pairs(synth.offset(*GUN, 0.0, 4_000.0))
    assert on.n_groups == 4


def test_two_shots_of_one_gun_seen_by_one_post_stay_apart():
    """The same gun fires again 40 s later; a post of the first shot reports the second too
    (a source never reports one shot twice): two incidents."""
    on = _pairs(GUN, dt=40.0, shared=True)
    assert on.n_groups == 4


def test_a_pair_that_two_shots_fit_joins_neither():
    """A second gun fires at the same moment 300 m north, its pair like the second one's: the
    looser pairs fit each other and the first; no pair agrees with just one, none joins."""
    on = _pairs(synth.offset(*GUN, 0.0, 150.0), third=synth.offset(*GUN, 0.0, 300.0))
    assert on.n_groups == 6
