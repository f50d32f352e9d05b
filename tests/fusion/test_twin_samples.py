"""Twin samples: two co-sited sources that bear on one event split into crossed pairs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from tests.fusion.synth import Reports, bearing_report, offset, true_xy
from truceline.adapters.agreement_files import load_agreement_file
from truceline.core.fusion import (
    CalibrationParams,
    FusionParams,
    GroupingParams,
    LocateParams,
    report_columns,
)
from truceline.core.fusion.batch import candidates
from truceline.core.fusion.calibration_days import (
    Samples,
    _report,
    _report_days,
    _samples,
    _twins,
    day_corrections,
    one_per_partner,
)
from truceline.core.fusion.day_parts import DaysPart, day_parts, fuse_part, padded
from truceline.core.fusion.day_state import DayState, report_digests
from truceline.core.fusion.days import Days
from truceline.core.fusion.locate import Fixes, locate
from truceline.core.fusion.source_days import SourceDays
from truceline.core.fusion.twin_samples import crossed_twins
from truceline.core.observations import parse_observation
from truceline.core.record.canonical import canonical_bytes
from truceline.services.context import context_for_doc
from truceline.simulation.presets import scenario_params
from truceline.simulation.scenario import Scenario

pytestmark = pytest.mark.filterwarnings("error")

EVENT = (38.0, 48.5)
R = offset(*EVENT, 90.0, 7_400.0)  # east of the event: a camera and a post side by side
U = offset(*EVENT, 270.0, 1_600.0)  # west of it: the same
NAMES = np.array(["cam-r", "cam-u", "post-r", "post-u"])  # as the batch indexes them (sorted)


def _four(r_pt: tuple[float, float], u_pt: tuple[float, float], cam_r_az: float,
          bias_post_r: float, dt_u: float = 30.0) -> Reports:
    """One event seen from ``r_pt`` (a camera 20 m away towards ``cam_r_az``, 0.5°, and a
    post, 2.5°, ``bias_post_r`` off) and ``u_pt`` (the same, camera 20 m north, honest),
    every bearing otherwise exact; U's post ``dt_u`` s after U's camera."""
    rng = np.random.default_rng(0)
    r = Reports()
    bearing_report(r, 0, offset(*r_pt, cam_r_az, 20.0), EVENT, 100.0, 0.5, rng,
                   source="cam-r", error_deg=0.0)
    bearing_report(r, 0, r_pt, EVENT, 130.0, 2.5, rng, source="post-r", error_deg=bias_post_r)
    bearing_report(r, 0, offset(*u_pt, 0.0, 20.0), EVENT, 100.0, 0.5, rng, source="cam-u",
                   error_deg=0.0)
    bearing_report(r, 0, u_pt, EVENT, 100.0 + dt_u, 2.5, rng, source="post-u", error_deg=0.0)
    return r


def _facing(bias_post_r: float, dt_u: float = 30.0) -> Reports:
    """R east and U west of the event, R's camera 20 m north of its post."""
    return _four(R, U, 0.0, bias_post_r, dt_u)


CROSSED = np.array([0, 1, 1, 0])  # cam-r with post-u, post-r with cam-u: two fixes of two


def test_a_crossed_pair_gives_each_co_sited_couple_their_difference() -> None:
    b = _facing(-10.0).batch()
    a, c = crossed_twins(b, CROSSED)
    couples = {frozenset((int(x), int(y))) for x, y in zip(a, c, strict=True)}
    assert couples == {frozenset((0, 1)), frozenset((2, 3))}
    # both crossed fixes at the event (the parallax is taken towards their mean)
    xy = true_xy([EVENT, EVENT])
    fixes = Fixes(xy[:, 0], xy[:, 1], np.zeros(2), np.zeros((2, 2, 2)), np.ones(2, bool),
                  np.zeros(2, np.int64), np.zeros(2), np.zeros(4, bool))
    s = _twins(b, CROSSED, fixes, np.zeros(2, np.int64), CalibrationParams(), NAMES,
               np.zeros(4))
    got = {(str(src), str(par)): float(np.degrees(t))
           for src, par, t in zip(s.source, s.partner, s.total, strict=True)}
    # the post 10° off against its camera, the camera +10° against the post; U's near 0
    assert got[("post-r", "cam-r")] == pytest.approx(-10.0, abs=0.2)
    assert got[("cam-r", "post-r")] == pytest.approx(10.0, abs=0.2)
    # U's two 20 m apart, 1.6 km from the event: 0.7° of parallax, taken out
    assert abs(got[("post-u", "cam-u")]) < 0.05 and abs(got[("cam-u", "post-u")]) < 0.05
    assert np.allclose(s.var, np.radians(0.5) ** 2 + np.radians(2.5) ** 2)
    assert len(set(s.group.tolist())) == 1  # one match: one group for its four samples


