"""`truceline check` on stores of growing size, this code against a baseline, same run
(issue 21: check <= 30 s and <= 1 GB at ~890k observations; results identical).

Each store (built beforehand by the CLI: ``simulate --days 30 --scale S``, ``init``,
``ingest``) is copied twice; ``truceline check`` runs on one copy with ``src`` of
``--baseline`` (a git revision, exported with ``git archive``) and on the other with this
checkout's ``src``, each a fresh process, one after the other. Per run: wall time, the child's
CPU time (user + system) and peak RSS (``wait4``), and the 1-minute load before and after.
Then what the two checks stored is compared: incidents and findings (every column), the
notifications' ids, the record's entry types in order, the bytes of every entry but findings
and notifications, and the opened values of the finding entries (their salts are random).

    python bench/bench_check_scaling.py --db s1.db --db s3.db [--baseline main]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "check_scaling.md"

DIGESTS = [
    ("incidents", "SELECT id, time, lon, lat, record FROM incidents ORDER BY id"),
    ("findings", "SELECT id, provision_id, party, verdict, time, lon, lat, record FROM findings "
                 "ORDER BY id"),
    ("notifications", "SELECT id, kind, guarantor, finding_id FROM notifications ORDER BY id"),
    ("entry types", "SELECT idx, type FROM entries ORDER BY idx"),
    ("entries", "SELECT idx, type, data FROM entries WHERE type NOT IN ('notification', "
                "'finding') ORDER BY idx"),
]
#: The opened values of the entries whose salts are random (the salts themselves differ),
#: but a notification's times, which are the check's clock.
CLOCK = {("notification", "created"), ("notification", "deadline")}
OPENED = ("SELECT o.idx, e.type, o.fields FROM entry_openings o JOIN entries e ON e.idx = o.idx "
          "WHERE e.type IN ('finding', 'notification') ORDER BY o.idx")


def _load() -> str:
    return Path("/proc/loadavg").read_text().split(" ")[0]


def _check(src: Path, db: Path) -> dict[str, float | str]:
    """One `truceline check` process: wall, CPU and peak RSS (wait4), load around it."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    load0 = _load()
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([sys.executable, "-m", "truceline", "check", "--db", str(db)],
                                env=env, stdout=out, stderr=err)
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        if status != 0:
            raise SystemExit(f"check failed ({status}): {err.read().decode()}")
        text = out.read().decode()
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "rss_mb": ru.ru_maxrss / 1024,
            "load": f"{load0} → {_load()}", "out": text.strip()}


def _digests(db: Path) -> dict[str, str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    out = {}
    for name, sql in DIGESTS:
        h = hashlib.sha256()
        for row in conn.execute(sql):
            h.update(repr(row).encode())
        out[name] = h.hexdigest()
    h = hashlib.sha256()
    for idx, kind, text in conn.execute(OPENED):  # {field: [salt hex, value]}: the values
        h.update(repr((idx, kind, {k: v for k, (_, v) in json.loads(text).items()
                                   if (kind, k) not in CLOCK})).encode())
    out["opened values"] = h.hexdigest()
    conn.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", action="append", required=True, help="A store, not checked yet "
                    "(copied, never changed); repeat for each size.")
    ap.add_argument("--baseline", default="main", help="Git revision of the baseline.")
    ap.add_argument("--work", default=None, help="Where the copies go (default: a temp dir).")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args()
    tmp = Path(args.work or tempfile.mkdtemp(prefix="bench-check-"))
    tmp.mkdir(parents=True, exist_ok=True)
    base_src = tmp / "baseline"
    if not base_src.exists():  # kept between runs in ``--work`` (with numba's cache)
        base_src.mkdir()
        arch = subprocess.run(["git", "-C", str(ROOT), "archive", args.baseline, "src"],
                              check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(base_src)], input=arch, check=True)
        rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", args.baseline],
                             check=True, capture_output=True, text=True).stdout.strip()
        (base_src / "REV").write_text(rev)
    rev_file = base_src / "REV"
    rev = rev_file.read_text().strip() if rev_file.exists() else "unknown revision"
    here = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                          check=True, capture_output=True, text=True).stdout.strip()
    rows = []
    for db in map(Path, args.db):
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            (n_obs,) = conn.execute("SELECT count(*) FROM observations").fetchone()
        res = {}
        for label, src in (("baseline", base_src / "src"), ("this", ROOT / "src")):
            copy = tmp / f"{db.stem}-{label}.db"
            shutil.copy(db, copy)
            res[label] = _check(src, copy)
            res[label]["digests"] = _digests(copy)  # type: ignore[assignment]
            copy.unlink()
            print(label, n_obs, {k: v for k, v in res[label].items() if k != "digests"},
                  flush=True)
        same = res["baseline"]["digests"] == res["this"]["digests"]
        rows.append((n_obs, res, same, res["this"]["out"]))
    lines = [
        f"# `truceline check` by store size: {here} against {args.baseline} at {rev}",
        "",
        "Fresh processes, one after the other, on copies of the same store; CPU = user + "
        "system of the check process; peak = its maximum RSS. Identical: incidents, findings, "
        "notification ids, entry types, entry bytes (but findings' and notifications'), "
        "findings' and notifications' opened values.",
        "",
        "| observations | baseline wall / CPU / peak | this wall / CPU / peak | CPU ratio | "
        "identical | load (baseline; this) |",
        "|---:|---|---|---:|---|---|",
    ]
    for n_obs, res, same, _ in rows:
        b, t = res["baseline"], res["this"]
        lines.append(
            f"| {n_obs:,} | {b['wall']:.1f} s / {b['cpu']:.1f} s / {b['rss_mb']:,.0f} MB | "
            f"{t['wall']:.1f} s / {t['cpu']:.1f} s / {t['rss_mb']:,.0f} MB | "
            f"{float(t['cpu']) / float(b['cpu']):.2f} | {'yes' if same else '**no**'} | "
            f"{b['load']}; {t['load']} |")
    lines += ["", "Check's summary (this code): " + "; ".join(
        f"{n:,}: {o}" for n, _, _, o in rows), ""]
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
