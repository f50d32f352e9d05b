"""Range bans (INF-type) on the shipped inf2 example, through the real store and services.

Known answers: the catalogue's published ranges (src/truceline/core/data/weapons.csv, each row
with its source) put the 9M729 (500-5,500 km, U.S. State Department) and the Oreshnik in the
INF band; the Iskander-M's stated 400-500 km lies partly in it; the Tochka-U (up to 120 km) is
outside it; the Kalibr is sea-launched, which the INF Treaty did not cover.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from truceline.adapters.agreement_files import load_agreement_file, read_agreement_text
from truceline.adapters.store.sqlite import SQLiteStore
from truceline.core.catalogue import WeaponSystem
from truceline.core.findings import Finding, Verdict
from truceline.core.observations import parse_observation
from truceline.core.range_bans import Placement, RangeBanRule
from truceline.core.taxonomy import WeaponClass
from truceline.errors import AgreementError, ObservationError
from truceline.services.check import run_check
from truceline.services.ingest import ingest
from truceline.services.record import initialize_store

DAY = "2026-04-10T10:00:00Z"  # after the example's entry into force (2026-03-01)
CATEGORY = "ground_launched_missiles_500_5500km"


def sighting(oid: str, system: str | None, time: str = DAY, **kw: Any) -> dict[str, Any]:
    rec = {"id": oid, "kind": "weapon_sighting", "time": time, "source_id": "imagery-1",
           "source_type": "open_source", "lon": 45.8, "lat": 48.6, **kw}
    if system is not None:
        rec["system"] = system
    return rec


def declaration(oid: str, party: str, quantity: float, **kw: Any) -> dict[str, Any]:
    return {"id": oid, "kind": "declaration", "time": "2026-04-01T00:00:00Z",
            "source_id": f"party-{party.lower()}", "source_type": "party", "party": party,
            "category": CATEGORY, "quantity": quantity, "as_of": "2026-04-01", **kw}


def checked(tmp_path: Path, records: list[dict[str, Any]]) -> list[Finding]:
    _, doc = load_agreement_file("inf2")
    store = SQLiteStore(tmp_path / "inf2.db", create=True)
    initialize_store(store, doc)
    ingest(store, list(enumerate(records, 1)))
    return run_check(store).findings


def about(findings: list[Finding], oid: str) -> list[Finding]:
    return [f for f in findings if oid in f.evidence]


def summary(findings: list[Finding], party: str) -> Finding:
    (f,) = [f for f in findings if f.party == party and not f.evidence]
    return f


def test_a_9m729_sighting_is_a_violation_with_its_range_and_source(tmp_path: Path) -> None:
    fs = checked(tmp_path, [sighting("ssc8-rus", "9M729", affiliation="RUS", count=4)])
    (f,) = about(fs, "ssc8-rus")
    assert (f.provision_id, f.rule_kind, f.verdict, f.party) == (
        "INF2-1", "range_ban", Verdict.VIOLATION, "RUS")
    assert "4 x 9M729 (cruise_missile, ground-launched; published range 500-5,500 km" in (
        f.explanation)
    assert "source: U.S. Department of State" in f.explanation
    assert "Russia's Ministry of Defence stated a maximum of 480 km" in f.explanation
    assert "in the banned band 500-5,500 km (ground-launched)" in f.explanation
    assert "[illustrative values]" in f.explanation
    assert f.details["range_km"] == [500.0, 5500.0] and f.details["activity"] == "held"
    # the catalogue version the range was read from (a replay with another one differs)
    text = (Path(__file__).parents[2] / "src/truceline/core/data/weapons.csv").read_text(
        encoding="utf-8")  # lines end in \n whatever the checkout, so the digest is the same
    assert f.details["catalogue_sha256"] == hashlib.sha256(text.encode()).hexdigest()[:16]
    assert f.weapon_class == "cruise_missile"
    assert [x for x in fs if x.party == "RUS" and not x.evidence] == []  # found in violation
    assert summary(fs, "USA").verdict is Verdict.INSUFFICIENT_EVIDENCE  # nothing about USA


def test_a_test_launch_named_in_cyrillic_by_a_state_is_the_partys_violation(
        tmp_path: Path) -> None:
    """The owner may be a state: it is matched to the party of that nationality."""
    fs = checked(tmp_path, [sighting("oreshnik-test", "Орешник", affiliation="Russia",
                                     activity="test_launch")])
    (f,) = about(fs, "oreshnik-test")
    assert (f.verdict, f.party) == (Verdict.VIOLATION, "RUS")
    assert "1 x Oreshnik (ballistic_missile" in f.explanation
    assert "of RUS test-launched at 2026-04-10T10:00:00Z" in f.explanation
    assert f.details["activity"] == "test_launch"


def test_systems_outside_the_band_or_its_basing_give_nothing(tmp_path: Path) -> None:
    recs = [sighting("tochka", "Tochka-U", affiliation="RUS"),
            sighting("kalibr", "Kalibr", affiliation="RUS", activity="launch"),
            sighting("kh101", "Kh-101", affiliation="RUS", activity="launch"),
            sighting("rs26", "RS-26", affiliation="RUS"),
            sighting("early", "9M729", time="2026-02-01T10:00:00Z", affiliation="RUS"),
            sighting("other-state", "9M729", affiliation="Belarus")]
    fs = checked(tmp_path, recs)
    assert [f for f in fs if f.evidence] == []
    # none of these is evidence about either party's holdings in the band
    for party in ("USA", "RUS"):
        s = summary(fs, party)
        assert s.verdict is Verdict.INSUFFICIENT_EVIDENCE
        assert "no relevant evidence" in s.explanation


def test_compliant_needs_a_declaration_of_the_band(tmp_path: Path) -> None:
    fs = checked(tmp_path, [declaration("usa-decl", "USA", 0),
                            sighting("tochka", "Tochka-U", affiliation="RUS")])
    usa = summary(fs, "USA")
    assert usa.verdict is Verdict.COMPLIANT and "1 relevant records" in usa.explanation
    rus = summary(fs, "RUS")
    assert rus.verdict is Verdict.INSUFFICIENT_EVIDENCE
    assert "no relevant evidence about RUS" in rus.explanation


def test_a_declared_holding_in_the_band_is_a_violation(tmp_path: Path) -> None:
    fs = checked(tmp_path, [declaration("rus-decl", "RUS", 12),
                            declaration("rus-9m729", "RUS", 0, category="missiles",
                                        system="9M729")])
    (f,) = about(fs, "rus-decl")
    assert (f.verdict, f.party) == (Verdict.VIOLATION, "RUS")
    assert f"RUS declared 12 {CATEGORY} as of 2026-04-01" in f.explanation
    assert about(fs, "rus-9m729") == []  # a zero declaration of a banned system: no finding


@pytest.mark.parametrize(("rec", "reason", "party"), [
    (sighting("ssc8-anon", "SSC-8"), "its owner is not stated", None),
    (sighting("kn23", "Hwasong-11", affiliation="RUS"),
     "system 'Hwasong-11' not in the catalogue", "RUS"),
    (sighting("iskander", "Iskander-M", affiliation="RUS"),
     "published range 400-500 km", "RUS"),
    (sighting("cm", None, affiliation="USA", weapon_class="cruise_missile"),
     "with no system named, so its range is not known", "USA"),
])
def test_insufficient_evidence_says_why(tmp_path: Path, rec: dict[str, Any], reason: str,
                                        party: str | None) -> None:
    fs = checked(tmp_path, [rec, declaration("usa-decl", "USA", 0)])
    (f,) = about(fs, rec["id"])
    assert (f.verdict, f.party) == (Verdict.INSUFFICIENT_EVIDENCE, party)
    assert reason in f.explanation
    # an open finding that could be a party's keeps it from being found compliant
    usa = summary(fs, "USA")
    expected = Verdict.INSUFFICIENT_EVIDENCE if party in (None, "USA") else Verdict.COMPLIANT
    assert usa.verdict is expected


def test_partly_in_band_names_the_interval(tmp_path: Path) -> None:
    fs = checked(tmp_path, [sighting("iskander", "9K720 Iskander", affiliation="RUS")])
    (f,) = about(fs, "iskander")
    assert "lies partly in the band 500-5,500 km" in f.explanation
    assert "source: Missile Defense Advocacy Alliance" in f.explanation


@pytest.mark.parametrize(("rule", "field", "reason"), [
    ("{kind: range_ban, min_km: 5500, max_km: 500}", "provisions[0].rule.max_km",
     "must be at least min_km (5500)"),
    ("{kind: range_ban, min_km: 500, max_km: 5500, basing: [space]}",
     "provisions[0].rule.basing[0]", "ground"),
    ("{kind: range_ban, min_km: 500}", "provisions[0].rule.max_km", "Field required"),
    ("{kind: range_ban, min_km: 500, max_km: 5500, basing: []}", "provisions[0].rule.basing",
     "at least 1"),
])
def test_bad_rules_are_refused_naming_the_field(rule: str, field: str, reason: str) -> None:
    text = f"""
