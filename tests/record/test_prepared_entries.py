"""The check's fast encoding and committing give the very bytes of the straightforward path.

``canonical_bytes`` skips its copying walk for values made of JSON's own types;
``prepared_entry`` encodes a body field by field and keeps where each field lies;
``commit_prepared`` commits from those spans. Each is held here to the path it replaces:
``_prepare`` + the encoder, ``entry_bytes``, ``commit_entry`` (same salts, same openings),
on generated values and on the findings and incidents a real fusion makes, errors included.
"""

from __future__ import annotations

import itertools
import json
import math
from datetime import UTC, datetime
from enum import StrEnum
from importlib.resources import files
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from truceline.core.findings import Finding, Verdict
from truceline.core.fusion import fuse
from truceline.core.observations import Observation
from truceline.core.record.canonical import (
    _dump,
    _prepare,
    canonical_bytes,
    entry_bytes,
    prepared_entry,
)
from truceline.core.record.commit import (
    Salts,
    commit_entry,
    commit_prepared,
    commit_prepared_text,
    encode_committed,
    json_canonical,
    raw_openings_text,
)
from truceline.errors import ValidationError

scalars = (st.none() | st.booleans() | st.integers()
           | st.floats(allow_nan=False, allow_infinity=False) | st.text())
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)
bodies = st.dictionaries(st.text(max_size=8), json_values, max_size=8)


def _reference(v: Any) -> bytes:
    """What ``canonical_bytes`` did before its fast path."""
    return _dump(_prepare(v, "$"))


def _error(fn: Any, *args: Any) -> tuple[str, str | None]:
    with pytest.raises(ValidationError) as err:
        fn(*args)
    return str(err.value), err.value.field


class Colour(StrEnum):
    RED = "red"


@given(json_values)
@settings(max_examples=300)
def test_canonical_bytes_equal_the_full_walk(v: Any) -> None:
    assert canonical_bytes(v) == _reference(v)


def test_values_outside_json_still_take_the_walk() -> None:
    class Ratio(float):
        pass

    t = datetime(2025, 3, 28, 2, 0, 0, 250000, tzinfo=UTC)
    for v in [{"t": t}, [Colour.RED], {"r": Ratio(0.5)}, ({"a": (1, 2)},), {"k": Colour.RED}]:
        assert canonical_bytes(v) == _reference(v)
    for bad in [{"x": math.nan}, ["\ud800"], {1: "a"}, {"a": {2: 1}}, {"x": [math.inf]}]:
        assert _error(canonical_bytes, bad) == _error(_reference, bad)


@given(bodies)
@settings(max_examples=300)
def test_a_prepared_entry_is_the_entry_and_knows_its_fields(body: dict[str, Any]) -> None:
    p = prepared_entry("finding", body)
    assert bytes(p) == entry_bytes("finding", body)
    assert p.body == canonical_bytes(body)
    assert p.fields == [(k, canonical_bytes(body[k])) for k in sorted(body)]


def test_a_prepared_entry_refuses_what_entry_bytes_refuses() -> None:
    for t, body in [("finding", {"a": math.nan}), ("finding", {"\ud800": 1}),
                    ("finding", {1: "a"}), ("nonsense", {"a": 1}), ("finding", {"a": {3: 1}})]:
        assert _error(prepared_entry, t, body) == _error(entry_bytes, t, body)


def _salts() -> Any:
    c = itertools.count(1)
    return lambda: next(c).to_bytes(32, "big")


def _same_commit(t: str, body: dict[str, Any]) -> None:
    got, raw = commit_prepared(prepared_entry(t, body), _salts())
    want, ops = commit_entry(entry_bytes(t, body), _salts())
    assert got == want
    assert raw == [(k, s, json_canonical(v)) for k, (s, v) in sorted(ops.items())]


@given(bodies)
@settings(max_examples=200)
def test_commit_prepared_is_commit_entry(body: dict[str, Any]) -> None:
    for t in ("finding", "observation", "status_change", "incident", "notification"):
        _same_commit(t, body)


