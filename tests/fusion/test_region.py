"""An array's too-few arrivals: the feasible region, and the launch it becomes only when a
burst across the line leaves no other reading."""

from __future__ import annotations

from typing import Any

import numpy as np

from tests.fusion import synth
from tests.fusion.synth import LINE_LON
from truceline.core.fusion.pipeline import FusionParams, fuse_batch
from truceline.core.fusion.region import ArcParams, arc_region, could_be_hit, passes_through


def _banded(r: synth.Reports, event: int, place: tuple[float, float], t: float,
            rng: np.random.Generator, prefix: str, **kw: Any) -> None:
    """Three posts around ``place`` report it at ``t``: a bearing (3 deg) and a +-1 km band."""
    for k, post in enumerate(synth.posts_around(place, 3, rng)):
        d = synth.GEOD.inv(*post, *place)[2]
        synth.bearing_report(r, event, post, place, t, 3.0, rng, source=f"{prefix}{k}",
                             band=(d - 1_000.0, d + 1_000.0), **kw)


def _same_as_full_grid(sx: Any, sy: Any, arr: Any, c: Any, p: ArcParams,
                       wind: tuple[float, float] = (0.0, 0.0)) -> int:
    """Assert ``arc_region`` gives the full numpy grid's fitting cells, in the grid's order;
    how many (0 where a cell lies on the edge: numpy's and numba's last bits may differ)."""
    chi2, t0, gx, gy = _full_grid(sx, sy, arr, c, p, wind)
    if (np.abs(chi2 - p.chi2_max) < 1e-7).any():
        return 0
    want = np.flatnonzero(chi2 <= p.chi2_max)
    x, y, w, t = arc_region(sx, sy, arr, c, p, wind)
    assert len(x) == len(want)
    np.testing.assert_allclose(x, gx[want], rtol=0, atol=1e-6)
    np.testing.assert_allclose(y, gy[want], rtol=0, atol=1e-6)
    np.testing.assert_allclose(t, t0[want], rtol=0, atol=1e-9)
    r = np.hypot(x - sx.mean(), y - sy.mean())
    np.testing.assert_allclose(w, np.exp(-0.5 * chi2[want]) * r, rtol=1e-6)
    return len(x)

def test_two_arrivals_put_the_bang_on_a_hyperbola_and_its_mirror():
    # sensors 1.5 km apart on the x axis; a bang 10 km away at 60 deg from north
    sx, sy = np.array([0.0, 1_500.0]), np.zeros(2)
    px, py = 10_000 * np.sin(np.radians(60)), 10_000 * np.cos(np.radians(60))
    c = np.full(2, 330.0)
    arr = 5.0 + np.hypot(px - sx, py - sy) / c
    x, y, _, t0 = arc_region(sx, sy, arr, c, ArcParams())
    # the true point and its mirror image about the baseline (y -> -y) are both in it
    assert np.hypot(x - px, y - py).min() < 400.0
    assert np.hypot(x - px, y + py).min() < 400.0
    # but not the other side of the array (the sign of the difference is known)
    assert np.hypot(x + px, y - py).min() > 2_000.0
    # the emission time each point implies: the true one at the true point
    assert abs(t0[np.argmin(np.hypot(x - px, y - py))] - 5.0) < 1.5


def _two_arrivals(r: synth.Reports, array: list[tuple[float, float]], bang: tuple[float, float],
                  t: float, event: int) -> None:
    for k, s in enumerate(array):
        _, _, dist = synth.GEOD.inv(*bang, *s)
        arr = t + dist / synth.sound_speed(10.0)
        r.add(event, id=f"a{event}-{k}", source_id=f"ac0-{k}", source_type="sensor",
              time_s=arr, time_precision_s=1.0, fire_type="explosion",
              explosion_type="undetermined", observer_lon=s[0], observer_lat=s[1],
              arrival_s=arr, temperature_c=10.0)