@pytest.mark.parametrize("labels, dt_u", [
    (np.array([0, 0, 1, 1]), 30.0),  # each group one point's two reports: no crossing
    (np.array([0, 0, 0, 0]), 30.0),  # all four one group (leave-one-out's, not ours)
    (CROSSED, 150.0),  # U's two reports 150 s apart: two events, as far as we know
])
def test_no_twins_outside_the_crossed_pairs_gate(labels: np.ndarray, dt_u: float) -> None:
    a, c = crossed_twins(_facing(-10.0, dt_u).batch(), labels)
    assert len(a) == len(c) == 0


@pytest.mark.parametrize("bias, blank", [(-3.0, None), (3.0, None), (-3.0, "time_s"),
                                         (-3.0, "bearing_deg")])
def test_bearings_either_side_of_north_differ_by_their_angle(bias: float,
                                                            blank: str | None) -> None:
    # R due south of the event: the camera reads ~359.5° (grid), the post 3° either side of
    # it (356.5° or 2.6°); the difference is the 3°, not 357°. A report without a time or a
    # bearing puts its group out of the gate.
    r = _four(offset(*EVENT, 180.0, 7_400.0), offset(*EVENT, 290.0, 1_600.0), 90.0, bias)
    if blank is not None:
        r.cols[blank][1] = None
    b = r.batch()
    fixes = locate(b, CROSSED, candidates(b, GroupingParams()), LocateParams())
    s = _twins(b, CROSSED, fixes, np.zeros(2, np.int64), CalibrationParams(), NAMES,
               np.zeros(4))
    got = {(str(a), str(c)): float(np.degrees(t))
           for a, c, t in zip(s.source, s.partner, s.total, strict=True)}
    if blank is not None:
        assert got == {}
        return
    assert got[("post-r", "cam-r")] == pytest.approx(bias, abs=0.05)
    assert got[("cam-r", "post-r")] == pytest.approx(-bias, abs=0.05)


def test_a_group_in_two_matches_gives_none() -> None:
    r = _facing(-10.0)
    rng = np.random.default_rng(1)
    # a third source at R pairs with cam-u's group too: which couple is one event is unknown
    bearing_report(r, 0, offset(*R, 180.0, 20.0), EVENT, 110.0, 2.5, rng, source="op-r2",
                   error_deg=0.0)
    bearing_report(r, 0, offset(*U, 180.0, 20.0), EVENT, 110.0, 2.5, rng, source="op-u2",
                   error_deg=0.0)
    a, _ = crossed_twins(r.batch(), np.array([0, 1, 1, 0, 2, 2]))
    assert len(a) == 0


def _pool(post_extra: tuple[float, ...], cam_twins: int) -> tuple[Samples, np.ndarray]:
    """post-r's two leave-one-out samples (-7.6° and -6.8°, sds 6° and 2.6°: 2.9 se
    together, not flagged) plus its twin samples ``post_extra`` against cam-r (sd 2.55°),
    and cam-r's mirror images of them; ``cam_twins``: how many twin samples each has."""
    rows = [("post-r", 0, 0, -7.6, 6.0, ""), ("post-r", 0, 1, -6.8, 2.6, "")]
    for k, v in enumerate(post_extra[:cam_twins]):
        rows += [("post-r", 0, 10 + k, v, 2.55, "cam-r"), ("cam-r", 0, 10 + k, -v, 2.55,
                                                                "post-r")]
    # honest others: enough sources for the report, none biased
    rng = np.random.default_rng(5)
    for j in range(20):
        rows += [(f"o{j}", 0, 100 + 3 * j + k, float(rng.normal(0, 1.5)), 1.5, "")
                 for k in range(3)]
    src, day, grp, deg, sd, par = zip(*rows, strict=True)
    s = Samples(np.array(src), np.array(day, np.int64), np.array(grp, np.int64),
                np.radians(deg), np.radians(sd) ** 2, np.zeros(len(rows)), np.array(par))
    names = np.array(sorted(set(src)))
    return s, names


def _flagged(s: Samples, names: np.ndarray) -> dict[str, bool]:
    cal = _report(s, names, SourceDays.empty(), CalibrationParams(), np.zeros(len(names)))
    return dict(zip(names.tolist(), cal.flagged.tolist(), strict=True))


def test_a_twin_sample_flags_a_post_its_other_samples_only_hint_at() -> None:
    # op-ru-0052 of the simulated weeks: 2.92 se from its two samples, 5.0 with its twin
    s, names = _pool((-12.8,), 1)
    assert _flagged(s, names)["post-r"]
    assert not _flagged(s, names)["cam-r"]  # one sample: nothing to say about the camera
    alone = s.take(~s.twin)
    assert not _flagged(alone, names)["post-r"]
    assert not any(_flagged(s, names)[f"o{j}"] for j in range(20))


