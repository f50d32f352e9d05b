"""The ``observations`` collection of the OGC API, read from the store a page at a time.

Why: a mission's store holds hundreds of thousands of observations, and GIS clients read a
collection by following ``next`` links; each page is one keyset query
(:mod:`truceline.adapters.store.feature_pages`), the count is taken on the first page only
(where GDAL reads it), the extent is one aggregate, and one feature is one indexed read.
Monitors and parties read their own source's observations; analysts every source's.
"""

from __future__ import annotations

from typing import Any, cast

from truceline.adapters.http.auth import Principal, Role
from truceline.adapters.http.ogc_features import (
    Item,
    Page,
    Query,
    extent_of,
    flat,
    point,
    time_of,
)
from truceline.adapters.http.state import AppState
from truceline.adapters.store import feature_pages
from truceline.adapters.store.sql import SQLStore
from truceline.errors import NotFoundError, QueryParameterError


def _observation_filter(who: Principal, q: Query | None) -> feature_pages.ObservationFilter:
    """Analysts read every source; monitors and parties only their own (as ``/observations``)."""
    source = None if who.role is Role.ANALYST else who.bound
    if q is None:
        return feature_pages.ObservationFilter(source_id=source)
    lo, hi = q.when if q.when is not None else (None, None)
    return feature_pages.ObservationFilter(source, q.bbox, lo, hi)


def _observation_item(rec: dict[str, Any]) -> Item:
    props = {k: flat(v) for k, v in rec.items() if k not in ("lon", "lat")}
    return Item(
        str(rec["id"]), point(rec.get("lon"), rec.get("lat")), time_of(rec.get("time")), props
    )


def _reader(st: AppState) -> SQLStore:
    return cast(SQLStore, st.raw_reader)


def observation_page(st: AppState, who: Principal, q: Query) -> Page:
    """One keyset page from the store (one row past the page says whether more follow);
    the count only on the first page, where clients such as GDAL read it."""
    if q.after is not None and not (q.after.isascii() and q.after.isdigit()):
        raise QueryParameterError(
            "not a cursor of this collection (follow the next link)", field="cursor"
        )
    f = _observation_filter(who, q)
    after = int(q.after) if q.after is not None else None
    rows = feature_pages.observation_page(_reader(st), f, after, q.limit + 1)
    more = len(rows) > q.limit
    rows = rows[: q.limit]
    matched = feature_pages.count_observations_matching(_reader(st), f) if after is None else None
    return Page(
        [_observation_item(rec) for _, rec in rows], str(rows[-1][0]) if more else None, matched
    )


def observation_one(st: AppState, who: Principal, feature_id: str) -> Item:
    """One observation, if the key may read it (404 otherwise: its existence is not told)."""
    missing = NotFoundError("no such feature", field="feature_id")
    try:  # the store's own not-found names the id: a hidden one must read the same
        o = st.reader.observation(feature_id)
    except NotFoundError:
        raise missing from None
    if who.role is not Role.ANALYST and o.source_id != who.bound:
        raise missing
    return _observation_item(o.to_record())


def observation_extent(st: AppState, who: Principal) -> dict[str, Any]:
    box, times = feature_pages.observation_extent(
        _reader(st), _observation_filter(who, None).source_id
    )
    return extent_of(
        list(box) if box else None, [time_of(times[0]), time_of(times[1])] if times else []
    )


def observation_schema() -> dict[str, Any]:
    """The observation record's fields as queryables (a reader of this collection sees its
    records whole), lists and objects as the JSON text the features carry."""
    from truceline.core.observations import Observation

    out: dict[str, Any] = {}
    for name, p in Observation.model_json_schema()["properties"].items():
        if name in ("lon", "lat"):
            continue
        alts = [a for a in p.get("anyOf", [p]) if a.get("type") != "null"] or [p]
        t = alts[0].get("type")
        prop: dict[str, Any] = {"type": t if t in ("number", "integer", "boolean") else "string"}
        if alts[0].get("format") == "date-time":
            prop["format"] = "date-time"
        if p.get("description"):
            prop["description"] = p["description"]
        out[name] = prop
    return out


__all__ = ["observation_extent", "observation_one", "observation_page", "observation_schema"]
