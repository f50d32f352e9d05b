"""A group holding a firing and another sound's arrival, parted by its typed bearings."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tests.fusion import synth
from tests.fusion.synth import LINE_LON
from truceline.core.fusion.batch import GroupingParams, candidates
from truceline.core.fusion.locate import LocateParams, ellipse, locate
from truceline.core.fusion.pipeline import fuse_batch
from truceline.core.fusion.sound_split import SoundSplitParams, split_sounds

LAUNCH = (LINE_LON - 0.03, 48.0)  # ~2.2 km west of the line




def _launch_bearings(r: synth.Reports, rng: np.random.Generator, sd_deg: float) -> None:
    """Three posts' typed bearings of the launch at t = 100 s, each with a 2 km band."""
    for k, post in enumerate(synth.posts_around(LAUNCH, 3, rng)):
        d = synth.GEOD.inv(*post, *LAUNCH)[2]
        synth.bearing_report(r, 0, post, LAUNCH, 100.0, sd_deg, rng, source=f"op-{k}",
                             band=(d - 1_000.0, d + 1_000.0), explosion_type="outgoing")

def _arrivals(r: synth.Reports, heard: list[tuple[int, tuple[float, float], float]],
              rng: np.random.Generator) -> None:
    """Each (event, sensor, true arrival) of ``heard`` as a sensor's report, timed to 10 ms."""
    for j, (event, s, t) in enumerate(heard):
        arr = t + rng.normal(0, 0.01)
        r.add(event, id=f"a{j}", source_id=f"s-{j}", source_type="sensor", time_s=arr,
              time_precision_s=1.0, fire_type="explosion", explosion_type="undetermined",
              observer_lon=s[0], observer_lat=s[1], arrival_s=arr, temperature_c=10.0,
              wind_u_ms=0.0, wind_v_ms=0.0)

def _shot(seed: int, delta_s: float) -> synth.Reports:
    """Three posts' bearings of a launch and an array of four sensors 3 km west-south-west
    that heard it; a lone sensor 800 m from its burst (3 km east) heard the burst
    ``delta_s`` after it would have heard the launch: close enough in time to be grouped
    with the launch, hundreds of timing sigmas off its fix."""
    rng = np.random.default_rng(seed)
    burst = synth.offset(*LAUNCH, 90.0, 3_000.0)
    centre = synth.offset(*LAUNCH, 250.0, 3_000.0)
    sensors = [centre] + [synth.offset(*centre, az, 1_000.0) for az in (0.0, 120.0, 240.0)]
    r = synth.Reports()
    _launch_bearings(r, rng, 3.0)
    c = synth.sound_speed(10.0)
    lone = synth.offset(*burst, 0.0, 800.0)
    d_l = synth.GEOD.inv(*LAUNCH, *lone)[2]
    heard = [(0, s, 100.0 + synth.GEOD.inv(*LAUNCH, *s)[2] / c) for s in sensors]
    heard.append((1, lone, 100.0 + d_l / c + delta_s))
    _arrivals(r, heard, rng)
    return r


def test_a_launch_s_group_sheds_the_burst_s_arrival_and_is_attributed_sure() -> None:
    """The launch's group held the burst's arrival: its fit rejected it and ``widen`` made
    the ellipse 13-62 km wide, the launch attributed at 0.55-0.69 (before session 37).
    Parted by the bearings, the launch is fitted on its own sound: a few hundred metres,
    P(west) ~1."""
    for delta in (3.0, 6.0, 10.0):
        res = fuse_batch(_shot(5, delta).batch(), synth.geometry())
        g = int(res.labels[0])
        a95, _, _ = ellipse(res.fixes.cov[g : g + 1])
        assert res.fixes.located[g] and a95[0] < 1_000.0
        assert res.prob[g, 0] > 0.99


def test_only_the_subset_the_bearings_fit_is_kept_and_nothing_else_moves() -> None:
    """``split_sounds`` on the one group: the lone sensor's arrival leaves, the array's four
    stay with the bearings; a group of arrivals alone (no typed bearing) is left as it is."""
    r = _shot(5, 6.0)
    b = r.batch()
    cd = candidates(b, GroupingParams())
    one = np.zeros(len(b), np.int64)
    fx = locate(b, one, cd, LocateParams())
    assert fx.widen[0] > 1.0
    new = split_sounds(b, one, fx, cd, LocateParams())
    ev = np.asarray(r.event)
    assert len(np.unique(new[ev == 0])) == 1 and new[ev == 1][0] != new[ev == 0][0]
    # the arrival left is 6 s off the launch's refit: another sound at a 0.6 s gap, not at 10
    far = SoundSplitParams(min_gap_s=10.0)
    assert split_sounds(b, one, fx, cd, LocateParams(), far) is one
    arrivals = np.flatnonzero(np.isfinite(b.arr))
    sub = b.take(arrivals)
    lone = np.zeros(len(arrivals), np.int64)
    fa = locate(sub, lone, cd.take(arrivals), LocateParams())
    assert split_sounds(sub, lone, fa, cd.take(arrivals), LocateParams()) is lone


