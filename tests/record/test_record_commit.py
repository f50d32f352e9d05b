"""Committed entries (core/record/commit.py): what the log shows, and openings that must match.

Every opening is checked against the commitment in the entry: a changed salt, a changed value,
an opening moved to another field or to another entry type, all fail; a body with some fields
committed and others in clear is not an entry the log could have made.
"""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from truceline.core.record.canonical import canonical_bytes, entry_bytes, parse_entry
from truceline.core.record.commit import (
    CLEAR,
    commit_body,
    commit_entry,
    commitment,
    committed_fields,
    is_commitment,
    is_committed,
    open_body,
)
from truceline.errors import IntegrityError

OBS = {
    "id": "m-1",
    "kind": "fire",
    "time": "2025-03-28T02:00:00Z",
    "source_id": "smm-post-1",
    "source_type": "monitor",
    "lon": 37.81234,
    "lat": 48.12345,
    "observer_lon": 37.8,
    "observer_lat": 48.1,
    "bearing_deg": 91.5,
    "description": "two rounds, 48.12N 37.81E",
}


def salts() -> itertools.count[int]:
    return itertools.count(1)


def _salt_from(counter: itertools.count[int]) -> bytes:
    return next(counter).to_bytes(32, "big")


def committed_obs() -> tuple[dict, dict]:
    c = salts()
    return commit_body("observation", OBS, lambda: _salt_from(c))


def test_the_committed_form_keeps_only_the_clear_fields() -> None:
    body, openings = committed_obs()
    text = json.dumps(body)
    for secret in ("smm-post-1", "37.81234", "48.12345", "two rounds", "m-1"):
        assert secret not in text
    assert {k for k, v in body.items() if not is_commitment(v)} == {"kind", "time", "source_type"}
    assert set(openings) == set(committed_fields("observation", OBS))
    assert is_committed("observation", body) and not is_committed("observation", OBS)


def test_every_opening_reconstructs_the_entry() -> None:
    body, openings = committed_obs()
    full, left = open_body("observation", body, openings)
    assert left == [] and entry_bytes("observation", full) == entry_bytes("observation", OBS)
    part, left = open_body("observation", body, {"id": openings["id"]})
    assert part["id"] == "m-1" and "source_id" in left and is_commitment(part["source_id"])


@pytest.mark.parametrize("change", ["salt", "value", "field", "type"])
def test_a_changed_opening_fails(change: str) -> None:
    body, openings = committed_obs()
    salt, value = openings["source_id"]
    if change == "salt":
        bad = {"source_id": (bytes([salt[0] ^ 1]) + salt[1:], value)}
    elif change == "value":
        bad = {"source_id": (salt, "smm-post-2")}
    elif change == "field":  # the opening of one field offered for another
        bad = {"lon": (salt, value)}
    else:
        bad = {}
        with pytest.raises(IntegrityError) as e:
            open_body("finding", body, {"source_id": (salt, value)})
        assert e.value.field == "source_id"
    if bad:
        with pytest.raises(IntegrityError) as e:
            open_body("observation", body, bad)
        assert e.value.field in bad


def test_an_opening_of_a_clear_field_is_refused() -> None:
    body, openings = committed_obs()
    with pytest.raises(IntegrityError) as e:
        open_body("observation", body, {"kind": openings["id"]})
    assert e.value.field == "kind"


def test_a_half_committed_body_is_no_entry() -> None:
    body, _ = committed_obs()
    body["lon"] = 37.81234
    with pytest.raises(IntegrityError) as e:
        is_committed("observation", body)
    assert e.value.field == "lon"


def test_commit_entry_is_canonical_and_idempotent() -> None:
    data = entry_bytes("observation", OBS)
    c = salts()
    committed, openings = commit_entry(data, lambda: _salt_from(c))
    assert parse_entry(committed)[0] == "observation"  # canonical, parses back
    assert (
        entry_bytes("observation", open_body("observation", parse_entry(committed)[1], openings)[0])
        == data
    )
    assert commit_entry(committed, lambda: _salt_from(c)) == (committed, {})
    agreement = entry_bytes("agreement_version", {"agreement_id": "a", "document_sha256": "0"})
    assert commit_entry(agreement, lambda: _salt_from(c)) == (agreement, {})
    assert CLEAR["agreement_version"] is None and CLEAR["incident"] is None


def test_a_new_entry_kind_commits_every_field_until_it_declares() -> None:
    assert "some_future_kind" not in CLEAR
    assert committed_fields("some_future_kind", {"a": 1, "b": 2}) == ["a", "b"]


def test_the_commitment_is_the_documented_hash() -> None:
    import hashlib

    salt = bytes(range(32))
    want = hashlib.sha256(
        b"truceline/commitment/v1\x00" + b'["observation","lon"]' + salt + canonical_bytes(37.5)
    ).hexdigest()
    assert commitment("observation", "lon", salt, 37.5) == want


@given(
    st.dictionaries(
        st.sampled_from(["id", "text", "party", "finding_id", "time"]),
        st.one_of(
            st.text(),
            st.integers(),
            st.floats(allow_nan=False, allow_infinity=False),
            st.none(),
            st.lists(st.text(), max_size=3),
        ),
        min_size=1,
    ),
    st.binary(min_size=32, max_size=32),
)
def test_open_after_commit_is_identity(body: dict, seed: bytes) -> None:
    c = itertools.count(int.from_bytes(seed, "big"))
    committed, openings = commit_body(
        "dispute", body, lambda: (next(c) % 2**256).to_bytes(32, "big")
    )
    full, left = open_body("dispute", committed, openings)
    assert left == [] and canonical_bytes(full) == canonical_bytes(body)


@given(
    st.dictionaries(
        st.text(min_size=1, max_size=6),
        st.one_of(
            st.text(),
            st.integers(),
            st.floats(allow_nan=False, allow_infinity=False),
            st.none(),
            st.booleans(),
            st.lists(st.one_of(st.text(), st.integers()), max_size=3),
            st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
        ),
        min_size=1,
    ),
    st.sampled_from(["observation", "dispute", "finding", "status_change"]),
    st.binary(min_size=32, max_size=32),
)
def test_commit_entry_equals_the_committed_body_encoded_whole(
    body: dict, entry_type: str, seed: bytes
) -> None:
    """commit_entry writes the committed entry item by item; it must be the very bytes of
    committing the body and encoding the whole entry canonically (same salts)."""
    try:
        data = entry_bytes(entry_type, body)
    except ValueError:  # e.g. a lone surrogate: no canonical form, nothing to commit
        return
    c1, c2 = itertools.count(int.from_bytes(seed, "big")), itertools.count(
        int.from_bytes(seed, "big"))
    committed, openings = commit_entry(data, lambda: (next(c1) % 2**256).to_bytes(32, "big"))
    if not openings:  # returned as it is (already committed in form, or nothing to commit)
        assert committed == data
        return
    want, want_openings = commit_body(entry_type, body,
                                      lambda: (next(c2) % 2**256).to_bytes(32, "big"))
    assert committed == entry_bytes(entry_type, want)
    assert set(openings) == set(want_openings)
