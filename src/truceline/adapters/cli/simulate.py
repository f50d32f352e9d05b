"""``truceline simulate`` and ``truceline evaluate``: a scenario with its truth, and the score."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click

from truceline.adapters.cli.group import handle_errors
from truceline.simulation.presets import SCENARIOS


@click.command()
@click.option("--agreement", required=True, help="Agreement YAML file, or an example name "
              "(march2025, minsk2, new_start).")
@click.option("--days", type=click.IntRange(1, 3650), default=7, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True,
              help="Same seed, same bytes.")
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Directory for observations.jsonl, truth.jsonl and manifest.json.")
@click.option("--scale", type=click.FloatRange(min=0, min_open=True), default=1.0,
              show_default=True, help="Multiply the fire rate (1: ~10 events/100 km/day).")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="First day (local midnight); default: the agreement's entry into force.")
@click.option("--validate", is_flag=True,
              help="Round-trip every record through the Observation model (slower).")
@click.option("--scenario", type=click.Choice(list(SCENARIOS)), default="baseline",
              show_default=True,
              help="Preset: " + "; ".join(f"{k}: {v[0]}" for k, v in SCENARIOS.items()) + ".")
@click.option("--resubmit", type=click.FloatRange(0, 1), default=None,
              help="Share of the records sent again under a new id with the same content "
              "(issue 14; with any scenario but the resubmissions ones).")
@click.option("--resubmit-channel", is_flag=True,
              help="Resubmitted copies come by a second channel (coordinates to 4 decimals, "
              "arrival times to the millisecond) instead of as the same record (alone: 10 %).")
@handle_errors
def simulate(agreement: str, days: int, seed: int, out: str, scale: float,
             start: datetime | None, validate: bool, scenario: str, resubmit: float | None,
             resubmit_channel: bool) -> None:
    """Simulate a monitoring mission's observations along the agreement's line, with the truth."""
    from dataclasses import replace

    from truceline.adapters.agreement_files import load_agreement_file
    from truceline.adapters.simulate_files import write_simulation
    from truceline.errors import ValidationError
    from truceline.simulation.sources import SimulationParams

    first = None
    if start is not None:
        first = start.replace(tzinfo=load_agreement_file(agreement)[0].tz)
    params = SimulationParams()
    if resubmit is not None or resubmit_channel:
        if "resubmit_share" in SCENARIOS[scenario][1]:
            raise ValidationError(f"the scenario {scenario!r} sets the resubmissions already; "
                                  "give --resubmit with another scenario", field="resubmit")
        params = replace(params, resubmit_share=0.1 if resubmit is None else resubmit,
                         resubmit_channel=resubmit_channel)
    res = write_simulation(agreement, out, days=days, seed=seed, scale=scale, start=first,
                           validate=validate, scenario=scenario, params=params)
    c = res.manifest["counts"]
    click.echo(f"{out}: {res.observations} observations, {res.events} true events "
               f"({c.get('events.observable', 0)} observable), {res.planted} planted items "
               f"({c.get('planted.violating', 0)} violations)")


@click.command()
@click.option("--truth", "truth_dir", required=True, type=click.Path(file_okay=False),
              help="Directory written by `truceline simulate`.")
@click.option("--db", envvar="TRUCELINE_DB", default="truceline.db", show_default=True,
              help="The processed store (SQLite file or postgresql:// URL).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False),
              help="Also write the figures as JSON here.")
@handle_errors
def evaluate(truth_dir: str, db: str, json_path: str | None) -> None:
    """Score the processed store against the simulated truth (grouping, location, attribution,
    findings, detection) and print the tables."""
    from truceline.adapters.simulate_files import read_truth
    from truceline.adapters.store import open_store
    from truceline.simulation.evaluation import evaluate as score
    from truceline.simulation.evaluation import render_markdown

    manifest, truth, obs = read_truth(truth_dir)
    store = open_store(db)
    stored = {o.id for o in store.observations()}
    report = score(truth, obs, stored, store.incident_records(),
                   [f.to_record() for f in store.findings()],
                   parties=manifest["parties"],
                   sensor_timing_sd_s=manifest["params"]["sensor_timing_sd_s"])
    report["scenario"] = {k: manifest.get(k) for k in ("scenario", "seed", "days", "scale",
                                                       "agreement")}
    click.echo(render_markdown(report), nl=False)
    if json_path:
        Path(json_path).write_text(json.dumps(report, indent=2, sort_keys=True) + "\n",
                                   encoding="utf-8")
