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


def _search_case(rng: np.random.Generator) -> tuple:
    """:func:`sound_grid.fitting`'s arguments for a random array (2-7 sensors, 20 m to
    2.5 km apart, at grid coordinates up to 1,000 km out) in a wind of up to ~25 m/s, with
    scale factors 1 +- 1e-3 and arrivals at epoch seconds: most from one source within
    hearing (timing sd 0.02 s), some from none."""
    from scipy.stats import chi2

    from truceline.core.fusion import sound_grid

    m = int(rng.integers(2, 8))
    spread = float(rng.choice([20.0, 100.0, 500.0, 1_500.0, 2_500.0]))
    base = rng.uniform(-1e6, 1e6, 2) if rng.random() < 0.5 else np.zeros(2)
    sx, sy = base[0] + rng.normal(0, spread, m), base[1] + rng.normal(0, spread, m)
    c, (wu, wv) = float(rng.uniform(320.0, 350.0)), rng.normal(0.0, 8.0, 2)
    k = 1.0 + rng.normal(0.0, 5e-4, m)
    src = np.array([sx.mean(), sy.mean()]) + rng.uniform(-25_000.0, 25_000.0, 2)
    a = 1.74e9 + np.hypot(sx - src[0], sy - src[1]) / c + rng.normal(0.0, 0.02, m)
    if rng.random() < 0.2:
        a = 1.74e9 + rng.uniform(0.0, 30.0, m)
    return (float(sx.mean()), float(sy.mean()), *sound_grid.grid(25_000.0), sx, sy, a, k,
            c, float(wu), float(wv), 0.02, float(chi2.ppf(0.99, m - 1)), 4.0)


def test_the_pruned_search_gives_every_grid_points_bit_for_bit():
    """:func:`sound_grid.fitting` skips blocks of directions its bounds rule out; it gives
    the points, emission times and sds of the full grid's array form, bit for bit."""
    from truceline.core.fusion import sound_grid

    rng = np.random.default_rng(5)
    for _ in range(60):
        args = _search_case(rng)
        got, want = sound_grid.fitting(*args), sound_grid.fitting_array(*args)
        for g, w in zip(got, want, strict=True):
            assert g.tobytes() == w.tobytes()


def _grid_fits(args: tuple) -> tuple[np.ndarray, int]:
    """Which points of a search case's grid (ranges x directions) the array form
    (:func:`sound_grid.fitting_array`) finds fitting, and how many points it returned."""
    from truceline.core.fusion import sound_grid as sg

    cx, cy, rr, sin_az, cos_az = args[:5]
    px, py = cx + np.outer(rr, sin_az), cy + np.outer(rr, cos_az)
    got = sg.fitting_array(*args)
    return np.isin(px + 1j * py, got[0] + 1j * got[1]), len(got[0])


def test_the_arc_bound_never_skips_a_direction_that_fits():
    """:func:`sound_grid._arc_passes` on every block of directions of every range where
    :func:`_fitting` asks it: a block it rules out holds no point that fits, and it rules
    out most of them (what makes the search cheap)."""
    from truceline.core.fusion import sound_grid as sg

    rng = np.random.default_rng(8)
    tested = skipped = 0
    for _ in range(12):
        cx, cy, rr, sin_az, cos_az, sx, sy, a, k, c, wu, wv, sd, chi_max, _ = \
            args = _search_case(rng)
        fit, found = _grid_fits(args)
        assert fit.sum() == found
        reach = float(np.hypot(sx - cx, sy - cy).max())
        wn = float(np.hypot(wu, wv))
        A, B = sg._slopes(sx, sy, k, c, wn)
        eps = 1e-9 + 1e-14 * (float(np.abs(a).max()) + 1e3)
        step, e, d = 2.0 * np.pi / len(sin_az), np.empty(len(sx)), np.empty(len(sx))
        for i, r in enumerate(rr):
            if r - reach <= 1.0:
                continue
            for size in (sg.COARSE, sg.FINE):
                for j0 in range(0, len(sin_az), size):
                    j1 = min(len(sin_az), j0 + size)
                    tested += 1
                    if not sg._arc_passes(cx, cy, float(r), j0, j1, sin_az, cos_az, step,
                                          reach / r, sx, sy, a, k, c, wu, wv, sd, chi_max, A,
                                          B, eps, e, d):
                        skipped += 1
                        assert not fit[i, j0:j1].any()
    assert skipped > 0.5 * tested


