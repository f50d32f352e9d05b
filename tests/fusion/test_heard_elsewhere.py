"""A launch's group holding its burst's arrival: the burst's own timed fix takes it out."""

from __future__ import annotations

import numpy as np

from tests.fusion import synth
from tests.fusion.synth import LINE_LON
from truceline.core.fusion.batch import GroupingParams, candidates
from truceline.core.fusion.heard_elsewhere import HeardElsewhereParams, shed_heard_elsewhere
from truceline.core.fusion.locate import LocateParams, locate

GUN = (LINE_LON - 0.05, 48.0)  # ~3.7 km west of the line


def _shot(seed: int, typed: str = "outgoing") -> tuple[synth.Reports, np.ndarray]:
    """A post's typed bearing of a launch (t 100 s) and two sensors 4 km south heard it;
    its burst 3 km east 20 s later, heard by four sensors round it and by a third sensor of
    the southern pair, grouped with the launch (labels: 0 the launch's, 1 the burst's)."""
    rng = np.random.default_rng(seed)
    burst = synth.offset(*GUN, 90.0, 3_000.0)
    r = synth.Reports()
    post = synth.offset(*GUN, 300.0, 6_000.0)
    synth.bearing_report(r, 0, post, GUN, 100.0, 1.0, rng, source="op-0",
                         explosion_type=typed)
    south = synth.offset(*GUN, 180.0, 4_000.0)
    pair = [south, synth.offset(*south, 90.0, 1_200.0)]
    for k, s in enumerate(pair):
        synth.arrival_report(r, 0, s, GUN, 100.0, 0.01, rng, source=f"s-{k}")
    synth.arrival_report(r, 1, synth.offset(*south, 45.0, 900.0), burst, 120.0, 0.01, rng,
                         source="s-2")
    for k, s in enumerate(synth.array_around(synth.offset(*burst, 30.0, 2_500.0))):
        synth.arrival_report(r, 1, s, burst, 120.0, 0.01, rng, source=f"b-{k}")
    ev = np.asarray(r.event)
    labels = np.where(np.arange(len(ev)) < 4, 0, 1).astype(np.int64)
    return r, labels


def test_the_burst_s_arrival_leaves_the_launch_s_group() -> None:
    """The launch's fit rejects the burst's arrival and ``widen`` grows its ellipse; the
    burst's fix timed by its own four arrivals explains that arrival: it alone leaves, the
    bearing and the launch's two arrivals stay; without the burst's fix nothing moves."""
    for seed in (1, 2, 3):
        r, labels = _shot(seed)
        b = r.batch()
        cd = candidates(b, GroupingParams())
        fx = locate(b, labels, cd, LocateParams())
        assert fx.located[0] and fx.widen[0] > 1.0 and fx.located[1]
        new = shed_heard_elsewhere(b, labels, fx, cd, LocateParams())
        assert len(np.unique(new[:3])) == 1
        assert new[3] not in set(new[:3]) | set(new[4:])
        assert len(np.unique(new[4:])) == 1
        # the burst not located (its arrivals left out): no sound explains the arrival
        keep = np.arange(4)
        fa = locate(b.take(keep), labels[keep], cd.take(keep), LocateParams())
        sub = labels[keep]
        assert shed_heard_elsewhere(b.take(keep), sub, fa, cd.take(keep), LocateParams()) is sub
        # switched off: nothing
        off = HeardElsewhereParams(enabled=False)
        assert shed_heard_elsewhere(b, labels, fx, cd, LocateParams(), off) is labels


def test_a_burst_s_bearing_takes_out_no_sound_heard_after_it() -> None:
    """The same group with its bearing typed a burst's: the sound that explains the arrival
    comes 20 s after the group's own, so it cannot be the launch a burst's group may hold."""
    r, labels = _shot(1, "impact")
    b = r.batch()
    cd = candidates(b, GroupingParams())
    fx = locate(b, labels, cd, LocateParams())
    assert fx.widen[0] > 1.0
    assert shed_heard_elsewhere(b, labels, fx, cd, LocateParams()) is labels
