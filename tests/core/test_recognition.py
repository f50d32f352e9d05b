"""Recognition status per area of control (issue 20): the status of areas on a date, and a zone
drawn from it (``areas_recognised``) that a provision can be scoped to.

Hand-made boxes stand for the areas; the recognition entries are illustrative except where a
source is named (the UN General Assembly resolution ES-11/4 of 12 October 2022).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from truceline.core.agreement_geometry import geometry_spec
from truceline.core.agreements import parse_agreement
from truceline.core.classify import compile_geometry
from truceline.core.evidence import gather
from truceline.core.findings import Verdict
from truceline.core.observations import parse_observation
from truceline.core.recognition import status_of_areas
from truceline.core.rules import check
from truceline.errors import AgreementError

NORTH = [36.0, 47.0, 40.0, 52.0]  # held by RU, its annexation disputed
SOUTH = [33.0, 45.0, 36.0, 47.0]  # held by RU, recognised de facto by XX from 2025 (made up)


def _doc(on: str = "2025-06-01") -> dict[str, Any]:
    return {
        "id": "recog", "title": "recognition", "entry_into_force": "2025-05-01T00:00:00",
        "min_coverage": 0,
        "parties": [{"id": "UA", "name": "Ukraine", "nationality": "Ukraine"},
                    {"id": "RU", "name": "Russia", "nationality": "Russia"}],
        "geography": {
            "area_of_interest": {"bbox": [30.0, 44.0, 41.0, 53.0]},
            "lines": [{"id": "loc", "geometry": {"geojson": {
                "type": "LineString", "coordinates": [[36.0, 52.0], [36.0, 47.0], [33.0, 47.0]]}}}],
            "line_of_contact": "loc",
            "areas_of_control": [
                {"party": "RU", "name": "north", "geometry": {"bbox": NORTH}, "recognition": [
                    {"status": "de_jure", "by": ["RU"], "valid_from": "2022-10-04",
                     "source": "Russian law of 4 October 2022"},
                    {"status": "disputed", "by": ["UA", "UN General Assembly"],
                     "valid_from": "2022-10-12", "source": "UNGA resolution ES-11/4"}]},
                {"party": "RU", "name": "south", "geometry": {"bbox": SOUTH}, "recognition": [
                    {"status": "de_facto", "by": ["XX"], "valid_from": "2025-01-01",
                     "valid_to": "2026-01-01", "source": "illustrative"}]},
                {"party": "UA", "rest_of_area": True},
            ],
            "zones": [{"id": "de_facto_xx", "areas_recognised": {
                "status": ["de_facto"], "by": "XX", "on": on}}],
        },
        "provisions": [{
            "id": "P", "clause": "No third-state contingents where XX recognises control.",
            "obligated": ["RU"],
            "rule": {"kind": "prohibited_presence", "zone": "de_facto_xx",
                     "allowed_nationalities": ["Russia"]}}],
    }


def _presence(oid: str, lon: float, lat: float) -> Any:
    return parse_observation({
        "id": oid, "kind": "presence", "time": "2025-05-10T12:00:00+03:00",
        "source_id": "patrol-1", "lon": lon, "lat": lat, "presence_category": "unit",
        "nationality": "Belarus"})


def test_status_of_areas_on_a_date_and_in_full() -> None:
    a = parse_agreement(_doc())
    on = status_of_areas(a, date(2025, 5, 10))
    assert [(x.area, x.status, x.by) for x in on] == [
        ("north", "de_jure", ("RU",)), ("north", "disputed", ("UA", "UN General Assembly")),
        ("south", "de_facto", ("XX",))]
    before = status_of_areas(a, date(2022, 10, 5))
    assert [(x.area, x.status) for x in before] == [("north", "de_jure")]
    assert len(status_of_areas(a)) == 3


def test_a_zone_drawn_from_recognition_scopes_the_provision() -> None:
    a = parse_agreement(_doc())
    geom = compile_geometry(geometry_spec(a), a.thresholds_km())
    obs = [_presence("in-south", 34.5, 46.0), _presence("in-north", 38.0, 49.0)]
    fs = check(a, geom, gather(geom, obs))
    (v,) = [f for f in fs if f.verdict is Verdict.VIOLATION]
    assert v.evidence == ("in-south",) and v.party == "RU"
    assert "zone 'de_facto_xx'" in v.explanation
    assert not [f for f in fs if "in-north" in f.evidence]


def test_a_zone_with_no_area_in_scope_on_its_date_is_refused_naming_it() -> None:
    a = parse_agreement(_doc(on="2024-06-01"))  # XX's recognition starts in 2025
    with pytest.raises(AgreementError) as e:
        geometry_spec(a)
    assert e.value.field == "geography.zones[0].areas_recognised"
    assert "no area of control has recognition de_facto by XX on 2024-06-01" in e.value.message


@pytest.mark.parametrize(("path", "value", "field", "words"), [
    (("areas_of_control", 0, "recognition", 0, "status"), "recognised",
     "geography.areas_of_control[0].recognition[0].status", "Input should be"),
    (("areas_of_control", 0, "recognition", 0, "by"), [],
     "geography.areas_of_control[0].recognition[0].by", "at least 1"),
    (("areas_of_control", 1, "recognition", 0, "valid_to"), "2024-01-01",
     "geography.areas_of_control[1].recognition[0]", "valid_to must be after valid_from"),
    (("zones", 0, "geometry"), {"bbox": NORTH}, "geography.zones[0]", "give one of"),
])
def test_bad_recognition_names_the_field(path: tuple[Any, ...], value: Any, field: str,
                                         words: str) -> None:
    doc = _doc()
    node: Any = doc["geography"]
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    with pytest.raises(AgreementError) as e:
        parse_agreement(doc)
    assert e.value.field == field and words in e.value.message
