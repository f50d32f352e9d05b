"""A report with no fix of its own joins the one fix on its ray (issue 14;
:func:`truceline.core.fusion.on_ray.join_on_ray`)."""

from __future__ import annotations

import numpy as np

from tests.fusion import synth
from tests.fusion.test_same_shot import GUN
from truceline.core.fusion.pipeline import FusionParams, FusionResult, _last, _locate_attribute
from truceline.core.fusion.same_shot import SameShotParams


def _camera(az: float, error_deg: float = 0.0, second: float | None = None,
            on: bool = True) -> FusionResult:
    """Three posts fix a launch at ``GUN`` (1 deg bearings on 5-10 km bands, event 0); a
    camera 12 km off at azimuth ``az`` from the gun sees its muzzle flash (a bearing, no
    distance: group 1) with its clock 25 s late, as all_conditions' cameras are, so grouping
    keeps it apart. ``second``: another gun fires at that moment this far beyond ``GUN`` on
    the camera's line of sight, which two more posts fix (group 2)."""
    rng = np.random.default_rng(7)
    r = synth.Reports()
    for k, (a, d) in enumerate(((200.0, 6000.0), (280.0, 9000.0), (340.0, 7000.0))):
        synth.bearing_report(r, 0, synth.offset(*GUN, a, d), GUN, 100.0, 1.0, rng,
                             source=f"op-{k}", band=(5000.0, 10000.0))
    cam = synth.offset(*GUN, az, 12_000.0)
    brg = (synth.GEOD.inv(*cam, *GUN)[0] + error_deg) % 360.0
    r.add(1, id="e1-cam", source_id="cam", source_type="monitor", time_s=125.0,
          time_precision_s=1.0, fire_type="muzzle_flash", observer_lon=cam[0],
          observer_lat=cam[1], bearing_deg=brg, bearing_sd_deg=0.5)
    if second is not None:
        gun2 = synth.offset(*GUN, (az + 180.0) % 360.0, second)
        for k, (a, d) in enumerate(((100.0, 6000.0), (20.0, 8000.0))):
            synth.bearing_report(r, 2, synth.offset(*gun2, a, d), gun2, 100.0, 1.0, rng,
                                 source=f"oq-{k}", band=(5000.0, 10000.0))
    params = FusionParams(same_shot=SameShotParams(ray_sigmas=3.0 if on else 0.0))
    geometry = synth.geometry()
    res = _locate_attribute(r.batch(), np.asarray(r.event, np.int64), geometry, params,
                            finish=False)
    return _last(res, geometry, params, finish=True)


def test_a_camera_s_flash_on_the_ray_to_a_launch_joins_its_fix():
    """Off: two groups, the camera's unlocated. On: one group of all four reports, whose fix
    is the posts' own."""
    off = _camera(250.0, on=False)
    assert off.n_groups == 2 and off.fixes.located[0] and not off.fixes.located[1]
    on = _camera(250.0)
    assert on.n_groups == 1 and (on.labels == 0).all()
    assert on.fixes.x[0] == off.fixes.x[0] and on.fixes.y[0] == off.fixes.y[0]


def test_a_flash_whose_ray_misses_the_fix_stays_apart():
    """The camera's bearing 6 deg off the gun (12 sd at 12 km): nothing joins."""
    assert _camera(250.0, error_deg=6.0).n_groups == 2


def test_a_flash_on_a_line_of_sight_through_two_guns_joins_neither():
    """A second gun fires 4 km beyond the first on the camera's ray: either could be the
    flash, so it stays apart."""
    res = _camera(250.0, second=4_000.0)
    assert res.n_groups == 3 and res.fixes.located[[0, 2]].all()
    assert len(set(res.labels[:3])) == 1 and res.labels[3] not in res.labels[:3]
