"""Score escalation alarms against the simulated truth: detection delay and false alarms.

Pure: takes alarm records (``AlarmReport.to_json()["alarms"]``) and truth records, or draws
in-control series itself. Definitions (also in ``docs/early_warning.md``):

* **detection delay** of a planted escalation (``escalation_truth``: sector, kind, the local
  date of its first day): the reporting days from that date to the first alarm in that sector
  (any category) raised on or after it; ``None`` when no alarm came by the end of the run.
  The reporting day that ends at 19:30 on the first day already holds some of the new fire,
  so a delay of 0 is possible.
* **false alarms** of a run: alarms in the other sectors, and in the escalated sector before
  the escalation began; per sector and 15 months (456 days): their count over the
  sector-days watched, times 456.
* **false alarms on long in-control series** (:func:`false_alarms_in_control`): the whole
  procedure (a 28-day baseline drawn from the in-control model, the fit, the threshold, then
  456 watched days, restarting after each alarm) repeated on counts drawn from the negative
  binomial with the parameters fitted on real runs and their coverage days. 15 months of the
  full simulation per replicate would cost hours; the model is what the threshold promises
  about, so this measures the promise including the baseline's estimation error.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from numpy.typing import NDArray

from truceline.core.alarm_bound import joint_arl, joint_calibrated_threshold
from truceline.core.alarm_sector import LONGEST_BASELINE_DAYS, chart_dispersion, design_sector
from truceline.core.alarm_threshold import BOOT_STATES
from truceline.core.early_warning import (
    ARL0_DAYS,
    BASELINE_DAYS,
    MIN_COVERAGE,
    Baseline,
    arl_markov,
    calibrated_threshold,
    cusum,
    dispersion_error,
    dispersion_spread,
    fit_baseline,
    llr,
    nb_draw,
    pooled_dispersion,
    posterior_threshold,
    sector_dispersion,
    threshold_for,
)

__all__ = [
    "ESCALATIONS",
    "SectorModel",
    "detection_delay",
    "evaluate_procedure",
    "run_false_alarms",
    "summarise",
]

F64 = NDArray[np.float64]


def detection_delay(alarms: Sequence[dict[str, Any]], truth: dict[str, Any]) -> int | None:
    """Days from the escalation's first local date to the first alarm in its sector on or
    after it (None: not detected in the run)."""
    first = date.fromisoformat(truth["local_date"])
    days = sorted(
        date.fromisoformat(a["day"])
        for a in alarms
        if a["sector"] == truth["sector"] and date.fromisoformat(a["day"]) >= first
    )
    return (days[0] - first).days if days else None


def run_false_alarms(
    alarms: Sequence[dict[str, Any]],
    truth: dict[str, Any] | None,
    sectors: Sequence[str],
    watched_days: Sequence[str],
) -> tuple[int, int]:
    """(false alarms, sector-days watched) of one run: every alarm outside the escalated
    sector from its first date on (distinct (sector, day) pairs: several categories of one
    sector on one day are one warning)."""
    first = date.fromisoformat(truth["local_date"]) if truth else None
    mine_sector = truth["sector"] if truth else None
    false = set()
    sector_days = 0
    for s in sectors:
        for d in watched_days:
            if first is not None and s == mine_sector and date.fromisoformat(d) >= first:
                continue  # the escalated sector after its start: not in-control
            sector_days += 1
    for a in alarms:
        mine = truth is not None and a["sector"] == truth["sector"]
        if mine and first is not None and date.fromisoformat(a["day"]) >= first:
            continue
        false.add((a["sector"], a["day"]))
    return len(false), sector_days


@dataclass(frozen=True)
class SectorModel:
    """One sector's in-control model: per series ``(category, rate at full coverage, NB
    size)``, and the observed shares its days are drawn from."""

    name: str
    series: tuple[tuple[str, float, float], ...]
    coverage: tuple[float, ...]


#: The escalations the evaluator plants: the rate's factor on day ``k`` from the start
#: (``k = 0, 1, ...``), as the simulator's ``escalation_*`` scenarios (``world.py``).
ESCALATIONS: dict[str, Any] = {
    "doubling": lambda k: np.full(len(k), 2.0),
    "ramp_10": lambda k: 1.0 + 0.10 * (k + 1),
    "ramp_5": lambda k: 1.0 + 0.05 * (k + 1),
    "spike": lambda k: np.where(k == 0, 4.0, 1.0),
}
#: Methods with one chart per sector (the service's is ``sector``).
JOINT = frozenset({"joint", "sector", "sector_shrunk"})
#: The series that sums the categories: the service's sector chart leaves it out (its llr
#: would count the same rounds twice).
SUMMED = "all fire"
#: Days after a spike in which an alarm counts as its detection (the statistic it raised
#: decays within a few days; a later alarm is an ordinary false alarm's odds).
SPIKE_WINDOW = 3


def _thresholds(method: str, base: Baseline, arl0: float, disp: float, se: float) -> float:
    if method == "posterior":
        return posterior_threshold(base, arl0, dispersion=disp, dispersion_se=se)
    if method in ("calibrated", "calibrated_own", "shrunk"):
        return calibrated_threshold(base, arl0, dispersion=disp, dispersion_se=se)
    if method == "plain":
        return threshold_for(base, arl0)
    raise ValueError(method)


def _alarm_days(y: F64, c: F64, base: Baseline, h: float) -> list[int]:
    steps = llr(y, np.maximum(base.rate * c, 1e-12), base.size)
    steps[c < MIN_COVERAGE] = np.nan
    return [t for _, t in cusum(steps, h)[1]]


def _joint_alarm_days(
    ys: Sequence[F64], c: F64, charts: Sequence[tuple[Baseline, float]]
) -> list[int]:
    """Alarm days of the sector's joint chart: one CUSUM over the sum of its series' llrs."""
    steps = sum(
        llr(y, np.maximum(b.rate * c, 1e-12), b.size) for (b, _), y in zip(charts, ys, strict=True)
    )
    steps = np.asarray(steps, float)
    steps[c < MIN_COVERAGE] = np.nan
    return [t for _, t in cusum(steps, charts[0][1])[1]]


def _kept(method: str, series: Sequence[tuple[Any, ...]], ys: Sequence[F64]) -> list[F64]:
    """The counts of the series a method's sector chart watches."""
    if method not in ("sector", "sector_shrunk"):
        return list(ys)
    return [y for s, y in zip(series, ys, strict=True) if s[0] != SUMMED]


