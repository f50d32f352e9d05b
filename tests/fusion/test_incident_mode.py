"""An incident's fire type, explosion type and weapon class: the mode of its reports'."""

from __future__ import annotations

from collections import Counter

import numpy as np

from truceline.core.fusion.to_incidents import _iso, _isos, _modes


def _plain_mode(values):  # type: ignore[no-untyped-def]
    c = Counter(v for v in values if v is not None)
    return c.most_common(1)[0][0] if c else None


def _one(values):  # type: ignore[no-untyped-def]
    v = np.asarray(values, object)
    return _modes(v, np.zeros(len(v), np.int64), np.arange(len(v)), 1)[0]


def test_the_mode_is_the_plain_counters_answer_for_one_report_and_many():
    """One report's value is its own mode (None too); of many, the most common but None,
    the first seen of a tie: the same answer as counting them all, on random groups."""
    rng = np.random.default_rng(3)
    names = np.array(["tube_artillery", "mortar", "mlrs", None], object)
    for _ in range(500):
        n = int(rng.integers(1, 6))
        values = names[rng.integers(0, len(names), n)]
        assert _one(values) == _plain_mode(values)
    assert _one([None]) is None
    assert _one(["mortar", None, None]) == "mortar"
    assert _one(["mlrs", "mortar", "mortar", "mlrs"]) == "mlrs"


def test_every_sets_mode_at_once_is_each_sets_own():
    """Many sets at once (rows of a shared column, taken in any order, a set's rows in the
    order given, some sets empty): each set's mode is the one counting it alone gives."""
    rng = np.random.default_rng(5)
    names = np.array(["tube_artillery", "mortar", "mlrs", None], object)
    column = names[rng.integers(0, len(names), 400)]
    for _ in range(50):
        sizes = rng.integers(0, 7, 30)
        key = np.repeat(np.arange(30), sizes)
        rows = rng.permutation(len(column))[: len(key)]
        got = _modes(column, key, rows, 30)
        for k in range(30):
            assert got[k] == _plain_mode(column[rows[key == k]])


def test_the_times_at_once_are_each_ones_text():
    """Each group's time as text, in one call, is the one-by-one text (to the second, half
    microseconds rounded to even); a time that is not finite has none."""
    epoch = np.datetime64("2020-01-01T00:00:00", "us")
    s = np.array([0.0, 0.4999995, 59.9999996, 1e7 + 0.5, -3.7, 86_399.9999999, np.nan])
    got = _isos(epoch, s)
    assert got[:-1] == [_iso(epoch, float(v)) for v in s[:-1]]
    assert got[-1] is None
