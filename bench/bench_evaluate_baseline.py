"""The evaluator on the pipeline: the singleton baseline fusion (issue 4) must beat, and the
pipeline as it stands (``run_check``, with fusion once it is in), on the same data (standalone).

The baseline is "one incident per fire observation" (``core.incidents.singleton``) checked by
``core.rules``; the current pipeline is whatever ``services.check.run_check`` does.
Simulates a week of the March 2025 scenario at a small scale (from day 4 after entry into
force, so the 7-day pull-back deadline falls inside it), ingests it into a temporary SQLite
store through the services, runs the checks, evaluates, and writes the tables to
bench/results/evaluate_baseline.md (and the figures to evaluate_baseline.json).

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
from truceline.core.evidence import gather
from truceline.core.incidents import singleton
from truceline.core.rules import check
from truceline.core.taxonomy import Kind
from truceline.services.check import run_check
from truceline.services.context import context_for_doc
from truceline.services.ingest import ingest
from truceline.services.record import initialize_store
from truceline.simulation.evaluation import evaluate, render_markdown

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
        initialize_store(store, doc)
        rep = ingest(store, read_records(str(sim / "observations.jsonl"), "jsonl"))
        manifest, truth, obs = read_truth(sim)
        observations = store.observations()
        stored = {o.id for o in observations}
        kw = {"parties": manifest["parties"],
              "sensor_timing_sd_s": manifest["params"]["sensor_timing_sd_s"]}
        # (1) baseline: singletons, checked by the core rules
        t1 = time.perf_counter()
        geom = context_for_doc(doc).geometry
        singles = [singleton(o) for o in observations if o.kind is Kind.FIRE]
        base_findings = check(ag, geom, gather(geom, observations, singles))
        base = evaluate(truth, obs, stored, [i.to_record() for i in singles],
                        [f.to_record() for f in base_findings], **kw)
        t_base = time.perf_counter() - t1
        # (2) the pipeline as it stands
        t1 = time.perf_counter()
        chk = run_check(store)
        t_check = time.perf_counter() - t1
        now = evaluate(truth, obs, stored, store.incident_records(),
                       [f.to_record() for f in store.findings()], **kw)
        store.close()
    head = (f"March 2025, {args.days} days from entry into force + 4 days, scale "
            f"{args.scale}, seed {args.seed}: {res.observations:,} observations "
            f"({rep.added:,} ingested), {res.events:,} true events, {res.planted} planted "
            f"items; {time.perf_counter() - t0:.0f} s in all")
    text = (f"# Evaluation: baseline and current pipeline\n\n{head}\n\n"
            f"## Baseline: one incident per fire observation ({len(singles):,} incidents, "
            f"{len(base_findings):,} findings, {t_base:.1f} s)\n\n{render_markdown(base)}\n"
            f"## Current pipeline: `run_check` ({chk.incidents:,} incidents, "
            f"{len(chk.findings):,} findings, {t_check:.1f} s)\n\n{render_markdown(now)}")
    report = {"baseline": base, "current": now}
    print(text)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    OUT.with_suffix(".json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n",
                                        encoding="utf-8")


if __name__ == "__main__":
    main()
