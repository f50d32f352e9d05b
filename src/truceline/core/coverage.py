"""Coverage: where and when the monitoring mission could observe, per party's side of the line.

"No violation observed" means something only where the mission could observe. This module
turns the mission's monitoring assets (observation posts, patrols, cameras, acoustic arrays),
when each was operating, when it was down or stopped, and the areas denied to it, into the
share of each party's side of the line of contact that was observable, for each kind of event.

The model (also in ``docs/coverage.md``):

* **Grid.** Square cells of ``cell_m`` in the agreement's projected CRS, kept where the cell
  centre lies in the area of interest and within ``band_km`` of the line of contact (the
  *band*). A cell belongs to the party holding its side of the line (``CompiledLine`` sides),
  to the sector whose chainage range holds its nearest point on the line, and to that chainage.
* **Footprints.** An asset covers a cell for a kind of event when the cell centre is within the
  asset's range for that kind (planar distance in the projection; its scale error, < 0.05 %
  for the 2025 line, is far below any range's own uncertainty) and, for a camera, within its
  field of view (true azimuths: the grid bearing is corrected by the meridian convergence at
  the camera). Terrain is not modelled (no elevation data): visual range stands for line of
  sight, the observer's geometric horizon by default (:class:`CoverageParams`).
* **Time.** An asset observes during its *active* intervals minus its *down* intervals (camera
  down, post unmanned, monitors restricted). A denied area removes every asset's coverage of
  its cells while it is denied.
* **Share.** For a window ``[start, end)``, the covered cell-time over the cell-time of the
  party's side of the band: the probability that an event at a random place of that side and
  a random time of the window happened where and when the mission could observe it.

Columnar and pure: numpy arrays in, arrays out; the time sweep is one sort over (cell, time)
events with no per-cell or per-interval Python loop. :func:`build_coverage` does the geometry
once; :meth:`Coverage.share` and the other queries sweep only the window asked for (and cache
the last few windows, which a check asks about once per party).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from truceline.core.classify import CompiledGeometry
from truceline.errors import ValidationError

__all__ = [
    "ASSET_TYPES",
    "COVERAGE_KINDS",
    "RULE_COVERAGE_KINDS",
    "Assets",
    "Coverage",
    "CoverageParams",
    "DeniedAreas",
    "Gap",
    "Intervals",
    "SectorShare",
    "build_coverage",
    "to_ns",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
I8 = NDArray[np.int8]

#: Asset types, in the order of the codes in :attr:`Assets.asset_type`.
ASSET_TYPES: tuple[str, ...] = ("post", "patrol", "camera", "acoustic_array")
POST, PATROL, CAMERA, ARRAY = range(4)

#: Internal columns: fire heard or seen, by weapon class, and visual sightings.
_COLUMNS: tuple[str, ...] = ("fire:mortar", "fire:tube_artillery", "fire:mlrs", "visual")
_VISUAL = 3
#: The kinds of event coverage is asked about, and the column each stands for.
COVERAGE_KINDS: dict[str, int] = {
    "fire": 0,  # fire of the shortest-range heavy weapon (mortar): the conservative reading
    "fire:mortar": 0,
    "fire:tube_artillery": 1,
    "fire:mlrs": 2,
    "weapon_sighting": _VISUAL,
    "presence": _VISUAL,
}
#: Which coverage kinds a rule kind's verdicts depend on (rule kinds not listed are not
#: spatial: a restriction is reported by the monitors it stopped, a declaration by a party).
RULE_COVERAGE_KINDS: dict[str, frozenset[str]] = {
    "ceasefire": frozenset({"fire"}),
    "withdrawal": frozenset({"weapon_sighting"}),
    "prohibited_presence": frozenset({"presence"}),
}

_T_MIN = np.iinfo(np.int64).min
_T_MAX = np.iinfo(np.int64).max


@dataclass(frozen=True)
class CoverageParams:
    """The default ranges of each asset type (metres), used where a record gives none.

    Fire: the distance within which the source detects a typical event of that weapon class by
    day (the shorter, conservative figure), the same figures the simulator's sources use
    (``truceline.simulation.sources.WeaponModel``: ``audible_km`` by day for monitors,
    ``sensor_km`` for acoustic arrays; ``camera_range_km`` by day for muzzle flashes), whose
    sources are given there and in ``docs/simulation.md``. Visual: the geometric horizon of an
    observer with eyes 2 m above flat ground, 3.57 * sqrt(2) = 5.0 km (no terrain model); a
    record's ``range_m`` (e.g. a camera's or a post on high ground) overrides it.
    """

    band_km: float = 15.0
    """The band on each side of the line whose coverage is measured: mortar and most tube
    artillery firing positions and impacts of a ceasefire violation lie within it."""
    monitor_fire_m: tuple[float, float, float] = (7_000.0, 15_000.0, 20_000.0)
    """Posts and patrols: mortar, tube artillery, MLRS heard by day."""
    array_fire_m: tuple[float, float, float] = (10_000.0, 20_000.0, 25_000.0)
    """Acoustic arrays: mortar, tube artillery, MLRS."""
    camera_fire_m: float = 5_000.0
    """Cameras: muzzle flashes and bursts in the field of view (day figure; 20 km at night)."""
    visual_m: float = 5_000.0
    """Posts, patrols and cameras without a ``range_m``: the horizon of a 2 m observer."""
    camera_fov_deg: float = 90.0
    """A camera's field of view when its record gives none."""

    def ranges(self) -> F64:
        """``(asset type, column)`` default ranges in metres (0: that type cannot observe it)."""
        out = np.zeros((len(ASSET_TYPES), len(_COLUMNS)))
        out[POST, :3] = out[PATROL, :3] = self.monitor_fire_m
        out[ARRAY, :3] = self.array_fire_m
        out[CAMERA, :3] = self.camera_fire_m
        out[[POST, PATROL, CAMERA], _VISUAL] = self.visual_m
        return out


