"""Escalation alarms (issue 19): detection delay on the real pipeline, false alarms in control.

(a) Detection delay: for each escalation scenario (``escalation_doubling``, ``_ramp``,
    ``_spike``) and seed, simulate ``--days`` days of the March 2025 line, then the real
    pipeline in fresh processes (``truceline init``, ``ingest``, ``check``), then the alarms
    (:func:`truceline.services.early_warning.escalation_alarms`), scored against the truth
    (:mod:`truceline.simulation.alarms`). The other sectors of the same runs give false alarms
    on real pipeline output (short: ~20 watched days each).
(b) False alarms over 15 months: the whole procedure on long in-control series drawn from the
    negative binomial with the (rate, size) fitted on a baseline-scenario store's sectors and
    its coverage days (15 months of full simulation per replicate would take hours), against
    the named baseline: the Poisson CUSUM on the same series (over-dispersion ignored).

Prints Markdown and writes it to bench/results/alarms.md (and the raw figures to
bench/results/alarms.json).

    python bench/bench_alarms.py [--seeds 4] [--days 50] [--jobs 2] [--report]
    python bench/bench_alarms.py --in-control-only --in-control-db BASELINE.db [--reps 20]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "results"
KINDS = ("doubling", "ramp", "spike")


def _cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "truceline", *args], check=True,
                   stdout=subprocess.DEVNULL)


def one_run(kind: str, seed: int, days: int, scale: float = 1.0,
            first: tuple[int, int] = (32, 38)) -> dict[str, Any]:
    """Simulate, ingest, check, alarm; the run's delay, false alarms and fitted series."""
    from dataclasses import replace

    from truceline.adapters.simulate_files import write_simulation
    from truceline.adapters.store import open_store
    from truceline.services.early_warning import daily_series, escalation_alarms
    from truceline.simulation.alarms import detection_delay, run_false_alarms
    from truceline.simulation.sources import SimulationParams

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        sim, db = Path(tmp) / "sim", str(Path(tmp) / "s.db")
        write_simulation("march2025", sim, days=days, seed=seed, scale=scale,
                         params=replace(SimulationParams(), escalation_first_day=first),
                         scenario=f"escalation_{kind}")
        _cli("init", "--db", db, "--agreement", "march2025")
        _cli("ingest", "--db", db, str(sim / "observations.jsonl"))
        _cli("check", "--db", db)
        truth = [json.loads(x) for x in (sim / "truth.jsonl").read_text().splitlines()]
        esc = next(r for r in truth if r.get("type") == "escalation_truth")
        heat = {r["id"]: r["heat"] for r in truth if r.get("type") == "sector"}
        store = open_store(db)
        rep = escalation_alarms(store)
        body = rep.to_json()
        days_, _, series, _ = daily_series(store)
        store.close()
    watched = days_[rep.baseline_days:]
    alarms = [{k: a[k] for k in ("sector", "category", "start", "day")} for a in body["alarms"]]
    false, sector_days = run_false_alarms(alarms, esc, list(heat), watched)
    cov = sorted({round(float(c), 4) for s in series for c in s.coverage[:rep.baseline_days]})
    return {"kind": kind, "seed": seed, "truth": esc, "heat": heat[esc["sector"]],
            "delay": detection_delay(alarms, esc), "false": false, "sector_days": sector_days,
            "alarms": alarms, "series": body["series"], "coverage": cov,
            "last_day": watched[-1], "seconds": round(time.perf_counter() - t0, 1)}


