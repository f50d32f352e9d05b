"""Fusion on a fresh simulated week, scored by the evaluator (< 4 minutes).

Simulates a week of the March 2025 scenario (from entry into force + 4 days) with
``truceline.adapters.simulate_files.write_simulation``, ingests it into a temporary SQLite
store through the services, runs ``services.check.run_check`` (fusion, then the provision
checks), evaluates the store against the truth with ``simulation.evaluation.evaluate`` and writes
bench/results/fusion_eval.md: grouping ARI, location median/p90 and ratio to the Cramér–Rao
bound, attribution accuracy (all, and >= 2 km from the line with >= 3 bearings), the
reliability table, Brier score, and finding precision/recall.

    python bench/bench_fusion_eval.py [--days 7] [--scale 1] [--seed 7] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.importers import read_records
from truceline.adapters.simulate_files import read_truth, write_simulation
from truceline.adapters.store import open_store
from truceline.services.check import run_check
from truceline.services.ingest import ingest
from truceline.services.record import initialize_store
from truceline.simulation.evaluation import evaluate, render_markdown

OUT = Path(__file__).resolve().parent / "results" / "fusion_eval.md"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", default=None, help="copy the simulation and store here")
    ap.add_argument("--no-write", action="store_true", help="print only")
    args = ap.parse_args()
    t0 = time.perf_counter()
    ag, doc = load_agreement_file("march2025")
    with tempfile.TemporaryDirectory() as tmp:
        sim = Path(tmp) / "sim"
        t1 = time.perf_counter()
        res = write_simulation("march2025", sim, days=args.days, seed=args.seed,
                               scale=args.scale,
                               start=ag.entry_into_force_at + timedelta(days=4))
        t_sim = time.perf_counter() - t1
        db = Path(tmp) / "sim.db"
        store = open_store(str(db), create=True)
        initialize_store(store, doc)
        t1 = time.perf_counter()
        rep = ingest(store, read_records(str(sim / "observations.jsonl"), "jsonl"))
        t_ingest = time.perf_counter() - t1
        manifest, truth, obs = read_truth(sim)
        stored = {o.id for o in store.observations()}
        t1 = time.perf_counter()
        chk = run_check(store)
        t_check = time.perf_counter() - t1
        incidents = store.incident_records()
        report = evaluate(truth, obs, stored, incidents,
                          [f.to_record() for f in store.findings()],
                          parties=manifest["parties"],
                          sensor_timing_sd_s=manifest["params"]["sensor_timing_sd_s"])
        store.close()
        if args.keep:
            keep = Path(args.keep)
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copytree(sim, keep / "sim", dirs_exist_ok=True)
            shutil.copy(db, keep / "sim.db")
            (keep / "evaluation.json").write_text(json.dumps(report, indent=2))
    head = (f"{time.strftime('%Y-%m-%d')}, {platform.machine()}, Python "
            f"{platform.python_version()}, `python bench/bench_fusion_eval.py --days {args.days} "
            f"--scale {args.scale} --seed {args.seed}`.\n\n"
            f"March 2025 scenario, {args.days} days from entry into force + 4 days: "
            f"{res.observations:,} observations ({rep.added:,} ingested), {res.events:,} true "
            f"events, {res.planted} planted items. Simulated in {t_sim:.1f} s, ingested in "
            f"{t_ingest:.1f} s, `run_check` (fusion + checks: {chk.incidents:,} incidents, "
            f"{len(chk.findings):,} findings) in {t_check:.1f} s; "
            f"{time.perf_counter() - t0:.0f} s in all.")
    text = f"# Fusion on a simulated week, scored by `truceline evaluate`\n\n{head}\n\n" \
           f"{render_markdown(report)}"
    print(text)
    if not args.no_write:
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
