"""A camera whose clock runs late: its flash, left alone, joins the one array's fix it fits
under a clock's minute (:mod:`truceline.core.fusion.late_clock`, issue 14's clock condition:
cameras 25 s off, 1 sigma)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tests.fusion import synth
from truceline.core.fusion.batch import GroupingParams
from truceline.core.fusion.grouping import group

GUN = (37.0, 48.0)
BEFORE = replace(GroupingParams(), late_clock_s=0.0)


def _launch(r: synth.Reports, event: int, t: float, rng: np.random.Generator,
            posts: bool = True) -> None:
    """One launch at ``t``: an array of four sensors 3 km south heard it (GPS-timed), two posts
    saw it (bearing and band, a monitor's minute; with ``posts``)."""
    centre = synth.offset(*GUN, 180.0, 3_000.0)
    for k, az in enumerate((0.0, 90.0, 180.0, 270.0)):
        synth.arrival_report(r, event, synth.offset(*centre, az, 800.0), GUN, t, 0.01, rng,
                             source=f"ac-{k}")
    for k, post in enumerate(synth.posts_around(GUN, 2, rng) if posts else []):
        d = synth.GEOD.inv(*post, *GUN)[2]
        synth.bearing_report(r, event, post, GUN, t + rng.uniform(0, 50), 2.0, rng,
                             source=f"op{event}{k}", band=(d - 1_000.0, d + 1_000.0))


def _flash(r: synth.Reports, event: int, t: float) -> None:
    """A camera 4 km north-west saw the flash; its clock says ``t``."""
    cam = synth.offset(*GUN, 315.0, 4_000.0)
    az = synth.GEOD.inv(*cam, *GUN)[0]
    r.add(event, id=f"cam-{event}", source_id="cam", source_type="camera", time_s=t,
          time_precision_s=1.0, fire_type="muzzle_flash", observer_lon=cam[0],
          observer_lat=cam[1], bearing_deg=az % 360.0, bearing_sd_deg=0.5)


def _labels(r: synth.Reports, params: GroupingParams | None) -> dict[str, list[int]]:
    lab = group(r.batch(params), params)
    out: dict[str, list[int]] = {}
    for k, i in enumerate(r.cols["id"]):
        out.setdefault(str(i), []).append(int(lab[k]))
    return {i: v for i, v in out.items()}


def test_a_cameras_flash_half_a_minute_late_joins_its_shot():
    """The flash's window (its time +- 2 s) missed the window of the array's fix of the launch
    by half a minute or more: it was an incident of its own. Alone, it tries again with a
    clock's minute against the arrays' fixes, fits this one, and joins the shot."""
    for seed in (1, 2, 3):
        for late in (30.0, -40.0):
            rng = np.random.default_rng(seed)
            r = synth.Reports()
            _launch(r, 0, 100.0, rng, posts=False)
            _flash(r, 0, 100.0 + late)
            for params, together in ((BEFORE, False), (None, True)):
                lab = group(r.batch(params), params)
                cam = lab[r.cols["source_id"].index("cam")]
                assert bool(np.count_nonzero(lab == cam) == len(lab)) is together


def test_a_late_flash_that_two_shots_of_the_gun_fit_stays_alone():
    """The gun fired twice a minute apart, each shot fixed by the array (no post saw them):
    the flash, 30 s after the first, fits both under a clock's minute and says nothing of
    which; it stays alone."""
    for seed in (4, 5, 6):
        rng = np.random.default_rng(seed)
        r = synth.Reports()
        _launch(r, 0, 100.0, rng, posts=False)
        _launch(r, 1, 160.0, rng, posts=False)
        _flash(r, 0, 130.0)
        lab = group(r.batch(), None)
        cam = lab[r.cols["source_id"].index("cam")]
        assert np.count_nonzero(lab == cam) == 1
