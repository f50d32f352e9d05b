"""One shot's origin fixed twice is one incident (issue 12; :mod:`truceline.core.fusion.
same_shot`): a less precise origin fix that a more precise one fits joins its group."""

from __future__ import annotations

import numpy as np

from tests.fusion import synth
from tests.fusion.synth import LINE_LON
from truceline.core.classify import CompiledGeometry
from truceline.core.fusion.pipeline import FusionParams, FusionResult, _last, _locate_attribute
from truceline.core.fusion.same_shot import SameShotParams

GUN = (LINE_LON - 0.11, 48.0)  # ~8 km west of the line


def _run(r: synth.Reports, geometry: CompiledGeometry, params: FusionParams) -> FusionResult:
    """Locate and attribute the reports grouped by their true event, then the last stage."""
    res = _locate_attribute(r.batch(), np.asarray(r.event, np.int64), geometry, params,
                            finish=False)
    return _last(res, geometry, params, finish=True)


def _sensors_untyped(r: synth.Reports) -> None:
    """The sensors' arrivals say neither the sound nor the weapon; the posts a tube gun."""
    synth.untype_arrays(r)
    r.cols["weapon_class"] = [None if s.startswith("ac") else "tube_artillery"
                              for s in r.cols["source_id"]]


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
    return _run(r, geometry, params)


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


def _lone(dist: float, second: tuple[float, float] | None = None, on: bool = True,
          sd_deg: float = 1.0, band: tuple[float, float] = (5_000.0, 10_000.0)
          ) -> FusionResult:
    """Three posts fix a burst at ``BURST`` sharply (0.3 deg bearings, sd ~50 m); with
    ``second``, two more fix another burst there 5 s later (0.5 deg, sd ~110 m); one post
    ``dist`` m south-east of the last burst reports it, its bearing exact and its band
    ``band``: a judgement short of the truth, so its own fix (one report) lies along the ray
    several sd from the burst's. ``on``: the same-shot join (the defaults) or none."""
    rng = np.random.default_rng(5)
    r = synth.Reports()
    for k, (az, d) in enumerate(((20.0, 6000.0), (110.0, 8000.0), (190.0, 7000.0))):
        synth.bearing_report(r, 0, synth.offset(*BURST, az, d), BURST, 500.0, 0.3, rng,
                             source=f"op-{k}", band=(5000.0, 10000.0), explosion_type="impact")
    if second is not None:
        for k, (az, d) in enumerate(((60.0, 7000.0), (300.0, 6000.0))):
            synth.bearing_report(r, 2, synth.offset(*second, az, d), second, 505.0, 0.5, rng,
                                 source=f"b-{k}", band=(5000.0, 10000.0),
                                 explosion_type="impact")
    at = BURST if second is None else second
    synth.bearing_report(r, 1, synth.offset(*at, 150.0, dist), at, 510.0, sd_deg, rng,
                         source="lone", band=band, explosion_type="impact", error_deg=0.0)
    params = FusionParams() if on else FusionParams(same_shot=SameShotParams(enabled=False))
    geometry = synth.geometry()
    return _run(r, geometry, params)


def _m(res: FusionResult, a: int, b: int) -> float:
    d = np.array([res.fixes.x[a] - res.fixes.x[b], res.fixes.y[a] - res.fixes.y[b]])
    return float(np.sqrt(d @ np.linalg.solve(res.fixes.cov[a] + res.fixes.cov[b], d)))


def test_a_lone_report_four_sd_off_a_sharp_fix_of_its_burst_joins_it():
    """A post 16 km from the burst judges it "5-10 km": its fix (one report, sd ~3 km) lies
    3.6 sd and 8.4 km from the burst's (sd ~50 m), and no other fix is near. Past 3 sd it
    stayed an incident of its own; now it joins the burst, whose fix is kept."""
    off = _lone(16_000.0, on=False)
    assert off.n_groups == 2 and 3.3 < _m(off, 0, 1) < 4.0
    on = _lone(16_000.0)
    assert on.n_groups == 1 and (on.labels == 0).all()
    assert on.fixes.x[0] == off.fixes.x[0] and on.fixes.y[0] == off.fixes.y[0]


