"""Quantitative limits (issue 20): declarations against inspections, baseline-relative and
phased limits, spending in constant prices, and suspension and lapse.

Pure core: agreements parsed from documents, observations validated, findings from
:func:`truceline.core.rules.check` (no geography: limits need none). Expected numbers are
computed here from the inputs, never read from the code under test.
"""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from truceline.adapters.agreement_files import load_agreement_file
from truceline.core.agreements import parse_agreement
from truceline.core.deflators import to_constant
from truceline.core.evidence import gather
from truceline.core.findings import Finding, Verdict
from truceline.core.observations import parse_observation
from truceline.core.rules import check
from truceline.errors import AgreementError, ObservationError


def _agreement(rule: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"id": "limits-test", "title": "limits", "entry_into_force": "2025-01-01T00:00:00",
            "timezone": "UTC", "parties": [{"id": "RU", "name": "R"}, {"id": "UA", "name": "U"}],
            "provisions": [{"id": "L1", "clause": "the limit", "obligated": ["RU"],
                            "rule": {"kind": "quantitative_limit", **rule}}], **top}


def _fig(oid: str, as_of: str, qty: float, kind: str = "declaration", party: str = "RU",
         category: str = "troops", **kw: Any) -> dict[str, Any]:
    src = {"declaration": ("party", party), "inspection": ("inspection_team", "team-1")}[kind]
    return {"id": oid, "kind": kind, "time": f"{as_of}T12:00:00Z", "source_type": src[0],
            "source_id": src[1], "party": party, "category": category, "quantity": qty,
            "as_of": as_of, **kw}


def _check(doc: dict[str, Any], records: list[dict[str, Any]]) -> list[Finding]:
    obs = [parse_observation(r) for r in records]
    return check(parse_agreement(doc), None, gather(None, obs))


def _only(findings: list[Finding], **match: Any) -> Finding:
    (f,) = [f for f in findings if all(getattr(f, k) == v for k, v in match.items())]
    return f


TROOPS = {"category": "troops", "limit": 600_000, "unit": "troops", "tolerance": 0.03}


# -- declarations against inspections -------------------------------------------------------

def test_declared_590000_inspected_650000_is_a_discrepancy_and_a_violation() -> None:
    findings = _check(_agreement(TROOPS), [
        _fig("d-1", "2025-06-01", 590_000), _fig("i-1", "2025-06-01", 650_000, "inspection")])
    share = (650_000 - 590_000) / 590_000  # relative to the declared figure: 10.2 %
    disc = _only(findings, evidence=("d-1", "i-1"), verdict=Verdict.INSUFFICIENT_EVIDENCE)
    assert (f"declared 590,000, inspected 650,000 on 2025-06-01 (i-1): discrepancy "
            f"{100 * share:.0f} % of the declared figure, above the 3 % tolerance"
            in disc.explanation)
    assert disc.details["discrepancy"]["share"] == pytest.approx(share)
    assert disc.details["discrepancy"]["relative_to"] == "declared"
    v = _only(findings, verdict=Verdict.VIOLATION)
    assert (v.party, v.evidence) == ("RU", ("d-1", "i-1"))
    assert "inspection_over_declaration" in v.explanation
    assert "650,000 troops is over the limit of 600,000" in v.explanation
    assert not [f for f in findings if f.verdict is Verdict.COMPLIANT]


def test_evidence_rules_decide_on_the_figure_the_provision_names() -> None:
    recs = [_fig("d-1", "2025-06-01", 620_000), _fig("i-1", "2025-06-03", 590_000, "inspection")]
    rule = {**TROOPS, "match_days": 7}
    # the inspection outweighs the declaration: 590,000 is under 600,000
    by_insp = _check(_agreement(rule), recs)
    ok = _only(by_insp, evidence=("d-1", "i-1"), verdict=Verdict.COMPLIANT)
    assert "590,000 troops is at or under the limit of 600,000" in ok.explanation
    assert _only(by_insp, verdict=Verdict.INSUFFICIENT_EVIDENCE).details["discrepancy"]
    # the highest figure: the declaration's own 620,000 is over
    by_max = _check(_agreement({**rule, "evidence_rule": "max_of"}), recs)
    v = _only(by_max, verdict=Verdict.VIOLATION)
    assert "highest figure (evidence rule max_of): 620,000 troops is over" in v.explanation


