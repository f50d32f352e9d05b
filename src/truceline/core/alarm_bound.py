"""How soon a doubling of a sector's rate can be detected at all: the information bound, and
the optimal detector that attains it.

For a change from the in-control law ``f0`` to ``f1`` and any detector whose in-control
average run length is at least ``gamma``, the worst-case expected delay is at least
``log(gamma) / I`` to first order, ``I = KL(f1 || f0)`` per observation (Lai 1998, Thm 1,
after Lorden 1971); the CUSUM of ``f1 / f0`` attains it (Lorden 1971; exactly optimal in
Lorden's sense, Moustakides 1986). A sector's day is one observation of all its series:
with the series independent (the evaluator's world) its information is the sum of theirs.
Known parameters: a detector learning them from 28 days does worse, so what is computed here
is a floor (``docs/early_warning.md``).

Pure: numpy arrays and baselines in, numbers out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import stats
from scipy.signal import fftconvolve

from truceline.core.alarm_model import F64, MIN_COVERAGE, RATIO, Baseline, llr_coefficients
from truceline.core.alarm_threshold import (
    BOOT_STATES,
    RATE_CAP,
    _mixture,
    _one_blas_thread,
    _pmf_table,
    _smallest_h,
    excess_node,
)
from truceline.errors import ValidationError


def information(
    base: Baseline, *, ratio: float = RATIO, min_coverage: float = MIN_COVERAGE
) -> float:
    """``I``: the Kullback-Leibler information per day, in nats, of the rate times ``ratio``
    against in control, averaged over the baseline's coverage days (a day observed less
    than ``min_coverage`` carries none). For the negative binomial with fixed size, the llr
    is ``a y - b``, so ``KL = a mu1 - b``.

    >>> round(information(Baseline(2.0, math.inf, 1, (1.0,))), 4)  # Poisson: 2 mu log 2 - mu
    0.7726
    """
    c = np.asarray(base.coverage, float)
    mu0 = np.maximum(base.rate * c, 1e-12)
    a, b = llr_coefficients(mu0, base.size, ratio)
    kl = np.where(c >= min_coverage, a * ratio * mu0 - b, 0.0)
    return float(kl.mean())


def delay_bound(info: float, arl0: float) -> float:
    """Lai's floor on the worst-case expected delay, in days, of any detector with in-control
    run length ``arl0``: ``log(arl0) / info``."""
    if not arl0 > 1:
        raise ValidationError("must be more than 1 day", field="arl0")
    return math.log(arl0) / info if info > 0 else math.inf


Table = list[tuple[float, list[tuple[F64, F64, float, float]]]]


def _table(designs: Sequence[Baseline], truths: Sequence[Baseline], ratio: float) -> Table:
    """Per coverage bin of the sector: its weight and, per series, the counts, their
    probabilities under the truth and the design's step ``a y - b`` (independent of ``h``)."""
    out = []
    for c, weight in _mixture(designs[0]):
        rows = []
        for d, t in zip(designs, truths, strict=True):
            y, p = _pmf_table(t.rate * c, t.size)
            a, b = llr_coefficients(np.array([d.rate * c]), d.size, ratio)
            rows.append((y, p, float(a[0]), float(b[0])))
        out.append((weight, rows))
    return out


def _moves(table: Table, w: float, states: int) -> F64:
    """The distribution of the sector's daily move on the grid ``w``: per coverage bin, the
    convolution of its series' moves (each series' step rounded to the grid), mixed."""
    span = states * len(table[0][1])
    q = np.zeros(2 * states + 1)
    for weight, rows in table:
        total = np.ones(1)
        for y, p, a, b in rows:
            m = np.clip(np.rint((a * y - b) / w), -span, span).astype(np.int64) + span
            total = fftconvolve(total, np.bincount(m, weights=p, minlength=2 * span + 1))
        total = np.maximum(total, 0.0)  # the transform's rounding, ~1e-17
        centre = (len(total) - 1) // 2
        moves = np.arange(len(total)) - centre
        idx = np.clip(moves, -states, states) + states
        q += weight * np.bincount(idx, weights=total, minlength=2 * states + 1)
    return q


def _matrix(q: F64, states: int) -> F64:
    out = sliding_window_view(q, states)[states:0:-1].copy()
    out[:, 0] = np.cumsum(q)[states - np.arange(states)]
    return out


def joint_run_length(
    designs: Sequence[Baseline],
    h: float,
    *,
    shift: float = 1.0,
    ratio: float = RATIO,
    states: int = BOOT_STATES,
    horizon: int = 0,
) -> tuple[float, F64]:
    """Zero-state average run length of one CUSUM over the sum of a sector's series' llrs
    (series independent, sharing the day's coverage), the counts at ``shift`` times the
    rates; and, over ``horizon`` days, ``P(run length <= n)`` for ``n = 1..horizon``."""
    truths = [Baseline(d.rate * shift, d.size, d.days, d.coverage) for d in designs]
    return _run(_table(designs, truths, ratio), h, states, horizon)