def test_two_arrivals_become_the_launch_of_the_burst_only_when_nothing_else_fits():
    """Two sensors of an array 20 km west of the line (a north-south baseline, hearing
    20 km) hear a gun 4 km west of the line; monitors east of it saw its shell burst. The
    region (both arms of the hyperbola, as far as the array hears) lies west: the bang is the
    burst's launch, attributed west, with the region's ellipse. Without the burst it stays
    unlocated; with a located launch candidate that could also have fired at the burst, it is
    not the launch either."""
    rng = np.random.default_rng(11)
    gun = (LINE_LON - 0.054, 48.0)  # ~4 km west of the line
    burst = synth.offset(*gun, 90.0, 9_000.0)  # ~5 km east of it
    centre = synth.offset(*gun, 260.0, 16_000.0)
    array = [centre, synth.offset(*centre, 0.0, 1_500.0)]
    params = FusionParams(arc=ArcParams(hearing_m=20_000.0))

    def fuse(with_burst: bool, rival: bool = False):  # type: ignore[no-untyped-def]
        r = synth.Reports()
        _two_arrivals(r, array, gun, 100.0, 0)
        if with_burst:
            _banded(r, 1, burst, 130.0, rng, "op-", explosion_type="impact")
        if rival:  # another gun, located by three posts, in range of the burst
            other = synth.offset(*gun, 0.0, 8_000.0)
            _banded(r, 2, other, 100.0, rng, "op-r")
        r.cols["weapon_class"] = ["tube_artillery"] * len(r.event)
        return fuse_batch(r.batch(), synth.geometry(), params)

    res = fuse(True)
    g = int(res.labels[0])
    assert int(res.labels[1]) == g and int((res.labels == g).sum()) == 2
    assert res.fixes.located[g] and res.role[g] == 0
    assert res.prob[g, list(res.parties).index("west")] >= 0.9
    x, y = synth.true_xy([gun])[0]
    err = np.array([res.fixes.x[g] - x, res.fixes.y[g] - y])
    # the ellipse is the region's: the gun lies within it (Mahalanobis, 95 %)
    assert err @ np.linalg.solve(res.fixes.cov[g], err) < 5.99
    for with_burst, rival in ((False, False), (True, True)):
        res = fuse(with_burst, rival)
        g = int(res.labels[0])
        # never the launch: alone and unlocated, or (the rival is linked to the burst, and
        # from the array the gun lies behind the burst) joined to the burst whose
        # arrival-time difference they fit (core/fusion/heard.py)
        assert res.role[g] != 0 and not res.prob[g].any()
        assert (not res.fixes.located[g] and res.role[g] == 2) or (rival and res.role[g] == 1)


