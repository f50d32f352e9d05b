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
    def _lattice(self) -> tuple[int, int, int, int, I64, I64]:
        """The cells' lattice: the centres are ``(i + 0.5, j + 0.5) * cell_m`` for integers
        ``i, j`` (:func:`_band_cells`). ``(i0, j0, w, h, keys, cells)``: each cell's key
        ``(i - i0) * h + j - j0`` in sorted order and the cell it is, so the cells of one
        lattice row between two columns are one run of ``keys``."""
        i = np.rint(self.x / self.cell_m - 0.5).astype(np.int64)
        j = np.rint(self.y / self.cell_m - 0.5).astype(np.int64)
        tol = 1e-6 * self.cell_m
        if not (np.allclose((i + 0.5) * self.cell_m, self.x, rtol=0, atol=tol)
                and np.allclose((j + 0.5) * self.cell_m, self.y, rtol=0, atol=tol)):
            raise ValueError("the grid's cell centres are not on its lattice")
        i0, j0 = int(i.min()), int(j.min())
        w, h = int(i.max()) - i0 + 1, int(j.max()) - j0 + 1
        key = (i - i0) * h + (j - j0)
        order = np.argsort(key, kind="stable")
        return i0, j0, w, h, key[order], order.astype(np.int64)

    def within(self, px: F64, py: F64, radius_m: Any) -> tuple[I64, I64]:
        """The (point row, cell) pairs where a cell centre lies within ``radius_m`` (one value,
        or one per point) of a point (projected coordinates), sorted by point row.

        The cells are a lattice, so each point takes, lattice row by lattice row, the run of
        cells whose columns may lie within its radius, and keeps those within it (squared
        distances, as a k-d tree compares them): numpy alone, where a k-d tree cost
        ``scipy.spatial``'s 0.4 s import in every process that draws coverage (a daily
        report)."""
        empty: I64 = np.zeros(0, np.int64)
        px, py = np.asarray(px, float), np.asarray(py, float)
        if not len(px) or not len(self.x):
            return empty, empty
        r = np.broadcast_to(np.asarray(radius_m, float), px.shape)
        ok = np.isfinite(px) & np.isfinite(py) & (r >= 0)
        i0, j0, w, h, keys, cells = self._lattice
        # reach in cells (an infinite radius reaches the whole lattice)
        reach = np.where(ok, np.ceil(np.minimum(r, (w + h) * self.cell_m) / self.cell_m), 0)
        rows_out, cells_out = [empty], [empty]
        for k in np.unique(reach[ok]).astype(np.int64):
            rows = np.flatnonzero(ok & (reach == k))
            # lattice rows from the point's cell, and the columns each may reach: a point
            # anywhere in its cell comes within |d| - 1/2 cells of a node d cells away
            di = np.arange(-k - 1, k + 2, dtype=np.int64)
            gi = np.maximum(np.abs(di) - 0.5, 0.0)
            keep = gi <= k
            di = di[keep]
            dj = np.floor(np.sqrt(k * k - gi[keep] ** 2) + 0.5).astype(np.int64)
            ii = (np.floor(px[rows] / self.cell_m).astype(np.int64) - i0)[:, None] + di
            cj = (np.floor(py[rows] / self.cell_m).astype(np.int64) - j0)[:, None]
            jlo, jhi = np.maximum(cj - dj, 0), np.minimum(cj + dj, h - 1)
            live = (ii >= 0) & (ii < w) & (jlo <= jhi)
            lo = np.searchsorted(keys, (ii * h + jlo)[live], "left")
            hi = np.searchsorted(keys, (ii * h + jhi)[live], "right")
            n = hi - lo
            row = np.repeat(np.broadcast_to(rows[:, None], ii.shape)[live], n)
            start = np.repeat(lo - np.concatenate([[0], np.cumsum(n)[:-1]]), n)
            cell = cells[start + np.arange(len(row), dtype=np.int64)]
            dx, dy = self.x[cell] - px[row], self.y[cell] - py[row]
            near = dx * dx + dy * dy <= r[row] * r[row]
            rows_out.append(row[near])
            cells_out.append(cell[near])
        row, cell = np.concatenate(rows_out), np.concatenate(cells_out)
        order = np.argsort(row, kind="stable")  # runs already sorted: a merge
        return row[order], cell[order]


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
