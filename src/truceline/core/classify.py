"""Classify batches of points against an agreement's geometry, in columns.

Independent of how agreements are parsed: :class:`GeometrySpec` holds plain values (shapely
geometries in lon/lat, ids, numbers). :func:`compile_geometry` does the expensive part once
(projection, segment indexes, projected and prepared polygons, which party holds which side of
each line); :func:`classify` then answers, for arrays of lon/lat/time, every geometric fact a
provision needs, at over a million points per second on one core.

Rules worth knowing (also in ``docs/geometry.md``):

* **distances** are planar in the chosen projection, except within a proved margin of a
  threshold (``thresholds_km`` plus every zone width), where they are exact WGS84 geodesic
  distances; so ``dist <= threshold`` never depends on projection error (``refined`` says where).
* **side** is +1 left / -1 right of the line's direction (0 exactly on it); ``side_party`` maps
  it to the party holding that side, voted from the areas of control at compile time.
* **control** is the party whose area of control covers the point *at the point's time*
  (periods are ``[valid_from, valid_to)``, ``None`` open). Covered by two parties' areas at
  once (overlap, or exactly on a shared border) is disputed and gives -1, never a guess; NaT
  times match only periods open at both ends.
* **sector** is the first sector (in spec order) whose ``[from_km, to_km)`` contains the
  chainage of the nearest point on its line, if the point is within ``sector_max_km``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from truceline.core.geo import (
    LineIndex,
    Projection,
    chord_deviation_m,
    distance_margin,
    geodesic_distance_to_line,
    geodesic_segment_lengths,
    line_parts,
    projection_for_lines,
)
from truceline.core.geo.area_mask import AreaMask
from truceline.errors import ValidationError

__all__ = [
    "DEFAULT_SECTOR_MAX_KM",
    "REFINE_FLOOR_M",
    "AreaMask",
    "Classification",
    "CompiledGeometry",
    "CompiledLine",
    "ControlPeriod",
    "GeometrySpec",
    "SectorSpec",
    "ZoneSpec",
    "classify",
    "compile_geometry",
]

F64 = NDArray[np.float64]
Mask = NDArray[np.bool_]

#: A point farther than this from a sector's line is in no sector of it.
DEFAULT_SECTOR_MAX_KM = 100.0
#: Added to the chord deviation in the refinement floor: float rounding, the pyproj round trip
#: and the geodesic Newton tolerance are all below 1 mm, so 1 m is a wide safety factor.
REFINE_FLOOR_M = 1.0
_SIDE_OFFSETS_M = (1_000.0, 3_000.0)


@dataclass(frozen=True)
class ZoneSpec:
    """A zone: either ``polygon`` (lon/lat), or "within ``within_km`` of ``line``", optionally
    only on ``party_side``'s side of it."""

    id: str
    polygon: Any = None
    line: str | None = None
    within_km: float | None = None
    party_side: str | None = None


@dataclass(frozen=True)
class ControlPeriod:
    """A party's area of control (lon/lat (Multi)Polygon) during ``[valid_from, valid_to)``."""

    party: str
    geometry: Any
    valid_from: np.datetime64 | None = None
    valid_to: np.datetime64 | None = None


@dataclass(frozen=True)
class SectorSpec:
    """A stretch of a line, by chainage in km from the line's start (parts in order)."""

    id: str
    line: str
    from_km: float
    to_km: float


@dataclass(frozen=True)
class GeometrySpec:
    """Everything geometric about one agreement version, as plain values."""

    parties: tuple[str, ...]
    lines: dict[str, Any]
    reference_lines: dict[str, str] = field(default_factory=dict)
    control: tuple[ControlPeriod, ...] = ()
    zones: tuple[ZoneSpec, ...] = ()
    sectors: tuple[SectorSpec, ...] = ()
    area_of_interest: Any = None


@dataclass(frozen=True, eq=False)
class CompiledLine:
    """One line, ready for queries: lon/lat parts, planar index, refinement floor, sides."""

    id: str
    parts_lonlat: list[F64]
    index: LineIndex
    floor_m: float
    left_party: int  #: index into parties of the party holding the left side, -1 unknown
    right_party: int


