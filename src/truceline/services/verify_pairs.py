"""Stored rows against the record's entries, one rule for every table ``record verify`` pairs.

A row is checked against the body of the entry that records it: its ``record`` column must be
that body (canonical JSON), and its indexed columns those the store derives from the body.
Rows without an entry and entries without a row are named too. Used by
:mod:`truceline.services.verify_rows` (disputes and the columns of every table) and
:mod:`truceline.services.verify_guarantees` (notifications, acknowledgements).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from truceline.core.record.canonical import canonical_bytes
from truceline.errors import TrucelineError
from truceline.services.ports import Store

Issue = tuple[str, int | None, str]


def columns(store: Store, table: str, what: str, row: dict[str, Any],
            recorded: dict[str, Any], index: int | None) -> Iterator[Issue]:
    """The row's indexed columns against those the store derives from the recorded body."""
    try:
        want = store.derived_columns(table, recorded)
    except (KeyError, TypeError, ValueError, AttributeError):
        yield ("changed", index, f"{what}: the entry does not hold the row's columns")
        return
    for col, value in want.items():
        if row.get(col) != value:
            yield (
                "changed",
                index,
                f"{what}: column {col} is {row.get(col)!r}, the record says {value!r}",
            )


def pair_rows(store: Store, table: str, key: str,
              recorded: Mapping[str, tuple[int, dict[str, Any]]], what: str
              ) -> Iterator[tuple[Issue | None, dict[str, Any], int, dict[str, Any]]]:
    """Pair each row of ``table`` (by column ``key``) with its recorded ``(index, body)``:
    yields (issue, row, index, body) for each difference, (None, row, index, body) for each
    pair, and an issue for each row without an entry and each entry without a row."""
    seen: set[str] = set()
    for row in store.table_rows(table):
        rid = row[key]
        hit = recorded.get(rid)
        if hit is None or rid in seen:
            yield ("unrecorded", None, f"{what} {rid!r} has no entry"), row, -1, {}
            continue
        seen.add(rid)
        i, body = hit
        try:
            same = canonical_bytes(json.loads(row["record"])) == canonical_bytes(body)
        except (ValueError, TrucelineError):
            same = False
        if not same:
            yield ("changed", i, f"{what} {rid!r} differs from its entry"), row, i, body
        for issue in columns(store, table, f"{what} {rid!r}", row, body, i):
            yield issue, row, i, body
        yield None, row, i, body
    for rid, (i, _) in recorded.items():
        if rid not in seen:
            yield ("missing", i, f"{what} {rid!r} is in the record but not stored"), {}, i, {}
