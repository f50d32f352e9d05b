"""Per-day statistics pooled causally: a day reads the days up to it, in the same floats
whatever the order its rows came in and whatever later days hold (docs/partitions.md,
blocker 5)."""

from __future__ import annotations

import numpy as np

from truceline.core.fusion.day_stats import by_day


def test_a_day_reads_the_days_up_to_it_whatever_came_later_or_in_what_order() -> None:
    rng = np.random.default_rng(3)
    day = rng.integers(10, 14, 400)
    cols = np.column_stack([rng.random(400) * 1e3, rng.integers(0, 2, 400)]).astype(float)
    week = by_day(day, cols)
    shuffled = rng.permutation(400)
    again = by_day(day[shuffled], cols[shuffled])
    early = by_day(day[day <= 11], cols[day <= 11])
    assert list(week.days) == [10, 11, 12, 13]
    pooled = week.pooled(np.array([9, 10, 11, 12, 13, 20]), 2)
    assert (pooled[0] == 0).all() and (pooled[-1] == pooled[-2]).all()
    np.testing.assert_allclose(pooled[3], cols[day <= 12].sum(axis=0))
    # bit for bit: the rows' order, and the days after 11, change nothing of day 11's
    assert (again.values == week.values).all()
    assert (early.pooled(np.array([11]), 2) == week.pooled(np.array([11]), 2)).all()


def test_a_day_kept_replaces_what_a_batch_sees_of_it_again() -> None:
    # a re-fused day's batch holds a quarter of an hour of the day before: the rows kept for
    # that day stand, the batch's part of it does not count
    cols = np.ones((5, 1))
    kept = by_day(np.array([1, 1, 1, 2, 2]), cols)
    batch = by_day(np.array([2, 3, 3]), np.ones((3, 1)))
    merged = batch.merged(kept.before(3))
    assert list(merged.days) == [1, 2, 3]
    assert merged.pooled(np.array([2, 3]), 1)[:, 0].tolist() == [5.0, 7.0]
    assert kept.before(2).days.tolist() == [1]
