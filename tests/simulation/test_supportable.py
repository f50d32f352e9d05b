"""The recall against what the evidence could support (issue 12): hand-made firings whose
answer is known from their geometry."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from truceline.core.geo import GEOD
from truceline.simulation.crlb import (
    line_offset,
    position_cov,
    side_probability,
    supportable_origins,
)
from truceline.simulation.evaluation import evaluate

#: A straight line of contact along 48 N; RU holds the north, UA the south.
LINE = [np.array([[37.0, 48.0], [37.5, 48.0], [38.0, 48.0]])]


def _north_of_line(metres: float) -> tuple[float, float]:
    lon, lat, _ = GEOD.fwd(37.5, 48.0, 0.0, metres)
    return float(lon), float(lat)


def _post(oid: str, target: tuple[float, float], az_from_target: float, dist_m: float,
          sd_deg: float, site: str) -> dict[str, Any]:
    """A monitor at ``dist_m`` from the target in direction ``az_from_target``, its bearing
    of the target exact (the Fisher information does not depend on the drawn error)."""
    lon, lat, back = GEOD.fwd(*target, az_from_target, dist_m)
    return {"id": oid, "source_id": site, "source_type": "monitor", "observer_lon": lon,
            "observer_lat": lat, "bearing_deg": float(back) % 360.0, "bearing_sd_deg": sd_deg,
            "explosion_type": "outgoing", "fire_type": "explosion"}


def _event(eid: str, target: tuple[float, float], origin: list[str],
           wild: list[str] | None = None) -> dict[str, Any]:
    return {"type": "event", "id": eid, "party": "RU", "time": "2025-03-25T02:00:00.000Z",
            "violates": ["C"], "origin": {"lon": target[0], "lat": target[1]},
            "impact": {"lon": 37.5, "lat": 47.95}, "observable": True,
            "observable_origin": True, "wild": wild or [],
            "reports": {"origin": origin, "impact": []}}


def test_line_offset_is_the_distance_and_the_normal_to_the_line() -> None:
    d, n = line_offset(_north_of_line(5_000.0), LINE)
    assert d == pytest.approx(5_000.0, rel=2e-3)
    assert n == pytest.approx([0.0, 1.0], abs=1e-3)
    d, n = line_offset(_north_of_line(-800.0), LINE)  # south of it: the normal points south
    assert d == pytest.approx(800.0, rel=2e-3) and n == pytest.approx([0.0, -1.0], abs=1e-3)


def test_two_posts_far_from_the_line_support_it_one_bearing_does_not() -> None:
    far = _north_of_line(5_000.0)
    # two posts 7 km off to the south-west and south-east: bearings crossing at 90 deg, 2.5 deg
    # each: sd across the line sqrt(2) * 0.0436 * 4.95 km ~ 305 m, so Phi(5 km / sd) ~ 1
    obs = {o["id"]: o for o in (_post("p1", far, 225.0, 7_000.0, 2.5, "op-ua-0001"),
                                _post("p2", far, 135.0, 7_000.0, 2.5, "op-ua-0002"))}
    cov = position_cov(far, list(obs.values()), 0.01)
    assert cov is not None
    assert np.sqrt(cov[1, 1]) == pytest.approx(np.sqrt(2) * np.radians(2.5) * 4_950.0, rel=0.02)
    d, n = line_offset(far, LINE)
    assert side_probability(cov, d, n) > 0.999
    # one of them alone: a bearing places the firing on a ray, not on a side
    assert position_cov(far, [obs["p1"]], 0.01) is None
    events = [_event("two", far, ["p1", "p2"]), _event("one", far, ["p1"]),
              _event("unreported", far, ["p1", "p2"])]
    got = supportable_origins(events, obs, {"p1", "p2"}, LINE, 0.01, 0.9)
    assert got == {"two": True, "one": False, "unreported": True}
    got = supportable_origins(events[2:], obs, set(), LINE, 0.01, 0.9)
    assert got == {"unreported": False}  # its firing was not reported (stored)


def test_near_the_line_with_a_wide_ellipse_is_not_supportable() -> None:
    near = _north_of_line(300.0)
    # two heard bearings (6 deg) from 12 km south, 10 deg apart: the ellipse is long across
    # the line (12 km * 0.105 / sin(5 deg) / sqrt(2) ~ 10 km), so Phi(300 m / sd) ~ 0.51
    obs = {o["id"]: o for o in (_post("p1", near, 175.0, 12_000.0, 6.0, "op-ua-0001"),
                                _post("p2", near, 185.0, 12_000.0, 6.0, "op-ua-0002"))}
    cov = position_cov(near, list(obs.values()), 0.01)
    d, n = line_offset(near, LINE)
    assert 0.5 < side_probability(cov, d, n) < 0.6
    assert supportable_origins([_event("e", near, ["p1", "p2"])], obs, set(obs), LINE, 0.01,
                               0.9) == {"e": False}
    # 5 km from the line the same ellipse leaves P ~ 0.69: the supportable set follows the
    # agreement's confidence
    mid = _north_of_line(5_000.0)
    obs = {o["id"]: o for o in (_post("p1", mid, 175.0, 12_000.0, 6.0, "op-ua-0001"),
                                _post("p2", mid, 185.0, 12_000.0, 6.0, "op-ua-0002"))}
    p = side_probability(position_cov(mid, list(obs.values()), 0.01), *line_offset(mid, LINE))
    assert 0.6 < p < 0.75
    ev = [_event("e", mid, ["p1", "p2"])]
    assert supportable_origins(ev, obs, set(obs), LINE, 0.01, p - 0.01) == {"e": True}
    assert supportable_origins(ev, obs, set(obs), LINE, 0.01, p + 0.01) == {"e": False}


def test_a_gross_error_bearing_adds_no_support() -> None:
    far = _north_of_line(5_000.0)
    obs = {o["id"]: o for o in (_post("p1", far, 225.0, 7_000.0, 2.5, "op-ua-0001"),
                                _post("p2", far, 135.0, 7_000.0, 2.5, "op-ua-0002"))}
    got = supportable_origins([_event("e", far, ["p1", "p2"], wild=["p2"])], obs, set(obs),
                              LINE, 0.01, 0.9)
    assert got == {"e": False}


def test_evaluate_gives_the_recall_over_the_supportable_beside_the_headline() -> None:
    """Three RU firings 5 km behind the line: 'found' (two posts, a right finding),
    'split' (two posts, their reports in two unattributed findings) and 'lone' (one bearing,
    found anyway by a finding naming RU). The headline recall is 2/3; over the supportable
    it is 1/2, and the supportable miss is classed as a split."""
    far = _north_of_line(5_000.0)
    obs: dict[str, dict[str, Any]] = {}
    for e in ("found", "split", "lone"):
        for k, az in (("a", 225.0), ("b", 135.0)):
            o = _post(f"{e}-{k}", far, az, 7_000.0, 2.5, f"op-ua-{k}")
            obs[o["id"]] = o
    truth = [_event("found", far, ["found-a", "found-b"]),
             _event("split", far, ["split-a", "split-b"]), _event("lone", far, ["lone-a"])]
    findings: list[dict[str, Any]] = [
        {"provision_id": "C", "verdict": "violation", "party": "RU",
         "evidence": ["found-a", "found-b"]},
        {"provision_id": "C", "verdict": "violation", "party": None, "evidence": ["split-a"]},
        {"provision_id": "C", "verdict": "violation", "party": None, "evidence": ["split-b"]},
        {"provision_id": "C", "verdict": "violation", "party": "RU", "evidence": ["lone-a"]}]
    stored = set(obs) - {"lone-b"}
    rep = evaluate(truth, obs, stored, [], findings, parties=["RU", "UA"],
                   sensor_timing_sd_s=0.01, line_lonlat=LINE, confidence=0.9)
    ru = next(r for r in rep["findings"] if r["party"] == "RU")
    assert (ru["true_violations"], ru["found"], ru["recall"]) == (3, 2, round(2 / 3, 4))
    assert (ru["true_supportable"], ru["found_supportable"], ru["recall_supportable"]) == (
        2, 1, 0.5)
    assert ru["misses_supportable"] == {"origin_split": 1}
    assert ru["misses_supportable_untyped"] == {}
    # without the line the new tier is empty, the rest unchanged
    rep = evaluate(truth, obs, stored, [], findings, parties=["RU", "UA"],
                   sensor_timing_sd_s=0.01)
    ru = next(r for r in rep["findings"] if r["party"] == "RU")
    assert (ru["recall"], ru["true_supportable"], ru["recall_supportable"]) == (
        round(2 / 3, 4), 0, None)


def test_an_untyped_bang_is_supportable_only_when_its_burst_was_reported_too() -> None:
    """Two posts fix an 'undetermined' bang 5 km behind RU's side of the line: well placed,
    but it is RU's launch or UA's burst. Only a stored report of the shot's burst (the other
    sound of one shot) or a report that says 'firing' lets any fusion say whose it is."""
    far = _north_of_line(5_000.0)
    obs = {o["id"]: o for o in (_post("p1", far, 225.0, 7_000.0, 2.5, "op-ua-0001"),
                                _post("p2", far, 135.0, 7_000.0, 2.5, "op-ua-0002"))}
    for o in obs.values():
        o["explosion_type"] = "undetermined"
    burst = {"id": "b1", "source_id": "op-ru-0009", "source_type": "monitor",
             "explosion_type": "impact", "fire_type": "explosion"}
    obs["b1"] = burst
    lone = _event("lone", far, ["p1", "p2"])
    heard = {**_event("heard", far, ["p1", "p2"]), "reports": {"origin": ["p1", "p2"],
                                                               "impact": ["b1"]}}
    got = supportable_origins([lone, heard], obs, set(obs), LINE, 0.01, 0.9)
    assert got == {"lone": False, "heard": True}
    # the burst's report not stored, or a gross error: no better than none
    assert supportable_origins([heard], obs, {"p1", "p2"}, LINE, 0.01, 0.9) == {"heard": False}
    assert supportable_origins([{**heard, "wild": ["b1"]}], obs, set(obs), LINE, 0.01,
                               0.9) == {"heard": False}
    # one post that says 'outgoing' types the firing without the burst
    obs["p1"] = {**obs["p1"], "explosion_type": "outgoing"}
    assert supportable_origins([lone], obs, set(obs), LINE, 0.01, 0.9) == {"lone": True}
