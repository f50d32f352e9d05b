"""Non-accession and neutrality (issue 20): known answers on sourced status events.

The events are public facts (tests/data/status, sources named there): Ukraine's NATO
application of 30 September 2022, Finland's accession of 4 April 2023, Sweden's of 7 March
2024, NATO's list of members on a date. The provisions are hand-made and illustrative.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from truceline.core.agreements import parse_agreement
from truceline.core.evidence import gather
from truceline.core.findings import Finding, Verdict
from truceline.core.observations import Observation, parse_observation
from truceline.core.rules import check
from truceline.errors import AgreementError, ObservationError

DATA = Path(__file__).parent.parent / "data" / "status" / "alliance_status_events_sourced.jsonl"


def _events() -> dict[str, Observation]:
    lines = DATA.read_text(encoding="utf-8").splitlines()
    return {(o := parse_observation(json.loads(s))).id: o for s in lines if s.strip()}


EVENTS = _events()


def _agreement(rule: dict[str, Any], obligated: list[str], start: str,
               end: str | None = None) -> Any:
    eff: dict[str, Any] = {"start": start} | ({"end": end} if end else {})
    return parse_agreement({
        "id": "status-test", "title": "status", "entry_into_force": f"{start}T00:00:00",
        "parties": [{"id": p, "name": p} for p in ("UA", "FI", "SE")],
        "provisions": [{"id": "P", "clause": "as encoded", "obligated": obligated,
                        "effective": eff, "illustrative": True, "rule": rule}],
    })


def _run(rule: dict[str, Any], obligated: list[str], start: str, end: str | None,
         ids: list[str]) -> list[Finding]:
    a = _agreement(rule, obligated, start, end)
    return check(a, None, gather(None, [EVENTS[i] for i in ids]))


def _verdicts(fs: list[Finding], party: str) -> list[Verdict]:
    return [f.verdict for f in fs if f.party == party]


NON_ACCESSION = {"kind": "non_accession", "alliances": ["NATO"]}


def test_ukraines_application_is_a_violation_naming_date_and_source() -> None:
    fs = _run(NON_ACCESSION, ["UA"], "2022-01-01", None, ["ua-nato-2022", "ua-check-2025"])
    (v,) = [f for f in fs if f.verdict is Verdict.VIOLATION]
    assert v.party == "UA" and v.evidence == ("ua-nato-2022",)
    assert "UA applied for membership of NATO on 2022-09-30" in v.explanation
    assert "president.gov.ua" in v.explanation and "[illustrative values]" in v.explanation
    # a violation settles the party: no compliant summary beside it
    assert not [f for f in fs if f.party == "UA" and "status is shown" in f.explanation]


def test_a_membership_check_in_the_window_makes_compliant_as_of_its_date() -> None:
    # From 2023 on, Ukraine's application lies before the window; NATO's list of 28 March
    # 2025 shows it is not a member (written "North Atlantic Treaty Organization").
    fs = _run(NON_ACCESSION, ["UA"], "2023-01-01", None, ["ua-nato-2022", "ua-check-2025"])
    assert Verdict.VIOLATION not in _verdicts(fs, "UA")
    summary = [f for f in fs if "status is shown" in f.explanation]
    assert len(summary) == 1 and summary[0].verdict is Verdict.COMPLIANT
    assert summary[0].time == "2025-03-28T12:00:00Z"
    assert "nato.int" in summary[0].explanation


def test_no_status_evidence_in_the_window_is_insufficient_evidence() -> None:
    fs = _run(NON_ACCESSION, ["UA"], "2023-01-01", "2025-01-01", ["ua-nato-2022",
                                                                  "ua-check-2025"])
    assert [(f.verdict, f.evidence) for f in fs] == [(Verdict.INSUFFICIENT_EVIDENCE, ())]
    assert "no status evidence about UA" in fs[0].explanation


def test_an_act_not_named_in_breach_on_is_no_finding_until_named() -> None:
    ids = ["ua-const-2019"]
    default = _run(NON_ACCESSION, ["UA"], "2019-01-01", "2020-01-01", ids)
    assert _verdicts(default, "UA") == [Verdict.INSUFFICIENT_EVIDENCE]
    strict = {**NON_ACCESSION, "breach_on": ["declaration_of_intent", "application"]}
    fs = _run(strict, ["UA"], "2019-01-01", "2020-01-01", ids)
    (v,) = [f for f in fs if f.verdict is Verdict.VIOLATION]
    assert "declared its intent to join NATO on 2019-02-07" in v.explanation


def test_other_alliances_are_not_this_provisions_matter() -> None:
    fs = _run(NON_ACCESSION, ["UA"], "2022-01-01", "2022-06-01", ["ua-eu-2022"])
    assert _verdicts(fs, "UA") == [Verdict.INSUFFICIENT_EVIDENCE]


NEUTRAL_NATO = {"kind": "neutrality", "alliances": ["NATO"], "no_foreign_bases": False}


def test_neutrality_finland_accedes_sweden_shown_not_member() -> None:
    # Window 2023: Finland accedes on 4 April 2023 (a violation); the invitation of 2022 and
    # the applications lie before it. Sweden: NATO's list on 1 June 2023 (written "OTAN")
    # shows it not a member, and its accession (7 March 2024) lies after the window.
    ids = ["fi-app-2022", "se-app-2022", "fi-inv-2022", "se-inv-2022", "fi-acc-2023",
           "se-check-2023", "se-acc-2024"]
    fs = _run(NEUTRAL_NATO, ["FI", "SE"], "2023-01-01", "2024-01-01", ids)
    (v,) = [f for f in fs if f.verdict is Verdict.VIOLATION]
    assert v.party == "FI" and v.evidence == ("fi-acc-2023",)
    assert "FI acceded to NATO on 2023-04-04 (source: nato.int (NATO news, 4 April 2023))" \
        in v.explanation
    se = [f for f in fs if f.party == "SE"]
    assert {f.verdict for f in se} == {Verdict.COMPLIANT}
    assert any("SE is not a member of NATO as of 2023-06-01" in f.explanation for f in se)


def test_sweden_accession_is_a_violation_in_2024() -> None:
    ids = ["se-check-2023", "se-acc-2024"]
    fs = _run(NEUTRAL_NATO, ["SE"], "2024-01-01", None, ids)
    assert [f.verdict for f in fs] == [Verdict.VIOLATION]
    assert "SE acceded to NATO on 2024-03-07" in fs[0].explanation


def test_an_invitation_is_never_the_invited_states_violation() -> None:
    fs = _run(NEUTRAL_NATO, ["FI"], "2022-06-01", "2022-12-31", ["fi-inv-2022"])
    assert _verdicts(fs, "FI") == [Verdict.INSUFFICIENT_EVIDENCE]


def test_full_neutrality_needs_evidence_for_every_alliance_and_bases() -> None:
    # Neutrality as a whole (NATO, CSTO, no foreign bases): a NATO list alone does not show it.
    fs = _run({"kind": "neutrality"}, ["SE"], "2023-01-01", "2024-01-01", ["se-check-2023"])
    s = [f for f in fs if f.evidence == ()]
    assert [f.verdict for f in s] == [Verdict.INSUFFICIENT_EVIDENCE]
    assert "no status evidence for CSTO, no foreign military bases about SE" in s[0].explanation
    declared = parse_observation({
        "id": "se-declares", "kind": "status", "time": "2023-02-01T12:00:00Z",
        "source_id": "hand-made", "source_type": "party", "party": "SE",
        "status_act": "status_declaration"})
    a = _agreement({"kind": "neutrality"}, ["SE"], "2023-01-01", "2024-01-01")
    fs = check(a, None, gather(None, [EVENTS["se-check-2023"], declared]))
    assert {f.verdict for f in fs} == {Verdict.COMPLIANT}


def test_neutrality_an_unknown_alliance_is_insufficient_evidence_naming_it() -> None:
    # The EU is not in the catalogue of military alliances: whether neutrality excludes it is
    # the provision's to say, so the application is undecided, never a violation.
    fs = _run({"kind": "neutrality"}, ["UA"], "2022-01-01", "2022-06-01", ["ua-eu-2022"])
    assert Verdict.VIOLATION not in _verdicts(fs, "UA")
    undecided = [f for f in fs if f.evidence == ("ua-eu-2022",)]
    assert undecided and "'EU' is not a military alliance truceline knows" in \
        undecided[0].explanation
    listed = _run({"kind": "neutrality", "alliances": ["NATO", "EU"]}, ["UA"], "2022-01-01",
                  "2022-06-01", ["ua-eu-2022"])
    assert [f.verdict for f in listed if f.evidence] == [Verdict.VIOLATION]


def test_a_basing_agreement_breaches_neutrality_unless_switched_off() -> None:
    base = parse_observation({
        "id": "base", "kind": "status", "time": "2023-05-01T12:00:00Z",
        "source_id": "hand-made", "party": "FI", "status_act": "basing_agreement",
        "nationality": "United States"})
    a = _agreement({"kind": "neutrality"}, ["FI"], "2023-01-01")
    (v,) = [f for f in check(a, None, gather(None, [base])) if f.verdict is Verdict.VIOLATION]
    assert "military base or stationing of United States on 2023-05-01" in v.explanation
    off = _agreement(NEUTRAL_NATO, ["FI"], "2023-01-01")
    assert Verdict.VIOLATION not in [f.verdict for f in check(off, None, gather(None, [base]))]


@pytest.mark.parametrize(("rule", "field", "words"), [
    ({"kind": "non_accession"}, "provisions[0].rule.alliances", "Field required"),
    ({"kind": "non_accession", "alliances": ["NATO"], "breach_on": ["invitation"]},
     "provisions[0].rule.breach_on", "item 0: 'invitation' is not an act of the obligated state"),
    ({"kind": "non_accession", "alliances": ["NATO"], "breach_on": []},
     "provisions[0].rule.breach_on", "give at least one act"),
    ({"kind": "neutrality", "breach_on": ["joining"]}, "provisions[0].rule.breach_on[0]",
     "Input should be"),
    ({"kind": "neutrality", "foreign_bases": True}, "provisions[0].rule.foreign_bases",
     "Extra inputs"),
])
def test_bad_rules_name_the_field(rule: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(AgreementError) as e:
        _agreement(rule, ["UA"], "2022-01-01")
    assert e.value.field == field
    assert words in e.value.message


@pytest.mark.parametrize(("change", "field"), [
    ({"alliance": None}, "alliance"),
    ({"party": None}, "party"),
    ({"status_act": "membership_check"}, "member"),
    ({"kind": "fire", "fire_type": "explosion"}, "status_act"),
    ({"status_act": "basing_agreement"}, "nationality"),
])
def test_bad_status_events_name_the_field(change: dict[str, Any], field: str) -> None:
    rec = {**EVENTS["ua-nato-2022"].to_record(), **change}
    with pytest.raises(ObservationError) as e:
        parse_observation({k: v for k, v in rec.items() if v is not None})
    assert e.value.field == field
