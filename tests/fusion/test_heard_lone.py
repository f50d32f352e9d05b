"""Arrivals that no test can place within their event, joined to it where it is the only one
they could be of (:mod:`truceline.core.fusion.heard`, ``lone_event`` and ``single_window``):
one sensor's arrival near one shot the posts located, an array's arrivals of a launch whose
burst nobody located; left apart where another shot is within hearing and time."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tests.fusion import synth
from tests.fusion.test_heard import BURST, GUN, MID, ON, _array, _fuse, _group_of, _shot
from truceline.core.fusion.locate import M_ARRIVAL

BEFORE = replace(ON, heard=replace(ON.heard, lone_event=False, single_window=False,
                                      late=False))


def _one_sensor(r: synth.Reports, bang: tuple[float, float], t: float,
                rng: np.random.Generator) -> None:
    """One sensor 10 km south of the shot's middle hears ``bang`` (untyped, no bearing)."""
    _array(r, 0, [synth.offset(*MID, 180.0, 10_000.0)], bang, t, rng)


def test_one_arrival_joins_the_only_shot_within_hearing_and_time():
    """The posts located the launch and the burst (their times a monitor's minute); one
    sensor heard the launch. One arrival tests nothing but the window, so it stayed an
    incident of its own; this shot is the only event within hearing whose window holds it:
    it joins the shot's incident, and no fix moves (nothing says which sound it was)."""
    for seed in (51, 52, 53):
        rng = np.random.default_rng(seed)
        r = synth.Reports()
        _shot(r, 0, GUN, BURST, 100.0, rng)
        _one_sensor(r, GUN, 100.0, rng)
        before = _fuse(r, BEFORE)
        (a,) = _group_of(before, r, "ac")
        assert a not in _group_of(before, r, "op0")
        res = _fuse(r, ON)
        (g,) = _group_of(res, r, "ac")
        shot = _group_of(res, r, "op0")
        assert g in shot and res.partner[g] in shot
        assert not res.fixes.method[g] & M_ARRIVAL
        for grp in shot:
            assert (res.fixes.x[grp], res.fixes.y[grp]) in {
                (before.fixes.x[k], before.fixes.y[k]) for k in _group_of(before, r, "op0")}


def test_one_arrival_with_another_shot_in_hearing_and_time_stays_apart():
    """A second shot 8 km north, 40 s later: the arrival could be of either; it joins
    neither."""
    rng = np.random.default_rng(54)
    r = synth.Reports()
    _shot(r, 0, GUN, BURST, 100.0, rng)
    gun2 = synth.offset(*GUN, 0.0, 8_000.0)
    _shot(r, 1, gun2, synth.offset(*gun2, 90.0, 9_000.0), 140.0, rng)
    _one_sensor(r, GUN, 100.0, rng)
    res = _fuse(r, ON)
    (g,) = _group_of(res, r, "ac")
    assert g not in _group_of(res, r, "op")


def test_an_arrays_arrivals_join_a_launch_whose_burst_nobody_located():
    """Only the launch was seen (three posts); an array of two sensors 18 km south heard it
    (too far for grouping to pair its arrivals with the posts).
    The differences fit the gun, but the gun's event is the launch alone and untimed, so its
    burst, wherever it was, might be what the array heard, and the arrivals stayed apart.
    Either way they are a sound of this shot: they join its incident, the fix unmoved."""
    for seed in (55, 56, 57):
        rng = np.random.default_rng(seed)
        r = synth.Reports()
        for k, post in enumerate(synth.posts_around(GUN, 3, rng)):
            d = synth.GEOD.inv(*post, *GUN)[2]
            synth.bearing_report(r, 0, post, GUN, 100.0, 2.0, rng, source=f"op0o{k}",
                                 band=(d - 1_000.0, d + 1_000.0), explosion_type="outgoing")
        centre = synth.offset(*GUN, 180.0, 18_000.0)
        _array(r, 0, [centre, synth.offset(*centre, 90.0, 1_500.0)], GUN, 100.0, rng)
        before = _fuse(r, BEFORE)
        (a,) = _group_of(before, r, "ac")
        (o,) = _group_of(before, r, "op0o")
        assert a != o
        res = _fuse(r, ON)
        (g,) = _group_of(res, r, "ac")
        assert _group_of(res, r, "op0o") == {g}
        assert not res.fixes.method[g] & M_ARRIVAL
        assert (res.fixes.x[g], res.fixes.y[g]) == (before.fixes.x[o], before.fixes.y[o])