def test_a_lone_report_past_five_sd_stays_apart():
    """A post 8 km off judges it "2-4 km": its fix 5 km and 5.2 sd from the burst's. Two
    incidents."""
    on = _lone(8_000.0, band=(2_000.0, 4_000.0))
    assert on.n_groups == 2 and _m(on, 0, 1) > 5.0
    assert np.hypot(on.fixes.x[1] - on.fixes.x[0], on.fixes.y[1] - on.fixes.y[0]) < 9_000.0


def test_a_lone_loose_report_past_ten_km_stays_apart():
    """A post 30 km off with a 6-degree bearing on a "10-20 km" band: its fix (sd ~8 km) lies
    within 5 sd of the burst's, but 15 km from it: two incidents (coarse_bands seed 2: two
    such reports of one shell joined another's burst 12 and 21 km away)."""
    on = _lone(30_000.0, sd_deg=6.0, band=(10_000.0, 20_000.0))
    assert on.n_groups == 2 and _m(on, 0, 1) < 5.0
    assert np.hypot(on.fixes.x[1] - on.fixes.x[0], on.fixes.y[1] - on.fixes.y[0]) > 10_000.0


def test_two_mortars_and_a_lone_report_that_fits_both_stay_apart():
    """The two-mortar trap: two bursts 1.5 km and 5 s apart, each fixed sharply by its own
    posts, and a lone report of the second 16 km off whose fix lies 3-5 sd from both (3.9 and
    3.6) and 8.5 km from the second. Both fit, so it joins neither, and the two bursts stay
    apart: three incidents, each burst's reports on their own."""
    res = _lone(16_000.0, second=synth.offset(*BURST, 90.0, 1_500.0))
    assert res.n_groups == 3
    a, b, lone = res.labels[0], res.labels[3], res.labels[-1]
    assert len({int(a), int(b), int(lone)}) == 3
    assert (res.labels[:3] == a).all() and (res.labels[3:5] == b).all()
    assert 3.0 < _m(res, int(lone), int(a)) < 5.0 and 3.0 < _m(res, int(lone), int(b)) < 5.0


GUN2 = (LINE_LON - 0.07, 48.0)  # ~5 km west of the line


def _loose_launch(rng: np.random.Generator) -> synth.Reports:
    """One post reports a launch at ``GUN2`` (event 0: 2 deg on a "5-10 km" band, sd ~3 km),
    three posts its burst 9 km east (event 1: 1 deg on 2 km bands), which the link joins."""
    burst = synth.offset(*GUN2, 90.0, 9_000.0)
    r = synth.Reports()
    synth.bearing_report(r, 0, synth.offset(*GUN2, 200.0, 7_000.0), GUN2, 100.0, 2.0, rng,
                         source="op-l", band=(5_000.0, 10_000.0))
    for k, post in enumerate(synth.posts_around(burst, 3, rng)):
        d = synth.GEOD.inv(*post, *burst)[2]
        synth.bearing_report(r, 1, post, burst, 126.0, 1.0, rng, source=f"op{k}",
                             band=(d - 1_000.0, d + 1_000.0), explosion_type="impact")
    return r


def _heard(heard: tuple[float, float], burst_there: bool = False) -> FusionResult:
    """One post reports a launch at ``GUN2`` (2 deg on a "5-10 km" band: sd ~3 km), three
    posts its burst 9 km east (linked to it); four sensors around ``heard`` time a sound there
    (their own group, fixed to ~10 m, untyped). ``burst_there``: another shell bursts at
    ``heard`` at that moment, which one more post reports (2 deg on a "5-10 km" band)."""
    rng = np.random.default_rng(11)
    r = _loose_launch(rng)
    for k, az in enumerate((0.0, 120.0, 240.0, 300.0)):
        synth.arrival_report(r, 2, synth.offset(*heard, az, 8_000.0 + 500.0 * k), heard, 100.0,
                             0.005, rng, source=f"ac{k}")
    if burst_there:
        synth.bearing_report(r, 3, synth.offset(*heard, 330.0, 7_000.0), heard, 100.0, 2.0, rng,
                             source="op-b", band=(5_000.0, 10_000.0), explosion_type="impact")
    _sensors_untyped(r)
    geometry, params = synth.geometry(), FusionParams()
    return _run(r, geometry, params)


