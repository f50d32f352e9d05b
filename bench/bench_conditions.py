"""Issue 14's conditions, each alone and all together: the whole pipeline scored on 7-day weeks.

For each scenario (``baseline`` for reference; ``coarse_bands``, ``wild_bearings``,
``clock_offsets``, ``wind``, ``biased_observers``, ``resubmissions``,
``resubmissions_channel``; ``all_conditions``) and seed, simulates the March 2025 scenario
(from entry into force + 4 days), ingests it into a temporary SQLite store, runs
``run_check`` (fusion, calibration, checks: what ``truceline check`` does) and scores the
stored incidents, findings and source estimates with the evaluator, as bench_resubmissions.py
does. For a scenario with resubmissions it also runs the same week without the copies, so the
row can say how many incidents and findings the copies added (the bar is 0).

One row per scenario over the seeds: ARI by event (mean, worst seed), median origin and
impact error over the Cramér-Rao bound of the reports actually simulated (mean of the seeds'
medians, worst seed), attribution accuracy for origins >= 2 km from the line with >= 3
bearings, the share of located origins and impacts whose stated 95 % ellipse covers the truth
(pooled), incidents and findings added by copies, and the bias flags' recall and precision
(pooled; recall also over the biased posts the week's shared bearings can identify:
``truceline.simulation.bias_flags``, those outside printed per week). Writes
bench/results/conditions.md (``--out`` to write elsewhere).

    python bench/bench_conditions.py [--days 7] [--seeds 1 2 3] [--scenarios ...]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.importers import read_records
from truceline.adapters.simulate_files import read_truth, write_simulation
from truceline.adapters.store import open_store
from truceline.services.check import run_check
from truceline.services.ingest import ingest
from truceline.services.record import initialize_store
from truceline.services.sources import source_estimates
from truceline.simulation.evaluation import evaluate
from truceline.simulation.presets import scenario_params

RESULTS = Path(__file__).resolve().parent / "results" / "conditions.md"
SCENARIOS = ("baseline", "coarse_bands", "wild_bearings", "clock_offsets", "wind",
             "biased_observers", "resubmissions", "resubmissions_channel", "all_conditions")


def run(tmp: Path, scenario: str, days: int, seed: int, copies: bool = True) -> dict[str, Any]:
    """One week through ingest, check and the evaluator; ``copies=False``: the scenario's
    week without its resubmissions (the same records but for the copies)."""
    ag, doc = load_agreement_file("march2025")
    tag = f"{scenario}-{seed}-{int(copies)}"
    sim = tmp / tag
    params = scenario_params(scenario)
    if not copies:
        params = replace(params, resubmit_share=0.0)
    t = time.perf_counter()
    write_simulation("march2025", sim, days=days, seed=seed, params=params,
                     start=ag.entry_into_force_at + timedelta(days=4))
    t_sim = time.perf_counter() - t
    store = open_store(str(tmp / f"{tag}.db"), create=True)
    initialize_store(store, doc)
    t = time.perf_counter()
    ingest(store, read_records(str(sim / "observations.jsonl"), "jsonl"), future_tolerance=None)
    t_ingest = time.perf_counter() - t
    t = time.perf_counter()
    chk = run_check(store)
    t_check = time.perf_counter() - t
    manifest, truth, obs = read_truth(sim)
    stored = {o.id for o in store.observations()}
    findings = [f.to_record() for f in store.findings()]
    ev = evaluate(truth, obs, stored, store.incident_records(), findings,
                  parties=manifest["parties"],
                  sensor_timing_sd_s=manifest["params"]["sensor_timing_sd_s"],
                  sources=source_estimates(store))
    store.close()
    return {"records": len(obs), "incidents": chk.incidents, "findings": len(findings),
            "violations": sum(1 for f in findings if f["verdict"] == "violation"),
            "ev": ev, "t_sim": t_sim, "t_ingest": t_ingest, "t_check": t_check}


def _mean_worst(xs: list[float | None], worst: Any) -> str:
    v = [x for x in xs if x is not None]
    if not v:
        return "n/a"
    return f"{np.mean(v):.3f} ({worst(v):.3f})"


def row(name: str, runs: list[dict[str, Any]]) -> str:
    """The scenario's row over its seeds (see the module docstring)."""
    evs = [r["ev"] for r in runs]
    ari = _mean_worst([e["grouping"]["by_event"]["ari"] for e in evs], min)
    loc = {p: _mean_worst([e["location"][p]["ratio_to_crlb_median"] for e in evs], max)
           for p in ("origin", "impact")}
    att = _mean_worst([e["attribution"]["accuracy_2km_3_bearings"] for e in evs], min)
    cover = []
    for p in ("origin", "impact"):
        n = sum(e["location"][p]["ellipse_n"] for e in evs)
        k = sum(round((e["location"][p]["ellipse_coverage"] or 0) * e["location"][p]["ellipse_n"])
                for e in evs)
        cover.append(f"{k / n:.3f}" if n else "n/a")
    added = "–"
    if all("without" in r for r in runs):
        di = sum(r["incidents"] - r["without"]["incidents"] for r in runs)
        df = sum(r["findings"] - r["without"]["findings"] for r in runs)
        only = sum(e["resubmissions"]["incidents_only_copies"] for e in evs)
        fonly = sum(e["resubmissions"]["findings_only_copies"] for e in evs)
        added = f"{di:+d} / {df:+d} ({only} / {fonly})"
    cal = [e["calibration"] for e in evs]
    biased = sum(c["biased"] for c in cal)
    tp = sum(c["true_flags"] for c in cal)
    flagged = sum(c["flagged"] for c in cal)
    ident = sum(c.get("identifiable", 0) for c in cal)
    tp_ident = sum(c.get("identifiable_flagged", 0) for c in cal)
    rec = (f"{tp / biased:.3f} ({tp}/{biased}); identifiable "
           + (f"{tp_ident / ident:.3f} ({tp_ident}/{ident})" if ident else "–")) if biased else "–"
    prec = f"{tp / flagged:.3f} ({tp}/{flagged})" if flagged else "– (0 flags)"
    return (f"| `{name}` | {sum(r['records'] for r in runs):,} | {ari} | {loc['origin']} | "
            f"{loc['impact']} | {att} | {cover[0]} / {cover[1]} | {added} | {rec} | {prec} |")


