"""Signed submissions in bulk: their canonical bytes, computed once. The policy (whose key
must sign what) is :func:`truceline.services.record.check_submissions`, the verification
:mod:`truceline.services.verifiers`; this is only the fast path under them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from truceline.core.record.canonical import canonical_bytes


def submission_messages(records: Sequence[dict[str, Any]]) -> list[tuple[bytes, bytes]]:
    """``(record bytes, submission message)`` of many ``Observation.to_record()`` dicts.

    Both are canonical bytes, each computed once: the record's (the body of its entry and
    the stored row), and the message a source signs (the same object without
    ``signature``), cut out of the record's bytes rather than serialised a second time.
    """
    return [_record_and_message(r) for r in records]


#: The canonical encoder's settings (``truceline.core.record.canonical``), built once.
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                            allow_nan=False)


def _record_and_message(rec: dict[str, Any]) -> tuple[bytes, bytes]:
    try:
        # For a record of JSON values with string keys (what to_record returns) the
        # canonical form is exactly this encoding (as in doc_bytes); anything else (NaN,
        # lone surrogates) takes the full canonical path, which names the problem.
        data = _ENCODER.encode(rec).encode("utf-8")
    except (TypeError, ValueError):
        data = canonical_bytes(rec)
    sig = rec.get("signature")
    if sig is None:
        return data, data
    # Removing one member from a canonical object removes its text and one comma: keys
    # are sorted and no member nests. A raw '"signature":' can only be that key (inside
    # a JSON string every '"' is escaped), so exactly one match is required; the slow
    # path below is there for anything unexpected.
    member = b'"signature":' + _ENCODER.encode(sig).encode("utf-8")
    if type(sig) is str and data.count(member) == 1:
        if member + b"," in data:
            return data, data.replace(member + b",", b"", 1)
        if b"," + member + b"}" in data:
            return data, data.replace(b"," + member + b"}", b"}", 1)
    return data, canonical_bytes({k: v for k, v in rec.items() if k != "signature"})
