"""Resubmissions: the same report from the same source under a new id, counted once.

A source that sends a report again (a retry after a lost acknowledgement, the same report by
radio and by the app, a re-export of the same form) gives it a new id, so ingest's idempotence
by id does not catch it; counted twice it makes a second incident, and fusion's
one-report-per-source rule even pushes the two copies into separate incidents, each then
located and attributed: a phantom violation.

**Same content.** Two observations are copies when they come from the *same source id* and
agree on every field of the report except the id and the signature, where the fields a
re-encoding may round are compared within :class:`ResubmissionParams`' tolerances (time 1 s,
positions 10 m, bearing 0.5°, distance band 10 m, acoustic arrival 1 ms) and all the others
(kind, fire and explosion type, weapon class, count, category, quantity, description, ...)
must be equal. A second channel is a second route for the same source, so it reports under
the same ``source_id`` (the id its key signs for); two source ids are never taken for one
reporter, since nothing in the record would say that they are.

The tolerances are far below what separates two real reports of one source: its two shots a
minute apart differ by 60 s, two reports of one minute by their bearing or band (a monitor's
bearing is rounded to 0.1°, its error is degrees), two shots in the same second from the same
direction are one report with ``count`` 2 (the monitors' counting rule). Reports identical in
every field but the id are copies by definition.

**Counted once, whatever the order.** Copies form groups (connected by "same content"); each
group is counted through the member with the smallest id, and every other member is a
duplicate of it. The rule is a function of the set of observations alone, so the order of
arrival never changes which reports are counted, and a replay of the record finds the same.

Examples
--------
>>> from datetime import UTC, datetime
>>> from truceline.core.observations import Observation
>>> def report(i, minute, brg):
...     return Observation(id=i, kind="fire", fire_type="explosion", explosion_type="impact",
...                        source_id="post-7", time=datetime(2025, 3, 27, 20, minute,
...                        tzinfo=UTC), observer_lon=37.9, observer_lat=48.0, bearing_deg=brg)
>>> duplicates([report("b", 15, 45.0), report("a", 15, 45.0), report("c", 16, 45.0)])
{'b': 'a'}
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from truceline.core.observations import ALL_FIELDS, Observation, ObservationRow, micros

__all__ = [
    "CandidateWindow",
    "ResubmissionParams",
    "candidate_windows",
    "counted",
    "duplicates",
    "possible_copies",
    "same_content",
    "superseded",
]


class CandidateWindow(NamedTuple):
    """Where stored copies of one report can be (see :func:`candidate_windows`)."""

    source_id: str
    start: datetime
    end: datetime
    lat_min: float | None
    lat_max: float | None


@dataclass(frozen=True)
class ResubmissionParams:
    """How far two copies of one report may differ: what a re-encoding can do to the numbers.

    Fixed in code (not a setting): the counted set must be the same for anyone who replays
    the record.
    """

    #: Event time (and end time): a channel that drops the fraction of a second.
    time_s: float = 1.0
    #: Event and observer positions: coordinates rounded to 4 decimals (~8-11 m).
    position_m: float = 10.0
    #: Bearing: rounded to a whole tenth (0.05°) or less.
    bearing_deg: float = 0.5
    #: Distance band's bounds, metres.
    distance_m: float = 10.0
    #: Acoustic arrival time: a channel that writes milliseconds.
    arrival_s: float = 0.001


_TOLERANT = (
    "time",
    "end_time",
    "arrival_time",
    "lon",
    "lat",
    "observer_lon",
    "observer_lat",
    "bearing_deg",
    "distance_min_m",
    "distance_max_m",
)
#: Fields that must be equal: all but the id, the signature and the toleranced ones.
_EXACT = tuple(f for f in ALL_FIELDS if f not in {"id", "signature", *_TOLERANT})


#: The exact fields of one observation as a tuple (one C call: this runs per report).
_key: Callable[[Observation], tuple[Any, ...]] = attrgetter(*_EXACT)


def _near_s(a: Any, b: Any, tol: float) -> bool:
    if a is None or b is None:
        return a is b
    return abs((a - b).total_seconds()) <= tol


def _near(a: float | None, b: float | None, tol: float) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= tol


def _near_m(
    lon1: float | None, lat1: float | None, lon2: float | None, lat2: float | None, tol: float
) -> bool:
    """Within ``tol`` metres (local equirectangular metres: exact enough at 10 m)."""
    if lon1 is None or lon2 is None or lat1 is None or lat2 is None:
        return lon1 is lon2
    dx = ((lon1 - lon2 + 180.0) % 360.0 - 180.0) * 111_320.0 * math.cos(math.radians(lat1))
    dy = (lat1 - lat2) * 110_574.0
    return math.hypot(dx, dy) <= tol


def _tolerable(a: Observation, b: Observation, p: ResubmissionParams) -> bool:
    """The toleranced fields of two observations with equal exact fields."""
    if a.bearing_deg is None or b.bearing_deg is None:
        if a.bearing_deg is not b.bearing_deg:
            return False
    elif abs((a.bearing_deg - b.bearing_deg + 180.0) % 360.0 - 180.0) > p.bearing_deg:
        return False
    return (
        _near_s(a.time, b.time, p.time_s)
        and _near_s(a.end_time, b.end_time, p.time_s)
        and _near_s(a.arrival_time, b.arrival_time, p.arrival_s)
        and _near_m(a.lon, a.lat, b.lon, b.lat, p.position_m)
        and _near_m(a.observer_lon, a.observer_lat, b.observer_lon, b.observer_lat, p.position_m)
        and _near(a.distance_min_m, b.distance_min_m, p.distance_m)
        and _near(a.distance_max_m, b.distance_max_m, p.distance_m)
    )


def same_content(a: Observation, b: Observation, params: ResubmissionParams | None = None) -> bool:
    """Are ``a`` and ``b`` one report (same source, same content within the tolerances)?

    The ids are not compared: an observation is the same content as itself.
    """
    return _key(a) == _key(b) and _tolerable(a, b, params or ResubmissionParams())


def duplicates(
    observations: Iterable[Observation],
    params: ResubmissionParams | None = None,
    known: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Each copy's id mapped to the id of the report its group is counted through.

    Groups are the connected components of :func:`same_content`; the counted member is the
    smallest id. Observations given twice under one id count as one. Only reports of equal
    exact fields within ``time_s`` of each other are compared, so the cost is a sort.
    ``known`` links (copy id to counted id, e.g. stored ones whose group reaches beyond the
    observations given) join the groups too.
    """
    p = params or ResubmissionParams()
    buckets: dict[tuple[Any, ...], list[Observation]] = {}
    seen: set[str] = set()
    for o in observations:
        if o.id not in seen:
            seen.add(o.id)
            buckets.setdefault(_key(o), []).append(o)
    parent: dict[str, str] = {}

    def root(i: str) -> str:
        while parent.get(i, i) != i:
            i = parent[i]
        return i

    def join(a: str, b: str) -> None:
        ra, rb = root(a), root(b)
        if ra != rb:  # the smaller id stands for the group
            parent[max(ra, rb)] = min(ra, rb)

    for copy, orig in (known or {}).items():
        join(copy, orig)
    for group in buckets.values():
        if len(group) < 2:
            continue
        for a, b in _pairs(group, p):
            if _tolerable(a, b, p):
                join(a.id, b.id)
    return {i: root(i) for i in sorted(parent) if root(i) != i}


