"""A lone camera's muzzle flash and one array's two arrivals left apart: the flash's time turns
the arrivals into ranges, so together they locate and attribute the launch that neither
places alone (issue 12; :mod:`truceline.core.fusion.flash_heard`)."""

from __future__ import annotations

import numpy as np
from scipy.stats import chi2 as chi2_dist

from tests.fusion import synth
from tests.fusion.synth import LINE_LON
from tests.fusion.test_heard_when import _arrivals
from truceline.core.fusion.attribution import AttributionParams
from truceline.core.fusion.batch import ROLE_ANY, ROLE_ORIGIN
from truceline.core.fusion.flash_heard import STEP_M, _may_fit, _test, flash_heard, flash_timed
from truceline.core.fusion.flash_launches import ray_cells
from truceline.core.fusion.group_join import emission_windows
from truceline.core.fusion.heard import HeardParams
from truceline.core.fusion.heard_when import may_be_near
from truceline.core.fusion.link import LinkParams
from truceline.core.fusion.locate import CHI2_95_2DOF, M_ARRIVAL, M_BEARING, Fixes
from truceline.core.fusion.pipeline import FusionParams, FusionResult, fuse_batch
from truceline.core.fusion.region import ArcParams

GEOMETRY = synth.geometry()
EMPTY = np.zeros(0, np.int64)


def _reports(heard: str, lat: float, cameras: int = 1, seed: int = 1
             ) -> tuple[synth.Reports, tuple[float, float]]:
    """The shot of :func:`_apart` as reports (every one event 0), and the gun."""
    rng = np.random.default_rng(seed)
    gun = synth.offset(LINE_LON, lat, 90.0, 6_000.0)
    burst = synth.offset(*gun, 270.0, 9_000.0)
    r = synth.Reports()
    for k in range(cameras):
        cam = synth.offset(*synth.offset(LINE_LON, lat, 270.0, 2_000.0), 200.0 - 40 * k,
                           3_000.0 * (k + 1))
        r.add(0, id=f"flash{k}", source_id=f"cam-{k}", source_type="camera", time_s=100.0,
              time_precision_s=1.0, fire_type="muzzle_flash", observer_lon=cam[0],
              observer_lat=cam[1], bearing_deg=synth.GEOD.inv(*cam, *gun)[0] % 360.0,
              bearing_sd_deg=0.5)
    centre = synth.offset(*gun, 10.0, 8_000.0)
    bang, te = (gun, 100.4) if heard == "launch" else (burst, 125.4)
    synth.undetermined_arrivals(r, 0, bang, [centre, synth.offset(*centre, 90.0, 1_500.0)],
                                te, rng)
    return r, gun


def _apart(heard: str, lat: float, cameras: int = 1, seed: int = 1) -> tuple[
        tuple[np.ndarray, np.ndarray], Fixes, np.ndarray, np.ndarray, np.ndarray]:
    """A gun 6 km east of the line fires at 100.4 s a shell that bursts 9 km west of it 25 s
    later; ``cameras`` cameras 2 km west of the line (3 km apart) see the flash (0.5 deg, its
    time in whole seconds); two sensors 1.5 km apart, 8 km north of the gun, hear the
    ``heard`` sound ("launch" or "burst"), undetermined. Each flash is a group of its own,
    the arrivals one more, none located (as the grouping left them on the weeks), and
    :func:`flash_heard` runs on them. Returns the joins ``(u, g)``, the fixes, the roles,
    the probabilities and the gun's grid point."""
    r, gun = _reports(heard, lat, cameras, seed)
    b = r.batch()
    labels = np.array([*range(cameras), cameras, cameras], np.int64)
    G = cameras + 1
    fixes = synth.unlocated_fixes(G, len(labels))
    role = np.array([ROLE_ORIGIN] * cameras + [ROLE_ANY], np.int8)
    prob = np.zeros((G, len(GEOMETRY.spec.parties)))
    partner = np.full(G, -1, np.int64)
    lo, hi = emission_windows(b, labels, fixes, G)
    joins = flash_heard(b, labels, fixes, role, prob, partner, np.zeros(G), lo, hi, EMPTY,
                        EMPTY, GEOMETRY, LinkParams(), ArcParams(), HeardParams(),
                        AttributionParams(), 0.02)
    return joins, fixes, role, prob, synth.true_xy([gun])[0]


