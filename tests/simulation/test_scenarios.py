"""The named scenarios do what they say, the same way for the same seed."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from truceline.adapters.agreement_files import load_agreement_file
from truceline.core.classify import classify
from truceline.errors import ValidationError
from truceline.services.context import context_for_doc
from truceline.simulation.presets import SCENARIOS, scenario_params
from truceline.simulation.scenario import Scenario
from truceline.simulation.world import CAMERA

DAYS = 3


def _run(name: str, seed: int) -> tuple[Scenario, list[dict[str, Any]], list[dict[str, Any]]]:
    ag, doc = load_agreement_file("march2025")
    geom = context_for_doc(doc).geometry
    scn = Scenario(ag, geom, days=DAYS, seed=seed, scale=0.2, params=scenario_params(name),
                   start=ag.entry_into_force_at + timedelta(days=4))
    obs: list[dict[str, Any]] = []
    truth: list[dict[str, Any]] = list(scn.setup_truth())
    for day in scn:
        obs += day.observations
        truth += day.truth
    return scn, obs, truth


@pytest.fixture(scope="module")
def runs() -> dict[str, tuple[Scenario, list[dict[str, Any]], list[dict[str, Any]]]]:
    return {name: _run(name, 5) for name in SCENARIOS}


def test_the_scenarios_and_an_unknown_name() -> None:
    assert list(SCENARIOS) == ["baseline", "restrictions", "cameras_down", "uncovered",
                               "resubmissions", "resubmissions_channel", "biased_observers",
                               "coarse_bands", "wild_bearings", "clock_offsets", "wind",
                               "all_conditions",
                               "escalation_doubling", "escalation_ramp", "escalation_spike"]
    assert scenario_params("baseline") == scenario_params("baseline", None)
    with pytest.raises(ValidationError, match="unknown scenario"):
        scenario_params("snow")


def test_same_seed_same_records(runs: dict[str, Any]) -> None:
    for name in ("restrictions", "cameras_down", "uncovered"):
        _, obs, truth = _run(name, 5)
        assert obs == runs[name][1] and truth == runs[name][2], name


def test_restrictions_are_many_and_some_deny_an_area(runs: dict[str, Any]) -> None:
    def restrictions(name: str) -> list[dict[str, Any]]:
        return [o for o in runs[name][1] if o["kind"] == "restriction"]

    base, many = restrictions("baseline"), restrictions("restrictions")
    assert len(many) >= 3 * len(base) > 0
    assert not any("denied_radius_m" in o for o in base)
    denied = [o for o in many if "denied_radius_m" in o]
    assert 0.3 * len(many) <= len(denied) <= 0.7 * len(many)
    assert all(2000 <= o["denied_radius_m"] <= 8000 for o in denied)
    assert all(o["restriction_type"] == "denial_of_access" for o in denied)
    planted = [t for t in runs["restrictions"][2] if t.get("kind") == "freedom_of_movement"]
    assert sum(1 for t in planted if t.get("denied_radius_m")) == len(denied)


def test_cameras_down_for_days_at_the_stated_share(runs: dict[str, Any]) -> None:
    scn, obs, truth = runs["cameras_down"]
    cams = int((scn.sources.role == CAMERA).sum())
    outages = [t for t in truth if t["type"] == "camera_outage"]
    assert len(outages) == round(0.5 * cams)
    assert all(t["days"] == DAYS for t in outages)  # 3-7 days, cut at the end of a 3-day run
    down = Counter(o["source_id"] for o in obs
                   if o["kind"] == "monitoring" and o.get("asset_status") == "down")
    assert all(down[t["source"]] == DAYS for t in outages)
    # each day at least the outage share is down, and no detection from a camera that is
    detecting = {o["source_id"] for o in obs if o["kind"] == "fire"
                 and o["source_type"] == "camera"}
    assert not detecting & {t["source"] for t in outages}
    base_down = sum(1 for o in runs["baseline"][1] if o.get("asset_status") == "down")
    assert sum(down.values()) > 5 * base_down


def test_uncovered_sectors_have_no_asset(runs: dict[str, Any]) -> None:
    scn, obs, truth = runs["uncovered"]
    dark = [t for t in truth if t.get("type") == "sector" and t.get("uncovered")]
    assert len(dark) == 2 and [s[0] for s in scn.uncovered] == [t["id"] for t in dark]
    assert scn.uncovered == _run("uncovered", 5)[0].uncovered
    # every monitoring asset (posts, cameras, arrays, the day's patrols) stands outside them
    geom = scn.geom
    assert geom is not None
    pos = {(o["observer_lon"], o["observer_lat"]) for o in obs if o["kind"] == "monitoring"}
    xy = np.array(sorted(pos))
    c = classify(geom, xy[:, 0], xy[:, 1], np.full(len(xy), scn.start_ns, "datetime64[ns]"))
    assert not scn.in_uncovered(c.chainage_m[scn.loc]).any()
    assert len(xy) > 100
    # fire still happens there, and little of it is observable (only near the sectors' ends)
    ids = {t["id"] for t in dark}
    events = [t for t in truth if t.get("type") == "event"]
    there = [t["observable"] for t in events if t["sector"] in ids]
    elsewhere = [t["observable"] for t in events if t["sector"] not in ids]
    assert there and np.mean(there) < 0.5 < 0.9 < np.mean(elsewhere)
    base_assets = sum(1 for t in runs["baseline"][2] if t.get("type") == "source")
    assert sum(1 for t in truth if t.get("type") == "source") < base_assets


def test_biased_observers_change_only_the_biased_posts_bearings(runs: dict[str, Any]) -> None:
    _, obs, truth = runs["biased_observers"]
    _, base_obs, base_truth = runs["baseline"]
    bias = {t["id"]: t["bearing_bias_deg"] for t in truth
            if t["type"] == "source" and t["role"] == "post"}
    assert not any("bearing_bias_deg" in t for t in base_truth)
    assert all(t.get("bearing_bias_deg", 0.0) == 0.0 for t in truth
               if t["type"] == "source" and t["role"] != "post")
    big = [b for b in bias.values() if abs(b) >= 3.0]
    assert 0.04 * len(bias) <= len(big) <= 0.2 * len(bias)
    assert all(4.0 <= abs(b) <= 10.0 for b in big)
    small = np.array([b for b in bias.values() if abs(b) < 3.0])
    assert 0.3 < small.std() < 0.7  # the others' 0.5 deg (1 sigma)
    # the same records as the baseline's but for the bearings, each off by its post's bias
    assert len(obs) == len(base_obs)
    shifted = 0
    for o, b in zip(obs, base_obs, strict=True):
        assert {k: v for k, v in o.items() if k != "bearing_deg"} == \
            {k: v for k, v in b.items() if k != "bearing_deg"}
        if "bearing_deg" in o:
            want = bias.get(o["source_id"], 0.0)
            d = (o["bearing_deg"] - b["bearing_deg"] + 180.0) % 360.0 - 180.0
            assert abs(d - want) <= 0.1 + 1e-9, (o["id"], d, want)
            shifted += abs(want) >= 3.0
    assert shifted > 0


def test_the_cli_selects_a_scenario(tmp_path: Path) -> None:
    from click.testing import CliRunner

    import truceline.adapters.cli.simulate  # noqa: F401
    from truceline.adapters.cli.main import cli

    out = tmp_path / "sim"
    res = CliRunner().invoke(cli, ["simulate", "--agreement", "march2025", "--days", "1",
                                   "--scale", "0.1", "--seed", "2", "--scenario", "uncovered",
                                   "--out", str(out)])
    assert res.exit_code == 0, res.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["scenario"] == "uncovered"
    assert manifest["params"]["uncovered_sector_count"] == 2
    res = CliRunner().invoke(cli, ["simulate", "--agreement", "march2025", "--scenario", "fog",
                                   "--out", str(out)])
    assert res.exit_code != 0 and "fog" in res.output


def test_escalation_scenarios_change_one_sector_from_the_day_their_truth_says() -> None:
    """Issue 19: doubling, ramp and spike, each with its truth; the world's setup only."""
    ag, doc = load_agreement_file("march2025")
    geom = context_for_doc(doc).geometry
    for kind in ("doubling", "ramp", "spike"):
        scn = Scenario(ag, geom, days=45, seed=4, params=scenario_params(f"escalation_{kind}"))
        truth = [t for t in scn.setup_truth() if t["type"] == "escalation_truth"]
        assert len(truth) == 1 and truth[0]["kind"] == kind
        assert not [t for t in scn.setup_truth() if t["type"] == "escalation"]  # none random
        d = truth[0]["first_day"]
        assert 32 <= d <= 38
        k = [s[0] for s in scn.sectors].index(truth[0]["sector"])
        esc = scn.escalation
        assert (esc[:d] == 1.0).all() and (np.delete(esc, k, axis=1) == 1.0).all()
        want = {"doubling": np.full(45 - d, 2.0),
                "ramp": 1.0 + 0.1 * np.arange(1, 46 - d),
                "spike": np.r_[4.0, np.ones(44 - d)]}[kind]
        np.testing.assert_allclose(esc[d:, k], want)
        assert truth[0]["local_date"] == (scn.start + timedelta(days=d)).astimezone(
            ag.tz).date().isoformat()
    with pytest.raises(ValidationError) as e:
        Scenario(ag, geom, days=5, seed=1, params=scenario_params(
            "baseline", scenario_params("escalation_doubling").__class__(
                escalation_kind="storm")))
    assert e.value.field == "escalation_kind"
