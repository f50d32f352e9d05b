"""The incremental check (issue 21): one more day ingested and checked, against that day's
data checked alone in a fresh store, both with both per-day fusion rules on.

Steps (each a separate process, so that ``/usr/bin/time -v`` gives each one's peak RSS):

    # a store holding every day but the last, checked (copied from an unchecked store of
    # the month; the last day's rows deleted, then ingested again after the check)
    python bench/bench_check_days.py prepare --month big-unchecked.db --jsonl obs.jsonl \\
        --day 029 --out m29.db --alone alone.db
    # then, each on a fresh copy, in turns (ABBA):
    /usr/bin/time -v python bench/bench_check_days.py check --db copy-of-m29.db
    /usr/bin/time -v python bench/bench_check_days.py check --db copy-of-alone.db

``--day``: the simulated day's id part (``s1-029-...``: the 30th day). ``check`` prints what
it fused (the days fused again, incidents written) and its own wall and CPU time.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sqlite3
import time

from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.store import open_store
from truceline.core.fusion import CalibrationParams, FusionParams
from truceline.services import record
from truceline.services.check import run_check
from truceline.services.ingest import ingest

#: Both per-day rules on: the fusion the incremental check runs under.
PER_DAY = FusionParams(calibration=CalibrationParams(daily=True),
                       locate=dataclasses.replace(FusionParams().locate, stats_by_day=True))


def _day_rows(jsonl: str, day: str) -> list[dict[str, object]]:
    want = f"s1-{day}-"
    out = []
    with open(jsonl) as f:
        for line in f:
            if want in line[:40]:
                row = json.loads(line)
                if str(row["id"]).startswith(want):
                    out.append(row)
    return out


def prepare(month: str, jsonl: str, day: str, out: str, alone: str) -> None:
    shutil.copyfile(month, out)
    db = sqlite3.connect(out)
    (n,) = db.execute("SELECT count(*) FROM observations WHERE id LIKE ?",
                      (f"s1-{day}-%",)).fetchone()
    (lo,) = db.execute("SELECT min(seq) FROM observations WHERE id LIKE ?",
                       (f"s1-{day}-%",)).fetchone()
    (before,) = db.execute("SELECT count(*) FROM observations WHERE seq >= ? AND id NOT LIKE ?",
                           (lo, f"s1-{day}-%")).fetchone()
    assert before == 0, "the last day's rows are not the last ingested"
    db.execute("DELETE FROM observations WHERE id LIKE ?", (f"s1-{day}-%",))
    db.commit()
    db.close()
    print(f"deleted the last day's {n} rows")
    t0 = time.perf_counter()
    store = open_store(out)
    run_check(store, PER_DAY)
    print(f"checked days before it: {time.perf_counter() - t0:.0f} s")
    rows = _day_rows(jsonl, day)
    ingest(store, list(enumerate(rows, 1)))
    store.close()
    a = open_store(alone, create=True)
    _, doc = load_agreement_file("march2025")
    record.initialize_store(a, doc)
    ingest(a, list(enumerate(rows, 1)))
    a.close()
    print(f"ingested the day's {len(rows)} rows into both")


def check(db: str) -> None:
    store = open_store(db)
    t0, c0 = time.perf_counter(), time.process_time()
    res = run_check(store, PER_DAY)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(json.dumps({"db": db, "incidents": res.incidents, "findings": res.stored,
                      "judged": res.judged, "findings_judged": len(res.findings),
                      "new_entries": res.new_entries, "fused_days": res.fused_days,
                      "wall_s": round(wall, 1), "cpu_s": round(cpu, 1)}))
    store.close()


#: The stages :func:`stages` reports, by function name (their cumulative CPU time).
STAGES = ("store_input", "days_input", "first_touched", "window_input", "decode_all",
          "fuse_days", "fuse_columns", "_stored_incidents", "_rules", "write_days",
          "_write_findings")


def stages(db: str) -> None:
    """:func:`check` under cProfile: each stage's cumulative CPU time (``process_time``:
    the machine is shared; profiled: slower)."""
    import cProfile
    import pstats

    prof = cProfile.Profile(time.process_time)
    prof.enable()
    check(db)
    prof.disable()
    st = pstats.Stats(prof)
    got = {fn[2]: v[3] for fn, v in st.stats.items()  # type: ignore[attr-defined]
           if fn[2] in STAGES and "truceline" in fn[0]}
    print(json.dumps({k: round(v, 1) for k, v in sorted(got.items(), key=lambda kv: -kv[1])}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--month", required=True)
    p.add_argument("--jsonl", required=True)
    p.add_argument("--day", default="029")
    p.add_argument("--out", required=True)
    p.add_argument("--alone", required=True)
    c = sub.add_parser("check")
    c.add_argument("--db", required=True)
    c.add_argument("--stages", action="store_true", help="profile: each stage's time")
    a = ap.parse_args()
    if a.cmd == "prepare":
        prepare(a.month, a.jsonl, a.day, a.out, a.alone)
    elif a.stages:
        stages(a.db)
    else:
        check(a.db)


if __name__ == "__main__":
    main()
