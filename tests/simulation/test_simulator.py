"""Simulator invariants: determinism, truth consistent with observations, planted violations."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.simulate_files import read_jsonl, write_simulation
from truceline.core.classify import classify
from truceline.core.geo import GEOD
from truceline.services.context import context_for_doc
from truceline.simulation.scenario import Scenario

FILES = ("observations.jsonl", "truth.jsonl", "manifest.json")


def _load(d: Path) -> tuple[list[dict], list[dict]]:
    return list(read_jsonl(d / "observations.jsonl")), list(read_jsonl(d / "truth.jsonl"))


def test_same_seed_same_bytes_and_other_seed_differs(march_dir: Path, tmp_path: Path) -> None:
    from datetime import timedelta

    ag, _ = load_agreement_file("march2025")
    start = ag.entry_into_force_at + timedelta(days=5)
    again = write_simulation("march2025", tmp_path / "a", days=3, seed=11, scale=0.3,
                             start=start)
    for name in FILES:
        assert (march_dir / name).read_bytes() == (again.out / name).read_bytes(), name
    other = write_simulation("march2025", tmp_path / "b", days=3, seed=12, scale=0.3,
                             start=start)
    assert (other.out / FILES[0]).read_bytes() != (march_dir / FILES[0]).read_bytes()


def test_observations_are_ingestable_records(march_dir: Path) -> None:
    obs, _ = _load(march_dir)
    assert len(obs) > 500
    ids = [o["id"] for o in obs]
    assert len(set(ids)) == len(ids)
    assert all(o["time"].endswith("Z") for o in obs)
    kinds = {(o["kind"], o["source_type"]) for o in obs}
    assert {("fire", "monitor"), ("fire", "sensor"), ("fire", "camera"),
            ("restriction", "monitor"), ("weapon_sighting", "monitor"),
            ("presence", "monitor")} <= kinds
    _, doc = load_agreement_file("march2025")
    aoi = context_for_doc(doc).geometry.spec.area_of_interest  # type: ignore[union-attr]
    import shapely

    for lon_f, lat_f in (("lon", "lat"), ("observer_lon", "observer_lat")):
        pts = [(o[lon_f], o[lat_f]) for o in obs if lon_f in o]
        xy = np.array(pts)
        assert shapely.contains_xy(aoi, xy[:, 0], xy[:, 1]).all()


def test_truth_is_consistent_with_the_observations(march_dir: Path) -> None:
    obs, truth = _load(march_dir)
    by_id = {o["id"]: o for o in obs}
    owner: dict[str, str] = {}
    events = [t for t in truth if t["type"] == "event"]
    for item in truth:
        reps = item.get("reports", {})
        for oid in [*reps.get("origin", []), *reps.get("impact", []),
                    *item.get("observation_ids", [])]:
            assert oid in by_id and oid not in owner
            owner[oid] = item["id"]
    assert set(owner) == set(by_id)  # every observation belongs to exactly one true thing
    # bearings point to the true origin/impact within the error model (3.5 sigma + rounding)
    checked = 0
    for e in events:
        for oid, part in [(i, p) for p in ("origin", "impact") for i in e["reports"][p]]:
            o = by_id[oid]
            if "bearing_deg" not in o or oid in e.get("wild", ()):
                continue
            tgt = e[part]
            az = GEOD.inv(o["observer_lon"], o["observer_lat"], tgt["lon"], tgt["lat"])[0]
            err = (o["bearing_deg"] - az + 180.0) % 360.0 - 180.0
            assert abs(err) <= 3.5 * o["bearing_sd_deg"] + 0.06, (o, e)
            checked += 1
            if o["source_type"] == "camera":
                assert part == "origin" and o["fire_type"] == "muzzle_flash"
            elif o["explosion_type"] != "undetermined":
                want = "outgoing" if part == "origin" else ("impact", "airburst")
                assert o["explosion_type"] in want
    assert checked > 100
    # origins lie in the firing party's area of control, impacts across the line
    _, doc = load_agreement_file("march2025")
    geom = context_for_doc(doc).geometry
    assert geom is not None
    t = np.array([np.datetime64(e["time"][:-1], "ns") for e in events])
    for part, other in (("origin", False), ("impact", True)):
        c = classify(geom, [e[part]["lon"] for e in events], [e[part]["lat"] for e in events], t)
        held = [geom.spec.parties[k] for k in c.control]
        fired = [e["party"] for e in events]
        assert all((h != f) if other else (h == f) for h, f in zip(held, fired, strict=True))
    # sources stand in their own side's area of control
    src = [s for s in truth if s["type"] == "source"]
    c = classify(geom, [s["lon"] for s in src], [s["lat"] for s in src],
                 np.full(len(src), t[0]))
    assert [geom.spec.parties[k] for k in c.control] == [s["party_side"] for s in src]


def test_every_planted_violation_is_in_truth_and_observations(march_dir: Path) -> None:
    obs, truth = _load(march_dir)
    by_id = {o["id"]: o for o in obs}
    planted = [t for t in truth if t["type"] == "planted"]
    violated = {(p, t["party"]) for t in planted for p in t["violates"]}
    for prov in ("M25-pullback", "M25-movement"):
        assert {(prov, "UA"), (prov, "RU")} <= violated
    assert ("M25-no-foreign-contingents", "UA") in violated
    for t in planted:
        assert t["observation_ids"], t
        o = by_id[t["observation_ids"][0]]
        if t["intent"] == "withdrawal_in":
            assert "M25-pullback" in t["violates"] and t["dist_to_line_m"] < 30_000
            assert o["kind"] == "weapon_sighting" and o["affiliation"] == t["party"]
        if t["intent"] == "withdrawal_out":  # honest compliance beyond the distance
            assert t["violates"] == [] and t["dist_to_line_m"] > 30_000
        if t["intent"] == "presence_foreign":
            assert o["nationality"] not in ("Ukraine",) and t["violates"]
        if t["intent"] == "presence_allowed":
            assert t["violates"] == []
        if t["kind"] == "freedom_of_movement":
            assert o["kind"] == "restriction"
    # the ceasefire is violated by every event fired in its window, by the firing party
    events = [t for t in truth if t["type"] == "event"]
    assert events and all(e["violates"] == ["M25-ceasefire"] for e in events)


def test_quantitative_limits_and_other_agreements() -> None:
    ag, doc = load_agreement_file("new_start")
    days = list(Scenario(ag, None, days=1, seed=5))
    planted = [t for t in days[0].truth if t["type"] == "planted"]
    assert planted and all(t["kind"] == "quantitative_limit" for t in planted)
    for t in planted:
        assert bool(t["violates"]) == (t["intent"] == "limit_over")
    ag, doc = load_agreement_file("minsk2")
    scn = Scenario(ag, context_for_doc(doc).geometry, days=1, seed=5, scale=0.2)
    out = scn.day(0)
    assert out.observations
    assert {e["party"] for e in out.truth if e["type"] == "event"} <= {"UA", "ORDLO"}
    assert json.dumps(out.truth)  # JSON-ready


def test_days_are_independent_partitions() -> None:
    ag, doc = load_agreement_file("march2025")
    geom = context_for_doc(doc).geometry
    a = Scenario(ag, geom, days=3, seed=2, scale=0.1)
    b = Scenario(ag, geom, days=3, seed=2, scale=0.1)
    assert a.day(2).observations == list(b)[2].observations


def test_bad_parameters_are_refused() -> None:
    from truceline.errors import ValidationError

    ag, doc = load_agreement_file("march2025")
    with pytest.raises(ValidationError, match="days"):
        Scenario(ag, context_for_doc(doc).geometry, days=0, seed=1)