id: x
title: x
entry_into_force: 2026-03-01T00:00:00
parties: [{{id: A, name: A}}]
provisions:
  - {{id: p, clause: c, obligated: [A], rule: {rule}}}
"""
    with pytest.raises(AgreementError) as err:
        read_agreement_text(text, Path("."))
    assert err.value.field == field and reason in err.value.message


def test_activity_belongs_to_weapon_sightings() -> None:
    with pytest.raises(ObservationError) as err:
        parse_observation({"id": "f", "kind": "fire", "fire_type": "explosion", "time": DAY,
                           "source_id": "s", "activity": "test_launch"})
    assert err.value.field == "activity"
    with pytest.raises(ObservationError) as err:
        parse_observation(sighting("s", "9M729", activity="flyby"))
    assert err.value.field == "activity"


def test_an_inspection_finding_banned_missiles_is_the_inspected_partys_violation(
        tmp_path: Path) -> None:
    rec = {"id": "insp-1", "kind": "inspection", "time": "2026-05-02T09:00:00Z",
           "source_id": "inspectors", "source_type": "inspection_team", "party": "RUS",
           "category": "missiles", "quantity": 2, "as_of": "2026-05-02", "system": "9M729"}
    (f,) = about(checked(tmp_path, [rec]), "insp-1")
    assert (f.verdict, f.party) == (Verdict.VIOLATION, "RUS")
    assert "2 x 9M729" in f.explanation and "of RUS inspected as of 2026-05-02" in f.explanation


_KM = st.floats(0, 20_000, allow_nan=False)


@given(lo=st.none() | _KM, hi=st.none() | _KM, a=_KM, w=st.floats(0.001, 20_000))
def test_placement_is_containment_of_the_stated_interval(
        lo: float | None, hi: float | None, a: float, w: float) -> None:
    """In: the whole interval lies in the band; out: none of it; partly: the rest."""
    if lo is not None and hi is not None and lo > hi:
        lo, hi = hi, lo
    band = RangeBanRule(kind="range_ban", min_km=a, max_km=a + w)
    s = WeaponSystem("x", WeaponClass.CRUISE_MISSILE, None, min_range_km=lo, max_range_km=hi)
    got = band.place(s)
    if lo is None and hi is None:
        assert got is Placement.UNKNOWN
        return
    first = lo if lo is not None else hi
    last = hi if hi is not None else float("inf")
    assert first is not None
    inside = band.min_km <= first and last <= band.max_km
    apart = last < band.min_km or first > band.max_km
    assert got is (Placement.IN if inside else Placement.OUT if apart else Placement.PARTLY)


def test_a_test_flight_in_the_band_decides_whatever_is_published(tmp_path: Path) -> None:
    """The Iskander-M's published 400-500 km lies partly in the band; a test flight of 600 km
    shows a range in it (the INF Treaty counted a missile's tested range). A flight of 300 km
    leaves the published range to decide; a sea-launched flight is not covered."""
    fs = checked(tmp_path, [
        sighting("isk-600", "Iskander-M", affiliation="RUS", activity="test_launch",
                 flight_km=600),
        sighting("isk-300", "Iskander-M", affiliation="RUS", activity="test_launch",
                 flight_km=300),
        sighting("kalibr-1500", "Kalibr", affiliation="RUS", activity="launch", flight_km=1500),
    ])
    (f,) = about(fs, "isk-600")
    assert (f.verdict, f.party) == (Verdict.VIOLATION, "RUS")
    assert "test-launched at 2026-04-10T10:00:00Z, flying 600 km: in the banned band" in (
        f.explanation)
    assert f.details["flight_km"] == 600
    (g,) = about(fs, "isk-300")
    assert g.verdict is Verdict.INSUFFICIENT_EVIDENCE and "lies partly in the band" in g.explanation
    assert about(fs, "kalibr-1500") == []


def test_flight_km_belongs_to_launches() -> None:
    with pytest.raises(ObservationError) as err:
        parse_observation(sighting("s", "9M729", flight_km=600))
    assert err.value.field == "flight_km"
    with pytest.raises(ObservationError) as err:
        parse_observation(sighting("s", "9M729", activity="launch", flight_km=0))
    assert err.value.field == "flight_km"