def test_one_arrival_that_may_be_the_launch_of_a_located_burst_joins_no_other_shot():
    """Baseline seed 3's wrong join, made small. A post alone sees a gun fire (its minute's
    window, no arrival times it); one sensor 22 km south (beyond grouping's reach) hears a
    bang whose time fits that gun. It was the launch of another shot, from a gun 12 km west
    of the sensor, whose burst (45 km from the lone gun: no link) three posts and an array
    located and timed 50 s later; nobody saw that launch. A burst makes no sound heard
    before it, so the only located sound in reach was the lone gun's, and the arrival joined
    its incident (whose finding then held the other shot's report). The launch of a located,
    unlinked burst is heard a flight time before it: the arrival joins neither. Without the
    other shot it still joins the lone gun."""
    for seed in (61, 62, 63):
        for other in (True, False):
            rng = np.random.default_rng(seed)
            r = synth.Reports()
            post = synth.posts_around(GUN, 1, rng)[0]
            d = synth.GEOD.inv(*post, *GUN)[2]
            synth.bearing_report(r, 0, post, GUN, 100.0, 2.0, rng, source="op0o0",
                                 band=(d - 1_000.0, d + 1_000.0), explosion_type="outgoing")
            r.cols["time_precision_s"][-1] = 60.0  # a monitor's minute
            sensor = synth.offset(*GUN, 180.0, 22_000.0)
            gun2 = synth.offset(*sensor, 270.0, 12_000.0)
            burst2 = synth.offset(*gun2, 200.0, 20_000.0)
            t2 = 165.0 - synth.GEOD.inv(*gun2, *sensor)[2] / synth.sound_speed(10.0)
            _array(r, 9, [sensor], gun2, t2, rng)  # the lone sensor hears the launch
            if other:
                for k, p2 in enumerate(synth.posts_around(burst2, 3, rng)):
                    d2 = synth.GEOD.inv(*p2, *burst2)[2]
                    synth.bearing_report(r, 1, p2, burst2, t2 + 50.0, 2.0, rng,
                                         source=f"op1i{k}", band=(d2 - 1_000.0, d2 + 1_000.0),
                                         explosion_type="impact")
                centre = synth.offset(*burst2, 20.0, 5_000.0)
                _array(r, 1, [centre, synth.offset(*centre, 90.0, 1_500.0),
                              synth.offset(*centre, 0.0, 1_500.0)], burst2, t2 + 50.0, rng)
            res = _fuse(r, ON)
            (g,) = _group_of(res, r, "ac9")
            if other:
                (b,) = _group_of(res, r, "op1i")
                assert res.fixes.method[b] & M_ARRIVAL  # the burst is timed
                assert g not in _group_of(res, r, "op0o") | _group_of(res, r, "op1i")
            else:
                assert _group_of(res, r, "op0o") == {g}


def test_an_arrays_arrivals_join_a_launch_typed_only_by_its_burst():
    """Three posts see a bang they cannot type ("undetermined"), three others its burst 9 km
    east 26 s later; an array of two sensors 18 km south hears the bang. While the arrivals
    are tested the bang's fix is alone in its event and untimed (its burst, wherever it was,
    might be what the array heard), so they stay apart; only later is the fix typed as the
    only launch of the burst and linked to it. At the end the same test places the arrivals
    within that one event, at the launch: they join its incident, the fix unmoved."""
    late_off = replace(ON, heard=replace(ON.heard, late=False))
    for seed in (71, 72, 73):
        rng = np.random.default_rng(seed)
        r = synth.Reports()
        for part, where, kind, dt in (("o", GUN, "undetermined", 0.0),
                                      ("i", BURST, "impact", 26.0)):
            for k, post in enumerate(synth.posts_around(where, 3, rng)):
                d = synth.GEOD.inv(*post, *where)[2]
                synth.bearing_report(r, 0, post, where, 100.0 + dt, 2.0, rng,
                                     source=f"op0{part}{k}", band=(d - 1_000.0, d + 1_000.0),
                                     explosion_type=kind)
        centre = synth.offset(*GUN, 180.0, 18_000.0)
        _array(r, 0, [centre, synth.offset(*centre, 90.0, 1_500.0)], GUN, 100.0, rng)
        before = _fuse(r, late_off)
        (o,) = _group_of(before, r, "op0o")
        (i,) = _group_of(before, r, "op0i")
        assert before.partner[o] == i  # typed and linked: the only launch of the burst
        (a,) = _group_of(before, r, "ac")
        assert a not in {o, i}
        res = _fuse(r, ON)
        (g,) = _group_of(res, r, "ac")
        assert _group_of(res, r, "op0o") == {g}
        assert not res.fixes.method[g] & M_ARRIVAL
        assert (res.fixes.x[g], res.fixes.y[g]) == (before.fixes.x[o], before.fixes.y[o])
