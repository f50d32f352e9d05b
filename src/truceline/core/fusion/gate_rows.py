"""The gate's float rows: one per unit of grouping (:mod:`.kernels`), their columns, how a
report's row is packed, and how far a unit's gate can reach (the bound the searches use)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from truceline.core.fusion.ray_gate import CAP

__all__ = ["N_F", "pack_row", "pack_rows", "reach2", "reach2_of"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

F_MX, F_MY, F_SXX, F_SXY, F_SYY, F_TLO, F_THI, F_ARR, F_OX, F_OY, F_C = range(11)
F_SD, F_LO, F_HI, F_JD = range(11, 15)  # a band's ray (:mod:`.ray_gate`); NaN F_LO: none
N_F = 15


@njit(cache=True, error_model="numpy", parallel=True)
def pack_rows(rows: I64, mx: F64, my: F64, sxx: F64, sxy: F64, syy: F64, t_lo: F64,
              t_hi: F64, arr: F64, ox: F64, oy: F64, c: F64, sd: F64, lo: F64, hi: F64,
              jd: F64, F: F64) -> F64:
    """The gate's float rows (columns ``F_*``) of reports ``rows``, gathered in one pass into
    ``F`` (``len(rows)`` by ``N_F``, allocated by the caller: see :func:`.kernels.sweep`)."""
    for k in prange(len(rows)):
        pack_row(F, k, rows[k], mx, my, sxx, sxy, syy, t_lo, t_hi, arr, ox, oy, c, sd, lo, hi,
                 jd)
    return F


@njit(cache=True, inline="always", error_model="numpy")
def pack_row(F: F64, k: int, r: int, mx: F64, my: F64, sxx: F64, sxy: F64, syy: F64,
             t_lo: F64, t_hi: F64, arr: F64, ox: F64, oy: F64, c: F64, sd: F64, lo: F64,
             hi: F64, jd: F64) -> None:
    """Row ``k`` of ``F``: report ``r``'s (:func:`pack_rows`; ``jd`` one value for all)."""
    F[k, F_MX], F[k, F_MY] = mx[r], my[r]
    F[k, F_SXX], F[k, F_SXY], F[k, F_SYY] = sxx[r], sxy[r], syy[r]
    F[k, F_TLO], F[k, F_THI], F[k, F_ARR] = t_lo[r], t_hi[r], arr[r]
    F[k, F_OX], F[k, F_OY], F[k, F_C] = ox[r], oy[r], c[r]
    F[k, F_SD], F[k, F_LO], F[k, F_HI], F[k, F_JD] = sd[r], lo[r], hi[r], jd[0]


@njit(cache=True, error_model="numpy", parallel=True)
def reach2(F: F64, gate_chi2: float) -> F64:
    """How far (squared) a unit's Mahalanobis gate reaches: ``gate_chi2`` times its
    covariance's largest eigenvalue (a band's times :data:`.ray_gate.CAP`; ``inf`` where that
    is not finite). Units whose centres are farther apart than ``sqrt(reach2_i + reach2_j)``
    fail the gate."""
    out = np.empty(F.shape[0])
    for u in prange(F.shape[0]):
        out[u] = reach2_of(F, u, gate_chi2)
    return out


@njit(cache=True, inline="always", error_model="numpy")
def reach2_of(F: F64, u: int, gate_chi2: float) -> float:
    """:func:`reach2` of unit ``u``."""
    a, b, c = F[u, F_SXX], F[u, F_SXY], F[u, F_SYY]
    e = gate_chi2 * ((a + c) / 2.0 + math.sqrt(((a - c) / 2.0) ** 2 + b * b))
    e *= CAP if math.isfinite(F[u, F_LO]) else 1.0
    return e if math.isfinite(e) else np.inf