def test_the_compiled_fit_test_answers_as_the_array_form():
    """:func:`sound_grid.fits` (compiled, stopping at the first point) answers as the
    array form it replaced, :func:`fits_array`, on points near and far, in time and out,
    for every role and set of classes."""
    from truceline.core.fusion import sound_grid
    from truceline.core.fusion.link import LinkParams

    windows = np.array(LinkParams().windows(), np.float64)
    rng = np.random.default_rng(2)
    answers = []
    for _ in range(2_000):
        n = int(rng.integers(0, 200))
        px, py = rng.uniform(-3e4, 3e4, n), rng.uniform(-3e4, 3e4, n)
        t0, t_sd = rng.uniform(0.0, 300.0, n), rng.uniform(0.02, 3.0, n)
        t0[rng.random(n) < 0.05] = np.nan
        x, y = rng.uniform(-3e4, 3e4, 2)
        sig, lo = float(rng.uniform(0.0, 300.0)), float(rng.uniform(-400.0, 700.0))
        hi = lo + float(rng.uniform(0.0, 100.0))
        role = int(rng.integers(0, 3))
        wins = windows[rng.permutation(len(windows))[:int(rng.integers(1, len(windows) + 1))]]
        case = (px, py, t0, t_sd, float(x), float(y), sig, lo, hi, role, wins)
        got = sound_grid.fits(*case)
        assert got == sound_grid.fits_array(*case)
        blocks = sound_grid.point_blocks(*case[:4])
        assert sound_grid.fits_blocked(*case[:4], blocks, *case[4:]) == got
        answers.append(got)
    assert 0.2 < np.mean(answers) < 0.8


ONE_OFF = replace(ON, heard=replace(ON.heard, other_one=False))


def _one_sensor(rival: str | None) -> synth.Reports:
    """:func:`_setup` with one sensor 10 km south of the shot's middle hearing the launch;
    ``rival``: ``"posts"``, three posts' bearings on a second bang 12 km west of the sensor
    at 95 s (located, no arrival timed it), or ``"bang"``, a second bang fixed and timed 15
    km north of the burst at 140 s."""
    rng = np.random.default_rng(12)
    centre = synth.offset(*MID, 180.0, 10_000.0)
    r = synth.Reports()
    _fixed(r, 0, BURST, 126.0, rng)
    if rival == "bang":
        _fixed(r, 1, synth.offset(*BURST, 0.0, 15_000.0), 140.0, rng)
    if rival == "posts":
        where = synth.offset(*centre, 270.0, 12_000.0)
        for k, post in enumerate(synth.posts_around(where, 3, rng)):
            d = synth.GEOD.inv(*post, *where)[2]
            synth.bearing_report(r, 1, post, where, 95.0, 2.0, rng, source=f"op1{k}",
                                 band=(d - 1_000.0, d + 1_000.0), explosion_type="impact")
    _array(r, 0, [centre], GUN, 100.0, rng)
    return r


def test_one_sensor_that_heard_the_launch_joins_the_timed_burst():
    """One arrival has no difference to test, but the timed burst's launch was fired a
    flight before it within the class's range, and this sensor could have heard it there;
    no other located sound could be its own: it joins the burst's incident, no fix moves."""
    r = _one_sensor(None)
    off = _fuse(r, ONE_OFF)
    (a,) = _group_of(off, r, "ac")
    (i,) = _group_of(off, r, "bc0")
    assert a != i
    res = _fuse(r, ON)
    (i,) = _group_of(res, r, "bc0")
    assert _group_of(res, r, "ac") == {i}
    (h,) = _group_of(off, r, "bc0")
    assert np.isclose(res.fixes.x[i], off.fixes.x[h])