@dataclass(frozen=True)
class Assets:
    """Monitoring assets, one row each. ``facing_deg`` is a true azimuth (NaN: all round),
    ``fov_deg`` NaN means the type's default (all round except cameras), ``range_m`` NaN means
    the type's default visual range."""

    ids: tuple[str, ...]
    asset_type: I8
    lon: F64
    lat: F64
    facing_deg: F64
    fov_deg: F64
    range_m: F64

    @classmethod
    def of(cls, ids: Iterable[str], asset_type: Any, lon: Any, lat: Any,
           facing_deg: Any = None, fov_deg: Any = None, range_m: Any = None) -> Assets:
        """Assets from columns (missing optional columns are NaN); validates lengths and codes."""
        ids_t = tuple(ids)
        n = len(ids_t)

        def col(v: Any, name: str) -> F64:
            a = np.full(n, np.nan) if v is None else np.asarray(v, float).reshape(-1)
            if len(a) != n:
                raise ValidationError(f"must have one value per asset ({n})", field=name)
            return a

        at = np.asarray(asset_type, np.int8).reshape(-1)
        if len(at) != n or (n and (at.min() < 0 or at.max() >= len(ASSET_TYPES))):
            raise ValidationError("must be codes into ASSET_TYPES, one per asset",
                                  field="asset_type")
        lo, la = col(lon, "lon"), col(lat, "lat")
        if not (np.all(np.abs(lo) <= 180) and np.all(np.abs(la) <= 90)):
            raise ValidationError("must be finite degrees", field="lon/lat")
        return cls(ids_t, at, lo, la, col(facing_deg, "facing_deg"), col(fov_deg, "fov_deg"),
                   col(range_m, "range_m"))

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class Intervals:
    """Time intervals ``[start_ns, end_ns)`` of asset rows (UTC nanoseconds; an open end is
    ``int64`` max)."""

    asset: I64
    start_ns: I64
    end_ns: I64

    @classmethod
    def of(cls, asset: Any, start_ns: Any, end_ns: Any) -> Intervals:
        a = np.asarray(asset, np.int64).reshape(-1)
        s = np.asarray(start_ns, np.int64).reshape(-1)
        e = np.asarray(end_ns, np.int64).reshape(-1)
        if not len(a) == len(s) == len(e):
            raise ValidationError("asset, start_ns and end_ns must have one length",
                                  field="intervals")
        return cls(a, s, e)

    @classmethod
    def empty(cls) -> Intervals:
        z = np.zeros(0, np.int64)
        return cls(z, z, z)

    def __len__(self) -> int:
        return len(self.asset)