def test_four_arrivals_fixing_a_launch_join_its_looser_report():
    """The four sensors heard the launch: their fix (sd ~10 m, untyped) lies within a sd of the
    post's (sd ~3 km), which is linked to the burst. An untyped fix joined only a *sharper*
    typed one, and a linked fix may not move: two incidents before (the shot and its sound);
    now the arrivals join the launch's group, which keeps its fix and link."""
    res = _heard(GUN2)
    assert res.n_groups == 2
    launch = res.labels[0]
    assert (res.labels[4:] == launch).all() and res.partner[launch] == res.labels[1]
    assert res.role[launch] == 0


def test_arrivals_that_a_launch_and_a_burst_beside_it_both_fit_join_neither():
    """The two-mortar trap: a shell bursts 1.5 km from the gun as it fires, one post reports
    each, and the sensors heard the burst. Their fix fits the launch report (1.5 km in a sd of
    3 km) and the burst report alike, so they join neither: the shot keeps its own reports."""
    res = _heard(synth.offset(*GUN2, 0.0, 1_500.0), burst_there=True)
    launch, other = res.labels[0], res.labels[-1]
    assert launch != other and (res.labels[4:8] != launch).all()
    assert (res.labels[4:8] != other).all()


def _linked(fixed: tuple[tuple[float, float], ...], on: bool = True, kind: str = "outgoing"
            ) -> FusionResult:
    """One post reports a launch at ``GUN2`` (2 deg on a "5-10 km" band: sd ~3 km), three
    posts its burst 9 km east, and the link joins the two; at each of ``fixed`` four sensors
    time a launch (to ~10 m) that a post 12 km off reports too (2 deg on a "10-20 km" band):
    a typed group of its own, fixed sharply, as grouping leaves the arrays' group beside a
    lone report on the simulated weeks (``kind``: that post's explosion type). ``on``: the
    same-shot joins as they are, else none."""
    rng = np.random.default_rng(11)
    r = _loose_launch(rng)
    for g, at in enumerate(fixed, start=2):
        for k, az in enumerate((0.0, 120.0, 240.0, 300.0)):
            synth.arrival_report(r, g, synth.offset(*at, az, 8_000.0 + 500.0 * k), at, 100.0,
                                 0.005, rng, source=f"ac{g}-{k}")
        synth.bearing_report(r, g, synth.offset(*at, 330.0, 12_000.0), at, 100.0, 2.0, rng,
                             source=f"op-s{g}", band=(10_000.0, 20_000.0), explosion_type=kind)
    _sensors_untyped(r)
    geometry = synth.geometry()
    params = FusionParams(same_shot=SameShotParams(enabled=on))
    return _run(r, geometry, params)


def test_a_launch_report_linked_to_its_burst_joins_the_sharp_fix_of_that_launch():
    """The lone launch report is linked to the burst; the arrays' and the second post's fix of
    the same launch (sd ~10 m, 0.3 sd of the report's away) is a group of its own, linked to
    nothing, and smaller than the report's incident (the burst's reports count there): a
    linked fix never moved and a larger group never joined a smaller one, so three incidents
    before. Now the report joins the sharp fix's group, which keeps its fix and takes the
    link: one shot, one incident."""
    off = _linked((GUN2,), on=False)
    assert off.n_groups == 3 and off.partner[0] == 1 and off.partner[2] < 0
    on = _linked((GUN2,))
    assert on.n_groups == 2
    launch = on.labels[0]
    assert (on.labels[4:] == launch).all() and on.role[launch] == 0
    assert on.partner[launch] == on.labels[1] and on.partner[on.labels[1]] == launch
    assert on.fixes.x[launch] == off.fixes.x[2] and on.fixes.y[launch] == off.fixes.y[2]


