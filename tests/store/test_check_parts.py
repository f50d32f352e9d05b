"""A full check by day parts (issue 21): fused, judged and written a day at a time, it
stores what the check of every day at once stores: the incidents and findings, byte for byte
in their rows' text, the same record entries in the same order, the same kept states, each
day's reports and tallies, and the next check after a new day ends alike; on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import pytest

from truceline.core.fusion.day_parts import day_parts
from truceline.core.record.canonical import parse_entry
from truceline.core.record.commit import open_body
from truceline.services.check import _parts, run_check
from truceline.services.check_parts import PART_DAYS, PARTS_FROM, parts_of
from truceline.services.check_read import store_input
from truceline.services.check_rules import RULES_META
from truceline.services.ports import FUSION_DAYS_META, Store
from truceline.services.sources import source_estimates

from .conftest import Backend
from .test_check_days import PER_DAY, _add, _days, _new, _rows


def _entries(store: Store) -> list[tuple[str, str]]:
    """Every entry's type and body with its committed fields opened (their salts aside)."""
    ops = store.openings()
    out = []
    for e in store.entries():
        t, body = parse_entry(e.data)
        opened = open_body(t, body, ops[e.index])[0] if e.index in ops else body
        out.append((t, json.dumps(opened, sort_keys=True)))
    return out


def _kept(store: Store) -> tuple[Any, ...]:
    rules = json.loads(store.get_meta(RULES_META) or "{}")
    return (store.fusion_days(), store.day_reports(), rules,
            store.get_meta(FUSION_DAYS_META))


def _same(a: Store, b: Store) -> None:
    inc_a, inc_b = _rows(a, "incidents"), _rows(b, "incidents")
    assert len(inc_a) > 100
    assert inc_a == inc_b
    fin_a, fin_b = _rows(a, "findings"), _rows(b, "findings")
    assert len(fin_a) > 10
    assert fin_a == fin_b
    assert source_estimates(a) == source_estimates(b)
    ka, kb = _kept(a), _kept(b)
    assert ka[0] == kb[0]
    assert ka[1] == kb[1]
    assert ka[2] == kb[2]
    assert ka == kb
    assert _entries(a) == _entries(b)


def test_day_parts_cover_every_day_with_reports_once() -> None:
    assert day_parts([3, 4, 9, 10, 11], 2) == [(3, 4), (9, 10), (11, 11)]
    assert day_parts([5], 3) == [(5, 5)]
    assert day_parts([], 3) == []
    with pytest.raises(ValueError):
        day_parts([1], 0)


@pytest.mark.slow
def test_a_check_by_day_parts_stores_what_a_check_of_every_day_at_once_does(
        backend: Backend, second: Backend) -> None:
    days = _days()
    rows = [r for d in days[:-1] for r in d]
    parts, whole = _new(backend), _new(second)
    for store in (parts, whole):
        _add(store, rows)
    by_parts = run_check(parts, PER_DAY, part_days=1)
    at_once = run_check(whole, PER_DAY, part_days=0)
    assert not by_parts.complete and at_once.complete
    assert by_parts.incidents == at_once.incidents
    assert by_parts.new_entries == at_once.new_entries
    assert by_parts.stored == at_once.stored
    _same(parts, whole)
    # the next check builds on what each kept: a new day fuses again alike
    for store in (parts, whole):
        _add(store, days[-1])
        run_check(store, PER_DAY, part_days=1)
    _same(parts, whole)


def test_a_full_check_runs_a_day_at_a_time_by_default_only_where_the_store_is_large(
        backend: Backend) -> None:
    store = _new(backend)
    _add(store, [r for d in _days() for r in d])
    inp = store_input(store)
    n = len(inp.fire["id"])
    assert 1_000 < n < PARTS_FROM  # this store is small: all at once
    assert _parts(inp, PER_DAY, None) is None
    parted = _parts(inp, PER_DAY, None, large=n)  # as large as the bar: a day at a time
    assert parted is not None and PART_DAYS == 1
    assert all(s == e for s, e in parted.parts) and len(parted.parts) >= 3
    assert _parts(inp, PER_DAY, 0, large=n) is None  # asked all at once
    assert _parts(inp, PER_DAY, 2, large=n) == parts_of(inp, PER_DAY, 2)
