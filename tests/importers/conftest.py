"""Shared paths for the importer tests: real public data lives in ``../shared/data``."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
UCDP_CLEAN = "events/peacerep_UCDP-Ukraine_ffe58b8_clean_2014-2021.csv"
UCDP_MESSY = "events/peacerep_UCDP-Ukraine_b858735_messy_cp1252_mixeddates_2014-2023.csv"
CIR = "events/cir_bellingcat_events_mauforonda.csv"
NEW_START = "arms_control/new_start_aggregate_numbers_sourced.csv"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    assert SHARED_DATA.is_dir(), f"shared data missing at {SHARED_DATA}"
    return SHARED_DATA
