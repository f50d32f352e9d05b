"""Pairing of precisely timed fixes over candidates near in space *and* time, so its cost
follows the data.

:func:`~truceline.core.fusion.link.pair_by_arrival_order` searches every pair of fixes
within a weapon's reach in the plane, whatever their times: over a month of a dense line that
is every fix near a place against every other one ever made there, so its memory grew with
the square of the store (4 GB at 282k observations, 17.6 GB at 639k). A pair can only be a
candidate when the later fix follows the earlier within a flight time, so
:func:`pair_by_arrival_order_near` lists the pairs within a Chebyshev ball of the reach in
the plane and of the longest flight time (plus both fixes' spread and timing allowance) in
time: a superset of the candidates that fit a class, and only a few per fix. The same test
then runs on them (:func:`~truceline.core.fusion.link.best_timed_pairs`), so the pairs are
those of one run. (It first ran the plane search on connected space-time parts; at 20x
density those percolate into one part a month long, and the square came back.)
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from truceline.core.fusion.link import LinkParams, best_timed_pairs

__all__ = ["pair_by_arrival_order_near"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def pair_by_arrival_order_near(
    x: F64, y: F64, cov: F64, t0: F64, t_sd: F64, can_origin: NDArray[np.bool_],
    can_impact: NDArray[np.bool_], side: I64, params: LinkParams | None = None,
) -> tuple[I64, I64]:
    """:func:`~truceline.core.fusion.link.pair_by_arrival_order`, the same pairs (sorted by
    origin), from the candidates near in space and time."""
    p = params or LinkParams()
    empty = np.zeros(0, np.int64)
    sig = np.sqrt(np.trace(cov, axis1=1, axis2=2)) if len(x) else np.zeros(0)
    ok = (np.isfinite(x) & np.isfinite(y) & np.isfinite(t0) & (t_sd <= p.timed_sd_s)
          & (side >= 0) & (sig <= p.max_sigma_m))
    idx = np.flatnonzero(ok)
    if len(idx) < 2:
        return empty, empty
    # a candidate lies within ``reach`` in the plane and follows within the longest flight
    # a class allows (its range plus both fixes' spread, twice, at its slowest speed), plus
    # the timing allowance
    s_max = 2.5 * np.sqrt(2) * p.max_sigma_m
    reach = max(p.max_range_m.values()) + s_max
    flight = max((rmax + 2.0 * s_max) / vlo for rmax, vlo, _ in p.windows())
    span = (flight + 3.0 * np.sqrt(2) * p.timed_sd_s) * 1.01 + 1.0
    k = reach / span  # a Chebyshev ball of ``reach`` bounds the plane and the time together
    pts = np.column_stack([x[idx], y[idx], t0[idx] * k])
    pr = cKDTree(pts).query_pairs(reach * 1.001 + 1.0, p=np.inf, output_type="ndarray")
    o, i = best_timed_pairs(idx[pr[:, 0]], idx[pr[:, 1]], x, y, t0, t_sd, sig, can_origin,
                            can_impact, side, p)
    s = np.argsort(o, kind="stable")
    return o[s].astype(np.int64), i[s].astype(np.int64)