@dataclass(frozen=True)
class DeniedAreas:
    """Areas the mission was denied: a disc (centre lon/lat, ``radius_m``) over a time."""

    lon: F64
    lat: F64
    radius_m: F64
    start_ns: I64
    end_ns: I64

    @classmethod
    def empty(cls) -> DeniedAreas:
        z = np.zeros(0)
        return cls(z, z, z, z.astype(np.int64), z.astype(np.int64))


@dataclass(frozen=True)
class SectorShare:
    """The observed share of one party's side of one sector in a window."""

    sector: str
    party: str
    share: float
    area_km2: float


@dataclass(frozen=True)
class Gap:
    """A stretch of the line where a party's side was observed less than the threshold."""

    party: str
    sector: str | None
    from_km: float
    to_km: float
    share: float

    @property
    def length_km(self) -> float:
        return self.to_km - self.from_km

    def describe(self) -> str:
        where = f"{self.sector}, " if self.sector else ""
        return (f"{self.party}'s side, {where}km {self.from_km:.0f}-{self.to_km:.0f} "
                f"({self.length_km:.0f} km, observed {100 * self.share:.0f} %)")


def to_ns(t: datetime) -> int:
    """An aware datetime as UTC nanoseconds since the epoch."""
    if t.tzinfo is None:
        raise ValidationError("needs a timezone", field="time")
    u = t.astimezone(UTC).replace(tzinfo=None)
    return int(np.datetime64(u, "ns").astype(np.int64))


# ----------------------------------------------------------------------------------------------
# build
# ----------------------------------------------------------------------------------------------


def _available(n_assets: int, active: Intervals, down: Intervals) -> Intervals:
    """Per asset, its active intervals minus its down intervals, as disjoint pieces."""
    if not len(active):
        return Intervals.empty()
    for name, iv in (("active", active), ("down", down)):
        if len(iv) and (iv.asset.min() < 0 or iv.asset.max() >= n_assets):
            raise ValidationError("refers to an asset row that does not exist", field=name)
        if np.any(iv.end_ns <= iv.start_ns):
            raise ValidationError("every interval must end after it starts", field=name)
    a = np.concatenate([active.asset, active.asset, down.asset, down.asset])
    t = np.concatenate([active.start_ns, active.end_ns, down.start_ns, down.end_ns])
    na, nd = len(active), len(down)
    d_act = np.concatenate([np.ones(na), -np.ones(na), np.zeros(2 * nd)]).astype(np.int64)
    d_down = np.concatenate([np.zeros(2 * na), np.ones(nd), -np.ones(nd)]).astype(np.int64)
    order = np.lexsort((t, a))
    a, t, d_act, d_down = a[order], t[order], d_act[order], d_down[order]
    # every asset's counts return to zero after its last event, so one cumsum serves all
    on = (np.cumsum(d_act) > 0) & (np.cumsum(d_down) == 0)
    nxt = np.flatnonzero(on[:-1] & (a[1:] == a[:-1]) & (t[1:] > t[:-1]))
    if not len(nxt):
        return Intervals.empty()
    # merge touching pieces of one asset (e.g. manned 06-12 and 12-18)
    s, e, aa = t[nxt], t[nxt + 1], a[nxt]
    joined = np.concatenate([[False], (aa[1:] == aa[:-1]) & (s[1:] == e[:-1])])
    start_of = np.flatnonzero(~joined)
    end_of = np.concatenate([start_of[1:] - 1, [len(s) - 1]])
    return Intervals(aa[start_of], s[start_of], e[end_of])


