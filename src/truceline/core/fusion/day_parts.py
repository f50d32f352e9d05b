"""A full check's fusion by parts of a few days, so that its working set follows a part,
not the store (issue 21; docs/partitions.md, "A full check by day parts").

With both per-day rules on, a day's incidents are a function of its reports, ``halo_s``
either side, and what the days before it kept (:class:`~.day_state.DayState`): the
incremental check fuses from a changed day on with the kept states of the days before it,
and a change after a day's first ``halo_s`` fuses again from that day, not earlier. So the
days ``[start, end]`` fused from their reports, ``halo_s`` before and a lookahead after
(:data:`LOOKAHEAD_HALOS` ``halo_s`` past the end of ``end``: more than two, the reach of a
change that leaves ``end`` as it is), with the states of the days before as the prior, give the
incidents owned by ``[start, end]`` (those whose first report falls in them) and those days'
states exactly as one fusion of every day does. :func:`fuse_part` is pure: columns, the
compiled geometry, the parameters and the earlier days' states in; incidents, states and
the per-source records out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from truceline.core.classify import CompiledGeometry
from truceline.core.fusion.calibration_days import Samples
from truceline.core.fusion.day_state import (
    DayState,
    day_of_us,
    day_start_us,
    prior_of,
    states_of,
)
from truceline.core.fusion.day_stats import ErrorStats
from truceline.core.fusion.days import UTC_DAYS, Days
from truceline.core.fusion.pipeline import FusionParams, FusionResult
from truceline.core.fusion.source_days import SourceDays
from truceline.core.fusion.to_incidents import fuse_columns
from truceline.core.incidents import Incident
from truceline.core.observations import Observation

__all__ = ["DaysPart", "day_parts", "fuse_part", "padded"]

I64 = NDArray[np.int64]

#: What a part reads past its last day, in ``halo_s``: a change from two ``halo_s`` into the
#: next day on fuses again from that day (a change in a day's first ``halo_s`` from the day
#: before, and a report reaches ``halo_s`` back: docs/partitions.md), and one more as a
#: margin. (A whole day, the plan's, fused a day more per part: +20 % of fusion's CPU in
#: parts of five days, and more memory.)
LOOKAHEAD_HALOS = 3


@dataclass
class DaysPart:
    """What :func:`fuse_part` derived of the days ``[start, end]``."""

    start: int
    end: int
    #: the incidents the days own, in fusion's order
    incidents: list[Incident]
    #: each incident's owning day (as ``incidents``)
    owners: list[int]
    #: the states of the days with reports, copies left out or incidents among them
    states: list[DayState]
    #: the per-source records of every day up to ``end`` (what a fusion of them all gives
    #: when ``end`` is the last day); only with ``last`` (else none: a check keeps the last
    #: part's, each made over every day's pooled samples)
    sources: list[dict[str, Any]]


def day_parts(days: Iterable[int], size: int) -> list[tuple[int, int]]:
    """``[start, end]`` runs of ``size`` calendar days from the first of ``days`` to the
    last, keeping those that hold one of ``days``."""
    have = sorted(set(days))
    if not have:
        return []
    if size < 1:
        raise ValueError("a part holds at least one day")
    out = []
    for s in range(have[0], have[-1] + 1, size):
        e = min(s + size - 1, have[-1])
        if any(s <= d <= e for d in have):
            out.append((s, e))
    return out


def part_rows(time_us: NDArray[np.int64], start: int, end: int, halo_s: float,
              lookahead_s: float, clock: Days = UTC_DAYS) -> I64:
    """The rows a fusion of days ``[start, end]`` (of ``clock``) reads: from ``halo_s``
    before ``start`` to ``lookahead_s`` after the end of ``end``."""
    t = np.asarray(time_us, np.int64)
    lo = int(day_start_us(start, clock)) - int(halo_s * 1e6)
    hi = int(day_start_us(end + 1, clock)) + int(lookahead_s * 1e6)
    return np.flatnonzero((t >= lo) & (t < hi))


def fuse_part(
    cols: Mapping[str, NDArray[Any]],
    geometry: CompiledGeometry,
    parties: Sequence[str],
    reports: Callable[[Sequence[int]], list[Observation]],
    params: FusionParams,
    start: int,
    end: int,
    before: Sequence[DayState],
    first: int,
    digests: Mapping[int, tuple[str, str]],
    days: Iterable[int],
    *,
    lookahead_s: float | None = None,
    last: bool = False,
    fused: Callable[[], object] | None = None,
    settle: Callable[[], object] | None = None,
) -> DaysPart:
    """Fuse days ``[start, end]`` of every counted report's columns ``cols`` (``reports``
    reads rows of them as observations) with the states ``before`` of the days before
    ``start``: the incidents those days own and their states. ``first``: the run's first
    day (:func:`~.day_state.prior_of`); ``digests``: every day's report digests
    (:func:`~.day_state.report_digests`); ``days``: the days a state is kept for (with
    reports, copies left out, or incidents); ``last``: no day after ``end`` has reports (the
    per-source records are then every day's; made only then)."""
    ahead = LOOKAHEAD_HALOS * params.halo_s if lookahead_s is None else lookahead_s
    rows = part_rows(cols["time_us"], start, end, params.halo_s, 0.0 if last else ahead,
                     params.days)
    prior, errors = prior_of(list(before), start, first)
    sub = {k: np.asarray(v)[rows] for k, v in cols.items()}
    got: dict[str, tuple[tuple[Samples, ...], ErrorStats, SourceDays | None]] = {}

    def keep(res: FusionResult) -> None:
        got["res"] = (res.day_samples, res.errors, res.day_sources)

    new, sources = fuse_columns(
        sub, geometry, parties, lambda r: reports(rows[np.asarray(r, np.int64)].tolist()),
        params=params, fused=fused, settle=settle, prior_samples=prior, prior_errors=errors,
        kept=keep, given=True, report=last)
    when = dict(zip(sub["id"].tolist(), np.asarray(sub["time_us"], np.int64).tolist(),
                    strict=True))
    del sub
    owner = day_of_us(np.asarray([min(when[e] for e in i.evidence) for i in new], np.int64),
                      params.days)
    mine = (owner >= start) & (owner <= end)
    incidents = [i for i, m in zip(new, mine.tolist(), strict=True) if m]
    owners = owner[mine].tolist()
    owned: dict[int, list[str]] = {}
    for i, d in zip(incidents, owners, strict=True):
        owned.setdefault(d, []).append(i.id)
    day_samples, errs, day_sources = got["res"] if got else ((), ErrorStats(), None)
    mine_days = np.asarray(sorted({d for d in days if start <= d <= end} | set(owned)),
                           np.int64)
    states = states_of(day_samples, errs, mine_days, owned, dict(digests), day_sources)
    return DaysPart(start, end, incidents, owners, states, sources)


def padded(states: Sequence[DayState]) -> list[DayState]:
    """``states`` each with as many calibration passes (and winds per pass) as the most any
    has, its last repeated: a fusion of every day runs as many passes as its slowest part,
    and a day that stopped early repeats its last (:func:`~.day_state.prior_of` reads them
    so), so a part's states are kept as the one fusion keeps them."""
    width = max((len(s.passes) for s in states), default=0)
    winds = max((len(s.wind) for s in states), default=0)
    out = []
    for s in states:
        passes, wind = s.passes, s.wind
        if passes and len(passes) < width:
            passes = passes + (passes[-1],) * (width - len(passes))
        if len(wind) and len(wind) < winds:
            wind = np.concatenate([wind, np.repeat(wind[-1:], winds - len(wind), 0)])
        out.append(replace(s, passes=passes, wind=wind))
    return out
