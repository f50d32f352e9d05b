"""Resubmissions end to end (issue 14): a simulated day with 10 % of its records sent again
under new ids gives the same incidents and findings as the day without them."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.importers import read_records
from truceline.adapters.simulate_files import read_truth, write_simulation
from truceline.adapters.store import open_store
from truceline.core.observations import Observation
from truceline.core.resubmissions import same_content
from truceline.services.check import run_check
from truceline.services.ingest import ingest
from truceline.services.record import initialize_store
from truceline.simulation.evaluation import evaluate
from truceline.simulation.presets import scenario_params
from truceline.simulation.resubmissions import resubmit


def _run(tmp: Path, scenario: str) -> dict[str, Any]:
    ag, doc = load_agreement_file("march2025")
    sim = tmp / scenario
    write_simulation(
        "march2025",
        sim,
        days=1,
        seed=5,
        scale=0.3,
        scenario=scenario,
        start=ag.entry_into_force_at + timedelta(days=6),
    )
    store = open_store(str(tmp / f"{scenario}.db"), create=True)
    try:
        initialize_store(store, doc)
        rep = ingest(
            store, read_records(str(sim / "observations.jsonl"), "jsonl"), future_tolerance=None
        )
        run_check(store)
        manifest, truth, obs = read_truth(sim)
        incidents = store.incident_records()
        findings = [f.to_record() for f in store.findings()]
        score = evaluate(
            truth,
            obs,
            {o.id for o in store.observations()},
            incidents,
            findings,
            parties=manifest["parties"],
            sensor_timing_sd_s=manifest["params"]["sensor_timing_sd_s"],
        )
        return {
            "lines": (sim / "observations.jsonl").read_text().splitlines(),
            "truth": truth,
            "report": rep,
            "links": store.duplicate_links(),
            "incidents": incidents,
            "findings": findings,
            "score": score,
        }
    finally:
        store.close()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("resubmit")
    return {s: _run(tmp, s) for s in ("baseline", "resubmissions_channel")}


def test_copies_add_no_incident_and_no_finding(runs: dict[str, dict[str, Any]]) -> None:
    base, dup = runs["baseline"], runs["resubmissions_channel"]
    copies = {r["id"]: r["copy_of"] for r in dup["truth"] if r["type"] == "resubmission"}
    assert len(copies) > 0.05 * len(base["lines"])
    # the originals are the baseline's records, byte for byte: copies come from their own stream
    assert [ln for ln in dup["lines"] if json.loads(ln)["id"] not in copies] == base["lines"]
    assert dup["report"].copies == len(copies)  # every copy stored and linked to its original
    assert dup["links"] == copies
    assert dup["incidents"] == base["incidents"]
    assert dup["findings"] == base["findings"]
    assert any(f["verdict"] == "violation" for f in base["findings"])  # a day with something
    r = dup["score"]["resubmissions"]
    assert (
        r["copies"],
        r["copies_in_incidents"],
        r["incidents_only_copies"],
        r["findings_only_copies"],
    ) == (len(copies), 0, 0, 0)
    assert dup["score"]["grouping"] == base["score"]["grouping"]


def test_the_rule_finds_no_copy_among_the_baselines_reports(
    runs: dict[str, dict[str, Any]],
) -> None:
    assert runs["baseline"]["links"] == {}
    assert runs["baseline"]["report"].copies == 0


def test_retry_copies_are_the_record_under_a_new_id() -> None:
    rec = {
        "id": "s1-000-000001",
        "kind": "fire",
        "time": "2025-03-20T00:35:15Z",
        "source_id": "ac016-ua-0373",
        "source_type": "sensor",
        "observer_lon": 36.93115,
        "observer_lat": 47.979714,
        "fire_type": "explosion",
        "arrival_time": "2025-03-20T00:35:15.393626Z",
    }
    lines = [json.dumps(rec, separators=(",", ":")) + "\n"]
    for channel in (False, True):
        out, truth = resubmit(np.random.default_rng(1), lines, 1.0, channel)
        [t] = truth
        copy = Observation.model_validate_json(next(ln for ln in out if t["id"] in ln))
        original = Observation.model_validate(rec)
        assert same_content(copy, original)
        same = copy.to_record() | {"id": rec["id"]} == original.to_record()
        assert same is not channel  # a retry is the record; the channel rounds
    assert scenario_params("resubmissions").resubmit_share == 0.1


def test_the_cli_option_and_its_clash_with_the_presets(tmp_path: Path) -> None:
    from click.testing import CliRunner

    import truceline.adapters.cli.simulate  # noqa: F401
    from truceline.adapters.cli.main import cli

    out = tmp_path / "sim"
    args = [
        "simulate",
        "--agreement",
        "march2025",
        "--days",
        "1",
        "--scale",
        "0.1",
        "--seed",
        "2",
        "--out",
        str(out),
    ]
    res = CliRunner().invoke(cli, [*args, "--resubmit", "0.3", "--resubmit-channel"])
    assert res.exit_code == 0, res.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert (
        manifest["scenario"],
        manifest["params"]["resubmit_share"],
        manifest["params"]["resubmit_channel"],
    ) == ("baseline", 0.3, True)
    _, truth, _ = read_truth(out)
    copies = [r for r in truth if r["type"] == "resubmission"]
    assert copies and all(r["id"] == r["copy_of"] + "-c2" for r in copies)
    assert manifest["counts"]["resubmissions"] == len(copies)
    res = CliRunner().invoke(cli, [*args, "--scenario", "resubmissions", "--resubmit", "0.2"])
    assert res.exit_code == 65
    assert res.stderr.strip().splitlines() == [
        "error: resubmit: the scenario 'resubmissions' sets the resubmissions already; give "
        "--resubmit with another scenario"
    ]
