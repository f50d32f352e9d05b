"""Escalation alarms (issue 19): where a sector's delay goes, on a real store.

Per sector of a checked store, the sector chart as the service builds it (series, chart
dispersions and their errors, the calibrated threshold) against the same sector with its
parameters known (the threshold of ARL0 456 at the fit: :func:`~truceline.core.alarm_bound.
optimal_delay`): the two thresholds, their zero-state delays to a doubling (Markov chain)
and the calibrated chart's ARL0 were its fit the truth. Then the same with the baseline's
days repeated 2 and 4 times (the same estimates on twice and four times the evidence): does
a longer baseline bring the threshold toward the known-parameter one?

    python bench/bench_alarms_margin.py STORE.db [--sectors zaporizhzhia_dnipro,kharkiv]
"""

from __future__ import annotations

import argparse

import numpy as np


def main() -> None:
    from truceline.adapters.store import open_store
    from truceline.core.alarm_bound import (
        joint_calibrated_threshold,
        joint_run_length,
        optimal_delay,
    )
    from truceline.core.alarm_model import BASELINE_DAYS, fit_baseline
    from truceline.core.alarm_sector import chart_dispersion
    from truceline.services.early_warning import ALL, daily_series

    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("--sectors", default="zaporizhzhia_dnipro,kharkiv")
    ap.add_argument("--repeats", default="1,2,4")
    args = ap.parse_args()
    store = open_store(args.db)
    _, _, series, _ = daily_series(store)
    store.close()
    series = [s for s in series if s.category != ALL]  # as the sector chart
    n0 = BASELINE_DAYS
    print(
        "| sector | baseline days | D ± error per series | h (known parameters) | "
        "doubling mean (median), days | known parameters | ARL0 at the fit |\n"
        "|---|---:|---|---:|---:|---:|---:|"
    )
    for rep in (int(x) for x in args.repeats.split(",")):
        ys = {
            (s.sector, s.category): np.tile(np.asarray(s.counts[:n0], float), rep) for s in series
        }
        cs = {s.sector: np.tile(np.asarray(s.coverage[:n0], float), rep) for s in series}
        pool: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
        for s in series:
            pool.setdefault(s.category, []).append((ys[(s.sector, s.category)], cs[s.sector]))
        for sec in args.sectors.split(","):
            grp = [s for s in series if s.sector == sec]
            disp = [chart_dispersion(ys[(sec, s.category)], cs[sec], pool[s.category]) for s in grp]
            bases = [
                fit_baseline(ys[(sec, s.category)], cs[sec], dispersion=d)
                for s, (d, _) in zip(grp, disp, strict=True)
            ]
            h = joint_calibrated_threshold(
                bases,
                456.0,
                dispersions=[d for d, _ in disp],
                dispersion_ses=[se for _, se in disp],
                seed=1,
            )
            arl1, cdf = joint_run_length(bases, h, shift=2.0, horizon=200)
            arl0, _ = joint_run_length(bases, h)
            o = optimal_delay(bases, 456.0)
            ds = ", ".join(
                f"{s.category} {d:.2f} ± {se:.2f}" for s, (d, se) in zip(grp, disp, strict=True)
            )
            print(
                f"| {sec} | {n0 * rep} | {ds} | {h:.2f} ({o['h']:.2f}) | "
                f"{arl1 - 1:.1f} ({int(np.searchsorted(cdf, 0.5))}) | "
                f"{o['mean']:.1f} ({o['median']:g}) | {arl0:,.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