def in_control(db: str, reps: int) -> dict[str, Any]:
    """(b): each sector's series as fitted on the first 28 days of a real pipeline store
    (``--in-control-db``: a ``baseline`` scenario run, random escalation episodes and all, so
    the dispersion is what the mission would see), with that store's coverage days."""
    from truceline.adapters.store import open_store
    from truceline.core.early_warning import fit_baseline
    from truceline.services.early_warning import daily_series
    from truceline.simulation.alarms import false_alarms_in_control

    store = open_store(db)
    _, _, series, _ = daily_series(store)
    store.close()
    sectors: dict[str, list[tuple[str, float, float]]] = {}
    cov: list[float] = []
    for s in series:
        b = fit_baseline(s.counts[:28], s.coverage[:28])  # each series' own dispersion
        sectors.setdefault(s.sector, []).append((s.category, b.rate, b.size))
        cov += list(b.coverage)
    out: dict[str, Any] = {"sectors": {k: [(c, round(r, 3), round(z, 3)) for c, r, z in v]
                                       for k, v in sectors.items()}}
    for name, poisson in (("nb_cusum", False), ("poisson_cusum", True)):
        t0 = time.perf_counter()
        out[name] = false_alarms_in_control(sectors, cov, reps=reps, seed=19, poisson=poisson)
        out[name]["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def chain_delays(db: str) -> dict[str, Any]:
    """(c): per series of a store (the chart as the service builds it: pooled dispersion,
    guarded threshold), its zero-state ARL under a doubling by the Markov chain at the
    baseline's mean coverage: how long the chart takes, on average, to see a doubling that
    starts when the statistic is at 0; and its ARL0 at the fitted values."""
    from truceline.adapters.store import open_store
    from truceline.core.early_warning import Baseline, arl_markov
    from truceline.services.early_warning import escalation_alarms

    store = open_store(db)
    rep = escalation_alarms(store)
    store.close()
    out: dict[str, Any] = {}
    for s in rep.series:
        if "rate_per_day" not in s:
            continue
        size = float("inf") if s["size"] is None else s["size"]
        base = Baseline(s["rate_per_day"], size, s["days"], (s["mean_coverage"],))
        h = s["threshold"]
        out.setdefault(s["sector"], {})[s["category"]] = {
            "rate": s["rate_per_day"], "h": h, "arl1": round(arl_markov(base, h, shift=2.0), 2),
            "arl0": round(arl_markov(base, h), 1)}
    return out


def markdown(runs: list[dict[str, Any]], ic: dict[str, Any], args: argparse.Namespace) -> str:
    lines = [f"bench_alarms: {len(runs)} runs, {args.days} days "
             f"each (28-day baseline; escalation from day {args.first}), March 2025 line, "
             f"scale {args.scale:g}; in-control: {args.reps} "
             f"replicates of 456 days per sector; {platform.python_version()}, "
             f"load {os.getloadavg()[0]:.1f}", "",
             "| scenario | runs | detected | median delay (days) | delays (sector heat) | "
             "false alarms / sector-days (real runs) |", "|---|---:|---:|---:|---|---:|"]
    for kind in KINDS:
        rs = [r for r in runs if r["kind"] == kind]
        got = [r["delay"] for r in rs if r["delay"] is not None]
        # an undetected run counts as longer than any detected one (median over all runs)
        ranked = sorted(got) + [10**6] * (len(rs) - len(got))
        med = statistics.median_low(ranked) if ranked else None
        med_s = "-" if med is None else (">run" if med == 10**6 else str(med))
        detail = ", ".join(f"{r['delay'] if r['delay'] is not None else 'none'} "
                           f"({r['truth']['sector']}, x{r['heat']:g})" for r in rs)
        fa = sum(r["false"] for r in rs)
        sd = sum(r["sector_days"] for r in rs)
        lines.append(f"| {kind} | {len(rs)} | {len(got)} | {med_s} | {detail} | "
                     f"{fa} / {sd} |")
    fa = sum(r["false"] for r in runs)
    sd = sum(r["sector_days"] for r in runs)
    lines += ["", f"Real runs together: {fa} false alarms in {sd} in-control sector-days = "
              f"{fa * 456 / max(sd, 1):.2f} per sector per 15 months.", "",
              "| in-control series (456 days x reps per sector) | false alarms per sector "
              "per 15 months: mean | max over sectors | time |", "|---|---:|---:|---:|"]
    for name, label in (("nb_cusum", "NB-CUSUM (this)"),
                        ("poisson_cusum", "Poisson CUSUM (baseline)")):
        if name not in ic:
            continue
        r = ic[name]
        lines.append(f"| {label} | {r['mean']:.2f} | {r['max']:.2f} | {r['seconds']} s |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--days", type=int, default=50)
    ap.add_argument("--reps", type=int, default=20,
                    help="In-control replicates of 456 days per sector.")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--scale", type=float, default=1.0, help="The simulator's fire rate scale.")
    ap.add_argument("--first", default="32-38",
                    help="Range of the escalation's first day (index from the run's start).")
    ap.add_argument("--runs", default=str(OUT / "alarms_runs.jsonl"),
                    help="Each finished run is appended here (a rerun skips those done).")
    ap.add_argument("--report", action="store_true",
                    help="Only summarise the runs already in --runs (and the in-control part).")
    ap.add_argument("--in-control-db", default=None,
                    help="A checked store of the baseline scenario (>= 28 days) whose fitted "
                    "series the in-control part draws from; without it that part is skipped.")
    ap.add_argument("--in-control-only", action="store_true")
    ap.add_argument("--chain-db", default=None,
                    help="Also print each series' Markov-chain delay to a doubling in this "
                    "store (written to results/alarms_chain.json).")
    args = ap.parse_args()
    path = Path(args.runs)
    done = ([json.loads(x) for x in path.read_text().splitlines()] if path.exists() else [])
    have = {(r["kind"], r["seed"], r["days"]) for r in done}
    # seed-major, so that stopping early leaves every scenario with about as many runs
    first = tuple(int(x) for x in args.first.split("-"))
    jobs = [(k, s, args.days, args.scale, first) for s in range(1, args.seeds + 1)
            for k in KINDS if (k, s, args.days) not in have]
    if not args.report and not args.in_control_only and jobs:
        with ProcessPoolExecutor(args.jobs) as ex, open(path, "a", encoding="utf-8") as f:
            for r in ex.map(one_run, *zip(*jobs, strict=True)):
                r["days"], r["scale"] = args.days, args.scale
                f.write(json.dumps(r, sort_keys=True) + "\n")
                f.flush()
                done.append(r)
                print(r["kind"], r["seed"], r["truth"]["sector"], r["delay"], r["false"],
                      r["seconds"], flush=True)
    if args.chain_db:
        chain = chain_delays(args.chain_db)
        (OUT / "alarms_chain.json").write_text(json.dumps(chain, indent=1, sort_keys=True),
                                               encoding="utf-8")
        for sec, cats in chain.items():
            print(sec, {k: (v["rate"], v["arl1"], v["arl0"]) for k, v in cats.items()})
        return
    runs = [r for r in done if r["days"] == args.days]
    ic_path = OUT / "alarms_in_control.json"
    if args.in_control_db:
        ic = in_control(args.in_control_db, args.reps)
        ic_path.write_text(json.dumps(ic, indent=1, sort_keys=True), encoding="utf-8")
    elif ic_path.exists():
        ic = json.loads(ic_path.read_text())
    else:
        ic = {}
    text = markdown(runs, ic, args)
    print(text)
    OUT.mkdir(exist_ok=True)
    (OUT / "alarms.md").write_text(text, encoding="utf-8")
    (OUT / "alarms.json").write_text(json.dumps({"runs": runs}, indent=1, sort_keys=True),
                                     encoding="utf-8")


if __name__ == "__main__":
    main()
