"""A lone camera's muzzle flash is taken as the launch of a burst across the line only where
the plausible segment of its ray lies on one party's side (issue 12;
:mod:`truceline.core.fusion.flash_launches`)."""

from __future__ import annotations

import numpy as np

from tests.fusion import synth
from tests.fusion.synth import LINE_LON
from truceline.core.fusion.attribution import AttributionParams
from truceline.core.fusion.batch import ROLE_IMPACT, ROLE_ORIGIN
from truceline.core.fusion.flash_launches import flash_launches, ray_cells
from truceline.core.fusion.group_join import emission_windows
from truceline.core.fusion.link import LinkParams
from truceline.core.fusion.locate import M_ARRIVAL, M_BAND, M_BEARING
from truceline.core.fusion.pipeline import FusionParams, FusionResult, fuse_batch
from truceline.core.fusion.region import ArcParams

CAMERA = synth.offset(LINE_LON, 48.0, 270.0, 2_000.0)  # 2 km west of the line


def _km(dx: float, dy: float) -> tuple[float, float]:
    """A point ``dx`` km east of the line and ``dy`` km north of the camera's latitude."""
    return synth.offset(*synth.offset(LINE_LON, 48.0, 90.0, dx * 1e3), 0.0, dy * 1e3)


def _shot(burst: tuple[float, float], posts: int
          ) -> tuple[synth.Reports, float, np.random.Generator]:
    """The reports of :func:`_fuse`'s shot (the flash, event 0; the posts, event 1), its
    flight (s) and the generator, for what a test adds."""
    gun = _km(8.0, 17.0)
    rng = np.random.default_rng(3)
    r = synth.Reports()
    r.add(0, id="flash", source_id="cam-0", source_type="camera", time_s=100.0,
          time_precision_s=1.0, fire_type="muzzle_flash", observer_lon=CAMERA[0],
          observer_lat=CAMERA[1], bearing_deg=synth.GEOD.inv(*CAMERA, *gun)[0] % 360.0,
          bearing_sd_deg=0.5)
    flight = synth.GEOD.inv(*gun, *burst)[2] / 350.0
    for k, post in enumerate(synth.posts_around(burst, posts, rng)):
        d = synth.GEOD.inv(*post, *burst)[2]
        synth.bearing_report(r, 1, post, burst, 100.0 + flight, 3.0, rng, source=f"op{k}",
                             band=(d - 1_000.0, d + 1_000.0), explosion_type="impact")
    return r, flight, rng


def _fuse(burst: tuple[float, float], on: bool = True, posts: int = 3
          ) -> tuple[FusionResult, int]:
    """A gun 8 km east of the line fires one 155 mm shell (350 m/s) at ``burst``; a camera 2 km
    west of the line sees its flash (0.5 deg); ``posts`` posts around the burst report it (a 3
    deg bearing and a 2 km band each, typed an impact)."""
    r, _, _ = _shot(burst, posts)
    r.cols["weapon_class"] = [None if e == 0 else "tube_artillery" for e in r.event]
    params = FusionParams() if on else FusionParams(arc=ArcParams(flash_launches=False))
    res = fuse_batch(r.batch(), synth.geometry(), params)
    return res, int(res.labels[0])


def test_a_lone_flash_whose_plausible_segment_lies_east_is_the_easts_launch():
    """The burst lies 3 km west of the line, 38 km north: the ray's first 3.9 km, west of the
    line, are beyond a tube gun's 30 km of it; every point of the ray that could have fired
    at it lies east. The flash alone says nothing (a bearing, no range: unlocated); with the
    burst it is the east's launch (P 0.98: the 2 % of wild bearings kept back), linked to
    it, and its fix holds the gun."""
    res, g = _fuse(_km(-3.0, 38.0))
    east = list(res.parties).index("east")
    assert res.role[g] == 0 and res.partner[g] >= 0 and res.fixes.located[g]
    assert res.prob[g, east] >= 0.9 and res.prob[g, 1 - east] == 0.0
    err = np.array([res.fixes.x[g], res.fixes.y[g]]) - synth.true_xy([_km(8.0, 17.0)])[0]
    assert err @ np.linalg.solve(res.fixes.cov[g], err) < 5.99
    off, h = _fuse(_km(-3.0, 38.0), on=False)
    assert not off.fixes.located[h] and off.partner[h] < 0 and not off.prob[h].any()


def test_a_segment_that_crosses_the_line_decides_nothing():
    """The burst 25 km north: now the ray's west part is within the gun's range of it too.
    That part is light (near the camera: little area) and the mass east is ~0.95, but the
    evidence allows a western launch: the flash stays unlocated and unattributed."""
    res, g = _fuse(_km(-3.0, 25.0))
    assert not res.fixes.located[g] and res.partner[g] < 0 and not res.prob[g].any()


