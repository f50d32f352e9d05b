"""A check's read of stored fire reports: record texts straight into the columns fusion reads.

The incremental check of the 907k month reads ~120,000 fire reports (the window fused again,
and its margins); made validated objects, then columns
(:func:`~truceline.core.fusion.report_columns`), they were a third of its time, though the
check keeps no object of them. Stored records were validated when appended (and ``record
verify`` checks they are what the log committed to), so a page's texts are read by one
pydantic-core call into plain values of the fields the check reads, with the model's own
field schemas (types, bounds, defaults: :func:`~truceline.core.observations.stored_fields`)
but not its Python rules, and the columns are built from those values by the same rules as
from objects: the same columns and values (``tests/store/test_fire_columns.py``). A record
that cannot be read so raises :class:`~truceline.errors.StoreError` naming it: never dropped.
Other kinds (a few per cent) are objects, read as stored
(:func:`~truceline.core.observations.stored_observation`: the object validation gives).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from itertools import repeat
from operator import floordiv, itemgetter, sub
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import SchemaValidator, core_schema

from truceline.core.catalogue import resolve_weapon
from truceline.core.counting import ReportFacts, facts_of, source_for, unit_for
from truceline.core.fusion import report_columns
from truceline.core.fusion.batch import NO_TIME
from truceline.core.observations import (
    UNIX_EPOCH,
    Observation,
    micros,
    stored_fields,
    stored_observation,
)
from truceline.core.taxonomy import TIME_PRECISION_SECONDS, Kind
from truceline.errors import StoreError

__all__ = ["PageRead", "objects_page", "texts_page"]

_FIRE = Kind.FIRE.value
_MICROSECOND = timedelta(microseconds=1)
#: What the check reads of a fire report's record (columns, facts, edits, latest time).
_FIELDS = (
    "id",
    "time",
    "time_precision",
    "source_id",
    "source_type",
    "observer_lon",
    "observer_lat",
    "lon",
    "lat",
    "location_uncertainty_m",
    "location_precision",
    "bearing_deg",
    "bearing_sd_deg",
    "distance_min_m",
    "distance_max_m",
    "fire_type",
    "explosion_type",
    "count",
    "weapon_class",
    "calibre_mm",
    "system",
    "arrival_time",
    "temperature_c",
    "wind_u_ms",
    "wind_v_ms",
    "end_time",
    "dataset",
    "count_unit",
    "supersedes",
)
#: Columns that are the record's number as it is (absent: NaN), by the column's name.
_FLOATS = {
    "location_sd_m": "location_uncertainty_m",
    **{
        k: k
        for k in (
            "observer_lon",
            "observer_lat",
            "bearing_deg",
            "bearing_sd_deg",
            "distance_min_m",
            "distance_max_m",
            "lon",
            "lat",
            "temperature_c",
            "wind_u_ms",
            "wind_v_ms",
        )
    },
}


@dataclass
class PageRead:
    """One page of a check's read: its fire reports as columns, the rest as objects."""

    others: list[Observation]
    #: :func:`~truceline.core.fusion.report_columns` of the page's fire reports
    fire: dict[str, NDArray[Any]]
    #: each fire report's latest time (its end time, if later), as ``fire``'s rows
    latest_us: NDArray[np.int64]
    facts: list[ReportFacts]
    #: the fire reports that name a version they replace, with their times
    edits: dict[str, int]
    read: int


def objects_page(page: Sequence[Observation]) -> PageRead:
    """A page of observation objects (held in memory: a replay, a rebuilt mirror)."""
    fire = [o for o in page if o.kind is Kind.FIRE]
    return PageRead(
        [o for o in page if o.kind is not Kind.FIRE],
        report_columns(fire),
        np.fromiter((micros(max(o.time, o.end_time or o.time)) for o in fire), np.int64, len(fire)),
        [facts_of(o) for o in fire],
        {o.id: micros(o.time) for o in fire if o.supersedes is not None},
        len(page),
    )


@cache
def _reader() -> SchemaValidator:
    """Many records' values at once, from a JSON array of them (keys not read are skipped)."""
    one = core_schema.typed_dict_schema(
        {
            k: core_schema.typed_dict_field(s, required=s["type"] != "default")
            for k, s in stored_fields(_FIELDS).items()
        },
        extra_behavior="ignore",
    )
    return SchemaValidator(core_schema.list_schema(one))


