"""What the batch measures of its own errors, kept per day and pooled causally.

The ellipses' scale (:mod:`.dispersion`) and the lone bearings' wild share and spread
(:mod:`.segment`) are estimated from the batch's own fits. Estimated over the whole batch, a
day fused alone measures them on its own fits and states other ellipses than its month
(docs/partitions.md, blocker 5). Here each estimate reads *sufficient statistics* kept per
day (the batch's zone's, the agreement's local days in a check: :meth:`~.batch.FireBatch.days`), and
day ``d`` reads them summed over the days ``<= d``: adding a later day changes no earlier one,
and a day fused again, given the earlier days' statistics as its ``prior_errors``, reads what
the run read. Each statistic is a sum (counts, and sums over a day's fits taken in a canonical
order), so the days' rows add exactly the same way in a day's batch and in the month's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from truceline.core.fusion.batch import FireBatch

__all__ = ["LAG_S", "DayStats", "ErrorStats", "by_day", "group_days"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: How long after a UTC midnight a group still reads the day before's estimates (the wind:
#: :mod:`.wind`; the lone bearings' wild share: :mod:`.segment`), as the day's first
#: ``halo_s`` is corrected by the days before (:mod:`.calibration_days`): an incident begun
#: before midnight and heard on after it then reads one day's estimates, its owner's, and
#: no day's incidents read the next day's (estimated from that whole day: a new day fused
#: again the two days before it, a change in a day's body the day before). Longer than an
#: incident's span (a shot's flight and sound: minutes); shorter than ``halo_s`` less a
#: group's, so that a day's estimates read its own reports and its halo alone.
LAG_S = 1800.0


@dataclass(frozen=True, eq=False)
class DayStats:
    """One row of summed statistics per day: ``days`` ascending, ``values`` ``(D, k)``."""

    days: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    values: F64 = field(default_factory=lambda: np.zeros((0, 0)))

    def merged(self, prior: DayStats | None) -> DayStats:
        """These rows with ``prior``'s in place of any day ``prior`` holds: a day already
        fused keeps what it measured then, not the part of it a batch's halo sees again."""
        if prior is None or not len(prior.days):
            return self
        if not len(self.days):
            return prior
        mine = ~np.isin(self.days, prior.days)
        days = np.concatenate([prior.days, self.days[mine]])
        values = np.concatenate([prior.values, self.values[mine]])
        order = np.argsort(days, kind="stable")
        return DayStats(days[order], values[order])

    def same(self, other: DayStats) -> bool:
        return bool(np.array_equal(self.days, other.days)
                    and np.array_equal(self.values, other.values, equal_nan=True))

    def before(self, day: int) -> DayStats:
        """The rows of the days before ``day``: what a re-fusion of ``day`` takes as prior."""
        m = self.days < day
        return DayStats(self.days[m], self.values[m])

    def pooled(self, days: I64, width: int) -> F64:
        """``(len(days), width)``: the rows summed over every day ``<=`` each of ``days``, in
        day order (zeros before the first)."""
        out = np.zeros((len(days), width))
        if not len(self.days):
            return out
        cum = np.cumsum(self.values, axis=0)  # sequential: the same sums for the same rows
        at = np.searchsorted(self.days, days, side="right") - 1
        out[at >= 0] = cum[at[at >= 0]]
        return out


@dataclass(frozen=True, eq=False)
class ErrorStats:
    """The statistics fusion measured per day: the redundant fits' (:mod:`.dispersion`) and
    the bearings' (:mod:`.segment`). A store keeps them per day, so that day ``d`` can be
    fused again with ``prior_errors = stats.before(d)``."""

    dispersion: DayStats = field(default_factory=DayStats)
    lone: DayStats = field(default_factory=DayStats)
    #: per calibration pass, each day's wind as the run last applied it (true east, north,
    #: sd in m/s; NaN: none estimated): what a day fused again reads of the days before it
    #: (:func:`.wind.estimate_wind`), for the groups in its first ``LAG_S``
    wind: tuple[DayStats, ...] = ()

    def before(self, day: int) -> ErrorStats:
        return ErrorStats(self.dispersion.before(day), self.lone.before(day),
                          tuple(w.before(day) for w in self.wind))

    def wind_of(self, k: int) -> DayStats | None:
        """The kept winds pass ``k`` reads (a run that stopped early: its last pass's)."""
        return self.wind[min(k, len(self.wind) - 1)] if self.wind else None

    def wind_moves(self) -> set[int]:
        """The passes whose kept winds differ from the pass before's: fused again though no
        correction moved (:func:`.calibration_days.fuse_daily`)."""
        return {k for k in range(1, len(self.wind)) if not self.wind[k].same(self.wind[k - 1])}


def passes(by_pass: dict[int, DayStats]) -> tuple[DayStats, ...]:
    """Each pass's rows from those of the passes fused (one not fused: the pass before's)."""
    return tuple(by_pass[max(j for j in by_pass if j <= k)] for k in range(max(by_pass) + 1))


def group_days(b: FireBatch, labels: I64, G: int, by_day: bool = True, lag_s: float = 0.0
               ) -> I64:
    """The day of each group's earliest report (the day that owns it: docs/partitions.md),
    or 0 for every group where the batch is pooled whole (``by_day`` off); ``lag_s``: of
    that report's time less it (:data:`LAG_S`: the day whose estimates the group reads)."""
    if not by_day or not G:
        return np.zeros(G, np.int64)
    first = np.full(G, np.inf)
    np.fmin.at(first, labels, b.t)  # fmin: a report without a time owns no day
    return b.days(np.where(np.isfinite(first), first - lag_s, 0.0))


def by_day(day: I64, columns: F64) -> DayStats:
    """Sum ``columns`` ``(n, k)`` over the rows of each day; each day's rows summed sorted
    (lexicographically by column), so the sums do not depend on the order groups came in."""
    if not len(day):
        return DayStats(np.zeros(0, np.int64), np.zeros((0, columns.shape[1])))
    keys = [columns[:, j] for j in range(columns.shape[1] - 1, -1, -1)]
    order = np.lexsort((*keys, day))
    day, columns = day[order], columns[order]
    days, start = np.unique(day, return_index=True)
    stop = np.r_[start[1:], len(day)]
    values = np.stack([columns[a:z].sum(axis=0) for a, z in zip(start, stop, strict=True)])
    return DayStats(days, values)