def test_a_flash_and_the_arrivals_of_its_launch_locate_and_attribute_it() -> None:
    """Heard by the array, the arrivals join the flash; the flash is located (the fix holds the
    gun in its 95 % ellipse), a launch, the east's at P >= 0.9 (the 2 % of wild bearings
    kept back) and nobody else's."""
    east = list(GEOMETRY.spec.parties).index("east")
    for lat in (47.8, 48.3, 48.9):
        (u, g), fixes, role, prob, gun = _apart("launch", lat)
        assert u.tolist() == [1] and g.tolist() == [0]
        assert fixes.located[0] and fixes.method[0] == M_BEARING | M_ARRIVAL
        assert role[0] == ROLE_ORIGIN
        assert prob[0, east] >= 0.9 and prob[0, 1 - east] == 0.0
        err = np.array([fixes.x[0], fixes.y[0]]) - gun
        assert err @ np.linalg.solve(fixes.cov[0], err) < CHI2_95_2DOF


def test_the_bursts_sound_does_not_time_the_flash() -> None:
    """The array heard the burst, 25 s after the flash: the time its arrivals imply anywhere on
    the ray misses the flash's window, so nothing joins and the flash stays unlocated."""
    for lat in (47.8, 48.3, 48.9):
        (u, _), fixes, _, prob, _ = _apart("burst", lat)
        assert not len(u) and not fixes.located.any() and not prob.any()


def test_two_flashes_that_the_arrivals_could_time_take_none() -> None:
    """Two cameras' flashes at one time, both rays crossing where the arrivals fit: which flash
    the array heard is not known, so neither is located by them."""
    (u, _), fixes, _, prob, _ = _apart("launch", 48.3, cameras=2)
    assert not len(u) and not fixes.located.any() and not prob.any()


def _together(heard: str, lat: float, timed: bool = True) -> tuple[FusionResult, np.ndarray]:
    """The shot of :func:`_apart` (one camera) through the whole fusion, which groups the flash
    with the two arrivals: a fix on one bearing and one array's two arrivals
    (:mod:`.either_sound`); ``timed``: with :func:`flash_timed`."""
    r, gun = _reports(heard, lat)
    params = FusionParams(heard=HeardParams(flash_timed=timed))
    return fuse_batch(r.batch(), GEOMETRY, params), synth.true_xy([gun])[0]


def test_a_flash_whose_time_the_arrivals_fit_is_not_stated_for_either_sound() -> None:
    """Grouped with its launch's arrivals, the flash's time shows they heard its own sound: the
    fix keeps its own ellipse (which holds the gun) and is the east's at P >= 0.9; stated for
    either sound (without :func:`flash_timed`) it is not attributed at 0.9."""
    east = list(GEOMETRY.spec.parties).index("east")
    for lat in (47.8, 48.3, 48.9):
        res, gun = _together("launch", lat)
        g = int(res.labels[0])
        assert (res.labels == g).all() and res.fixes.located[g]
        assert res.prob[g, east] >= 0.9
        err = np.array([res.fixes.x[g], res.fixes.y[g]]) - gun
        assert err @ np.linalg.solve(res.fixes.cov[g], err) < CHI2_95_2DOF
        off, _ = _together("launch", lat, timed=False)
        assert off.prob[int(off.labels[0]), east] < 0.9


def test_the_bursts_arrivals_grouped_with_a_flash_are_still_stated_for_either_sound() -> None:
    """Grouped whole with the burst's arrivals, 25 s after the flash, and fixed at the burst:
    the time the arrivals imply there misses the flash's window (the camera's clock right),
    so the fix is not spared the either-sound widening. (Through the whole fusion the
    grouping keeps such a flash and arrivals apart, so the group is built by hand.)"""
    (timed, _), _, _ = _behind("burst", 0.0, 0.0, whole=True)
    assert timed.tolist() == [False]


