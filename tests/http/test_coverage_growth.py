"""A summary finding's share of coverage, read again as its window fills, must not show the
period's growth outside the mission.

The share runs from the provision's start to the latest evidence, so each check moves its
end: two readings a few hours apart, differenced, give the observed share of a party's side
over those hours, which ``GET /coverage`` refuses to outsiders (whole ended periods only).
Outsiders get the share once final (the window has ended), on every surface that carries
findings (``/findings``, OGC, reports) and in the record's openings, which keep every check's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.http.conftest import sample_records
from tests.http.test_coverage import FILLING, MISSION
from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.http import create_app
from truceline.adapters.http.auth import create_api_key
from truceline.adapters.http.redaction import share_final, withhold_share
from truceline.adapters.http.state import PUBLISHED_KEY
from truceline.adapters.store import open_store
from truceline.services.check import run_check
from truceline.services.ingest import ingest
from truceline.services.record import initialize_store
from truceline.settings import Settings

OUTSIDE = ("public", "party_UA", "guarantor_UK")
KEYS = {"analyst": ("analyst", None), "public": ("public", None), "party_UA": ("party", "UA"),
        "guarantor_UK": ("guarantor", "UK")}


def _opened_fields(c: TestClient, h: dict[str, str]) -> set[str]:
    body = c.get("/record/openings?start=0&end=10000", headers=h).json()
    return {o["field"] for o in body["openings"]}


def test_outsiders_never_see_a_share_still_growing(tmp_path: Path) -> None:
    """The March 2025 line with the partial mission and two sightings far behind it (the
    pull-back's summaries say 'not covered' with their shares); then one post stays on into
    the next period and the check runs again."""
    db = tmp_path / "growing.db"
    _, doc = load_agreement_file("march2025")
    store = open_store(str(db), create=True)
    try:
        initialize_store(store, doc)
        far = [r for r in sample_records()
               if r["id"] in ("m25-sight-2a65-ru-31km", "m25-sight-grad-ua-far")]
        assert not ingest(store, list(enumerate(MISSION + far))).rejected
        run_check(store)
        (pull,) = [f for f in store.findings() if f.provision_id == "M25-pullback"
                   and f.party == "UA" and f.coverage is not None]
        assert pull.window_end is not None and pull.time is not None
        assert pull.time < pull.window_end  # the window is still open
        store.set_meta(PUBLISHED_KEY, json.dumps([pull.id]))
        heads = {k: {"Authorization": f"Bearer {create_api_key(store, k, r, b)}"}
                 for k, (r, b) in KEYS.items()}
    finally:
        store.close()
    readings: dict[str, list[dict[str, Any]]] = {r: [] for r in KEYS}

    def read() -> None:
        with TestClient(create_app(str(db), Settings())) as c:
            for role, h in heads.items():
                f = c.get(f"/findings/{pull.id}", headers=h).json()
                readings[role].append(f)
                if role == "analyst":
                    assert "coverage" in _opened_fields(c, h)
                    continue
                # nor through the OGC layer, a report, or the record's openings
                ogc = c.get(f"/ogc/collections/findings/items/{pull.id}", headers=h).json()
                assert ogc["properties"].get("coverage") is None, ogc["properties"]
                day = c.get("/reports/daily/2025-03-29", headers=h).json()
                shown = [x for x in day["findings"] if x["id"] == pull.id]
                assert shown and all(x.get("coverage") is None for x in shown)
                assert "coverage" not in _opened_fields(c, h)

    read()
    # one post stays on into the next period: the share's end moves on with the evidence
    store = open_store(str(db))
    try:
        assert not ingest(store, list(enumerate(FILLING))).rejected
        run_check(store)
    finally:
        store.close()
    read()
    first, second = readings["analyst"]
    assert first["coverage"] != second["coverage"], "the mission's share moved"
    for role in OUTSIDE:
        for f in readings[role]:
            assert f["coverage"] is None, (role, f)
            assert "% of UA's side" not in f["explanation"], f["explanation"]
            assert "once the provision's window has ended" in f["explanation"]
            assert f["verdict"] == "insufficient_evidence"  # the verdict stays


def test_a_final_share_is_given() -> None:
    """Once the window has ended the share no longer moves: outsiders get it."""
    rec = {"coverage": 0.4, "time": "2025-04-18T21:00:00Z",
           "window_end": "2025-04-18T21:00:00+00:00",
           "explanation": "X: not covered: observed 40 % of RU's side (fire, within 15 km of "
                          "the line, 2025-03-19T22:00:00Z to 2025-04-18T21:00:00Z), below "
                          "min_coverage 60 %"}
    assert share_final(rec) and withhold_share(rec) == rec
    open_ = withhold_share({**rec, "time": "2025-04-18T20:00:00Z"})
    assert open_["coverage"] is None
    assert open_["explanation"].startswith("X: not covered: observed RU's side below "
                                           "min_coverage 60 % (fire, within 15 km of the line)")
