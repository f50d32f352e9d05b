"""An array that alone heard a shot's launch, whose burst other arrays fixed and timed: its
arrivals join the burst's incident (:mod:`truceline.core.fusion.heard_other`), unless
another timed bang could be that shot's other sound too."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tests.fusion import synth
from tests.fusion.test_heard import BURST, GUN, MID, ON, _array, _fuse, _group_of

OFF = replace(ON, heard=replace(ON.heard, other=False))


def _fixed(r: synth.Reports, event: int, bang: tuple[float, float], t: float,
           rng: np.random.Generator) -> None:
    """An array of four sensors 3 km east of ``bang`` fixes and times it (untyped)."""
    centre = synth.offset(*bang, 90.0, 3_000.0)
    sensors = [synth.offset(*centre, az, 800.0) for az in (0.0, 90.0, 180.0, 270.0)]
    for k, s in enumerate(sensors):
        dist = synth.GEOD.inv(*bang, *s)[2]
        arr = t + dist / synth.sound_speed(10.0) + rng.normal(0, 0.01)
        r.add(event, id=f"b{event}-{k}", source_id=f"bc{event}-{k}", source_type="sensor",
              time_s=arr, time_precision_s=1.0, fire_type="explosion",
              explosion_type="undetermined", observer_lon=s[0], observer_lat=s[1],
              arrival_s=arr, temperature_c=10.0, wind_u_ms=0.0, wind_v_ms=0.0)


def _setup(rival: bool) -> synth.Reports:
    # the gun fires at 100 s, its shell bursts 9 km east at 126 s (fixed by an array); an
    # array of two sensors 10 km south of the shot's middle hears only the launch; nobody
    # sees the gun. ``rival``: another bang fixed 15 km north of the burst at 140 s
    rng = np.random.default_rng(11)
    centre = synth.offset(*MID, 180.0, 10_000.0)
    r = synth.Reports()
    _fixed(r, 0, BURST, 126.0, rng)
    if rival:
        _fixed(r, 1, synth.offset(*BURST, 0.0, 15_000.0), 140.0, rng)
    _array(r, 0, [centre, synth.offset(*centre, 90.0, 1_500.0)], GUN, 100.0, rng)
    return r


def test_an_arrays_lone_launch_joins_the_timed_burst():
    r = _setup(rival=False)
    off = _fuse(r, OFF)
    (a,) = _group_of(off, r, "ac")
    (i,) = _group_of(off, r, "bc0")
    assert a != i and off.fixes.located[i] and not off.fixes.located[a]
    res = _fuse(r, ON)
    (i,) = _group_of(res, r, "bc0")
    assert _group_of(res, r, "ac") == {i}
    # no fix moves: the arrivals are the launch's, not the burst's
    (h,) = _group_of(off, r, "bc0")
    assert np.isclose(res.fixes.x[i], off.fixes.x[h])
    assert np.isclose(res.fixes.y[i], off.fixes.y[h])


def test_two_timed_bangs_that_could_be_its_other_sound_leave_it_apart():
    r = _setup(rival=True)
    res = _fuse(r, ON)
    (a,) = _group_of(res, r, "ac")
    assert a not in _group_of(res, r, "bc0") | _group_of(res, r, "bc1")


def test_the_compiled_search_gives_the_array_forms_points_bit_for_bit():
    """:func:`heard_other._points` (compiled, point by point) and :func:`_points_array` (the
    form it replaced) give the same fitting points, emission times and sds, bit for bit,
    for arrays of two to seven sensors in a wind, and eight (the array form's own)."""
    from truceline.core.fusion import heard_other

    rng = np.random.default_rng(3)
    for m in range(2, 9):
        r = synth.Reports()
        centre = synth.offset(*MID, 180.0, 10_000.0)
        sensors = [synth.offset(*centre, az, 700.0) for az in np.linspace(0, 360, m + 1)[:-1]]
        for k, s in enumerate(sensors):
            arr = 100.0 + synth.GEOD.inv(*GUN, *s)[2] / synth.sound_speed(4.0) \
                + rng.normal(0, 0.01)
            r.add(0, id=f"a-{k}", source_id=f"ac-{k}", source_type="sensor", time_s=arr,
                  time_precision_s=1.0, fire_type="explosion", explosion_type="undetermined",
                  observer_lon=s[0], observer_lat=s[1], arrival_s=arr, temperature_c=4.0,
                  wind_u_ms=-6.5 + k * 0.3, wind_v_ms=2.0)
        b = r.batch()
        rows = np.arange(m)
        got = heard_other._points(b, rows, ON.heard)
        want = heard_other._points_array(b, rows, ON.heard)
        assert len(got[0]) > 0
        for g, w in zip(got, want, strict=True):
            assert g.tobytes() == w.tobytes()
