"""Evaluator metrics on hand-made cases with known scores, and on the real pipeline."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from truceline.simulation.evaluation import (
    adjusted_rand_index,
    brier_score,
    crlb_rms,
    fisher_bearings,
    fisher_tdoa,
    pairwise_precision_recall,
    reliability_table,
)


def test_ari_matches_sklearn() -> None:
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    for n, k1, k2 in ((50, 5, 7), (200, 30, 10), (10, 10, 1), (30, 1, 1)):
        a = rng.integers(0, k1, n).tolist()
        b = rng.integers(0, k2, n).tolist()
        assert adjusted_rand_index(a, b) == pytest.approx(metrics.adjusted_rand_score(a, b))


def test_perfect_grouping_and_pairs() -> None:
    truth = ["e1", "e1", "e1", "e2", "e2", "e3"]
    assert adjusted_rand_index(truth, ["x", "x", "x", "y", "y", "z"]) == 1.0
    assert pairwise_precision_recall(truth, ["x", "x", "x", "y", "y", "z"]) == (1.0, 1.0)
    # split e1 into {a,a} + {b}, merge e2 with e3: true pairs 3+1=4; predicted pairs 1+3=4;
    # shared pairs: (a,a) from e1 and (e2,e2) -> 2
    p, r = pairwise_precision_recall(truth, ["a", "a", "b", "c", "c", "c"])
    assert (p, r) == (0.5, 0.5)
    assert pairwise_precision_recall(truth, list("abcdef")) == (None, 0.0)


def test_brier_and_reliability_by_hand() -> None:
    probs = [{"UA": 0.9, "RU": 0.1}, {"UA": 0.6, "RU": 0.4}, {"RU": 1.0}]
    truth = ["UA", "RU", "RU"]
    # (0.01 + 0.01) + (0.36 + 0.36) + 0 = 0.74 over 3
    assert brier_score(probs, truth, ["UA", "RU"]) == pytest.approx(0.74 / 3)
    table = reliability_table([0.95, 0.92, 0.55], [True, False, True])
    assert table == [{"bin": "0.5-0.6", "n": 1, "claimed": 0.55, "observed": 1.0},
                     {"bin": "0.9-1.0", "n": 2, "claimed": 0.935, "observed": 0.5}]


def test_crlb_of_a_symmetric_two_bearing_geometry() -> None:
    # Observers at (-a, -a) and (a, -a) from the target, 90 deg apart as seen from it, sigma in
    # radians. J = (2 / (sigma^2 r^4)) diag(a^2, a^2) with r^2 = 2 a^2, so each variance is
    # 2 sigma^2 a^2 and the RMS bound is 2 sigma a: 200 m for a = 10 km, sigma = 0.01 rad.
    a, sigma = 10_000.0, 0.01
    j = fisher_bearings(np.array([-a, a]), np.array([-a, -a]), np.array([sigma, sigma]))
    assert j[0, 1] == pytest.approx(0.0, abs=1e-18)
    assert crlb_rms(j, None) == pytest.approx(2 * sigma * a)
    # one bearing, or both from the same direction, does not locate
    assert math.isinf(crlb_rms(fisher_bearings(np.array([a]), np.array([0.0]),
                                               np.array([sigma])), None))


def test_crlb_of_arrival_times() -> None:
    # Sensors on a circle around the source, all at distance R: the emission time and the
    # position separate. Per axis, J = sum(cos^2) / (sigma c)^2 = (n/2) / (sigma c)^2.
    n, r, sig, c = 6, 5_000.0, 0.01, 340.0
    ang = 2 * np.pi * np.arange(n) / n
    j = fisher_tdoa(r * np.cos(ang), r * np.sin(ang), sig, np.full(n, c))
    var = (sig * c) ** 2 / (n / 2)
    assert crlb_rms(None, j) == pytest.approx(math.sqrt(2 * var))
    assert math.isinf(crlb_rms(None, fisher_tdoa(np.array([r, -r]), np.array([0.0, 0.0]),
                                                 sig, np.full(2, c))))


def test_evaluate_on_the_real_pipeline(march_dir: Path, tmp_path: Path) -> None:
    """Ingest the simulation, run today's checks, evaluate through the CLI: the planted
    freedom-of-movement and pull-back violations are found with the right party."""
    from click.testing import CliRunner

    import truceline.adapters.cli.commands
    import truceline.adapters.cli.simulate  # noqa: F401
    from truceline.adapters.cli.main import cli

    db = str(tmp_path / "sim.db")
    run = CliRunner()
    for args in (["init", "--db", db, "--agreement", "march2025"],
                 ["ingest", "--db", db, str(march_dir / "observations.jsonl")],
                 ["check", "--db", db],
                 ["evaluate", "--truth", str(march_dir), "--db", db,
                  "--json", str(tmp_path / "ev.json")]):
        res = run.invoke(cli, args)
        assert res.exit_code == 0, res.output
    assert "| grouping |" in res.output
    rep = json.loads((tmp_path / "ev.json").read_text())
    g = rep["grouping"]["by_event"]
    assert -0.5 < g["ari"] <= 1.0 and g["pair_recall"] is not None
    assert rep["detection"]["observable_share"] > 0.9
    rows = {(r["provision"], r["party"]): r for r in rep["findings"]}
    for key in (("M25-pullback", "UA"), ("M25-pullback", "RU"), ("M25-movement", "UA")):
        assert rows[key]["true_violations"] > 0 and rows[key]["recall"] == 1.0, rows[key]
        assert rows[key]["precision"] == 1.0
    assert rows[("M25-ceasefire", "UA")]["true_violations"] > 0


def test_an_event_is_scored_from_its_attributed_origin_incident() -> None:
    """The claim comes from the attributed incident holding the event's origin reports, even
    when another incident (its impact, reported more often) holds more of the event."""
    from truceline.simulation.evaluation import evaluate

    event = {"type": "event", "id": "e1", "party": "RU",
             "origin": {"lon": 38.0, "lat": 48.0, "dist_to_line_m": 5000.0},
             "impact": {"lon": 37.9, "lat": 48.0},
             "reports": {"origin": ["o1", "o2", "o3"], "impact": ["i1", "i2", "i3", "i4"]}}
    obs = {f"o{k}": {"id": f"o{k}", "observer_lon": 38.0 + 0.05 * k, "observer_lat": 48.05,
                     "bearing_deg": 180.0, "bearing_sd_deg": 2.0} for k in (1, 2, 3)}
    obs.update({f"i{k}": {"id": f"i{k}"} for k in (1, 2, 3, 4)})
    incidents = [
        {"id": "a", "evidence": ["i1", "i2", "i3", "i4"], "impact": {"lon": 37.9, "lat": 48.0}},
        {"id": "b", "evidence": ["o1", "o2", "o3"], "origin": {"lon": 38.0, "lat": 48.0},
         "party_probability": {"RU": 0.9, "UA": 0.1}},
    ]
    rep = evaluate([event], obs, set(obs), incidents, [], parties=["RU", "UA"],
                   sensor_timing_sd_s=0.01)
    at = rep["attribution"]
    assert at["claims"] == 1 and at["accuracy"] == 1.0
    assert at["accuracy_2km_3_bearings"] == 1.0
    assert at["brier"] == pytest.approx(0.02)


def test_findings_recall_observable_summaries_and_why_missed() -> None:
    """Recall overall and among the observable violations, a 'compliant' summary counted
    against a true violation only when the violation lies in its window, the reason of an
    'insufficient evidence' summary, and why each missed violation was missed."""
    from truceline.simulation.evaluation import evaluate

    def event(eid: str, party: str, origin: list[str], impact: list[str], *,
              observable: bool = True, t: str = "2025-03-25T02:00:00.000Z") -> dict:
        return {"type": "event", "id": eid, "party": party, "time": t, "violates": ["C"],
                "origin": {"lon": 38.0, "lat": 48.0, "dist_to_line_m": 3000.0},
                "impact": {"lon": 37.9, "lat": 48.0}, "observable": observable,
                "observable_origin": observable, "reports": {"origin": origin, "impact": impact}}

    truth = [event("e1", "RU", ["o1", "o2"], ["i1"]), event("e2", "UA", [], [], observable=False),
             event("e3", "UA", ["o3"], ["i3"]), event("e4", "UA", ["o4", "o5"], [])]
    # e1's origin heard by two posts; e4's reported twice by one post (one source)
    src = {"o1": "p1", "o2": "p2", "i1": "p1", "o3": "p1", "i3": "p2", "o4": "p3", "o5": "p3"}
    obs = {i: {"id": i, "source_id": s} for i, s in src.items()}
    w = {"window_start": "2025-03-20T00:00:00Z", "window_end": "2025-04-19T00:00:00Z"}
    early = {"window_start": "2025-03-20T00:00:00Z", "window_end": "2025-03-24T00:00:00Z"}
    findings: list[dict[str, Any]] = [
        {"provision_id": "C", "verdict": "violation", "party": "RU",
         "evidence": ["o1", "o2", "i1"]},
        {"provision_id": "C", "verdict": "violation", "party": None, "evidence": ["o3", "i3"]},
        {"provision_id": "C", "verdict": "violation", "party": None, "evidence": ["o4"]},
        {"provision_id": "C", "verdict": "violation", "party": None, "evidence": ["o5"]},
        {"provision_id": "C", "verdict": "compliant", "party": "UA", "evidence": [], **w},
        {"provision_id": "C", "verdict": "compliant", "party": "UA", "evidence": [], **early},
        {"provision_id": "C", "verdict": "insufficient_evidence", "party": "RU", "evidence": [],
         "explanation": "C: not covered: observed 40 % of RU's side", **w},
    ]
    rep = evaluate(truth, obs, set(obs), [], findings, parties=["RU", "UA"],
                   sensor_timing_sd_s=0.01)
    rows = {r["party"]: r for r in rep["findings"]}
    ru, ua = rows["RU"], rows["UA"]
    assert (ru["true_violations"], ru["found"], ru["recall"], ru["precision"]) == (1, 1, 1.0, 1.0)
    assert ru["summary"] == {"compliant": 0, "not_covered": 1}
    assert (ua["true_violations"], ua["true_observable"], ua["found"]) == (3, 2, 0)
    assert ua["recall"] == 0.0 and ua["recall_observable"] == 0.0
    assert ua["unattributed"] == 3
    assert ua["summary"]["compliant"] == 2 and ua["compliant_despite_violation"] == 1
    assert ua["misses"] == {"not_observable": 1, "origin_one_report": 1, "origin_split": 1}
    # among the events whose origin two sources reported: e1 (found); e4 is one post's twice
    assert (ru["true_origin2"], ru["found_origin2"], ru["recall_origin2"]) == (1, 1, 1.0)
    assert (ua["true_origin2"], ua["recall_origin2"]) == (0, None)
    # with any report of its origin (what bounds recall): e1; e3 and e4, not e2 (none)
    assert (ru["true_origin1"], ru["found_origin1"], ru["recall_origin1"]) == (1, 1, 1.0)
    assert (ua["true_origin1"], ua["found_origin1"], ua["recall_origin1"]) == (2, 0, 0.0)


def test_a_violation_found_twice_is_counted_once() -> None:
    """Two violation findings of one true event (its origin's reports split between them):
    the first is correct, the second a double count, so precision is 1/2, not 2/2."""
    from truceline.simulation.evaluation import evaluate

    truth = [{"type": "event", "id": "e1", "party": "RU", "time": "2025-03-25T02:00:00.000Z",
              "violates": ["C"], "origin": {"lon": 38.0, "lat": 48.0, "dist_to_line_m": 3000.0},
              "impact": {"lon": 37.9, "lat": 48.0}, "observable": True,
              "observable_origin": True, "reports": {"origin": ["o1", "o2"], "impact": ["i1"]}}]
    obs = {i: {"id": i, "source_id": s} for i, s in (("o1", "p1"), ("o2", "p2"), ("i1", "p3"))}
    findings: list[dict[str, Any]] = [
        {"provision_id": "C", "verdict": "violation", "party": "RU", "evidence": ["o1", "i1"]},
        {"provision_id": "C", "verdict": "violation", "party": "RU", "evidence": ["o2"]},
    ]
    rep = evaluate(truth, obs, set(obs), [], findings, parties=["RU", "UA"],
                   sensor_timing_sd_s=0.01)
    ru = next(r for r in rep["findings"] if r["party"] == "RU")
    assert (ru["found"], ru["recall"], ru["violation_findings"]) == (1, 1.0, 2)
    assert ru["correct"] == 1 and ru["precision"] == 0.5
    assert ru["precision_misses"] == {"double_count": 1}


def test_calibration_flags_scored_against_the_posts_biases_by_hand() -> None:
    from truceline.simulation.bias_flags import score_calibration

    def src(sid: str, bias: float) -> dict[str, Any]:
        return {"type": "source", "id": sid, "role": "post", "bearing_bias_deg": bias,
                "clock_offset_s": 10.0}

    # a, b, c biased (|bias| >= 3); d at 2.9 is not; e has no bias in the truth at all
    truth = [src("a", 6.0), src("b", -4.0), src("c", 8.0), src("d", 2.9),
             {"type": "source", "id": "e", "role": "camera"}]
    n = {"a": 12, "b": 12, "c": 3, "d": 12, "e": 12}  # c wrote too few bearings to show
    obs = {f"{s}{k}": {"source_id": s, "bearing_deg": 90.0, "bearing_sd_deg": 3.0}
           for s, m in n.items() for k in range(m)}
    obs["x"] = {"source_id": "a"}  # no bearing: not counted

    def est(sid: str, bias: float, flagged: bool, used: int = 12) -> dict[str, Any]:
        return {"source_id": sid, "flagged": flagged, "bias_deg": bias, "reports_used": used,
                "clock_offset_s": 14.0, "timed": 12}

    sources = [est("a", 6.5, True), est("b", -3.0, False), est("c", 7.0, False, used=3),
               est("d", 3.1, True), est("e", 0.2, False)]
    got = score_calibration(truth, obs, set(obs) - {"c0"}, sources)
    assert got["biased"] == 3 and got["revealed"] == 2  # a, b (c: 2 stored bearings)
    assert got["flagged"] == 2 and got["true_flags"] == 1
    assert got["recall"] == round(1 / 3, 4) and got["recall_revealed"] == 0.5
    # detectable at 4.28 se of the mean (sd 3 deg): a 6/0.87, b 4/0.87 = 4.6; c 8/2.12 = 3.8
    assert got["detectable"] == 2 and got["recall_detectable"] == 0.5
    assert got["precision"] == 0.5 and got["false_flags"] == ["d"]
    # errors over the sources estimated from >= 10 reports: 0.5, 1.0, 0.2, 0.2 -> median 0.35
    assert got["bias_error_median_abs_deg"] == 0.35
    assert got["clock_error_median_s"] == 4.0  # e has no clock in the truth: not counted


def test_two_sensors_of_one_array_are_one_site_of_an_origin() -> None:
    """An origin heard by two sensors of one acoustic array counts among the origins two
    *sources* reported (as before) but not among those two *sites* reported: one array's
    arrivals give one bearing, not a fix. With a post's bearing beside them, it is two."""
    from truceline.simulation.evaluation import evaluate, site_of

    def event(eid: str, origin: list[str]) -> dict:
        return {"type": "event", "id": eid, "party": "RU", "time": "2025-03-25T02:00:00.000Z",
                "violates": ["C"], "origin": {"lon": 38.0, "lat": 48.0, "dist_to_line_m": 3e3},
                "impact": {"lon": 37.9, "lat": 48.0}, "observable": True,
                "observable_origin": True, "reports": {"origin": origin, "impact": []}}

    truth = [event("e1", ["a1", "a2"]), event("e2", ["a3", "p1"])]
    src = {"a1": ("ac004-ru-0112", "sensor"), "a2": ("ac004-ru-0113", "sensor"),
           "a3": ("ac005-ru-0116", "sensor"), "p1": ("op-ru-0003", "monitor")}
    obs = {i: {"id": i, "source_id": s, "source_type": t} for i, (s, t) in src.items()}
    assert site_of(obs["a1"]) == site_of(obs["a2"]) == "ac004-ru" != site_of(obs["a3"])
    findings: list[dict[str, Any]] = [
        {"provision_id": "C", "verdict": "violation", "party": "RU", "evidence": ["a3", "p1"]},
        {"provision_id": "C", "verdict": "violation", "party": None, "evidence": ["a1", "a2"]}]
    rep = evaluate(truth, obs, set(obs), [], findings, parties=["RU", "UA"],
                   sensor_timing_sd_s=0.01)
    ru = next(r for r in rep["findings"] if r["party"] == "RU")
    assert (ru["true_origin2"], ru["found_origin2"], ru["recall_origin2"]) == (2, 1, 0.5)
    assert (ru["true_origin2_sites"], ru["found_origin2_sites"],
            ru["recall_origin2_sites"]) == (1, 1, 1.0)


def test_identifiable_biased_posts_are_those_whose_shared_bearings_show_the_bias() -> None:
    """A bias shows only in the bearings of events two other sources also reported (a fix
    without it): a post 10° off with two such bearings (sd 2.5) is identifiable (se 2.03,
    4.9 se); one 10° off with one shared and five lone bearings is not, nor one 4° off with
    many (below 4.28 x the 1° systematic error whatever the count); recall over them apart."""
    from truceline.simulation.bias_flags import identifiable, score_calibration

    assert identifiable(10.0, [2.5, 2.5]) and not identifiable(10.0, [2.5])
    assert not identifiable(4.0, [2.5] * 500) and identifiable(-6.0, [2.5] * 7)
    assert not identifiable(6.0, [2.5] * 6)  # 6.25 / ((6 / 4.28)^2 - 1) = 6.5: seven needed
    truth: list[dict[str, Any]] = [
        {"type": "source", "id": s, "bearing_bias_deg": b}
        for s, b in (("a", 10.0), ("b", -10.0), ("c", 4.0), ("x", 0.0), ("y", 0.0))]
    obs: dict[str, dict[str, Any]] = {}

    def event(k: int, who: list[str]) -> None:
        ids = []
        for s in who:
            oid = f"{s}{k}"
            obs[oid] = {"source_id": s, "bearing_deg": 90.0, "bearing_sd_deg": 2.5}
            ids.append(oid)
        truth.append({"type": "event", "id": f"e{k}", "reports": {"origin": ids, "impact": []}})

    event(0, ["a", "x", "y"])
    event(1, ["a", "b", "x"])  # b shares this one (a and x beside it) ...
    for k in range(2, 7):
        event(k, ["b", "x"])  # ... and no other: one other source only
    for k in range(7, 40):
        event(k, ["c", "x", "y"])
    sources = [{"source_id": s, "flagged": s in ("a", "c"), "bias_deg": None,
                "reports_used": 0, "clock_offset_s": None, "timed": 0} for s in "abcxy"]
    got = score_calibration(truth, obs, set(obs), sources)
    assert (got["biased"], got["true_flags"], got["identifiable"]) == (3, 2, 1)
    assert got["identifiable_flagged"] == 1 and got["recall_identifiable"] == 1.0
    out = {r["source_id"]: (r["bearings"], r["shared"]) for r in got["not_identifiable"]}
    assert out == {"b": (6, 1), "c": (33, 33)}
    # a's first event held beside it two sensors of one array instead: one site, not two
    from truceline.simulation.evaluation import site_of

    for k, sid in enumerate(("ac001-ru-0001", "ac001-ru-0002")):
        obs[f"s{k}"] = {"source_id": sid, "source_type": "sensor", "arrival_time": "t"}
    truth[5]["reports"]["origin"] = ["a0", "s0", "s1"]
    assert score_calibration(truth, obs, set(obs), sources)["identifiable"] == 1
    assert score_calibration(truth, obs, set(obs), sources, site_of)["identifiable"] == 0