HEADER = (
    "| scenario | records (all seeds) | ARI by event: mean (worst) | origin error / CRLB, "
    "median: mean (worst) | impact error / CRLB, median: mean (worst) | attribution, origins "
    ">= 2 km with >= 3 bearings: mean (worst) | truth inside the 95 % ellipse: origins / "
    "impacts | incidents / findings added by copies (made only of copies) | bias flags: "
    "recall (over the identifiable) | precision |\n|---|---|---|---|---|---|---|---|---|---|"
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--scenarios", nargs="+", default=list(SCENARIOS), choices=SCENARIOS)
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--json", type=Path, help="also write every run's figures here")
    ap.add_argument("--no-write", action="store_true", help="print only")
    args = ap.parse_args()
    t0 = time.perf_counter()
    rows, raw = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.scenarios:
            runs = []
            for seed in args.seeds:
                r = run(Path(tmp), name, args.days, seed)
                if scenario_params(name).resubmit_share > 0:
                    r["without"] = run(Path(tmp), name, args.days, seed, copies=False)
                runs.append(r)
                print(name, seed, json.dumps({k: v for k, v in r.items() if k != "ev"},
                                             default=str), flush=True)
                for s in r["ev"].get("calibration", {}).get("not_identifiable", []):
                    print("  not identifiable:", json.dumps(s), flush=True)
            raw[name] = runs
            rows.append(row(name, runs))
            print(rows[-1], flush=True)
    if args.json:
        args.json.write_text(json.dumps(raw, default=str), encoding="utf-8")
    head = (
        f"{time.strftime('%Y-%m-%d')}, {platform.machine()}, Python "
        f"{platform.python_version()}, `python bench/bench_conditions.py --days {args.days} "
        f"--seeds {' '.join(map(str, args.seeds))}`, {time.perf_counter() - t0:.0f} s in all."
        f"\n\nMarch 2025 scenario, {args.days} days from entry into force + 4 days, scale 1; "
        "each week simulated, ingested into SQLite, checked (`run_check`: fusion, "
        "calibration, rules) and scored by `truceline.simulation.evaluation`. Bars (issue "
        "14): ARI >= 0.95, error/CRLB <= 1.25, attribution >= 0.97, ellipse coverage "
        "0.93-0.97, copies add 0 incidents and 0 findings, bias flags recall and precision "
        ">= 0.9. The CRLB counts the reports actually simulated, wild bearings left out."
    )
    text = ("# Issue 14's conditions, alone and together\n\n" + head + "\n\n" + HEADER + "\n"
            + "\n".join(rows) + "\n")
    print(text)
    if not args.no_write:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