def _band_cells(idx: Any, x0: float, y0: float, x1: float, y1: float, cell_m: float,
                band_m: float) -> tuple[F64, F64]:
    """Centres of the grid's cells in the box that may lie within ``band_m`` of the line:
    blocks of k x k cells (k * cell_m about 4 km) whose centre is farther than the band plus
    the block's half-diagonal are skipped whole, so the line is queried ~k^2 fewer times."""
    k = max(1, math.ceil(4_000.0 / cell_m))
    block = k * cell_m
    bx = np.arange(math.floor(x0 / block), math.ceil(x1 / block)) * block
    by = np.arange(math.floor(y0 / block), math.ceil(y1 / block)) * block
    ox, oy = (v.ravel() for v in np.meshgrid(bx, by))
    near = idx.query(ox + block / 2, oy + block / 2).dist <= band_m + block * math.sqrt(0.5)
    ox, oy = ox[near], oy[near]
    fx, fy = (v.ravel() for v in np.meshgrid((np.arange(k) + 0.5) * cell_m,
                                            (np.arange(k) + 0.5) * cell_m))
    return (ox[:, None] + fx[None, :]).ravel(), (oy[:, None] + fy[None, :]).ravel()


def _true_north_grid_angle(geom: CompiledGeometry, lon: F64, lat: F64) -> F64:
    """Grid azimuth (deg) of true north at each point: the meridian convergence."""
    x0, y0 = geom.projection.forward(lon, lat)
    x1, y1 = geom.projection.forward(lon, np.minimum(lat + 0.01, 89.99))
    return np.asarray(np.degrees(np.arctan2(x1 - x0, y1 - y0)), float)


