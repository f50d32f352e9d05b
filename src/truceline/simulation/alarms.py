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
from datetime import date
from typing import Any

import numpy as np

from truceline.core.early_warning import (
    ARL0_DAYS,
    BASELINE_DAYS,
    Series,
    detect,
    nb_draw,
    pooled_dispersion,
)

__all__ = ["detection_delay", "false_alarms_in_control", "run_false_alarms"]


def detection_delay(alarms: Sequence[dict[str, Any]], truth: dict[str, Any]) -> int | None:
    """Days from the escalation's first local date to the first alarm in its sector on or
    after it (None: not detected in the run)."""
    first = date.fromisoformat(truth["local_date"])
    days = sorted(date.fromisoformat(a["day"]) for a in alarms
                  if a["sector"] == truth["sector"] and date.fromisoformat(a["day"]) >= first)
    return (days[0] - first).days if days else None


def run_false_alarms(alarms: Sequence[dict[str, Any]], truth: dict[str, Any] | None,
                     sectors: Sequence[str], watched_days: Sequence[str]) -> tuple[int, int]:
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


def false_alarms_in_control(
    sectors: dict[str, list[tuple[str, float, float]]], coverage: Sequence[float], *,
    reps: int, seed: int, watch_days: int = round(ARL0_DAYS),
    baseline_days: int = BASELINE_DAYS, arl0: float = ARL0_DAYS, poisson: bool = False,
) -> dict[str, Any]:
    """Per sector (its series' ``(category, true rate, true size)``), false alarms over
    ``watch_days`` of in-control counts, mean over ``reps`` replicates; each day's coverage
    drawn from ``coverage``. As the service does, each category's dispersion is pooled over
    the sectors' baselines, and a sector's series share its ARL0.

    Series are drawn independently (in the runs those of a sector are correlated, which makes
    the sum of their alarm rates an upper bound all the more)."""
    rng = np.random.default_rng(seed)
    cov = np.asarray(coverage, float)
    n = baseline_days + watch_days
    days = tuple(f"{i:04d}" for i in range(n))
    alarms_of: dict[str, list[int]] = {k: [] for k in sectors}
    for _ in range(reps):
        drawn: dict[str, list[Series]] = {}
        pool: dict[str, list[tuple[Any, Any]]] = {}
        for name, params in sectors.items():
            c = rng.choice(cov, n)
            for cat, rate, size in params:
                s = Series(name, cat, days, nb_draw(rng, rate * c, size), c)
                drawn.setdefault(name, []).append(s)
                pool.setdefault(cat, []).append((s.counts[:baseline_days],
                                                 c[:baseline_days]))
        disp = {k: pooled_dispersion(v) for k, v in pool.items()}
        for name, series in drawn.items():
            hit: set[str] = set()
            for s in series:
                _, _, alarms = detect(s, arl0=arl0 * len(series), baseline_days=baseline_days,
                                      poisson=poisson, dispersion=disp[s.category])
                hit |= {a.day for a in alarms}
            alarms_of[name].append(len(hit))
    per = {s: float(np.mean(v)) * ARL0_DAYS / watch_days for s, v in alarms_of.items()}
    return {"per_sector_per_15_months": per,
            "mean": float(np.mean(list(per.values()))) if per else math.nan,
            "max": float(max(per.values())) if per else math.nan,
            "reps": reps, "watch_days": watch_days}
