"""Simulation throughput against the I/O floor (standalone, bounded well under 3 minutes).

(a) baseline: write the same number of pre-made observation records with ``json.dumps`` to a
    file: the floor any streamed writer pays;
(b) ``write_simulation``: simulate the March 2025 scenario (truth on the real 1,262 km line,
    posts, patrols, sensors, cameras, planted evidence), streamed day by day to a temp dir,
    with truth.jsonl and manifest.json, until about ``--target`` observations.

Prints a Markdown table and writes it to bench/results/simulate.md.

    python bench/bench_simulate.py [--target 1000000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from truceline.adapters.simulate_files import write_simulation
from truceline.services.context import context_for_doc

OUT = Path(__file__).resolve().parent / "results" / "simulate.md"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=30)
    args = ap.parse_args()
    t_all = time.perf_counter()
    from truceline.adapters.agreement_files import load_agreement_file

    _, doc = load_agreement_file("march2025")
    t0 = time.perf_counter()
    context_for_doc(doc)  # compile the geometry once, outside the timings
    t_compile = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        # calibrate: observations per unit of scale and day
        probe = write_simulation("march2025", Path(tmp) / "probe", days=2, seed=1, scale=1.0)
        per = probe.observations / 2
        scale = args.target / (per * args.days)
        t0 = time.perf_counter()
        res = write_simulation("march2025", Path(tmp) / "sim", days=args.days, seed=1,
                               scale=scale)
        t_sim = time.perf_counter() - t0
        size = sum(f.stat().st_size for f in (Path(tmp) / "sim").iterdir())
        # baseline: the same number of records, made beforehand, only written
        sample = []
        with open(Path(tmp) / "sim" / "observations.jsonl", encoding="utf-8") as f:
            for _, line in zip(range(10_000), f, strict=False):
                sample.append(json.loads(line))
        n = res.observations
        t0 = time.perf_counter()
        with open(Path(tmp) / "floor.jsonl", "w", encoding="utf-8") as f:
            for i in range(0, n, len(sample)):
                f.write("".join(json.dumps(r, separators=(",", ":")) + "\n"
                                for r in sample[: min(len(sample), n - i)]))
        t_floor = time.perf_counter() - t0
    rate_sim, rate_floor = n / t_sim, n / t_floor
    rows = [
        ("(a) write pre-made records, `json.dumps` (baseline, I/O floor)",
         f"{rate_floor:,.0f} obs/s", "1.00", f"{t_floor:.1f} s"),
        (f"(b) `write_simulation` March 2025, {args.days} days, scale {scale:.1f} "
         f"({res.events:,} events, {n:,} observations, {size / 1e6:,.0f} MB with truth)",
         f"{rate_sim:,.0f} obs/s", f"{rate_sim / rate_floor:.2f}", f"{t_sim:.1f} s"),
    ]
    head = (f"Simulation benchmark — CPython {platform.python_version()}, numpy "
            f"{np.__version__}, {platform.machine()}, geometry compile {t_compile:.1f} s "
            f"(not timed), total {time.perf_counter() - t_all:.0f} s, "
            f"{dt.date.today().isoformat()}")
    table = [head, "", "| measurement | throughput | ratio to (a) | time |",
             "|---|---:|---:|---:|"] + [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    text = "\n".join(table) + "\n"
    print(text)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