def test_commit_prepared_on_bodies_committed_already_or_badly_salted() -> None:
    c = {"c": "ab" * 32}
    for body in [{"id": c, "x": c}, {"id": c, "x": 1}, {"x": {"c": "not hex"}}]:
        _same_commit("finding", body)
    p = prepared_entry("finding", {"id": "f-1"})
    assert commit_prepared(p, lambda: b"short") == (bytes(p), [])
    assert commit_entry(bytes(p), lambda: b"short") == (bytes(p), {})


def _incidents_and_findings() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    text = files("truceline.examples").joinpath("march2025_sample.jsonl").read_text("utf-8")
    obs = [Observation.model_validate_json(line) for line in text.splitlines() if line]
    incidents = fuse(obs, None, ())
    findings = [Finding(f"f-{n}", "M25-ceasefire", "ceasefire", Verdict.VIOLATION, "RU",
                        i.evidence, "why", time=i.time, lon=1.5, lat=None, confidence=0.97,
                        incident_id=i.id, details=dict(i.details), coverage=None)
                for n, i in enumerate(incidents)]
    return [i.to_record() for i in incidents], [f.to_record() for f in findings]


def test_real_incidents_and_findings_encode_and_commit_the_same() -> None:
    incidents, findings = _incidents_and_findings()
    assert any(r["details"].get("ellipse") for r in incidents)  # nested details covered
    for rec in incidents:
        assert canonical_bytes(rec) == _reference(rec)
        assert canonical_bytes(rec).decode() == json.dumps(
            rec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)  # the row's text
    for rec in findings:
        assert bytes(prepared_entry("finding", rec)) == entry_bytes("finding", rec)
        _same_commit("finding", rec)


def _fixed_salts(n: int = 4096) -> Salts:
    """Salts that are known bytes (the same sequence for every instance)."""
    s = Salts()
    s.buf = b"".join(k.to_bytes(32, "big") for k in range(1, n + 1))
    return s


def test_salts_taken_at_once_are_the_salts_given_one_by_one() -> None:
    a, b = _fixed_salts(10), _fixed_salts(10)
    assert a.take(3) == b() + b() + b()  # the same stream either way
    assert a() == b() and a.take(2) == b() + b()
    live = Salts()
    got = live.take(300)  # past the buffer: the rest by single calls, fresh
    assert len(got) == 300 * 32 and live.take(1) != got[-32:]


@given(bodies)
@settings(max_examples=200)
def test_commit_prepared_text_is_commit_prepared_and_its_openings(body: dict[str, Any]) -> None:
    for t in ("finding", "observation", "status_change", "incident", "notification"):
        p = prepared_entry(t, body)
        want, raw = commit_prepared(p, _fixed_salts())
        assert commit_prepared_text(p, _fixed_salts()) == (
            want, raw_openings_text(raw) if raw else None)


def test_commit_prepared_text_on_observations_and_bodies_committed_already() -> None:
    text = files("truceline.examples").joinpath("march2025_sample.jsonl").read_text("utf-8")
    c = {"c": "ab" * 32}
    bodies_ = [Observation.model_validate_json(x).to_record() for x in text.splitlines() if x]
    for body in [*bodies_, {"id": c, "x": c}, {"id": c, "kind": "fire"}, {"kind": "fire"}]:
        p = prepared_entry("observation", body)
        want, raw = commit_prepared(p, _fixed_salts())
        got = commit_prepared_text(p, _fixed_salts())
        assert got == (want, raw_openings_text(raw) if raw else None)
        # and the path it replaced in ingest: commit_entry of the entry's bytes
        old, _ = commit_entry(entry_bytes("observation", body), _fixed_salts())
        assert got[0] == old