def joint_arl(
    designs: Sequence[Baseline],
    truths: Sequence[Baseline],
    h: float,
    *,
    ratio: float = RATIO,
    states: int = BOOT_STATES,
) -> float:
    """Zero-state average run length of the joint chart designed from ``designs`` when the
    counts come from ``truths`` (the evaluator's expectation of its false alarms)."""
    with _one_blas_thread():
        return _run(_table(designs, truths, ratio), h, states)[0]


def _run(table: Table, h: float, states: int, horizon: int = 0) -> tuple[float, F64]:
    r_mat = _matrix(_moves(table, h / states, states), states)
    with _one_blas_thread():
        try:
            run = np.linalg.solve(np.eye(states) - r_mat, np.ones(states))
        except np.linalg.LinAlgError:
            return math.inf, np.zeros(horizon)
        alive = np.zeros(states)
        alive[0] = 1.0
        cdf = np.zeros(horizon)
        for n in range(horizon):
            alive = alive @ r_mat
            cdf[n] = 1.0 - alive.sum()
    return (float(run[0]) if run[0] > 0 else math.inf), cdf


def joint_threshold(
    designs: Sequence[Baseline], arl0: float, *, ratio: float = RATIO, states: int = BOOT_STATES
) -> float:
    """The smallest ``h`` of the sector's joint CUSUM with in-control run length ``arl0``."""
    goal = math.log(arl0)
    table = _table(designs, designs, ratio)
    return _smallest_h(lambda h: math.log(_run(table, h, states)[0]) - goal, None, goal)


def optimal_delay(
    designs: Sequence[Baseline], arl0: float, *, ratio: float = RATIO, states: int = BOOT_STATES
) -> dict[str, float]:
    """What the best detector can do in a sector with known parameters: Lai's floor on the
    expected delay (``bound``), and the sector's joint CUSUM at ``arl0`` (Lorden-optimal):
    its threshold, zero-state expected delay and median delay, in days from the change's
    first day (a run length of 1 is a delay of 0, as the evaluator counts)."""
    info = sum(information(d, ratio=ratio) for d in designs)
    h = joint_threshold(designs, arl0, ratio=ratio, states=states)
    arl1, cdf = joint_run_length(designs, h, shift=ratio, ratio=ratio, states=states, horizon=400)
    median = int(np.searchsorted(cdf, 0.5)) if cdf[-1] >= 0.5 else math.inf
    return {
        "information": info,
        "bound": delay_bound(info, arl0) - 1.0,
        "h": h,
        "mean": arl1 - 1.0,
        "median": float(median),
    }


def joint_calibrated_threshold(
    designs: Sequence[Baseline],
    arl0: float,
    *,
    dispersions: Sequence[float],
    dispersion_ses: Sequence[float],
    ratio: float = RATIO,
    draws: int = 40,
    seed: int = 0,
    states: int = BOOT_STATES,
) -> float:
    """``h`` of the sector's joint chart whose false-alarm rate, averaged over the models the
    sector may truly have, is at most ``1 / arl0``: per series the posterior of
    :func:`~truceline.core.alarm_threshold.posterior_threshold` (the rate inverse gamma, the
    dispersion normal), the series independent, by ``draws`` Latin-hypercube draws (seeded:
    same data, same ``h``). A product quadrature over five series would need 16^5 nodes."""
    goal = math.log(arl0)
    rng = np.random.default_rng(seed)
    n = len(designs)
    u = (
        rng.permuted(np.tile(np.arange(draws), (2 * n, 1)), axis=1) + rng.random((2 * n, draws))
    ) / draws
    z = stats.norm.ppf(u)
    tables = []
    for j in range(draws):
        truths = []
        for i, (d, disp, se) in enumerate(zip(designs, dispersions, dispersion_ses, strict=True)):
            c = np.asarray(d.coverage, float)
            mu = d.rate * c
            var = float((mu if math.isinf(d.size) else mu + mu**2 / d.size).sum())
            k = float(mu.sum()) ** 2 / var
            lam = d.rate / max(float(stats.gamma.ppf(1.0 - u[2 * i, j], k)) / k, 1 / RATE_CAP)
            # the excess's median at least its error: around a near-Poisson estimate (D - 1
            # much below se) a log-normal excess of relative error se / (D - 1) reached
            # dispersions of 30 and thresholds of 50 for a 10-day baseline; at most RATE_CAP
            # times the design's, as the rate (count tables stay finite)
            dt = excess_node(max(disp, 1.0 + se), se, float(z[2 * i + 1, j]))
            dt = min(dt, RATE_CAP * max(disp, 1.0))
            size = lam * float(c.mean()) / (dt - 1.0) if dt > 1.0 else math.inf
            truths.append(Baseline(lam, size, d.days, d.coverage))
        tables.append(_table(designs, truths, ratio))
    own = _table(designs, designs, ratio)
    with _one_blas_thread():
        h0 = _smallest_h(lambda h: math.log(_run(own, h, states)[0]) - goal, None, goal)

        def f(h: float) -> float:
            rate = sum(1.0 / _run(t, h, states)[0] for t in tables) / draws
            return -math.log(rate) - goal if rate > 0 else math.inf

        return _smallest_h(f, h0, goal)
