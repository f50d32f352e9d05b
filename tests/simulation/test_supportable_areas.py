"""What the evidence could support, judged by the agreement's areas of control (issue 12,
session 41): the fusion attributes by the areas, so where they part from the line an origin
far behind the line may still sit at its area's edge."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from shapely import LineString, box

from truceline.core.classify import ControlPeriod, GeometrySpec, SectorSpec, compile_geometry
from truceline.core.geo import GEOD
from truceline.simulation.crlb import own_area_probability, position_cov, supportable_origins

#: The line along 48 N, RU north of it; UA also holds a pocket north of the line whose
#: west edge runs ~150 m east of the target (lon 37.502 against 37.5).
LINE = [np.array([[36.6, 48.0], [37.5, 48.0], [38.4, 48.0]])]
POCKET = box(37.502, 48.0, 37.6, 48.1)


def _geometry() -> Any:
    ru = box(36.5, 48.0, 38.5, 49.0).difference(POCKET)
    ua = box(36.5, 47.0, 38.5, 48.0).union(POCKET)
    return compile_geometry(GeometrySpec(
        parties=("UA", "RU"), lines={"contact": LineString(LINE[0])},
        reference_lines={"UA": "contact", "RU": "contact"},
        control=(ControlPeriod("RU", ru), ControlPeriod("UA", ua)),
        sectors=(SectorSpec("all", "contact", 0, 200),),
        area_of_interest=box(36.5, 47.0, 38.5, 49.0)))


def _firing(eid: str, lon: float) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """An RU firing 5 km north of the line at ``lon``, seen by two posts 7 km to its
    south-west and south-east (2.5 deg bearings crossing at 90 deg: ~305 m sd each way)."""
    target_lon, target_lat, _ = GEOD.fwd(lon, 48.0, 0.0, 5_000.0)
    target = (float(target_lon), float(target_lat))
    obs = {}
    for k, az in (("a", 225.0), ("b", 135.0)):
        olon, olat, back = GEOD.fwd(*target, az, 7_000.0)
        obs[f"{eid}-{k}"] = {"id": f"{eid}-{k}", "source_id": f"op-ua-{k}",
                             "source_type": "monitor", "observer_lon": olon,
                             "observer_lat": olat, "bearing_deg": float(back) % 360.0,
                             "bearing_sd_deg": 2.5, "explosion_type": "outgoing"}
    event = {"type": "event", "id": eid, "party": "RU", "time": "2025-03-25T02:00:00.000Z",
             "violates": ["C"], "origin": {"lon": target[0], "lat": target[1]},
             "wild": [], "reports": {"origin": list(obs), "impact": []}}
    return event, obs


def test_an_origin_far_behind_the_line_at_its_areas_edge_is_not_supportable() -> None:
    geom = _geometry()
    edge, obs = _firing("edge", 37.5)
    deep, obs2 = _firing("deep", 37.0)
    obs |= obs2
    events = [edge, deep]
    # by the line both are 5 km behind it with ~305 m sd: certain
    assert supportable_origins(events, obs, set(obs), LINE, 0.01, 0.9) == {
        "edge": True, "deep": True}
    # by the areas the first sits ~150 m from UA's pocket: about Phi(150 / 305) ~ 0.69
    cov = position_cov((edge["origin"]["lon"], edge["origin"]["lat"]), list(obs.values())[:2],
                       0.01)
    p = own_area_probability(geom, "RU", (edge["origin"]["lon"], edge["origin"]["lat"]), cov,
                             edge["time"])
    assert p == pytest.approx(0.69, abs=0.08)
    assert supportable_origins(events, obs, set(obs), LINE, 0.01, 0.9, geom) == {
        "edge": False, "deep": True}
    # no locating reports: nothing to support
    assert own_area_probability(geom, "RU", (37.0, 48.05), None, edge["time"]) == 0.0


def test_the_evaluator_judges_supportable_by_the_areas_and_gives_the_line_beside() -> None:
    """With the geometry, a finding row's supportable recall is the areas' (the edge firing
    out, the deep one in) and the line's is given beside it; without, only the line's."""
    from truceline.simulation.evaluation import evaluate

    geom = _geometry()
    edge, obs = _firing("edge", 37.5)
    deep, obs2 = _firing("deep", 37.0)
    obs |= obs2
    found = {"provision_id": "C", "verdict": "violation", "party": "RU",
             "evidence": list(obs2)}
    kw = {"parties": ["UA", "RU"], "sensor_timing_sd_s": 0.01, "line_lonlat": LINE}
    (row,) = evaluate([edge, deep], obs, set(obs), [], [found], geometry=geom, **kw)["findings"]
    assert (row["true_supportable"], row["found_supportable"]) == (1, 1)
    assert (row["true_supportable_line"], row["found_supportable_line"]) == (2, 1)
    assert row["recall_supportable"] == 1.0 and row["recall_supportable_line"] == 0.5
    (line,) = evaluate([edge, deep], obs, set(obs), [], [found], **kw)["findings"]
    assert (line["true_supportable"], line["found_supportable"]) == (2, 1)
    assert "recall_supportable_line" not in line
