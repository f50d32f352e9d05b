"""Areas of control that change over time (issue 12, item 4), on real monthly DeepStateMap areas.

Russia's area around Pokrovsk is given month by month (2025-01 to 2026-01, clipped to a box; see
tests/data/README.md) and Ukraine's as ``rest_of_area`` with open ends. Pokrovsk was held by
Ukraine until DeepStateMap's 2025-12-01 map; Ukraine's area on 2025-04-11 must therefore contain
it. Before the fix the rest subtracted Russia's areas of *every* month, so Pokrovsk on 2025-04-11
was nobody's (control -1) and a finding there lost its party.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import shapely
import yaml
from shapely.geometry import shape

from truceline.adapters.agreement_files import read_agreement_text
from truceline.adapters.store.sqlite import SQLiteStore
from truceline.core.agreement_geometry import geometry_spec
from truceline.core.agreements import Agreement
from truceline.core.classify import classify, compile_geometry
from truceline.core.findings import Verdict
from truceline.services.check import run_check
from truceline.services.ingest import ingest
from truceline.services.record import initialize_store

SERIES = "deepstate/monthly_pokrovsk"
BOX = (36.8, 47.95, 37.75, 48.6)
POKROVSK = (37.1806, 48.2818)  # the town centre
DATES = [
    "20250102", "20250201", "20250301", "20250402", "20250501", "20250601", "20250701",
    "20250801", "20250901", "20251001", "20251101", "20251201", "20260101",
]


def _day(d: str) -> date:
    return date(int(d[:4]), int(d[4:6]), int(d[6:]))


def _doc() -> dict:
    ru = []
    for i, d in enumerate(DATES):
        area: dict = {
            "party": "RU",
            "geometry": {"file": f"{SERIES}/deepstatemap_data_{d}.geojson", "feature": 0},
            "valid_from": _day(d),
        }
        if i + 1 < len(DATES):
            area["valid_to"] = _day(DATES[i + 1])
        ru.append(area)
    return {
        "id": "pokrovsk-series",
        "title": "Monthly areas of control around Pokrovsk (test)",
        "entry_into_force": "2025-01-02T00:00:00",
        "parties": [{"id": "UA", "name": "Ukraine"}, {"id": "RU", "name": "Russia"}],
        "geography": {
            "area_of_interest": {"bbox": list(BOX)},
            "lines": [{"id": "front", "geometry": {
                "file": "frontline/frontline_20250401.geojson", "feature": 0,
                "clip_bbox": list(BOX)}}],
            "line_of_contact": "front",
            "areas_of_control": [*ru, {"party": "UA", "rest_of_area": True}],
        },
        "provisions": [{
            "id": "cf", "clause": "Ceasefire.", "obligated": ["UA", "RU"],
            "effective": {"start": "2025-01-02T00:00:00"}, "rule": {"kind": "ceasefire"},
        }],
    }


@pytest.fixture(scope="module")
def agreement(data_dir: Path) -> tuple[Agreement, dict]:
    return read_agreement_text(yaml.safe_dump(_doc()), data_dir)


@pytest.fixture(scope="module")
def compiled(agreement: tuple[Agreement, dict]):
    return compile_geometry(geometry_spec(agreement[0]))


def _control(compiled, lon: list[float], lat: list[float], days: list[str]) -> list[str | None]:
    t = np.array(days, dtype="datetime64[ns]")
    c = classify(compiled, lon, lat, t)
    parties = compiled.spec.parties
    return [parties[k] if k >= 0 else None for k in c.control.tolist()]


def test_pokrovsk_belongs_to_the_holder_of_each_month(compiled) -> None:
    days = ["2025-04-11", "2025-11-20", "2025-12-15", "2026-01-20"]
    got = _control(compiled, [POKROVSK[0]] * 4, [POKROVSK[1]] * 4, days)
    assert got == ["UA", "UA", "RU", "RU"]


def test_rest_is_unknown_where_the_other_partys_area_is_not(compiled) -> None:
    # before the series begins Russia's area is not known, so neither is Ukraine's
    assert _control(compiled, [POKROVSK[0]], [POKROVSK[1]], ["2024-12-20"]) == [None]


def test_every_month_matches_the_maps(compiled, data_dir: Path) -> None:
    """On a grid over the box, every mid-month: RU inside that month's polygon, else UA."""
    gx, gy = np.meshgrid(np.linspace(BOX[0] + 0.01, BOX[2] - 0.01, 40),
                         np.linspace(BOX[1] + 0.01, BOX[3] - 0.01, 30))
    lon, lat = gx.ravel(), gy.ravel()
    for i, d in enumerate(DATES[:-1]):
        gj = json.loads((data_dir / SERIES / f"deepstatemap_data_{d}.geojson").read_text())
        ru = shape(gj["features"][0]["geometry"])
        near = shapely.distance(ru.boundary, shapely.points(lon, lat)) < 0.002  # ~150-200 m
        want = np.where(shapely.contains_xy(ru, lon, lat), "RU", "UA")[~near].tolist()
        mid = str(np.datetime64(_day(d)) + np.timedelta64(14, "D"))
        got = _control(compiled, lon[~near].tolist(), lat[~near].tolist(),
                       [mid] * int((~near).sum()))
        assert got == want, f"month {DATES[i]}"


def test_fire_from_pokrovsk_in_april_is_charged_to_its_holder(
    agreement: tuple[Agreement, dict], tmp_path: Path
) -> None:
    store = SQLiteStore(tmp_path / "p.db", create=True)
    initialize_store(store, agreement[1])
    ingest(store, enumerate([{
        "id": "outgoing-pokrovsk", "kind": "fire", "time": "2025-04-11T21:00:00+03:00",
        "source_id": "op-1", "lon": POKROVSK[0], "lat": POKROVSK[1],
        "location_uncertainty_m": 200, "fire_type": "explosion", "explosion_type": "outgoing",
    }], 1))
    (f,) = [f for f in run_check(store).findings if "outgoing-pokrovsk" in f.evidence]
    assert (f.verdict, f.party) == (Verdict.VIOLATION, "UA")