def test_twin_samples_against_one_partner_count_once() -> None:
    # cam-r beside a biased post four times: four differences of +12.8° repeat the post's
    # error; as four samples they would flag the honest camera at min_events
    s, names = _pool((-12.8, -12.4, -13.1, -12.9), 4)
    assert not _flagged(s, names)["cam-r"]
    src = np.searchsorted(names, s.source)
    one, _, _ = one_per_partner(s, src, s.group)
    cam = one.take(one.source == "cam-r")
    assert len(cam) == 1
    assert np.degrees(cam.total[0]) == pytest.approx(12.8, abs=0.01)
    assert np.degrees(np.sqrt(cam.var[0])) == pytest.approx(2.55 / 2, abs=0.01)


def test_twin_samples_correct_nothing() -> None:
    # a twin sample is a difference: which of the two is biased it cannot say alone
    s, names = _pool((-12.8, -12.4, -13.1, -12.9), 4)
    twins = s.take(s.twin)
    days = np.array([1])
    old = np.zeros((len(names), 1))
    assert np.array_equal(day_corrections(twins, names, days, old, CalibrationParams()), old)


def test_a_days_state_keeps_its_twin_samples_partners() -> None:
    s, _ = _pool((-12.8,), 1)
    state = DayState(0, (s,), None, None, (), "", "")
    back = DayState.from_bytes(state.to_bytes()).passes[0]
    assert back.partner.tolist() == s.partner.tolist()
    assert back.twin.sum() == 2


def _couple(bias_cam: float, bias_post: float, threes: int) -> tuple[Samples, np.ndarray]:
    """cam-r and post-r side by side (one of them biased) in ``threes`` groups of three with a
    third post (events 1..), and in crossed pairs with U's couple (event 0): the samples of
    one pass, located as fusion locates them (U south-west of the event: rays that cross)."""
    u = offset(*EVENT, 200.0, 1_600.0)
    cam = offset(*R, 0.0, 20.0)
    rng = np.random.default_rng(0)
    r = Reports()
    labels = []
    for k, (az, z_az) in enumerate(((200.0, 160.0), (250.0, 120.0))[:threes]):
        e = offset(*R, az, 5_000.0)
        t = 1000.0 + 500.0 * k
        bearing_report(r, k + 1, cam, e, t, 0.5, rng, source="cam-r", error_deg=bias_cam)
        bearing_report(r, k + 1, R, e, t + 10, 2.5, rng, source="post-r", error_deg=bias_post)
        bearing_report(r, k + 1, offset(*e, z_az, 4_000.0), e, t + 5, 2.5, rng,
                       source=f"z{k}", error_deg=0.0)
        labels += [k, k, k]
    bearing_report(r, 0, cam, EVENT, 100.0, 0.5, rng, source="cam-r", error_deg=bias_cam)
    bearing_report(r, 0, R, EVENT, 130.0, 2.5, rng, source="post-r", error_deg=bias_post)
    bearing_report(r, 0, offset(*u, 0.0, 20.0), EVENT, 100.0, 0.5, rng, source="cam-u",
                   error_deg=0.0)
    bearing_report(r, 0, u, EVENT, 130.0, 2.5, rng, source="post-u", error_deg=0.0)
    labels += [threes, threes + 1, threes + 1, threes]  # crossed: cam-r with post-u
    b = r.batch()
    names = np.array(sorted(set(r.cols["source_id"])))
    p, lp = CalibrationParams(), LocateParams()
    cd = candidates(b, GroupingParams())
    fixes = locate(b, np.array(labels), cd, lp)
    s, _ = _samples(b, np.array(labels), fixes, cd, p, lp, names, np.zeros(len(b)),
                    _report_days(b, p.halo_s)[0])
    return s, names


@pytest.mark.parametrize("threes", [1, 2])
@pytest.mark.parametrize("bias_cam, bias_post", [(10.0, 0.0), (-10.0, 0.0), (0.0, 10.0)])
def test_twin_samples_that_repeat_a_leave_one_out_difference_flag_nothing_more(
        bias_cam: float, bias_post: float, threes: int) -> None:
    # cam-r's fix without it in a group of three with post-r is post-r's ray crossing the
    # third's: its leave-one-out sample is cam-r's bearing less post-r's, as its twin sample
    # is (and post-r's the reverse). Counted, one such group and the twins flagged post-r by
    # the pair rule (4.8 se) whichever of the two was biased (its sample, fixed by the
    # camera's ray, is the tighter); two such groups and the twins flagged both (three
    # samples each, of one difference). The twins now add no flag to their samples'.
    s, names = _couple(bias_cam, bias_post, threes)
    assert s.twin.sum() == 4 and (~s.twin).sum() >= 2 * threes
    cam = s.take((s.source == "cam-r") & (~s.twin | (s.partner == "post-r")))
    assert np.allclose(np.degrees(cam.total), bias_cam - bias_post, atol=0.3)
    flagged = _flagged(s, names)
    assert flagged == _flagged(s.take(~s.twin), names)
    assert not flagged["cam-r"] and flagged["post-r"] == (threes == 2)


