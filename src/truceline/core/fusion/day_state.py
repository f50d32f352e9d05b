"""What a check keeps of each day's fusion (the agreement's local day: :mod:`.days`), so
that a later check fuses only new days.

With both per-day rules on (:mod:`.calibration_days`, :mod:`.day_stats`), a day's incidents
are a function of its reports, ``halo_s`` either side, and what the days before it
measured: their calibration samples (one set per pass) and their error statistics
(docs/partitions.md), and the winds it estimated (:mod:`.wind`: read by the next day's
first ``LAG_S``). The per-source report is of every day: a day also keeps what it adds
to it besides its samples (:mod:`.source_days`: bearings counted, timed reports' clock
delays). A :class:`DayState` holds that much of one day, and what a later check
needs to tell whether the day must be fused again and what to replace: the digests of the
day's counted fire reports (its first ``halo`` seconds apart: they are the day before's
halo) and the ids of the incidents the day owns (those whose first report is in it).

Encoded as an ``.npz`` of plain arrays (no pickles): a few KB a day, and a number per timed
report.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from truceline.core.fusion.calibration_days import SAMPLE_FIELDS, Prior, Samples
from truceline.core.fusion.day_stats import DayStats, ErrorStats
from truceline.core.fusion.days import DAY_US, UTC_DAYS, Days, day_of_us, day_start_us
from truceline.core.fusion.source_days import SourceDays

__all__ = ["DAY_US", "DayState", "day_of_us", "day_start_us", "prior_of", "report_digests"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class DayState:
    """One day's fusion as a check keeps it."""

    day: int
    #: each calibration pass's samples of this day (the run's last repeated where it stopped)
    passes: tuple[Samples, ...]
    #: this day's rows of the error statistics (None: the day had none)
    dispersion: F64 | None
    lone: F64 | None
    #: ids of the incidents this day owns
    incidents: tuple[str, ...]
    #: digests of the day's counted fire reports: those in its first ``halo`` seconds, the rest
    head: str
    body: str
    #: what the day adds to the per-source report besides its samples
    sources: SourceDays = field(default_factory=SourceDays.empty)
    #: its wind per pass (true east, north, sd; NaN: none), as the run last applied it
    wind: F64 = field(default_factory=lambda: np.zeros((0, 3)))

    def to_bytes(self) -> bytes:
        arrays: dict[str, NDArray[np.generic]] = {
            "day": np.asarray([self.day], np.int64),
            "passes": np.asarray([len(self.passes)], np.int64),
            "incidents": np.asarray(self.incidents, str),
            "digests": np.asarray([self.head, self.body], str),
        }
        for k, s in enumerate(self.passes):
            arrays[f"p{k}_source"] = _text(s.source)
            arrays[f"p{k}_group"] = s.group
            arrays[f"p{k}_total"] = s.total
            arrays[f"p{k}_var"] = s.var
            arrays[f"p{k}_applied"] = s.applied
            arrays[f"p{k}_partner"] = _text(s.partner)
        src = self.sources
        arrays.update({"s_source": _text(src.source), "s_bearings": src.bearings,
                       "t_source": _text(src.t_source), "t_delay": src.delay,
                       "wind": np.asarray(self.wind, float).reshape(-1, 3)})
        if self.dispersion is not None:
            arrays["dispersion"] = self.dispersion
        if self.lone is not None:
            arrays["lone"] = self.lone
        out = io.BytesIO()
        np.savez_compressed(out, **arrays)  # type: ignore[arg-type]
        return out.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> DayState:
        z = np.load(io.BytesIO(data), allow_pickle=False)
        day = int(z["day"][0])
        passes = []
        for k in range(int(z["passes"][0])):
            n = len(z[f"p{k}_group"])
            passes.append(Samples(z[f"p{k}_source"], np.full(n, day, np.int64),
                                  z[f"p{k}_group"], z[f"p{k}_total"], z[f"p{k}_var"],
                                  z[f"p{k}_applied"], z[f"p{k}_partner"]))
        head, body = (str(v) for v in z["digests"])
        n, t = len(z["s_bearings"]), len(z["t_delay"])
        sources = SourceDays(np.full(n, day, np.int64), z["s_source"], z["s_bearings"],
                             np.full(t, day, np.int64), z["t_source"], z["t_delay"])
        return cls(day, tuple(passes), z.get("dispersion"), z.get("lone"),
                   tuple(z["incidents"].tolist()), head, body, sources, z["wind"])


def _text(a: NDArray[np.generic]) -> NDArray[np.str_]:
    """Source ids as text as wide as the longest of them (not as the batch's widest): a
    day's state is the same bytes whichever batch fused it."""
    return np.asarray(np.asarray(a).astype(str).tolist(), str).reshape(-1)