def test_a_linked_launch_report_stays_off_a_sharp_fix_elsewhere():
    """The sharp fix is of another launch 15 km north (~5 sd of the report's): apart."""
    on = _linked((synth.offset(*GUN2, 0.0, 15_000.0),))
    assert on.n_groups == 3 and on.partner[on.labels[0]] == on.labels[1]


def test_a_linked_launch_report_that_two_sharp_fixes_fit_joins_neither():
    """Two guns fire at once 1.5 km either side of the report's launch, each fixed sharply:
    the report fits both, so it stays with its burst (the two-mortar trap)."""
    on = _linked((synth.offset(*GUN2, 0.0, 1_500.0), synth.offset(*GUN2, 180.0, 1_500.0)))
    assert on.n_groups == 4 and on.partner[on.labels[0]] == on.labels[1]


def test_a_linked_launch_report_joins_a_sharp_untyped_fix_and_types_it():
    """The same, but the second post calls its explosion undetermined, so the sharp group is
    untyped: the report joins it, and the group takes the launch's role and link, attributed
    west at its own sharp fix."""
    off = _linked((GUN2,), on=False, kind="undetermined")
    assert off.n_groups == 3 and off.role[2] == 2 and off.partner[2] < 0  # untyped
    on = _linked((GUN2,), kind="undetermined")
    assert on.n_groups == 2
    launch = on.labels[0]
    assert (on.labels[4:] == launch).all() and on.role[launch] == 0
    assert on.partner[launch] == on.labels[1]
    assert on.fixes.x[launch] == off.fixes.x[2] and on.fixes.y[launch] == off.fixes.y[2]
    assert on.prob[launch, list(on.parties).index("west")] >= 0.9


def _other_part(heard: tuple[float, float], dt: float = 0.0, on: bool = True,
                second: tuple[float, float] | None = None) -> FusionResult:
    """Three posts fix a launch at ``GUN2`` (1 deg on their bands), three its burst 9 km east,
    and the link joins the two; four sensors time a launch at ``heard``, ``dt`` s later, in
    one group with a post's report of the burst (its ray, from 3 km east of the burst, runs
    on past the gun): the arrivals' sharp fix, typed an impact by that report alone, as
    grouping leaves it on the simulated weeks. ``second``: a second launch there at that
    moment, fixed and linked to its own burst 9 km north-east like the first. ``on``: the
    same-shot joins as they are, else this one off."""
    rng = np.random.default_rng(5)
    r = synth.Reports()
    ev = 0
    for gun in (GUN2,) if second is None else (GUN2, second):
        burst = synth.offset(*gun, 90.0 if gun == GUN2 else 45.0, 9_000.0)
        for k, post in enumerate(synth.posts_around(gun, 3, rng)):
            d = synth.GEOD.inv(*post, *gun)[2]
            synth.bearing_report(r, ev, post, gun, 100.0, 1.0, rng, source=f"op-o{ev}{k}",
                                 band=(d - 1_000.0, d + 1_000.0))
        for k, post in enumerate(synth.posts_around(burst, 3, rng)):
            d = synth.GEOD.inv(*post, *burst)[2]
            synth.bearing_report(r, ev + 1, post, burst, 126.0, 1.0, rng, source=f"op-i{ev}{k}",
                                 band=(d - 1_000.0, d + 1_000.0), explosion_type="impact")
        ev += 2
    for k, az in enumerate((0.0, 120.0, 240.0, 300.0)):
        synth.arrival_report(r, ev, synth.offset(*heard, az, 8_000.0 + 500.0 * k), heard,
                             100.0 + dt, 0.005, rng, source=f"ac{k}")
    burst = synth.offset(*GUN2, 90.0, 9_000.0)
    synth.bearing_report(r, ev, synth.offset(*burst, 90.0, 3_000.0), burst, 126.0, 2.0, rng,
                         source="op-x", band=(1_000.0, 20_000.0), explosion_type="impact")
    _sensors_untyped(r)
    geometry = synth.geometry()
    params = FusionParams(same_shot=SameShotParams(other_part_arrivals=3 if on else 0))
    return _run(r, geometry, params)


NEAR = (LINE_LON - 0.012, 48.0)  # ~0.9 km west of the line


