"""A launch's group holding its burst's arrival, heard too long after the launch's arrival
at a sensor close by to be the launch's sound: taken out before the fit, located or not."""

from __future__ import annotations

import numpy as np

from tests.fusion import synth
from tests.fusion.synth import LINE_LON
from truceline.core.fusion.batch import GroupingParams, candidates
from truceline.core.fusion.locate import LocateParams, locate
from truceline.core.fusion.sound_order import SoundOrderParams, shed_later_sound

GUN = (LINE_LON - 0.05, 48.0)  # ~3.7 km west of the line


def _shot(
    seed: int, typed: str = "outgoing", burst_heard: bool = True
) -> tuple[synth.Reports, np.ndarray]:
    """A post's typed bearing of a launch (t 100 s), two sensors 4 km south that heard it,
    and (``burst_heard``) its burst 3 km east 20 s later heard by a third sensor 900 m from
    the first, all one group; the burst located nowhere (e-1-001-00102's shape)."""
    rng = np.random.default_rng(seed)
    burst = synth.offset(*GUN, 90.0, 3_000.0)
    r = synth.Reports()
    post = synth.offset(*GUN, 300.0, 6_000.0)
    synth.bearing_report(r, 0, post, GUN, 100.0, 1.0, rng, source="op-0", explosion_type=typed)
    south = synth.offset(*GUN, 180.0, 4_000.0)
    for k, s in enumerate([south, synth.offset(*south, 90.0, 1_200.0)]):
        synth.arrival_report(r, 0, s, GUN, 100.0, 0.01, rng, source=f"s-{k}")
    if burst_heard:
        synth.arrival_report(
            r, 1, synth.offset(*south, 45.0, 900.0), burst, 120.0, 0.01, rng, source="s-2"
        )
    else:  # the launch's own third arrival instead
        synth.arrival_report(
            r, 0, synth.offset(*south, 45.0, 900.0), GUN, 100.0, 0.01, rng, source="s-2"
        )
    return r, np.zeros(len(r.event), np.int64)


def test_the_burst_s_arrival_leaves_the_launch_s_group_by_its_time_alone() -> None:
    """Fitted whole, the group rejects a row and ``widen`` grows its ellipse; the burst's
    arrival came ~20 s after the launch's at a sensor 900 m away (at most ~4 s for one
    sound): it alone leaves, and the bearing and the launch's two arrivals then fit clean."""
    for seed in (1, 2, 3):
        r, labels = _shot(seed)
        b = r.batch()
        cd = candidates(b, GroupingParams())
        fx = locate(b, labels, cd, LocateParams())
        assert fx.located[0] and fx.widen[0] > 1.0
        new = shed_later_sound(b, labels, fx, cd, LocateParams())
        assert new.tolist() == [0, 0, 0, 1]
        refit = locate(b, new, cd, LocateParams())
        assert refit.located[0] and refit.widen[0] == 1.0 and not refit.outlier[:3].any()
        # switched off: nothing
        off = SoundOrderParams(enabled=False)
        assert shed_later_sound(b, labels, fx, cd, LocateParams(), off) is labels


def test_one_sound_s_arrivals_stay() -> None:
    """The launch's own third arrival at that sensor: every pair of arrivals within the
    sensors' distance over the slowest sound, nothing leaves."""
    for seed in (1, 2, 3):
        r, labels = _shot(seed, burst_heard=False)
        b = r.batch()
        cd = candidates(b, GroupingParams())
        fx = locate(b, labels, cd, LocateParams())
        assert shed_later_sound(b, labels, fx, cd, LocateParams()) is labels


def test_a_burst_s_bearing_keeps_the_later_sound() -> None:
    """The same group with its bearing typed a burst's: the later arrival may be its sound,
    so it stays; the earlier two (a launch's, heard before) leave only where the bearing and
    the later arrival alone then fit clean within the bearing's time: here they do not."""
    r, labels = _shot(1, "impact")
    b = r.batch()
    cd = candidates(b, GroupingParams())
    fx = locate(b, labels, cd, LocateParams())
    new = shed_later_sound(b, labels, fx, cd, LocateParams())
    assert new[3] == new[0]


def test_an_untyped_group_sheds_the_later_sound_too() -> None:
    """The same group with its bearing untyped (no report says launch or burst): the
    pairings type such a group an origin after this step, with the burst's arrival in its
    fit, so the later sound leaves here as well."""
    for seed in (1, 2, 3):
        r, labels = _shot(seed, "undetermined")
        b = r.batch()
        cd = candidates(b, GroupingParams())
        fx = locate(b, labels, cd, LocateParams())
        new = shed_later_sound(b, labels, fx, cd, LocateParams())
        assert new.tolist() == [0, 0, 0, 1]
        old = SoundOrderParams(untyped=False)  # typed groups only, as before
        assert shed_later_sound(b, labels, fx, cd, LocateParams(), old) is labels


def test_an_untyped_group_keeps_the_sound_more_of_its_arrivals_heard() -> None:
    """An untyped bearing of a burst, the burst's arrivals at two sensors and its launch's
    at a third 20 s before (e-1-002-00058's shape): the launch's one arrival leaves, not the
    burst's two (kept with the bearing, it was placed wrongly and typed a launch)."""
    rng = np.random.default_rng(1)
    burst = synth.offset(*GUN, 90.0, 3_000.0)
    r = synth.Reports()
    synth.bearing_report(r, 1, synth.offset(*burst, 300.0, 6_000.0), burst, 120.0, 1.0, rng,
                         source="op-0", explosion_type="undetermined")
    south = synth.offset(*burst, 180.0, 4_000.0)
    for k, s in enumerate([south, synth.offset(*south, 90.0, 1_200.0)]):
        synth.arrival_report(r, 1, s, burst, 120.0, 0.01, rng, source=f"s-{k}")
    synth.arrival_report(r, 0, synth.offset(*south, 45.0, 900.0), GUN, 100.0, 0.01, rng,
                         source="s-2")
    labels = np.zeros(len(r.event), np.int64)
    b = r.batch()
    cd = candidates(b, GroupingParams())
    fx = locate(b, labels, cd, LocateParams())
    new = shed_later_sound(b, labels, fx, cd, LocateParams())
    assert new[3] != new[0] and new[0] == new[1] == new[2]
