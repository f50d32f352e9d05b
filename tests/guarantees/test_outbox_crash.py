"""The outbox survives kill -9 between storing and delivering, and between a receiver's
answer and the outbox's mark: after a restart (`truceline notify deliver`, a new process)
every notification is delivered, none is lost, and none is kept twice by the receiver, which
drops the repeat by its idempotency key."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from truceline.adapters.cli.main import cli
from truceline.adapters.store import open_store
from truceline.services.guarantees import guarantee_store, register_endpoint

from .conftest import T0, Receiver, planted_store

WORKER = Path(__file__).with_name("outbox_worker.py")
HANG_GUARD_S = 120


def _run_until(db: Path, when: str, want: str) -> str:
    proc = subprocess.Popen([sys.executable, str(WORKER), str(db), when],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()  # blocks until the worker reached the point
        assert line.startswith(want), line
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=HANG_GUARD_S)
    assert proc.returncode == -signal.SIGKILL
    return line


@pytest.mark.parametrize("when", ["after-store", "after-post"])
def test_kill_9_loses_nothing_and_the_receiver_keeps_each_once(
        when: str, tmp_path: Path, receiver: Receiver) -> None:
    db = tmp_path / "outbox.db"
    planted_store(str(db), fires=3)  # breaches at three places: several notifications
    store = open_store(str(db))
    for who in ("UK", "FR", "US", "RU", "MED"):
        receiver.secrets[who] = register_endpoint(store, who, f"{receiver.url}/hook/{who}", T0)
    store.close()

    line = _run_until(db, when, "posted" if when == "after-post" else "stored")
    store = open_store(str(db))
    rows = guarantee_store(store).deliveries()
    assert rows and all(d["state"] == "pending" for d in rows)  # committed, not yet marked
    if when == "after-post":
        assert list(receiver.kept) == [line.split()[1]]  # the receiver has it already

    # the restart: one pass of the real command (its clock is the machine's, so it may also
    # escalate the old deadlines: those are notifications too and must arrive the same way)
    res = CliRunner().invoke(cli, ["notify", "deliver", "--db", str(db)])
    assert res.exit_code == 0, res.output
    rows = guarantee_store(store).deliveries()
    assert {d["state"] for d in rows} == {"delivered"}
    assert set(receiver.kept) == {d["id"] for d in rows}  # none lost
    assert receiver.bad == []
    sent = [h["webhook-id"] for _, h, _ in receiver.requests]
    repeats = len(sent) - len(set(sent))
    assert repeats == (1 if when == "after-post" else 0)  # at least once, kept once
    assert not [r for r in guarantee_store(store).notification_rows() if r["kind"] == "breach"
                and sum(d["notification_id"] == r["id"] for d in rows) != 5]
