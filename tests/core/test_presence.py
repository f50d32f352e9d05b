"""Foreign presence (issue 12, item 3): nationality as ISO 3166 codes, exempt unarmed missions by
mandate and posture (never by label), and the other party's forces told apart from a hosted
contingent. On the shipped March 2025 example with its real DeepStateMap areas of control."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.store.sqlite import SQLiteStore
from truceline.core.agreements import parse_agreement
from truceline.core.findings import Finding, Verdict
from truceline.core.nationality import country_code
from truceline.errors import AgreementError
from truceline.services.check import run_check
from truceline.services.ingest import ingest
from truceline.services.record import initialize_store

PROVISION = "M25-no-foreign-contingents"
T = "2025-03-25T12:00:00+02:00"  # inside the 30-day window from 20 March 2025
KHARKIV = (36.2304, 49.9935)  # held by Ukraine on 2 April 2025 (DeepStateMap)
KYIV = (30.5234, 50.4501)


def _presence(oid: str, where: tuple[float, float], **kw: object) -> dict:
    return {
        "id": oid,
        "kind": "presence",
        "time": T,
        "source_id": "patrol-7",
        "lon": where[0],
        "lat": where[1],
        "location_uncertainty_m": 100,
        "presence_category": "unit",
        "count": 12,
        **kw,
    }


@pytest.fixture(scope="module")
def findings(tmp_path_factory: pytest.TempPathFactory) -> list[Finding]:
    _, doc = load_agreement_file("march2025")
    store = SQLiteStore(tmp_path_factory.mktemp("presence") / "m.db", create=True)
    initialize_store(store, doc)
    osce = "unarmed civilian monitoring mission (OSCE)"
    recs = [
        _presence("ua-own", KYIV, nationality="Ukrainian", unit_label="territorial defence"),
        _presence("ru-sabotage", KHARKIV, nationality="Russian", unit_label="sabotage group"),
        _presence("ru-by-affiliation", KHARKIV, nationality="RUS", affiliation="RU"),
        _presence("uk-osce", KHARKIV, nationality="British", unit_label=osce, mandate="OSCE",
                  armed=False),
        _presence("uk-label-only", KHARKIV, nationality="United Kingdom", unit_label=osce),
        _presence("uk-osce-armed", KHARKIV, nationality="GB", unit_label=osce, mandate="OSCE",
                  armed=True),
        _presence("uk-osce-posture-unknown", KHARKIV, nationality="GBR", mandate="OSCE"),
        _presence("fr-reassurance", KYIV, nationality="French", unit_label="reassurance force"),
        _presence("nato-mandate", KYIV, nationality="Poland", mandate="NATO", armed=False),
        _presence("unknown-state", KYIV, nationality="Ruritanian", unit_label="volunteers"),
    ]
    ingest(store, enumerate(recs, 1))
    return [f for f in run_check(store).findings if f.provision_id == PROVISION]


def _of(findings: list[Finding], oid: str) -> list[Finding]:
    return [f for f in findings if oid in f.evidence]


def test_own_nationality_is_not_foreign_whatever_its_spelling(findings: list[Finding]) -> None:
    assert _of(findings, "ua-own") == []


def test_other_partys_forces_are_not_the_hosts_violation(findings: list[Finding]) -> None:
    # A Russian sabotage group on Ukrainian-held ground is an incursion (a ceasefire matter),
    # not a contingent that Ukraine hosts: nothing is charged to UA under this provision.
    assert _of(findings, "ru-sabotage") == []
    assert _of(findings, "ru-by-affiliation") == []
    assert not [f for f in findings if f.verdict is Verdict.VIOLATION and "Russia" in
                f.explanation]


def test_unarmed_mandated_mission_is_exempt_but_not_by_label(findings: list[Finding]) -> None:
    assert _of(findings, "uk-osce") == []
    (label,) = _of(findings, "uk-label-only")
    assert (label.verdict, label.party) == (Verdict.VIOLATION, "UA")
    assert "United Kingdom (GB)" in label.explanation and "under any label" in label.explanation
    (armed,) = _of(findings, "uk-osce-armed")
    assert (armed.verdict, armed.party) == (Verdict.VIOLATION, "UA")
    assert "armed, so not covered" in armed.explanation
    (unknown,) = _of(findings, "uk-osce-posture-unknown")
    assert unknown.verdict is Verdict.INSUFFICIENT_EVIDENCE
    assert "whether they were armed was not reported" in unknown.explanation
    (nato,) = _of(findings, "nato-mandate")  # a mandate the provision does not exempt
    assert nato.verdict is Verdict.VIOLATION and "'NATO' is not one" in nato.explanation


def test_hosted_foreign_contingent_is_the_hosts_violation(findings: list[Finding]) -> None:
    (fr,) = _of(findings, "fr-reassurance")
    assert (fr.verdict, fr.party) == (Verdict.VIOLATION, "UA")
    assert "France (FR)" in fr.explanation and "reassurance force" in fr.explanation
    assert fr.details["nationality"] == "FR"


def test_unknown_nationality_is_insufficient_evidence_naming_it(findings: list[Finding]) -> None:
    (f,) = _of(findings, "unknown-state")
    assert (f.verdict, f.party) == (Verdict.INSUFFICIENT_EVIDENCE, "UA")
    assert "'Ruritanian'" in f.explanation


def test_summary_is_not_compliant_with_a_violation(findings: list[Finding]) -> None:
    assert not [f for f in findings if f.party == "UA" and f.verdict is Verdict.COMPLIANT]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Ukraine", "UA"), ("ukrainian", "UA"), ("Ukrainians", "UA"), ("UKR", "UA"),
        ("Russia", "RU"), ("Russian Federation", "RU"), ("russian", "RU"), ("643", "RU"),
        ("British", "GB"), ("UK", "GB"), ("North Korean", "KP"), ("Belarusian", "BY"),
        ("Moldova", "MD"), ("Poles", "PL"), ("  French ", "FR"),
        ("Ruritanian", None), ("Korean", None), ("", None),
    ],
)
def test_country_codes(text: str, code: str | None) -> None:
    assert country_code(text) == code


def test_agreement_refuses_an_unknown_state() -> None:
    _, doc = load_agreement_file("march2025")
    bad = copy.deepcopy(doc)
    prov = next(p for p in bad["provisions"] if p["id"] == PROVISION)
    prov["rule"]["allowed_nationalities"] = ["Narnia"]
    with pytest.raises(AgreementError) as exc:
        parse_agreement(bad)
    assert "Narnia" in str(exc.value) and "allowed_nationalities" in str(exc.value)
    bad = copy.deepcopy(doc)
    bad["parties"][0]["nationality"] = "Atlantis"
    with pytest.raises(AgreementError, match="Atlantis"):
        parse_agreement(bad)


def test_example_loads(tmp_path: Path) -> None:
    ag, _ = load_agreement_file("march2025")
    rule = ag.provision(PROVISION).rule
    assert rule.exempt_unarmed_missions == ["OSCE", "UN"]  # type: ignore[union-attr]