def test_within_tolerance_and_outside_the_matching_window() -> None:
    close = _check(_agreement(TROOPS), [
        _fig("d-1", "2025-06-01", 590_000), _fig("i-1", "2025-06-01", 600_000, "inspection")])
    assert [f.verdict for f in close] == [Verdict.COMPLIANT]  # 1.7 % < 3 %: no discrepancy
    apart = _check(_agreement({**TROOPS, "match_days": 7}), [
        _fig("d-1", "2025-06-01", 590_000), _fig("i-1", "2025-06-10", 650_000, "inspection")])
    assert _only(apart, evidence=("d-1",)).verdict is Verdict.COMPLIANT
    v = _only(apart, evidence=("i-1",))
    assert v.verdict is Verdict.VIOLATION and "inspected 650,000 troops" in v.explanation
    assert not [f for f in apart if "discrepancy" in f.details]


# -- baseline-relative and phased limits ----------------------------------------------------

HALVED = {"category": "troops", "unit": "troops", "share": 0.5,
          "baseline": {"as_of": "2025-01-01"}}


def test_half_of_the_declared_baseline() -> None:
    recs = [_fig("base", "2025-01-01", 1_320_000), _fig("d-26", "2026-01-01", 700_000)]
    v = _only(_check(_agreement(HALVED), recs), evidence=("d-26", "base"))
    assert v.verdict is Verdict.VIOLATION  # 700,000 > 660,000
    assert "the limit of 660,000 troops (50 % of RU's baseline 1,320,000" in v.explanation
    assert "declared as of 2025-01-01 (base)" in v.explanation
    ok = _only(_check(_agreement(HALVED), [*recs[:1], _fig("d-26", "2026-01-01", 650_000)]),
               evidence=("d-26", "base"))
    assert ok.verdict is Verdict.COMPLIANT


def test_a_baseline_given_with_its_source_and_a_missing_one() -> None:
    given = {**HALVED, "baseline": {"as_of": "2025-01-01", "values": {"RU": 1_000_000},
                                    "source": "annex 1"}}
    v = _only(_check(_agreement(given), [_fig("d-26", "2026-01-01", 600_000)]),
              evidence=("d-26",))
    assert v.verdict is Verdict.VIOLATION and "as of 2025-01-01 (annex 1)" in v.explanation
    none = _only(_check(_agreement(HALVED), [_fig("d-26", "2026-01-01", 10)]),
                 evidence=("d-26",))
    assert none.verdict is Verdict.INSUFFICIENT_EVIDENCE
    assert ("no baseline for RU: the agreement gives none and RU's declaration of troops as "
            "of 2025-01-01 is not in the record") in none.explanation


def test_reduce_in_steps() -> None:
    rule = {"category": "tanks", "unit": "tanks", "steps": [
        {"by": "2026-01-01", "limit": 3000}, {"by": "2027-01-01", "limit": 2000}]}
    recs = [_fig(f"d-{y}", f"{y}-06-01", 2500, category="tanks") for y in (2025, 2026, 2027)]
    findings = _check(_agreement(rule), recs)
    assert not [f for f in findings if f.evidence == ("d-2025",)]  # no step in force yet
    assert _only(findings, evidence=("d-2026",)).verdict is Verdict.COMPLIANT
    late = _only(findings, evidence=("d-2027",))
    assert late.verdict is Verdict.VIOLATION
    assert "the limit of 2,000 tanks, the step from 2027-01-01" in late.explanation


@settings(max_examples=60, deadline=None)
@given(declared=st.integers(0, 2_000_000), inspected=st.integers(0, 2_000_000),
       rule=st.sampled_from(["inspection_over_declaration", "max_of"]))
