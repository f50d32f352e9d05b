"""Guarantee clauses in the agreement format, and which findings they turn into notifications."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from truceline.adapters.agreement_files import load_agreement_file
from truceline.core.agreements import Agreement, parse_agreement
from truceline.core.findings import Finding, Verdict, iso
from truceline.core.notifications import awaiting, due, escalations, overdue
from truceline.errors import AgreementError

NOW = datetime(2025, 3, 28, 6, tzinfo=UTC)


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return load_agreement_file("march2025")[1]


def _with(doc: dict[str, Any], **clause: Any) -> dict[str, Any]:
    d = copy.deepcopy(doc)
    d["guarantors"][1]["clauses"] = [{"id": "c", "next_step": "talks", **clause}]
    return d


def test_files_without_clauses_keep_loading(doc: dict[str, Any]) -> None:
    old = copy.deepcopy(doc)
    del old["mediator"]
    for g in old["guarantors"]:
        g.pop("clauses", None)
    a = parse_agreement(old)
    assert [g.clauses for g in a.guarantors] == [[], [], []] and a.mediator is None
    assert load_agreement_file("new_start")[0].guarantors == []


@pytest.mark.parametrize(("clause", "field", "reason"), [
    ({"provisions": ["M25-no-foreign-contingents"]}, "guarantors[1].clauses[0].provisions",
     "UK does not guarantee"),
    ({"provisions": ["nope"]}, "guarantors[1].clauses[0].provisions", "does not guarantee"),
    ({"notify": ["NATO"]}, "guarantors[1].clauses[0].notify", "not a party, a guarantor"),
    ({"escalate_to": ["guarantors", "guarantors"]}, "guarantors[1].clauses[0]",
     "named twice"),
    ({"trigger": {"min_probability": 1.5}}, "guarantors[1].clauses[0].trigger.min_probability",
     "less than or equal to 1"),
    ({"trigger": {"count": {"at_least": 1, "within_hours": 24}}},
     "guarantors[1].clauses[0].trigger.count.at_least", "greater than or equal to 2"),
    ({"trigger": {"verdicts": ["bad"]}}, "guarantors[1].clauses[0].trigger.verdicts[0]",
     "violation"),
    ({"acknowledge_within_hours": 0}, "guarantors[1].clauses[0].acknowledge_within_hours",
     "greater than 0"),
])
def test_bad_clauses_name_the_field(doc: dict[str, Any], clause: dict[str, Any], field: str,
                                    reason: str) -> None:
    with pytest.raises(AgreementError) as err:
        parse_agreement(_with(doc, **clause))
    assert err.value.field == field and reason in err.value.message, err.value


def test_mediator_must_exist_to_be_notified(doc: dict[str, Any]) -> None:
    d = _with(doc, notify=["mediator"])
    del d["mediator"]
    with pytest.raises(AgreementError) as err:
        parse_agreement(d)
    assert err.value.field == "guarantors[1].clauses[0].notify"
    assert "names no mediator" in err.value.message


def _f(i: int, hours: float, *, verdict: Verdict = Verdict.VIOLATION, party: str | None = "RU",
       confidence: float | None = 0.97, weapon: str | None = "tube_artillery",
       provision: str = "M25-ceasefire") -> Finding:
    return Finding(f"f-{i}", provision, "ceasefire", verdict, party, (f"o-{i}",), "x",
                   time=iso(NOW - timedelta(hours=hours)), confidence=confidence,
                   weapon_class=weapon)


def _agreement(doc: dict[str, Any], **clause: Any) -> Agreement:
    return parse_agreement(_with(doc, **clause))


def test_triggers_probability_weapon_class_and_verdict(doc: dict[str, Any]) -> None:
    a = _agreement(doc, provisions=["M25-ceasefire"],
                   trigger={"min_probability": 0.95, "weapon_classes": ["tube_artillery"]})
    fs = [_f(1, 1), _f(2, 1, confidence=0.9), _f(3, 1, weapon="mlrs"),
          _f(4, 1, party=None, confidence=None), _f(5, 1, verdict=Verdict.COMPLIANT),
          _f(6, 1, provision="M25-movement")]
    made = [n for n in due(a, fs, set(), NOW) if n.guarantor == "UK"]
    assert [n.finding_id for n in made] == ["f-1"]
    n = made[0]
    assert n.deadline == iso(NOW + timedelta(hours=24)) and n.party == "RU"
    assert set(n.recipients) == {"UK"}  # the default: the guarantor itself
    assert due(a, fs, {n.id}, NOW) == [x for x in due(a, fs, set(), NOW) if x.id != n.id]


def test_a_count_within_a_period(doc: dict[str, Any]) -> None:
    a = _agreement(doc, provisions=["M25-ceasefire"],
                   trigger={"count": {"at_least": 3, "within_hours": 24}},
                   notify=["guarantors", "parties_concerned", "mediator"])
    spread = [_f(1, 100), _f(2, 70), _f(3, 40), _f(4, 10)]  # never 3 within a day
    assert [n for n in due(a, spread, set(), NOW) if n.guarantor == "UK"] == []
    burst = [_f(1, 20), _f(2, 12), _f(3, 5), _f(4, 1)]
    made = [n for n in due(a, burst, set(), NOW) if n.guarantor == "UK"]
    assert sorted(n.finding_id for n in made) == ["f-3", "f-4"]  # the third and after
    assert set(made[0].recipients) == {"UK", "FR", "US", "RU", "MED"}


def test_overdue_escalation_and_the_report_line(doc: dict[str, Any]) -> None:
    a = _agreement(doc, provisions=["M25-ceasefire"], acknowledge_within_hours=2,
                   escalate_to=["mediator"])
    ns = [n for n in due(a, [_f(1, 1), _f(2, 1)], set(), NOW) if n.guarantor == "UK"]
    later = NOW + timedelta(hours=28, minutes=59)
    assert overdue(ns, set(), NOW + timedelta(hours=1)) == []
    assert overdue(ns, {ns[0].id}, later) == [ns[1]]
    assert awaiting(overdue(ns, set(), later), later) == [
        "awaiting acknowledgement: UK, 2 notifications, 26 h overdue"]
    esc = escalations(a, overdue(ns, set(), later), set(), later)
    assert [(e.escalates, e.recipients, e.deadline) for e in esc] == [
        (n.id, ("MED", "UK"), None) for n in ns]
    assert escalations(a, overdue(ns, set(), later), {e.id for e in esc}, later) == []


def test_a_count_at_the_period_edges_and_many_findings(doc: dict[str, Any]) -> None:
    # the count takes both ends of the period: 24 h before a finding's time counts, 24 h and
    # a second does not; a finding without a time is never counted nor completes a count
    a = _agreement(doc, provisions=["M25-ceasefire"],
                   trigger={"count": {"at_least": 3, "within_hours": 24}})
    edge = [_f(1, 48), _f(2, 36), _f(3, 24), Finding("f-9", "M25-ceasefire", "ceasefire",
                                                      Verdict.VIOLATION, "RU", ("o-9",), "x")]
    made = [n.finding_id for n in due(a, edge, set(), NOW) if n.guarantor == "UK"]
    assert made == ["f-3"]
    late = [_f(1, 48 + 1 / 3600), _f(2, 36), _f(3, 24)]
    assert [n for n in due(a, late, set(), NOW) if n.guarantor == "UK"] == []
    # many findings, unsorted: each one's count is the brute-force count over all of them
    hours = [(i * 7919) % 500 / 3.0 for i in range(400)]
    fs = [_f(i, h) for i, h in enumerate(hours)]
    made = {n.finding_id for n in due(a, fs, set(), NOW) if n.guarantor == "UK"}
    want = {f"f-{i}" for i, h in enumerate(hours)
            if sum(1 for g in hours if h <= g <= h + 24) >= 3}
    assert made == want and 0 < len(want) < len(fs)