#: Cells a little wider than the tolerances, so that rounding never puts two reports within
#: a tolerance more than one cell apart.
_WIDEN = 1.001


def _pairs(group: list[Observation], p: ResubmissionParams
           ) -> Iterable[tuple[Observation, Observation]]:
    """Every pair of ``group`` that could be copies, each once: those in neighbouring cells
    of (time, latitude) of the tolerances' size. Copies are within ``time_s`` of each other
    and their event latitudes (else their observers') within ``position_m``, and a position
    is never a copy of its absence, so no pair of copies is left out; a source's burst of
    reports in one second (a sensor) is compared cell by cell, not all with all."""
    dt = p.time_s * _WIDEN
    dlat = p.position_m / 110_574.0 * _WIDEN
    cells: dict[tuple[Any, ...], list[Observation]] = {}
    for o in group:
        lat, where = (o.lat, 0) if o.lat is not None else (o.observer_lat, 1)
        band = None if lat is None else math.floor(lat / dlat)
        cells.setdefault((math.floor(o.time.timestamp() / dt), where, band), []).append(o)
    for (t, where, band), here in cells.items():
        for k, a in enumerate(here):
            for b in here[k + 1 :]:
                yield a, b
        # the neighbours "after" this cell (each pair of cells visited once)
        for dt_, db in ((0, 1), (1, -1), (1, 0), (1, 1)) if band is not None else ((1, 0),):
            there = cells.get((t + dt_, where, None if band is None else band + db))
            if there:
                for a in here:
                    for b in there:
                        yield a, b


