"""How fast the command line starts (issue 21: `truceline --version` <= 0.5 s).

Each command runs in a fresh process, N times, round-robin (so a busy spell of the shared
machine hits every row alike); the table gives the median wall time of each and its ratio to
the interpreter starting with nothing to do. Baselines in the same run:

(a) ``python -c pass``: the interpreter alone, the floor;
(b) ``python -c "import click"``: the floor of any click program;
(c) every command module imported: what every command, even ``--version``, paid before the
    group loaded its commands lazily.

Prints a Markdown table and writes it to bench/results/start.md.

    python bench/bench_start.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "start.md"
PY = sys.executable
CLI = str(Path(PY).with_name("truceline"))
_EVERY = ("commands", "disputes", "log_keys", "notify", "record", "serve", "simulate", "sources")

CASES: list[tuple[str, list[str]]] = [
    ("`python -c pass` (baseline: the interpreter)", [PY, "-c", "pass"]),
    ("`python -c \"import click\"` (baseline: a click program)", [PY, "-c", "import click"]),
    ("every command module imported (what each command paid before)",
     [PY, "-c", "import " + ", ".join(f"truceline.adapters.cli.{m}" for m in _EVERY)]),
    ("`truceline --version`", [CLI, "--version"]),
    ("`truceline --help`", [CLI, "--help"]),
    ("`truceline settings` (a light command)", [CLI, "settings"]),
    ("`truceline serve --help` (FastAPI not imported)", [CLI, "serve", "--help"]),
    ("`truceline check --help`", [CLI, "check", "--help"]),
]


def _load() -> str:
    return Path("/proc/loadavg").read_text().split(" ")[0] if Path("/proc/loadavg").exists() \
        else "n/a"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    for _, cmd in CASES:  # warm the file cache and the byte-code once
        subprocess.run(cmd, capture_output=True, check=True, env=env)
    load_before = _load()
    times: list[list[float]] = [[] for _ in CASES]
    for _ in range(args.runs):
        for k, (_, cmd) in enumerate(CASES):
            t0 = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=True, env=env)
            times[k].append(time.perf_counter() - t0)
    load_after = _load()
    med = [statistics.median(t) for t in times]
    lines = [
        "# How fast the command line starts",
        "",
        f"Python {platform.python_version()}; median wall time of {args.runs} runs each, "
        f"round-robin, each in a fresh process; machine load (1 min) {load_before} before, "
        f"{load_after} after.",
        "",
        "| command | median | min | max | / `python -c pass` |",
        "|---|---:|---:|---:|---:|",
    ]
    for (label, _), m, t in zip(CASES, med, times, strict=True):
        lines.append(f"| {label} | {m:.3f} s | {min(t):.3f} s | {max(t):.3f} s | "
                     f"{m / med[0]:.1f} |")
    lines += ["", f"`truceline --version` / every command module imported: "
              f"{med[3] / med[2]:.2f} (target: `--version` <= 0.5 s)."]
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
