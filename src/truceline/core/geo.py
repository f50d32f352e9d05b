"""Geometry primitives of the pure core, grouped like shapely's families.

* **projection** — :func:`choose_projection` picks a conformal projected CRS for an area and
  *computes* its worst scale error, which bounds every planar distance.
* **measurement** — :class:`LineIndex` answers distance, nearest segment, side and chainage for
  millions of points against a polyline in the plane; :func:`geodesic_distance_to_line` is the
  exact ellipsoidal (WGS84) answer for the few points where the planar one is not good enough, and
  :func:`refine_near_threshold` decides which points those are.

Everything is columnar (numpy arrays in, arrays out), pure (no I/O, clock or environment) and
honest about being planar: a planar distance ``D`` and the geodesic distance ``d`` obey
``|D - d| <= (eps * D + s) / (1 - eps)`` (see :func:`distance_margin`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pyproj
import shapely
from numpy.typing import ArrayLike, NDArray

from truceline.errors import ValidationError

__all__ = [
    "GEOD",
    "LineHit",
    "LineIndex",
    "Projection",
    "choose_projection",
    "chord_deviation_m",
    "distance_margin",
    "geodesic_distance_to_line",
    "geodesic_segment_lengths",
    "line_parts",
    "refine_near_threshold",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: The one ellipsoid: WGS84, Karney's algorithms (exact to nanometres).
GEOD = pyproj.Geod(ellps="WGS84")
_R_MEAN = 6_371_008.8  # mean Earth radius, only as a step size in the geodesic Newton iteration

# ----------------------------------------------------------------------------------------------
# projection
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Projection:
    """A conformal projected CRS for one area, with its computed scale error.

    ``max_scale_error`` is ``max |k - 1|`` over ``bounds`` (lon/lat box, already widened for the
    poleward bulge of geodesics), where ``k`` is the point scale factor. Because the candidates
    are conformal and ``k`` is convex in one coordinate (latitude for LCC, easting for TM), the
    maximum lies on the box edge, which the sampling grid contains.
    """

    proj4: str
    bounds: tuple[float, float, float, float]
    max_scale_error: float

    @cached_property
    def crs(self) -> pyproj.CRS:
        return pyproj.CRS.from_proj4(self.proj4)

    @cached_property
    def _fwd(self) -> pyproj.Transformer:
        return pyproj.Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)

    @cached_property
    def _inv(self) -> pyproj.Transformer:
        return pyproj.Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)

    def forward(self, lon: ArrayLike, lat: ArrayLike) -> tuple[F64, F64]:
        """Longitude/latitude (degrees) to projected x/y (metres)."""
        x, y = self._fwd.transform(np.asarray(lon, float), np.asarray(lat, float))
        return np.asarray(x, float), np.asarray(y, float)

    def inverse(self, x: ArrayLike, y: ArrayLike) -> tuple[F64, F64]:
        """Projected x/y (metres) to longitude/latitude (degrees)."""
        lon, lat = self._inv.transform(np.asarray(x, float), np.asarray(y, float))
        return np.asarray(lon, float), np.asarray(lat, float)

    def scale_error_at(self, lon: ArrayLike, lat: ArrayLike) -> F64:
        """``|k - 1|`` at each point (used for points outside ``bounds``)."""
        f = pyproj.Proj(self.crs).get_factors(np.asarray(lon, float), np.asarray(lat, float))
        m = np.abs(np.asarray(f.meridional_scale) - 1.0)
        p = np.abs(np.asarray(f.parallel_scale) - 1.0)
        return np.asarray(np.maximum(m, p), float)

    def contains_lonlat(self, lon: F64, lat: F64) -> NDArray[np.bool_]:
        """Whether points lie in ``bounds`` (where ``max_scale_error`` is a proved bound)."""
        w, s, e, n = self.bounds
        return (lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)

    def scale_error_bound(self, lon: ArrayLike, lat: ArrayLike) -> F64:
        """Per point, a bound on ``|k - 1|`` along the path from the point to anything in bounds.

        ``max_scale_error`` inside ``bounds``. Outside, ``k - 1`` keeps growing (convexly) away
        from the area, so the point's own scale error dominates the path; we take 1.5 times it
        (or the area's, if larger) to cover geodesic bulge and the error growing past the point.
        """
        lon = np.asarray(lon, float)
        lat = np.asarray(lat, float)
        eps = np.full(lon.shape, self.max_scale_error)
        out = np.flatnonzero(~self.contains_lonlat(lon, lat))
        if len(out):
            local = self.scale_error_at(lon[out], lat[out])
            eps[out] = 1.5 * np.maximum(local, self.max_scale_error)
        return eps


def _grid_scale_error(proj4: str, box: tuple[float, float, float, float], n: int) -> float:
    w, s, e, nn = box
    lon, lat = np.meshgrid(np.linspace(w, e, n), np.linspace(s, nn, n))
    f = pyproj.Proj(pyproj.CRS.from_proj4(proj4)).get_factors(lon.ravel(), lat.ravel())
    k = np.concatenate([np.asarray(f.meridional_scale), np.asarray(f.parallel_scale)])
    return float(np.max(np.abs(k - 1.0)))


def choose_projection(bounds_lonlat: Sequence[float], *, grid: int = 41) -> Projection:
    """A conformal projection centred on an area, the better of LCC and transverse Mercator.

    Both candidates are secant (two standard parallels at 1/6 and 5/6 of the latitude span for
    Lambert conformal conic; ``k_0`` balancing the centre against the east/west edges for
    transverse Mercator), so the scale error is split evenly between too long and too short.
    The candidate with the smaller *computed* ``max |k - 1|`` wins; for the 2025 line of contact
    (31.5-38.3 E, 46.5-50.5 N) that is LCC with about 4.1e-4, i.e. 10 m at 25 km.

    Parameters
    ----------
    bounds_lonlat : (west, south, east, north) in degrees.
    grid : samples per axis for the scale-error grid (edges included).

    Examples
    --------
    >>> p = choose_projection((31.5, 46.5, 38.3, 50.5))
    >>> p.max_scale_error < 5e-4
    True
    >>> x, y = p.forward([34.9], [48.5]); [round(float(v)) for v in (*x, *y)]
    [0, 0]
    """
    w, s, e, n = (float(v) for v in bounds_lonlat)
    if not all(math.isfinite(v) for v in (w, s, e, n)) or not (w <= e and s <= n):
        raise ValidationError(f"bad lon/lat bounds {bounds_lonlat!r}", field="bounds_lonlat")
    if e - w > 60 or n - s > 40 or max(abs(s), abs(n)) > 84:
        raise ValidationError("area too large for one conformal projection", field="bounds_lonlat")
    # A geodesic between two points of the box bulges poleward by up to L^2 tan(phi) / (8 R):
    # widen the box by that so the bound also covers the paths, not only the end points.
    diag = GEOD.inv(w, s, e, n)[2]
    bulge = math.degrees(diag**2 * math.tan(math.radians(max(abs(s), abs(n)))) / (8 * _R_MEAN**2))
    box = (w - 0.01, max(s - bulge - 0.01, -85.0), e + 0.01, min(n + bulge + 0.01, 85.0))
    lon0, lat0 = (w + e) / 2, (s + n) / 2
    span = max(n - s, 0.2)
    lcc = (
        f"+proj=lcc +lat_1={lat0 - span / 3:.9f} +lat_2={lat0 + span / 3:.9f} +lat_0={lat0:.9f} "
        f"+lon_0={lon0:.9f} +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
    )
    tm1 = f"+proj=tmerc +lat_0={lat0:.9f} +lon_0={lon0:.9f} +k_0=1 +ellps=WGS84 +units=m +no_defs"
    kmax = 1.0 + _grid_scale_error(tm1, box, grid)
    tm = tm1.replace("+k_0=1", f"+k_0={2.0 / (1.0 + kmax):.12f}")
    best = min((_grid_scale_error(p, box, grid), p) for p in (lcc, tm))
    return Projection(proj4=best[1], bounds=box, max_scale_error=best[0] * 1.001)


# ----------------------------------------------------------------------------------------------
# lines: parts, geodesic lengths, chord deviation
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


def geodesic_segment_lengths(line_lonlat: Any) -> F64:
    """WGS84 length (m) of every segment, parts in order (chainage is their cumulative sum)."""
    a, b, _, _ = _segments(line_parts(line_lonlat))
    return np.asarray(GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])[2], float)


def chord_deviation_m(line_lonlat: Any, projection: Projection, samples: int = 7) -> float:
    """Largest planar gap between a projected geodesic segment and its straight chord (m).

    The legal line joins its vertices by geodesics; the index uses straight chords in the plane.
    Their Hausdorff distance (a sagitta, sub-millimetre for 1-2 km segments) enters the margin.
    """
    a, b, _, _ = _segments(line_parts(line_lonlat))
    az, _, dist = GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    ax, ay = projection.forward(a[:, 0], a[:, 1])
    bx, by = projection.forward(b[:, 0], b[:, 1])
    worst = 0.0
    for f in np.linspace(0, 1, samples + 2)[1:-1]:
        lo, la, _ = GEOD.fwd(a[:, 0], a[:, 1], az, np.asarray(dist) * f)
        px, py = projection.forward(lo, la)
        d2, _ = _point_segment(px, py, ax, ay, bx - ax, by - ay, _inv_len2(bx - ax, by - ay))
        worst = max(worst, float(np.sqrt(d2.max())))
    return worst


# ----------------------------------------------------------------------------------------------
# measurement in the plane: LineIndex
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


# ----------------------------------------------------------------------------------------------
# measurement on the ellipsoid
# ----------------------------------------------------------------------------------------------


def _geodesic_pairs(
    a: F64, b: F64, az: F64, length: F64, lon: F64, lat: F64, iterations: int = 30
) -> F64:
    """Exact distance from points to geodesic segments, one (point, segment) per row.

    Newton on the foot of the perpendicular: at the current foot ``X`` the point is at distance
    ``d`` under angle ``theta`` from the segment's azimuth; the spherical right triangle gives
    the step ``R atan(tan(d / R) cos theta)``. The distance from a point along a geodesic is
    unimodal, so clamping to ``[0, L]`` and taking the best of foot and both ends is exact.
    """
    s = length / 2
    for _ in range(iterations):
        xl, xa, baz = GEOD.fwd(a[:, 0], a[:, 1], az, s)
        azp, _, d = GEOD.inv(xl, xa, lon, lat)
        theta = np.radians(np.asarray(azp) - (np.asarray(baz) + 180.0))
        step = _R_MEAN * np.arctan(np.tan(np.minimum(np.asarray(d) / _R_MEAN, 1.5)) * np.cos(theta))
        s_new = np.clip(s + step, 0.0, length)
        done = np.abs(s_new - s) < 1e-7
        s = s_new
        if done.all():
            break
    xl, xa, _ = GEOD.fwd(a[:, 0], a[:, 1], az, s)
    d_foot = GEOD.inv(xl, xa, lon, lat)[2]
    d_a = GEOD.inv(a[:, 0], a[:, 1], lon, lat)[2]
    d_b = GEOD.inv(b[:, 0], b[:, 1], lon, lat)[2]
    return np.asarray(np.minimum(np.minimum(d_foot, d_a), d_b), float)


def geodesic_distance_to_line(
    line_lonlat: Any, lon: ArrayLike, lat: ArrayLike, seg_hint: ArrayLike | None = None
) -> F64:
    """Exact WGS84 distance (m) from points to a polyline whose vertices are joined by geodesics.

    Slow (tens of microseconds per point and candidate segment): meant for the few points that
    :func:`refine_near_threshold` selects.

    Parameters
    ----------
    line_lonlat : shapely (Multi)LineString, ``(m, 2)`` array or list of parts, lon/lat degrees.
    lon, lat : points (degrees).
    seg_hint : candidate segment indices per point, ``(n,)`` or ``(n, k)`` padded with -1.
        The answer is exact when the nearest segment is among them. ``None`` considers every
        segment, pruned by the ellipse bound ``d(p, AB) >= (d(p, A) + d(p, B) - |AB|) / 2``.

    Examples
    --------
    >>> line = np.array([[30.0, 49.5], [30.0, 50.5]])  # a meridian: geodesic
    >>> lon, lat, _ = GEOD.fwd(30.0, 50.0, 90.0, 25_000.0)  # 25 km due east of a point on it
    >>> round(float(geodesic_distance_to_line(line, [lon], [lat])[0]), 6)
    25000.0
    """
    a, b, _, _ = _segments(line_parts(line_lonlat))
    lon = np.atleast_1d(np.asarray(lon, float))
    lat = np.atleast_1d(np.asarray(lat, float))
    az, _, length = GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    az, length = np.asarray(az, float), np.asarray(length, float)
    n, m = len(lon), len(a)
    if seg_hint is None:
        pl, pa = np.repeat(lon, m), np.repeat(lat, m)
        dist_a = np.asarray(GEOD.inv(np.tile(a[:, 0], n), np.tile(a[:, 1], n), pl, pa)[2])
        dist_b = np.asarray(GEOD.inv(np.tile(b[:, 0], n), np.tile(b[:, 1], n), pl, pa)[2])
        dist_a, dist_b = dist_a.reshape(n, m), dist_b.reshape(n, m)
        lower = (dist_a + dist_b - length[None, :]) / 2
        upper = np.minimum(dist_a, dist_b).min(axis=1)
        pt, sg = np.nonzero(lower <= upper[:, None] + 1e-6)
    else:
        hint = np.asarray(seg_hint, np.int64)
        hint = hint.reshape(n, -1)
        pt, col = np.nonzero(hint >= 0)
        sg = hint[pt, col]
        if (sg >= m).any():
            raise ValidationError("seg_hint refers to a segment the line does not have",
                                  field="seg_hint")
    out = np.full(n, np.inf)
    if len(pt):
        d = _geodesic_pairs(a[sg], b[sg], az[sg], length[sg], lon[pt], lat[pt])
        np.minimum.at(out, pt, d)
    return out


def distance_margin(dist_m: ArrayLike, scale_error: ArrayLike, floor_m: float) -> F64:
    """Half-width of the interval that surely contains the geodesic distance, given a planar one.

    For a conformal map with ``|k - 1| <= eps`` along the way, a planar distance ``D`` satisfies
    ``(1 - eps) d <= D <= (1 + eps) d`` (project the geodesic for one side, pull back the chord
    for the other). With ``s`` the chord/geodesic gap of the line (``floor_m`` includes it),
    ``|d - D| <= (eps * D + s) / (1 - eps)``.
    """
    eps = np.asarray(scale_error, float)
    return np.asarray((eps * np.asarray(dist_m, float) + floor_m) / (1.0 - eps), float)


def refine_near_threshold(
    dist_m: ArrayLike,
    thresholds_m: ArrayLike,
    margin_m: ArrayLike,
    line_lonlat: Any,
    lon: ArrayLike,
    lat: ArrayLike,
    seg_hint: ArrayLike | None = None,
) -> tuple[F64, NDArray[np.bool_]]:
    """Replace planar distances within ``margin_m`` of any threshold by exact geodesic ones.

    The margin must bound ``|planar - geodesic|`` (use :func:`distance_margin`:
    ``max_scale_error * D`` plus a floor of the line's chord deviation plus 1 m, which covers
    float rounding, the pyproj round trip and the Newton tolerance with orders of magnitude to
    spare; refining costs little, ~0.1 % of a realistic band of points). Outside the
    margin the planar verdict ``dist <= threshold`` equals the geodesic one; inside it the
    geodesic distance decides. So a verdict never depends on projection error.

    Returns
    -------
    (dist, refined) : corrected distances (a copy) and the mask of points recomputed.

    Examples
    --------
    >>> line = np.array([[30.0, 49.5], [30.0, 50.5]])
    >>> lon, lat, _ = GEOD.fwd([30.0, 30.0], [50.0, 50.0], [90.0, 90.0], [24_999.0, 10_000.0])
    >>> planar = np.array([25_003.0, 10_004.0])  # as if from a projection 3-4 m too long
    >>> d, r = refine_near_threshold(planar, [25_000.0], 10.0, line, lon, lat)
    >>> d.round(6).tolist(), r.tolist()  # the first verdict flips to the truth
    ([24999.0, 10004.0], [True, False])
    """
    dist = np.array(dist_m, dtype=float, copy=True)
    thr = np.atleast_1d(np.asarray(thresholds_m, float))
    margin = np.broadcast_to(np.asarray(margin_m, float), dist.shape)
    refined = np.zeros(dist.shape, bool)
    for t in thr:
        refined |= np.abs(dist - t) <= margin
    idx = np.flatnonzero(refined)
    if len(idx):
        hint = None if seg_hint is None else np.asarray(seg_hint)[idx]
        lon_a = np.broadcast_to(np.asarray(lon, float), dist.shape)
        lat_a = np.broadcast_to(np.asarray(lat, float), dist.shape)
        dist[idx] = geodesic_distance_to_line(line_lonlat, lon_a[idx], lat_a[idx], hint)
    return dist, refined
