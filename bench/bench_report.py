"""A one-day report on a simulated month (issue 21: a report reads its period, <= 3 s).

Builds a store through the CLI (``simulate --days 30`` at ``--scale``, ``init``, ``ingest``,
``check``), then reports single days, each path in a fresh process:

(a) baseline: the report as it was built before issue 21, in this run: every stored
    observation read and fused again (``fused_again`` below);
(b) ``daily_report``: the period's stored incidents and findings, the period's observations
    and the monitoring that reaches into it;
(c) ``truceline report --out day.md`` end to end (start, report, map, Markdown).

(a) and (b) time the report alone (after imports, and after compiling the agreement's
geometry, which both pay once per process and which is given apart) and give the process's
peak memory; the two Markdown reports must be identical. Prints a Markdown table and writes it to
bench/results/report.md.

    python bench/bench_report.py [--scale 0.7] [--days 30] [--db existing.db]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "report.md"
CLI = str(Path(sys.executable).with_name("truceline"))


def fused_again(store: Any, day: str) -> Any:
    """The report as it was built before issue 21: every stored observation fused again."""
    from truceline.core.agreement_geometry import regions
    from truceline.core.evidence import gather
    from truceline.core.recognition import status_of_areas
    from truceline.core.reporting import build_daily_report
    from truceline.core.resubmissions import counted
    from truceline.services.check import derive_coverage, derive_incidents
    from truceline.services.context import load_context
    from truceline.services.guarantees import awaiting_lines
    from truceline.services.report import parse_day

    d = parse_day(day)
    ctx = load_context(store)
    obs = counted(store.observations())
    ev = gather(ctx.geometry, obs, derive_incidents(ctx, obs), derive_coverage(ctx, obs))
    g = ctx.agreement.geography
    sectors = [s.name or s.id for s in g.sectors] if g else []
    rep = build_daily_report(ctx.agreement, ev, store.findings(), regions(ctx.agreement),
                             sectors, d, geom=ctx.geometry)
    rep.awaiting = awaiting_lines(store, rep.period_end)
    rep.areas = status_of_areas(ctx.agreement, d)
    return rep


def child(path: str, db: str, day: str, out: str) -> None:
    """One report in this process: print its time, the peak memory and write its Markdown."""
    from truceline.adapters.render.report import render_report
    from truceline.adapters.store import open_store
    from truceline.services.context import load_context
    from truceline.services.report import daily_report

    store = open_store(db)
    t0 = time.perf_counter()
    load_context(store)  # the agreement's compiled geometry: a fixed cost, cached per process
    t1 = time.perf_counter()
    rep = fused_again(store, day) if path == "old" else daily_report(store, day)
    dt = time.perf_counter() - t1
    Path(out).write_text(render_report(rep, "md", None), encoding="utf-8")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"s": dt, "ctx_s": t1 - t0, "rss_mb": rss, "violations": rep.violations_total,
                      "findings": len(rep.findings)}))


def _run(cmd: list[str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return time.perf_counter() - t0, proc.stdout


def _load() -> str:
    return Path("/proc/loadavg").read_text().split(" ")[0]


def build(tmp: Path, days: int, scale: float) -> tuple[Path, dict[str, Any]]:
    db, sim = tmp / "month.db", tmp / "sim"
    info: dict[str, Any] = {}
    _, out = _run([CLI, "simulate", "--agreement", "march2025", "--days", str(days),
                   "--scale", str(scale), "--out", str(sim)])
    info["simulate"] = out.strip().split(": ", 1)[-1]  # without the temporary path
    _run([CLI, "init", "--db", str(db), "--agreement", "march2025"])
    info["ingest_s"], _ = _run([CLI, "ingest", "--db", str(db), str(sim / "observations.jsonl")])
    info["check_s"], info["check"] = _run([CLI, "check", "--db", str(db)])
    return db, info


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.7)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--db", help="Report on this checked store instead of building one.")
    ap.add_argument("--report-days", default="2025-03-21,2025-04-04,2025-04-18")
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--child", nargs=4, metavar=("PATH", "DB", "DAY", "OUT"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory(prefix="bench-report-") as d:
        tmp = Path(d)
        if args.db:
            db, info = Path(args.db), {}
        else:
            db, info = build(tmp, args.days, args.scale)
        import sqlite3

        with sqlite3.connect(db) as conn:
            n_obs, = conn.execute("SELECT count(*) FROM observations").fetchone()
            n_inc, = conn.execute("SELECT count(*) FROM incidents").fetchone()
        load_before = _load()
        rows = []
        for day in args.report_days.split(","):
            got: dict[str, Any] = {}
            for path in ("old", "new"):
                _, out = _run([sys.executable, __file__, "--child", path, str(db), day,
                               str(tmp / f"{path}-{day}.md")])
                got[path] = json.loads(out.strip().splitlines()[-1])
            same = (tmp / f"old-{day}.md").read_bytes() == (tmp / f"new-{day}.md").read_bytes()
            cli = statistics.median(_run([CLI, "report", "--db", str(db), "--date", day,
                                          "--out", str(tmp / f"cli-{day}.md")])[0]
                                    for _ in range(3))
            rows.append((day, got, same, cli))
        load_after = _load()
    lines = [
        f"# A one-day report on a simulated month: {n_obs:,} observations, {n_inc:,} incidents",
        "",
        f"Python {platform.python_version()}; SQLite; "
        + (f"built by the CLI: {info['simulate']}; ingest {info['ingest_s']:.1f} s, check "
           f"{info['check_s']:.1f} s. " if info else "")
        + "Baseline in the same run: the report fused again from every stored observation "
        f"(the path before issue 21). Machine load (1 min) {load_before} before the reports, "
        f"{load_after} after.",
        "",
        "| day | fused again (baseline) | reads its period | ratio | peak memory: baseline / "
        "period | identical Markdown | compiling the agreement's geometry (both, once per "
        "process) | `truceline report` (median of 3, end to end) |",
        "|---|---:|---:|---:|---:|---|---:|---:|",
    ]
    for day, got, same, cli in rows:
        o, n = got["old"], got["new"]
        lines.append(f"| {day} | {o['s']:.2f} s | {n['s']:.2f} s | {o['s'] / n['s']:.1f} | "
                     f"{o['rss_mb']:.0f} / {n['rss_mb']:.0f} MB | {'yes' if same else 'NO'} | "
                     f"{n['ctx_s']:.2f} s | {cli:.2f} s |")
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
