"""Issue 20 on the surfaces: the March 2025 example's illustrative downsizing limit in the daily
report and the API (who sees a discrepancy finding), and New START's suspension in its report.

The store is the real SQLite file of the HTTP tests (the example, its sample, checked) with
a party's declarations and an inspection added through the ingest service.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.render.report import render_report
from truceline.adapters.store import open_store
from truceline.services.check import run_check
from truceline.services.ingest import ingest
from truceline.services.record import initialize_store
from truceline.services.report import daily_report

from .conftest import World, ingest_and_check


def _fig(oid: str, kind: str, as_of: str, qty: float, party: str = "RU") -> dict[str, Any]:
    src = ("party", party) if kind == "declaration" else ("inspection_team", "inspectors-1")
    return {"id": oid, "kind": kind, "time": f"{as_of}T12:00:00Z", "source_type": src[0],
            "source_id": src[1], "party": party, "category": "military_personnel",
            "quantity": qty, "as_of": as_of}


#: RU's baseline 750,000 (as of 2025-01-01): the 2026 step (80 %) allows 600,000. Declared
#: 590,000, inspected 650,000 on 2026-06-01: a 10 % discrepancy and a violation.
DOWNSIZING = [_fig("ru-base", "declaration", "2025-01-01", 750_000),
              _fig("ru-2026", "declaration", "2026-06-01", 590_000),
              _fig("insp-2026", "inspection", "2026-06-01", 650_000)]


def test_downsizing_discrepancy_in_the_daily_report(world: World, fresh_db: Path) -> None:
    ingest_and_check(fresh_db, DOWNSIZING)
    store = open_store(str(fresh_db))
    try:
        rep = daily_report(store, "2026-06-01")
    finally:
        store.close()
    mine = [f for f in rep.findings if f.provision_id == "M25-downsizing"]
    assert {f.verdict.value for f in mine} == {"violation", "insufficient_evidence"}
    text = render_report(rep, "md", None)
    assert ("declared 590,000, inspected 650,000 on 2026-06-01 (insp-2026): discrepancy 10 % "
            "of the declared figure, above the 3 % tolerance") in text
    assert "650,000 troops is over the limit of 600,000 troops (80 % of RU's baseline" in text
    assert "M25-downsizing [illustrative values]" in text


def test_downsizing_findings_in_the_api_by_role(
        world: World, fresh_db: Path, make_client: Callable[..., TestClient]) -> None:
    ingest_and_check(fresh_db, DOWNSIZING)
    c = make_client()

    def seen(role: str) -> list[dict[str, Any]]:
        r = c.get("/findings", headers=world.headers(role))
        assert r.status_code == 200, r.text
        return [f for f in r.json()["findings"] if f["provision_id"] == "M25-downsizing"
                and f["evidence"][:2] == ["ru-2026", "insp-2026"]]

    analyst = seen("analyst")
    disc = [f for f in analyst if "discrepancy" in f["details"]]
    assert len(disc) == 1 and disc[0]["details"]["discrepancy"]["relative_to"] == "declared"
    assert [f["verdict"] for f in analyst if f not in disc] == ["violation"]
    ru = seen("party_RU")
    assert {f["id"] for f in ru} == {f["id"] for f in analyst}  # about RU
    assert [f["details"]["discrepancy"]["declared"] for f in ru if "discrepancy" in f["details"]] \
        == [590_000]
    assert seen("party_UA") == [] and seen("public") == []  # not published


def test_a_bad_currency_is_refused_by_the_api(
        world: World, make_client: Callable[..., TestClient]) -> None:
    c = make_client()
    rec = {**DOWNSIZING[2], "id": "bad-cur", "source_type": "monitor",
           "source_id": "smm-post-1", "category": "military_expenditure", "currency": "dollars"}
    r = c.post("/observations", headers=world.headers("monitor"), json=rec)
    assert 400 <= r.status_code < 500
    assert r.json()["field"] == "currency", r.text


def test_new_start_suspension_in_the_daily_report(tmp_path: Path, data_dir: Path) -> None:
    from truceline.adapters.importers import read_records

    _, doc = load_agreement_file("new_start")
    store = open_store(str(tmp_path / "ns.db"), create=True)
    try:
        initialize_store(store, doc)
        path = data_dir / "arms_control/new_start_aggregate_numbers_sourced.csv"
        ingest(store, read_records(str(path), "newstart"))
        run_check(store)
        rep = daily_report(store, "2023-02-21")
    finally:
        store.close()
    text = render_report(rep, "md", None)
    for pid in ("NS-II-1a", "NS-II-1b", "NS-II-1c"):
        assert (f"{pid}: suspended by RUS since 2023-02-21 (President Putin's address to the "
                "Federal Assembly") in text
    assert "contested by USA" in text
