"""An array that heard a shot's launch at some sensors and its burst at others, within
seconds (it lies near the line of fire): one arrival group that fits neither part whole,
parted between the two (:mod:`truceline.core.fusion.heard_split`)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tests.fusion import synth
from tests.fusion.test_heard import BURST, GUN, ON, _fuse, _group_of, _shot

OFF = replace(ON, heard=replace(ON.heard, split=False))


def _heard(r: synth.Reports, sensors: list[tuple[float, float]], t_launch: float,
           rng: np.random.Generator) -> None:
    """The first two sensors report the launch, the other two the burst (26 s later)."""
    for k, s in enumerate(sensors):
        bang, t = (GUN, t_launch) if k < 2 else (BURST, t_launch + 26.0)
        dist = synth.GEOD.inv(*bang, *s)[2]
        arr = t + dist / synth.sound_speed(10.0) + rng.normal(0, 0.01)
        r.add(0, id=f"a0-{k}", source_id=f"ac0-{k}", source_type="sensor", time_s=arr,
              time_precision_s=1.0, fire_type="explosion", explosion_type="undetermined",
              observer_lon=s[0], observer_lat=s[1], arrival_s=arr, temperature_c=10.0,
              wind_u_ms=0.0, wind_v_ms=0.0)


def _setup(late_s: float = 0.0) -> synth.Reports:
    # an array of four sensors 1.3 km about its centre, 8 km past the burst a little off
    # the line of fire: the launch (17 km off) and the burst reach it within seconds of each
    # other, and the four arrivals are one group, fixed somewhere between the two
    rng = np.random.default_rng(3)
    centre = synth.offset(*BURST, 100.0, 8_000.0)
    sensors = [synth.offset(*centre, az, 1_300.0) for az in (0.0, 180.0, 90.0, 270.0)]
    r = synth.Reports()
    _shot(r, 0, GUN, BURST, 100.0, rng)
    _heard(r, sensors, 100.0, rng)
    r.cols["arrival_s"][-1] += late_s
    r.cols["time_s"][-1] += late_s
    return r


def test_an_arrays_launch_and_burst_in_one_group_join_their_parts():
    r = _setup()
    off = _fuse(r, OFF)
    (a,) = _group_of(off, r, "ac")  # one arrival group, of both sounds, located
    assert off.fixes.located[a]
    assert a not in _group_of(off, r, "op0o") | _group_of(off, r, "op0i")
    res = _fuse(r, ON)
    o, i = _group_of(res, r, "op0o"), _group_of(res, r, "op0i")
    assert _group_of(res, r, "ac0-0") | _group_of(res, r, "ac0-1") == o
    assert _group_of(res, r, "ac0-2") | _group_of(res, r, "ac0-3") == i
    # no fix moves: the parts were located without the arrivals
    for part in ("op0o", "op0i"):
        (g,) = _group_of(res, r, part)
        (h,) = _group_of(off, r, part)
        assert np.isclose(res.fixes.x[g], off.fixes.x[h])
        assert np.isclose(res.fixes.y[g], off.fixes.y[h])


def test_arrivals_no_split_fits_stay_apart():
    """One burst arrival 1.5 s late (another sound): no split of the four fits the two
    parts, and nothing joins."""
    r = _setup(late_s=1.5)
    res = _fuse(r, ON)
    o, i = _group_of(res, r, "op0o"), _group_of(res, r, "op0i")
    assert not _group_of(res, r, "ac") & (o | i)


def test_arrivals_two_linked_events_part_alike_stay_apart():
    """A second shot on the array's two rays, 3 km farther out and fired 3 km of sound
    earlier: its launch and burst reach the array when the first shot's do, and the linked
    events (the linker pairs the four parts across, each pair a linked event) both part the
    four arrivals. Two events fit: which one heard them is not known, and nothing joins
    (with one event passing required no longer, they joined the second shot's parts)."""
    rng = np.random.default_rng(3)
    centre = synth.offset(*BURST, 100.0, 8_000.0)
    sensors = [synth.offset(*centre, az, 1_300.0) for az in (0.0, 180.0, 90.0, 270.0)]
    rival = []
    for bang in (GUN, BURST):
        az, _, d = synth.GEOD.inv(*centre, *bang)
        rival.append(synth.offset(*centre, az, d + 3_000.0))
    r = synth.Reports()
    _shot(r, 0, GUN, BURST, 100.0, rng)
    _shot(r, 1, rival[0], rival[1], 100.0 - 3_000.0 / synth.sound_speed(10.0), rng)
    _heard(r, sensors, 100.0, rng)
    res = _fuse(r, ON)
    parts = [_group_of(res, r, p) for p in ("op0o", "op0i", "op1o", "op1i")]
    assert all(len(s) == 1 and res.partner[next(iter(s))] >= 0 for s in parts)
    (a,) = _group_of(res, r, "ac")
    assert a not in set().union(*parts)


def test_two_groups_of_one_arrays_sensors_do_not_part_onto_one_event():
    """The posts' reports timed to 20 s, and the array hearing two shells of a salvo 20 s
    apart (its four sensors twice, two arrival groups): each group alone parts between the
    shot's launch and burst, but a sensor heard each part once, and which group is that
    shot's is not known. Neither joins (without the check, both did: each sensor twice in
    each part)."""
    r = _setup()
    n = len(r.event)
    r.cols["time_precision_s"] = [20.0 if s.startswith("op") else t for s, t in
                                  zip(r.cols["source_id"], r.cols["time_precision_s"],
                                      strict=True)]
    for k in range(n - 4, n):  # the second shell: the same arrivals 20 s later
        row = {c: v[k] for c, v in r.cols.items()}
        r.add(0, **{**row, "id": f"{row['id']}b", "arrival_s": row["arrival_s"] + 20.0,
                    "time_s": row["time_s"] + 20.0})
    res = _fuse(r, ON)
    first = {int(res.labels[k]) for k in range(n - 4, n)}
    second = {int(res.labels[k]) for k in range(n, n + 4)}
    assert len(first) == len(second) == 1 and first != second
    assert not (first | second) & (_group_of(res, r, "op0o") | _group_of(res, r, "op0i"))


def _near_parts_at_once(cand, x, y, sig, lo, hi, ucx, ucy, ua, ub, reach, travel, hearing_m):
    """The pairs as ``split_heard`` listed them before session 29: every group at once."""
    from scipy.spatial import cKDTree

    hits = cKDTree(np.column_stack([x[cand], y[cand]])).query_ball_point(
        np.column_stack([ucx, ucy]), reach)
    lens = np.fromiter((len(h) for h in hits), np.int64, len(hits))
    if not lens.sum():
        return None
    pu = np.repeat(np.arange(len(ucx)), lens)
    pg = cand[np.concatenate([np.asarray(h, np.int64) for h in hits if len(h)])]
    near = ((np.hypot(x[pg] - ucx[pu], y[pg] - ucy[pu]) <= hearing_m + 3.0 * sig[pg])
            & (hi[pg] >= ua[pu] - travel) & (lo[pg] <= ub[pu]))
    return pu[near], pg[near]


def test_the_parts_near_each_group_are_the_same_listed_a_chunk_of_groups_at_a_time():
    # a dense day's groups and parts: listed at once they held ~0.37 GB (session 29); any
    # chunk gives the same pairs in the same order, so the joins are the same
    from truceline.core.fusion.heard_split import near_parts

    rng = np.random.default_rng(29)
    G, U = 3_000, 1_100
    x, y = rng.uniform(0, 150_000, G), rng.uniform(0, 150_000, G)
    sig = rng.exponential(800.0, G)
    lo = rng.uniform(0, 86_400, G)
    hi = lo + rng.exponential(60.0, G)
    cand = np.sort(rng.choice(G, 2_000, replace=False)).astype(np.int64)
    ucx, ucy = rng.uniform(0, 150_000, U), rng.uniform(0, 150_000, U)
    ua = rng.uniform(0, 86_400, U)
    ub = ua + rng.exponential(5.0, U)
    travel, hearing = 25_000 / 300.0, 25_000.0
    reach = hearing + 3.0 * float(sig[cand].max())
    args = (cand, x, y, sig, lo, hi, ucx, ucy, ua, ub, reach, travel, hearing)
    pu, pg = _near_parts_at_once(*args)
    assert 0 < len(pu) < 10_000  # the window test keeps a few of the million pairs
    for chunk in (1, 7, 512, U, 10 * U):
        got = near_parts(*args, chunk=chunk)
        assert got is not None
        assert got[0].dtype == pu.dtype and got[1].dtype == pg.dtype
        assert np.array_equal(got[0], pu) and np.array_equal(got[1], pg)
    # no part within reach of any group: None, as before
    far = (cand, x, y, sig, lo, hi, ucx + 1e7, ucy, ua, ub, reach, travel, hearing)
    assert _near_parts_at_once(*far) is None and near_parts(*far, chunk=7) is None


def test_the_parts_near_each_group_are_the_same_at_the_reachs_edge_and_out_of_time():
    # parts placed exactly at the reach (and a hair either side) of groups, with the widest
    # sigma, windows long and short, groups whose window meets none: the pairs listed by
    # time are those of the whole tree at once, in its order, or None as it says None
    from truceline.core.fusion.heard_split import near_parts

    rng = np.random.default_rng(30)
    travel, hearing = 25_000 / 300.0, 25_000.0
    nonempty = 0
    for case in range(40):
        U, G = int(rng.integers(1, 60)), int(rng.integers(1, 400))
        ucx, ucy = rng.uniform(0, 80_000, U), rng.uniform(0, 80_000, U)
        ua = rng.uniform(0, 20_000, U)
        ub = ua + rng.exponential(5.0, U)
        sig = np.full(G, 700.0) if case % 2 else rng.exponential(500.0, G)
        reach = hearing + 3.0 * float(sig.max())
        at = rng.integers(0, U, G)
        az = rng.uniform(0, 2 * np.pi, G)
        r = np.where(rng.random(G) < 0.5, reach * (1.0 + rng.choice([-1e-12, 0.0, 1e-12], G)),
                     rng.uniform(0, 1.3 * reach, G))
        x, y = ucx[at] + r * np.sin(az), ucy[at] + r * np.cos(az)
        lo = np.where(rng.random(G) < 0.7, ua[at] + rng.normal(0, 60.0, G),
                      rng.uniform(0, 20_000, G))
        hi = lo + np.where(rng.random(G) < 0.1, 5_000.0, rng.exponential(30.0, G))
        if case % 5 == 0:  # every window out of time, parts within reach
            lo, hi = lo + 1e6, hi + 1e6
        cand = np.flatnonzero(rng.random(G) < 0.9).astype(np.int64)
        if not len(cand):
            continue
        args = (cand, x, y, sig, lo, hi, ucx, ucy, ua, ub, reach, travel, hearing)
        want = _near_parts_at_once(*args)
        for chunk in (1, 5, 512):
            got = near_parts(*args, chunk=chunk)
            if want is None:
                assert got is None
                continue
            assert got is not None
            assert got[0].dtype == want[0].dtype and got[1].dtype == want[1].dtype
            assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
        nonempty += want is not None and len(want[0]) > 0
    assert nonempty > 15
