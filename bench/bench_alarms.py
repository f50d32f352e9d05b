"""Escalation alarms (issue 19): detection delay on the real pipeline, false alarms in control.

(a) Detection delay: for each escalation scenario (``escalation_doubling``, ``_ramp``,
    ``_spike``) and seed, simulate ``--days`` days of the March 2025 line, then the real
    pipeline in fresh processes (``truceline init``, ``ingest``, ``check``), then the alarms
    (:func:`truceline.services.early_warning.escalation_alarms`), scored against the truth
    (:mod:`truceline.simulation.alarms`). The other sectors of the same runs give false alarms
    on real pipeline output (short: ~20 watched days each).
(b) The whole procedure on simulated series (:func:`truceline.simulation.alarms.
    evaluate_procedure`): per replicate and sector, a 28-day baseline drawn from the sector's
    model as the service fitted it on a real ``baseline``-scenario store (``--models-db``,
    saved to results/alarms_models.json), the pooled dispersion, the fit and the threshold;
    then 456 in-control days (false alarms) and fresh continuations with a doubling, ramps
    of +10 and +5 %/day and a one-day spike x4 (delays). 15 months of full simulation per
    replicate would take hours; the fitted model is what the threshold promises about.
    Against the named baseline on the same draws: the plain threshold of the estimates.

(a) prints Markdown and writes it to bench/results/alarms.md (raw runs: alarms.json); (b) to
bench/results/alarms_simulated.md and .json.

    python bench/bench_alarms.py [--seeds 4] [--days 50] [--kinds doubling,ramp] [--jobs 2]
    python bench/bench_alarms.py --models-db BASELINE.db --simulated [--reps 50 --sim-seeds 2]
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
    subprocess.run(
        [sys.executable, "-m", "truceline", *args], check=True, stdout=subprocess.DEVNULL
    )


def one_run(
    kind: str, seed: int, days: int, scale: float = 1.0, first: tuple[int, int] = (32, 38)
) -> dict[str, Any]:
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
        write_simulation(
            "march2025",
            sim,
            days=days,
            seed=seed,
            scale=scale,
            params=replace(SimulationParams(), escalation_first_day=first),
            scenario=f"escalation_{kind}",
        )
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
    watched = days_[rep.baseline_days :]
    alarms = [{k: a[k] for k in ("sector", "category", "start", "day")} for a in body["alarms"]]
    false, sector_days = run_false_alarms(alarms, esc, list(heat), watched)
    cov = sorted({round(float(c), 4) for s in series for c in s.coverage[: rep.baseline_days]})
    return {
        "kind": kind,
        "seed": seed,
        "truth": esc,
        "heat": heat[esc["sector"]],
        "delay": detection_delay(alarms, esc),
        "false": false,
        "sector_days": sector_days,
        "alarms": alarms,
        "series": body["series"],
        "coverage": cov,
        "last_day": watched[-1],
        "seconds": round(time.perf_counter() - t0, 1),
    }


def models_from_store(db: str, truth: str = "chart") -> list[dict[str, Any]]:
    """Each sector's in-control model as the service fits it on a real pipeline store (a
    ``baseline`` scenario run, random episodes and all): per series the rate at full
    coverage and an NB size; the sector's observed shares over the baseline days.

    ``truth`` says which dispersion gives the size: ``chart`` (each series' chart dispersion,
    shrunk toward the pool and floored at its own: the service's sector chart; its series
    only), ``pooled`` (the category's dispersion pooled over the sectors) or ``own`` (each
    series' own baseline fit) — the latter two with all fire among the series, as the stored
    results/alarms_models.json (pooled) and alarms_models_own_dispersion.json (own) were
    written before the sector chart; the evaluator's sector chart leaves all fire out as the
    service does."""
    from truceline.adapters.store import open_store
    from truceline.core.alarm_model import MIN_COVERAGE, fit_baseline, pooled_dispersion
    from truceline.services.early_warning import daily_series, escalation_alarms

    store = open_store(db)
    rep = escalation_alarms(store)
    _, _, series, _ = daily_series(store)
    store.close()
    n = rep.baseline_days
    cov = {s.sector: [round(float(c), 4) for c in s.coverage[:n]] for s in series}
    out: dict[str, dict[str, Any]] = {}
    if truth == "chart":
        rows = [
            (s["sector"], s["category"], s["rate_per_day"], s["size"])
            for s in rep.series
            if "rate_per_day" in s
        ]
    else:
        watched = {(s["sector"], s["category"]) for s in rep.series if "rate_per_day" in s}
        kept = [s for s in series if (s.sector, s.category) in watched or s.category == "all fire"]
        pool: dict[str, list[tuple[Any, Any]]] = {}
        for s in kept:
            if (s.coverage[:n] >= MIN_COVERAGE).sum() >= 2:
                pool.setdefault(s.category, []).append((s.counts[:n], s.coverage[:n]))
        rows = []
        for s in kept:
            d = pooled_dispersion(pool[s.category]) if truth == "pooled" else None
            b = fit_baseline(s.counts[:n], s.coverage[:n], dispersion=d).to_json()
            rows.append((s.sector, s.category, b["rate_per_day"], b["size"]))
    for sector, category, rate, size in rows:
        m = out.setdefault(sector, {"name": sector, "series": [], "coverage": cov[sector]})
        m["series"].append([category, rate, float("inf") if size is None else size])
    return list(out.values())


def _evaluate(
    models: list[dict[str, Any]],
    reps: int,
    seed: int,
    methods: tuple[str, ...],
    baseline_days: int = 28,
    only: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    from truceline.simulation.alarms import SectorModel, evaluate_procedure

    sectors = [
        SectorModel(
            m["name"],
            tuple((c, float(r), float(z)) for c, r, z in m["series"]),
            tuple(m["coverage"]),
        )
        for m in models
    ]
    return evaluate_procedure(
        sectors, reps=reps, seed=seed, methods=methods, baseline_days=baseline_days, only=only
    )


def evaluate(
    models: list[dict[str, Any]],
    reps: int,
    seeds: int,
    jobs: int,
    methods: tuple[str, ...] = ("calibrated", "plain"),
    baseline_days: int = 28,
    first_seed: int = 1,
    only: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """(b): the whole procedure on simulated series drawn from ``models``: ``seeds``
    independent streams of ``reps`` replicates (each 28 baseline days + 456 watched days per
    sector, plus the escalations), seeded ``first_seed`` on, merged. The per-replicate
    records are kept under ``raw``, so that runs on disjoint seeds can be pooled later."""
    from truceline.simulation.alarms import summarise

    t0 = time.perf_counter()
    with ProcessPoolExecutor(jobs) as ex:
        parts = list(
            ex.map(
                _evaluate,
                [models] * seeds,
                [reps] * seeds,
                range(first_seed, first_seed + seeds),
                [methods] * seeds,
                [baseline_days] * seeds,
                [only] * seeds,
            )
        )
    raw = parts[0]
    for p in parts[1:]:
        for m, by in p.items():
            for n, rec in by.items():
                into = raw[m][n]
                for k, v in rec.items():
                    into[k] = into[k] + v
    out = summarise(raw)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    out["reps"] = reps * seeds
    out["baseline_days"] = baseline_days
    out["sim_seeds"] = [first_seed, first_seed + seeds - 1]
    out["raw"] = raw
    return out


def chain_delays(db: str) -> dict[str, Any]:
    """(c): per sector of a store (its chart as the service builds it: one CUSUM over its
    series, each with its chart dispersion, the sector's calibrated threshold), the
    zero-state ARL under a doubling of every series by the Markov chain over the baseline's
    mean coverage: how long the chart takes, on average, to see a doubling that starts when
    the statistic is at 0; and its ARL0 at the fitted values."""
    from truceline.adapters.store import open_store
    from truceline.core.alarm_bound import joint_run_length
    from truceline.core.early_warning import Baseline
    from truceline.services.early_warning import escalation_alarms

    store = open_store(db)
    rep = escalation_alarms(store)
    store.close()
    by: dict[str, list[dict[str, Any]]] = {}
    for s in rep.series:
        if "rate_per_day" in s:
            by.setdefault(s["sector"], []).append(s)
    out: dict[str, Any] = {}
    for sector, rows in by.items():
        bases = [
            Baseline(
                r["rate_per_day"],
                float("inf") if r["size"] is None else r["size"],
                r["days"],
                (r["mean_coverage"],),
            )
            for r in rows
        ]
        h = rows[0]["threshold"]
        out[sector] = {
            "categories": [r["category"] for r in rows],
            "h": h,
            "arl1": round(joint_run_length(bases, h, shift=2.0)[0], 2),
            "arl0": round(joint_run_length(bases, h)[0], 1),
        }
    return out


def bounds_markdown(models: list[dict[str, Any]], arl0: float = 456.0) -> str:
    """(d): per sector of ``models``, how soon any detector can see a doubling at one false
    alarm per ``arl0`` days, with the parameters known (:mod:`truceline.core.alarm_bound`):
    Lai's first-order floor ``log(arl0) / I - 1``, the sector's joint CUSUM (exact, by the
    chain: Lorden-optimal), and the floor of each series alone at ``K x arl0`` (today's
    separate charts). Delays in days from the change's first day (0: that day)."""
    from truceline.core.alarm_bound import delay_bound, information, optimal_delay
    from truceline.core.early_warning import Baseline

    lines = [
        "| sector | observed fire incidents / day | information I (nats/day) | "
        "Lai's floor | joint CUSUM: mean (median) | best single series alone at K x ARL0 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for m in models:
        cov = tuple(float(c) for c in m["coverage"])
        ds = [Baseline(float(r), float(z), len(cov), cov) for _, r, z in m["series"]]
        k = len(ds)
        alone = {
            c: delay_bound(information(d), arl0 * k) - 1.0
            for (c, _, _), d in zip(m["series"], ds, strict=True)
        }
        best = min(alone, key=lambda c: alone[c])
        o = optimal_delay(ds, arl0)
        seen = next(float(r) for c, r, _ in m["series"] if c == "fire incidents") * (
            sum(cov) / len(cov)
        )
        lines.append(
            f"| {m['name']} | {seen:.1f} | {o['information']:.2f} | "
            f"{max(o['bound'], 0.0):.1f} | {o['mean']:.1f} ({o['median']:g}) | "
            f"{alone[best]:.1f} ({best}) |"
        )
    return "\n".join(lines) + "\n"


def sim_markdown(ev: dict[str, Any]) -> str:
    """(b) as Markdown: per method, per sector and over all sectors."""
    from truceline.simulation.alarms import ESCALATIONS

    def delay(d: dict[str, Any]) -> str:
        med = "none" if d["median"] is None else f"{d['median']:g}"
        return f"{med} ({d['detected']}/{d['n']}; ≤4: {d['within_4']})"

    lines = [
        f"Simulated series (the whole procedure: {ev.get('baseline_days', 28)}-day baseline, "
        f"pooled dispersion, "
        f"fit, threshold, then 456 watched days and the escalations): {ev['reps']} "
        f"replicates per sector, {ev['seconds']} s; load {os.getloadavg()[0]:.1f}",
        "",
    ]
    for m, label in (
        ("posterior", "NB-CUSUM per series, shrunk dispersion, posterior threshold (tried)"),
        ("joint", "one joint NB-CUSUM per sector, shrunk dispersions, posterior threshold (tried)"),
        (
            "sector",
            "one NB-CUSUM per sector without all fire, dispersions shrunk and floored at the "
            "own, posterior threshold (the service since 2026-12-03; since 2026-12-05 a calm "
            "series' dispersion error the posterior of the pool's and its own, and a thin "
            "sector's baseline grows to at most 56 days: the json's baseline_days)",
        ),
        ("calibrated", "NB-CUSUM per series, pooled dispersion, calibrated threshold (main)"),
        ("plain", "NB-CUSUM, plain threshold of the estimates"),
    ):
        if m not in ev:
            continue
        lines += [
            f"**{label}**",
            "",
            "| sector | false alarms / sector-days | per sector per 15 months "
            "(95 % CI) | chain's expectation | "
            + " | ".join(f"{k}: median delay (detected; ≤ 4 days)" for k in ESCALATIONS)
            + " | spike same day |",
            "|---|---:|---:|---:|" + "---:|" * len(ESCALATIONS) + "---:|",
        ]
        rows = {**ev[m]["sectors"], "**all**": ev[m]["all"]}
        for n, r in rows.items():
            fa = r["false_per_15_months"]
            lines.append(
                f"| {n} | {r['false_alarms']} / {r['sector_days']} | "
                f"{fa['rate']:.2f} ({fa['lo']:.2f}-{fa['hi']:.2f}) | "
                f"{r['expected_per_15_months']:.2f} | "
                + " | ".join(delay(r[k]) for k in ESCALATIONS)
                + f" | {r['spike']['same_day']}/{r['spike']['n']} |"
            )
        lines.append("")
    return "\n".join(lines) + "\n"


def markdown(runs: list[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        f"bench_alarms: {len(runs)} runs, {args.days} days "
        f"each (28-day baseline; escalation from day {args.first}), March 2025 line, "
        f"scale {args.scale:g}; {platform.python_version()}, "
        f"load {os.getloadavg()[0]:.1f}",
        "",
        "| scenario | runs | detected | median delay (days) | delays (sector heat) | "
        "false alarms / sector-days (real runs) |",
        "|---|---:|---:|---:|---|---:|",
    ]
    for kind in KINDS:
        rs = [r for r in runs if r["kind"] == kind]
        got = [r["delay"] for r in rs if r["delay"] is not None]
        # an undetected run counts as longer than any detected one (median over all runs)
        ranked = sorted(got) + [10**6] * (len(rs) - len(got))
        med = statistics.median_low(ranked) if ranked else None
        med_s = "-" if med is None else (">run" if med == 10**6 else str(med))
        detail = ", ".join(
            f"{r['delay'] if r['delay'] is not None else 'none'} "
            f"({r['truth']['sector']}, x{r['heat']:g})"
            for r in rs
        )
        fa = sum(r["false"] for r in rs)
        sd = sum(r["sector_days"] for r in rs)
        lines.append(f"| {kind} | {len(rs)} | {len(got)} | {med_s} | {detail} | {fa} / {sd} |")
    fa = sum(r["false"] for r in runs)
    sd = sum(r["sector_days"] for r in runs)
    lines += [
        "",
        f"Real runs together: {fa} false alarms in {sd} in-control sector-days = "
        f"{fa * 456 / max(sd, 1):.2f} per sector per 15 months.",
        "",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--days", type=int, default=50)
    ap.add_argument(
        "--reps",
        type=int,
        default=20,
        help="Simulated replicates per process (of 456 in-control days per "
        "sector and the escalations), --sim-seeds processes.",
    )
    ap.add_argument("--sim-seeds", type=int, default=2)
    ap.add_argument(
        "--first-sim-seed",
        type=int,
        default=1,
        help="The first of the --sim-seeds streams' seeds (disjoint runs can be pooled).",
    )
    ap.add_argument(
        "--methods",
        default="sector,calibrated,plain",
        help="Evaluator methods of part (b) (truceline.simulation.alarms.evaluate_procedure).",
    )
    ap.add_argument(
        "--models", default=None, help="Sector models (default: results/alarms_models.json)."
    )
    ap.add_argument(
        "--baseline-days",
        type=int,
        default=28,
        help="Part (b): baseline days the procedure learns from (the service's default 28).",
    )
    ap.add_argument(
        "--only-sectors",
        default="",
        help="Score only these sectors (comma-separated) in the simulated part; the draws are "
        "a full run's, so their figures are too (a paired rerun of what a change touches).",
    )
    ap.add_argument("--tag", default="", help="Suffix of the simulated part's result files.")
    ap.add_argument("--kinds", default=",".join(KINDS), help="Scenarios of part (a).")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--scale", type=float, default=1.0, help="The simulator's fire rate scale.")
    ap.add_argument(
        "--first",
        default="32-38",
        help="Range of the escalation's first day (index from the run's start).",
    )
    ap.add_argument(
        "--runs",
        default=str(OUT / "alarms_runs.jsonl"),
        help="Each finished run is appended here (a rerun skips those done).",
    )
    ap.add_argument(
        "--report",
        action="store_true",
        help="Only summarise the runs already in --runs (and the in-control part).",
    )
    ap.add_argument(
        "--models-db",
        default=None,
        help="A checked store of the baseline scenario (>= 28 days): its sectors' "
        "fitted models are written to --models (default results/alarms_models.json).",
    )
    ap.add_argument(
        "--models-truth",
        default="chart",
        choices=("chart", "pooled", "own"),
        help="With --models-db: the dispersion of the models written (models_from_store).",
    )
    ap.add_argument(
        "--simulated",
        action="store_true",
        help="Only part (b): the evaluator on series drawn from results/alarms_models.json.",
    )
    ap.add_argument(
        "--bounds",
        action="store_true",
        help="Only part (d): per sector, the shortest delay any detector could reach.",
    )
    ap.add_argument(
        "--chain-db",
        default=None,
        help="Also print each series' Markov-chain delay to a doubling in this "
        "store (written to results/alarms_chain.json).",
    )
    args = ap.parse_args()
    path = Path(args.runs)
    done = [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []
    have = {(r["kind"], r["seed"], r["days"]) for r in done}
    # seed-major, so that stopping early leaves every scenario with about as many runs
    first = tuple(int(x) for x in args.first.split("-"))
    jobs = [
        (k, s, args.days, args.scale, first)
        for s in range(1, args.seeds + 1)
        for k in args.kinds.split(",")
        if (k, s, args.days) not in have
    ]
    models_path = Path(args.models) if args.models else OUT / "alarms_models.json"
    if args.models_db:
        models_path.write_text(
            json.dumps(models_from_store(args.models_db, args.models_truth), indent=1),
            encoding="utf-8",
        )
    if args.bounds:
        text = bounds_markdown(json.loads(models_path.read_text()))
        print(text)
        (OUT / f"alarms_bounds{args.tag}.md").write_text(text, encoding="utf-8")
        return
    if args.simulated:
        ev = evaluate(
            json.loads(models_path.read_text()),
            args.reps,
            args.sim_seeds,
            args.jobs,
            tuple(args.methods.split(",")),
            args.baseline_days,
            args.first_sim_seed,
            tuple(args.only_sectors.split(",")) if args.only_sectors else None,
        )
        (OUT / f"alarms_simulated{args.tag}.json").write_text(
            json.dumps(ev, indent=1, sort_keys=True, default=lambda o: o.item()),
            encoding="utf-8",
        )
        text = sim_markdown(ev)
        print(text)
        (OUT / f"alarms_simulated{args.tag}.md").write_text(text, encoding="utf-8")
        return
    if not args.report and jobs:
        with ProcessPoolExecutor(args.jobs) as ex, open(path, "a", encoding="utf-8") as f:
            for r in ex.map(one_run, *zip(*jobs, strict=True)):
                r["days"], r["scale"] = args.days, args.scale
                f.write(json.dumps(r, sort_keys=True) + "\n")
                f.flush()
                done.append(r)
                print(
                    r["kind"],
                    r["seed"],
                    r["truth"]["sector"],
                    r["delay"],
                    r["false"],
                    r["seconds"],
                    flush=True,
                )
    if args.chain_db:
        chain = chain_delays(args.chain_db)
        (OUT / "alarms_chain.json").write_text(
            json.dumps(chain, indent=1, sort_keys=True), encoding="utf-8"
        )
        for sec, v in chain.items():
            print(sec, v["categories"], v["h"], v["arl1"], v["arl0"])
        return
    runs = [r for r in done if r["days"] == args.days]
    text = markdown(runs, args)
    print(text)
    OUT.mkdir(exist_ok=True)
    (OUT / "alarms.md").write_text(text, encoding="utf-8")
    (OUT / "alarms.json").write_text(
        json.dumps({"runs": runs}, indent=1, sort_keys=True), encoding="utf-8"
    )


if __name__ == "__main__":
    main()