def build_coverage(
    geom: CompiledGeometry,
    assets: Assets,
    active: Intervals,
    down: Intervals | None = None,
    denied: DeniedAreas | None = None,
    *,
    line: str | None = None,
    band_km: float | None = None,
    cell_m: float = 1_000.0,
    params: CoverageParams | None = None,
    as_of: datetime | None = None,
) -> Coverage:
    """The coverage model of a mission's assets against an agreement's compiled geometry.

    Parameters
    ----------
    geom : ``compile_geometry(...)`` of the agreement.
    assets : the asset rows (positions, type, camera facing, field of view, range).
    active : when each asset row was operating (manned, switched on, on patrol there).
    down : when an asset row could not observe (camera down, post unmanned, restricted).
    denied : areas the mission was denied, and when.
    line : the line whose sides are measured (default: the first line with both sides held,
        normally the line of contact).
    band_km : the band on each side of the line (default ``params.band_km``).
    cell_m : the grid's cell size in metres (projected CRS).
    as_of : the latest time the inputs speak for (``end=None`` in queries means this); default
        the latest finite interval end.

    Examples
    --------
    >>> from shapely import LineString, box
    >>> from truceline.core.classify import ControlPeriod, GeometrySpec, compile_geometry
    >>> spec = GeometrySpec(
    ...     parties=("west", "east"),
    ...     lines={"contact": LineString([(30.0, 49.0), (30.0, 51.0)])},
    ...     control=(ControlPeriod("west", box(28.0, 48.0, 30.0, 52.0)),
    ...              ControlPeriod("east", box(30.0, 48.0, 32.0, 52.0))),
    ...     area_of_interest=box(28.0, 48.0, 32.0, 52.0))
    >>> g = compile_geometry(spec)
    >>> a = Assets.of(["op-1"], [POST], [29.95], [50.0], range_m=[10_000.0])
    >>> t0 = to_ns(datetime(2025, 3, 20, tzinfo=UTC))
    >>> cov = build_coverage(g, a, Intervals.of([0], [t0], [t0 + 86_400 * 10**9]))
    >>> start = datetime(2025, 3, 20, tzinfo=UTC)
    >>> round(cov.share("west", start, None, frozenset({"presence"})), 2)  # 227 / 3690 km2
    0.06
    >>> cov.share("east", start, None, frozenset({"presence"}))  # 3.6 km from the line: 6.4 in
    ... # doctest: +ELLIPSIS
    0.0...
    """
    p = params or CoverageParams()
    band_m = (p.band_km if band_km is None else band_km) * 1000.0
    if not cell_m > 0 or not band_m > 0:
        raise ValidationError("cell_m and band_km must be positive", field="cell_m")
    if line is None:
        line = next((lid for lid, cl in geom.lines.items()
                     if cl.left_party >= 0 and cl.right_party >= 0), next(iter(geom.lines)))
    if line not in geom.lines:
        raise ValidationError(f"no line {line!r}", field="line")
    cl = geom.lines[line]
    idx = cl.index
    # -- the grid: cells of the band, in the area of interest -----------------------------------
    x0 = float(np.min(idx.ax + np.minimum(idx.dx, 0))) - band_m
    x1 = float(np.max(idx.ax + np.maximum(idx.dx, 0))) + band_m
    y0 = float(np.min(idx.ay + np.minimum(idx.dy, 0))) - band_m
    y1 = float(np.max(idx.ay + np.maximum(idx.dy, 0))) + band_m
    cx, cy = _band_cells(idx, x0, y0, x1, y1, cell_m, band_m)
    hit = idx.query(cx, cy)
    keep = hit.dist <= band_m
    keep[keep] &= geom.aoi(cx[keep], cy[keep])
    cx, cy = cx[keep], cy[keep]
    side = hit.side[keep]
    party = np.where(side > 0, cl.left_party, np.where(side < 0, cl.right_party, -1))
    chain = hit.chainage[keep]
    dist = hit.dist[keep]
    sectors = [s for s in geom.spec.sectors if s.line == line]
    sector = np.full(len(cx), -1, np.int16)
    for k, s in enumerate(sectors):
        free = sector < 0
        sector[free & (chain >= s.from_km * 1e3) & (chain < s.to_km * 1e3)] = k
    # -- footprints: (asset, cell) pairs with a bit per column ---------------------------------
    n = len(assets)
    ranges = p.ranges()[assets.asset_type.astype(np.intp)] if n else np.zeros((0, 4))
    own = np.isfinite(assets.range_m) & (assets.range_m > 0)
    vis_types = np.isin(assets.asset_type, (POST, PATROL, CAMERA))
    ranges[own & vis_types, _VISUAL] = assets.range_m[own & vis_types]
    ax, ay = geom.projection.forward(assets.lon, assets.lat)
    tree = cKDTree(np.column_stack([cx, cy])) if len(cx) else None
    pair_a: I64 = np.zeros(0, np.int64)
    pair_c: I64 = np.zeros(0, np.int64)
    bits: NDArray[np.uint8] = np.zeros(0, np.uint8)
    if n and tree is not None:
        reach = ranges.max(axis=1)
        lists = tree.query_ball_point(np.column_stack([ax, ay]), reach, return_sorted=False)
        sizes = np.fromiter((len(x) for x in lists), np.int64, n)
        pair_a = np.repeat(np.arange(n, dtype=np.int64), sizes)
        pair_c = (np.concatenate([np.asarray(x, np.int64) for x in lists])
                  if sizes.sum() else np.zeros(0, np.int64))
        ddx, ddy = cx[pair_c] - ax[pair_a], cy[pair_c] - ay[pair_a]
        d = np.hypot(ddx, ddy)
        ok = d[:, None] <= ranges[pair_a]
        fov = np.where(np.isfinite(assets.fov_deg), assets.fov_deg,
                       np.where(assets.asset_type == CAMERA, p.camera_fov_deg, 360.0))
        aimed = np.isfinite(assets.facing_deg) & (fov < 360.0)
        if aimed.any():
            north = _true_north_grid_angle(geom, assets.lon, assets.lat)
            sel = aimed[pair_a]
            pa = pair_a[sel]
            az = np.degrees(np.arctan2(ddx[sel], ddy[sel])) - north[pa]
            off = np.abs((az - assets.facing_deg[pa] + 180.0) % 360.0 - 180.0)
            ok[sel] &= ((off <= fov[pa] / 2) | (d[sel] < 1.0))[:, None]
        bits = (ok * (1 << np.arange(len(_COLUMNS)))).sum(axis=1).astype(np.uint8)
        nz = bits > 0
        pair_a, pair_c, bits = pair_a[nz], pair_c[nz], bits[nz]
    # -- time -----------------------------------------------------------------------------------
    avail = _available(n, active, down or Intervals.empty())
    den = denied or DeniedAreas.empty()
    den_c: I64 = np.zeros(0, np.int64)
    den_i: I64 = np.zeros(0, np.int64)
    if len(den.lon) and tree is not None:
        if np.any(den.end_ns <= den.start_ns):
            raise ValidationError("every interval must end after it starts", field="denied")
        dx_, dy_ = geom.projection.forward(den.lon, den.lat)
        lists = tree.query_ball_point(np.column_stack([dx_, dy_]), den.radius_m,
                                      return_sorted=False)
        sizes = np.fromiter((len(x) for x in lists), np.int64, len(lists))
        den_i = np.repeat(np.arange(len(lists), dtype=np.int64), sizes)
        den_c = (np.concatenate([np.asarray(x, np.int64) for x in lists])
                 if sizes.sum() else np.zeros(0, np.int64))
    ends = np.concatenate([avail.end_ns, avail.start_ns, den.end_ns, den.start_ns])
    ends = ends[(ends != _T_MAX) & (ends != _T_MIN)]
    as_of_ns = to_ns(as_of) if as_of is not None else (int(ends.max()) if len(ends) else None)
    order = np.argsort(pair_a, kind="stable")
    return Coverage(
        parties=geom.spec.parties, sector_names=tuple(s.id for s in sectors),
        line=line, line_length_m=float(idx.length_m), cell_m=float(cell_m), band_m=band_m,
        x=cx, y=cy, party=party.astype(np.int16), sector=sector, chainage_m=chain,
        dist_m=dist, pair_asset=pair_a[order], pair_cell=pair_c[order], pair_bits=bits[order],
        available=avail, denied_cell=den_c, denied_start=den.start_ns[den_i],
        denied_end=den.end_ns[den_i], asset_ids=assets.ids, as_of_ns=as_of_ns,
    )