@dataclass(frozen=True, eq=False)
class CompiledGeometry:
    """The output of :func:`compile_geometry`; reuse it for every batch."""

    spec: GeometrySpec
    projection: Projection
    lines: dict[str, CompiledLine]
    thresholds_m: F64
    control: tuple[tuple[int, np.datetime64 | None, np.datetime64 | None, AreaMask], ...]
    zone_polygons: dict[str, AreaMask]
    aoi: AreaMask
    sector_max_m: float


@dataclass(frozen=True)
class Classification:
    """Per-point answers, every array as long as the input (dicts keyed by line/party/zone id)."""

    in_aoi: Mask
    dist_m: dict[str, F64]
    side: dict[str, NDArray[np.int8]]
    side_party: dict[str, NDArray[np.int16]]
    chainage_m: dict[str, F64]
    dist_to_ref_m: dict[str, F64]
    control: NDArray[np.int16]
    zone: dict[str, Mask]
    sector: NDArray[np.int16]
    refined: Mask

    def __len__(self) -> int:
        return len(self.in_aoi)


# ----------------------------------------------------------------------------------------------
# compile
# ----------------------------------------------------------------------------------------------


def _check_geom(geom: Any, kinds: tuple[str, ...], where: str) -> None:
    if not isinstance(geom, shapely.Geometry) or geom.geom_type not in kinds or geom.is_empty:
        raise ValidationError(f"must be a non-empty {' or '.join(kinds)}", field=where)
    if not geom.is_valid:
        raise ValidationError(f"invalid geometry: {shapely.is_valid_reason(geom)}", field=where)


def _validate(spec: GeometrySpec) -> None:
    if not spec.parties or len(set(spec.parties)) != len(spec.parties):
        raise ValidationError("parties must be non-empty and unique", field="parties")
    if not spec.lines:
        raise ValidationError("at least one line is needed", field="lines")
    for lid, g in spec.lines.items():
        _check_geom(g, ("LineString", "MultiLineString"), f"lines.{lid}")
    _check_geom(spec.area_of_interest, ("Polygon", "MultiPolygon"), "area_of_interest")
    for party, lid in spec.reference_lines.items():
        if party not in spec.parties:
            raise ValidationError(f"unknown party {party!r}", field=f"reference_lines.{party}")
        if lid not in spec.lines:
            raise ValidationError(f"unknown line {lid!r}", field=f"reference_lines.{party}")
    for i, c in enumerate(spec.control):
        if c.party not in spec.parties:
            raise ValidationError(f"unknown party {c.party!r}", field=f"control[{i}].party")
        _check_geom(c.geometry, ("Polygon", "MultiPolygon"), f"control[{i}].geometry")
        if c.valid_from is not None and c.valid_to is not None and c.valid_to <= c.valid_from:
            raise ValidationError("valid_to must be after valid_from", field=f"control[{i}]")
    for i, z in enumerate(spec.zones):
        where = f"zones[{i}]"
        if (z.polygon is None) == (z.line is None):
            raise ValidationError(f"zone {z.id!r}: give a polygon or a line", field=where)
        if z.polygon is not None:
            _check_geom(z.polygon, ("Polygon", "MultiPolygon"), f"{where}.polygon")
            continue
        if z.line not in spec.lines:
            raise ValidationError(f"zone {z.id!r}: unknown line {z.line!r}", field=f"{where}.line")
        if z.within_km is None or not z.within_km > 0:
            raise ValidationError(f"zone {z.id!r}: within_km must be > 0",
                                  field=f"{where}.within_km")
        if z.party_side is not None and z.party_side not in spec.parties:
            raise ValidationError(f"zone {z.id!r}: unknown party {z.party_side!r}",
                                  field=f"{where}.party_side")
    for i, s in enumerate(spec.sectors):
        if s.line not in spec.lines:
            raise ValidationError(f"sector {s.id!r}: unknown line {s.line!r}",
                                  field=f"sectors[{i}].line")
        if not s.to_km > s.from_km:
            raise ValidationError(f"sector {s.id!r}: to_km must exceed from_km",
                                  field=f"sectors[{i}]")


