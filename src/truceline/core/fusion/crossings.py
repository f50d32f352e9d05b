"""Where the curves of an exactly determined fix cross: the two hyperbolas of three arrival
times, or a bearing's ray and the hyperbola of two (:func:`.locate._two_roots` states the
covariance that counts both crossings; docs/fusion.md, "Three arrival times fix a source at
one of two points"). Pure geometry on the measurement rows' columns."""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numpy.typing import NDArray

__all__ = ["Crossing", "Rows", "hyperbola_crossings", "ray_crossings"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


class Rows(Protocol):
    """The columns of :class:`.locate.MeasurementRows` read here."""

    @property
    def ox(self) -> F64: ...
    @property
    def oy(self) -> F64: ...
    @property
    def val(self) -> F64: ...
    @property
    def c(self) -> F64: ...
    @property
    def k(self) -> F64: ...


Crossing = tuple[F64, F64, F64, NDArray[np.bool_]]  # x, y, emission time, physical


def hyperbola_crossings(rw: Rows, i1: I64, n: I64) -> list[Crossing]:
    """Both crossings of the two hyperbolas of three arrival times (a group's last rows)."""
    i1 = i1 + n - 3
    i2, i3 = i1 + 1, i1 + 2
    ce = (rw.c[i1] + rw.c[i2] + rw.c[i3]) / 3.0 * rw.k[i1]  # grid metres per second
    s1x, s1y, a1 = rw.ox[i1], rw.oy[i1], rw.val[i1]
    s = [(rw.ox[i] - s1x, rw.oy[i] - s1y, rw.val[i] - a1) for i in (i2, i3)]
    # -2 s_i . p + 2 c^2 a_i t = c^2 a_i^2 - |s_i|^2  (offsets from sensor 1 and its arrival)
    m00, m01, m10, m11 = -2 * s[0][0], -2 * s[0][1], -2 * s[1][0], -2 * s[1][1]
    det = m00 * m11 - m01 * m10
    ok = np.abs(det) > 1e-6
    det = np.where(ok, det, 1.0)
    u = [ce * ce * a * a - sx * sx - sy * sy for sx, sy, a in s]
    w = [-2 * ce * ce * a for _, _, a in s]
    Px, Py = (m11 * u[0] - m01 * u[1]) / det, (-m10 * u[0] + m00 * u[1]) / det
    Qx, Qy = (m11 * w[0] - m01 * w[1]) / det, (-m10 * w[0] + m00 * w[1]) / det
    qa, qb, qc = Qx * Qx + Qy * Qy - ce * ce, 2 * (Px * Qx + Py * Qy), Px * Px + Py * Py
    ok &= np.abs(qa) > 1e-12
    qa = np.where(ok, qa, 1.0)
    # noise can part a double root into a complex pair: then its real part, once
    sq = np.sqrt(np.maximum(qb * qb - 4 * qa * qc, 0.0))
    latest = np.minimum(0.0, np.minimum(s[0][2], s[1][2])) + 1e-3  # emitted before all
    out = []
    for sign in (1.0, -1.0):
        t = (-qb + sign * sq) / (2 * qa)
        rx, ry = s1x + Px + Qx * t, s1y + Py + Qy * t
        use = ok & (t <= latest) & np.isfinite(rx) & np.isfinite(ry) & ((sign > 0) | (sq > 0))
        out.append((rx, ry, a1 + t, use))
    return out


def ray_crossings(rw: Rows, i0: I64, n: I64) -> list[Crossing]:
    """Both crossings of a bearing's ray (row ``i0``) with the hyperbola of two arrival times
    (the group's last two rows). On the ray ``p = o + r u``, ``|p - s_2| - |p - s_1| = D``
    (``D = c (a_2 - a_1)``) squared is ``alpha + beta r = 2 D |p - s_1|`` with ``alpha =
    |o - s_2|^2 - |o - s_1|^2 - D^2`` and ``beta = 2 u . (s_1 - s_2)``; squared again, a
    quadratic in ``r``. A root is a crossing when ``r > 0`` and ``alpha + beta r`` has the
    sign of ``D`` (the squarings add the other branch)."""
    j1, j2 = i0 + n - 2, i0 + n - 1
    ce = (rw.c[j1] + rw.c[j2]) / 2.0 * rw.k[j1]
    ux, uy = np.sin(rw.val[i0]), np.cos(rw.val[i0])
    e1x, e1y = rw.ox[i0] - rw.ox[j1], rw.oy[i0] - rw.oy[j1]
    e2x, e2y = rw.ox[i0] - rw.ox[j2], rw.oy[i0] - rw.oy[j2]
    D = ce * (rw.val[j2] - rw.val[j1])
    alpha = e2x * e2x + e2y * e2y - e1x * e1x - e1y * e1y - D * D
    beta = 2 * (ux * (e2x - e1x) + uy * (e2y - e1y))
    ue1 = ux * e1x + uy * e1y
    qa = beta * beta - 4 * D * D
    qb = 2 * alpha * beta - 8 * D * D * ue1
    qc = alpha * alpha - 4 * D * D * (e1x * e1x + e1y * e1y)
    ok = np.abs(qa) > 1e-12
    qa = np.where(ok, qa, 1.0)
    sq = np.sqrt(np.maximum(qb * qb - 4 * qa * qc, 0.0))  # a complex pair: its real part
    out = []
    for sign in (1.0, -1.0):
        r = (-qb + sign * sq) / (2 * qa)
        rx, ry = rw.ox[i0] + r * ux, rw.oy[i0] + r * uy
        use = (ok & (r > 0) & ((alpha + beta * r) * D >= 0) & np.isfinite(rx)
               & np.isfinite(ry) & ((sign > 0) | (sq > 0)))
        t0 = rw.val[j1] - np.hypot(rx - rw.ox[j1], ry - rw.oy[j1]) / ce
        out.append((rx, ry, t0, use))
    return out
