"""Pool two runs of ``bench_alarms.py --simulated`` on disjoint seeds (issue 19).

    python bench/pool_alarms.py EARLIER.json LATER.json [--method sector]

``LATER`` must carry its per-replicate records (``raw``, written since 2026-12-05); ``EARLIER``
may be a summary only (its false-alarm interval is turned back into a standard error). Prints,
per sector, the false alarms per sector per 15 months over both (95 % CI, replicates as
clusters), and the doubling's share within 4 days with a Wilson 95 % interval (one doubling
per replicate and sector, so the replicates are the binomial's trials), over both and per
pair of ``LATER``'s seeds; its median where both runs' counts decide it.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

import numpy as np

PER = 456.0


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    p = k / n
    mid = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return mid - half, mid + half


def _se(per_rep: np.ndarray, days: int) -> float:
    n = len(per_rep)
    return float(per_rep.std(ddof=1)) * PER * n / days / math.sqrt(n)


def pool(early: dict[str, Any], late: dict[str, Any], method: str) -> dict[str, Any]:
    e = early[method]["sectors"]
    raw = late["raw"][method]
    n_e, n_l = early["reps"], late["reps"]
    out: dict[str, Any] = {}
    for name, rec in raw.items():
        er = e[name]
        per = np.asarray(rec["false"], float)
        fa = er["false_alarms"] + int(per.sum())
        days = er["sector_days"] + rec["days"]
        se_e = (er["false_per_15_months"]["hi"] - er["false_per_15_months"]["rate"]) / 1.96
        se = math.hypot(n_e * se_e, n_l * _se(per, rec["days"])) / (n_e + n_l)
        se = max(se, math.sqrt(max(fa, 1)) * PER / days)
        rate = fa * PER / days
        d = rec["doubling"]
        got = [x for x in d if x is not None]
        k_l = sum(1 for x in got if x <= 4)
        k = er["doubling"]["within_4"] + k_l
        n = er["doubling"]["n"] + len(d)
        per_seed = len(d) // max(1, late["sim_seeds"][1] - late["sim_seeds"][0] + 1)
        groups = {}
        for i in range(0, len(d), 2 * per_seed):
            part = d[i : i + 2 * per_seed]
            s0 = late["sim_seeds"][0] + i // per_seed
            groups[f"{s0}-{s0 + 1}"] = (sum(1 for x in part if x is not None and x <= 4), len(part))
        # the lower median of both runs is the (n+1)//2-th smallest delay: decided where the
        # counts up to a day reach it whatever the earlier run's delays above 4 were
        half = (n + 1) // 2
        ranked = sorted(10**6 if x is None else x for x in d)
        med_late = ranked[(len(ranked) - 1) // 2]
        out[name] = {
            "false_alarms": fa,
            "sector_days": days,
            "rate": round(rate, 3),
            "lo": round(max(0.0, rate - 1.96 * se), 3),
            "hi": round(rate + 1.96 * se, 3),
            "within_4": k,
            "n": n,
            "share_4": round(k / n, 3),
            "wilson": [round(x, 3) for x in wilson(k, n)],
            "late_within_4": [k_l, len(d)],
            "late_wilson": [round(x, 3) for x in wilson(k_l, len(d))],
            "late_groups": groups,
            "late_median": med_late,
            "median_le_4": k >= half,
            "late_within": {t: sum(1 for x in got if x <= t) for t in range(0, 9)},
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("early")
    ap.add_argument("late")
    ap.add_argument("--method", default="sector")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    with open(a.early, encoding="utf-8") as f:
        early = json.load(f)
    with open(a.late, encoding="utf-8") as f:
        late = json.load(f)
    res = pool(early, late, a.method)
    for name, r in res.items():
        print(
            f"{name}: false {r['rate']:.2f} ({r['lo']:.2f}-{r['hi']:.2f}) "
            f"[{r['false_alarms']}/{r['sector_days']}]; doubling <=4 {r['within_4']}/{r['n']} "
            f"= {r['share_4']:.3f} ({r['wilson'][0]:.3f}-{r['wilson'][1]:.3f}); later seeds "
            f"{r['late_within_4'][0]}/{r['late_within_4'][1]} by pair {r['late_groups']}, "
            f"median {r['late_median']}; median over both <= 4: {r['median_le_4']}; "
            f"later within t: {r['late_within']}"
        )
    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump(res, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
