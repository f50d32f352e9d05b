"""What a report reads of its period's observations: fire reports as values, the rest as objects.

A dense day of the 907k month has ~55,000 fire reports within the period and its margin; held
as validated objects they took ~0.45 s of a one-day report's ~3.4 s (pydantic-core builds
~40 fields each), though a report reads of each only its time, source, kind of source, where
it places the event and what it counts (:class:`~truceline.core.counting.ReportFacts`). So
their record texts are parsed to plain values, only the keys the report reads (~5x cheaper,
and ~1.4x again for skipping the others' values), and only these are kept
(:class:`~truceline.core.evidence.FireReports`, :class:`~truceline.core.evidence.Reported`);
the other kinds (monitoring, restrictions, sightings, aggregates...: a few per cent) are
objects, as before.

What is counted is what :func:`~truceline.core.resubmissions.counted` counts of the same
observations: copies are looked for among the reports that may have one
(:func:`~truceline.core.resubmissions.possible_copies`, over every kind in the store's order),
which alone are validated; a period holding an edit (a report that ``supersedes`` another)
is read as objects throughout, as before.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
from pydantic_core import SchemaValidator, core_schema

from truceline.core.counting import ReportFacts, unit_for
from truceline.core.evidence import FireReports, Reported, where_of
from truceline.core.observations import Observation, from_micros, micros, stored_observation
from truceline.core.resubmissions import counted, duplicates, possible_copies
from truceline.core.taxonomy import CountUnit, FireType, Kind

_FIRE = Kind.FIRE.value
#: What the report reads of a fire report's record (a record holds ~20 keys: bearings,
#: distances, observer...): the other keys are skipped by the JSON reader, not made objects.
_READ = ("id", "supersedes", "end_time", "count_unit", "fire_type", "dataset", "source_type",
         "location_precision", "location_uncertainty_m", "lon", "lat", "observer_lon",
         "observer_lat")
_READER = SchemaValidator(core_schema.typed_dict_schema(
    {k: core_schema.typed_dict_field(core_schema.any_schema(), required=False) for k in _READ}))


def read_period(rows: Sequence[tuple[str, str, str, str]], placed: Collection[str] = ()
                ) -> tuple[list[Observation], FireReports | None, Reported | None]:
    """The counted observations of ``rows`` ((kind, time column, source id, record text) in
    the store's (time, id) order): the other kinds as objects, the fire reports as values,
    where the event is kept for the ids in ``placed`` only (None, None: every observation is
    an object in the first list, when a fire report names a version it replaces or a record
    is not as the store writes it)."""
    others: list[Observation] = []
    fire: list[dict[str, Any]] = []
    try:
        for kind, _, _, text in rows:
            if kind == _FIRE:
                d = _READER.validate_json(text)  # these keys' values, as from_json gives
                if d.get("supersedes") is not None:
                    raise ValueError("an edit: counted with every version as objects")
                fire.append(d)
            else:
                others.append(stored_observation(text))
        # the time column is each time in UTC, fixed width with microseconds and a "Z"
        at = np.array([r[1][:-1] for r in rows], "datetime64[us]").astype(np.int64)
        ends = {k: micros(_utc(e)) for k, d in enumerate(fire)
                if (e := d.get("end_time")) is not None}
    except (ValueError, KeyError, TypeError):
        return counted([stored_observation(r[3]) for r in rows]), None, None
    if any(o.supersedes is not None for o in others):
        return counted([stored_observation(r[3]) for r in rows]), None, None
    source = np.array([r[2] for r in rows], dtype=object)
    maybe = np.flatnonzero(possible_copies(source, at)).tolist()
    dup = duplicates([stored_observation(rows[r][3]) for r in maybe])
    keep = [k for k, d in enumerate(fire) if d["id"] not in dup] if dup else range(len(fire))
    others = [o for o in others if o.id not in dup]
    at_fire = np.flatnonzero(np.array([r[0] == _FIRE for r in rows], bool))[np.asarray(
        keep, np.intp)]
    kept_us = at[at_fire]
    ids = [fire[k]["id"] for k in keep]
    same: dict[tuple[Any, ...], ReportFacts] = {}  # a few kinds of facts among thousands
    facts = {}
    for i, k in zip(ids, keep, strict=True):
        d = fire[k]
        key = (d.get("count_unit"), d.get("fire_type"), d.get("dataset"),
               d.get("source_type", "monitor"), d.get("location_precision"),
               d.get("location_uncertainty_m"))
        f = same.get(key)
        if f is None:
            f = same[key] = _facts(*key)
        facts[i] = f
    reports = FireReports(
        ids=ids, times_us=kept_us, source_ids=source[at_fire].tolist(),
        source_types=[fire[k].get("source_type", "monitor") for k in keep],
        where={i: w for i, k in zip(ids, keep, strict=True)
               if i in placed and (w := _where(fire[k])) is not None})
    last = int(kept_us.max()) if len(kept_us) else None
    if ends:
        dropped = set(range(len(fire))) - set(keep) if dup else set()
        last = max([*([last] if last is not None else []),
                    *(e for k, e in ends.items() if k not in dropped)])
    return others, reports, Reported(facts, kept_us, None if last is None else from_micros(last))


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _num(v: Any) -> float | None:
    return None if v is None else float(v)


def _where(d: dict[str, Any]) -> tuple[float, float] | None:
    """:func:`~truceline.core.evidence.where_of` a record's values."""
    return where_of(_num(d.get("lon")), _num(d.get("lat")), _num(d.get("observer_lon")),
                    _num(d.get("observer_lat")))


def _facts(unit: str | None, fire_type: str | None, dataset: str | None, source_type: str,
           precision: str | None, uncertainty_m: float | None) -> ReportFacts:
    """:func:`~truceline.core.counting.facts_of` of a fire report, from its record's values."""
    u = unit_for(Kind.FIRE, None if unit is None else CountUnit(unit),
                 None if fire_type is None else FireType(fire_type))
    return ReportFacts(u, dataset or source_type, precision, _num(uncertainty_m))
