"""An array's unlocated arrivals joined to the event other reports located: launch or burst
by which part the arrival times fit, and left apart when two events fit."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tests.fusion import synth
from tests.fusion.synth import LINE_LON
from truceline.core.fusion.batch import ROLE_IMPACT, ROLE_ORIGIN
from truceline.core.fusion.heard import HeardParams, heard_chi2
from truceline.core.fusion.locate import M_ARRIVAL
from truceline.core.fusion.pipeline import FusionParams, FusionResult, fuse_batch
from truceline.core.fusion.same_shot import SameShotParams

GUN = (LINE_LON - 0.07, 48.0)  # ~5 km west of the line
BURST = synth.offset(*GUN, 90.0, 9_000.0)  # ~4 km east of it
MID = synth.offset(*GUN, 90.0, 4_500.0)
ON = FusionParams()
OFF = replace(ON, heard=HeardParams(enabled=False))


def test_the_arrival_differences_fit_the_true_point_and_not_another():
    # sensors 1.5 km apart; a bang 10 km away at 60 deg; the fix is known to 100 m
    sx, sy = np.array([[0.0, 1_500.0]]), np.zeros((1, 2))
    c = np.full((1, 2), 330.0)
    P = np.eye(2)[None] * 100.0**2
    wdir = np.zeros((1, 2, 2))
    p = HeardParams()
    for az, want in ((60.0, True), (80.0, False)):
        px = np.array([10_000 * np.sin(np.radians(60))])
        py = np.array([10_000 * np.cos(np.radians(60))])
        arr = 5.0 + np.hypot(px[:, None] - sx, py[:, None] - sy) / c
        qx, qy = 10_000 * np.sin(np.radians(az)), 10_000 * np.cos(np.radians(az))
        chi, t0, t0_sd, blur = heard_chi2(sx, sy, arr, c, wdir, np.array([qx]), np.array([qy]), P,
                                    np.array([0.5]), p)
        assert bool(chi[0] <= 6.63) is want
        assert blur[0] < 0.05
        if want:
            assert abs(t0[0] - 5.0) < 3 * t0_sd[0] + 0.01


def _array(r: synth.Reports, event: int, sensors: list[tuple[float, float]],
           bang: tuple[float, float], t: float, rng: np.random.Generator) -> None:
    """Two sensors' arrivals of one bang: no bearing, "undetermined" (an array cannot tell a
    launch from a burst), with the sensors' air."""
    for k, s in enumerate(sensors):
        dist = synth.GEOD.inv(*bang, *s)[2]
        arr = t + dist / synth.sound_speed(10.0) + rng.normal(0, 0.01)
        r.add(event, id=f"a{event}-{k}", source_id=f"ac{event}-{k}", source_type="sensor",
              time_s=arr, time_precision_s=1.0, fire_type="explosion",
              explosion_type="undetermined", observer_lon=s[0], observer_lat=s[1],
              arrival_s=arr, temperature_c=10.0, wind_u_ms=0.0, wind_v_ms=0.0)


def _shot(r: synth.Reports, event: int, gun: tuple[float, float], burst: tuple[float, float],
          t: float, rng: np.random.Generator) -> None:
    """Three posts see the launch, three the burst (bearing and band each)."""
    for part, where, kind, dt in (("o", gun, "outgoing", 0.0), ("i", burst, "impact", 26.0)):
        for k, post in enumerate(synth.posts_around(where, 3, rng)):
            d = synth.GEOD.inv(*post, *where)[2]
            synth.bearing_report(r, event, post, where, t + dt, 2.0, rng,
                                 source=f"op{event}{part}{k}", band=(d - 1_000.0, d + 1_000.0),
                                 explosion_type=kind)


def _fuse(r: synth.Reports, params: FusionParams) -> FusionResult:
    r.cols["weapon_class"] = ["tube_artillery" if s.startswith("op") else None
                              for s in r.cols["source_id"]]
    return fuse_batch(r.batch(), synth.geometry(), params)


def _group_of(res: FusionResult, r: synth.Reports, prefix: str) -> set[int]:
    return {int(res.labels[k]) for k, s in enumerate(r.cols["source_id"]) if s.startswith(prefix)}


def test_an_arrays_two_arrivals_join_the_launch_they_fit_and_refine_it():
    """A gun west of the line and its burst east of it, each seen by three posts (linked into
    one shot); an array 10 km south of the shot hears the launch. Grouping cannot tell
    which of the two groups the two arrivals belong to (both fit their sensors' area and
    time), so they stayed an unlocated incident of their own. The arrival-time difference
    fits the gun, not the burst: they join the origin, whose fix now uses them."""
    rng = np.random.default_rng(5)
    centre = synth.offset(*MID, 180.0, 10_000.0)
    sensors = [centre, synth.offset(*centre, 90.0, 1_500.0)]
    r = synth.Reports()
    _shot(r, 0, GUN, BURST, 100.0, rng)
    _array(r, 0, sensors, GUN, 100.0, rng)
    off = _fuse(r, OFF)
    assert _group_of(off, r, "ac") & (_group_of(off, r, "op0o") | _group_of(off, r, "op0i")) \
        == set()
    res = _fuse(r, ON)
    (g,) = _group_of(res, r, "ac")
    assert _group_of(res, r, "op0o") == {g}
    assert res.role[g] == ROLE_ORIGIN and res.fixes.located[g]
    assert res.fixes.method[g] & M_ARRIVAL
    assert res.partner[g] >= 0 and res.role[res.partner[g]] == ROLE_IMPACT
    x, y = synth.true_xy([GUN])[0]
    assert synth.true_cov_frame_error(res.fixes.x[g], res.fixes.y[g], res.fixes.cov[g],
                                      np.array([x, y])) < 13.8
    assert res.prob[g, list(res.parties).index("west")] >= 0.9


