"""Ingest one fixed stream of signed observations from its start, as a restarted ingest does.

Run by test_restart.py as ``python restart_worker.py DB STREAM`` (STREAM: JSONL). After each
batch is committed it prints ``ack <observations stored> <signatures verified so far>`` and
waits for a line on stdin before going on, so that the test decides exactly where to kill it
(SIGKILL) by the work done, not by the clock. ``done <added> <duplicates>`` at the end.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from truceline.adapters.store.sqlite import SQLiteStore
from truceline.services import verifiers
from truceline.services.context import load_context
from truceline.services.ingest import ingest

BATCH = 100


def main() -> None:
    db, stream = sys.argv[1], Path(sys.argv[2])
    store = SQLiteStore(db)
    load_context(store)
    rows = [json.loads(line) for line in stream.read_text().splitlines()]
    print("ready", flush=True)

    def ack(_: int) -> None:
        print(f"ack {store.count_observations()} {verifiers.signatures_started()}", flush=True)
        sys.stdin.readline()

    rep = ingest(store, list(enumerate(rows, 1)), batch_size=BATCH, progress=ack,
                 require_signatures=True)
    print(f"done {rep.added} {rep.duplicates}", flush=True)


if __name__ == "__main__":
    main()