def test_one_arrival_stays_apart_where_another_sound_could_be_its_own():
    """A second timed bang that could be the shot's other sound (the arrival joins neither),
    or a located bang no arrival timed whose window holds the arrival (one arrival cannot
    test it, so it may be the sound heard: the arrival does not join the burst)."""
    for rival, others in (("bang", ("bc0", "bc1")), ("posts", ("bc0",))):
        r = _one_sensor(rival)
        res = _fuse(r, ON)
        (a,) = _group_of(res, r, "ac")
        assert all(a not in _group_of(res, r, o) for o in others), rival


def test_one_arrivals_closed_form_holds_every_grid_point_that_fits():
    """:func:`heard_other._one_arrival` (intervals of path length per distance from the part)
    answers yes wherever the grid search of :func:`_points` (every point within hearing, one
    arrival fitting all) finds a point that is the part's other sound, and mostly as it."""
    from truceline.core.fusion import heard_other as ho
    from truceline.core.fusion import sound_grid
    from truceline.core.fusion.link import LinkParams

    windows = np.array(LinkParams().windows(), np.float64)
    rng = np.random.default_rng(4)
    r = synth.Reports()
    s = synth.offset(*MID, 180.0, 10_000.0)
    r.add(0, id="a", source_id="ac", source_type="sensor", time_s=200.0, time_precision_s=1.0,
          fire_type="explosion", explosion_type="undetermined", observer_lon=s[0],
          observer_lat=s[1], arrival_s=200.0, temperature_c=10.0, wind_u_ms=0.0,
          wind_v_ms=0.0)
    b = r.batch()
    p = replace(ON.heard, wind_sd_ms=0.0)
    pts = ho._points(b, np.array([0]), p)
    one = ho._one_arrival(b, 0, p)
    same = 0
    for _ in range(300):
        x, y = b.ox[0] + rng.uniform(-6e4, 6e4), b.oy[0] + rng.uniform(-6e4, 6e4)
        lo = float(rng.uniform(100.0, 320.0))
        case = (float(x), float(y), float(rng.uniform(0.0, 300.0)), lo,
                lo + float(rng.uniform(0.0, 10.0)), int(rng.integers(0, 3)))
        grid = sound_grid.fits(*pts, *case, windows)
        got = one(*case, windows)
        assert got or not grid
        same += got == grid
    assert same >= 0.9 * 300


def test_the_near_bound_never_skips_a_direction_that_fits():
    """:func:`sound_grid._near_passes` on every block of directions of every range within
    the array's reach (where :func:`_fitting` asks it): a block it rules out holds no point
    that fits, and it rules out a good share of them."""
    from truceline.core.fusion import sound_grid as sg

    rng = np.random.default_rng(9)
    tested = skipped = 0
    for _ in range(12):
        cx, cy, rr, sin_az, cos_az, sx, sy, a, k, c, wu, wv, sd, chi_max, _ = \
            args = _search_case(rng)
        fit, _ = _grid_fits(args)
        rho = np.hypot(sx - cx, sy - cy)
        wn = float(np.hypot(wu, wv))
        kc = float(k.min()) * (c - wn)
        wk = wn / (kc * (c - wn))
        eps = 1e-9 + 1e-14 * (float(np.abs(a).max()) + 1e3)
        step, e, d = 2.0 * np.pi / len(sin_az), np.empty(len(sx)), np.empty(len(sx))
        for i, r in enumerate(rr):
            if r - rho.max() > 1.0:
                continue
            for size in (sg.COARSE, sg.FINE):
                for j0 in range(0, len(sin_az), size):
                    j1 = min(len(sin_az), j0 + size)
                    tested += 1
                    if not sg._near_passes(cx, cy, float(r), j0, j1, sin_az, cos_az, step,
                                           rho, sx, sy, a, k, c, wu, wv, sd, chi_max, kc, wk,
                                           eps, e, d):
                        skipped += 1
                        assert not fit[i, j0:j1].any()
    assert tested > 1_000 and skipped > 0.3 * tested


