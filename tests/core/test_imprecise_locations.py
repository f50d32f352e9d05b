"""Imprecise locations (issue 12, item 7): a sector, a region or a distance only as far as each
source's precision allows. On Minsk II's real contact line and real UCDP GED events.

UCDP codes an event it can place only in an oblast (``where_prec`` 4) at the oblast's centroid:
Donetsk oblast's is 48.14 N 37.74 E, on the contact line by Avdiivka. Before, such an event was
counted in the "Donetsk north" sector and the Donetsk region, as if it had happened there.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import shapely

from tests.placing import place
from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.importers import read_records
from truceline.adapters.store.sqlite import SQLiteStore
from truceline.core.agreement_geometry import geometry_spec
from truceline.core.findings import Finding
from truceline.core.precision import distance_statement
from truceline.services.check import run_check
from truceline.services.ingest import ingest
from truceline.services.record import initialize_store
from truceline.services.report import daily_report

UCDP = "events/peacerep_UCDP-Ukraine_ffe58b8_clean_2014-2021.csv"
OBLAST = "unassigned (precision: oblast, UCDP where_prec 4)"


@pytest.fixture(scope="module")
def ucdp_store(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> SQLiteStore:
    _, doc = load_agreement_file("minsk2")
    store = SQLiteStore(tmp_path_factory.mktemp("ucdp") / "u.db", create=True)
    initialize_store(store, doc)
    ingest(store, read_records(str(data_dir / UCDP), "ucdp"), on_invalid="skip")
    run_check(store)
    return store


def _where_prec(data_dir: Path) -> dict[str, int]:
    with (data_dir / UCDP).open(encoding="utf-8", newline="") as fh:
        return {f"ucdp-{r['id']}": int(r["where_prec"]) for r in csv.DictReader(fh)}


def test_oblast_level_findings_say_so(ucdp_store: SQLiteStore, data_dir: Path) -> None:
    prec = _where_prec(data_dir)
    fire = [f for f in ucdp_store.findings() if f.rule_kind == "ceasefire" and f.evidence]
    coarse = [f for f in fire if prec.get(f.evidence[0], 0) >= 4]
    assert len(coarse) >= 10  # 204932, 218639, ... (the file's oblast-level events)
    for f in coarse:
        assert "location known only to" in f.explanation
        assert f.details["location"]["precision"].endswith(f"where_prec {prec[f.evidence[0]]}")
        assert f.distance_m is None and " km from the line" not in f.explanation


def _row(report, event: str) -> tuple[str, str]:
    (e,) = [e for e in report.events if e["id"] == f"i-{event}"]
    assert e["sigma_m"] is not None  # the map gets the uncertainty too
    rows = [k for k, c in report.counts.items() if sum(c.values())]
    assert len(rows) == 1, rows  # one event that day
    return rows[0]


def test_oblast_centroid_is_in_no_sector_and_no_region(ucdp_store: SQLiteStore) -> None:
    # ucdp-204932: "Donetsk oblast", 2015-07-14, coded at the centroid on the contact line
    region, sector = _row(daily_report(ucdp_store, "2015-07-14"), "ucdp-204932")
    assert (region, sector) == (OBLAST, OBLAST)


def test_a_place_keeps_its_sector_and_region(ucdp_store: SQLiteStore) -> None:
    # ucdp-204566: Avdiivka town (where_prec 1, about +-4 km), 2015-05-21
    region, sector = _row(daily_report(ucdp_store, "2015-05-21"), "ucdp-204566")
    assert (region, sector) == ("Donetsk", "Donetsk north (Svitlodarsk - Avdiivka)")


@pytest.fixture(scope="module")
def distance_findings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Finding]:
    ag, doc = load_agreement_file("minsk2")
    spec = geometry_spec(ag)
    line = spec.lines["contact_2015"]
    ordlo = next(c.geometry for c in spec.control if c.party == "ORDLO")
    shapely.prepare(ordlo)

    def in_ordlo(lon: float, lat: float) -> bool:
        return bool(shapely.contains_xy(ordlo, lon, lat))

    recs = []
    for i, (name, sigma) in enumerate([("exact", 50), ("near-a-place", 12_500),
                                       ("oblast", 75_000)]):
        lon, lat = place(line, 60 + 100 * i, 10, in_ordlo, True)
        recs.append({"id": name, "kind": "fire", "time": f"2015-06-0{i + 1}T22:00:00+03:00",
                     "source_id": "op-1", "lon": lon, "lat": lat,
                     "location_uncertainty_m": sigma, "fire_type": "explosion",
                     "explosion_type": "outgoing"})
    store = SQLiteStore(tmp_path_factory.mktemp("dist") / "d.db", create=True)
    initialize_store(store, doc)
    ingest(store, enumerate(recs, 1))
    out = {}
    for f in run_check(store).findings:
        if f.provision_id == "MII-1" and f.evidence:
            out[f.evidence[0]] = f
    return out


def test_distance_only_as_precise_as_the_location(distance_findings: dict[str, Finding]) -> None:
    exact = distance_findings["exact"]
    assert "10.0 km from the line of contact" in exact.explanation
    assert exact.distance_m == pytest.approx(10_000, abs=100)  # one number, to 0.1 km
    # 10 km +- 1.96 x 12.5 km: the range, never "10.0 km"
    near = distance_findings["near-a-place"]
    assert "within 0–35 km of the line of contact" in near.explanation
    assert near.distance_m is None
    assert near.details["location"]["distance_range_m"][0] == 0.0
    oblast = distance_findings["oblast"]
    assert "distance to the line of contact not determinable" in oblast.explanation
    assert oblast.distance_m is None


def test_distance_statement_bounds() -> None:
    assert distance_statement(30_000.0, None)[1] == 30_000.0
    text, d, rng = distance_statement(30_000.0, 5_000.0)
    assert (text, d, rng) == ("within 20–40 km of the line of contact", None, (20_200.0, 39_800.0))
    assert distance_statement(30_000.0, 60_000.0)[1:] == (None, None)
