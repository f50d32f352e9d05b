"""Records of incidents and findings are what ``dataclasses.asdict`` made, key order included."""

from __future__ import annotations

import json
from dataclasses import asdict
from importlib.resources import files

from truceline.core.findings import Finding, Verdict
from truceline.core.fusion import fuse
from truceline.core.incidents import singleton
from truceline.core.observations import Observation
from truceline.core.plain_records import plain


def _sample() -> list[Observation]:
    text = files("truceline.examples").joinpath("march2025_sample.jsonl").read_text("utf-8")
    return [Observation.model_validate_json(line) for line in text.splitlines() if line]


def _same(a: object, b: object) -> bool:
    return a == b and json.dumps(a) == json.dumps(b) and repr(a) == repr(b)


def test_fused_incidents_and_singletons_give_asdicts_records() -> None:
    obs = _sample()
    incidents = fuse(obs, None, ()) + [singleton(o) for o in obs if o.kind.value == "fire"]
    assert any(i.details.get("ellipse") for i in incidents)  # nested details are covered
    for inc in incidents:
        want = asdict(inc)
        want["evidence"] = list(inc.evidence)
        assert _same(inc.to_record(), want)
        assert _same(plain(inc), asdict(inc))
        rec = inc.to_record()  # a copy: changing it leaves the incident as it was
        if rec["details"]:
            rec["details"].clear()
            assert inc.details


def test_findings_give_asdicts_records() -> None:
    f = Finding("f-1", "M25-ceasefire", "ceasefire", Verdict.VIOLATION, "RU", ("o-1", "o-2"),
                "why", time="2025-03-28T02:00:00Z", lon=38.0, lat=48.1, confidence=0.97,
                details={"ellipse": {"a": 1.5, "b": [1, 2, (3, 4)]}, "n": None,
                         "ids": ("x", "y")}, coverage=None)
    want = asdict(f)
    want["verdict"], want["evidence"] = "violation", ["o-1", "o-2"]
    del want["coverage"]
    assert _same(f.to_record(), want)
    g = Finding("f-2", "M25-ceasefire", "ceasefire", Verdict.COMPLIANT, None, (), "x",
                coverage=0.5)
    assert _same(plain(g), asdict(g))
    assert g.to_record()["coverage"] == 0.5 and g.to_record()["verdict"] == "compliant"


def test_enum_members_and_known_dataclasses_take_the_fast_paths_to_asdicts_answer() -> None:
    """A dataclass type seen before and an enum member seen before (both remembered after
    the first) give what ``asdict`` and ``deepcopy`` give, every time."""
    f = Finding(id="f-1", provision_id="p1", rule_kind="ceasefire", verdict=Verdict.VIOLATION,
                party="west", evidence=("o-1",), explanation="x",
                details={"v": [Verdict.COMPLIANT, (1, 2)]})
    for _ in range(3):
        assert _same(plain(f), asdict(f))
        assert plain(Verdict.VIOLATION) is Verdict.VIOLATION
        assert plain({"v": Verdict.COMPLIANT})["v"] is Verdict.COMPLIANT


def test_a_record_view_encodes_as_the_record_and_shares_the_containers() -> None:
    """``to_record(copy=False)`` (what a check encodes) is the record, with the incident's
    and finding's own containers in place of copies; a dataclass in a container (none in
    fusion's records) leaves the view unencodable, so the check takes the copy's path."""
    from truceline.core.record.canonical import canonical_bytes, prepared_entry
    from truceline.errors import ValidationError
    from truceline.services.check_output import _finding_entry, incident_bytes

    obs = _sample()
    incidents = fuse(obs, None, ()) + [singleton(o) for o in obs if o.kind.value == "fire"]
    for inc in incidents:
        view = inc.to_record(copy=False)
        assert _same(view, inc.to_record())
        assert view["details"] is inc.details
        assert incident_bytes(inc) == canonical_bytes(inc.to_record())
    f = Finding("f-1", "M25-ceasefire", "ceasefire", Verdict.VIOLATION, "RU", ("o-1",), "why",
                details={"ellipse": {"a": 1.5, "b": [1, (3, 4)]}}, coverage=None)
    assert _same(f.to_record(copy=False), f.to_record())
    assert f.to_record(copy=False)["details"] is f.details
    held = Finding("f-2", "p", "ceasefire", Verdict.VIOLATION, None, (), "x",
                   details={"spot": [incidents[0].origin]})
    assert held.to_record(copy=False)["details"]["spot"][0] is incidents[0].origin
    try:
        prepared_entry("finding", held.to_record(copy=False))
        raise AssertionError("a dataclass has no canonical form")
    except ValidationError:
        pass
    assert bytes(_finding_entry(held)) == bytes(prepared_entry("finding", held.to_record()))


def test_a_finding_view_with_a_dataclass_for_a_field_views_it_as_plain_view_does() -> None:
    """The view's fast path (the finding's own fields) is only taken where no field holds a
    dataclass: one that does is viewed as a record, as ``plain_view`` gives it."""
    from truceline.core.incidents import Located
    from truceline.core.plain_records import plain_view

    spot = Located(30.5, 50.25, None)
    odd = Finding("f-3", "p", "ceasefire", Verdict.VIOLATION, None, ("o-1",), "x",
                  lon=spot)  # type: ignore[arg-type]
    view = odd.to_record(copy=False)
    assert view["lon"] == plain_view(spot) == {"lon": 30.5, "lat": 50.25, "cov_m2": None}
    assert _same(view, odd.to_record())
