"""An incident's fire type, explosion type and weapon class: the mode of its reports'."""

from __future__ import annotations

from collections import Counter

import numpy as np

from truceline.core.fusion.to_incidents import _mode


def _plain_mode(values):  # type: ignore[no-untyped-def]
    c = Counter(v for v in values if v is not None)
    return c.most_common(1)[0][0] if c else None


def test_the_mode_is_the_plain_counters_answer_for_one_report_and_many():
    """One report's value is its own mode (None too); of many, the most common but None,
    the first seen of a tie: the same answer as counting them all, on random groups."""
    rng = np.random.default_rng(3)
    names = np.array(["tube_artillery", "mortar", "mlrs", None], object)
    for _ in range(2_000):
        n = int(rng.integers(1, 6))
        values = names[rng.integers(0, len(names), n)]
        assert _mode(values) == _plain_mode(values)
    assert _mode(np.array([None], object)) is None
    assert _mode(np.array(["mortar", None, None], object)) == "mortar"
    assert _mode(np.array(["mlrs", "mortar", "mortar", "mlrs"], object)) == "mlrs"