def test_the_arrivals_of_the_burst_join_the_impact():
    rng = np.random.default_rng(6)
    centre = synth.offset(*MID, 180.0, 10_000.0)
    sensors = [centre, synth.offset(*centre, 90.0, 1_500.0)]
    r = synth.Reports()
    _shot(r, 0, GUN, BURST, 100.0, rng)
    _array(r, 0, sensors, BURST, 126.0, rng)
    res = _fuse(r, ON)
    (g,) = _group_of(res, r, "ac")
    assert _group_of(res, r, "op0i") == {g} and res.role[g] == ROLE_IMPACT
    assert _group_of(res, r, "op0o") != {g}


def test_two_events_the_arrivals_fit_alike_leave_them_apart():
    """A second shot ten seconds later, its gun on the same bearing from the array and
    nearer: both guns' points predict the same arrival-time difference, so the arrivals join
    neither (alone, the first shot takes them)."""
    rng = np.random.default_rng(7)
    centre = synth.offset(*GUN, 225.0, 12_000.0)
    sensors = [centre, synth.offset(*centre, 90.0, 1_500.0)]
    gun2 = synth.offset(*centre, 45.0, 7_000.0)
    burst2 = synth.offset(*gun2, 90.0, 9_000.0)
    for rival in (False, True):
        r = synth.Reports()
        _shot(r, 0, GUN, BURST, 100.0, rng)
        if rival:
            _shot(r, 1, gun2, burst2, 110.0, rng)
        _array(r, 0, sensors, GUN, 100.0, rng)
        res = _fuse(r, ON)
        (g,) = _group_of(res, r, "ac")
        assert bool(res.fixes.located[g]) is not rival
        assert (_group_of(res, r, "op0o") == {g}) is not rival
        if rival:
            for part in ("op0i", "op1o", "op1i"):
                assert g not in _group_of(res, r, part)


def test_a_refit_with_joined_arrivals_states_the_error_they_were_joined_with():
    """150 shots, each seen by three posts (launch and burst) and its launch heard by two
    sensors of an array 8-14 km south whose arrival times are good to the join's own 20 ms
    (``HeardParams.arrival_sd_s``: its test accepts them on that). The launch is refitted
    with them. Weighted at the locate's 10 ms, the refit claimed twice the precision the
    join allowed and its 95 % ellipse covered the gun for 0.87 of the shots; with the
    joined rows' error in the stated covariance (``heard.joined_cov``), about 95 %."""
    rng = np.random.default_rng(14)
    sd = HeardParams().arrival_sd_s
    r = synth.Reports()
    guns = []
    for e in range(150):
        gun = synth.offset(*GUN, 0.0, float(rng.uniform(-20_000, 20_000)))
        burst = synth.offset(*gun, 90.0, 9_000.0)
        t = 600.0 * e
        _shot(r, e, gun, burst, t, rng)
        centre = synth.offset(*synth.offset(*gun, 90.0, 4_500.0), 180.0,
                              float(rng.uniform(8_000, 14_000)))
        for k, s in enumerate([centre, synth.offset(*centre, 90.0, 1_500.0)]):
            synth.arrival_report(r, e, s, gun, t, sd, rng, source=f"ac{e}-{k}")
        r.cols["explosion_type"][-2:] = ["undetermined"] * 2
        guns.append(gun)
    res = _fuse(r, ON)
    truth = synth.true_xy(guns)
    inside, refit = [], 0
    for e in range(150):
        (g,) = _group_of(res, r, f"op{e}o")
        if not (res.fixes.located[g] and _group_of(res, r, f"ac{e}-") == {g}
                and res.fixes.method[g] & M_ARRIVAL):
            continue
        refit += 1
        inside.append(synth.true_cov_frame_error(res.fixes.x[g], res.fixes.y[g],
                                                 res.fixes.cov[g], truth[e]) <= 5.991)
    assert refit >= 100
    assert 0.93 <= float(np.mean(inside)) <= 0.99