def _project(geom: Any, proj: Projection) -> AreaMask:
    return AreaMask(shapely.transform(geom, lambda c: np.column_stack(proj.forward(*c.T))))


def _side_parties(
    index: LineIndex, control: Sequence[tuple[int, Any, Any, Any]], n_parties: int
) -> tuple[int, int]:
    """Which party holds the left and the right side of a line, voted from areas of control.

    Sample points 1 and 3 km off every segment's midpoint on both sides; a party holds a side
    if at least half of that side's samples lie in its areas (over all its periods), the party
    with the higher share winning a contested side. With exactly two parties and one side
    known, the other side goes to the other party (a line of contact separates two parties).
    """
    if not control:
        return -1, -1
    seg_len = np.hypot(index.dx, index.dy)
    mx, my = index.ax + index.dx / 2, index.ay + index.dy / 2
    nx, ny = -index.dy / seg_len, index.dx / seg_len
    share = np.zeros((n_parties, 2))
    periods = np.zeros(n_parties)
    for party, _, _, geom in control:
        periods[party] += 1
        for k, sign in enumerate((1.0, -1.0)):
            hits = [geom(mx + sign * o * nx, my + sign * o * ny) for o in _SIDE_OFFSETS_M]
            share[party, k] += np.mean(hits)
    share /= np.maximum(periods, 1)[:, None]
    held = [int(np.argmax(share[:, k])) for k in (0, 1)]
    held = [p if share[p, k] >= 0.5 else -1 for k, p in enumerate(held)]
    if held[0] >= 0 and held[0] == held[1]:  # one party "holds" both: keep its stronger side
        held[int(np.argmin(share[held[0]]))] = -1
    if n_parties == 2 and (held[0] < 0) != (held[1] < 0):
        known = max(held)
        held = [known if h >= 0 else 1 - known for h in held]
    return held[0], held[1]


def compile_geometry(
    spec: GeometrySpec,
    thresholds_km: Sequence[float] = (),
    *,
    sector_max_km: float = DEFAULT_SECTOR_MAX_KM,
    cell_m: float = 1_000.0,
    reach_km: float = 100.0,
) -> CompiledGeometry:
    """Prepare ``spec`` for :func:`classify` (projection, indexes, polygons, sides).

    Parameters
    ----------
    spec : the agreement's geometry (lon/lat).
    thresholds_km : distances whose verdicts must be exact (e.g. 15, 25, 35, 70); every zone's
        ``within_km`` is added automatically.
    sector_max_km : beyond this distance from its line a point is in no sector.
    cell_m, reach_km : index grid cell size, and how far beyond each line's bounding box the
        grid reaches (farther points are still exact, through a slower tree query).

    The projection (:func:`~truceline.core.geo.projection_for_lines`) is fitted to the area
    within ``max(reach_km, sector_max_km, 1.05 * largest threshold)`` of the lines, and its
    ``max_scale_error`` holds there; farther points carry their own, larger bound.

    Raises
    ------
    ValidationError
        Naming the field: unknown ids, invalid geometry, or a zone on a party's side of a line
        whose sides cannot be derived from the areas of control.
    """
    _validate(spec)
    party_ix = {p: i for i, p in enumerate(spec.parties)}
    thresholds = [float(t) for t in thresholds_km] + [
        float(z.within_km) for z in spec.zones if z.line is not None and z.within_km is not None
    ]
    # Fitted to where distances decide verdicts: within the reach of the lines (not the whole
    # area of interest, which may be a country; farther points carry per-point bounds).
    metric_reach_km = max([reach_km, sector_max_km, *(1.05 * t for t in thresholds)])
    proj = projection_for_lines(
        [p for g in spec.lines.values() for p in line_parts(g)], metric_reach_km
    )
    control = tuple(
        (party_ix[c.party], c.valid_from, c.valid_to, _project(c.geometry, proj))
        for c in spec.control
    )
    lines: dict[str, CompiledLine] = {}
    for lid, geom in spec.lines.items():
        parts = line_parts(geom)
        xy = [np.column_stack(proj.forward(p[:, 0], p[:, 1])) for p in parts]
        index = LineIndex(xy, seg_length_m=geodesic_segment_lengths(parts), cell_m=cell_m,
                          reach_m=reach_km * 1000.0)
        left, right = _side_parties(index, control, len(spec.parties))
        floor = chord_deviation_m(parts, proj) + REFINE_FLOOR_M
        lines[lid] = CompiledLine(lid, parts, index, floor, left, right)
    zone_polygons = {}
    for i, z in enumerate(spec.zones):
        if z.polygon is not None:
            zone_polygons[z.id] = _project(z.polygon, proj)
        elif z.party_side is not None:
            cl = lines[str(z.line)]
            if party_ix[z.party_side] not in (cl.left_party, cl.right_party):
                raise ValidationError(
                    f"zone {z.id!r}: which side of line {z.line!r} party {z.party_side!r} "
                    "holds is unknown (no areas of control decide it)",
                    field=f"zones[{i}].party_side",
                )
    return CompiledGeometry(
        spec=spec, projection=proj, lines=lines,
        thresholds_m=np.unique(np.asarray(thresholds, float) * 1000.0),
        control=control, zone_polygons=zone_polygons,
        aoi=_project(spec.area_of_interest, proj), sector_max_m=sector_max_km * 1000.0,
    )


