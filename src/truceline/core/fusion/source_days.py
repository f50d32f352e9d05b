"""What each day contributes to the per-source estimates that are not pooled from the
calibration samples: bearing reports counted, and each timed report's clock delay.

The per-source report (``truceline sources``, and the ``sources_sha256`` an ``incident``
entry commits to) is a function of every day's reports. Its bias, its error and the wild
share pool the calibration samples every day keeps (:class:`.calibration_days.Samples`); the
rest was counted over the batch fused, so a check that fused only the last days counted
them over those days alone, and a mirror rebuilt from the log (which fuses every day)
refused what it committed (issue 21, session 20). Kept per day here, a fusion combines the
days it is given (:attr:`.calibration_days.Prior.sources`) with the days it fuses, and a
fusion of every day combines them all the same way, so both give the same records, bit for
bit:

- ``bearings``: a source's reports with a bearing and an observer position, per the
  report's own day (a count: the days' counts sum to the batch's).
- ``delay``: one per report of a group the acoustic arrays timed (its report time less the
  emission time and the sound's travel: :func:`.calibration.timed_delays`), per the day of
  its group's first report (the day that owns the group, and fuses it whole). A source's
  clock offset is the median of its delays and its error from their MAD, which no per-day
  sum gives, so the delays themselves are kept (one number per timed report; the median
  reads them in value order, so the days' order does not matter), and ``timed`` is their
  count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from truceline.core.fusion.batch import FireBatch
from truceline.core.fusion.calibration import CalibrationParams, offsets_of, timed_delays
from truceline.core.fusion.locate import Fixes

__all__ = ["SourceDays", "contributions", "extended"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
_FIELDS = ("day", "source", "bearings", "t_day", "t_source", "delay")


@dataclass(frozen=True, eq=False)
class SourceDays:
    """Per (day, source): bearing reports (``day``, ``source``, ``bearings``); per timed
    report: its group's day, its source and its delay in seconds (``t_day``, ``t_source``,
    ``delay``). Sources are ids (text: the same in any batch)."""

    day: I64
    source: NDArray[Any]
    bearings: I64
    t_day: I64
    t_source: NDArray[Any]
    delay: F64

    @classmethod
    def empty(cls) -> SourceDays:
        return cls(
            np.zeros(0, np.int64),
            np.zeros(0, str),
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
            np.zeros(0, str),
            np.zeros(0),
        )

    def where(self, keep_day: Any) -> SourceDays:
        """The rows whose day passes ``keep_day`` (a function of a day array)."""
        a, t = keep_day(self.day), keep_day(self.t_day)
        return SourceDays(
            self.day[a],
            self.source[a],
            self.bearings[a],
            self.t_day[t],
            self.t_source[t],
            self.delay[t],
        )

    def before(self, day: int) -> SourceDays:
        """The days before ``day`` (what a fusion of ``day`` on is given)."""
        return self.where(lambda d: d < day)

    def of(self, day: int) -> SourceDays:
        return self.where(lambda d: d == day)

    def __add__(self, other: SourceDays) -> SourceDays:
        return SourceDays(*(np.concatenate([getattr(self, k), getattr(other, k)]) for k in _FIELDS))

    def ids(self) -> NDArray[Any]:
        """Every source named, sorted."""
        return np.unique(np.concatenate([self.source, self.t_source]).astype(str))

    def estimates(self, ids: NDArray[Any], p: CalibrationParams) -> tuple[I64, I64, F64, F64]:
        """Per source of ``ids`` (which holds every source named): bearing reports, timed
        reports, clock offset and its error, over every day held."""
        S = len(ids)
        bearings = np.zeros(S, np.int64)
        np.add.at(bearings, _index(ids, self.source), self.bearings)
        timed, offset, se = offsets_of(_index(ids, self.t_source), self.delay, S)
        return bearings, timed, offset, se


def _index(ids: NDArray[Any], names: NDArray[Any]) -> I64:
    """Each of ``names`` as its index in ``ids`` (which holds them all)."""
    ids = np.asarray(ids).astype(str)
    order = np.argsort(ids, kind="stable")
    at = np.searchsorted(ids[order], np.asarray(names).astype(str))
    return np.asarray(order[at], np.int64)


def extended(ids: NDArray[Any], more: NDArray[Any]) -> NDArray[Any]:
    """``ids`` as they are, then those of ``more`` not among them, sorted."""
    own = np.asarray(ids).astype(str)
    return np.concatenate([own, np.setdiff1d(np.asarray(more).astype(str), own)])


def contributions(
    b: FireBatch,
    labels: I64,
    fixes: Fixes,
    p: CalibrationParams,
    names: NDArray[Any],
    rday: I64,
    since: float,
) -> SourceDays:
    """What the days from ``since`` contribute in a fused batch (its sources named by
    ``names``, each report's day ``rday``): its reports' bearings counted per report
    day, its timed reports' delays per their group's day. A group whose first report is
    before ``since`` (the halo of the day before, which that day fuses whole) gives none."""
    has_brg = np.isfinite(b.brg) & np.isfinite(b.ox) & (rday >= since)
    S = len(names)
    key = rday[has_brg] * S + b.source[has_brg]
    keys, n = np.unique(key, return_counts=True)
    G = len(fixes.x)
    gday = np.full(G, np.iinfo(np.int64).max)
    np.minimum.at(gday, labels, rday)
    rows, delay = timed_delays(b, labels, fixes, p)
    tday = gday[labels[rows]]
    t = tday >= since
    names = np.asarray(names).astype(str)
    return SourceDays(
        keys // S, names[keys % S], n.astype(np.int64), tday[t], names[b.source[rows[t]]], delay[t]
    )
