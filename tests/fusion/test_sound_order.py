"""A launch's group holding its burst's arrival, heard too long after the launch's arrival
at a sensor close by to be the launch's sound: taken out before the fit, located or not."""

from __future__ import annotations

import numpy as np

from tests.fusion import synth
from tests.fusion.synth import LINE_LON
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
        b, labels, cd, fx = synth.fitted(r, labels)
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
        b, labels, cd, fx = synth.fitted(r, labels)
        assert shed_later_sound(b, labels, fx, cd, LocateParams()) is labels
    # the burst heard at three sensors, its launch at one, and the burst's untyped bearing
    # (e-3-003-00080: kept with the burst's arrivals, paired as the launch of its own burst)
    r = _arrivals_only(1, 1, 3)
    burst = synth.offset(*GUN, 90.0, 3_000.0)
    synth.bearing_report(r, 1, synth.offset(*burst, 300.0, 6_000.0), burst, 120.0, 1.0,
                         np.random.default_rng(1), source="op-0", explosion_type="undetermined")
    b, labels, cd, fx = synth.fitted(r)
    assert shed_later_sound(b, labels, fx, cd, LocateParams()) is labels


def test_a_burst_s_bearing_keeps_the_later_sound() -> None:
    """The same group with its bearing typed a burst's: the later arrival may be its sound,
    so it stays; the earlier two (a launch's, heard before) leave only where the bearing and
    the later arrival alone then fit clean within the bearing's time: here they do not."""
    r, labels = _shot(1, "impact")
    b, labels, cd, fx = synth.fitted(r, labels)
    new = shed_later_sound(b, labels, fx, cd, LocateParams())
    assert new[3] == new[0]


def _arrivals_only(seed: int, n_launch: int, n_burst: int) -> synth.Reports:
    """``n_launch`` sensors 4 km south of the gun that heard its launch (t 100 s), and
    ``n_burst`` sensors by them that heard its burst 3 km east 20 s later: one group."""
    rng = np.random.default_rng(seed)
    burst = synth.offset(*GUN, 90.0, 3_000.0)
    south = synth.offset(*GUN, 180.0, 4_000.0)
    r = synth.Reports()
    for k in range(n_launch):
        s = synth.offset(*south, 90.0, 1_200.0 * k)
        synth.arrival_report(r, 0, s, GUN, 100.0, 0.01, rng, source=f"s-{k}")
    ne = synth.offset(*south, 45.0, 900.0)
    for k in range(n_burst):  # a triangle: three arrivals on a line fit a burst badly
        s = synth.offset(*ne, 90.0 * (k % 2), 1_500.0 * (k > 0))
        synth.arrival_report(r, 1, s, burst, 120.0, 0.01, rng, source=f"t-{k}")
    return r


def test_a_group_of_arrivals_alone_loses_the_sound_fewer_heard() -> None:
    """Arrivals alone, no report typing them (the pairings type such a group after this
    step, both sounds in its fit): the launch heard at three sensors and its burst at one,
    the burst's arrival leaves; the burst at three and the launch at one, the launch's."""
    for seed in (1, 2, 3):
        for n_launch, n_burst in ((3, 1), (1, 3)):
            r = _arrivals_only(seed, n_launch, n_burst)
            b, labels, cd, fx = synth.fitted(r)
            new = shed_later_sound(b, labels, fx, cd, LocateParams())
            ev = np.asarray(r.event)
            few = ev == (1 if n_burst == 1 else 0)
            assert len(set(new[few].tolist()) & set(new[~few].tolist())) == 0, (seed, n_launch)
            assert len(set(new[~few].tolist())) == 1
            old = SoundOrderParams(untyped=False)  # typed groups only, as before
            assert shed_later_sound(b, labels, fx, cd, LocateParams(), old) is labels


def test_an_untyped_bearing_keeps_the_group_whole() -> None:
    """The first shape with its bearing untyped: it may be either sound's, nothing moves
    (kept with the wrong sound's arrivals it was placed wrongly: e-3-002-00050)."""
    r, labels = _shot(1, "undetermined")
    b, labels, cd, fx = synth.fitted(r, labels)
    assert shed_later_sound(b, labels, fx, cd, LocateParams()) is labels