def test_the_ray_cells_run_out_to_the_flash_range_on_seven_rows():
    ap = ArcParams()
    x, y, w = ray_cells(0.0, 0.0, np.radians(90.0), np.radians(0.5), ap)
    n = int(ap.flash_range_m / ap.step_m)
    assert len(x) == 7 * n
    assert np.isclose(x.max(), (n - 0.5) * ap.step_m, rtol=1e-3)
    assert np.abs(y).max() < 3.1 * np.radians(0.5) * ap.flash_range_m
    assert w[n * 3 + n - 1] > w[n * 3] and w[n * 3] > w[0]  # area, then the row's Gaussian


def test_a_burst_that_one_bearing_placed_decides_nothing_where_the_ray_crosses():
    """The first test's burst reported by one post alone (a bearing and its band): the
    segment lies east only because that one bearing put the burst 38 km north, and a lone
    bearing is wild far more often than the 2 % base rate (0.11-0.17 on the simulated weeks;
    a shell from a west gun in front of the camera, wrongly placed, would be charged east).
    The ray crosses the line: the flash stays unlocated and unattributed."""
    res, g = _fuse(_km(-3.0, 38.0), posts=1)
    (h,) = {int(v) for v in res.labels[1:]}
    assert np.bincount(res.labels)[h] == 1 and res.fixes.located[h]
    assert not res.fixes.located[g] and res.partner[g] < 0 and not res.prob[g].any()


def _direct(shown_s: float) -> list[int]:
    """The first test's flash and burst given to :func:`flash_launches` as groups (0: the lone
    flash, 1: the burst, located where the posts put it, typed an impact, the west's), with
    an earlier flash of the same camera grouped with an array's two arrivals into a fix (2)
    whose emission time they set ``shown_s`` before the camera's time for it. Returns the
    flashes placed."""
    burst = _km(-3.0, 38.0)
    r, flight, rng = _shot(burst, 3)
    earlier = _km(6.0, 10.0)
    r.add(2, id="flash-early", source_id="cam-0", source_type="camera",
          time_s=1000.0 + shown_s, time_precision_s=1.0, fire_type="muzzle_flash",
          observer_lon=CAMERA[0], observer_lat=CAMERA[1],
          bearing_deg=synth.GEOD.inv(*CAMERA, *earlier)[0] % 360.0, bearing_sd_deg=0.5)
    centre = synth.offset(*earlier, 0.0, 6_000.0)
    synth.undetermined_arrivals(r, 2, earlier, [centre, synth.offset(*centre, 90.0, 1_500.0)],
                                1000.0, rng)
    r.cols["weapon_class"] = [None if e != 1 else "tube_artillery" for e in r.event]
    b = r.batch()
    labels = np.asarray(r.event, np.int64)
    G = 3
    fixes = synth.unlocated_fixes(G, len(labels))
    for g, (p, t0, sd) in enumerate(((None, np.nan, 0.0), (burst, 100.0 + flight, 300.0),
                                     (earlier, 1000.0, 200.0))):
        if p is not None:
            (fixes.x[g], fixes.y[g]), fixes.cov[g] = synth.true_xy([p])[0], np.eye(2) * sd**2
            fixes.t0[g], fixes.located[g] = t0, True
    fixes.method[1], fixes.method[2] = M_BEARING | M_BAND, M_BEARING | M_ARRIVAL
    geometry = synth.geometry()
    west = list(geometry.spec.parties).index("west")
    role = np.array([ROLE_ORIGIN, ROLE_IMPACT, ROLE_ORIGIN], np.int8)
    side = np.array([-1, west, -1], np.int64)
    lo, hi = emission_windows(b, labels, fixes, G)
    cls = np.array([None, "tube_artillery", None], object)
    return [p[0] for p in flash_launches(b, labels, fixes, role, np.full(G, -1, np.int64), side,
                                         lo, hi, cls, geometry, LinkParams(), ArcParams(),
                                         AttributionParams(), 0.02)]


def test_a_camera_whose_clock_is_shown_off_places_no_flash_by_a_flight():
    """A lone flash is placed on its ray by the flight from its time to the burst; the camera's
    earlier flash, timed by an array 25 s before the camera's time, shows its clock errs
    beyond the window, so that time places nothing (:func:`clock_shown_off`); shown right
    (within a second), the flash is placed as before."""
    assert _direct(0.0) == [0]
    assert _direct(25.0) == []
