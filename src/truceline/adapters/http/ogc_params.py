"""The query parameters of the OGC API - Features routes, read by hand so that every bad one
is a 400 naming it, as Part 1 requires of unknown and invalid parameters (a framework's own
validation would answer 422).

* ``limit``: an integer from 1; above :data:`MAX_LIMIT` it is clamped, not refused (Part 1,
  OGC 17-069r4 §7.15.4: "if you ask for 50000, you might get up to 10000 (server-limited)");
  default :data:`DEFAULT_LIMIT`.
* ``bbox``: four numbers (or six, heights dropped) in ``bbox-crs`` order; CRS84 is lon,lat,
  EPSG:4326 lat,lon (Part 2). A west edge east of the east edge crosses the antimeridian.
* ``datetime``: an instant or an interval ``a/b`` with ``..`` or nothing for an open end.
* ``crs``, ``bbox-crs``: CRS84 or EPSG:4326 (Part 2); anything else is a 400 listing both.
* ``cursor``: the opaque key of the last feature of the previous page (from a ``next`` link).
"""

from __future__ import annotations

import base64
import binascii
import math
from datetime import UTC, datetime

from starlette.datastructures import QueryParams

from truceline.errors import QueryParameterError

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
#: The CRSs every collection offers; the first is the storage CRS and the default.
CRS_LIST = [CRS84, EPSG4326]
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
#: Accepted for clients that ask for the encoding by parameter (pygeoapi's style).
FORMATS = ("json", "geojson")

Box = tuple[float, float, float, float]
Interval = tuple[datetime | None, datetime | None]


def check_known(params: QueryParams, allowed: frozenset[str]) -> None:
    """400 naming the first parameter the route does not define, or one given twice."""
    for name in params:
        if name not in allowed:
            raise QueryParameterError(
                f"unknown query parameter (this resource takes: "
                f"{', '.join(sorted(allowed)) or 'none'})",
                field=name,
            )
        if len(params.getlist(name)) > 1:
            raise QueryParameterError("given more than once", field=name)
    f = params.get("f")
    if f is not None and f not in FORMATS:
        raise QueryParameterError(f"one of {', '.join(FORMATS)}", field="f")


def parse_limit(text: str | None) -> int:
    """The page size: default when absent, clamped to :data:`MAX_LIMIT`, 400 below 1."""
    if text is None:
        return DEFAULT_LIMIT
    if not text.isascii() or not text.strip().isdigit() or len(text) > 12:
        raise QueryParameterError(
            f"an integer from 1 (at most {MAX_LIMIT} are returned)", field="limit"
        )
    n = int(text)
    if n < 1:
        raise QueryParameterError("must be at least 1", field="limit")
    return min(n, MAX_LIMIT)


def parse_crs(text: str | None, field: str) -> str:
    if text is None:
        return CRS84
    value = text.strip().strip("[]<>")  # a safe CURIE or a bracketed URI names the same
    aliases = {"[OGC:CRS84]": CRS84, "OGC:CRS84": CRS84, "EPSG:4326": EPSG4326}
    value = aliases.get(value, value)
    if value not in CRS_LIST:
        raise QueryParameterError(
            f"unsupported CRS (supported: {', '.join(CRS_LIST)})", field=field
        )
    return value


def parse_bbox(text: str | None, crs: str = CRS84) -> Box | None:
    """The box in CRS84 (west, south, east, north) from ``text`` in ``crs``'s axis order."""
    if text is None:
        return None
    order = "minlat,minlon,maxlat,maxlon" if crs == EPSG4326 else "minlon,minlat,maxlon,maxlat"
    try:
        v = [float(x) for x in text.split(",")]
    except ValueError:
        raise QueryParameterError(f"four numbers: {order}", field="bbox") from None
    if len(v) == 6:  # 3D: drop the heights
        v = [v[0], v[1], v[3], v[4]]
    if len(v) != 4 or not all(math.isfinite(x) for x in v):
        raise QueryParameterError(f"four numbers: {order}", field="bbox")
    if crs == EPSG4326:
        v = [v[1], v[0], v[3], v[2]]
    w, s, e, n = v
    if s > n:
        raise QueryParameterError("the south edge is north of the north edge", field="bbox")
    if not (s >= -90 and n <= 90 and -180 <= w <= 180 and -180 <= e <= 180):
        raise QueryParameterError("outside -180..180 longitude, -90..90 latitude", field="bbox")
    return w, s, e, n


def _instant(s: str) -> datetime | None:
    if s in ("", ".."):
        return None
    try:
        t = datetime.fromisoformat(s)
    except ValueError:
        raise QueryParameterError(
            f"not an RFC 3339 date-time: {s[:40]!r}", field="datetime"
        ) from None
    t = t if t.tzinfo is not None else t.replace(tzinfo=UTC)
    try:
        t.astimezone(UTC)
    except OverflowError:
        raise QueryParameterError("outside the years 1 to 9999 in UTC", field="datetime") from None
    return t


def parse_datetime(text: str | None) -> Interval | None:
    """An instant ``t`` is [t, t]; an interval ``a/b`` is [a, b] with ``..`` or '' open."""
    if text is None:
        return None
    if "/" in text:
        a, _, b = text.partition("/")
        lo, hi = _instant(a), _instant(b)
        if lo is not None and hi is not None and lo > hi:
            raise QueryParameterError("the interval ends before it starts", field="datetime")
        if lo is None and hi is None and text != "../..":
            raise QueryParameterError("give an instant or an interval", field="datetime")
        return lo, hi
    t = _instant(text)
    if t is None:
        raise QueryParameterError("give an instant or an interval", field="datetime")
    return t, t


def encode_cursor(collection_id: str, key: str) -> str:
    """Opaque to clients: which collection and the key of the last feature sent."""
    raw = f"{collection_id}\n{key}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str | None, collection_id: str) -> str | None:
    """The key a ``cursor`` carries; 400 if it is not one this collection gave out."""
    if text is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    cid, sep, key = raw.partition("\n")
    if not sep or cid != collection_id:
        raise QueryParameterError(
            "not a cursor of this collection (follow the next link)", field="cursor"
        )
    return key


__all__ = [
    "CRS84",
    "CRS_LIST",
    "DEFAULT_LIMIT",
    "EPSG4326",
    "MAX_LIMIT",
    "check_known",
    "decode_cursor",
    "encode_cursor",
    "parse_bbox",
    "parse_crs",
    "parse_datetime",
    "parse_limit",
]
