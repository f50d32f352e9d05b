"""Coverage: where and when the monitoring mission could observe, per party's side of the line.

"No violation observed" means something only where the mission could observe. This module
turns the mission's monitoring assets (observation posts, patrols, cameras, acoustic arrays),
when each was operating, when it was down or stopped, and the areas denied to it, into the
share of each party's side of the line of contact that was observable, for each kind of event.

The model (also in ``docs/coverage.md``):

* **Grid** (:mod:`truceline.core.coverage_grid`). Square cells of ``cell_m`` in the agreement's
  projected CRS, kept where the cell centre lies in the area of interest and within ``band_km``
  of the line of contact (the *band*), each with its party, sector and chainage.
* **Footprints** (:mod:`truceline.core.coverage_footprints`). An asset covers a cell for a kind
  of event when the cell centre is within the asset's range for that kind and, for a camera,
  within its field of view; ranges by asset type in :class:`CoverageParams`.
* **Time** (:mod:`truceline.core.coverage_time`). An asset observes during its *active*
  intervals minus its *down* intervals (camera down, post unmanned, monitors restricted). A
  denied area removes every asset's coverage of its cells while it is denied.
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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray

from truceline.core.classify import CompiledGeometry
from truceline.core.coverage_footprints import COLUMNS, VISUAL, Assets, CoverageParams, footprints
from truceline.core.coverage_grid import Grid, band_grid
from truceline.core.coverage_time import DeniedAreas, Intervals, available, inputs_end_ns, to_ns
from truceline.core.terrain import Dem
from truceline.errors import ValidationError

__all__ = [
    "COVERAGE_KINDS",
    "RULE_COVERAGE_KINDS",
    "Coverage",
    "CoverageParams",  # documented with the model (docs/coverage.md); defined with the footprints
    "Gap",
    "SectorShare",
    "build_coverage",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: The kinds of event coverage is asked about, and the footprint column each stands for.
COVERAGE_KINDS: dict[str, int] = {
    "fire": 0,  # fire of the shortest-range heavy weapon (mortar): the conservative reading
    "fire:mortar": 0,
    "fire:tube_artillery": 1,
    "fire:mlrs": 2,
    "weapon_sighting": VISUAL,
    "presence": VISUAL,
}
#: Which coverage kinds a rule kind's verdicts depend on (rule kinds not listed are not
#: spatial: a restriction is reported by the monitors it stopped, a declaration by a party).
RULE_COVERAGE_KINDS: dict[str, frozenset[str]] = {
    "ceasefire": frozenset({"fire"}),
    "withdrawal": frozenset({"weapon_sighting"}),
    "prohibited_presence": frozenset({"presence"}),
}


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


# ----------------------------------------------------------------------------------------------
# build
# ----------------------------------------------------------------------------------------------


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
    terrain: Dem | None = None,
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
    terrain : a digital elevation model; what is seen then needs a terrain line of sight
        (:func:`truceline.core.coverage_footprints.footprints`). None: range only.

    Examples
    --------
    >>> from shapely import LineString, box
    >>> from truceline.core.classify import ControlPeriod, GeometrySpec, compile_geometry
    >>> from truceline.core.coverage_footprints import POST, Assets
    >>> from truceline.core.coverage_time import Intervals, to_ns
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
    grid = band_grid(geom, line, (p.band_km if band_km is None else band_km) * 1000.0, cell_m)
    fp = footprints(geom, grid, assets, p, terrain)
    avail = available(len(assets), active, down or Intervals.empty())
    den = denied or DeniedAreas.empty()
    den_i: I64 = np.zeros(0, np.int64)
    den_c: I64 = den_i
    if len(den.lon) and len(grid):
        if np.any(den.end_ns <= den.start_ns):
            raise ValidationError("every interval must end after it starts", field="denied")
        dx_, dy_ = geom.projection.forward(den.lon, den.lat)
        den_i, den_c = grid.within(dx_, dy_, den.radius_m)
    as_of_ns = to_ns(as_of) if as_of is not None else inputs_end_ns(avail, den)
    return Coverage(
        parties=geom.spec.parties, grid=grid, pair_asset=fp.asset,
        pair_cell=fp.cell, pair_bits=fp.bits, available=avail, denied_cell=den_c,
        denied_start=den.start_ns[den_i], denied_end=den.end_ns[den_i], asset_ids=assets.ids,
        as_of_ns=as_of_ns,
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
    grid: Grid
    """The cells of the band: position, party, sector, chainage and distance of each."""
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
        return len(self.grid.x)

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
        cells = self.grid.party == self._party_ix(party)
        if not cells.any():
            return 0.0
        return float(self.covered_fraction(start, end, kinds)[cells].mean())

    def line_share(self, start: datetime, end: datetime | None,
                   kinds: frozenset[str] | None = None) -> float:
        """The observed share of both sides of the band together ("observed X % of the line")."""
        cells = self.grid.party >= 0
        if not cells.any():
            return 0.0
        return float(self.covered_fraction(start, end, kinds)[cells].mean())

    def by_sector(self, start: datetime, end: datetime | None,
                  kinds: frozenset[str] | None = None) -> list[SectorShare]:
        """Per sector of the line and party, the observed share of that side of the sector."""
        frac = self.covered_fraction(start, end, kinds)
        ok = (self.grid.party >= 0) & (self.grid.sector >= 0)
        n_p, n_s = len(self.parties), len(self.grid.sector_names)
        key = self.grid.sector[ok].astype(np.int64) * n_p + self.grid.party[ok]
        cnt = np.bincount(key, minlength=n_p * n_s)
        tot = np.bincount(key, weights=frac[ok], minlength=n_p * n_s)
        area = self.grid.cell_m**2 / 1e6
        return [SectorShare(self.grid.sector_names[k // n_p], self.parties[k % n_p],
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
        nb = max(1, math.ceil(self.grid.line_length_m / (bin_km * 1e3)))
        b = np.minimum((self.grid.chainage_m // (bin_km * 1e3)).astype(np.int64), nb - 1)
        out: list[Gap] = []
        for pi in parties:
            m = self.grid.party == pi
            cnt = np.bincount(b[m], minlength=nb)
            tot = np.bincount(b[m], weights=frac[m], minlength=nb)
            sec = np.full(nb, -1, np.int64)
            np.maximum.at(sec, b[m], self.grid.sector[m].astype(np.int64))
            share = np.divide(tot, cnt, out=np.ones(nb), where=cnt > 0)
            low = (share < below) & (cnt > 0)
            edges = np.flatnonzero(np.diff(np.concatenate([[0], low.astype(np.int8), [0]])))
            for a, z in zip(edges[::2], edges[1::2], strict=True):
                s_ix = int(sec[a])
                out.append(Gap(
                    self.parties[pi], self.grid.sector_names[s_ix] if s_ix >= 0 else None,
                    a * bin_km, min(z * bin_km, self.grid.line_length_m / 1e3),
                    float(tot[a:z].sum() / max(cnt[a:z].sum(), 1))))
        return out

    def summary(self, start: datetime, end: datetime | None,
                kinds: frozenset[str] | None = None, *, below: float = 0.5) -> dict[str, Any]:
        """A JSON-ready summary: shares of the line and per party, per sector, and the gaps
        (no asset positions: safe for every role)."""
        return {
            "kinds": sorted(kinds) if kinds else None,
            "band_km": self.grid.band_m / 1e3,
            "line_share": round(self.line_share(start, end, kinds), 4),
            "parties": {p: round(self.share(p, start, end, kinds), 4) for p in self.parties
                        if (self.grid.party == self.parties.index(p)).any()},
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
    n_cells = len(cov.grid.x)
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
    for c in cols or range(len(COLUMNS)):
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
