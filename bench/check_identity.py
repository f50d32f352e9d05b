"""Digests of what a check stored, to compare two versions of the code on copies of a store.

Check two copies of the same unchecked store, one under each ``PYTHONPATH``, then run this
on each and diff: the same lines mean the same incidents, findings, notifications, outbox
rows, meta and record entries. The entries from ``--from`` on (the index the check's entries
start at: the unchecked store's entry count) are compared opened: each committed field is
replaced by its stored opening, checked against its commitment, so the random salts (fresh
per field on every append, :class:`truceline.core.record.commit.Salts`) and hence the leaf
hashes and tree nodes drop out; what the salts commit to must be equal. What the clock makes
is compared by its shape only: a notification's ``created``/``deadline`` (one of each per
check) and an outbox row's ``next_at``.

    python bench/check_identity.py --db a.db --from 906868 > a.txt
    python bench/check_identity.py --db b.db --from 906868 > b.txt && diff a.txt b.txt
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sqlite3
from collections.abc import Callable
from typing import Any

from truceline.adapters.store.openings import parse_openings_text
from truceline.core.record.canonical import parse_entry
from truceline.core.record.commit import open_body

_CLOCK = ("created", "deadline")


def _unclocked(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if k in _CLOCK else v) for k, v in rec.items()}


def _digest(db: sqlite3.Connection, sql: str,
            fix: Callable[[tuple[Any, ...]], tuple[Any, ...]] | None = None) -> str:
    h, n = hashlib.sha256(), 0
    for row in db.execute(sql):
        h.update(repr(fix(row) if fix else row).encode())
        n += 1
    return f"{n} rows {h.hexdigest()}"


def _entries(db: sqlite3.Connection, start: int) -> str:
    """The entries from ``start`` on, opened, as one digest and the count of each type."""
    h, types = hashlib.sha256(), dict[str, int]()
    ops = db.execute("SELECT idx, fields FROM entry_openings WHERE idx >= ? ORDER BY idx",
                     (start,))
    nxt = ops.fetchone()
    for idx, t, data in db.execute(
            "SELECT idx, type, data FROM entries WHERE idx >= ? ORDER BY idx", (start,)):
        et, body = parse_entry(bytes(data))
        opened = {}
        if nxt is not None and nxt[0] == idx:
            opened, nxt = parse_openings_text(nxt[1]), ops.fetchone()
        full, left = open_body(et, body, opened)  # IntegrityError if an opening is wrong
        if left:
            raise SystemExit(f"entry {idx}: no opening of {left}")
        if et == "notification":
            full = _unclocked(full)
        h.update(json.dumps([idx, t, et, full], sort_keys=True).encode())
        types[t] = types.get(t, 0) + 1
    if nxt is not None:
        raise SystemExit(f"openings of entry {nxt[0]}, which is not stored")
    return f"{json.dumps(types, sort_keys=True)} {h.hexdigest()}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--from", dest="start", type=int, default=0,
                    help="the first entry to compare (the unchecked store's entry count)")
    a = ap.parse_args()
    db = sqlite3.connect(f"file:{a.db}?mode=ro", uri=True)
    print("incidents", _digest(db, "SELECT * FROM incidents ORDER BY id"))
    print("findings", _digest(db, "SELECT * FROM findings ORDER BY id"))
    print("notifications", _digest(
        db, "SELECT id, kind, guarantor, finding_id, withdrawn, record FROM notifications "
        "ORDER BY id", lambda r: (*r[:5], json.dumps(_unclocked(json.loads(r[5])),
                                                     sort_keys=True))))
    print("notification times (created, deadline kinds)", db.execute(
        "SELECT count(DISTINCT json_extract(record, '$.created')), count(DISTINCT deadline) "
        "FROM notifications").fetchone())
    print("deliveries", _digest(db, "SELECT id, notification_id, recipient, state, attempts, "
                                "delivered_at, last_error FROM deliveries ORDER BY id"))
    print("delivery next_at kinds", db.execute(
        "SELECT count(DISTINCT next_at) FROM deliveries").fetchone())
    print("meta", _digest(db, "SELECT * FROM meta ORDER BY key"))
    skip = {"incidents", "findings", "notifications", "deliveries", "meta", "entries", "nodes",
            "entry_openings", "observations"}
    for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"):
        if t not in skip:
            print(t, _digest(db, f"SELECT * FROM {t} ORDER BY 1"))
    print("entries", _entries(db, a.start))
    print("tree nodes", db.execute("SELECT count(*) FROM nodes").fetchone()[0])


if __name__ == "__main__":
    main()