def _behind(heard: str, late_s: float, shown_s: float, whole: bool = False
            ) -> tuple[tuple[np.ndarray, np.ndarray], Fixes, np.ndarray]:
    """The gun of :func:`_apart` (48.3 N) fires west, its shell bursting 9 km off 25 s later,
    seen from a camera 14 km behind the burst on the line of fire (the ray passes over the
    burst) whose clock runs ``late_s`` late; two sensors 8 km north of the burst hear the
    ``heard`` sound. Earlier (t 1000 s) the same camera saw another flash, grouped with an
    array's two arrivals into a fix whose emission time they set, ``shown_s`` before the
    camera's time for it. Returns :func:`flash_heard`'s joins, the fixes and the
    probabilities; the lone flash is group 0, the arrivals group 1. ``whole``: the flash and
    the arrivals grouped as one (group 0), fixed where the ray passes over the burst, and
    :func:`flash_timed`'s answer for it instead of the joins."""
    rng = np.random.default_rng(1)
    gun = synth.offset(LINE_LON, 48.3, 90.0, 6_000.0)
    burst = synth.offset(*gun, 268.0, 9_000.0)
    cam = synth.offset(*gun, 271.0, 14_000.0)
    r = synth.Reports()
    for k, (t, target) in enumerate(((100.4 + late_s, gun), (1000.4 + shown_s, burst))):
        r.add(0, id=f"flash{k}", source_id="cam-0", source_type="camera", time_s=round(t),
              time_precision_s=1.0, fire_type="muzzle_flash", observer_lon=cam[0],
              observer_lat=cam[1], bearing_deg=synth.GEOD.inv(*cam, *target)[0] % 360.0,
              bearing_sd_deg=0.5)
    centre = synth.offset(*burst, 10.0, 8_000.0)
    sensors = [centre, synth.offset(*centre, 90.0, 1_500.0)]
    bang, te = (gun, 100.4) if heard == "launch" else (burst, 125.4)
    synth.undetermined_arrivals(r, 0, bang, sensors, te, rng)
    synth.undetermined_arrivals(r, 1, burst, sensors, 1000.4, rng)
    b = r.batch()
    labels = np.array([0, 2, 0, 0, 2, 2] if whole else [0, 2, 1, 1, 2, 2], np.int64)
    G = 3
    fixes = synth.unlocated_fixes(G, len(labels))
    # the earlier shot (at the burst's place, to stay clear of the gun's ray), fixed
    (fixes.x[2], fixes.y[2]), fixes.cov[2] = synth.true_xy([burst])[0], np.eye(2) * 200.0**2
    fixes.t0[2], fixes.located[2], fixes.method[2] = 1000.4, True, M_BEARING | M_ARRIVAL
    if whole:
        (fixes.x[0], fixes.y[0]), fixes.cov[0] = synth.true_xy([burst])[0], np.eye(2) * 50.0**2
        fixes.t0[0], fixes.located[0], fixes.method[0] = te, True, M_BEARING | M_ARRIVAL
        timed = flash_timed(b, labels, fixes, np.array([0]), HeardParams())
        return (timed, EMPTY), fixes, np.zeros(0)
    role = np.array([ROLE_ORIGIN, ROLE_ANY, ROLE_ORIGIN], np.int8)
    prob = np.zeros((G, len(GEOMETRY.spec.parties)))
    prob[2, list(GEOMETRY.spec.parties).index("west")] = 1.0
    partner = np.full(G, -1, np.int64)
    lo, hi = emission_windows(b, labels, fixes, G)
    joins = flash_heard(b, labels, fixes, role, prob, partner, np.zeros(G), lo, hi, EMPTY,
                        EMPTY, GEOMETRY, LinkParams(), ArcParams(), HeardParams(),
                        AttributionParams(), 0.02)
    return joins, fixes, prob