def test_never_compliant_while_an_inspection_shows_a_violation(declared: int, inspected: int,
                                                               rule: str) -> None:
    findings = _check(_agreement({**TROOPS, "evidence_rule": rule}), [
        _fig("d", "2025-06-01", declared), _fig("i", "2025-06-01", inspected, "inspection")])
    (v,) = [f for f in findings if "discrepancy" not in f.details]
    over = inspected > 600_000 if rule == "inspection_over_declaration" \
        else max(declared, inspected) > 600_000
    assert v.verdict is (Verdict.VIOLATION if over else Verdict.COMPLIANT)
    flagged = [f for f in findings if "discrepancy" in f.details]
    gap = abs(inspected - declared)
    if declared and abs(gap - 0.03 * declared) < 1e-6 * declared:
        return  # on the tolerance itself float rounding decides; not what this property is about
    assert len(flagged) == int(gap > 0.03 * declared if declared else gap > 0)


@given(amount=st.floats(1.0, 1e13), a=st.integers(2018, 2024), b=st.integers(2018, 2024))
def test_deflating_there_and_back_gives_the_amount(amount: float, a: int, b: int) -> None:
    there = to_constant(amount, "USD", a, "USD", b).value
    assert there is not None
    back = to_constant(there, "USD", b, "USD", a).value
    assert back == pytest.approx(amount, rel=1e-12)


# -- spending in constant prices -------------------------------------------------------------

#: FRED series GDPDEF (BEA NIPA Table 1.1.9, US GDP implicit price deflator, 2017 = 100),
#: quarterly, vintage ending 2024Q4; the package's table holds their annual means.
GDPDEF = {2021: (107.590, 109.256, 110.897, 112.826), 2024: (124.163, 124.943, 125.532, 126.219)}
SPENDING = {"category": "military_spending", "unit": "", "share": 0.5, "currency": "USD",
            "price_year": 2021, "baseline": {"as_of": "2021-01-01"}}


def _spent(oid: str, year: int, amount: float, **kw: Any) -> dict[str, Any]:
    return _fig(oid, f"{year}-01-01", amount, category="military_spending", **kw)


def test_halving_spending_in_constant_prices() -> None:
    d21, d24 = (sum(GDPDEF[y]) / 4 for y in (2021, 2024))
    recs = [_spent("b-21", 2021, 100e9, currency="USD"),
            _spent("s-24", 2024, 55e9, currency="USD")]  # current 2024 prices
    doc = _agreement(SPENDING, entry_into_force="2021-01-01T00:00:00")
    f = _only(_check(doc, recs), evidence=("s-24", "b-21"))
    real = 55e9 * d21 / d24  # 48.4 bn at 2021 prices: under half of 100 bn
    assert real < 50e9 < 55e9
    assert f.verdict is Verdict.COMPLIANT
    assert f.details["quantity"] == pytest.approx(real)
    assert f"= {real:,.0f} at 2021 prices" in f.explanation
    assert "US GDP implicit price deflator (BEA via FRED GDPDEF, 2017=100)" in f.explanation
    over = _only(_check(doc, [recs[0], _spent("s-24", 2024, 60e9, currency="USD")]),
                 evidence=("s-24", "b-21"))
    assert over.verdict is Verdict.VIOLATION  # 52.8 bn at 2021 prices


@pytest.mark.parametrize(("kw", "why"), [
    ({"currency": "RUB"}, "the figure is in RUB and the limit in USD; no exchange rate"),
    ({"currency": "USD", "price_year": 2031}, "no USD deflator for 2031 in the deflator table"),
    ({}, "the figure states no currency"),
])
def test_spending_that_cannot_be_deflated_is_insufficient(kw: dict[str, Any], why: str) -> None:
    doc = _agreement(SPENDING, entry_into_force="2021-01-01T00:00:00")
    recs = [_spent("b-21", 2021, 100e9, currency="USD"), _spent("s-24", 2024, 1e9, **kw)]
    f = _only(_check(doc, recs), evidence=("s-24", "b-21"))
    assert f.verdict is Verdict.INSUFFICIENT_EVIDENCE and why in f.explanation


