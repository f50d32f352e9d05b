"""The coverage model's grid: the cells of the band on each side of a line.

Square cells of ``cell_m`` in the agreement's projected CRS, kept where the cell centre lies in
the area of interest and within ``band_m`` of the line (the *band*). A cell belongs to the party
holding its side of the line (``CompiledLine`` sides), to the sector whose chainage range holds
its nearest point on the line, and to that chainage. The footprints
(:mod:`truceline.core.coverage_footprints`) and the denied areas are sets of these cells; the
model and its queries are in :mod:`truceline.core.coverage` (see ``docs/coverage.md``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from truceline.core.classify import CompiledGeometry
from truceline.errors import ValidationError

__all__ = ["Grid", "band_grid"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True)
class Grid:
    """The cells of the band around one line, one row each (centres in the projection)."""

    line: str
    line_length_m: float
    cell_m: float
    band_m: float
    sector_names: tuple[str, ...]
    x: F64
    y: F64
    party: NDArray[np.int16]
    """The party index holding the cell's side of the line (-1: neither)."""
    sector: NDArray[np.int16]
    """The index into :attr:`sector_names` (-1: no sector)."""
    chainage_m: F64
    dist_m: F64

    def __len__(self) -> int:
        return len(self.x)

    @cached_property
    def _tree(self) -> Any:
        return cKDTree(np.column_stack([self.x, self.y])) if len(self.x) else None

    def within(self, px: F64, py: F64, radius_m: Any) -> tuple[I64, I64]:
        """The (point row, cell) pairs where a cell centre lies within ``radius_m`` (one value,
        or one per point) of a point (projected coordinates), sorted by point row."""
        empty: I64 = np.zeros(0, np.int64)
        if not len(px) or self._tree is None:
            return empty, empty
        lists = self._tree.query_ball_point(np.column_stack([px, py]), radius_m,
                                            return_sorted=False)
        sizes = np.fromiter((len(x) for x in lists), np.int64, len(lists))
        row = np.repeat(np.arange(len(lists), dtype=np.int64), sizes)
        cell = (np.concatenate([np.asarray(x, np.int64) for x in lists])
                if sizes.sum() else empty)
        return row, cell


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


def band_grid(geom: CompiledGeometry, line: str | None, band_m: float,
              cell_m: float) -> Grid:
    """The cells within ``band_m`` of ``line`` (default: the first line with both sides held,
    normally the line of contact) and in the area of interest."""
    if not cell_m > 0 or not band_m > 0:
        raise ValidationError("cell_m and band_km must be positive", field="cell_m")
    if line is None:
        line = next((lid for lid, cl in geom.lines.items()
                     if cl.left_party >= 0 and cl.right_party >= 0), next(iter(geom.lines)))
    if line not in geom.lines:
        raise ValidationError(f"no line {line!r}", field="line")
    cl = geom.lines[line]
    idx = cl.index
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
    sectors = [s for s in geom.spec.sectors if s.line == line]
    sector = np.full(len(cx), -1, np.int16)
    for k, s in enumerate(sectors):
        free = sector < 0
        sector[free & (chain >= s.from_km * 1e3) & (chain < s.to_km * 1e3)] = k
    return Grid(line=line, line_length_m=float(idx.length_m), cell_m=float(cell_m),
                band_m=band_m, sector_names=tuple(s.id for s in sectors), x=cx, y=cy,
                party=party.astype(np.int16), sector=sector, chainage_m=chain,
                dist_m=hit.dist[keep])
