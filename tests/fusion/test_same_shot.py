"""One shot's origin fixed twice is one incident (issue 12; :mod:`truceline.core.fusion.
same_shot`): a less precise origin fix that a more precise one fits joins its group."""

from __future__ import annotations

import numpy as np

from tests.fusion import synth
from tests.fusion.synth import LINE_LON
from truceline.core.fusion.pipeline import FusionParams, FusionResult, _last, _locate_attribute
from truceline.core.fusion.same_shot import SameShotParams

GUN = (LINE_LON - 0.11, 48.0)  # ~8 km west of the line


def _fuse(second: tuple[float, float], on: bool) -> tuple[FusionResult, synth.Reports]:
    """Three monitors fix ``GUN`` from their bearings and bands, timed to the second; two
    more, one on a 10-20 km band timed to the minute, fix ``second`` at about the same time:
    split from the first three as grouping splits them on the simulated weeks (a camera's
    clock late, a wild bearing), so the two groups are given."""
    rng = np.random.default_rng(3)
    r = synth.Reports()
    for k, (az, d) in enumerate(((200.0, 6000.0), (280.0, 9000.0), (340.0, 7000.0))):
        synth.bearing_report(r, 0, synth.offset(*GUN, az, d), GUN, 100.0, 1.0, rng,
                             source=f"op-{k}", band=(5000.0, 10000.0))
    synth.bearing_report(r, 1, synth.offset(*second, 60.0, 15000.0), second, 60.0, 2.5, rng,
                         source="op-far", band=(10000.0, 20000.0))
    synth.bearing_report(r, 1, synth.offset(*second, 150.0, 12000.0), second, 75.0, 2.5, rng,
                         source="cam", band=(10000.0, 20000.0))
    r.cols["time_precision_s"][3] = 60.0
    labels = np.asarray(r.event, np.int64)
    params = FusionParams(same_shot=SameShotParams(enabled=on))
    geometry = synth.geometry()
    res = _locate_attribute(r.batch(), labels, geometry, params, finish=False)
    return _last(res, geometry, params, finish=True), r


def test_a_second_fix_of_the_same_launch_joins_the_precise_one():
    """Both groups fix the gun west of the line and are attributed west: two incidents, one
    shot counted twice. With the rule, one group of all five reports, its fix and
    attribution the precise group's own."""
    off, _ = _fuse(GUN, on=False)
    west = list(off.parties).index("west")
    assert off.n_groups == 2 and (off.role == 0).all() and (off.prob[:, west] >= 0.9).all()
    on, _ = _fuse(GUN, on=True)
    assert on.n_groups == 1 and (on.labels == 0).all()
    precise = int(np.argmin(np.trace(off.fixes.cov, axis1=1, axis2=2)))
    assert on.fixes.x[0] == off.fixes.x[precise] and on.fixes.y[0] == off.fixes.y[precise]
    assert on.prob[0, west] == off.prob[precise, west]


def test_a_launch_elsewhere_stays_its_own_incident():
    """The second pair fixes a gun 6 km north of the first, also west, at the same time: its
    fix does not fit the first, so two incidents, as without the rule."""
    on, _ = _fuse(synth.offset(*GUN, 0.0, 6000.0), on=True)
    west = list(on.parties).index("west")
    assert on.n_groups == 2 and (on.prob[:, west] >= 0.9).all()


def test_a_larger_group_does_not_join_a_smaller_sharper_fix():
    """Two mortars fire at once 500 m apart: two cameras fix one sharply, three monitors'
    bearings on their bands the other, within 3 sigma of it. The larger group is no fragment
    of the smaller's shot: two incidents."""
    rng = np.random.default_rng(4)
    r = synth.Reports()
    other = synth.offset(*GUN, 90.0, 500.0)
    for k, (az, d) in enumerate(((200.0, 5000.0), (300.0, 6000.0))):
        synth.bearing_report(r, 0, synth.offset(*GUN, az, d), GUN, 100.0, 0.3, rng,
                             source=f"cam-{k}")
    for k, (az, d) in enumerate(((20.0, 7000.0), (150.0, 8000.0), (250.0, 9000.0))):
        synth.bearing_report(r, 1, synth.offset(*other, az, d), other, 100.0, 2.5, rng,
                             source=f"op-{k}", band=(5000.0, 10000.0))
    geometry, params = synth.geometry(), FusionParams()
    res = _last(_locate_attribute(r.batch(), np.asarray(r.event, np.int64), geometry, params,
                                  finish=False), geometry, params, finish=True)
    west = list(res.parties).index("west")
    assert (res.prob[:, west] >= 0.9).all()
    d = np.array([res.fixes.x[1] - res.fixes.x[0], res.fixes.y[1] - res.fixes.y[0]])
    assert d @ np.linalg.solve(res.fixes.cov[0] + res.fixes.cov[1], d) <= 9.0  # they agree
    assert res.n_groups == 2


BURST = (LINE_LON + 0.08, 48.1)  # ~6 km east of the line