# ----------------------------------------------------------------------------------------------
# classify
# ----------------------------------------------------------------------------------------------


def _check_points(lon: ArrayLike, lat: ArrayLike, time: ArrayLike) -> tuple[F64, F64, Any]:
    lo = np.asarray(lon, float)
    la = np.asarray(lat, float)
    t = np.asarray(time)
    for name, a in (("lon", lo), ("lat", la), ("time", t)):
        if a.ndim != 1 or len(a) != len(lo):
            raise ValidationError("must be a 1-D array as long as lon", field=name)
    if not np.issubdtype(t.dtype, np.datetime64):
        raise ValidationError(f"must be numpy datetime64, not {t.dtype}", field="time")
    for name, a, lim in (("lon", lo, 180.0), ("lat", la, 90.0)):
        bad = ~(np.abs(a) <= lim)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValidationError(f"{a[i]} is not a finite {name} in [-{lim}, {lim}]",
                                  field=f"{name}[{i}]")
    return lo, la, t


def _refine(
    cl: CompiledLine, proj: Projection, thresholds: F64, dist: F64,
    x: F64, y: F64, lon: F64, lat: F64, eps: F64,
) -> Mask:
    """Make ``dist <= T`` exact for every threshold ``T`` (in place); return what was refined."""
    margin = distance_margin(dist, eps, cl.floor_m)
    near = np.zeros(len(dist), bool)
    for t in thresholds:
        near |= np.abs(dist - t) <= margin
    idx = np.flatnonzero(near)
    if not len(idx):
        return near
    # Candidate segments: any whose planar distance could belong to the geodesic nearest one,
    # (1 + e) * d_true + s with d_true <= (D + s) / (1 - e).
    e, d = eps[idx], dist[idx]
    radius = (1 + e) * (d + cl.floor_m) / (1 - e) + cl.floor_m
    pi, sj = cl.index.segments_within(x[idx], y[idx], radius)
    width = int(np.bincount(pi, minlength=len(idx)).max())
    hint = np.full((len(idx), width), -1, np.int64)
    order = np.lexsort((sj, pi))
    pi, sj = pi[order], sj[order]
    slot = np.arange(len(pi)) - np.searchsorted(pi, pi)
    hint[pi, slot] = sj
    dist[idx] = geodesic_distance_to_line(cl.parts_lonlat, lon[idx], lat[idx], hint)
    return near