def _full_grid(sx, sy, arr, c, p, wind=(0.0, 0.0)):  # type: ignore[no-untyped-def]
    """The whole polar grid's chi-square and emission times, plainly in numpy: what the
    pruned kernel must agree with wherever a cell can fit (a path's speed ``c + wind . u``,
    ``u`` its direction from the cell to the sensor)."""
    cx, cy = float(sx.mean()), float(sy.mean())
    nt, nr = round(360.0 / p.step_deg), int(p.hearing_m // p.step_m)
    th = np.radians(np.arange(nt) * p.step_deg)[:, None]
    r = ((np.arange(nr) + 0.5) * p.step_m)[None, :]
    x, y = (cx + r * np.sin(th)).ravel(), (cy + r * np.cos(th)).ravel()
    dx, dy = sx[None, :] - x[:, None], sy[None, :] - y[:, None]
    d = np.hypot(dx, dy)
    e = arr[None, :] - d / (c + (wind[0] * dx + wind[1] * dy) / np.maximum(d, 1.0))
    t0 = e.mean(axis=1)
    return (((e - t0[:, None]) / p.tdoa_sd_s) ** 2).sum(axis=1), t0, x, y


def test_the_pruned_grid_keeps_every_cell_that_fits():
    """Skipping blocks by their lower bound never drops a point of the region: on arrays of
    2-4 sensors (baselines 0.2-3 km, unequal sound speeds on half of them) and bangs from
    the array's middle to beyond its hearing (and arrivals that fit nothing), the region is
    the full grid's, point for point."""
    rng = np.random.default_rng(7)
    p = ArcParams()
    points = 0
    for _ in range(150):
        m = int(rng.integers(2, 5))
        ang, rad = rng.uniform(0, 2 * np.pi, m), rng.uniform(0, rng.uniform(200, 3_000), m)
        sx, sy = rad * np.sin(ang), rad * np.cos(ang)
        far, az = rng.uniform(0, 27_000), rng.uniform(0, 2 * np.pi)
        px, py = sx.mean() + far * np.sin(az), sy.mean() + far * np.cos(az)
        c = rng.uniform(320, 350, m) if rng.random() < 0.5 else np.full(m, 331.0)
        arr = 4.0 + np.hypot(px - sx, py - sy) / c + rng.normal(0, 0.02 * rng.uniform(0.5, 4), m)
        if rng.random() < 0.15:
            arr = rng.uniform(0, 10, m)
        points += _same_as_full_grid(sx, sy, arr, c, p)
    assert points > 10_000  # the sweep did exercise regions, not only empty ones


def test_a_located_gun_that_could_not_have_fired_at_the_region_in_time_does_not_block_it():
    """The arrivals may be a burst only if some located gun could have fired at the region in
    time for a flight: the point each cell of the region stands for has its own emission
    time, and a shell needs at least distance / top speed and at most distance / lowest speed
    to get there. A gun located by three posts 6 minutes before the bang (its window ends 4
    minutes before it; no class flies that long) is no alternative, so the two arrivals are
    the launch of the burst across the line, attributed west; main's rule (any located fix
    within 45 km and 10 minutes) kept them unlocated. The same gun reported 130 s before the
    bang could have sent a howitzer's shell (30 km at 175 m/s and up) to the region's far
    cells in time: the arrivals stay no launch."""
    rng = np.random.default_rng(11)
    gun = (LINE_LON - 0.054, 48.0)  # ~4 km west of the line
    burst = synth.offset(*gun, 90.0, 9_000.0)  # ~5 km east of it
    centre = synth.offset(*gun, 260.0, 16_000.0)
    array = [centre, synth.offset(*centre, 0.0, 1_500.0)]
    rival = synth.offset(*centre, 300.0, 8_000.0)  # west, 20 deg off the mirror arm
    # out of the burst's (tube artillery's, 30 km) range: no candidate launch of the burst,
    # but within reach of the region, whose mirror arm passes ~3 km from it
    assert synth.GEOD.inv(*rival, *burst)[2] > 31_000.0
    params = FusionParams(arc=ArcParams(hearing_m=20_000.0))

    def fuse(rival_t: float):  # type: ignore[no-untyped-def]
        r = synth.Reports()
        _two_arrivals(r, array, gun, 100.0, 0)
        _banded(r, 1, burst, 130.0, rng, "op-", explosion_type="impact")
        _banded(r, 2, rival, rival_t, rng, "op-r")
        r.cols["weapon_class"] = ["tube_artillery"] * len(r.event)
        return fuse_batch(r.batch(), synth.geometry(), params)

    res = fuse(100.0 - 360.0)
    g = int(res.labels[0])
    assert int(res.labels[1]) == g and int((res.labels == g).sum()) == 2
    assert res.fixes.located[g] and res.role[g] == 0  # the launch
    assert res.prob[g, list(res.parties).index("west")] >= 0.9
    r_g = int(res.labels[-1])  # the rival: located, its own incident
    assert r_g != g and res.fixes.located[r_g]
    x, y = synth.true_xy([gun])[0]
    err = np.array([res.fixes.x[g] - x, res.fixes.y[g] - y])
    assert err @ np.linalg.solve(res.fixes.cov[g], err) < 5.99
    res = fuse(100.0 - 130.0)
    g = int(res.labels[0])
    # joined to neither: the burst's point fits their differences (the array lies on the line
    # through the gun and the burst), but the rival's shell could have burst where they heard
    # it, so heard.join_untested's join is undone (heard_other.other_sound_apart)
    assert g not in set(res.labels[-3:].tolist()) | set(res.labels[2:5].tolist())
    assert int((res.labels == g).sum()) == 2
    assert res.role[g] != 0 and not res.prob[g].any()


def test_the_pruned_grid_keeps_every_cell_that_fits_on_ragged_grids():
    """The coarse-to-fine pruning on grids whose rows and columns are not whole numbers of
    super-blocks (1,200 bearing rows of 0.3 deg, 51 range columns of 350 m; 450 rows, 90
    columns): the region is still the full grid's, point for point, and each point's
    likelihood weight and emission time are its own cell's."""
    rng = np.random.default_rng(21)
    points = 0
    for p in (ArcParams(step_deg=0.3, step_m=350.0, hearing_m=18_000.0),
              ArcParams(step_deg=0.8, step_m=250.0, hearing_m=22_600.0, tdoa_sd_s=0.05)):
        for _ in range(60):
            m = int(rng.integers(2, 5))
            ang, rad = rng.uniform(0, 2 * np.pi, m), rng.uniform(100, 2_500, m)
            sx, sy = 3_000.0 + rad * np.sin(ang), -7_000.0 + rad * np.cos(ang)
            far, az = rng.uniform(0, 24_000), rng.uniform(0, 2 * np.pi)
            px, py = sx.mean() + far * np.sin(az), sy.mean() + far * np.cos(az)
            c = rng.uniform(320, 350, m) if rng.random() < 0.5 else np.full(m, 331.0)
            arr = 9.0 + np.hypot(px - sx, py - sy) / c + rng.normal(0, 0.03, m)
            points += _same_as_full_grid(sx, sy, arr, c, p)
    assert points > 5_000


def test_a_second_burst_in_its_own_class_range_of_the_region_keeps_the_arrivals_unlocated():
    """Two bursts across the line that the arrivals could each have fired at leave them no
    launch: a mortar's burst 5 km from the gun (within a mortar's 8 km of the region) is such
    a second burst, even though it is farther from the array than the array hears; the same
    burst 30 km away (beyond a mortar's range of any point the array hears) is not, and the
    arrivals are the tube artillery burst's launch again."""
    rng = np.random.default_rng(11)
    gun = (LINE_LON - 0.054, 48.0)
    burst = synth.offset(*gun, 90.0, 9_000.0)
    centre = synth.offset(*gun, 260.0, 16_000.0)
    array = [centre, synth.offset(*centre, 0.0, 1_500.0)]
    params = FusionParams(arc=ArcParams(hearing_m=20_000.0))

    def fuse(mortar_km: float):  # type: ignore[no-untyped-def]
        r = synth.Reports()
        _two_arrivals(r, array, gun, 100.0, 0)
        _banded(r, 1, burst, 130.0, rng, "op-", explosion_type="impact")
        mortar = synth.offset(*gun, 80.0, mortar_km * 1_000.0)
        _banded(r, 2, mortar, 100.0 + mortar_km * 1_000.0 / 150.0, rng, "op-m",
                explosion_type="impact")
        r.cols["weapon_class"] = ["mortar" if e == 2 else "tube_artillery" for e in r.event]
        return fuse_batch(r.batch(), synth.geometry(), params)

    # the mortar's burst is farther from the array's middle than it hears, within 8 km of
    # the gun: only its own class's range brings it near the region
    assert synth.GEOD.inv(*centre, *synth.offset(*gun, 80.0, 5_000.0))[2] > 20_000.0
    res = fuse(5.0)
    g = int(res.labels[0])
    assert res.role[g] != 0 and not res.prob[g].any()
    res = fuse(30.0)
    g = int(res.labels[0])
    assert res.fixes.located[g] and res.role[g] == 0
    assert res.prob[g, list(res.parties).index("west")] >= 0.9


def test_a_pass_calibrated_before_its_arcs_and_pairs_calibrates_the_same():
    """A pass that another follows is calibrated before its last stages (the timed and
    class-free pairs, the arcs, the widened ellipses): what they change is nothing the
    calibration reads. Here the arcs do locate a group (the launch of the test above), and
    the calibration of the pass without them equals that of the finished pass."""
    from truceline.core.fusion.batch import candidates
    from truceline.core.fusion.calibration import calibrate
    from truceline.core.fusion.grouping import group
    from truceline.core.fusion.pipeline import _locate_attribute

    rng = np.random.default_rng(11)
    gun = (LINE_LON - 0.054, 48.0)
    centre = synth.offset(*gun, 260.0, 16_000.0)
    r = synth.Reports()
    _two_arrivals(r, [centre, synth.offset(*centre, 0.0, 1_500.0)], gun, 100.0, 0)
    _banded(r, 1, synth.offset(*gun, 90.0, 9_000.0), 130.0, rng, "op-",
            explosion_type="impact")
    for e in range(2, 12):  # more bearings for the calibration to read
        _banded(r, e, synth.offset(*gun, 90.0 + 7 * e, 12_000.0), 600.0 * e, rng, "op-")
    r.cols["weapon_class"] = ["tube_artillery"] * len(r.event)
    p = FusionParams(arc=ArcParams(hearing_m=20_000.0))
    b = r.batch()
    labels = group(b, p.grouping)
    whole = _locate_attribute(b, labels, synth.geometry(), p)
    part = _locate_attribute(b, labels, synth.geometry(), p, finish=False)
    g = int(whole.labels[0])
    assert whole.fixes.located[g] and not part.fixes.located[g]  # the arc located it
    cw = calibrate(whole.batch, whole.labels, whole.fixes, candidates(whole.batch, p.grouping))
    cp = calibrate(part.batch, part.labels, part.fixes, candidates(part.batch, p.grouping))
    assert cw.used.sum() > 10
    for name in cw.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(cp, name), getattr(cw, name))
    # and the whole of fuse_batch is the finished pass, calibrated
    res = fuse_batch(b, synth.geometry(), p)
    np.testing.assert_array_equal(res.fixes.cov, whole.fixes.cov)
    np.testing.assert_array_equal(res.prob, whole.prob)


