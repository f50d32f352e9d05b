"""Twin samples: two co-sited sources that bear on one event split into crossed pairs."""

from __future__ import annotations

import numpy as np
import pytest

from tests.fusion.synth import Reports, bearing_report, offset, true_xy
from truceline.core.fusion import CalibrationParams
from truceline.core.fusion.calibration_days import (
    Samples,
    _report,
    _twins,
    day_corrections,
    one_per_partner,
)
from truceline.core.fusion.day_state import DayState
from truceline.core.fusion.locate import Fixes
from truceline.core.fusion.source_days import SourceDays
from truceline.core.fusion.twin_samples import crossed_twins

pytestmark = pytest.mark.filterwarnings("error")

EVENT = (38.0, 48.5)
R = offset(*EVENT, 90.0, 7_400.0)  # east of the event: a camera and a post side by side
U = offset(*EVENT, 270.0, 1_600.0)  # west of it: the same
NAMES = np.array(["cam-r", "cam-u", "post-r", "post-u"])  # as the batch indexes them (sorted)


def _facing(bias_post_r: float, dt_u: float = 30.0) -> Reports:
    """One event seen from R (camera 0.5°, post 2.5°, the post ``bias_post_r`` off) and U
    (the same, honest), every bearing otherwise exact; U's post ``dt_u`` s after the rest."""
    rng = np.random.default_rng(0)
    r = Reports()
    bearing_report(r, 0, offset(*R, 0.0, 20.0), EVENT, 100.0, 0.5, rng, source="cam-r",
                   error_deg=0.0)
    bearing_report(r, 0, R, EVENT, 130.0, 2.5, rng, source="post-r", error_deg=bias_post_r)
    bearing_report(r, 0, offset(*U, 0.0, 20.0), EVENT, 100.0, 0.5, rng, source="cam-u",
                   error_deg=0.0)
    bearing_report(r, 0, U, EVENT, 100.0 + dt_u, 2.5, rng, source="post-u", error_deg=0.0)
    return r


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