def _part_case(rng: np.random.Generator, args: tuple) -> tuple:
    """A located part for :func:`sound_grid.fits_grid`: 0-60 km from the array, emitted
    around when a sound from the grid would be heard there give or take a flight, any role,
    some of the link's classes."""
    from truceline.core.fusion.link import LinkParams

    windows = np.array(LinkParams().windows(), np.float64)
    cx, cy, a = args[0], args[1], args[7]
    x, y = np.array([cx, cy]) + rng.uniform(-60_000.0, 60_000.0, 2)
    lo = float(a.mean()) + float(rng.uniform(-300.0, 300.0))
    hi = lo + float(rng.choice([0.0, 2.0, 30.0]))
    wins = windows[rng.permutation(len(windows))[:int(rng.integers(1, len(windows) + 1))]]
    return (float(x), float(y), float(rng.uniform(10.0, 1_500.0)), lo, hi,
            int(rng.integers(0, 3)), wins)


def test_the_grid_fit_test_answers_as_fits_of_every_grid_point():
    """:func:`sound_grid.fits_grid` (the grid's blocks no point could pass skipped, the
    others' points computed one by one) answers as :func:`fits_array` over the full grid's
    fitting points (:func:`fitting_array`), for one arrival (every point fits) and for
    two or three, parts near and far, in time and out."""
    from truceline.core.fusion import sound_grid as sg

    rng = np.random.default_rng(4)
    answers = []
    for n in range(150):
        args = _search_case(rng)
        if n % 3:  # one arrival: the array's middle its sensor
            m = 1
            sx, sy = args[5][:1], args[6][:1]
            args = (float(sx[0]), float(sy[0]), *args[2:5], sx, sy, args[7][:1],
                    args[8][:1], *args[9:13], 0.0, args[14])
        else:
            m = len(args[5])
        pts = sg.fitting_array(*args)
        for _ in range(4 if m == 1 else 2):
            part = _part_case(rng, args)
            got = sg.fits_grid(*args, *part)
            assert got == sg.fits_array(*pts, *part)
            answers.append(got)
    assert 0.2 < np.mean(answers) < 0.8


def test_the_blocked_fit_test_answers_as_the_array_form_on_the_grids_points():
    """:func:`sound_grid.fits_blocked` (blocks of the fitting points, in the grid's order,
    skipped where their box, times and sds rule every point out) answers as
    :func:`fits_array` on the points of two to seven arrivals, parts near and far, in time
    and out, and skips blocks doing so."""
    from truceline.core.fusion import sound_grid as sg

    rng = np.random.default_rng(6)
    answers = []
    for _ in range(60):
        args = _search_case(rng)
        pts = sg.fitting(*args)
        blocks = sg.point_blocks(*pts)
        for _ in range(6):
            part = _part_case(rng, args)
            got = sg.fits_blocked(*pts, blocks, *part)
            assert got == sg.fits_array(*pts, *part)
            answers.append(got)
    assert 0.05 < np.mean(answers) < 0.95  # ~12 % of these parts take the sound


def test_one_arrivals_compiled_test_answers_as_its_array_form():
    """:func:`heard_other._one_arrival` (compiled, point by point) answers as the array form
    it replaced, :func:`_one_arrival_array`, on parts near and far, in time and out, of
    every role, in calm and wind, with the class's windows and a degenerate one (range and
    sd 0: ``np.linspace``'s zero step)."""
    from truceline.core.fusion import heard_other as ho
    from truceline.core.fusion.link import LinkParams

    windows = np.array(LinkParams().windows(), np.float64)
    odd = np.array([[0.0, 100.0, 300.0], [2_000.0, 150.0, 150.0]])
    rng = np.random.default_rng(21)
    yes = no = 0
    for wind in (0.0, 6.0):
        r = synth.Reports()
        s = synth.offset(*MID, 180.0, 10_000.0)
        r.add(0, id="a", source_id="ac", source_type="sensor", time_s=200.0,
              time_precision_s=1.0, fire_type="explosion", explosion_type="undetermined",
              observer_lon=s[0], observer_lat=s[1], arrival_s=200.0, temperature_c=10.0,
              wind_u_ms=wind, wind_v_ms=-wind / 2)
        b = r.batch()
        for p in (ON.heard, replace(ON.heard, wind_sd_ms=0.0)):
            one, want = ho._one_arrival(b, 0, p), ho._one_arrival_array(b, 0, p)
            for _ in range(1_500):
                far = rng.choice([2e3, 2e4, 8e4])
                x = float(b.ox[0] + rng.uniform(-far, far))
                y = float(b.oy[0] + rng.uniform(-far, far))
                sig = float(rng.choice([0.0, rng.uniform(0.0, 400.0)]))
                lo = float(rng.uniform(0.0, 400.0))
                case = (x, y, sig, lo, lo + float(rng.uniform(0.0, 20.0)),
                        int(rng.integers(0, 3)))
                for w in (windows, windows[:1], odd):
                    got = one(*case, w)
                    assert got == want(*case, w), (case, w)
                    yes += got
                    no += not got
    assert yes > 1_000 and no > 1_000


