"""Canonical entry bytes: one encoding per value, and only that encoding parses."""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from truceline.core.record.canonical import (
    ENTRY_TYPES,
    canonical_bytes,
    entry_bytes,
    parse_entry,
)
from truceline.errors import ValidationError


def test_known_bytes() -> None:
    body = {
        "b": [1, 2.5, None, True],
        "a": "Донецьк",
        "t": dt.datetime(2025, 3, 1, 17, 30, tzinfo=dt.UTC),
    }
    assert (
        entry_bytes("observation", body)
        == (
            '{"body":{"a":"Донецьк","b":[1,2.5,null,true],"t":"2025-03-01T17:30:00Z"},'
            '"type":"observation"}'
        ).encode()
    )


def test_times_are_utc_with_z() -> None:
    kyiv = ZoneInfo("Europe/Kyiv")
    t = dt.datetime(2025, 7, 1, 19, 30, 0, 250000, tzinfo=kyiv)  # EEST, UTC+3
    assert canonical_bytes(t) == b'"2025-07-01T16:30:00.25Z"'
    assert canonical_bytes(dt.date(2025, 7, 1)) == b'"2025-07-01"'
    with pytest.raises(ValidationError, match="time zone") as e:
        canonical_bytes({"at": dt.datetime(2025, 7, 1, 19, 30)})
    assert e.value.field == "$.at"


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_and_inf_rejected(bad: float) -> None:
    with pytest.raises(ValidationError) as e:
        entry_bytes("finding", {"x": [bad]})
    assert e.value.field == "$.body.x[0]"


@pytest.mark.parametrize(
    ("value", "want"),
    [
        (0.1, b"0.1"),
        (1e-7, b"1e-07"),
        (1e16, b"1e+16"),
        (2.0, b"2.0"),
        (-0.0, b"-0.0"),
        (10**30, b"1000000000000000000000000000000"),
        ('a"\\\n\u0001', b'"a\\"\\\\\\n\\u0001"'),
    ],
)
def test_scalars(value: object, want: bytes) -> None:
    assert canonical_bytes(value) == want


@pytest.mark.parametrize("bad", [b"x", {1, 2}, {1: "a"}, object(), "\ud800"])
def test_unrepresentable_values_rejected(bad: object) -> None:
    with pytest.raises(ValidationError):
        canonical_bytes(bad)


def test_unknown_type_rejected() -> None:
    with pytest.raises(ValidationError) as e:
        entry_bytes("rumour", {})
    assert e.value.field == "type"
    for known in ENTRY_TYPES:  # every declared type is accepted, only those
        assert entry_bytes(known, {}).startswith(b'{"body":{},"type":"')


@pytest.mark.parametrize(
    "data",
    [
        b'{"type":"dispute","body":{}}',  # keys not sorted
        b'{"body":{}, "type":"dispute"}',  # whitespace
        b'{"body":{"a":1,"a":1},"type":"dispute"}',  # duplicate key
        b'{"body":{"a":1.0e0},"type":"dispute"}',  # float not in shortest form
        b'{"body":{"a":NaN},"type":"dispute"}',
        b'{"body":{"a":1e400},"type":"dispute"}',
        b'{"body":{"a":"\\u0041"},"type":"dispute"}',  # needless escape
        b'{"body":{},"type":"rumour"}',
        b'{"body":[],"type":"dispute"}',
        b'{"body":{},"extra":1,"type":"dispute"}',
        b'{"body":{},"type":"dispute"}\n',
        b"\xff",
        b"[]",
    ],
)
def test_parse_rejects_non_canonical(data: bytes) -> None:
    with pytest.raises(ValidationError):
        parse_entry(data)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=5), kids, max_size=4)
    ),
    max_leaves=20,
)


@given(st.sampled_from(sorted(ENTRY_TYPES)), st.dictionaries(st.text(max_size=8), json_values))
def test_round_trip(entry_type: str, body: dict[str, object]) -> None:
    data = entry_bytes(entry_type, body)
    got_type, got_body = parse_entry(data)
    assert got_type == entry_type
    assert entry_bytes(got_type, got_body) == data
