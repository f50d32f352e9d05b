"""A camera's time is its recorder's clock, not a GPS receiver's (issue 14's clock condition:
cameras 25 s off, 1 sigma): its flash, half a minute late, is still its shot's
(:attr:`truceline.core.fusion.batch.GroupingParams.clock_error_s`)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tests.fusion import synth
from truceline.core.fusion.batch import GroupingParams
from truceline.core.fusion.grouping import group

GUN = (37.0, 48.0)
GPS_CAMERAS = replace(GroupingParams(), clock_error_s={"monitor": 60.0, "camera": 2.0,
                                                        "sensor": 0.5})


def _launch(late_s: float, seed: int) -> synth.Reports:
    """One launch at t = 100 s: an array of four sensors 3 km south heard it (GPS-timed),
    two posts saw it (bearing and band, a monitor's minute), and a camera 4 km north-west
    saw its flash with a clock ``late_s`` late."""
    rng = np.random.default_rng(seed)
    r = synth.Reports()
    centre = synth.offset(*GUN, 180.0, 3_000.0)
    for k, az in enumerate((0.0, 90.0, 180.0, 270.0)):
        synth.arrival_report(r, 0, synth.offset(*centre, az, 800.0), GUN, 100.0, 0.01, rng,
                             source=f"ac-{k}")
    for k, post in enumerate(synth.posts_around(GUN, 2, rng)):
        d = synth.GEOD.inv(*post, *GUN)[2]
        synth.bearing_report(r, 0, post, GUN, 100.0 + rng.uniform(0, 50), 2.0, rng,
                             source=f"op{k}", band=(d - 1_000.0, d + 1_000.0))
    cam = synth.offset(*GUN, 315.0, 4_000.0)
    az = synth.GEOD.inv(*cam, *GUN)[0]
    r.add(0, id="cam-flash", source_id="cam", source_type="camera", time_s=100.0 + late_s,
          time_precision_s=1.0, fire_type="muzzle_flash", observer_lon=cam[0],
          observer_lat=cam[1], bearing_deg=az % 360.0, bearing_sd_deg=0.5)
    return r


def _camera_with_shot(r: synth.Reports, params: GroupingParams | None) -> bool:
    lab = group(r.batch(params), params)
    src = r.cols["source_id"]
    cam = lab[src.index("cam")]
    return all(lab[k] == cam for k, s in enumerate(src))


def test_a_cameras_flash_half_a_minute_late_joins_its_shot():
    """With the camera's clock taken as GPS-exact (2 s), its window missed the arrays' fix of
    the launch by half a minute and the flash was an incident of its own; with a clock's
    minute it is the launch's report, as it always was when its clock was right."""
    for seed in (1, 2, 3):
        assert _camera_with_shot(_launch(0.0, seed), GPS_CAMERAS)
        assert not _camera_with_shot(_launch(30.0, seed), GPS_CAMERAS)
        assert _camera_with_shot(_launch(30.0, seed), None)
        assert _camera_with_shot(_launch(-40.0, seed), None)