def possible_copies(source: NDArray[Any], time_us: NDArray[np.int64],
                    params: ResubmissionParams | None = None) -> NDArray[np.bool_]:
    """Which reports may have a copy among them: those with another report of the same
    source within ``time_s`` (a little widened, as :func:`_pairs` does). Every copy and
    every original is one; :func:`duplicates` of only these finds every group, so a reader
    that holds its reports as columns materialises these few (a few per cent) and no more."""
    p = params or ResubmissionParams()
    n = len(time_us)
    out = np.zeros(n, bool)
    if n < 2:
        return out
    # each source a number by first sight (a dict of the few hundred): only sameness is
    # read; as fixed-width text and sorted (np.unique) it took ~0.1 GB more at 907k reports
    code: dict[Any, int] = {}
    src = np.fromiter((code.setdefault(v, len(code)) for v in source), np.int64, n)
    order = np.lexsort((time_us, src))
    s, t = src[order], time_us[order]
    near = (s[1:] == s[:-1]) & (t[1:] - t[:-1] <= math.ceil(p.time_s * _WIDEN * 1e6))
    out[order[1:][near]] = True
    out[order[:-1][near]] = True
    return out


def candidate_windows(observations: Iterable[ObservationRow],
                      params: ResubmissionParams | None = None) -> list[CandidateWindow]:
    """Where a stored copy of each of ``observations`` can be: its source, the time
    tolerance around it and a latitude band a little wider than ``position_m`` around its
    event latitude (None, None: a report without an event position, whose copies have none
    either). A reader may skip stored reports outside every window's band: they join a group
    only through their stored link."""
    p = params or ResubmissionParams()
    tol = timedelta(seconds=p.time_s)
    dlat = 2.0 * p.position_m / 110_574.0 * _WIDEN
    return [CandidateWindow(o.source_id, o.time - tol, o.time + tol,
                            None if o.lat is None else o.lat - dlat,
                            None if o.lat is None else o.lat + dlat)
            for o in observations]


def superseded(observations: Iterable[Observation]) -> dict[str, str]:
    """Each edited-away version's id mapped to the id of a version that replaces it.

    An edit (a form submission edited on the server, :mod:`truceline.adapters.importers.odk`)
    is a new observation whose ``supersedes`` names the version it replaces; both stay in the
    record, and the replaced one is not counted. Only a version *of the same source* replaces
    another: no one can retract someone else's report by naming it. Like :func:`duplicates`,
    a function of the set alone (a version whose successor is absent stays counted).
    """
    by_id = {o.id: o for o in observations}
    out: dict[str, str] = {}
    for o in by_id.values():
        old = by_id.get(o.supersedes) if o.supersedes is not None else None
        if old is not None and old.source_id == o.source_id:
            out.setdefault(old.id, o.id)
    return out


def counted(
    observations: Sequence[Observation], params: ResubmissionParams | None = None
) -> list[Observation]:
    """``observations`` without the copies and the edited-away versions (order kept): what
    fusion and the checks count. Copies are looked for among the reports that may have one
    (:func:`possible_copies`, a sort: a few per cent of a day's reports), the same groups."""
    p = params or ResubmissionParams()
    maybe = possible_copies(np.array([o.source_id for o in observations], dtype=object),
                            np.fromiter((micros(o.time) for o in observations), np.int64,
                                        len(observations)), p)
    dup = duplicates([o for o, m in zip(observations, maybe.tolist(), strict=True) if m], p)
    if any(o.supersedes is not None for o in observations):
        dup = {**superseded(observations), **dup}
    if not dup:
        return list(observations)
    return [o for o in observations if o.id not in dup]
