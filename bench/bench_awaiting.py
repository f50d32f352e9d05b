"""The report's overdue lines on a large store: the narrow read against the full scan (issue 21).

Opens an existing checked SQLite store read-only (``immutable=1``: nothing is written, not
even a migration or the WAL's index, so another helper's store can be measured as it is) and
times, at the end of each report day's period and in the same process:

(a) baseline: the lines as computed before issue 21, every stored notification parsed
    (``full_scan`` below);
(b) :func:`truceline.services.guarantees.awaiting_lines`: only the notifications that may be
    late at that moment (``late_notification_rows``).

CPU seconds (``process_time``), the best of ``--repeat``; both must give the same lines.
Prints a Markdown table.

    python bench/bench_awaiting.py --db store.db [--days 2025-03-21,2025-04-04] [--at ISO]
"""

from __future__ import annotations

import argparse
import sqlite3
import threading
import time
from datetime import date, datetime
from typing import Any

from truceline.adapters.store.sqlite import SQLiteStore
from truceline.core import notifications as notes
from truceline.core.agreements import parse_agreement
from truceline.core.notifications import Notification
from truceline.core.reporting import reporting_period
from truceline.services.guarantees import awaiting_lines


def read_only(path: str) -> SQLiteStore:
    """The store at ``path`` opened so that nothing can be written to it."""
    store = object.__new__(SQLiteStore)
    store.url = path
    store._db = sqlite3.connect(f"file:{path}?immutable=1", uri=True, check_same_thread=False)
    store._lock = threading.RLock()
    store._depth = 0
    return store


def full_scan(store: SQLiteStore, now: datetime) -> list[str]:
    """The baseline: the overdue lines as computed before issue 21 (every notification)."""
    rows = [r for r in store.notification_rows() if datetime.fromisoformat(r["created"]) <= now]
    closed = {
        r["id"]
        for r in rows
        if r["withdrawn"]
        or (r["acknowledgement"] and datetime.fromisoformat(r["acknowledgement"]["time"]) <= now)
    }
    keys = ("withdrawn", "acknowledgement")
    late = notes.overdue(
        [Notification.from_record({k: v for k, v in r.items() if k not in keys}) for r in rows],
        closed,
        now,
    )
    return notes.awaiting(late, now)


def best(fn: Any, repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.process_time()
        out = fn()
        times.append(time.process_time() - t0)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--days", default="2025-03-21,2025-04-04")
    ap.add_argument(
        "--at",
        action="append",
        default=[],
        help="Also measure at this instant (ISO 8601 with offset).",
    )
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    store = read_only(args.db)
    ag = parse_agreement(store.agreement_doc())
    (n,) = store._one("SELECT count(*) FROM notifications")
    moments = [
        (d, reporting_period(date.fromisoformat(d), ag.tz, ag.reporting_period_start)[1])
        for d in args.days.split(",")
    ]
    moments += [(a, datetime.fromisoformat(a)) for a in args.at]
    print(f"{n} notifications stored\n")
    print("| at | (a) full scan, s | (b) awaiting_lines, s | rows read by (b) | lines | same |")
    print("|---|---|---|---|---|---|")
    for label, now in moments:
        ta, old = best(lambda now=now: full_scan(store, now), args.repeat)
        tb, new = best(lambda now=now: awaiting_lines(store, now), args.repeat)
        read = len(store.late_notification_rows(now))
        print(f"| {label} | {ta:.3f} | {tb:.4f} | {read} | {len(new)} | {old == new} |")


if __name__ == "__main__":
    main()