def prior_of(states: Sequence[DayState], day: int, first: int
             ) -> tuple[Prior, ErrorStats]:
    """What a fusion of ``day`` on reads of the days before it: each pass's samples (a day
    that stopped early repeats its last, as the run that made it did), their other
    contributions to the per-source report and the error statistics' rows, in day order.
    ``first``: the run's first day, the earliest with counted reports (its own samples
    correct it: :class:`~.calibration_days.Prior`); not the earliest kept, as none is kept
    before ``day`` when a check fuses again from before the first day (its first hour was
    then corrected by no samples at all)."""
    earlier = sorted((s for s in states if s.day < day), key=lambda s: s.day)
    width = max((len(s.passes) for s in earlier), default=0)
    passes = []
    for k in range(width):  # each field joined once, not day by day (a month: 0.1 s)
        parts = [s.passes[min(k, len(s.passes) - 1)] for s in earlier if s.passes]
        passes.append(_joined(Samples, parts, SAMPLE_FIELDS))

    def rows(name: str) -> DayStats:
        have = [(s.day, getattr(s, name)) for s in earlier if getattr(s, name) is not None]
        if not have:
            return DayStats()
        return DayStats(np.asarray([d for d, _ in have], np.int64),
                        np.stack([v for _, v in have]))

    sources = _joined(SourceDays, [SourceDays.empty(), *(s.sources for s in earlier)],
                      _SOURCES)
    # each pass's winds of every earlier day (none estimated: NaN, and not estimated again)
    days = np.asarray([s.day for s in earlier], np.int64)
    winds = tuple(DayStats(days, np.stack([s.wind[min(k, len(s.wind) - 1)] if len(s.wind)
                                           else np.full(3, np.nan) for s in earlier]))
                  for k in range(max((len(s.wind) for s in earlier), default=0)))
    return (Prior(tuple(passes), day, first, sources),
            ErrorStats(rows("dispersion"), rows("lone"), winds))


_SOURCES = tuple(f.name for f in fields(SourceDays))

_T = TypeVar("_T", Samples, SourceDays)


def _joined(cls: type[_T], parts: Sequence[_T], names: Sequence[str]) -> _T:
    """``parts[0] + parts[1] + ...`` (each field concatenated), each field joined once."""
    if len(parts) == 1:
        return parts[0]
    return cls(*(np.concatenate([getattr(p, k) for p in parts]) for k in names))


def states_of(day_samples: Sequence[Samples], errors: ErrorStats, days: I64,
              incidents: dict[int, list[str]], digests: dict[int, tuple[str, str]],
              sources: SourceDays | None = None) -> list[DayState]:
    """The states of ``days`` from a fusion's ``day_samples``, ``errors`` and
    ``day_sources`` (:class:`~.pipeline.FusionResult`), the incidents each owns and its
    reports' digests."""
    sources = sources if sources is not None else SourceDays.empty()
    out = []
    for d in days.tolist():
        passes = tuple(_ranked(s.take(s.day == d)) for s in day_samples)

        def row(st: DayStats, d: int = d) -> F64 | None:
            at = np.flatnonzero(st.days == d)
            return st.values[at[0]].copy() if len(at) else None

        head, body = digests.get(d, ("", ""))
        wind = np.stack([r if (r := row(w)) is not None else np.full(3, np.nan)
                         for w in errors.wind]) if errors.wind else np.zeros((0, 3))
        out.append(DayState(d, passes, row(errors.dispersion), row(errors.lone),
                            tuple(sorted(incidents.get(d, []))), head, body, sources.of(d),
                            wind))
    return out


def _ranked(s: Samples) -> Samples:
    """``s`` (one day's) with each group's label its rank among the day's labels: a label is
    its batch's (a part of the days numbers its groups from 0, the month from the days
    before), and only the (day, label) order is read (``calibration_days._groups``), so a
    day's state is the same bytes whichever batch fused it (docs/partitions.md)."""
    if not len(s.group):
        return s
    rank = np.unique(s.group, return_inverse=True)[1].reshape(-1).astype(np.int64)
    return Samples(s.source, s.day, rank, s.total, s.var, s.applied, s.partner)


def report_digests(ids: NDArray[np.object_], time_us: NDArray[np.int64], halo_s: float,
                   clock: Days = UTC_DAYS) -> dict[int, tuple[str, str]]:
    """Per day of ``clock`` (:mod:`.days`): the SHA-256 of the sorted ids of its reports in
    its first ``halo_s`` seconds, and of the rest (a report's record never changes under its
    id, so a changed digest is a report added or no longer counted)."""
    if not len(ids):
        return {}
    day = day_of_us(time_us, clock)
    head = (np.asarray(time_us, np.int64) - day_start_us(day, clock)) < int(halo_s * 1e6)
    order = np.lexsort((np.asarray(ids, str), ~head, day))
    out: dict[int, tuple[str, str]] = {}
    days, start = np.unique(day[order], return_index=True)
    stop = np.r_[start[1:], len(order)]
    for d, a, z in zip(days.tolist(), start.tolist(), stop.tolist(), strict=True):
        rows = order[a:z]
        h = [hashlib.sha256(), hashlib.sha256()]
        for k in rows.tolist():
            h[0 if head[k] else 1].update(str(ids[k]).encode("utf-8") + b"\n")
        out[d] = (h[0].hexdigest(), h[1].hexdigest())
    return out
