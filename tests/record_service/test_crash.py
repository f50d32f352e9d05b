"""kill -9 during a long ingest, repeated: no acknowledged entry is lost, verify passes."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from truceline.adapters.store.sqlite import SQLiteStore
from truceline.core.record.note import Signer
from truceline.services import keys, record, verify

from .conftest import LOG_KEY, NOW, new_store

WORKER = Path(__file__).with_name("crash_worker.py")
SEED = b"\x05" * 32
ROUNDS = 6


@pytest.mark.slow
def test_kill_9_during_ingest_loses_no_acknowledged_entry(tmp_path: Path) -> None:
    db = tmp_path / "crash.db"
    store = new_store(db)
    keys.register_source_key(store, "smm-post-1", "monitor",
                               Signer("smm-post-1", SEED).verifier().to_vkey())
    store.close()
    rng = random.Random(20250327)
    acked: set[str] = set()
    for n in range(ROUNDS):
        proc = subprocess.Popen([sys.executable, str(WORKER), str(db), f"r{n}", SEED.hex()],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        first = proc.stdout.readline()  # one batch committed, however slow the machine is
        time.sleep(rng.uniform(0.0, 1.5))  # then a kill at a random point of the stream
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=600)  # a hang guard only
        assert proc.returncode == -signal.SIGKILL
        for line in [first, *out.splitlines()]:
            _, prefix, lo, hi = line.split()
            acked |= {f"{prefix}-{i}" for i in range(int(lo), int(hi))}
        store = SQLiteStore(db)
        stored = {o.id for o in store.observations()}
        assert acked <= stored, f"round {n}: lost {sorted(acked - stored)[:5]}"
        rep = verify.verify_record(store)
        assert rep.ok, rep.problems
        record.publish_checkpoint(store, LOG_KEY, NOW + n)
        store.close()
    assert len(acked) >= ROUNDS * 100  # each round committed a batch before its kill
