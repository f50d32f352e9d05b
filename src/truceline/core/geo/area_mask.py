"""A polygon compiled to a grid of cells for fast point and box tests: a cell the boundary
does not touch answers from its centre, only points in touched cells go to GEOS.

Split from :mod:`truceline.core.classify`, which builds one per area of control and zone.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

F64 = NDArray[np.float64]
Mask = NDArray[np.bool_]

#: How many times finer than a mask's cells the boundary's fine map is (:meth:`AreaMask.boxes`).
FINE = 16


class AreaMask:
    """Point-in-area for projected points, with a raster shortcut.

    A cell the boundary does not touch lies wholly inside or outside (its state is its
    centre's); only points in the cells the boundary touches go to GEOS. Touched cells are found
    by sampling the boundary every ``cell / 4`` and marking the 3 x 3 neighbourhood of each
    sample (a boundary point is within ``cell / 8`` of a sample, hence in a marked cell).
    Points on the boundary count as inside (``intersects``).

    Boxes no wider than two cells of :data:`FINE` times finer (a 1 m grid cell's 4.5-sigma box
    of :func:`~truceline.core.fusion.region.cell_sides`: ~330k per day of a dense line, most
    within the touched cells' 3 km band) that reach a touched cell are answered by a finer map
    of the boundary alone: a box none of whose fine cells the boundary touches lies wholly
    inside or outside, as its corner does (one point test, a tenth of a box's cost in GEOS).
    """

    def __init__(self, geom_xy: Any, cell_m: float = 1_000.0) -> None:
        self.geom = geom_xy
        shapely.prepare(geom_xy)
        minx, miny, maxx, maxy = geom_xy.bounds
        self.cell, self.x0, self.y0 = cell_m, minx - cell_m, miny - cell_m
        self.nx = int((maxx - self.x0) // cell_m) + 2
        self.ny = int((maxy - self.y0) // cell_m) + 2
        b = shapely.get_coordinates(shapely.segmentize(geom_xy.boundary, cell_m / 4))
        touched = np.zeros((self.ny + 2, self.nx + 2), bool)
        ix = ((b[:, 0] - self.x0) // cell_m).astype(np.int64) + 1
        iy = ((b[:, 1] - self.y0) // cell_m).astype(np.int64) + 1
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                touched[iy + dy, ix + dx] = True
        touched = touched[1:-1, 1:-1]
        gx, gy = np.meshgrid(self.x0 + (np.arange(self.nx) + 0.5) * cell_m,
                             self.y0 + (np.arange(self.ny) + 0.5) * cell_m)
        state = shapely.intersects_xy(geom_xy, gx.ravel(), gy.ravel()).astype(np.uint8)
        state[touched.ravel()] = 2
        self.state = state

    @cached_property
    def _sats(self) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Summed-area tables of the cells that are not wholly outside / not wholly inside, so
        a box's cells are counted in O(1). Built on the first :meth:`boxes` call, not with the
        mask: a process that only tests points (a daily report) never pays their 8 bytes a
        cell, nor ~0.1 s per area on loading a kept geometry."""
        grid = self.state.reshape(self.ny, self.nx)
        return _sat(grid != 0), _sat(grid != 1)

    def __getstate__(self) -> dict[str, Any]:
        """Kept without the summed-area tables (rebuilt from ``state`` when needed): a
        compiled geometry kept between processes is a third the size."""
        return {k: v for k, v in self.__dict__.items() if k not in ("_sats", "_fine")}

    @cached_property
    def _fine(self) -> NDArray[np.int64]:
        """The cells of the :data:`FINE` times finer grid (same origin) the boundary touches,
        sorted ids (row-major), marked as the mask's own are: the boundary
        sampled every fine cell / 4, the 3 x 3 neighbourhood of each sample's cell, so every
        boundary point's cell is marked (it lies within fine / 8 of a sample). Built on the
        first box that needs it, never pickled."""
        f = self.cell / FINE
        nxf = self.nx * FINE
        b = shapely.get_coordinates(shapely.segmentize(self.geom.boundary, f / 4))
        ix = np.floor((b[:, 0] - self.x0) / f).astype(np.int64)
        iy = np.floor((b[:, 1] - self.y0) / f).astype(np.int64)
        ids = np.unique((iy + 1) * (nxf + 2) + ix + 1)  # a margin: no sample's cell wraps
        iy, ix = np.divmod(ids, nxf + 2)
        base = (iy - 1) * nxf + ix - 1
        out = np.sort(np.concatenate([base + dy * nxf + dx
                                      for dy in (-1, 0, 1) for dx in (-1, 0, 1)]))
        return out[np.r_[True, out[1:] != out[:-1]]]  # once each: ~0.6M ids on 1,327 x 892 km

    def _clear(self, x0: F64, y0: F64, x1: F64, y1: F64) -> Mask:
        """Which boxes provably hold no boundary point: within the grid, at most two fine
        cells each way, none of them touched (:attr:`_fine`). A point in a closed box has its
        fine cell (the same floor arithmetic, monotonic) among the box's corners' cells."""
        f = self.cell / FINE
        nxf, nyf = self.nx * FINE, self.ny * FINE
        fx0, fx1 = np.floor((x0 - self.x0) / f), np.floor((x1 - self.x0) / f)
        fy0, fy1 = np.floor((y0 - self.y0) / f), np.floor((y1 - self.y0) / f)
        ok = ((fx0 >= 0) & (fx1 < nxf) & (fy0 >= 0) & (fy1 < nyf)
              & (fx1 - fx0 <= 1) & (fy1 - fy0 <= 1))
        if not ok.any() or not len(touched := self._fine):
            return ok
        gx0, gx1 = fx0[ok].astype(np.int64), fx1[ok].astype(np.int64)
        gy0, gy1 = fy0[ok].astype(np.int64), fy1[ok].astype(np.int64)
        free = np.ones(len(gx0), bool)
        for gy in (gy0, gy1):
            for gx in (gx0, gx1):
                cid = gy * nxf + gx
                at = np.minimum(np.searchsorted(touched, cid), len(touched) - 1)
                free &= touched[at] != cid
        ok[ok] = free
        return ok

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        shapely.prepare(self.geom)  # preparation is not pickled

    def __call__(self, x: F64, y: F64) -> Mask:
        fx = (x - self.x0) / self.cell
        fy = (y - self.y0) / self.cell
        inbox = (fx >= 0) & (fx < self.nx) & (fy >= 0) & (fy < self.ny)
        cid = np.where(inbox, fy.astype(np.int64) * self.nx + fx.astype(np.int64), 0)
        st = np.where(inbox, np.take(self.state, cid), 0)
        out = st == 1
        edge = np.flatnonzero(st == 2)
        out[edge] = shapely.intersects_xy(self.geom, x[edge], y[edge])
        return out


    def boxes(self, x0: F64, y0: F64, x1: F64, y1: F64) -> tuple[Mask, Mask]:
        """For axis-parallel boxes: does each intersect the area, and does the area contain it
        properly (``shapely.intersects`` / ``contains_properly``)?

        A box whose cells are all wholly outside misses the area, and one whose cells are all
        wholly inside is properly inside; only boxes reaching a cell the boundary touches (or
        mixing inside and outside cells) go to GEOS, except the small ones the boundary's
        fine map clears (:meth:`_clear`): wholly inside or outside, as their corner is.
        """
        n = len(x0)
        c0x = np.clip(np.floor((x0 - self.x0) / self.cell), -1, self.nx).astype(np.int64)
        c1x = np.clip(np.floor((x1 - self.x0) / self.cell), -1, self.nx).astype(np.int64)
        c0y = np.clip(np.floor((y0 - self.y0) / self.cell), -1, self.ny).astype(np.int64)
        c1y = np.clip(np.floor((y1 - self.y0) / self.cell), -1, self.ny).astype(np.int64)
        # the part of the box beyond the grid is outside the area (the grid has a margin)
        off = (c1x < 0) | (c0x >= self.nx) | (c1y < 0) | (c0y >= self.ny)
        ax0, ax1 = np.clip(c0x, 0, self.nx - 1), np.clip(c1x, 0, self.nx - 1)
        ay0, ay1 = np.clip(c0y, 0, self.ny - 1), np.clip(c1y, 0, self.ny - 1)
        clipped = (c0x < 0) | (c1x >= self.nx) | (c0y < 0) | (c1y >= self.ny)
        sat_any, sat_not_in = self._sats
        n_any = _box_sum(sat_any, ax0, ay0, ax1, ay1)
        n_not_in = _box_sum(sat_not_in, ax0, ay0, ax1, ay1)
        hit = np.zeros(n, bool)
        inside = ~off & ~clipped & (n_not_in == 0)  # every cell wholly inside
        hit[inside] = True
        out = off | (n_any == 0)  # every cell wholly outside
        unsure = np.flatnonzero(~inside & ~out)
        full = inside.copy()
        if len(unsure):
            clear = self._clear(x0[unsure], y0[unsure], x1[unsure], y1[unsure])
            c = unsure[clear]
            if len(c):
                hit[c] = full[c] = shapely.intersects_xy(self.geom, x0[c], y0[c])
                unsure = unsure[~clear]
        if len(unsure):
            boxes = shapely.box(x0[unsure], y0[unsure], x1[unsure], y1[unsure])
            h = shapely.intersects(self.geom, boxes)
            hit[unsure] = h
            full[unsure[h]] = shapely.contains_properly(self.geom, boxes[h])
        return hit, full


def _sat(a: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Summed-area table with a zero first row and column."""
    out = np.zeros((a.shape[0] + 1, a.shape[1] + 1), np.int64)
    out[1:, 1:] = a.astype(np.int64).cumsum(axis=0).cumsum(axis=1)
    return out


def _box_sum(sat: NDArray[np.int64], x0: NDArray[np.int64], y0: NDArray[np.int64],
             x1: NDArray[np.int64], y1: NDArray[np.int64]) -> NDArray[np.int64]:
    return np.asarray(sat[y1 + 1, x1 + 1] - sat[y0, x1 + 1] - sat[y1 + 1, x0] + sat[y0, x0])
