"""The coverage model's time: when each asset could observe, and the areas denied to it.

An asset observes during its *active* intervals (manned, switched on, on patrol there) minus
its *down* intervals (camera down, post unmanned, monitors restricted). A denied area removes
every asset's coverage of its cells while it is denied. Times are UTC nanoseconds in ``int64``
columns; an open end is ``int64`` max. The model and its queries are in
:mod:`truceline.core.coverage` (see ``docs/coverage.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from truceline.errors import ValidationError

__all__ = ["DeniedAreas", "Intervals", "available", "inputs_end_ns", "to_ns"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

_T_MIN = np.iinfo(np.int64).min
_T_MAX = np.iinfo(np.int64).max
_WRAP = 2**63


@dataclass(frozen=True)
class Intervals:
    """Time intervals ``[start_ns, end_ns)`` of asset rows (UTC nanoseconds; an open end is
    ``int64`` max)."""

    asset: I64
    start_ns: I64
    end_ns: I64

    @classmethod
    def of(cls, asset: Any, start_ns: Any, end_ns: Any) -> Intervals:
        a = np.asarray(asset, np.int64).reshape(-1)
        s = np.asarray(start_ns, np.int64).reshape(-1)
        e = np.asarray(end_ns, np.int64).reshape(-1)
        if not len(a) == len(s) == len(e):
            raise ValidationError("asset, start_ns and end_ns must have one length",
                                  field="intervals")
        return cls(a, s, e)

    @classmethod
    def empty(cls) -> Intervals:
        z = np.zeros(0, np.int64)
        return cls(z, z, z)

    def __len__(self) -> int:
        return len(self.asset)


@dataclass(frozen=True)
class DeniedAreas:
    """Areas the mission was denied: a disc (centre lon/lat, ``radius_m``) over a time."""

    lon: F64
    lat: F64
    radius_m: F64
    start_ns: I64
    end_ns: I64

    @classmethod
    def empty(cls) -> DeniedAreas:
        z = np.zeros(0)
        return cls(z, z, z, z.astype(np.int64), z.astype(np.int64))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_ns(t: datetime) -> int:
    """An aware datetime as UTC nanoseconds since the epoch: the value of a
    ``datetime64[ns]`` made from its UTC time (wrapped as ``int64`` past 2262, as numpy's
    is), by integer arithmetic rather than a numpy scalar per call (a month's 13k
    monitoring records: ~10x faster; one more day's check on the 907k month reads them all)."""
    if t.tzinfo is None:
        raise ValidationError("needs a timezone", field="time")
    if t.utcoffset() is None:  # a tzinfo that names no offset: read as numpy reads it
        return int(np.datetime64(t.astimezone(UTC).replace(tzinfo=None), "ns").astype(np.int64))
    d = t - _EPOCH
    ns = ((d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds) * 1_000
    return (ns + _WRAP) % (2 * _WRAP) - _WRAP


def available(n_assets: int, active: Intervals, down: Intervals) -> Intervals:
    """Per asset, its active intervals minus its down intervals, as disjoint pieces."""
    if not len(active):
        return Intervals.empty()
    for name, iv in (("active", active), ("down", down)):
        if len(iv) and (iv.asset.min() < 0 or iv.asset.max() >= n_assets):
            raise ValidationError("refers to an asset row that does not exist", field=name)
        if np.any(iv.end_ns <= iv.start_ns):
            raise ValidationError("every interval must end after it starts", field=name)
    a = np.concatenate([active.asset, active.asset, down.asset, down.asset])
    t = np.concatenate([active.start_ns, active.end_ns, down.start_ns, down.end_ns])
    na, nd = len(active), len(down)
    d_act = np.concatenate([np.ones(na), -np.ones(na), np.zeros(2 * nd)]).astype(np.int64)
    d_down = np.concatenate([np.zeros(2 * na), np.ones(nd), -np.ones(nd)]).astype(np.int64)
    order = np.lexsort((t, a))
    a, t, d_act, d_down = a[order], t[order], d_act[order], d_down[order]
    # every asset's counts return to zero after its last event, so one cumsum serves all
    on = (np.cumsum(d_act) > 0) & (np.cumsum(d_down) == 0)
    nxt = np.flatnonzero(on[:-1] & (a[1:] == a[:-1]) & (t[1:] > t[:-1]))
    if not len(nxt):
        return Intervals.empty()
    # merge touching pieces of one asset (e.g. manned 06-12 and 12-18)
    s, e, aa = t[nxt], t[nxt + 1], a[nxt]
    joined = np.concatenate([[False], (aa[1:] == aa[:-1]) & (s[1:] == e[:-1])])
    start_of = np.flatnonzero(~joined)
    end_of = np.concatenate([start_of[1:] - 1, [len(s) - 1]])
    return Intervals(aa[start_of], s[start_of], e[end_of])



def inputs_end_ns(avail: Intervals, denied: DeniedAreas) -> int | None:
    """The latest finite start or end of the intervals (None: no finite time at all)."""
    ends = np.concatenate([avail.end_ns, avail.start_ns, denied.end_ns, denied.start_ns])
    ends = ends[(ends != _T_MAX) & (ends != _T_MIN)]
    return int(ends.max()) if len(ends) else None