def _near_line(second: tuple[float, float], on: bool = True) -> FusionResult:
    """Three monitors fix a gun 0.9 km west of the line (1-degree bearings on their bands,
    sd ~0.4 km: west with >= 0.9); two far posts (2.5 degrees, "10-20 km") report a launch
    at ``second`` 10 s later, a group of their own whose fix (sd ~1.3 km) lies on neither
    side with ``own_side_max`` (0.83 west)."""
    rng = np.random.default_rng(3)
    r = synth.Reports()
    for k, (az, d) in enumerate(((200.0, 6000.0), (280.0, 9000.0), (340.0, 7000.0))):
        synth.bearing_report(r, 0, synth.offset(*NEAR, az, d), NEAR, 100.0, 1.0, rng,
                             source=f"op-{k}", band=(5000.0, 10000.0))
    for k, (az, d) in enumerate(((250.0, 15000.0), (300.0, 12000.0))):
        synth.bearing_report(r, 1, synth.offset(*second, az, d), second, 110.0, 2.5, rng,
                             source=f"far-{k}", band=(10000.0, 20000.0))
    params = FusionParams(same_shot=SameShotParams(unsure_side=on))
    geometry = synth.geometry()
    return _run(r, geometry, params)


def test_arrivals_at_a_linked_launch_typed_by_a_burst_report_join_the_launch():
    """The sensors heard the launch: their fix lies at the gun, at the launch's time, but the
    one post's report of the burst in their group typed it an impact, linked to nothing: two
    incidents of one shot, each holding both parts. Now the group joins the launch's, which
    keeps its fix and link: one shot, one incident."""
    off = _other_part(GUN2, on=False)
    assert off.n_groups == 3 and off.role[2] == 1 and off.partner[2] < 0
    assert off.partner[0] == 1
    on = _other_part(GUN2)
    assert on.n_groups == 2
    launch = on.labels[0]
    assert (on.labels[6:] == launch).all() and on.role[launch] == 0
    assert on.partner[launch] == on.labels[3]
    assert on.fixes.x[launch] == off.fixes.x[0] and on.fixes.y[launch] == off.fixes.y[0]


def test_arrivals_of_another_gun_a_short_time_later_stay_apart():
    """The sensors heard another gun 1.5 km west (on the post's ray too), 20 s after the
    launch: their fix fits neither the launch's place nor its time, so the group, typed an
    impact by the post's report, stays apart (a wrong join loses that shot's finding)."""
    on = _other_part(synth.offset(*GUN2, 270.0, 1_500.0), dt=20.0)
    heard = on.labels[6]
    assert on.n_groups == 3 and heard != on.labels[0] and (on.labels[6:] == heard).all()
    assert on.role[heard] == 1 and on.partner[on.labels[0]] == on.labels[3]


def test_arrivals_that_two_linked_launches_fit_join_neither():
    """A second gun fires at the same moment 300 m north of the first, each launch fixed and
    linked to its own burst; the sensors' fix between them fits both: it joins neither."""
    on = _other_part(synth.offset(*GUN2, 0.0, 150.0), second=synth.offset(*GUN2, 0.0, 300.0))
    heard, first, other = on.labels[12], on.labels[0], on.labels[6]
    assert on.n_groups == 5 and heard not in (first, other)
    assert (on.labels[12:] == heard).all() and on.partner[first] >= 0 and on.partner[other] >= 0
    assert _m(on, heard, first) <= 3.0 and _m(on, heard, other) <= 3.0  # it fits both


def test_a_launch_fixed_on_neither_side_joins_the_sharp_fix_of_that_launch():
    """The far posts' fix agrees with the gun's but is attributed to neither side with 0.9,
    so it was no candidate (two incidents, the launch counted once with a party, once
    without). Now it joins the gun's group, whose fix and attribution stay."""
    off = _near_line(NEAR, on=False)
    west = list(off.parties).index("west")
    assert off.n_groups == 2 and off.prob[0, west] >= 0.9 and off.prob[1].max() < 0.9
    assert _m(off, 0, 1) < 3.0
    on = _near_line(NEAR)
    assert on.n_groups == 1 and (on.labels == 0).all()
    assert on.fixes.x[0] == off.fixes.x[0] and on.prob[0, west] == off.prob[0, west]