def test_a_spending_discrepancy_is_stated_in_the_limit_s_terms() -> None:
    d21, d24 = (sum(GDPDEF[y]) / 4 for y in (2021, 2024))
    doc = _agreement({**SPENDING, "tolerance": 0.05}, entry_into_force="2021-01-01T00:00:00")
    recs = [_spent("b-21", 2021, 100e9, currency="USD"),
            _spent("s-24", 2024, 40e9, currency="USD"),
            _fig("e-24", "2024-01-01", 60e9, "inspection", category="military_spending",
                 currency="USD", source_type="open_source", source_id="sipri")]
    findings = _check(doc, recs)
    disc = _only(findings, evidence=("s-24", "e-24"))
    want = (60e9 - 40e9) / 40e9  # the same deflator on both: the share is the nominal one
    assert disc.details["discrepancy"]["share"] == pytest.approx(want)
    assert (f"RU declared {40e9 * d21 / d24:,.0f}, estimated (third party) "
            f"{60e9 * d21 / d24:,.0f} on 2024-01-01 (e-24) (USD at 2021 prices): discrepancy "
            f"{100 * want:.0f} % of the declared figure, above the 5 % tolerance"
            in disc.explanation)
    v = _only(findings, evidence=("s-24", "e-24", "b-21"))
    assert v.verdict is Verdict.VIOLATION  # the estimate, 52.8 bn at 2021 prices, over 50 bn


# -- lapse, extension, suspension (New START) ------------------------------------------------

def _new_start_doc() -> dict[str, Any]:
    return copy.deepcopy(load_agreement_file("new_start")[1])


def test_new_start_extension_and_lapse() -> None:
    doc = _new_start_doc()
    ag = parse_agreement(doc)
    assert {ag.window(p)[1].date() for p in ag.provisions} == {date(2026, 2, 5)}
    del doc["extensions"]  # without the 2021 extension it would have lapsed after ten years
    assert {parse_agreement(doc).window(p)[1].date() for p in ag.provisions} == {date(2021, 2, 5)}


def test_new_start_suspension_is_reported_and_nothing_is_judged_after_the_lapse() -> None:
    recs = [_fig("rus-2024", "2024-03-01", 1600, party="RUS", category="warheads_on_deployed"),
            _fig("usa-2024", "2024-03-01", 1600, party="USA", category="warheads_on_deployed"),
            _fig("rus-2022", "2022-09-01", 1400, party="RUS", category="warheads_on_deployed"),
            _fig("rus-2026", "2026-03-01", 1700, party="RUS", category="warheads_on_deployed")]
    findings = [f for f in _check(_new_start_doc(), recs) if f.provision_id == "NS-II-1b"]
    status = _only(findings, party="RUS", evidence=(), time="2023-02-21T00:00:00Z")
    assert status.explanation.startswith(
        "NS-II-1b: suspended by RUS since 2023-02-21 (President Putin's address to the Federal "
        "Assembly, 21 February 2023")
    assert "contested by USA" in status.explanation
    # before the suspension Russia's figure is judged; after it, only reported
    assert _only(findings, evidence=("rus-2022",), party="RUS").verdict is Verdict.COMPLIANT
    rus = _only(findings, evidence=("rus-2024",), party="RUS")
    assert rus.verdict is Verdict.INSUFFICIENT_EVIDENCE
    assert "over the limit of 1,550 warheads; not judged violation: RUS declared a suspension" \
        in rus.explanation
    # the suspension is Russia's: the United States is still judged
    assert _only(findings, evidence=("usa-2024",), party="USA").verdict is Verdict.VIOLATION
    # after the lapse nothing at all, and the lapse is said once per provision
    assert not [f for f in findings if "rus-2026" in f.evidence]
    lapse = _only(findings, time="2026-02-05T00:00:00Z")
    assert (lapse.party, lapse.verdict, lapse.evidence) == (None, Verdict.INSUFFICIENT_EVIDENCE, ())
    assert lapse.explanation.startswith(
        "NS-II-1b: the agreement lapsed on 2026-02-05 (extended to then: Exchange of diplomatic "
        "notes of 3 February 2021")
    assert "1 records dated from then on give no finding" in lapse.explanation
    # Russia's missing exchanges after the suspension are reported with it, not dropped
    missing = [f for f in findings if f.party == "RUS" and "missing_declaration" in f.details
               and f.details["missing_declaration"]["as_of"] >= "2023-03-01"]
    assert missing and all("RUS declared a suspension" in f.explanation
                           and f.verdict is Verdict.INSUFFICIENT_EVIDENCE for f in missing)