def _values(rows: Sequence[tuple[str, str, str]]) -> list[dict[str, Any]]:
    """The fields' values of ``rows``' records (a StoreError naming the first unreadable)."""
    try:
        return list(_reader().validate_json("[" + ",".join(r[2] for r in rows) + "]"))
    except (PydanticValidationError, ValueError):
        pass
    for oid, _, text in rows:  # which one: read alone
        try:
            _reader().validate_json("[" + text + "]")
        except (PydanticValidationError, ValueError) as exc:
            raise StoreError(
                f"a stored fire report cannot be read: {exc}", field="record", id=oid
            ) from None
    raise StoreError("stored fire reports cannot be read", field="record")  # pragma: no cover


def _us(values: Sequence[Any], ids: Sequence[str], name: str) -> NDArray[np.int64]:
    """Times as whole microseconds (absent: :data:`NO_TIME`)."""
    try:
        if None not in values:  # micros(t), by C calls alone (a report's time: every row)
            return np.fromiter(
                map(floordiv, map(sub, values, repeat(UNIX_EPOCH)), repeat(_MICROSECOND)),
                np.int64,
                len(values),
            )
        return np.fromiter(
            (NO_TIME if t is None else (t - UNIX_EPOCH) // _MICROSECOND for t in values),
            np.int64,
            len(values),
        )  # micros(t), without a call per row
    except TypeError:  # a time without an offset
        at = next(k for k, t in enumerate(values) if t is not None and t.utcoffset() is None)
        raise StoreError(
            f"a stored fire report's {name} has no UTC offset", field=name, id=ids[at]
        ) from None


def _objects(values: list[Any]) -> NDArray[Any]:
    out = np.empty(len(values), object)
    out[:] = values
    return out


def texts_page(rows: Sequence[tuple[str, str, str]]) -> PageRead:
    """A page of stored (id, kind, record text): :func:`objects_page` of the same
    observations, the fire reports' records read as values, not objects."""
    others = [stored_observation(r[2]) for r in rows if r[1] != _FIRE]
    fire = [r for r in rows if r[1] == _FIRE]
    vals = _values(fire)
    col = {k: list(map(itemgetter(k), vals)) for k in _FIELDS}  # a C loop a column
    ids = col["id"]
    time_us = _us(col["time"], ids, "time")
    end_us = _us(col["end_time"], ids, "end_time")

    def value(members: list[Any]) -> NDArray[Any]:
        known = {m: m.value for m in set(members) if m is not None}  # a few of them
        return _objects([known.get(m) for m in members])

    weapons = [
        resolve_weapon(w, c, s)[0] if s else w
        for w, c, s in zip(col["weapon_class"], col["calibre_mm"], col["system"], strict=True)
    ]
    cols: dict[str, NDArray[Any]] = {
        "id": _objects(ids),
        "source_id": _objects(col["source_id"]),
        "source_type": value(col["source_type"]),
        "time_us": time_us,
        "arrival_us": _us(col["arrival_time"], ids, "arrival_time"),
        "time_precision_s": np.asarray(
            [TIME_PRECISION_SECONDS[p] for p in col["time_precision"]], float
        ),
        "fire_type": value(col["fire_type"]),
        "explosion_type": value(col["explosion_type"]),
        "weapon_class": value(weapons),
        "count": np.asarray(col["count"], np.int64),
    }
    for name, field in _FLOATS.items():
        cols[name] = np.asarray(col[field], float)  # None: NaN
    cols = {k: cols[k] for k in report_columns([])}  # the columns' order, as from objects
    same: dict[tuple[Any, ...], ReportFacts] = {}  # a few kinds of facts among thousands
    facts = []
    for key in zip(
        col["count_unit"],
        col["fire_type"],
        col["dataset"],
        col["source_type"],
        col["location_precision"],
        col["location_uncertainty_m"],
        strict=True,
    ):
        f = same.get(key)
        if f is None:
            unit, ft, dataset, st, precision, sd = key
            f = same[key] = ReportFacts(
                unit_for(Kind.FIRE, unit, ft), source_for(dataset, st), precision, sd
            )
        facts.append(f)
    edits = {
        i: t
        for i, t, s in zip(ids, time_us.tolist(), col["supersedes"], strict=True)
        if s is not None
    }
    latest = np.where(end_us != NO_TIME, np.maximum(end_us, time_us), time_us)
    return PageRead(others, cols, latest, facts, edits, len(rows))