# ----------------------------------------------------------------------------------------------
# the model and its queries
# ----------------------------------------------------------------------------------------------


def _kind_columns(kinds: frozenset[str] | None) -> tuple[int, ...]:
    if kinds is None:
        return ()
    out = set()
    for k in kinds:
        if k not in COVERAGE_KINDS:
            raise ValidationError(f"unknown kind {k!r}; known: {', '.join(COVERAGE_KINDS)}",
                                  field="kinds")
        out.add(COVERAGE_KINDS[k])
    return tuple(sorted(out))


@dataclass(eq=False)
class Coverage:
    """The cells of the band, the assets' footprints on them and when the assets observed.

    Build with :func:`build_coverage`. Queries take a window ``[start, end)`` (aware datetimes;
    ``end=None`` is :attr:`as_of`) and a set of kinds (``None``: any kind, i.e. a cell counts as
    observed when any asset could observe anything there; a set: every kind in it must be
    observable there at that time).
    """

    parties: tuple[str, ...]
    sector_names: tuple[str, ...]
    line: str
    line_length_m: float
    cell_m: float
    band_m: float
    x: F64
    y: F64
    party: NDArray[np.int16]
    sector: NDArray[np.int16]
    chainage_m: F64
    dist_m: F64
    pair_asset: I64
    pair_cell: I64
    pair_bits: NDArray[np.uint8]
    available: Intervals
    denied_cell: I64
    denied_start: I64
    denied_end: I64
    asset_ids: tuple[str, ...] = ()
    as_of_ns: int | None = None
    _cache: dict[tuple[int, int, tuple[int, ...]], F64] = field(default_factory=dict)

    @property
    def n_cells(self) -> int:
        return len(self.x)

    @property
    def as_of(self) -> datetime | None:
        if self.as_of_ns is None:
            return None
        return datetime.fromtimestamp(self.as_of_ns // 10**9, UTC)

    @cached_property
    def _pair_offsets(self) -> I64:
        n = int(self.pair_asset.max()) + 1 if len(self.pair_asset) else 0
        return np.concatenate([[0], np.cumsum(np.bincount(self.pair_asset, minlength=n))])

    def _window(self, start: datetime, end: datetime | None) -> tuple[int, int]:
        s = to_ns(start)
        if end is not None:
            e = to_ns(end)
        elif self.as_of_ns is not None:
            e = self.as_of_ns
        else:
            e = s
        return s, max(s, e)

    def covered_fraction(self, start: datetime, end: datetime | None,
                         kinds: frozenset[str] | None = None) -> F64:
        """Per cell, the share of the window it was observed (0 for an empty window)."""
        s, e = self._window(start, end)
        if e <= s:
            return np.zeros(self.n_cells)
        return self._covered_ns(s, e, _kind_columns(kinds)) / float(e - s)

    def _covered_ns(self, s: int, e: int, cols: tuple[int, ...]) -> F64:
        key = (s, e, cols)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        out = _sweep(self, s, e, cols)
        if len(self._cache) >= 16:
            self._cache.pop(next(iter(self._cache)))
        self._cache[key] = out
        return out

    def _party_ix(self, party: str) -> int:
        if party not in self.parties:
            raise ValidationError(f"unknown party {party!r}", field="party")
        return self.parties.index(party)

    def share(self, party: str, start: datetime, end: datetime | None,
              kinds: frozenset[str] | None = None) -> float:
        """The observed share (0..1) of ``party``'s side of the band in ``[start, end)``."""
        cells = self.party == self._party_ix(party)
        if not cells.any():
            return 0.0
        return float(self.covered_fraction(start, end, kinds)[cells].mean())

    def line_share(self, start: datetime, end: datetime | None,
                   kinds: frozenset[str] | None = None) -> float:
        """The observed share of both sides of the band together ("observed X % of the line")."""
        cells = self.party >= 0
        if not cells.any():
            return 0.0
        return float(self.covered_fraction(start, end, kinds)[cells].mean())

    def by_sector(self, start: datetime, end: datetime | None,
                  kinds: frozenset[str] | None = None) -> list[SectorShare]:
        """Per sector of the line and party, the observed share of that side of the sector."""
        frac = self.covered_fraction(start, end, kinds)
        ok = (self.party >= 0) & (self.sector >= 0)
        n_p, n_s = len(self.parties), len(self.sector_names)
        key = self.sector[ok].astype(np.int64) * n_p + self.party[ok]
        cnt = np.bincount(key, minlength=n_p * n_s)
        tot = np.bincount(key, weights=frac[ok], minlength=n_p * n_s)
        area = self.cell_m**2 / 1e6
        return [SectorShare(self.sector_names[k // n_p], self.parties[k % n_p],
                            float(tot[k] / cnt[k]), float(cnt[k] * area))
                for k in range(n_p * n_s) if cnt[k]]

    def gaps(self, start: datetime, end: datetime | None, kinds: frozenset[str] | None = None,
             *, party: str | None = None, below: float = 0.5,
             bin_km: float = 5.0) -> list[Gap]:
        """Stretches of the line where a party's side was observed less than ``below``.

        The line is cut into ``bin_km`` stretches by chainage; each stretch's share is that of
        the party's cells nearest to it; adjacent stretches below the threshold are merged
        (sector: the sector of the stretch's start). Sorted by party, then chainage.
        """
        frac = self.covered_fraction(start, end, kinds)
        parties = range(len(self.parties)) if party is None else [self._party_ix(party)]
        nb = max(1, math.ceil(self.line_length_m / (bin_km * 1e3)))
        b = np.minimum((self.chainage_m // (bin_km * 1e3)).astype(np.int64), nb - 1)
        out: list[Gap] = []
        for pi in parties:
            m = self.party == pi
            cnt = np.bincount(b[m], minlength=nb)
            tot = np.bincount(b[m], weights=frac[m], minlength=nb)
            sec = np.full(nb, -1, np.int64)
            np.maximum.at(sec, b[m], self.sector[m].astype(np.int64))
            share = np.divide(tot, cnt, out=np.ones(nb), where=cnt > 0)
            low = (share < below) & (cnt > 0)
            edges = np.flatnonzero(np.diff(np.concatenate([[0], low.astype(np.int8), [0]])))
            for a, z in zip(edges[::2], edges[1::2], strict=True):
                s_ix = int(sec[a])
                out.append(Gap(
                    self.parties[pi], self.sector_names[s_ix] if s_ix >= 0 else None,
                    a * bin_km, min(z * bin_km, self.line_length_m / 1e3),
                    float(tot[a:z].sum() / max(cnt[a:z].sum(), 1))))
        return out

    def summary(self, start: datetime, end: datetime | None,
                kinds: frozenset[str] | None = None, *, below: float = 0.5) -> dict[str, Any]:
        """A JSON-ready summary: shares of the line and per party, per sector, and the gaps
        (no asset positions: safe for every role)."""
        return {
            "kinds": sorted(kinds) if kinds else None,
            "band_km": self.band_m / 1e3,
            "line_share": round(self.line_share(start, end, kinds), 4),
            "parties": {p: round(self.share(p, start, end, kinds), 4) for p in self.parties
                        if (self.party == self.parties.index(p)).any()},
            "sectors": [{"sector": s.sector, "party": s.party, "share": round(s.share, 4),
                         "area_km2": round(s.area_km2, 1)}
                        for s in self.by_sector(start, end, kinds)],
            "gaps": [{"party": g.party, "sector": g.sector, "from_km": g.from_km,
                      "to_km": round(g.to_km, 3), "share": round(g.share, 4)}
                     for g in self.gaps(start, end, kinds, below=below)],
        }


def _sweep(cov: Coverage, s: int, e: int, cols: tuple[int, ...]) -> F64:
    """Covered nanoseconds of every cell in ``[s, e)``: one sort over (cell, time) events.

    Each available interval of an asset (clipped to the window) gives, for every cell of its
    footprint, a +1 at its start and a -1 at its end in each requested column it covers; each
    denied interval a +1/-1 in the denial count. After sorting by (cell, time) the running
    sums are each cell's counts (every cell's sums return to zero), and a cell is observed
    between two of its events when every requested column's count is positive and the denial
    count is zero.
    """
    n_cells = len(cov.x)
    out = np.zeros(n_cells)
    av = cov.available
    st = np.maximum(av.start_ns, s)
    en = np.minimum(av.end_ns, e)
    live = np.flatnonzero(en > st)
    off = cov._pair_offsets
    n_assets_fp = len(off) - 1
    live = live[av.asset[live] < n_assets_fp]
    if not len(live):
        return out
    a = av.asset[live]
    lo, hi = off[a], off[a + 1]
    sizes = hi - lo
    if not sizes.sum():
        return out
    # (interval, pair) rows: each interval times its asset's footprint
    iv = np.repeat(np.arange(len(live)), sizes)
    pair = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes) + lo[iv]
    mask = 0
    for c in cols or range(len(_COLUMNS)):
        mask |= 1 << c
    pb = cov.pair_bits[pair]
    rel = (pb & mask) != 0
    iv, pair, pb = iv[rel], pair[rel], pb[rel]
    ncol = max(len(cols), 1)
    if cols:
        dcols = np.stack([(pb >> c) & 1 for c in cols], axis=1).astype(np.int32)
    else:
        dcols = np.ones((len(pb), 1), np.int32)  # any kind: one count of covering assets
    cell = cov.pair_cell[pair]
    t0, t1 = st[live][iv] - s, en[live][iv] - s
    dsel = (cov.denied_end > s) & (cov.denied_start < e)
    dcell = cov.denied_cell[dsel]
    d0 = np.maximum(cov.denied_start[dsel], s) - s
    d1 = np.minimum(cov.denied_end[dsel], e) - s
    k = len(cell)
    m = len(dcell)
    ev_cell = np.concatenate([cell, cell, dcell, dcell])
    ev_t = np.concatenate([t0, t1, d0, d1])
    delta = np.zeros((2 * k + 2 * m, ncol + 1), np.int32)
    delta[:k, :ncol] = dcols
    delta[k:2 * k, :ncol] = -dcols
    delta[2 * k:2 * k + m, ncol] = 1
    delta[2 * k + m:, ncol] = -1
    order = np.lexsort((ev_t, ev_cell))
    ev_cell, ev_t, delta = ev_cell[order], ev_t[order], delta[order]
    run = np.cumsum(delta, axis=0)
    on = np.all(run[:, :ncol] > 0, axis=1) & (run[:, ncol] == 0)
    same = ev_cell[1:] == ev_cell[:-1]
    dur = np.where(on[:-1] & same, ev_t[1:] - ev_t[:-1], 0).astype(np.float64)
    out += np.bincount(ev_cell[:-1], weights=dur, minlength=n_cells)
    return out