def test_a_suspension_notified_by_observation() -> None:
    """The same suspension, not in the document but notified as a record: reported with the
    record that notified it, and Russia's later figure is not judged."""
    doc = _new_start_doc()
    del doc["suspensions"]
    notice = {"id": "rus-notice", "kind": "suspension", "time": "2023-02-21T12:00:00+03:00",
              "source_id": "RUS", "source_type": "party", "party": "RUS",
              "description": "Federal Law of 28 February 2023 suspending the Treaty"}
    rus = _fig("rus-2024", "2024-03-01", 1600, party="RUS", category="warheads_on_deployed")
    findings = [f for f in _check(doc, [notice, rus]) if f.provision_id == "NS-II-1b"]
    status = _only(findings, party="RUS", evidence=(), time="2023-02-21T00:00:00Z")
    assert "suspended by RUS since 2023-02-21 (Federal Law of 28 February 2023 suspending the " \
        "Treaty (record rus-notice from RUS))" in status.explanation
    f = _only(findings, evidence=("rus-2024",), party="RUS")
    assert f.verdict is Verdict.INSUFFICIENT_EVIDENCE and "not judged violation" in f.explanation
    # a notice by a state that is no party suspends nothing
    other = {**notice, "party": "FRA"}
    f2 = _only([f for f in _check(doc, [other, rus]) if f.provision_id == "NS-II-1b"],
               evidence=("rus-2024",), party="RUS")
    assert f2.verdict is Verdict.VIOLATION


# -- bad documents and records name the field ------------------------------------------------

@pytest.mark.parametrize(("rule", "top", "field"), [
    ({"category": "x", "share": 0.5}, {}, "baseline"),
    ({"category": "x", "limit": 1, "currency": "USD"}, {}, "price_year"),
    ({"category": "x", "steps": [{"by": "2026-01-01"}]}, {}, "provisions[0].rule.steps[0]"),
    ({"category": "x", "share": 0.5, "baseline": {"as_of": "2025-01-01", "values": {"XX": 1},
                                                  "source": "s"}},
     {}, "provisions[0].rule.baseline.values"),
    ({"category": "x", "share": 0.5, "baseline": {"as_of": "2025-01-01", "values": {"RU": 1}}},
     {}, "provisions[0].rule.baseline.source"),
    ({"category": "x", "limit": 1},
     {"suspensions": [{"party": "XX", "since": "2025-01-01", "source": "s"}]}, "suspensions[0]"),
    ({"category": "x", "limit": 1},
     {"extensions": [{"until": "2030-01-01", "source": "s", "provisions": ["nope"]}]},
     "extensions[0].provisions"),
])
def test_bad_limit_documents_name_the_field(rule: dict, top: dict, field: str) -> None:
    with pytest.raises(AgreementError) as e:
        parse_agreement(_agreement(rule, **top))
    assert field in e.value.field


def test_a_suspension_record_names_who_suspends() -> None:
    with pytest.raises(ObservationError) as e:
        parse_observation({"id": "n", "kind": "suspension", "time": "2023-02-21T12:00:00Z",
                           "source_id": "RUS", "description": "notice"})
    assert e.value.field == "party" and "who suspends" in e.value.message


def test_a_bad_currency_names_the_field() -> None:
    with pytest.raises(ObservationError) as e:
        parse_observation(_spent("s", 2024, 1.0, currency="usd"))
    assert e.value.field == "currency" and "ISO 4217" in e.value.message
