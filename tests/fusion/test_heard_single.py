"""One arrival that fits a timed part, with a part it cannot test (no arrival timed it) whose
window also holds it: joined to the timed part where that one is far likelier
(:attr:`truceline.core.fusion.heard.HeardParams.single_lr`), apart otherwise."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tests.fusion import synth
from tests.fusion.test_heard import BURST, MID
from truceline.core.fusion.heard import HeardParams, join_heard


def _case(t_heard: float, rival_window_s: float) -> tuple:
    """``join_heard``'s arguments: group 0 a burst fixed to 20 m and timed by arrivals at
    126 s (window +-0.3 s); group 1 a bang 5 km west of the sensor that posts located to 300 m,
    not timed (a window ``rival_window_s`` wide that holds the arrival); group 2 one sensor 10 km
    south of the shot's middle that heard a bang emitted at the burst at ``t_heard``."""
    sensor = synth.offset(*MID, 180.0, 10_000.0)
    rival = synth.offset(*sensor, 270.0, 5_000.0)
    arr = t_heard + synth.GEOD.inv(*BURST, *sensor)[2] / synth.sound_speed(10.0)
    r = synth.Reports()
    r.add(0, id="a", source_id="ac", source_type="sensor", time_s=arr, time_precision_s=1.0,
          fire_type="explosion", explosion_type="undetermined", observer_lon=sensor[0],
          observer_lat=sensor[1], arrival_s=arr, temperature_c=10.0, wind_u_ms=0.0,
          wind_v_ms=0.0)
    b = r.batch()
    (bx, by), (rx, ry) = synth.true_xy([BURST, rival])
    x, y = np.array([bx, rx, np.nan]), np.array([by, ry, np.nan])
    cov = np.stack([np.eye(2) * 20.0**2, np.eye(2) * 300.0**2, np.eye(2)])
    # the rival's window centred on the time the arrival implies there (5 km of sound)
    mid = arr - 5_000.0 / synth.sound_speed(10.0)
    lo = np.array([125.7, mid - rival_window_s / 2, np.nan])
    hi = np.array([126.3, mid + rival_window_s / 2, np.nan])
    return (b, np.array([2]), x, y, cov, np.array([True, True, False]), lo, hi,
            np.full(3, -1), np.array([False, False, True]), np.array([True, False, False]))


def test_one_arrival_joins_the_timed_burst_it_fits_over_a_bang_it_cannot_test():
    """The arrival's emission time at the burst is within a few hundredths of a second of
    the array's; over the posts' four-minute window it is a chance in hundreds: it joins the
    burst (before, the posts' bang counted as an alternative and it stayed apart)."""
    case = _case(126.0, 240.0)
    u, g, _ = join_heard(*case, HeardParams())
    assert list(u) == [2] and list(g) == [0]
    u, _, _ = join_heard(*case, replace(HeardParams(), single_lr=0.0))
    assert not len(u)


def test_one_arrival_stays_apart_where_the_untimed_window_is_narrow_or_the_fit_poor():
    """A window of two seconds (a camera) makes the untimed bang nearly as likely; an
    emission time 1 s off the burst's makes the burst far less likely: apart either way."""
    for t_heard, window in ((126.0, 2.0), (127.0, 240.0)):
        u, _, _ = join_heard(*_case(t_heard, window), HeardParams())
        assert not len(u), (t_heard, window)
