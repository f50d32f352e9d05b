"""The compiled sums of :mod:`truceline.core.fusion.locate_kernels` against the numpy they
replaced: the same numbers to the last bit (a replayed record must re-derive identical fixes)."""

from __future__ import annotations

import numpy as np

from truceline.core.fusion import locate_kernels as lk


def _bincount_sums(g, ox, oy, c, wu, wv, k, Jc, w, known, wind_sd, x, y, sd, G):  # type: ignore[no-untyped-def]
    """What ``locate._air_cov`` summed with ``bincount`` before ``air_sums``."""
    dx, dy = x[g] - ox, y[g] - oy
    rng = np.maximum(np.hypot(dx, dy), 1.0)
    ux, uy = -dx / rng, -dy / rng
    ce = (c + wu * ux + wv * uy) * k
    dc = -rng * k / (ce * ce) / sd
    Jn = np.stack([dc, dc * ux, dc * uy], axis=1)
    B = np.zeros((G, 3, 3))
    for i in range(3):
        for j in range(3):
            B[:, i, j] = np.bincount(g, w * Jc[:, i] * Jn[:, j], minlength=G)
    temp = 273.15 * ((c / 331.3) ** 2 - 1.0)
    dcdt = np.bincount(g, c / (2.0 * (273.15 + temp)), minlength=G)
    est = np.zeros(G)
    np.maximum.at(est, g, np.nan_to_num(wind_sd, nan=0.0))
    return (B, np.bincount(g, minlength=G).astype(float), np.bincount(g, known, minlength=G),
            dcdt, est)


def test_air_sums_are_the_bincount_sums_bit_for_bit():
    rng = np.random.default_rng(7)
    G, n = 300, 2_000
    g = np.sort(rng.integers(0, G - 5, n))  # rows by group; the last groups have none
    ox, oy = rng.uniform(-3e4, 3e4, n), rng.uniform(-3e4, 3e4, n)
    x, y = rng.uniform(-3e4, 3e4, G), rng.uniform(-3e4, 3e4, G)
    x[:3], y[:3] = ox[g == 0][0], oy[g == 0][0]  # a fix on a sensor: the range floor of 1 m
    c = 331.3 * np.sqrt(1 + rng.uniform(-20, 35, n) / 273.15)
    wu, wv = rng.normal(0, 5, n), rng.normal(0, 5, n)
    k = rng.uniform(0.9996, 1.0004, n)
    Jc, w = rng.normal(0, 50, (n, 3)), rng.uniform(0.1, 1.0, n)
    known = rng.random(n) < 0.7
    # a wind given (NaN), none and not estimated (inf), or estimated from the arrivals
    wind_sd = np.where(known, np.nan, np.where(rng.random(n) < 0.5, np.inf,
                                                rng.uniform(0, 4, n)))
    args = (g, ox, oy, c, wu, wv, k, Jc, w, known, wind_sd, x, y, 0.01, G)
    for got, want in zip(lk.air_sums(*args), _bincount_sums(*args), strict=True):
        np.testing.assert_array_equal(got, want)
