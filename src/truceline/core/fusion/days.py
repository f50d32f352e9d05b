"""The days fusion's per-day rules count by: a time zone's days, from a local time of day.

A monitoring mission reports by its own day: the agreement's reporting period, 19:30 to
19:30 in its ``timezone`` by default (the OSCE's). When fusion's days (calibration, error
statistics, the wind, the day's weapon mix) and the incremental check's kept days are those,
a day of reports ingested midnight to midnight (local or UTC) adds to one kept day's body and
the next one's first hours (issue 21). UTC days split Kyiv's day at 21:00 or 22:00 UTC, and a
kept day whose first hour new reports reach is fused again with the day before it (its
incidents read that hour), so days that start where a day of reports starts are the worst
cut. A day is numbered by the date it starts on, counted from :data:`~.batch.TIME_ORIGIN`'s
(2020-01-01); with the start at midnight a zone's day ``k`` is its date ``k``, 23 or 25 hours
long where the clocks change. ``("UTC", 0)`` is computed as whole 86,400 s (the numbers fusion
always used).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

__all__ = ["DAY_S", "DAY_US", "TIME_ORIGIN_US", "UTC_DAYS", "Days", "day_of_s", "day_of_us",
           "day_start_us"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

_ORIGIN = date(2020, 1, 1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: :data:`~.batch.TIME_ORIGIN` (2020-01-01 UTC) in microseconds from the Unix epoch (stored
#: times' unit).
TIME_ORIGIN_US = (datetime.combine(_ORIGIN, time(0), UTC) - _EPOCH) // timedelta(microseconds=1)
#: A UTC day, in seconds and microseconds.
DAY_S = 86_400.0
DAY_US = int(DAY_S * 1e6)


@dataclass(frozen=True)
class Days:
    """Days of ``zone`` starting ``start_s`` seconds after its local midnight (the
    agreement's reporting period: ``services.check_days.reporting_days``)."""

    zone: str = "UTC"
    start_s: float = 0.0


#: UTC days from midnight: whole 86,400 s from :data:`TIME_ORIGIN_US`.
UTC_DAYS = Days()


@lru_cache(maxsize=65_536)
def _start(zone: str, start_s: float, day: int) -> int:
    """The first microsecond (from the Unix epoch) of day ``day``: ``start_s`` seconds after
    local midnight of its date in ``zone`` (a time the clocks skip: as the offset before)."""
    at = (datetime.min + timedelta(seconds=start_s)).time()
    local = datetime.combine(_ORIGIN + timedelta(days=day), at, ZoneInfo(zone))
    return (local - _EPOCH) // timedelta(microseconds=1)


def day_start_us(day: I64 | int, days: Days = UTC_DAYS) -> I64 | int:
    """The first microsecond (from the Unix epoch) of day ``day`` (or of each) of ``days``."""
    if days == UTC_DAYS:
        return TIME_ORIGIN_US + day * DAY_US
    if isinstance(day, (int, np.integer)):
        return _start(days.zone, days.start_s, int(day))
    return np.asarray([_start(days.zone, days.start_s, d) for d in np.asarray(day).tolist()],
                      np.int64)


def _candidates(utc_day: I64) -> I64:
    """The days a time of UTC day ``utc_day`` may fall in (an offset and a start each under
    a day: from two days before to the day after), sorted."""
    u = np.unique(utc_day)
    return np.unique(np.concatenate([u - 2, u - 1, u, u + 1]))


def day_of_us(time_us: NDArray[np.int64], days: Days = UTC_DAYS) -> I64:
    """The day of ``days`` (numbered by the date it starts on, from 2020-01-01) of each time
    in microseconds from the Unix epoch."""
    t = np.asarray(time_us, np.int64)
    utc = np.floor_divide(t - TIME_ORIGIN_US, DAY_US)
    if days == UTC_DAYS or not len(t):
        return utc
    can = _candidates(utc)
    starts = np.asarray([_start(days.zone, days.start_s, d) for d in can.tolist()], np.int64)
    return can[np.searchsorted(starts, t, "right") - 1]


def day_of_s(t: F64, days: Days = UTC_DAYS) -> I64:
    """:func:`day_of_us` of float seconds from :data:`~.batch.TIME_ORIGIN` (a batch's
    times). Each day's start is turned into seconds as the batch turns a report's whole
    microseconds (:func:`~.batch.batch_from_columns`), a monotone map, so a report falls in
    the day :func:`day_of_us` gives its stored time."""
    s = np.asarray(t, float)
    utc = np.floor(s / DAY_S).astype(np.int64)
    if days == UTC_DAYS or not len(s):
        return utc
    can = _candidates(utc)
    starts = (np.asarray([_start(days.zone, days.start_s, d) for d in can.tolist()], np.int64)
              - TIME_ORIGIN_US).astype(float) * 1e-6
    return can[np.searchsorted(starts, s, "right") - 1]