def test_a_launch_on_neither_side_elsewhere_stays_apart():
    """The far posts' launch 6 km north of the gun: its fix does not fit the gun's, two
    incidents."""
    on = _near_line(synth.offset(*NEAR, 0.0, 6000.0))
    assert on.n_groups == 2 and on.prob[1].max() < 0.9


def _burst_twice(burst: tuple[float, float], rng: np.random.Generator) -> synth.Reports:
    """Four posts' reports of a burst at ``BURST`` (event 0; 1 deg on their bands); an array's
    two arrivals and a far post's report (2.5 deg, "10-20 km") of a burst at ``burst`` at the
    same moment (event 1): the sharp fix and the loose one of :func:`_loose` and of
    ``test_loose_linked``."""
    r = synth.Reports()
    for k, (az, d) in enumerate(((20.0, 6000.0), (110.0, 8000.0), (190.0, 7000.0),
                                 (280.0, 9000.0))):
        synth.bearing_report(r, 0, synth.offset(*BURST, az, d), BURST, 500.0, 1.0, rng,
                             source=f"op-{k}", band=(5000.0, 10000.0), explosion_type="impact")
    centre = synth.offset(*BURST, 200.0, 10_000.0)
    for k, s in enumerate((centre, synth.offset(*centre, 90.0, 1_500.0))):
        synth.arrival_report(r, 1, s, burst, 500.0, 0.01, rng, source=f"ac{k}")
    synth.bearing_report(r, 1, synth.offset(*burst, 60.0, 14000.0), burst, 500.0, 2.5, rng,
                         source="op-far", band=(10000.0, 20000.0), explosion_type="impact")
    return r


def _loose(burst: tuple[float, float], on: bool = True) -> FusionResult:
    """Four posts fix a burst at ``BURST`` (1 deg on their bands, sd ~130 m); an array's two
    arrivals and a far post's report (2.5 deg, "10-20 km") of a burst at ``burst``, at the
    same moment, are a group of their own whose fix is loose (sd ~4.9 km), as two or three
    arrivals and one report fix on the simulated weeks (19 to 3,000 km there: past
    ``max_sd_m``, lowered here to 3 km so that this small case's fix is as loose as the cap).
    ``on``: the loose fix's join (:func:`.same_shot.loose_into_sharp`), else off."""
    rng = np.random.default_rng(5)
    r = _burst_twice(burst, rng)
    _sensors_untyped(r)
    params = FusionParams(same_shot=SameShotParams(max_sd_m=3_000.0,
                                                   loose_arrival_s=3.0 if on else 0.0))
    return _run(r, synth.geometry(), params)


def test_a_loose_fix_whose_reports_each_fit_a_sharp_burst_joins_it():
    """The loose fix agrees with the posts' burst, but is looser than ``max_sd_m``, which
    no rule took: two incidents of one burst. Now each of its reports fits the sharp fix on
    its own (the post's candidate in grouping's gate, the arrivals' times traced back from
    it in its window): one incident, the sharp fix kept."""
    off = _loose(BURST, on=False)
    sd = np.sqrt(np.trace(off.fixes.cov, axis1=1, axis2=2))
    assert off.n_groups == 2 and sd[0] < 3_000.0 < sd[1] and _m(off, 0, 1) <= 3.0
    on = _loose(BURST)
    assert on.n_groups == 1 and (on.labels == 0).all() and on.role[0] == 1
    assert on.fixes.x[0] == off.fixes.x[0] and on.fixes.y[0] == off.fixes.y[0]


def test_a_loose_fix_of_a_burst_across_the_post_s_ray_stays_apart():
    """The array and the far post saw another burst 3 km away across the post's ray: the
    loose fix still agrees with the posts' burst (under 3 sigma), the post's bearing does
    not: two incidents."""
    on = _loose(synth.offset(*BURST, 330.0, 3_000.0))
    assert on.n_groups == 2 and _m(on, 0, 1) <= 3.0