def test_the_pruned_grid_keeps_every_cell_that_fits_in_a_wind():
    """The block bound allows for the group's wind (each path's speed ``c + w.u``): with
    winds up to 12 m/s, on arrays of 2-4 sensors and bangs out to beyond hearing, the region
    is still the full grid's, point for point."""
    rng = np.random.default_rng(11)
    p = ArcParams()
    points = 0
    for _ in range(100):
        m = int(rng.integers(2, 5))
        ang, rad = rng.uniform(0, 2 * np.pi, m), rng.uniform(0, rng.uniform(200, 3_000), m)
        sx, sy = rad * np.sin(ang), rad * np.cos(ang)
        far, az = rng.uniform(0, 27_000), rng.uniform(0, 2 * np.pi)
        px, py = sx.mean() + far * np.sin(az), sy.mean() + far * np.cos(az)
        wind = (float(rng.uniform(-12, 12)), float(rng.uniform(-12, 12)))
        c = rng.uniform(320, 350, m) if rng.random() < 0.5 else np.full(m, 331.0)
        dx, dy = sx - px, sy - py
        d = np.hypot(dx, dy)
        arr = 4.0 + d / (c + (wind[0] * dx + wind[1] * dy) / d) + rng.normal(0, 0.02, m)
        points += _same_as_full_grid(sx, sy, arr, c, p, wind)
    assert points > 5_000


