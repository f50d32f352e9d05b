"""The evaluator on today's pipeline: the baseline fusion (issue 4) must beat (standalone).

Simulates a week of the March 2025 scenario at a small scale (from day 4 after entry into
force, so the 7-day pull-back deadline falls inside it), ingests it into a temporary SQLite
store through the services, runs the checks, evaluates, and writes the tables to
bench/results/evaluate_baseline.md.

    python bench/bench_evaluate_baseline.py [--days 7] [--scale 0.5] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.importers import read_records
from truceline.adapters.simulate_files import read_truth, write_simulation
from truceline.adapters.store import open_store
from truceline.core.evaluation import evaluate, render_markdown
from truceline.core.record.canonical import entry_bytes
from truceline.services.check import run_check
from truceline.services.ingest import ingest

OUT = Path(__file__).resolve().parent / "results" / "evaluate_baseline.md"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--scale", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    t0 = time.perf_counter()
    ag, doc = load_agreement_file("march2025")
    with tempfile.TemporaryDirectory() as tmp:
        sim = Path(tmp) / "sim"
        res = write_simulation("march2025", sim, days=args.days, seed=args.seed,
                               scale=args.scale,
                               start=ag.entry_into_force_at + timedelta(days=4))
        store = open_store(str(Path(tmp) / "sim.db"), create=True)
        store.initialize(doc, entry_bytes("agreement_version", doc))
        rep = ingest(store, read_records(str(sim / "observations.jsonl"), "auto"))
        chk = run_check(store)
        manifest, truth, obs = read_truth(sim)
        stored = {o.id for o in store.observations()}
        report = evaluate(truth, obs, stored, store.incident_records(),
                          [f.to_record() for f in store.findings()],
                          parties=manifest["parties"],
                          sensor_timing_sd_s=manifest["params"]["sensor_timing_sd_s"])
        store.close()
    head = (f"Baseline evaluation (today's pipeline: one incident per fire observation) — "
            f"March 2025, {args.days} days from entry into force + 4 days, scale "
            f"{args.scale}, seed {args.seed}: {res.observations:,} observations "
            f"({rep.added:,} ingested), {res.events:,} true events, {res.planted} planted "
            f"items, {chk.incidents:,} incidents, {len(chk.findings):,} findings; "
            f"{time.perf_counter() - t0:.0f} s in all")
    text = head + "\n\n" + render_markdown(report)
    print(text)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    OUT.with_suffix(".json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n",
                                        encoding="utf-8")


if __name__ == "__main__":
    main()
