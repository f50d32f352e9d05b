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
