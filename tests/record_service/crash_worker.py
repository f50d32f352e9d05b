"""Ingest a long stream of signed observations in batches; print each batch after commit.

Run by test_crash.py as ``python crash_worker.py DB PREFIX SEED_HEX`` and killed with SIGKILL
at a random moment: every ``ack`` line it printed is an acknowledged, committed batch.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.record_service.conftest import synthetic
from truceline.adapters.store.sqlite import SQLiteStore
from truceline.core.observations import parse_observation
from truceline.core.record.note import Signer
from truceline.services.context import load_context
from truceline.services.ingest import ingest
from truceline.services.submissions import sign_observation

BATCH = 100


def main() -> None:
    db, prefix, seed = sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3])
    store = SQLiteStore(db)
    load_context(store)  # compile the agreement before saying we are ready
    signer = Signer("smm-post-1", seed)
    print("ready", flush=True)
    start = 0
    while True:
        rows = [sign_observation(parse_observation({**r, "source_id": "smm-post-1"}),
                                 signer).to_record()
                for r in synthetic(BATCH, start, prefix)]
        ingest(store, list(enumerate(rows, 1)), require_signatures=True)
        print(f"ack {prefix} {start} {start + BATCH}", flush=True)
        start += BATCH


if __name__ == "__main__":
    main()
