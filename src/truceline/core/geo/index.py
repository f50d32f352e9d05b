"""Measurement in the plane: polyline parts, segment helpers and :class:`LineIndex`.

:class:`LineIndex` answers distance, nearest segment, side and chainage for millions of
projected points against a polyline, columnar and with no per-point Python loop.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from truceline.errors import ValidationError

__all__ = ["LineHit", "LineIndex", "line_parts"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


# ----------------------------------------------------------------------------------------------
# lines: parts and segments
# ----------------------------------------------------------------------------------------------


def line_parts(line: Any) -> list[F64]:
    """A polyline as a list of ``(m, 2)`` coordinate arrays (one per part), repeats removed.

    Accepts a shapely LineString/MultiLineString, one ``(m, 2)`` array, or a sequence of them.
    """
    if isinstance(line, shapely.Geometry):
        geoms = list(line.geoms) if hasattr(line, "geoms") else [line]
        raw = [np.asarray(g.coords, float)[:, :2] for g in geoms]
    elif isinstance(line, np.ndarray) and line.ndim == 2:
        raw = [np.asarray(line, float)]
    else:
        raw = [np.asarray(p, float) for p in line]
    parts = []
    for i, p in enumerate(raw):
        if p.ndim != 2 or p.shape[1] != 2 or not np.isfinite(p).all():
            raise ValidationError(f"part {i} is not a finite (m, 2) coordinate array", field="line")
        keep = np.ones(len(p), bool)
        keep[1:] = np.any(p[1:] != p[:-1], axis=1)
        p = p[keep]
        if len(p) >= 2:
            parts.append(p)
    if not parts:
        raise ValidationError("line has no segment of non-zero length", field="line")
    return parts


def _segments(parts: Sequence[F64]) -> tuple[F64, F64, NDArray[np.bool_], NDArray[np.bool_]]:
    """Start and end points of all segments, and whether each has a predecessor/successor."""
    a = np.concatenate([p[:-1] for p in parts])
    b = np.concatenate([p[1:] for p in parts])
    first = np.concatenate([np.arange(len(p) - 1) == 0 for p in parts])
    last = np.concatenate([np.arange(len(p) - 1) == len(p) - 2 for p in parts])
    return a, b, ~first, ~last


# ----------------------------------------------------------------------------------------------
# segment helpers and LineIndex
# ----------------------------------------------------------------------------------------------


def _inv_len2(dx: F64, dy: F64) -> F64:
    l2 = dx * dx + dy * dy
    return np.divide(1.0, l2, out=np.zeros_like(l2), where=l2 > 0)


def _point_segment(
    px: Any, py: Any, ax: Any, ay: Any, dx: Any, dy: Any, inv: Any
) -> tuple[F64, F64]:
    """Squared distance and clamped parameter ``t`` of points to segments (broadcasting)."""
    wx = px - ax
    wy = py - ay
    t = (wx * dx + wy * dy) * inv
    np.clip(t, 0.0, 1.0, out=t)
    ex = wx - t * dx
    ey = wy - t * dy
    return ex * ex + ey * ey, t


@dataclass(frozen=True)
class LineHit:
    """Per-point answers of :meth:`LineIndex.query` (all arrays of the query's length)."""

    dist: F64  #: planar distance to the nearest segment (m)
    seg: I64  #: index of the nearest segment (parts in order)
    t: F64  #: position of the nearest point on that segment, 0..1
    side: NDArray[np.int8]  #: +1 left, -1 right of the line direction, 0 exactly on it
    chainage: F64  #: metres along the line to the nearest point


@dataclass(eq=False)
class LineIndex:
    """A uniform-grid index over the segments of one projected polyline (one or more parts).

    Every grid cell stores the few segments that can be nearest to *some* point in it, so a
    query is a gather plus ``points x K`` segment distances, with no per-point Python loop.
    The lists are built top-down (coarse cells to fine cells), each child filtering its parent's
    list with a proved test: a segment ``j`` is dropped if for every point ``p`` of the cell
    ``d(p, j) > d(p, i)``, ``i`` being the nearest segment of the cell centre ``c``. Since
    ``d(p, j) - d(p, i) >= f(c) - |p - c| * |grad d_j - grad d_i|`` and both gradients are unit
    vectors pointing from the segment to ``p``, ``j`` goes when
    ``d(c, j) - d(c, i) > h * 2 sin(Delta / 2)``, ``h`` the half-diagonal and ``Delta`` the
    angle spanned by the directions from both segments to the cell (bounded with discs). Far from
    the line ``Delta`` is small, so the lists stay short at any distance. Points outside the grid
    (more than ``reach_m`` beyond the line's bounding box) are answered exactly by an STRtree.

    Parameters
    ----------
    parts_xy : projected coordinates, one ``(m, 2)`` array per part (or a shapely line).
    seg_length_m : length of each segment used for chainage (default planar; pass
        :func:`geodesic_segment_lengths` so that chainage is in true metres).
    cell_m, reach_m : grid cell size and how far beyond the line's bounding box the grid reaches.

    Examples
    --------
    >>> idx = LineIndex([np.array([[0.0, 0.0], [1000.0, 0.0], [1000.0, 1000.0]])])
    >>> hit = idx.query(np.array([500.0, 1500.0, 2000.0]), np.array([10.0, 500.0, -5.0]))
    >>> hit.dist.round(1).tolist(), hit.seg.tolist(), hit.chainage.tolist()
    ([10.0, 500.0, 1000.0], [0, 1, 0], [500.0, 1500.0, 1000.0])
    >>> hit.side.tolist()  # the last point is outside the left bend: right, by the pseudo-normal
    [1, -1, -1]
    """

    parts_xy: Any
    seg_length_m: ArrayLike | None = None
    cell_m: float = 1000.0
    reach_m: float = 100_000.0
    _k: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        parts = line_parts(self.parts_xy)
        a, b, has_prev, has_next = _segments(parts)
        self.ax, self.ay = a[:, 0].copy(), a[:, 1].copy()
        self.dx, self.dy = b[:, 0] - self.ax, b[:, 1] - self.ay
        self.inv = _inv_len2(self.dx, self.dy)
        length = np.hypot(self.dx, self.dy)
        self.n_segments = len(length)
        nx, ny = -self.dy / length, self.dx / length  # unit left normals
        # Pseudo-normals at the vertices (sum of the adjacent unit normals): the sign of
        # (p - vertex) . pseudo-normal is the side for points whose nearest feature is a vertex.
        pa_x, pa_y, pb_x, pb_y = nx.copy(), ny.copy(), nx.copy(), ny.copy()
        prev, nxt = np.flatnonzero(has_prev), np.flatnonzero(has_next)
        pa_x[prev] += nx[prev - 1]
        pa_y[prev] += ny[prev - 1]
        pb_x[nxt] += nx[nxt + 1]
        pb_y[nxt] += ny[nxt + 1]
        # normal of the nearest feature, indexed by seg + S * (0 interior | 1 start | 2 end)
        self._normal_x = np.concatenate([nx, pa_x, pb_x])
        self._normal_y = np.concatenate([ny, pa_y, pb_y])
        seglen = length if self.seg_length_m is None else np.asarray(self.seg_length_m, float)
        if seglen.shape != length.shape:
            raise ValidationError("seg_length_m must have one value per segment", field="line")
        self.seg_len = seglen
        self.chain0 = np.concatenate([[0.0], np.cumsum(seglen)[:-1]])
        self.length_m = float(seglen.sum())
        self._columns = (self.ax, self.ay, self.dx, self.dy, self.inv)
        self._build_grid(length)

    # -- construction ------------------------------------------------------------------------

    def _build_grid(self, length: F64) -> None:
        c = float(self.cell_m)
        xs = np.concatenate([self.ax, self.ax + self.dx])
        ys = np.concatenate([self.ay, self.ay + self.dy])
        levels = 0
        span = max(xs.max() - xs.min(), ys.max() - ys.min()) + 2 * self.reach_m
        while span / (c * 2**levels) > 24:
            levels += 1
        root = c * 2**levels
        self.x0 = xs.min() - self.reach_m
        self.y0 = ys.min() - self.reach_m
        rnx = math.ceil((xs.max() + self.reach_m - self.x0) / root)
        rny = math.ceil((ys.max() + self.reach_m - self.y0) / root)
        mid_x, mid_y = self.ax + self.dx / 2, self.ay + self.dy / 2
        # root level: every segment is a candidate of every cell
        grid_ix, grid_iy = np.meshgrid(np.arange(rnx), np.arange(rny))
        cell_ix, cell_iy = grid_ix.ravel(), grid_iy.ravel()
        nc = rnx * rny
        pc = np.repeat(np.arange(nc), self.n_segments)
        ps = np.tile(np.arange(self.n_segments), nc)
        size = root
        while True:
            pc, ps = self._filter(
                self.x0 + (cell_ix + 0.5) * size, self.y0 + (cell_iy + 0.5) * size,
                size / 2, pc, ps, mid_x, mid_y, length,
            )
            if size <= c * 1.0000001:
                break
            # four children per cell, each inheriting the parent's list
            counts = np.bincount(pc, minlength=len(cell_ix))
            starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
            kid_ix = (cell_ix[:, None] * 2 + np.array([0, 1, 0, 1])).ravel()
            kid_iy = (cell_iy[:, None] * 2 + np.array([0, 0, 1, 1])).ravel()
            kid_parent = np.repeat(np.arange(len(cell_ix)), 4)
            kid_counts = counts[kid_parent]
            pc = np.repeat(np.arange(len(kid_ix)), kid_counts)
            offs = np.arange(len(pc)) - np.repeat(np.cumsum(kid_counts) - kid_counts, kid_counts)
            ps = ps[np.repeat(starts[kid_parent], kid_counts) + offs]
            cell_ix, cell_iy, size = kid_ix, kid_iy, size / 2
        nx, ny = rnx * 2**levels, rny * 2**levels
        self.nx, self.ny = nx, ny
        flat = cell_iy * nx + cell_ix
        order = np.argsort(flat[pc], kind="stable")
        pc, ps = flat[pc][order], ps[order]
        counts = np.bincount(pc, minlength=nx * ny)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        slot = np.arange(len(pc)) - starts[pc]
        # Dense (cells, K) tables padded by repeating each cell's first candidate: a narrow one
        # for almost all cells and a wide one for the few crowded cells (kinks, self-approaches).
        self._k = max(2, int(np.percentile(counts, 97)))
        self._cells = np.repeat(ps[starts][:, None], self._k, axis=1).astype(np.int32)
        fits = slot < self._k
        self._cells[pc[fits], slot[fits]] = ps[fits]
        crowded = np.flatnonzero(counts > self._k)
        self._crowded_row = np.full(nx * ny, -1, np.int32)
        self._crowded_row[crowded] = np.arange(len(crowded))
        wide = max(int(counts.max()), 1)
        self._crowded = np.repeat(ps[starts[crowded]][:, None], wide, axis=1).astype(np.int32)
        sel = np.isin(pc, crowded)
        self._crowded[self._crowded_row[pc[sel]], slot[sel]] = ps[sel]
        self.mean_candidates = float(counts.mean())

    def _filter(
        self, cx: F64, cy: F64, half: float, pc: I64, ps: I64, mid_x: F64, mid_y: F64, length: F64
    ) -> tuple[I64, I64]:
        """Keep the (cell, segment) pairs that can be nearest somewhere in the cell."""
        px, py = cx[pc], cy[pc]
        d2, _ = _point_segment(px, py, self.ax[ps], self.ay[ps], self.dx[ps], self.dy[ps],
                               self.inv[ps])
        d = np.sqrt(d2)
        # nearest segment of each centre (pairs are grouped by cell, in order)
        bounds = np.flatnonzero(np.r_[True, pc[1:] != pc[:-1]])
        dmin = np.minimum.reduceat(d, bounds)
        grp = np.repeat(np.arange(len(bounds)), np.diff(np.r_[bounds, len(pc)]))
        is_min = d == dmin[grp]
        first = np.full(len(bounds), -1)
        hits = np.flatnonzero(is_min)
        first[grp[hits[::-1]]] = hits[::-1]
        ref = first[grp]
        h = half * math.sqrt(2.0)
        # cone of directions from segment s to the cell: within a disc of radius h + len/2
        vx, vy = px - mid_x[ps], py - mid_y[ps]
        dist_mid = np.hypot(vx, vy)
        rad = h + length[ps] / 2
        alpha = np.arcsin(np.clip(rad / np.maximum(dist_mid, 1e-300), 0, 1))
        full = (rad >= dist_mid) | (d <= h)
        theta = np.arctan2(vy, vx)
        dtheta = np.abs((theta - theta[ref] + np.pi) % (2 * np.pi) - np.pi)
        span = dtheta + alpha + alpha[ref]
        span = np.where(full | full[ref], np.pi, np.minimum(span, np.pi))
        keep = (d - d[ref]) <= 2 * h * np.sin(span / 2) + 1e-6
        return pc[keep], ps[keep]

    # -- queries ------------------------------------------------------------------------------

    @property
    def max_candidates(self) -> int:
        """Candidates per cell in the padded table (the K of the ``points x K`` work)."""
        return self._k

    @cached_property
    def _tree(self) -> shapely.STRtree:
        a = np.stack([self.ax, self.ay], axis=1)
        b = np.stack([self.ax + self.dx, self.ay + self.dy], axis=1)
        return shapely.STRtree(shapely.linestrings(np.stack([a, b], axis=1)))

    def nearest(self, x: F64, y: F64, chunk: int = 1 << 14) -> tuple[F64, I64, F64]:
        """Planar distance, nearest segment and its parameter ``t`` for each point."""
        x = np.asarray(x, float)
        y = np.asarray(y, float)
        n = len(x)
        dist = np.empty(n)
        seg = np.empty(n, np.int64)
        tt = np.empty(n)
        fx = (x - self.x0) / self.cell_m
        fy = (y - self.y0) / self.cell_m
        inside = (fx >= 0) & (fx < self.nx) & (fy >= 0) & (fy < self.ny)
        for s in range(0, n, chunk):
            e = min(n, s + chunk)
            ins = inside[s:e]
            if not ins.all():
                self._nearest_tree(x, y, s + np.flatnonzero(~ins), dist, seg, tt)
            sel = s + np.flatnonzero(ins) if not ins.all() else slice(s, e)
            px, py = x[sel], y[sel]
            cid = fy[sel].astype(np.int64) * self.nx + fx[sel].astype(np.int64)
            d, j, t = self._nearest_in(np.take(self._cells, cid, axis=0), px, py)
            row = self._crowded_row[cid]
            many = np.flatnonzero(row >= 0)
            if len(many):
                d[many], j[many], t[many] = self._nearest_in(
                    self._crowded[row[many]], px[many], py[many]
                )
            dist[sel], seg[sel], tt[sel] = d, j, t
        return dist, seg, tt

    def _nearest_in(self, cand: NDArray[np.int32], px: F64, py: F64) -> tuple[F64, I64, F64]:
        # np.take is several times faster than fancy indexing for these gathers
        d2, t = _point_segment(
            px[:, None], py[:, None], *(np.take(a, cand) for a in self._columns)
        )
        flat = np.argmin(d2, axis=1) + np.arange(0, d2.size, cand.shape[1])
        return (np.sqrt(np.take(d2, flat)), np.take(cand, flat).astype(np.int64),
                np.take(t, flat))

    def _nearest_tree(self, x: F64, y: F64, idx: I64, dist: F64, seg: I64, tt: F64) -> None:
        j = self._tree.query_nearest(shapely.points(x[idx], y[idx]), all_matches=False)[1]
        d2, t = _point_segment(x[idx], y[idx], self.ax[j], self.ay[j], self.dx[j], self.dy[j],
                               self.inv[j])
        dist[idx], seg[idx], tt[idx] = np.sqrt(d2), j, t

    def query(self, x: ArrayLike, y: ArrayLike) -> LineHit:
        """Distance, nearest segment, side and chainage for projected points.

        The side is the sign of ``(p - q) . n`` where ``q`` is the nearest point and ``n`` the
        normal of the nearest *feature*: the segment's own normal in its interior, the vertex
        pseudo-normal (sum of both adjacent unit normals) when ``q`` is a vertex. Unlike "the
        side of the nearest segment", this is right on the outside of every bend. Beyond the
        ends of a part the side extends the end segment's normal; 0 means exactly on the line.
        """
        x = np.asarray(x, float)
        y = np.asarray(y, float)
        dist, seg, t = self.nearest(x, y)
        qx = x - (np.take(self.ax, seg) + t * np.take(self.dx, seg))
        qy = y - (np.take(self.ay, seg) + t * np.take(self.dy, seg))
        feature = seg + self.n_segments * ((t <= 0.0) + 2 * (t >= 1.0))
        nx, ny = np.take(self._normal_x, feature), np.take(self._normal_y, feature)
        side = np.sign(qx * nx + qy * ny)
        chain = np.take(self.chain0, seg) + t * np.take(self.seg_len, seg)
        return LineHit(dist=dist, seg=seg, t=t, side=side.astype(np.int8), chainage=chain)

    def segments_within(self, x: ArrayLike, y: ArrayLike, radius: ArrayLike) -> tuple[I64, I64]:
        """All (point, segment) pairs with planar distance <= radius (for few points)."""
        pts = shapely.points(np.asarray(x, float), np.asarray(y, float))
        r = np.broadcast_to(np.asarray(radius, float), pts.shape)
        pi, sj = self._tree.query(pts, predicate="dwithin", distance=r)
        return pi.astype(np.int64), sj.astype(np.int64)
