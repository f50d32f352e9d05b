"""Measure what a planned layout buys: simulate it, run the real pipeline, score every event.

The planner (:mod:`truceline.services.planning`) hands over simulator parameters holding the
layout; this simulates ``days`` days of the agreement with them into a temporary directory,
ingests the records into a temporary SQLite store, runs the checks (fusion, attribution,
findings) and scores the stored incidents against the truth
(:func:`truceline.simulation.layout_score.score_layout`). Nothing is kept.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from truceline.adapters.importers import read_records
from truceline.adapters.simulate_files import read_truth, write_simulation
from truceline.adapters.store import open_store
from truceline.services.check import run_check
from truceline.services.ingest import ingest
from truceline.services.record import initialize_store
from truceline.simulation.layout_score import score_layout
from truceline.simulation.sources import SimulationParams

__all__ = ["VISIBILITY", "measurer"]

#: What the simulated runs see: the simulator has no terrain, whatever ``--dem`` says.
VISIBILITY = "range only: the simulator has no terrain model (flat ground), even with --dem"


def measurer(agreement: str, doc: dict[str, Any], confidence: float, *, days: int, seed: int,
             scale: float = 1.0) -> Callable[[SimulationParams], dict[str, Any]]:
    """A function that measures one layout (same seed for every layout: the same fire)."""

    def measure(params: SimulationParams) -> dict[str, Any]:
        with tempfile.TemporaryDirectory() as tmp:
            sim = Path(tmp) / "sim"
            write_simulation(agreement, sim, days=days, seed=seed, scale=scale, params=params)
            store = open_store(str(Path(tmp) / "plan.db"), create=True)
            try:
                initialize_store(store, doc)
                ingest(store, read_records(str(sim / "observations.jsonl"), "jsonl"),
                       future_tolerance=None)
                run_check(store)
                _, truth, _ = read_truth(sim)
                stored = {o.id for o in store.observations()}
                out = score_layout(truth, store.incident_records(),
                                   [f.to_record() for f in store.findings()], stored,
                                   confidence=confidence)
            finally:
                store.close()
        out["days"], out["seed"], out["scale"] = days, seed, scale
        out["visibility"] = VISIBILITY
        return out

    return measure
