"""Small simulated scenarios on the shipped agreements, made once per test session."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.simulate_files import SimulationSummary, write_simulation


@pytest.fixture(scope="session")
def march_sim(tmp_path_factory: pytest.TempPathFactory) -> SimulationSummary:
    """Three days of March 2025 starting five days after entry into force, so the pull-back
    deadline (day 7) falls inside the run; every record round-trips through Observation."""
    ag, _ = load_agreement_file("march2025")
    out = tmp_path_factory.mktemp("march") / "sim"
    return write_simulation("march2025", out, days=3, seed=11, scale=0.3, validate=True,
                            start=ag.entry_into_force_at + timedelta(days=5))


@pytest.fixture(scope="session")
def march_dir(march_sim: SimulationSummary) -> Path:
    return march_sim.out