def test_commit_prepared_text_where_a_commitment_s_head_lies_inside_a_field() -> None:
    """The head of a commitment inside a value (a list or object holding one), not at a
    field's start, leaves the field to be committed as any other; at its start, the field
    takes commit_prepared's own path. Either way the bytes and openings of
    commit_prepared."""
    c = {"c": "ab" * 32}
    inside: list[dict[str, Any]] = [{"id": "f-1", "held": [c]}, {"id": "f-1", "held": {"a": c}},
                                    {"id": "f-1", "note": '{"c":"'}]
    for body in [*inside, {"id": "f-1", "held": [c], "x": c}]:
        for t in ("finding", "notification"):
            p = prepared_entry(t, body)
            want, raw = commit_prepared(p, _fixed_salts())
            got = commit_prepared_text(p, _fixed_salts())
            assert got == (want, raw_openings_text(raw) if raw else None)
            if body in inside:  # every field committed, the value inside as it was
                assert [k for k, _, _ in raw] == sorted(body)
                assert got[1] is not None
                assert json.loads(got[1])["held" if "held" in body else "note"][1] == \
                    body.get("held", body.get("note"))


def _encoded_by_the_calls(t: str, body: dict[str, Any], omit: str | None) -> tuple[Any, ...]:
    p = prepared_entry(t, body)
    committed, ops = commit_prepared_text(p, _fixed_salts())
    without = (canonical_bytes({k: v for k, v in body.items() if k != omit})
               if omit is not None and omit in body else p.body)
    return p.body, committed, ops, without


@given(bodies, st.sampled_from([None, "", "signature", "id"]))
@settings(max_examples=300)
def test_encode_committed_is_prepared_entry_and_commit_prepared_text(
        body: dict[str, Any], omit: str | None) -> None:
    """One pass gives the bytes, openings and salts of the two calls it replaces in ingest."""
    for t in ("finding", "observation", "status_change", "incident", "dispute"):
        want = _encoded_by_the_calls(t, body, omit)
        salts = _fixed_salts()
        assert tuple(encode_committed(t, body, salts, omit)) == want
        assert salts() == _fixed_salts().take(len(committed_fields_of(t, body)) + 1)[-32:]


def committed_fields_of(t: str, body: dict[str, Any]) -> list[str]:
    """The fields ``commit_prepared_text`` takes a salt for (none for a type in clear, or
    when it falls back to parsing a body committed already: then it takes them itself)."""
    from truceline.core.record.commit import CLEAR

    clear = CLEAR.get(t, frozenset())
    return [] if clear is None else [k for k in body if k not in clear]


def test_encode_committed_on_signed_observations_and_odd_bodies() -> None:
    from truceline.core.record.note import Signer
    from truceline.services.submissions import message_of, sign_observation

    text = files("truceline.examples").joinpath("march2025_sample.jsonl").read_text("utf-8")
    signer = Signer("post-1", bytes([7]) * 32)
    obs = [Observation.model_validate_json(x) for x in text.splitlines() if x]
    c = {"c": "ab" * 32}
    records = [*(o.to_record() for o in obs),
               *(sign_observation(o, signer).to_record() for o in obs[:50])]
    for body in [*records, {"id": c, "x": c}, {"id": c, "kind": "fire"}, {"kind": "fire"}, {},
                 {"id": "a\u2028\"b", "signature": None}, {"é": 1.5, "signature": "x"}]:
        got = encode_committed("observation", body, _fixed_salts(), "signature")
        assert tuple(got) == _encoded_by_the_calls("observation", body, "signature")
        if body.get("signature") is not None:  # the message its source signs
            assert got.without == message_of(body, got.body)
        # the committed form is commit_entry's, as for the path before commit_prepared_text
        assert got.committed == commit_entry(entry_bytes("observation", body), _fixed_salts())[0]


@pytest.mark.parametrize("body", [{"x": math.nan}, {"x": "\ud800"}, {1: "a"}, {"x": {2: 1}},
                                  {"x": [math.inf]}])
def test_encode_committed_fails_as_the_calls_it_replaces(body: dict[Any, Any]) -> None:
    assert _error(encode_committed, "observation", body, _fixed_salts()) == _error(
        prepared_entry, "observation", body)
    assert _error(encode_committed, "nonsense", {"x": 1}, _fixed_salts()) == _error(
        prepared_entry, "nonsense", {"x": 1})