def test_an_arrays_three_arrivals_located_alone_join_the_launch_and_refine_it():
    """Three arrivals of one array fix the bang on their own, at one of the two crossings of
    their hyperbolas (``locate._two_roots``), so grouping left them an incident of their own
    beside the shot the posts located, and the shot's fix did not use them. Their
    differences fit the gun, not the burst: they join the origin and its fix uses them,
    although with the array 14 km off the posts' fix blurs what it predicts by more than
    ``max_blur`` (the test is not sharp; the refit still rejects nothing)."""
    x, y = synth.true_xy([GUN])[0]
    for seed in (21, 22, 23):
        rng = np.random.default_rng(seed)
        centre = synth.offset(*MID, 180.0, 14_000.0)
        sensors = [centre, synth.offset(*centre, 90.0, 1_500.0),
                   synth.offset(*centre, 0.0, 1_500.0)]
        r = synth.Reports()
        _shot(r, 0, GUN, BURST, 100.0, rng)
        _array(r, 0, sensors, GUN, 100.0, rng)
        # nor joined at the end as a looser fix of the launch (.same_shot)
        off = _fuse(r, replace(OFF, same_shot=SameShotParams(enabled=False)))
        (a,) = _group_of(off, r, "ac")
        assert off.fixes.located[a] and a not in _group_of(off, r, "op0")
        res = _fuse(r, ON)
        (g,) = _group_of(res, r, "ac")
        assert _group_of(res, r, "op0o") == {g} and res.role[g] == ROLE_ORIGIN
        assert res.fixes.method[g] & M_ARRIVAL
        assert synth.true_cov_frame_error(res.fixes.x[g], res.fixes.y[g], res.fixes.cov[g],
                                          np.array([x, y])) < 13.8


def test_arrivals_joined_to_a_loose_fix_refine_it():
    """The launch seen by two posts 8-10 km off with 6° bearings is known to a kilometre or
    so, and from an array 10 km south it predicts the arrival-time difference only loosely
    (more than ``max_blur`` of its span): the join's test is not sharp. The arrivals still
    fit the gun and not the burst by far more than ``part_margin``, so they join the origin
    and its fix uses them, as it would any report of its event; it had kept the posts' fix
    and left the joined arrivals out of it."""
    x, y = synth.true_xy([GUN])[0]
    errs = []
    for seed in (31, 32, 33, 34):
        rng = np.random.default_rng(seed)
        r = synth.Reports()
        for k, post in enumerate(synth.posts_around(GUN, 2, rng, dist=(8_000.0, 10_000.0),
                                                    spread_deg=90.0)):
            synth.bearing_report(r, 0, post, GUN, 100.0, 6.0, rng, source=f"op0o{k}",
                                 explosion_type="outgoing")
        for k, post in enumerate(synth.posts_around(BURST, 3, rng)):
            d = synth.GEOD.inv(*post, *BURST)[2]
            synth.bearing_report(r, 0, post, BURST, 126.0, 2.0, rng, source=f"op0i{k}",
                                 band=(d - 1_000.0, d + 1_000.0), explosion_type="impact")
        centre = synth.offset(*GUN, 180.0, 10_000.0)
        sensors = [centre, synth.offset(*centre, 90.0, 1_500.0)]
        _array(r, 0, sensors, GUN, 100.0, rng)
        res = _fuse(r, ON)
        (g,) = _group_of(res, r, "ac")
        assert _group_of(res, r, "op0o") == {g} and res.role[g] == ROLE_ORIGIN
        assert res.fixes.method[g] & M_ARRIVAL
        errs.append(float(np.hypot(res.fixes.x[g] - x, res.fixes.y[g] - y)))
    assert max(errs) < 1_000.0


def test_arrivals_tested_with_one_air_join_though_each_sensors_reading_errs():
    """The array 18 km south of the shot (a minute of travel) hears the launch in still air
    at 10 °C, and each sensor writes down its own reading of the air: one 10.5 °C, the other
    9.5 °C (one sd of a sensor's thermometer; likewise its wind). Taken sensor by sensor,
    that puts 0.1 s between the two predicted arrivals, five times the join's 20 ms, and the
    arrivals failed the launch's test and stayed an incident of their own (on a simulated
    week, 48 of the 128 groups whose true part failed the test). The air is one along both
    paths: tested with the mean of the readings, as locate fixes, they join the origin."""
    for seed in (41, 42, 43):
        rng = np.random.default_rng(seed)
        centre = synth.offset(*MID, 180.0, 18_000.0)
        sensors = [centre, synth.offset(*centre, 90.0, 1_500.0)]
        r = synth.Reports()
        _shot(r, 0, GUN, BURST, 100.0, rng)
        for k, (s, temp, wind) in enumerate(zip(sensors, (10.5, 9.5), (0.5, -0.5),
                                                strict=True)):
            arr = 100.0 + synth.GEOD.inv(*GUN, *s)[2] / synth.sound_speed(10.0) \
                + rng.normal(0, 0.01)
            r.add(0, id=f"a0-{k}", source_id=f"ac0-{k}", source_type="sensor", time_s=arr,
                  time_precision_s=1.0, fire_type="explosion", explosion_type="undetermined",
                  observer_lon=s[0], observer_lat=s[1], arrival_s=arr, temperature_c=temp,
                  wind_u_ms=wind, wind_v_ms=-wind)
        res = _fuse(r, ON)
        (g,) = _group_of(res, r, "ac")
        assert _group_of(res, r, "op0o") == {g} and res.role[g] == ROLE_ORIGIN
        assert res.fixes.method[g] & M_ARRIVAL