def classify(
    geom: CompiledGeometry, lon: ArrayLike, lat: ArrayLike, time: ArrayLike
) -> Classification:
    """Classify points (lon/lat degrees, with their times) against a compiled geometry.

    Points outside the area of interest get every value too; ``in_aoi`` flags them.

    Raises
    ------
    ValidationError
        For a NaN/out-of-range coordinate (``field`` is e.g. ``"lat[3]"``), arrays of different
        lengths, or times that are not datetime64.

    Examples
    --------
    >>> from shapely import LineString, box
    >>> from truceline.core.geo import GEOD
    >>> spec = GeometrySpec(
    ...     parties=("west", "east"),
    ...     lines={"contact": LineString([(30.0, 49.5), (30.0, 50.5)])},  # northward
    ...     reference_lines={"west": "contact", "east": "contact"},
    ...     control=(ControlPeriod("west", box(29.0, 49.0, 30.0, 51.0)),),
    ...     zones=(ZoneSpec("west-10km", line="contact", within_km=10, party_side="west"),),
    ...     sectors=(SectorSpec("south", "contact", 0, 55),
    ...              SectorSpec("north", "contact", 55, 120)),
    ...     area_of_interest=box(29.0, 49.0, 31.0, 51.0),
    ... )
    >>> g = compile_geometry(spec, thresholds_km=[25])
    >>> lon25, lat25, _ = GEOD.fwd(30.0, 50.2, 90.0, 25_000.0)  # exactly 25 km east
    >>> t = np.array(["2025-01-01"] * 3, dtype="datetime64[D]")
    >>> c = classify(g, [29.9, 30.2, lon25], [50.0, 49.8, lat25], t)
    >>> c.dist_m["contact"].round(3).tolist(), c.side["contact"].tolist()
    ([7169.108, 14397.606, 25000.0], [1, -1, -1])
    >>> [spec.parties[p] for p in c.side_party["contact"]], c.control.tolist()
    (['west', 'east', 'east'], [0, -1, -1])
    >>> c.zone["west-10km"].tolist(), c.sector.tolist(), c.refined.tolist()
    ([True, False, False], [1, 0, 1], [False, False, True])
    """
    lon_a, lat_a, t = _check_points(lon, lat, time)
    proj = geom.projection
    n = len(lon_a)
    x, y = proj.forward(lon_a, lat_a)
    eps = proj.scale_error_bound(lon_a, lat_a, x, y)
    refined = np.zeros(n, bool)
    dist_m, side, side_party, chain = {}, {}, {}, {}
    for lid, cl in geom.lines.items():
        hit = cl.index.query(x, y)
        refined |= _refine(cl, proj, geom.thresholds_m, hit.dist, x, y, lon_a, lat_a, eps)
        dist_m[lid], side[lid], chain[lid] = hit.dist, hit.side, hit.chainage
        lookup = np.array([cl.right_party, -1, cl.left_party], np.int16)
        side_party[lid] = np.take(lookup, hit.side.astype(np.intp) + 1)
    control = np.full(n, -1, np.int16)
    disputed = np.zeros(n, bool)
    for party, start, end, poly in geom.control:
        sel = np.ones(n, bool)
        if start is not None:
            sel &= t >= start
        if end is not None:
            sel &= t < end
        idx = np.flatnonzero(sel) if not sel.all() else np.arange(n)
        idx = idx[poly(x[idx], y[idx])]
        disputed[idx] |= (control[idx] >= 0) & (control[idx] != party)
        control[idx] = party
    control[disputed] = -1
    parties = {p: i for i, p in enumerate(geom.spec.parties)}
    zone: dict[str, Mask] = {}
    for z in geom.spec.zones:
        if z.id in geom.zone_polygons:
            zone[z.id] = geom.zone_polygons[z.id](x, y)
        else:
            lid = str(z.line)
            inside = dist_m[lid] <= float(z.within_km or 0.0) * 1000.0
            if z.party_side is not None:
                inside &= side_party[lid] == parties[z.party_side]
            zone[z.id] = inside
    sector = np.full(n, -1, np.int16)
    for k, s in enumerate(geom.spec.sectors):
        c = chain[s.line]
        free = (sector < 0) & (dist_m[s.line] <= geom.sector_max_m)
        sector[free & (c >= s.from_km * 1000.0) & (c < s.to_km * 1000.0)] = k
    return Classification(
        in_aoi=geom.aoi(x, y),
        dist_m=dist_m, side=side, side_party=side_party, chainage_m=chain,
        dist_to_ref_m={p: dist_m[lid] for p, lid in geom.spec.reference_lines.items()},
        control=control, zone=zone, sector=sector, refined=refined,
    )