def test_a_bang_along_the_array_in_a_wind_keeps_its_far_arm():
    """Three sensors nearly in a line (1.5 and 3 km) hear a bang 12-18 km off along it, a
    10 m/s wind blowing from the bang: the wind moves the arrival differences by ~0.1 s,
    five of the region's sds. Read with the speed alone, the region loses the bang's arm
    (every one of 20); with the group's wind (as :func:`rows_region` reads it), a cell lies
    within 600 m of every bang. (Seen on the weeks at 6 m/s, with each sensor's own speed:
    BENCHMARKS.md, session 25.)"""
    rng = np.random.default_rng(5)
    p = ArcParams()
    kept = lost = 0
    for _ in range(20):
        axis = rng.uniform(0, 2 * np.pi)
        sx = np.array([0.0, 1_500.0 * np.sin(axis), 3_000.0 * np.sin(axis + 0.2)])
        sy = np.array([0.0, 1_500.0 * np.cos(axis), 3_000.0 * np.cos(axis + 0.2)])
        far, off = rng.uniform(12_000, 18_000), rng.uniform(-0.1, 0.1)
        px, py = -far * np.sin(axis + off), -far * np.cos(axis + off)
        wind = (10.0 * np.sin(axis + off), 10.0 * np.cos(axis + off))  # from the bang
        dx, dy = sx - px, sy - py
        d = np.hypot(dx, dy)
        arr = 4.0 + d / (331.0 + (wind[0] * dx + wind[1] * dy) / d) + rng.normal(0, 0.01, 3)
        for w in (wind, (0.0, 0.0)):
            x, y, _, _ = arc_region(sx, sy, arr, np.full(3, 331.0), p, w)
            near = len(x) > 0 and bool(np.hypot(x - px, y - py).min() <= 600.0)
            kept += near and w is wind
            lost += not near and w is not wind
    assert kept == 20
    assert lost == 20


