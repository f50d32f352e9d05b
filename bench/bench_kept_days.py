"""A plain ``truceline check`` after each UTC day of a simulated ceasefire: what each check
fused, its CPU time, and the size of the kept per-day states (``fusion_days``).

    python bench/bench_kept_days.py --days 7 --scale 1 --json out.json

Run with another tree on ``PYTHONPATH`` for a baseline (the same simulated days: seed 1, all
conditions, from 22:00 UTC). Each check runs in this process, one after the other (CPU time
of the process, so a busy machine's other work is not counted, though its caches are)."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.store.sqlite import SQLiteStore
from truceline.services import record
from truceline.services.check import run_check
from truceline.services.context import context_for_doc
from truceline.services.ingest import ingest
from truceline.simulation.presets import scenario_params
from truceline.simulation.scenario import Scenario


def utc_days(days: int, scale: float) -> list[list[dict[str, Any]]]:
    ag, doc = load_agreement_file("march2025")
    scn = Scenario(
        ag,
        context_for_doc(doc).geometry,
        days=days,
        seed=1,
        scale=scale,
        params=scenario_params("all_conditions"),
        start=ag.entry_into_force_at + timedelta(days=4),
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for r in (r for day in scn for r in day.observations):
        out.setdefault(str(r["time"])[:10], []).append(r)
    return [out[k] for k in sorted(out)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--json")
    a = ap.parse_args()
    days = utc_days(a.days, a.scale)
    out: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "m.db", create=True)
        _, doc = load_agreement_file("march2025")
        record.initialize_store(store, doc)
        n = 0
        for rows in days:
            ingest(store, list(enumerate(rows, n + 1)))
            n += len(rows)
            t0 = time.process_time()
            res = run_check(store)
            cpu = time.process_time() - t0
            kept = store.fusion_days()
            out.append(
                {
                    "observations": n,
                    "fused_days": res.fused_days,
                    "cpu_s": round(cpu, 2),
                    "incidents": res.incidents,
                    "states": len(kept),
                    "state_bytes": sum(map(len, kept.values())),
                    "sources": len(json.loads(store.get_meta("source_estimates") or "[]")),
                }
            )
            print(json.dumps(out[-1]), flush=True)
        store.close()
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