def test_a_twin_sample_is_not_one_of_the_pair_rules_two() -> None:
    # cam-r honest: one leave-one-out sample 2.9 sds off by chance, from a group without its
    # partner, and its twin sample against post-r, 10° off: beside a biased partner a twin
    # sample is always beyond 2.5 sds, so the pair rule would flag on one chance sample
    # (counted: 4.3 se, post-r's own two not enough to beat it)
    rows = [("cam-r", 0, -7.5, 2.6, ""), ("cam-r", 10, -10.0, 2.55, "post-r"),
            ("post-r", 1, 10.0, 4.0, ""), ("post-r", 10, 10.0, 2.55, "cam-r"),
            ("cam-u", 10, 0.2, 2.55, "post-u"), ("post-u", 10, -0.2, 2.55, "cam-u")]
    src, grp, deg, sd, par = zip(*rows, strict=True)
    s = Samples(np.array(src), np.zeros(len(rows), np.int64), np.array(grp), np.radians(deg),
                np.radians(sd) ** 2, np.zeros(len(rows)), np.array(par))
    others, names = _pool((), 0)
    others = others.take(others.source != "post-r")
    names = np.array(sorted({*names.tolist(), "cam-r", "cam-u", "post-u"}))
    assert not _flagged(others + s, names)["cam-r"]
    # two leave-one-out samples so far off from two groups are flagged, as before
    loo = s.take(~s.twin) + Samples(np.array(["cam-r"]), np.zeros(1, np.int64), np.array([2]),
                                    np.radians([-10.0]), np.radians([2.55]) ** 2)
    assert _flagged(others + loo, names)["cam-r"]


def test_crossed_pairs_across_a_days_start_are_kept_as_a_run_of_every_day_keeps_them() -> None:
    # all_conditions 1's one crossed pair (event e-1-000-00024, BENCHMARKS.md session 39
    # h7b): cam-ru-0089 at 02:11:29 with op-ua-0267, cam-ua-0300 at 02:11:59 with op-ru-0052.
    # Days starting at 02:11:45 put the two groups in two days: the samples count for the
    # earlier (the day before's part reads the later group in its lookahead; the later day's
    # part reads the earlier one in its halo and leaves them out). Fused a day at a time, the
    # days' states (as a check keeps them), the per-source records and the incidents are the
    # run's.
    ag, doc = load_agreement_file("march2025")
    ctx = context_for_doc(doc)
    assert ctx.geometry is not None
    scn = Scenario(ag, ctx.geometry, days=7, seed=1, params=scenario_params("all_conditions"),
                   start=ag.entry_into_force_at + timedelta(days=4))
    lo, hi = datetime(2025, 3, 24, 0, 30, tzinfo=UTC), datetime(2025, 3, 24, 4, tzinfo=UTC)
    fire = sorted((o for o in map(parse_observation, scn.day(0).observations)
                   if o.kind == "fire" and lo <= o.time < hi), key=lambda o: (o.time, o.id))
    params = FusionParams(days=Days("UTC", 2 * 3600 + 11 * 60 + 45))
    cols = report_columns(fire)
    digests = report_digests(cols["id"], cols["time_us"], params.halo_s, params.days)
    days = set(digests)
    assert len(days) == 2

    def part(s: int, e: int, before: list[DayState], last: bool) -> DaysPart:
        return fuse_part(cols, ctx.geometry, [p.id for p in ctx.agreement.parties],
                         lambda rows: [fire[r] for r in rows], params, s, e, before,
                         min(days), digests, days, last=last)

    whole = part(min(days), max(days), [], True)
    states: list[DayState] = []
    incidents = []
    for k, (s, e) in enumerate(day_parts(days, 1)):
        got = part(s, e, states, k == 1)
        states += [DayState.from_bytes(st.to_bytes()) for st in got.states]  # as kept
        incidents += got.incidents
    def twins(kept: list[DayState]) -> dict[int, list[str]]:
        return {st.day: sorted(st.passes[-1].source[st.passes[-1].twin].tolist())
                for st in kept}

    assert twins(whole.states) == twins(states) == {
        min(days): ["cam-ru-0089", "cam-ua-0300", "op-ru-0052", "op-ua-0267"], max(days): []}
    assert [s.to_bytes() for s in padded(states)] == [s.to_bytes() for s in padded(whole.states)]
    assert got.sources == whole.sources
    assert (sorted(canonical_bytes(i.to_record()) for i in incidents)
            == sorted(canonical_bytes(i.to_record()) for i in whole.incidents))
