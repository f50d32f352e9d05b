"""`truceline report` of one day, end to end, against a named baseline revision (issue 21: a
one-day report <= 3 s).

Baseline in the same run: ``src`` of ``--baseline`` (a git revision, exported with ``git
archive``) on its own copy of the store (a baseline from before the derived cache gets the
store's schema taken back to 5, which it can open). Each report is a fresh process (`python
-m truceline report --db ... --date ... --out day.md`, start, imports, report, map,
Markdown), the two taking turns; the first run of each compiles the geometry and keeps it (and
migrates its copy of the store, if its schema is newer), timed apart; the later ones read it.
Wall time, the child's CPU time (user + system, less sensitive to other jobs on a shared
machine) and its peak resident memory (``/usr/bin/time``'s maximum RSS, issue 21's bound of
1 GB) are medians over ``--rounds``; the highest peak is given too. The Markdown and the map
PNG must be identical.

``--bytecode`` lets the children keep compiled modules (``__pycache__``), as an installed
package does; without it they inherit the environment (``PYTHONDONTWRITEBYTECODE=1`` here
compiles every module of ``truceline`` from source in every process, ~0.3 s).

    python bench/bench_report_cli.py --db checked.db [--days 2025-04-04] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "report_cli.md"


def _load() -> str:
    return Path("/proc/loadavg").read_text().split(" ")[0]


def _report(src: Path, db: Path, day: str, out: Path, bytecode: bool = False
            ) -> tuple[float, float, float]:
    """Wall and CPU seconds and peak RSS (MB) of one `truceline report` process."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    rss_file = out.with_suffix(".rss")
    t0 = time.perf_counter()
    subprocess.run(
        [
            "/usr/bin/time",
            "-f",
            "%M",
            "-o",
            str(rss_file),
            sys.executable,
            "-m",
            "truceline",
            "report",
            "--db",
            str(db),
            "--date",
            day,
            "--out",
            str(out),
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    rss_mb = int(rss_file.read_text().split()[-1]) / 1024
    return wall, cpu, rss_mb


def _export(rev: str, to: Path) -> None:
    """``src`` of the git revision ``rev`` into the directory ``to``."""
    to.mkdir(exist_ok=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "src"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(to)], input=archive, check=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True, help="A checked store (not changed: copied).")
    ap.add_argument("--days", default="2025-04-04")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--baseline", default="f5a43f3", help="Git revision of the baseline.")
    ap.add_argument("--this", default=None,
                    help="Git revision measured against the baseline (default: this tree's src).")
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--bytecode", action="store_true",
                    help="Children keep compiled modules (as installed), whatever the env says.")
    ap.add_argument("--first-once", action="store_true",
                    help="The untimed first runs (geometry compiled and kept, bytecode "
                    "written) on the first day only: a sweep of every day of a month.")
    args = ap.parse_args()
    with sqlite3.connect(args.db) as conn:
        (n_obs,) = conn.execute("SELECT count(*) FROM observations").fetchone()
        (n_inc,) = conn.execute("SELECT count(*) FROM incidents").fetchone()
    tmp = Path(tempfile.mkdtemp(prefix="bench-report-cli-"))
    try:
        old_src = tmp / "baseline"
        old_src.mkdir()
        _export(args.baseline, old_src)
        old_db, new_db = tmp / "old.db", tmp / "new.db"
        for path in (old_db, new_db):
            shutil.copy(args.db, path)
        schema = (old_src / "src/truceline/adapters/store/schema.py").read_text()
        with sqlite3.connect(old_db) as conn:  # a baseline before the cache reads schema 5
            if "SCHEMA_DERIVED" not in schema and \
                    conn.execute("PRAGMA user_version").fetchone()[0] == 6:
                conn.execute("DROP TABLE derived_cache")
                conn.execute("PRAGMA user_version=5")
        new_src = ROOT / "src"
        if args.this is not None:  # a revision, so that edits to the tree during the run
            _export(args.this, tmp / "this")  # cannot change what is measured
            new_src = tmp / "this" / "src"
        load_before = _load()
        rows = []
        for n, day in enumerate(args.days.split(",")):
            bc = args.bytecode
            day_load = _load()
            if n == 0 or not args.first_once:
                first_old = _report(old_src / "src", old_db, day, tmp / f"first-old-{day}.md",
                                    bc)
                first = _report(new_src, new_db, day, tmp / f"first-{day}.md", bc)  # compiles
            else:
                first_old = first = (float("nan"),) * 3
            old: list[tuple[float, float, float]] = []
            new: list[tuple[float, float, float]] = []
            for _ in range(args.rounds):
                old.append(_report(old_src / "src", old_db, day, tmp / f"old-{day}.md", bc))
                new.append(_report(new_src, new_db, day, tmp / f"new-{day}.md", bc))
            same_md = (tmp / f"old-{day}.md").read_text().replace("old-", "x-") == (
                tmp / f"new-{day}.md"
            ).read_text().replace("new-", "x-")
            png = [(tmp / f"{v}-{day}.png").read_bytes() for v in ("old", "new")]
            same_png = png[0] == png[1]
            rows.append((day, (first_old, first), old, new, same_md and same_png,
                         f"{day_load} → {_load()}"))
        load_after = _load()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def med(xs: list[tuple[float, float, float]], k: int) -> float:
        return statistics.median(x[k] for x in xs)

    lines = [
        f"# `truceline report` of one day, end to end: {n_obs:,} observations, {n_inc:,} incidents",
        "",
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, SQLite. Baseline in the "
        f"same run: `src` at {args.baseline}; this: "
        f"{'`src` at ' + args.this if args.this else 'the working tree'}. Median of "
        f"{args.rounds} fresh processes each, "
        "taking turns, after a first run of each (compiles and keeps the geometry"
        f"{'; and the modules: bytecode kept' if args.bytecode else ''}); machine load "
        f"(1 min) {load_before} before, {load_after} after (other jobs on the machine).",
        "",
        "| day | baseline wall | this wall | ratio | baseline CPU | this CPU "
        "| ratio | first runs CPU: baseline / this | peak RSS baseline / this (max) "
        "| Markdown and PNG identical | load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for day, first, old, new, same, load in rows:
        lines.append(
            f"| {day} | {med(old, 0):.2f} s | **{med(new, 0):.2f} s** | "
            f"{med(new, 0) / med(old, 0):.2f} | {med(old, 1):.2f} s | {med(new, 1):.2f} s | "
            f"{med(new, 1) / med(old, 1):.2f} | {first[0][1]:.2f} / {first[1][1]:.2f} s | "
            f"{med(old, 2):.0f} / {med(new, 2):.0f} MB "
            f"({max(x[2] for x in old):.0f} / {max(x[2] for x in new):.0f}) | "
            f"{'yes' if same else '**no**'} | {load} |"
        )
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