def evaluate_procedure(
    sectors: Sequence[SectorModel],
    *,
    reps: int,
    seed: int,
    watch_days: int = round(ARL0_DAYS),
    baseline_days: int = BASELINE_DAYS,
    arl0: float = ARL0_DAYS,
    methods: Sequence[str] = ("calibrated", "plain"),
    lead: tuple[int, int] = (0, 14),
    horizon: int = 60,
    only: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The whole procedure on simulated count series, ``reps`` times: per sector, a baseline
    drawn from its in-control model (each series independently, NB), the dispersion pooled
    per category over the sectors' baselines, the fit and each ``method``'s threshold (a
    sector's ``K`` series get ``K x arl0`` each, as the service does); then from the same
    fitted charts

    * ``watch_days`` in-control days: false alarms (distinct alarm days per sector), and the
      Markov chain's expected number given the fitted charts (the sum over the sector's series
      of ``1 / ARL`` of each chart on its true model: the same quantity without the day-to-day
      noise);
    * per escalation kind (:data:`ESCALATIONS`), a fresh continuation: ``lead`` (uniform)
      in-control days, so that the statistic is in a typical state, then the change on every
      series of the sector for ``horizon`` days; delay = days from the change to the sector's
      first alarm on or after it (``None``: not within the horizon; for the one-day spike,
      not within :data:`SPIKE_WINDOW` days).

    Methods: ``calibrated`` (the service's), ``plain`` (the threshold of the estimates, the
    baseline), ``calibrated_own`` (calibrated on each series' own dispersion and its error
    instead of the pool's: measured in BENCHMARKS.md, not better), ``shrunk`` and
    ``posterior`` (the series' dispersion shrunk toward the pool, :func:`sector_dispersion`;
    calibrated, or averaged over the sector's posterior, :func:`posterior_threshold`), and
    ``joint`` (one chart per sector over the sum of its series' llrs,
    :func:`~truceline.core.alarm_bound.joint_calibrated_threshold`).

    ``only``: score these sectors alone (every sector's draws are made all the same, so their
    figures equal a full run's: a paired rerun of the sectors a change touches).

    Returns per method and sector the raw figures (:func:`summarise` turns them into rates,
    intervals and medians). Memory is bounded by one replicate's series: nothing is kept per
    day across replicates.
    """
    rng = np.random.default_rng(seed)
    names = [s.name for s in sectors]
    scored = [n for n in names if only is None or n in only]
    out: dict[str, Any] = {
        m: {
            n: {"false": [], "expected": [], "days": 0, **{k: [] for k in ESCALATIONS}}
            for n in scored
        }
        for m in methods
    }
    for rep in range(reps):
        cov = {s.name: np.asarray(s.coverage, float) for s in sectors}
        base_c = {n: rng.choice(cov[n], baseline_days) for n in names}
        drawn = {
            s.name: [
                (cat, rate, size, nb_draw(rng, rate * base_c[s.name], size))
                for cat, rate, size in s.series
            ]
            for s in sectors
        }
        # the days a growing baseline (``sector``, :func:`design_sector`) may add, from their
        # own stream: every other draw is the same as without them
        ext = np.random.default_rng([seed, rep, 1])
        more = max(LONGEST_BASELINE_DAYS - baseline_days, 0)
        grown_c = {n: np.concatenate([base_c[n], ext.choice(cov[n], more)]) for n in names}
        grown = {
            s.name: [
                np.concatenate([y, nb_draw(ext, rate * grown_c[s.name][baseline_days:], size)])
                for _, rate, size, y in drawn[s.name]
            ]
            for s in sectors
        }
        pool: dict[str, list[tuple[F64, F64]]] = {}
        for n in names:
            for cat, _, _, y in drawn[n]:
                pool.setdefault(cat, []).append((y, base_c[n]))
        disp = {k: pooled_dispersion(v) for k, v in pool.items()}
        disp_err = {k: dispersion_error(v) for k, v in pool.items()}
        disp_spread = {k: dispersion_spread(v) for k, v in pool.items()}
        disp_se = {k: math.hypot(disp_err[k], disp_spread[k]) for k in pool}
        # the continuations' coverage and counts, shared by the methods (paired comparison)
        watch_c = {n: rng.choice(cov[n], watch_days) for n in names}
        watch_y = {
            n: [nb_draw(rng, rate * watch_c[n], size) for _, rate, size, _ in drawn[n]]
            for n in names
        }
        esc: dict[str, dict[str, tuple[int, F64, list[F64]]]] = {}
        for n in names:
            for kind, factor in ESCALATIONS.items():
                pre = int(rng.integers(lead[0], lead[1] + 1))
                c = rng.choice(cov[n], pre + horizon)
                k = np.arange(pre + horizon) - pre
                f = np.where(k >= 0, factor(np.maximum(k, 0)), 1.0)
                esc.setdefault(n, {})[kind] = (
                    pre,
                    c,
                    [nb_draw(rng, rate * f * c, size) for _, rate, size, _ in drawn[n]],
                )
        for m in methods:
            for n in scored:
                rec = out[m][n]
                series = drawn[n]
                charts: list[tuple[Baseline, float]] = []
                joint: list[tuple[Baseline, Baseline, float, float]] = []
                expected = 0.0
                for cat, rate, size, y in series:
                    if m in ("sector", "sector_shrunk") and cat == SUMMED:
                        continue
                    d, se = disp[cat], disp_se[cat]
                    if m == "calibrated_own":  # the series' own dispersion, not the pool's
                        d, se = (
                            pooled_dispersion([(y, base_c[n])]),
                            dispersion_error([(y, base_c[n])]),
                        )
                    elif m in ("shrunk", "posterior", "joint", "sector_shrunk"):  # own, shrunk
                        d, se = sector_dispersion(y, base_c[n], pool[cat])
                    elif m == "sector":  # shrunk, floored at the own (the service's)
                        d, se = chart_dispersion(y, base_c[n], pool[cat])
                    b = fit_baseline(y, base_c[n], dispersion=d)
                    truth = Baseline(rate, size, b.days, b.coverage)
                    if m in JOINT:  # one chart per sector: its threshold below
                        charts.append((b, math.nan))
                        joint.append((b, truth, d, se))
                        continue
                    h = _thresholds(m, b, arl0 * len(series), d, se)
                    charts.append((b, h))
                    expected += 1.0 / arl_markov(b, h, truth=truth, states=BOOT_STATES)
                if m == "sector":  # the service's: the baseline grows while the sector is thin
                    kept = [i for i, t in enumerate(series) if t[0] != SUMMED]
                    sd = design_sector(
                        [grown[n][i] for i in kept],
                        grown_c[n],
                        [pool[series[i][0]] for i in kept],
                        available=len(grown_c[n]) + 1,
                        arl0=arl0,
                        baseline_days=baseline_days,
                        seed=0,
                    )
                    truths = [
                        Baseline(series[i][1], series[i][2], b.days, b.coverage)
                        for i, b in zip(kept, sd.bases, strict=True)
                    ]
                    expected = 1.0 / joint_arl(list(sd.bases), truths, sd.h)
                    rec.setdefault("baseline", []).append(sd.baseline_days)
                    charts = [(b, sd.h) for b in sd.bases]
                elif m in JOINT:
                    designs = [j[0] for j in joint]
                    h = joint_calibrated_threshold(
                        designs,
                        arl0,
                        dispersions=[j[2] for j in joint],
                        dispersion_ses=[j[3] for j in joint],
                    )
                    expected = 1.0 / joint_arl(designs, [j[1] for j in joint], h)
                    charts = [(b, h) for b, _ in charts]
                hit: set[int] = set()
                if m in JOINT:
                    hit = set(_joint_alarm_days(_kept(m, series, watch_y[n]), watch_c[n], charts))
                for (b, h), y in zip(charts, watch_y[n], strict=True):
                    if m in JOINT:
                        break
                    hit |= set(_alarm_days(y, watch_c[n], b, h))
                rec["false"].append(len(hit))
                rec["expected"].append(expected * watch_days)
                rec["days"] += watch_days
                for kind, (pre, c, ys) in esc[n].items():
                    days_ = (
                        _joint_alarm_days(_kept(m, series, ys), c, charts)
                        if m in JOINT
                        else [
                            d
                            for (b, h), y in zip(charts, ys, strict=True)
                            for d in _alarm_days(y, c, b, h)
                        ]
                    )
                    first = [d for d in days_ if d >= pre]
                    delay = min(first) - pre if first else None
                    if kind == "spike" and delay is not None and delay >= SPIKE_WINDOW:
                        delay = None
                    rec[kind].append(delay)
    return out


def summarise(raw: dict[str, Any], *, per_days: float = ARL0_DAYS) -> dict[str, Any]:
    """Rates per ``per_days`` with a 95 % interval (replicates as independent clusters: the
    baseline's error makes a replicate's alarms come together), and delay medians (an
    escalation not detected within the horizon counts as longer than any detected one)."""
    out: dict[str, Any] = {}
    for m, by_sector in raw.items():
        rows: dict[str, Any] = {}
        all_false = np.zeros(0)
        for n, rec in by_sector.items():
            per_rep = np.asarray(rec["false"], float)
            all_false = per_rep if not len(all_false) else all_false + per_rep
            rows[n] = {
                "false_per_15_months": _rate_ci(per_rep, rec["days"], per_days),
                "expected_per_15_months": round(
                    float(np.sum(rec["expected"])) * per_days / rec["days"], 3
                ),
                "false_alarms": int(per_rep.sum()),
                "sector_days": rec["days"],
            }
            for kind in ESCALATIONS:
                rows[n][kind] = _delays(rec[kind])
            if rec.get("baseline"):  # a growing baseline's lengths (days: replicates)
                lengths = np.asarray(rec["baseline"])
                rows[n]["baseline_days"] = {
                    str(v): int((lengths == v).sum()) for v in np.unique(lengths)
                }
        days = next(iter(by_sector.values()))["days"] * len(by_sector)
        everything = {
            k: _delays([d for rec in by_sector.values() for d in rec[k]]) for k in ESCALATIONS
        }
        exp = sum(float(np.sum(r["expected"])) for r in by_sector.values())
        out[m] = {
            "sectors": rows,
            "all": {
                "false_per_15_months": _rate_ci(all_false, days, per_days),
                "expected_per_15_months": round(exp * per_days / days, 3),
                "false_alarms": int(all_false.sum()),
                "sector_days": days,
                **everything,
            },
        }
    return out


def _rate_ci(per_rep: F64, days: int, per_days: float) -> dict[str, float]:
    n = len(per_rep)
    scale = per_days * n / days  # a replicate's count -> per ``per_days`` of its sector-days
    mean = float(per_rep.mean()) * scale
    se = float(per_rep.std(ddof=1)) * scale / math.sqrt(n) if n > 1 else math.nan
    # at least the Poisson interval's half-width, for replicates that saw (almost) none
    se = max(se, math.sqrt(max(float(per_rep.sum()), 1.0)) * per_days / days)
    return {
        "rate": round(mean, 3),
        "lo": round(max(0.0, mean - 1.96 * se), 3),
        "hi": round(mean + 1.96 * se, 3),
    }


def _delays(ds: Sequence[int | None]) -> dict[str, Any]:
    got = sorted(d for d in ds if d is not None)
    ranked = got + [10**6] * (len(ds) - len(got))
    # the lower median: with half detected it is the slowest detected, not an average with
    # "never"
    med = float(ranked[(len(ranked) - 1) // 2]) if ranked else math.nan
    return {
        "n": len(ds),
        "detected": len(got),
        "median": None if med >= 10**6 else med,
        "within_4": sum(1 for d in got if d <= 4),
        "same_day": sum(1 for d in got if d == 0),
        "p90": float(np.quantile(got, 0.9)) if got else None,
    }
