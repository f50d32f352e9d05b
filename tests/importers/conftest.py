"""Paths for the importer tests, relative to ``tests/data`` (the ``data_dir`` fixture)."""

from __future__ import annotations

UCDP_CLEAN = "events/peacerep_UCDP-Ukraine_ffe58b8_clean_2014-2021.csv"
UCDP_MESSY = "events/peacerep_UCDP-Ukraine_b858735_messy_cp1252_mixeddates_2014-2023.csv"
CIR = "events/cir_bellingcat_events_mauforonda.csv"
NEW_START = "arms_control/new_start_aggregate_numbers_sourced.csv"