def test_nearby_parts_are_the_trees_in_time():
    """:func:`heard_other._nearby` (by time, then distance) returns the parts the tree it
    replaced returned within reach, filtered by time, on random parts and groups."""
    from scipy.spatial import cKDTree

    from truceline.core.fusion import heard_other as ho

    rng = np.random.default_rng(5)
    n, window, reach = 4_000, 300.0, 70_000.0
    x, y = rng.uniform(0.0, 4e5, n), rng.uniform(0.0, 4e5, n)
    lo = np.sort(rng.uniform(0.0, 86_400.0, n))
    hi = lo + rng.uniform(0.0, window, n)
    cand = np.flatnonzero(rng.random(n) < 0.7)
    near = ho._nearby(cand, x, y, lo, hi, reach, window)
    tree = cKDTree(np.column_stack([x[cand], y[cand]]))
    found = 0
    for _ in range(500):
        cx, cy = rng.uniform(0.0, 4e5, 2)
        t0 = float(rng.uniform(0.0, 86_400.0))
        t1 = t0 + float(rng.uniform(0.0, 400.0))
        want = cand[tree.query_ball_point([cx, cy], reach)]
        want = want[(hi[want] >= t0) & (lo[want] <= t1)]
        got = near(float(cx), float(cy), t0, t1)
        assert sorted(got.tolist()) == sorted(want.tolist())
        found += len(got)
    assert found > 300


def test_two_arrays_that_heard_one_launch_both_join_the_timed_burst():
    """Two arrays, 10 km south and 10 km north of the shot, each heard only its launch: each
    group alone would join the timed burst, and a shot has one other sound, so the two
    joined neither (all_conditions seeds 1 and 3: 4 such pairs each, all one shot's). Their
    four arrivals together fit one point a flight before the burst: both join, no fix moves."""
    rng = np.random.default_rng(11)
    south = synth.offset(*MID, 180.0, 10_000.0)
    north = synth.offset(*MID, 0.0, 10_000.0)
    r = synth.Reports()
    _fixed(r, 0, BURST, 126.0, rng)
    _array(r, 0, [south, synth.offset(*south, 90.0, 1_500.0)], GUN, 100.0, rng)
    _array(r, 1, [north, synth.offset(*north, 90.0, 1_500.0)], GUN, 100.0, rng)
    apart = replace(ON, heard=replace(ON.heard, other_together=False))
    off = _fuse(r, apart)
    (a,) = _group_of(off, r, "ac0")
    (n,) = _group_of(off, r, "ac1")
    (i,) = _group_of(off, r, "bc0")
    assert len({a, n, i}) == 3 and not off.fixes.located[a] and not off.fixes.located[n]
    res = _fuse(r, ON)
    (i,) = _group_of(res, r, "bc0")
    assert _group_of(res, r, "ac0") == {i} and _group_of(res, r, "ac1") == {i}
    (h,) = _group_of(off, r, "bc0")
    assert np.isclose(res.fixes.x[i], off.fixes.x[h])
    assert np.isclose(res.fixes.y[i], off.fixes.y[h])
