"""Evidence: the observations and incidents a check looks at, each located and classified once.

:func:`gather` puts every located observation (where the event was, else where the observer
stood) and every incident (origin, else impact, else where it was seen) through one columnar
:func:`~truceline.core.classify.classify` call each: area of interest, areas of control, zones,
distances to the lines, sectors. The rule checks (:mod:`truceline.core.rules`) and the reports
read the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from truceline.core.classify import Classification, CompiledGeometry, classify
from truceline.core.counting import ReportFacts, facts_of
from truceline.core.coverage import Coverage
from truceline.core.incidents import Incident, Located, singleton
from truceline.core.observations import Observation, micros
from truceline.core.precision import assignable_sectors
from truceline.core.taxonomy import Kind


@dataclass
class Evidence:
    """Observations and incidents with their classification, computed once per check."""

    observations: list[Observation]
    incidents: list[Incident]
    obs_cls: Classification | None
    obs_row: dict[str, int]  # observation id -> row in obs_cls
    inc_cls: Classification | None
    inc_row: dict[str, int]
    as_of: datetime | None  # latest evidence time: summaries of open windows are "as of" this
    by_kind: dict[str, list[Observation]] = field(default_factory=dict)
    #: What each counted report says of its count and precision, by id (those given as
    #: observations and those given as :class:`Reported` facts alike).
    facts: dict[str, ReportFacts] = field(default_factory=dict)
    #: Every counted report's time, in microseconds from the Unix epoch, sorted.
    times_us: NDArray[np.int64] = field(default_factory=lambda: np.empty(0, np.int64))
    #: What the mission could observe (None: no monitoring assets in the record).
    coverage: Coverage | None = None
    #: Per incident row: the sector its location's uncertainty allows (-1: none or unassigned).
    inc_sector: NDArray[np.int16] | None = None
    #: Counted fire reports held as values, not among :attr:`observations` (a daily report's).
    fire: FireReports | None = None

    def observed_since(self, t: datetime) -> int:
        """How many counted reports were made at or after ``t``."""
        return int(len(self.times_us) - np.searchsorted(self.times_us, micros(t)))


@dataclass(frozen=True)
class FireReports:
    """A period's counted fire reports as a daily report reads them besides their facts
    (:class:`Reported`), held as values rather than objects (~55,000 on a dense day): each
    one's id, time, source and kind of source, in the store's order, and where it places its
    event (:func:`where_obs`), by id, for the reports an unlocated incident is placed by."""

    ids: list[str]
    times_us: NDArray[np.int64]
    source_ids: list[str]
    source_types: list[str]
    where: dict[str, tuple[float, float]]

    def in_window(self, start: datetime, end: datetime) -> list[int]:
        """The rows of the reports made in ``[start, end)``."""
        t = self.times_us
        return np.flatnonzero((t >= micros(start)) & (t < micros(end))).tolist()


@dataclass(frozen=True)
class Reported:
    """Reports the checks reach only through the incidents fusion made of them (a check's
    fire reports, read from the store as columns): each one's :class:`ReportFacts` by id,
    its time, and the latest time any of them speaks for. Nothing else of them is kept."""

    facts: dict[str, ReportFacts]
    times_us: NDArray[np.int64]
    latest: datetime | None



def where_of(lon: float | None, lat: float | None, observer_lon: float | None,
             observer_lat: float | None) -> tuple[float, float] | None:
    """Where a report happened: the event location, else the observer's position. One rule
    for an observation object and for a record's plain values (the report's reader)."""
    if lon is not None and lat is not None:
        return lon, lat
    if observer_lon is not None and observer_lat is not None:
        return observer_lon, observer_lat
    return None


def where_obs(o: Observation) -> tuple[float, float] | None:
    """Where an observation happened (:func:`where_of`)."""
    return where_of(o.lon, o.lat, o.observer_lon, o.observer_lat)


def where_inc(i: Incident) -> Located | None:
    """Where an incident happened: its origin, else its impact, else where it was seen."""
    return i.origin or i.impact or i.location


def _classify_points(
    geom: CompiledGeometry | None, pts: list[tuple[str, float, float, datetime]]
) -> tuple[Classification | None, dict[str, int]]:
    if geom is None or not pts:
        return None, {}
    lon = np.array([p[1] for p in pts], dtype=np.float64)
    lat = np.array([p[2] for p in pts], dtype=np.float64)
    # whole microseconds, then nanoseconds: the values (and the wrap of times past 2262)
    # of a datetime64[ns] made from each UTC time, without a numpy scalar per point
    t = np.fromiter((micros(p[3]) for p in pts), np.int64, len(pts)).astype(
        "datetime64[us]").astype("datetime64[ns]")
    return classify(geom, lon, lat, t), {p[0]: i for i, p in enumerate(pts)}


def gather(
    geom: CompiledGeometry | None,
    observations: Sequence[Observation],
    incidents: Sequence[Incident] | None = None,
    coverage: Coverage | None = None,
    reported: Reported | None = None,
    *,
    classified_kinds: frozenset[Kind] | None = None,
) -> Evidence:
    """Classify every located observation and incident in one columnar call each.

    ``coverage`` is the mission's coverage model (:mod:`truceline.core.coverage_inputs`);
    without it no party is found compliant on a spatial provision (unless the agreement's
    ``min_coverage`` is 0). ``reported``: counted reports given as facts only, besides
    ``observations`` (their incidents are classified; they are not). ``classified_kinds``:
    classify only the observations of these kinds (None: all, as the rules need); a daily
    report places only its restrictions (the places of a dense day's other ~55,000 reports
    were classified for nothing: 0.07 s).
    """
    obs = list(observations)
    if incidents is None:
        incidents = [singleton(o) for o in obs if o.kind is Kind.FIRE]
    incs = list(incidents)
    opts = []
    for o in obs:
        if classified_kinds is not None and o.kind not in classified_kinds:
            continue
        w = where_obs(o)
        if w is not None:
            opts.append((o.id, w[0], w[1], o.time))
    ipts = []
    for i in incs:
        loc = where_inc(i)
        if loc is not None:
            ipts.append((i.id, loc.lon, loc.lat, datetime.fromisoformat(i.time)))
    obs_cls, obs_row = _classify_points(geom, opts)
    inc_cls, inc_row = _classify_points(geom, ipts)
    # the latest evidence: a post manned until 08:00 is evidence until 08:00, not its start
    times = [o.time for o in obs] + [o.end_time for o in obs if o.end_time is not None]
    if reported is not None and reported.latest is not None:
        times.append(reported.latest)
    ev = Evidence(obs, incs, obs_cls, obs_row, inc_cls, inc_row, max(times) if times else None,
                  coverage=coverage)
    own = np.fromiter((micros(o.time) for o in obs), np.int64, len(obs))
    ev.times_us = np.sort(own if reported is None else np.concatenate([own, reported.times_us]))
    if reported is not None:
        ev.facts.update(reported.facts)
    if geom is not None and inc_cls is not None:
        sig = np.full(len(ipts), np.nan)
        for i in incs:
            loc = where_inc(i)
            if i.id in inc_row and loc is not None and loc.sigma_m is not None:
                sig[inc_row[i.id]] = loc.sigma_m
        ev.inc_sector = assignable_sectors(
            inc_cls.sector, inc_cls.chainage_m, inc_cls.dist_m, sig,
            [(s.line, s.from_km, s.to_km) for s in geom.spec.sectors], geom.sector_max_m,
        )
    for o in obs:
        ev.by_kind.setdefault(o.kind.value, []).append(o)
        ev.facts[o.id] = facts_of(o)
    return ev


def in_window(t: datetime, start: datetime, end: datetime | None) -> bool:
    """Is ``t`` in the window ``[start, end)`` (end None: open-ended)?"""
    return t >= start and (end is None or t < end)


def party_at(cls: Classification | None, row: int | None, parties: Sequence[str]) -> str | None:
    """The party whose area of control holds the classified point ``row`` (None: nobody's,
    not known there, or the point was not classified)."""
    if cls is None or row is None:
        return None
    k = int(cls.control[row])
    return parties[k] if k >= 0 else None


def precision_of(
    inc: Incident, loc: Located | None, ev: Evidence
) -> tuple[float | None, str | None]:
    """An incident's 1-sigma location uncertainty (metres) and its sources' precision label
    (that of the least precise report, e.g. "oblast, UCDP where_prec 4")."""
    sigma = loc.sigma_m if loc is not None else None
    worst: tuple[float, str] | None = None
    for oid in inc.evidence:
        o = ev.facts.get(oid)
        if o is not None and o.precision:
            u = o.uncertainty_m or 0.0
            if worst is None or u > worst[0]:
                worst = (u, o.precision)
    return sigma, worst[1] if worst else None