def test_a_region_through_a_located_launch_at_its_time_may_be_that_launch_heard():
    """What keeps an array's arrivals from becoming a second launch of a shot already
    located and attributed (``arc_launches``): the region passes within 2.5 sigma and a cell
    of that launch's fix, however wide, at a time its window allows. Away from it, or at
    another time, it does not."""
    x, y, t0 = np.array([0.0, 5_000.0, 10_000.0]), np.zeros(3), np.array([100.0, 95.0, 90.0])

    def through(zx: float, lo: float, hi: float, sig: float = 2_000.0) -> bool:
        return passes_through(x, y, t0, np.array([zx]), np.array([0.0]), np.array([sig]),
                              np.array([lo]), np.array([hi]), 400.0)

    assert through(12_000.0, 60.0, 120.0)  # 2 km from the far cell, within 2.5 sigma
    assert through(30_000.0, 60.0, 120.0, sig=8_000.0)  # a wide fix (a 20-30 km band)
    assert not through(20_000.0, 60.0, 120.0)  # 10 km from the nearest cell
    assert not through(12_000.0, 200.0, 260.0)  # the cells' times are before its window


def test_could_be_hit_equals_every_pair_tested():
    """Skipping the fixes beyond reach of the region's bounding box changes no answer: the
    same as testing every fix against every cell and class (random regions and fixes, many
    just at the reach, some with a NaN or infinite spread)."""
    rng = np.random.default_rng(5)
    wins = [(20_000.0, 300.0, 900.0), (40_000.0, 500.0, 1_200.0)]
    step = 400.0
    n_true = 0
    for _ in range(300):
        n = int(rng.integers(1, 60))
        x = rng.uniform(-5e3, 5e3, n) + rng.uniform(-1e4, 1e4)
        y = rng.uniform(-5e3, 5e3, n)
        t0 = rng.uniform(0.0, 60.0, n)
        m = int(rng.integers(0, 30))
        ang = rng.uniform(0, 2 * np.pi, m)
        far = rng.uniform(0.0, 50e3, m) + rng.choice([0.0, 40e3], m)
        zx, zy = x.mean() + far * np.cos(ang), y.mean() + far * np.sin(ang)
        zsig = rng.choice([10.0, 300.0, 2_000.0, np.nan, np.inf], m, p=[.3, .3, .3, .05, .05])
        zlo = rng.uniform(-120.0, 60.0, m)
        zhi = zlo + rng.uniform(0.0, 30.0, m)
        s = 2.5 * zsig[:, None] + step
        d = np.hypot(x[None] - zx[:, None], y[None] - zy[:, None])
        every = False
        for rmax, vlo, vhi in wins:
            with np.errstate(invalid="ignore"):
                every |= bool(((d - s <= rmax) & (zlo[:, None] + np.maximum(d - s, 0.0) / vhi
                                                   <= t0[None] + 3.0)
                               & (t0[None] - 3.0 <= zhi[:, None] + (d + s) / vlo)).any())
        with np.errstate(invalid="ignore"):
            got = could_be_hit(x, y, t0, zx, zy, zsig, zlo, zhi, wins, step)
        assert got == every
        n_true += got
    assert 10 <= n_true <= 290  # both answers exercised