def test_a_camera_whose_clock_is_shown_late_times_nothing() -> None:
    """The camera's clock runs late by the shell's flight, so the burst's arrivals fit the
    flash's window where the ray passes over the burst: joined, the flash would be placed at
    the burst, west of the line, a west launch at 0.98 (the gun is the east's). Its earlier
    flash, timed by an array 25 s before the camera's time, shows the clock errs beyond its
    window: the flash is not located by its time."""
    (u, _), fixes, prob = _behind("burst", 25.0, 25.0)
    assert not len(u) and not fixes.located[0] and not prob[0].any()


def test_a_camera_whose_clock_is_shown_right_still_times_its_launch() -> None:
    """The camera's clock right, here and where the array timed its earlier flash: the launch's
    arrivals time the flash as before, at the gun, the east's."""
    east = list(GEOMETRY.spec.parties).index("east")
    (u, g), fixes, prob = _behind("launch", 0.0, 0.0)
    assert fixes.located[0]
    assert u.tolist() == [1] and g.tolist() == [0]
    assert prob[0, east] >= 0.9 and prob[0, 1 - east] == 0.0


def test_a_camera_whose_clock_is_shown_late_does_not_spare_its_fix_the_widening() -> None:
    """Grouped whole with the burst's arrivals and fixed over the burst, the late camera's
    flash fits the arrivals' time there: where nothing shows its clock off, that reads as the
    flash's own sound (:func:`flash_timed`, the limit of what these reports can tell); shown
    late by its earlier flash, it shows nothing, and the fix is stated for either sound."""
    (right, _), _, _ = _behind("burst", 25.0, 0.0, whole=True)
    (late, _), _, _ = _behind("burst", 25.0, 25.0, whole=True)
    assert right.tolist() == [True] and late.tolist() == [False]


def test_a_cell_the_differences_bound_leaves_out_fails_the_test() -> None:
    """:func:`flash_heard`'s cells are tested only where a lower bound of the chi-square
    allows (``_may_fit``): every cell the full test passes is kept, in any air (pooled or
    not, a wind), and the bound leaves out most cells of a ray."""
    for m, pool, seed in ((2, True, 1), (3, True, 2), (2, False, 3), (3, False, 4)):
        rng = np.random.default_rng(seed)
        hp = HeardParams(pool_air=pool)
        b, rows = _arrivals(m, (rng.uniform(-8, 8), rng.uniform(-8, 8)), rng)
        wsd = np.where(rng.uniform(size=len(b.arr)) < 0.5, 0.5, hp.wind_sd_ms)
        cx, cy = float(b.ox.mean()), float(b.oy.mean())
        kept_any, may_n, n = 0, 0, 0
        for brg in np.radians(np.arange(0.0, 360.0, 30.0)):
            ox, oy = cx + 8_000.0 * np.sin(brg + 1.0), cy + 8_000.0 * np.cos(brg + 1.0)
            x, y, _ = ray_cells(ox, oy, float(brg + np.pi), 0.01, ArcParams(), STEP_M)
            cov = np.tile(np.eye(2) * STEP_M**2 / 12.0, (len(x), 1, 1))
            lo, hi = np.full(len(x), -1e6), np.full(len(x), 1e6)  # every time in the window
            for k in range(2, m + 1):
                idx = rows[:k]
                cut = float(chi2_dist.ppf(hp.level, k - 1))
                c2 = _test(b, idx, x, y, cov, lo, hi, wsd, hp, False)
                may = _may_fit(b, idx, x, y, cov, wsd, hp, cut)
                assert not ((c2 <= cut) & ~may).any()
                kept_any += int((c2 <= cut).sum())
                may_n, n = may_n + int(may.sum()), n + len(may)
                g = np.arange(len(x), dtype=np.int64)
                assert may_be_near(b, idx, g, x, y, cov, lo, hi, wsd, hp, slack=0.0).all()
        assert kept_any > 0  # some rays do cross the arrivals' hyperbola
        assert may_n < 0.5 * n  # and most cells are left out
