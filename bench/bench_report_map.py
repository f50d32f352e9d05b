"""The daily report's redone map and sections against the report of ``main`` (issue 19).

Both versions run in the same session, in fresh processes taking turns, on the same store
(e.g. the demo's: ``truceline demo``): the baseline is ``main``'s ``src`` tree exported with
``git archive`` (a named commit, not a working tree others may be editing), the candidate this
checkout's ``src``. Each process builds the day's report (``daily_report``: the redone one adds
the zones as the checks decide them, the previous period's totals, cameras down), then draws
the map PNG ``--repeat`` times; the median draw is reported.

    python bench/bench_report_map.py --db truceline-demo/demo.db --date 2025-03-28 [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "report_map.md"

PROBE = r"""
import json, statistics, sys, time
from truceline.adapters.store import open_store
from truceline.services.report import daily_report
from truceline.services.context import load_context
from truceline.adapters.render.mapfig import render_map_png
store = open_store(sys.argv[1])
t0 = time.perf_counter(); load_context(store); t1 = time.perf_counter()
r = daily_report(store, sys.argv[2]); t2 = time.perf_counter()
draws = []
for _ in range(int(sys.argv[3])):
    a = time.perf_counter(); png = render_map_png(r); draws.append(time.perf_counter() - a)
print(json.dumps({"context": t1 - t0, "report": t2 - t1, "map": statistics.median(draws),
                  "png_bytes": len(png)}))
"""


def export_main(dest: Path, rev: str) -> tuple[Path, str]:
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", rev], check=True,
                            capture_output=True, text=True).stdout.strip()
    arch = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "src"], check=True,
                          capture_output=True).stdout
    tar = dest / "main.tar"
    tar.write_bytes(arch)
    with tarfile.open(tar) as t:
        t.extractall(dest, filter="data")
    return dest / "src", commit


def probe(src: Path, db: str, day: str, repeat: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run([sys.executable, "-c", PROBE, db, day, str(repeat)], env=env,
                         check=True, capture_output=True, text=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--date", default="2025-03-28")
    ap.add_argument("--baseline", default="main")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base_src, commit = export_main(Path(tmp), a.baseline)
        runs: dict[str, list[dict[str, float]]] = {"main": [], "redone": []}
        load = [os.getloadavg()[0]]
        for _ in range(a.rounds):
            runs["main"].append(probe(base_src, a.db, a.date, a.repeat))
            runs["redone"].append(probe(ROOT / "src", a.db, a.date, a.repeat))
        load.append(os.getloadavg()[0])

    def med(name: str, key: str) -> float:
        return statistics.median(x[key] for x in runs[name])

    lines = [f"Baseline: `{a.baseline}` at {commit[:10]}; store {a.db}, day {a.date}; "
             f"{a.rounds} rounds, {a.repeat} draws each; load {load[0]:.1f} -> {load[1]:.1f}.",
             "", "| part | main | redone | ratio redone/main |", "|---|---:|---:|---:|"]
    for key, label in (("report", "daily_report (service)"), ("map", "map PNG (median draw)")):
        m, r = med("main", key), med("redone", key)
        lines.append(f"| {label} | {m:.2f} s | {r:.2f} s | {r / m:.2f} |")
    lines.append(f"| map PNG size | {med('main', 'png_bytes') / 1e3:.0f} kB | "
                 f"{med('redone', 'png_bytes') / 1e3:.0f} kB | |")
    text = "\n".join(lines) + "\n"
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