def _one_heard(
    seed: int,
    delta_s: float,
    near_az: tuple[float, ...] = (250.0,),
    burst_az: tuple[float, ...] = (0.0, 120.0, 240.0),
) -> synth.Reports:
    """Three posts' bearings of a launch; one sensor 3 km west-south-west heard it, and
    three sensors 2 km around its burst (3 km east) heard the burst ``delta_s`` after the
    launch: no three arrivals fit the bearings, so no subset of ``min_kept`` is kept
    (sensors 3 km from the launch at ``near_az``, 2 km from the burst at ``burst_az``)."""
    rng = np.random.default_rng(seed)
    burst = synth.offset(*LAUNCH, 90.0, 3_000.0)
    r = synth.Reports()
    _launch_bearings(r, rng, 1.0)
    c = synth.sound_speed(10.0)
    near = [synth.offset(*LAUNCH, az, 3_000.0) for az in near_az]
    heard = [(0, s, 100.0 + synth.GEOD.inv(*LAUNCH, *s)[2] / c) for s in near]
    for az in burst_az:
        s = synth.offset(*burst, az, 2_000.0)
        heard.append((1, s, 100.0 + delta_s + synth.GEOD.inv(*burst, *s)[2] / c))
    _arrivals(r, heard, rng)
    return r


def test_a_firing_no_subset_of_whose_arrivals_fits_is_located_by_its_bearings() -> None:
    """The group of a launch's bearings, its one arrival and its burst's three: no three
    arrivals fit the bearings, and before session 38 the fit's ``widen`` stated the launch
    hundreds of km wide. Located by the bearings alone, every arrival parted: the ellipse is the
    bearings', a few hundred metres; a group without two bearings is left as it is."""
    r = _one_heard(3, 8.0)
    b = r.batch()
    cd = candidates(b, GroupingParams())
    one = np.zeros(len(b), np.int64)
    fx = locate(b, one, cd, LocateParams())
    assert fx.widen[0] > 100.0
    new = split_sounds(b, one, fx, cd, LocateParams())
    arr = np.isfinite(b.arr)
    assert len(np.unique(new[~arr])) == 1 and not np.isin(new[arr], new[~arr]).any()
    assert len(np.unique(new[arr])) == arr.sum()  # each arrival a group of its own
    fx2 = locate(b, new, cd, LocateParams())
    g = int(new[0])
    a95, _, _ = ellipse(fx2.cov[g : g + 1] * fx2.widen[g])
    assert a95[0] < 1_000.0
    # one bearing and the arrivals: no anchor to locate the firing by, nothing changes
    keep = np.flatnonzero(arr | (np.arange(len(b)) == 0))
    sub, lone = b.take(keep), np.zeros(len(keep), np.int64)
    fs = locate(sub, lone, cd.take(keep), LocateParams())
    assert split_sounds(sub, lone, fs, cd.take(keep), LocateParams()) is lone


def test_a_firing_heard_twice_beside_its_burst_keeps_its_two_arrivals() -> None:
    """The group of a launch's bearings, two of its arrivals and one of its burst's: three
    arrivals, too few to keep ``min_kept`` of them, so before session 39 the bearings alone
    located the launch and both its arrivals left too, each a group of its own (the heard joins
    then handed such a launch's arrival to its burst's part, whose tight fix missed by
    hundreds of metres: wild_bearings seed 2, BENCHMARKS.md session 39, h5a). Kept with
    the bearings (``small_kept``), only the burst's leaves."""
    r = _one_heard(3, 8.0, near_az=(250.0, 200.0), burst_az=(30.0,))
    b = r.batch()
    cd = candidates(b, GroupingParams())
    one = np.zeros(len(b), np.int64)
    # three arrivals fix (x, y, t0) exactly: here the fit bends the bearings instead, so
    # the widening a fit rejecting the burst's arrival states is given as such a fit's
    fx = replace(locate(b, one, cd, LocateParams()), widen=np.array([50.0]))
    new = split_sounds(b, one, fx, cd, LocateParams())
    ev, arr = np.asarray(r.event), np.isfinite(b.arr)
    assert len(np.unique(new[ev == 0])) == 1  # the bearings and the launch's two arrivals
    assert new[ev == 1][0] != new[0]
    fx2 = locate(b, new, cd, LocateParams())
    g = int(new[0])
    assert (fx2.widen[g] == 1.0) and not fx2.outlier[new == g].any()
    # as small_kept 3 (main): the bearings alone, every arrival a group of its own
    old = split_sounds(b, one, fx, cd, LocateParams(), SoundSplitParams(small_kept=3))
    assert len(np.unique(old[arr])) == arr.sum() and not np.isin(old[arr], old[~arr]).any()
