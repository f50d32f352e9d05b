"""Which located parts an array's arrivals could have been emitted near, in time, cheaply.

:func:`.heard_other.join_other_sound` asks, of each group that would join, whether any
located sound within hearing fits its arrivals within the looser gate
(:func:`.heard.part_tests`); every such fit needs the emission time the arrivals imply at
the part's point within a clock's error of the part's window (``near_win``: ``alt_slack_s``
and three of its sds). The parts within hearing of an array span the whole batch in time
(a day or more, against a window of minutes), and the full test of each cost more than the
search before it (the 3-day 20x store: 3.6 % of a check). :func:`may_be_near` computes the
implied time as :func:`.heard.part_tests` does and bounds its sd from above, so a part it
leaves out is one ``near_win`` fails: the full test's answer over the rest is the same.
:func:`.flash_heard.flash_heard` asks the same without the slack (``inwin``) of the ray's
25 m cells, most of them seconds off the flash's window.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from truceline.core.fusion.batch import FireBatch
from truceline.core.fusion.heard import HeardParams

__all__ = ["may_be_near"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def may_be_near(
    b: FireBatch,
    rows: I64,
    g: I64,
    x: F64,
    y: F64,
    cov: F64,
    lo: F64,
    hi: F64,
    wsd: F64,
    p: HeardParams,
    slack: float | None = None,
) -> NDArray[np.bool_]:
    """For each part of ``g``: False only where :func:`.heard.part_tests` of the arrivals
    ``rows`` (``m`` of them, one test per part) finds the implied emission time outside the
    part's window widened by ``slack`` (default ``alt_slack_s``) and three sds (its
    ``near_win``; with ``slack`` 0, its ``inwin``); NaN or infinite bounds keep the part.

    The time: part_tests' own operations. Its sd is ``sqrt(1'S1) / m``; each term of ``S``
    is bounded entry by entry (``|J_i| <= 1 / |c_i|`` as a path's length is at least its
    offset, ``|w_i| <= 1``, ``|a'Pa| <= |a|^2 sum|P|``), so ``1'S1 <= (sum 1/|c_i|)^2
    sum|P| + m sd_a^2 + wsd^2 (sum |tau_i / c_i|)^2 + f^2 (sum |tau_i|)^2``, with a relative
    margin for the rounding of both sums."""
    m = len(rows)
    sx, sy = b.ox[rows][None, :], b.oy[rows][None, :]
    dx, dy = sx - x[g][:, None], sy - y[g][:, None]
    r = np.maximum(np.hypot(dx, dy), 1.0)
    ux, uy = dx / r, dy / r
    if p.pool_air:
        air = [float(v[rows].mean()) for v in (b.c, b.wu, b.wv)]
        ce = (air[0] + air[1] * ux + air[2] * uy) * b.k[rows][None, :]
    else:
        ce = (b.c[rows] + b.wu[rows] * ux + b.wv[rows] * uy) * b.k[rows][None, :]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        tau = r / ce
        tt = (b.arr[rows][None, :] - tau).mean(axis=1)
        P = np.abs(cov[g]).sum(axis=(1, 2))
        w = float(wsd[rows].max())
        bound = (
            (np.abs(1.0 / ce).sum(axis=1)) ** 2 * P
            + m * p.arrival_sd_s**2
            + w**2 * np.abs(tau / ce).sum(axis=1) ** 2
            + p.speed_frac_sd**2 * np.abs(tau).sum(axis=1) ** 2
        )
        sd = np.sqrt(bound * (1.0 + 1e-9)) / m + 1e-12
        slack = p.alt_slack_s if slack is None else slack
        pad = 3.0 * sd + slack + 1e-6 * (1.0 + np.abs(tt))
        out = (tt + pad < lo[g]) | (tt - pad > hi[g])
    return np.asarray(~out)
