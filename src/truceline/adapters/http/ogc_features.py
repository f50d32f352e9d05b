"""The features of the OGC API before encoding, and what is done to them in memory.

A collection is built in memory (a mission's findings, incidents, zones: small, and filtered
by role on the way) or read a page at a time from the store (observations, see
:mod:`truceline.adapters.http.ogc_observations`). In memory, a page is a keyset on the
feature id, so ``next`` links stay right when a feature is added between two pages.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from truceline.adapters.http.auth import Principal, Role
from truceline.adapters.http.ogc_params import CRS84, EPSG4326, Box, Interval
from truceline.adapters.http.state import AppState


def _swap(g: BaseGeometry) -> BaseGeometry:
    return shapely.transform(g, lambda c: c[:, ::-1])


@dataclass(frozen=True)
class Item:
    """One feature before encoding: id, geometry (lon/lat), time (for ``datetime``), props."""

    id: str
    geometry: BaseGeometry | None
    time: datetime | None
    properties: dict[str, Any]

    def feature(self, crs: str = CRS84) -> dict[str, Any]:
        """GeoJSON in ``crs``: EPSG:4326 is the same datum with latitude first (Part 2)."""
        g = self.geometry
        if g is not None and crs == EPSG4326:
            g = _swap(g)
        return {
            "type": "Feature",
            "id": self.id,
            "geometry": mapping(g) if g is not None else None,
            "properties": self.properties,
        }


@dataclass(frozen=True)
class Query:
    """What one items request asks for: a CRS84 box, a closed interval, a page after a key."""

    bbox: Box | None
    when: Interval | None
    limit: int
    after: str | None


@dataclass(frozen=True)
class Page:
    items: list[Item]
    next_key: str | None  # the key of the last item sent, when more follow
    matched: int | None  # None when counting would cost a pass over the collection


@dataclass(frozen=True)
class Collection:
    """A collection built in memory by ``items`` (a mission's findings, incidents, zones), or
    read from the store by ``page``, ``one``, ``extent`` and ``schema`` (observations)."""

    id: str
    title: str
    description: str
    roles: frozenset[Role]
    items: Callable[[AppState, Principal], list[Item]] | None = None
    geometry_format: str = "geometry-any"
    page: Callable[[AppState, Principal, Query], Page] | None = None
    one: Callable[[AppState, Principal, str], Item] | None = None
    extent: Callable[[AppState, Principal], dict[str, Any]] | None = None
    schema: Callable[[], dict[str, Any]] | None = None


def time_of(s: str | None) -> datetime | None:
    return datetime.fromisoformat(s) if s else None


def flat(v: Any) -> Any:
    """GIS clients want scalar attributes: lists and objects become JSON text."""
    return json.dumps(v, sort_keys=True) if isinstance(v, dict | list | tuple) else v


def point(lon: Any, lat: Any) -> BaseGeometry | None:
    return shapely.Point(lon, lat) if lon is not None and lat is not None else None


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def extent_of(bbox: list[float] | None, times: list[datetime | None]) -> dict[str, Any]:
    known = sorted(t for t in times if t is not None)
    return {
        "spatial": {"bbox": [bbox or [-180.0, -90.0, 180.0, 90.0]], "crs": CRS84},
        "temporal": {
            "interval": [[_iso(known[0]), _iso(known[-1])] if known else [None, None]],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        },
    }


def value_schema(values: list[Any]) -> dict[str, Any]:
    """The JSON Schema type the values of one property have (scalars: see ``_flat``)."""
    kinds = {type(v) for v in values if v is not None}
    if kinds and kinds <= {bool}:
        return {"type": "boolean"}
    if kinds and kinds <= {int}:
        return {"type": "integer"}
    if kinds and kinds <= {int, float}:
        return {"type": "number"}
    out: dict[str, Any] = {"type": "string"}
    texts = [v for v in values if isinstance(v, str)]
    if texts and all("T" in v and _is_time(v) for v in texts):
        out["format"] = "date-time"
    return out


def _is_time(v: str) -> bool:
    try:
        datetime.fromisoformat(v)
    except ValueError:
        return False
    return True


def _boxes(bbox: Box) -> list[BaseGeometry]:
    w, s, e, n = bbox
    if w <= e:
        return [shapely.box(w, s, e, n)]
    return [shapely.box(w, s, 180.0, n), shapely.box(-180.0, s, e, n)]  # across 180°


def select(items: list[Item], bbox: Box | None, when: Interval | None) -> list[Item]:
    if bbox is not None:
        boxes = _boxes(bbox)
        items = [
            i
            for i in items
            if i.geometry is not None and any(i.geometry.intersects(b) for b in boxes)
        ]
    if when is not None:
        lo, hi = when
        items = [
            i
            for i in items
            if i.time is not None and (lo is None or i.time >= lo) and (hi is None or i.time <= hi)
        ]
    return items


def memory_page(items: list[Item], q: Query) -> Page:
    """A page of a collection built in memory, by keyset on the feature id."""
    chosen = sorted(select(items, q.bbox, q.when), key=lambda i: i.id)
    start = bisect_right([i.id for i in chosen], q.after) if q.after is not None else 0
    page = chosen[start : start + q.limit]
    more = start + len(page) < len(chosen)
    return Page(page, page[-1].id if more and page else None, len(chosen))


__all__ = [
    "Collection",
    "Item",
    "Page",
    "Query",
    "extent_of",
    "flat",
    "memory_page",
    "point",
    "select",
    "time_of",
    "value_schema",
]
