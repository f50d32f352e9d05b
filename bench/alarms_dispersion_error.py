"""How far one series' own 28-day dispersion ``D`` errs, per sector and category, against the
chi-square's ``sqrt(2 / (n - 1))`` that ``core.alarm_sector.chart_dispersion`` widens by
``WIDTH`` (issue 19). Draws 28 days from each fitted model (NB, the sector's coverage days),
fits ``D`` as the service does and prints its relative spread, the ratio to the chi-square's
and the NB's own prediction ``sqrt(2/(n-1) + kurtosis/n)``.

    python bench/alarms_dispersion_error.py [MODELS.json ...] [--draws 1500]
"""

from __future__ import annotations

import argparse
import json
import math

import numpy as np

from truceline.core.alarm_model import pooled_dispersion

N = 28


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="*", default=["bench/results/alarms_models_scale1.json"])
    ap.add_argument("--draws", type=int, default=1500)
    a = ap.parse_args()
    chi = math.sqrt(2.0 / (N - 1))
    print(
        "| models | sector | category | mean/day | D (model) | mean D fitted | "
        "sd/D | sd/D ÷ chi-square's | NB's prediction ÷ chi-square's |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for f in a.models:
        rng = np.random.default_rng(7)
        with open(f, encoding="utf-8") as fh:
            models = json.load(fh)
        for m in models:
            cov = np.asarray(m["coverage"], float)
            for cat, r, z in m["series"]:
                if cat == "all fire":  # not a series of the sector chart
                    continue
                ds = []
                for _ in range(a.draws):
                    c = rng.choice(cov, N)
                    mu = r * c
                    if math.isfinite(z):
                        y = rng.negative_binomial(z, z / (z + mu))
                    else:
                        y = rng.poisson(mu)
                    ds.append(pooled_dispersion([(y.astype(float), c)]))
                d = np.asarray(ds)
                mu = r * float(cov.mean())
                true_d = 1.0 + mu / z if math.isfinite(z) else 1.0
                kurt = (6.0 / z if math.isfinite(z) else 0.0) + 1.0 / (mu * true_d)
                rel = float(d.std() / d.mean())
                print(
                    f"| {f.rsplit('/', 1)[-1]} | {m['name']} | {cat} | {mu:.1f} | {true_d:.2f} | "
                    f"{d.mean():.2f} | {rel:.2f} | {rel / chi:.2f} | "
                    f"{math.sqrt(2 / (N - 1) + kurt / N) / chi:.2f} |"
                )


if __name__ == "__main__":
    main()
