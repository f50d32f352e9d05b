"""How far off a fix one small array of sensors places: its range is linear in its inverse.

Three arrival times at sensors a few kilometres apart fix a bang ten kilometres away by the
curvature of the wavefront, and the curvature is ``~ 1/r``: the arrivals' errors are Gaussian
in the inverse range and the angle, not in the range. The covariance linearised at the fit
(``σ_r`` along the ray from the sensors) states the region ``r ± k σ_r`` where the data say
``1/r ± k σ_r / r²``, i.e. ``r / (1 + k σ_r / r)`` to ``r / (1 - k σ_r / r)``: the far side
is longer than the near one, unbounded once ``k σ_r ≥ r``, and bent (a straight line in
``(1/r, angle)`` is a curve on the ground), where the linearised ellipse is a thin straight
one. On the conditions' weeks (seed 1, four scenarios) 21 % of the three-arrival origins
fell outside their ellipse, nearly all on their ray beyond the fit (10.1 km stated with
``σ_r`` 1.5 km, truth 13.5 km; 4.5 km, 1.4 km, 12.8 km; 8.2 km, 4.4 km, 19.9 km): BENCHMARKS.md,
session 22, helper hD. The stated covariance is widened, ``C + β d dᵀ`` one point at a time
(as :mod:`.bands` widens a band's fix), until its 95 % ellipse reaches every point of the
95 % region's edge in ``(1/r, angle)`` mapped back to the ground; the near side, shorter, is
then over-covered. In the array's near field (the fix within the sensors' spread of their
centre) the curvature is no small term and nothing changes.

The same noise can carry the inverse range past zero: a bang far out along the array's
axis (its arrival differences nearly the sensors' spacing over ``c``) leaves the two
hyperbolas' far crossing on their other sheets, emitted after it was heard, so only the
crossing by the array is physical and the fit, with no residual there, states it to metres
(on the conditions' weeks, misses of 5-12 km against ellipses of 60-600 m). The data then
say ``1/r ~ N(û, σ_u)``, ``û`` near or below zero, on the ray opposite that lost crossing,
and the physical part is ``1/r > 0``: :func:`far_mode` reads ``û`` and ``σ_u`` far out on
the ray (where the arrivals are linear in ``1/r``) and places that mode at its mean
``E[1/r | 1/r > 0]`` with the covariance the arrivals have there, for :func:`far_stretch` to
reach its far side.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr

__all__ = ["far_mode", "far_stretch"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
#: chi-square quantile for a 95 % region in two dimensions (as :data:`.locate.CHI2_95_2DOF`).
CHI2_95_2DOF = 5.991464547107979
#: Points on the edge of the 95 % region in (inverse range, angle) that the stated ellipse
#: is made to reach.
_EDGE = 16


def _to_polar(dx: F64, dy: F64) -> F64:
    """The Jacobian of (inverse range, angle) by (east, north) at offsets ``dx, dy``."""
    r = np.hypot(dx, dy)
    return np.stack([np.stack([-dx / r**3, -dy / r**3], 1), np.stack([-dy / r**2, dx / r**2], 1)],
                    1)


def far_mode(C: F64, px: F64, py: F64, sx: F64, sy: F64, cx: F64, cy: F64
             ) -> tuple[F64, F64, F64, NDArray[np.bool_]]:
    """The far mode of fixes whose far crossing was lost past ``1/r = 0``: ``C`` the
    arrivals' covariance at a probe ``(px, py)`` far out from the sensors' centre ``(cx, cy)``
    (where the arrivals are linear in the inverse range), ``(sx, sy)`` one Gauss-Newton step
    from it, read in (inverse range, angle) as the data's ``û`` and angle. Returns the mode's
    point at ``E[1/r | 1/r > 0]`` (``1/r ~ N(û, σ_u)``) on that ray, its covariance there
    (``C`` carried through (inverse range, angle)), and whether the data allow it at all
    (``û + 1.96 σ_u > 0``)."""
    dx, dy = px - cx, py - cy
    J = _to_polar(dx, dy)
    S = J @ C @ np.swapaxes(J, 1, 2)
    su = np.sqrt(np.maximum(S[:, 0, 0], 0.0))
    step = np.einsum("kij,kj->ki", J, np.stack([sx - px, sy - py], 1))
    u_hat, th = 1.0 / np.hypot(dx, dy) + step[:, 0], np.arctan2(dy, dx) + step[:, 1]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        a = -u_hat / su
        u = u_hat + su * np.exp(-0.5 * a * a) / np.sqrt(2 * np.pi) / ndtr(-a)
        fx, fy = cx + np.cos(th) / u, cy + np.sin(th) / u
        Ji = np.linalg.inv(np.where(np.isfinite(fx + fy)[:, None, None],
                                    _to_polar(fx - cx, fy - cy), np.eye(2)))
    ok = (u_hat + 1.96 * su > 0) & np.isfinite(u) & (u > 0) & np.isfinite(Ji).all(axis=(1, 2))
    Cf = np.where(ok[:, None, None], Ji @ S @ np.swapaxes(Ji, 1, 2), np.nan)
    return fx, fy, Cf, ok


def far_stretch(
    C: F64, x: F64, y: F64, ox: F64, oy: F64, first: I64, cap_m: float, n: int = 3
) -> F64:
    """``C`` ``(K, 2, 2)`` of fixes at ``(x, y)`` on the ``n`` arrivals of the sensors at
    rows ``first .. first + n - 1`` of ``ox, oy``, widened until its 95 % ellipse reaches
    :data:`_EDGE` points of the edge of the same region in ``(1/r, angle)`` about the sensors'
    centre, ``C`` carried there linearised and each point mapped back (where the inverse
    range passes zero, ``cap_m`` beyond the fix: :attr:`~.locate.LocateParams.max_semi_major_m`);
    never narrowed. Unchanged within the sensors' spread of their centre."""
    k2 = CHI2_95_2DOF
    at = first[:, None] + np.arange(n)
    sx, sy = ox[at], oy[at]
    cx, cy = sx.mean(axis=1), sy.mean(axis=1)
    spread = np.hypot(sx - cx[:, None], sy - cy[:, None]).max(axis=1)
    dx, dy = x - cx, y - cy
    r = np.hypot(dx, dy)
    # a covariance not positive definite states no ellipse to widen (and one singular row
    # would make the batch's solve below raise for every fix): left as it is
    a, b, c = C[:, 0, 0], C[:, 0, 1], C[:, 1, 1]
    with np.errstate(invalid="ignore", over="ignore"):
        definite = (a > 0) & (c > 0) & (a * c - b * b > 0)
    far = np.isfinite(r) & (r > spread) & np.isfinite(C).all(axis=(1, 2)) & definite
    out = np.array(C, float)
    if not far.any():
        return out
    f = np.flatnonzero(far)
    r, dx, dy, cx, cy = r[f], dx[f], dy[f], cx[f], cy[f]
    # the fix in (inverse range, angle) and its covariance there, linearised
    J = _to_polar(dx, dy)
    S = J @ out[f] @ np.swapaxes(J, 1, 2)
    lam, vec = np.linalg.eigh(S)
    half = vec * np.sqrt(k2 * np.maximum(lam, 0.0))[:, None, :]
    u0, th0 = 1.0 / r, np.arctan2(dy, dx)
    Cf = out[f]
    for phi in np.linspace(0.0, 2.0 * np.pi, _EDGE, endpoint=False):
        step = half @ np.array([np.cos(phi), np.sin(phi)])
        u = np.maximum(u0 + step[:, 0], 1.0 / (r + cap_m))  # past zero: ``cap_m`` beyond
        th = th0 + step[:, 1]
        d = np.stack([cx + np.cos(th) / u - (cx + dx), cy + np.sin(th) / u - (cy + dy)], 1)
        # C + β d dᵀ with dᵀ(C + β d dᵀ)⁻¹ d = χ²: this point of the edge on the 95 % ellipse
        with np.errstate(divide="ignore", invalid="ignore"):
            m = np.einsum("ki,ki->k", d, np.linalg.solve(Cf, d[:, :, None])[:, :, 0])
            beta = np.where(np.isfinite(m) & (m > k2), 1.0 / k2 - 1.0 / m, 0.0)
        Cf = (
            Cf
            + np.where(np.isfinite(beta), beta, 0.0)[:, None, None] * d[:, :, None] * d[:, None, :]
        )
    out[f] = Cf
    return out