def _bursts(second: tuple[float, float], dt: float, posts: tuple[str, ...],
            on: bool = True) -> FusionResult:
    """Three monitors fix a burst at ``BURST`` from their bearings (1 deg) and bands; the
    ``posts`` (2.5 deg, a 10-20 km band) report a burst at ``second``, ``dt`` s later, as a
    group of its own (split as grouping splits a coarse band on the simulated weeks)."""
    rng = np.random.default_rng(5)
    r = synth.Reports()
    for k, (az, d) in enumerate(((20.0, 6000.0), (110.0, 8000.0), (190.0, 7000.0))):
        synth.bearing_report(r, 0, synth.offset(*BURST, az, d), BURST, 500.0, 1.0, rng,
                             source=f"op-{k}", band=(5000.0, 10000.0), explosion_type="impact")
    for k, (az, d) in zip(posts, ((60.0, 14000.0), (160.0, 12000.0)), strict=False):
        synth.bearing_report(r, 1, synth.offset(*second, az, d), second, 500.0 + dt, 2.5, rng,
                             source=k, band=(10000.0, 20000.0), explosion_type="impact")
    params = FusionParams(same_shot=SameShotParams(enabled=on))
    geometry = synth.geometry()
    res = _locate_attribute(r.batch(), np.asarray(r.event, np.int64), geometry, params,
                            finish=False)
    return _last(res, geometry, params, finish=True)


def test_a_burst_fixed_twice_is_one_incident():
    """A burst's second, looser fix (two monitors on a coarse band) that the precise fix
    fits: two incidents before (only origins joined), one now, the precise fix kept."""
    off = _bursts(BURST, 0.0, ("op-far", "op-wide"), on=False)
    assert off.n_groups == 2 and (off.role == 1).all()  # two impacts
    on = _bursts(BURST, 0.0, ("op-far", "op-wide"))
    assert on.n_groups == 1 and (on.labels == 0).all() and on.role[0] == 1
    precise = int(np.argmin(np.trace(off.fixes.cov, axis1=1, axis2=2)))
    assert on.fixes.x[0] == off.fixes.x[precise] and on.fixes.y[0] == off.fixes.y[precise]


def test_two_shells_on_one_target_seen_by_one_post_stay_apart():
    """Two shells burst on the same spot 40 s apart; a post that saw the first saw the
    second too (one source never reports one burst twice): two incidents."""
    on = _bursts(BURST, 40.0, ("op-0", "op-far"))
    assert on.n_groups == 2


def test_a_burst_elsewhere_stays_its_own_incident():
    """A second burst 6 km north at the same time: its fix does not fit the first."""
    on = _bursts(synth.offset(*BURST, 0.0, 6000.0), 0.0, ("op-far", "op-wide"))
    assert on.n_groups == 2


def test_the_arrivals_of_a_burst_fixed_twice_join_it():
    """A gun west of the line and its burst east of it (three posts each, linked), a second,
    looser fix of the burst by two more posts (a group of its own), and an array's two
    arrivals of the burst. Both fixes of the burst fit the arrivals, and the arrivals' rule
    joins only where one event fits: with the two fixes taken as two events, the arrivals and
    the second fix stayed apart (three incidents); taken as one part fixed twice, the arrivals
    join the burst they fit and the second fix joins it at the end: one incident."""
    rng = np.random.default_rng(7)
    gun = (LINE_LON - 0.07, 48.0)
    burst = synth.offset(*gun, 90.0, 9_000.0)
    r = synth.Reports()
    for g, (where, kind, dt, n, sd) in enumerate(((gun, "outgoing", 0.0, 3, 2.0),
                                                  (burst, "impact", 26.0, 3, 1.0),
                                                  (burst, "impact", 26.0, 2, 2.5))):
        for k, post in enumerate(synth.posts_around(where, n, rng)):
            d = synth.GEOD.inv(*post, *where)[2]
            synth.bearing_report(r, g, post, where, 100.0 + dt, sd, rng, source=f"op{g}{k}",
                                 band=(d - 1_000.0, d + 1_000.0), explosion_type=kind)
    centre = synth.offset(*burst, 200.0, 10_000.0)
    for k, s in enumerate((centre, synth.offset(*centre, 90.0, 1_500.0))):
        arr = 126.0 + synth.GEOD.inv(*burst, *s)[2] / synth.sound_speed(10.0) \
            + rng.normal(0, 0.01)  # an array cannot tell a launch from a burst
        r.add(3, id=f"a{k}", source_id=f"ac{k}", source_type="sensor", time_s=arr,
              time_precision_s=1.0, fire_type="explosion", explosion_type="undetermined",
              observer_lon=s[0], observer_lat=s[1], arrival_s=arr, temperature_c=10.0,
              wind_u_ms=0.0, wind_v_ms=0.0)
    r.cols["weapon_class"] = ["tube_artillery" if s.startswith("op") else None
                              for s in r.cols["source_id"]]
    labels, geometry = np.asarray(r.event, np.int64), synth.geometry()

    def fused(on: bool) -> FusionResult:
        params = FusionParams(same_shot=SameShotParams(enabled=on))
        res = _locate_attribute(r.batch(), labels, geometry, params, finish=False)
        return _last(res, geometry, params, finish=True)

    off = fused(False)
    arrivals, fragment = off.labels[-1], off.labels[6]
    assert off.n_groups == 4 and len({arrivals, fragment, off.labels[3]}) == 3
    on = fused(True)
    assert on.n_groups == 2 and on.partner[on.labels[0]] == on.labels[3]
    assert on.labels[-1] == on.labels[6] == on.labels[3]  # arrivals, second fix, burst
