"""The coverage model's footprints: which cells of the grid each monitoring asset can observe.

An asset covers a cell for a kind of event when the cell centre is within the asset's range for
that kind (planar distance in the projection; its scale error, < 0.05 % for the 2025 line, is far
below any range's own uncertainty) and, for a camera, within its field of view (true azimuths:
the grid bearing is corrected by the meridian convergence at the camera). Without a digital
elevation model, visual range stands for line of sight, the observer's geometric horizon by
default (:class:`CoverageParams`). With one (``terrain``), what is *seen* needs a terrain line
of sight too (:func:`truceline.core.terrain.visible`): every column of a camera (muzzle flashes
and bursts are seen) and the visual column of posts and patrols. What is *heard* stays
range-only: the fire columns of posts and patrols (heard by day) and of acoustic arrays, since
sound diffracts over ridges. Ranges differ by asset type (post, patrol, camera,
acoustic array) and by column: fire of each heavy weapon class, and visual sightings. The grid
is :mod:`truceline.core.coverage_grid`; the model and its queries :mod:`truceline.core.coverage`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from truceline.core.classify import CompiledGeometry
from truceline.core.coverage_grid import Grid
from truceline.core.taxonomy import AssetType
from truceline.core.terrain import Dem, visible
from truceline.errors import ValidationError

__all__ = [
    "ARRAY",
    "ASSET_TYPES",
    "CAMERA",
    "COLUMNS",
    "PATROL",
    "POST",
    "VISUAL",
    "Assets",
    "CoverageParams",
    "Footprints",
    "footprints",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
I8 = NDArray[np.int8]

#: Asset types (the vocabulary's :class:`AssetType`), in the order of the codes in
#: :attr:`Assets.asset_type`.
ASSET_TYPES: tuple[str, ...] = tuple(a.value for a in AssetType)
POST, PATROL, CAMERA, ARRAY = range(4)

#: The footprint's columns: fire heard or seen, by weapon class, and visual sightings (the
#: coverage kinds, :data:`truceline.core.coverage.COVERAGE_KINDS`, map onto them).
COLUMNS: tuple[str, ...] = ("fire:mortar", "fire:tube_artillery", "fire:mlrs", "visual")
VISUAL = 3


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
    eye_height_m: tuple[float, float, float, float] = (2.0, 2.0, 5.0, 0.0)
    """With a terrain model: the observer's height above ground by asset type (post, patrol:
    eyes; camera: a mast; arrays are not line-of-sight limited)."""
    target_height_m: float = 2.0
    """With a terrain model: the height above ground of what is seen (a muzzle flash)."""

    def ranges(self) -> F64:
        """``(asset type, column)`` default ranges in metres (0: that type cannot observe it)."""
        out = np.zeros((len(ASSET_TYPES), len(COLUMNS)))
        out[POST, :3] = out[PATROL, :3] = self.monitor_fire_m
        out[ARRAY, :3] = self.array_fire_m
        out[CAMERA, :3] = self.camera_fire_m
        out[[POST, PATROL, CAMERA], VISUAL] = self.visual_m
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
class Footprints:
    """The (asset, cell) pairs where an asset observes at least one column, sorted by asset,
    with bit ``c`` of ``bits`` set when it observes column ``c`` (:data:`COLUMNS`) there."""

    asset: I64
    cell: I64
    bits: NDArray[np.uint8]


def _true_north_grid_angle(geom: CompiledGeometry, lon: F64, lat: F64) -> F64:
    """Grid azimuth (deg) of true north at each point: the meridian convergence."""
    x0, y0 = geom.projection.forward(lon, lat)
    x1, y1 = geom.projection.forward(lon, np.minimum(lat + 0.01, 89.99))
    return np.asarray(np.degrees(np.arctan2(x1 - x0, y1 - y0)), float)


def _terrain_mask(geom: CompiledGeometry, grid: Grid, assets: Assets, params: CoverageParams,
                  terrain: Dem, pair_a: I64, pair_c: I64, ok: NDArray[np.bool_]) -> None:
    """Clear, in place, the seen columns of the pairs whose cell centre the asset cannot see
    over the terrain (cameras: every column; posts, patrols: visual; arrays: none)."""
    seen = np.zeros((len(ASSET_TYPES), len(COLUMNS)), bool)
    seen[CAMERA, :] = True
    seen[[POST, PATROL], VISUAL] = True
    mask = seen[assets.asset_type.astype(np.intp)][pair_a]
    check = np.flatnonzero((ok & mask).any(axis=1))
    if not len(check):
        return
    clon, clat = geom.projection.inverse(grid.x[pair_c[check]], grid.y[pair_c[check]])
    hidden = np.zeros(len(check), bool)
    pa = pair_a[check]
    for i in np.unique(pa):
        s = pa == i
        hidden[s] = ~visible(terrain, float(assets.lon[i]), float(assets.lat[i]), clon[s],
                             clat[s], observer_h_m=params.eye_height_m[int(assets.asset_type[i])],
                             target_h_m=params.target_height_m)
    rows = check[hidden]
    ok[rows] &= ~mask[rows]


def footprints(geom: CompiledGeometry, grid: Grid, assets: Assets,
               params: CoverageParams, terrain: Dem | None = None) -> Footprints:
    """Each asset's footprint on the grid: ranges by type (or the record's own visual range),
    a camera's (or any aimed asset's) field of view around its true facing, and, given a
    ``terrain`` model, a line of sight for what is seen (module docstring)."""
    n = len(assets)
    ranges = params.ranges()[assets.asset_type.astype(np.intp)] if n else np.zeros((0, 4))
    own = np.isfinite(assets.range_m) & (assets.range_m > 0)
    vis_types = np.isin(assets.asset_type, (POST, PATROL, CAMERA))
    ranges[own & vis_types, VISUAL] = assets.range_m[own & vis_types]
    ax, ay = geom.projection.forward(assets.lon, assets.lat)
    pair_a: I64 = np.zeros(0, np.int64)
    pair_c: I64 = np.zeros(0, np.int64)
    bits: NDArray[np.uint8] = np.zeros(0, np.uint8)
    if n and len(grid):
        pair_a, pair_c = grid.within(ax, ay, ranges.max(axis=1))
        ddx, ddy = grid.x[pair_c] - ax[pair_a], grid.y[pair_c] - ay[pair_a]
        d = np.hypot(ddx, ddy)
        ok = d[:, None] <= ranges[pair_a]
        fov = np.where(np.isfinite(assets.fov_deg), assets.fov_deg,
                       np.where(assets.asset_type == CAMERA, params.camera_fov_deg, 360.0))
        aimed = np.isfinite(assets.facing_deg) & (fov < 360.0)
        if aimed.any():
            north = _true_north_grid_angle(geom, assets.lon, assets.lat)
            sel = aimed[pair_a]
            pa = pair_a[sel]
            az = np.degrees(np.arctan2(ddx[sel], ddy[sel])) - north[pa]
            off = np.abs((az - assets.facing_deg[pa] + 180.0) % 360.0 - 180.0)
            ok[sel] &= ((off <= fov[pa] / 2) | (d[sel] < 1.0))[:, None]
        if terrain is not None:
            _terrain_mask(geom, grid, assets, params, terrain, pair_a, pair_c, ok)
        bits = (ok * (1 << np.arange(len(COLUMNS)))).sum(axis=1).astype(np.uint8)
        nz = bits > 0
        pair_a, pair_c, bits = pair_a[nz], pair_c[nz], bits[nz]
    order = np.argsort(pair_a, kind="stable")
    return Footprints(pair_a[order], pair_c[order], bits[order])
