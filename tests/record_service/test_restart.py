"""An interrupted ingest run again skips what is stored before any costly work (issue 11.4).

Each restart of an ingest used to validate and verify every observation already stored before
it reached new ones, so under repeated interruptions it never got further: 14 kills in a row
never got past 39,000 of 60,000. The verifiers' work counter
(:func:`truceline.services.verifiers.signatures_started`) shows what a run verified.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from truceline.adapters.store.sqlite import SQLiteStore
from truceline.core.observations import parse_observation
from truceline.core.record.note import Signer
from truceline.errors import ConflictError
from truceline.services import keys, submissions, verifiers
from truceline.services.ingest import ingest

from .conftest import new_store, synthetic

SEED = b"\x07" * 32
SOURCE = "smm-post-1"
WORKER = Path(__file__).with_name("restart_worker.py")


def signed(n: int, start: int = 0) -> list[dict[str, Any]]:
    """``n`` observations signed by SOURCE, as a source submits them (times with offsets)."""
    signer = Signer(SOURCE, SEED)
    out = []
    for r in synthetic(n, start, "rs"):
        rec = {**r, "source_id": SOURCE}
        sig = submissions.sign_observation(parse_observation(rec), signer).signature
        out.append({**rec, "signature": sig})
    return out


def signed_store(path: Path) -> SQLiteStore:
    store = new_store(path)
    keys.register_source_key(store, SOURCE, "monitor", Signer(SOURCE, SEED).verifier().to_vkey())
    return store


def run(store: SQLiteStore, rows: list[dict[str, Any]], **kw: Any) -> tuple[Any, int]:
    """Ingest ``rows``; returns the report and how many signatures the run verified."""
    before = verifiers.signatures_started()
    rep = ingest(store, list(enumerate(rows, 1)), require_signatures=True, batch_size=100, **kw)
    return rep, verifiers.signatures_started() - before


def test_stored_observations_are_not_verified_again(tmp_path: Path) -> None:
    store = signed_store(tmp_path / "s.db")
    rows = signed(500)
    rep, verified = run(store, rows[:300])
    assert (rep.added, verified) == (300, 300)  # the counter counts: one key, one each
    size = store.entry_count()
    rep, verified = run(store, rows[:300])
    assert (rep.added, rep.duplicates, rep.rejected, verified) == (0, 300, [], 0)
    assert store.entry_count() == size
    rep, verified = run(store, rows)  # a restart: the first 300 stored, 200 new
    assert (rep.added, rep.duplicates, verified) == (200, 300, 200)


def test_same_record_from_another_input_is_not_verified_again(tmp_path: Path) -> None:
    """The stored form (UTC 'Z' times) is another input than the submitted one (+02:00):
    validated, compared by its canonical record, and still neither located nor verified."""
    store = signed_store(tmp_path / "s.db")
    run(store, signed(150))
    stored = [o.to_record() for o in store.observations()]
    assert stored[0]["time"].endswith("Z")
    rep, verified = run(store, stored)
    assert (rep.added, rep.duplicates, verified) == (0, 150, 0)


@pytest.mark.parametrize("on_invalid", ["raise", "skip"])
def test_same_id_other_content_is_still_refused(tmp_path: Path, on_invalid: str) -> None:
    store = signed_store(tmp_path / "s.db")
    rows = signed(120)
    run(store, rows)
    size, root = store.tree_root()
    changed = [*rows[:50], {**rows[50], "count": 7}, *rows[51:]]
    if on_invalid == "raise":
        with pytest.raises(ConflictError) as err:
            run(store, changed, on_invalid=on_invalid)
        assert err.value.field == "id"
        assert err.value.details == {"line": 51, "id": "rs-50"}
        assert "line 51" in err.value.message and "'rs-50'" in err.value.message
    else:
        rep, verified = run(store, changed, on_invalid=on_invalid)
        assert [(r.line, r.field, r.id) for r in rep.rejected] == [(51, "id", "rs-50")]
        assert (rep.added, rep.duplicates, verified) == (0, 119, 0)
    assert store.tree_root() == (size, root)
    assert store.observation("rs-50").count == rows[50].get("count", 1)


def _lines(proc: subprocess.Popen[str]) -> Any:
    assert proc.stdout is not None
    while line := proc.stdout.readline():
        yield line.split()


@pytest.mark.slow
def test_kill_and_restart_reaches_the_end(tmp_path: Path) -> None:
    """Kill -9 the ingest each time it has verified BUDGET signatures and start it again over
    the same stream: every run gets further, and the stream is done in N / progress runs.

    Before the fix every run verified the stored observations again; once BUDGET of them were
    stored no run stored anything new (the issue's 39,000 of 60,000), and this fails at the
    bound. The kill point is counted in work done, never in seconds.
    """
    n, batch, budget = 1200, 100, 300
    db = tmp_path / "restart.db"
    signed_store(db).close()
    stream = tmp_path / "stream.jsonl"
    stream.write_text("".join(json.dumps(r) + "\n" for r in signed(n)))
    # per run: batch k+1 is verified while batch k is stored, so at the kill two are stored
    per_run = budget - batch
    bound = -(-n // per_run) + 1
    history: list[tuple[int, int]] = []  # (stored at the end of the run, verified in it)
    for _ in range(bound):
        proc = subprocess.Popen([sys.executable, str(WORKER), str(db), str(stream)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert proc.stdin is not None
        stored = verified = 0
        done = False
        for words in _lines(proc):
            if words[0] == "ack":
                stored, verified = int(words[1]), int(words[2])
                if verified >= budget:
                    proc.send_signal(signal.SIGKILL)
                    break
                proc.stdin.write("go\n")
                proc.stdin.flush()
            elif words[0] == "done":
                done = True
        proc.stdin.close()
        proc.wait(timeout=60)  # a hang guard only
        history.append((stored, verified))
        if done:
            assert proc.returncode == 0
            break
        assert proc.returncode == -signal.SIGKILL
        if len(history) > 1:
            assert stored > history[-2][0], f"no progress: {history}"
    else:
        pytest.fail(f"not done in {bound} runs: {history}")
    print(f"runs: {len(history)} (bound {bound}); stored, verified per run: {history}")
    store = SQLiteStore(db)
    assert store.count_observations() == n
    assert sorted(o.id for o in store.observations()) == sorted(f"rs-{i}" for i in range(n))
    from truceline.services import verify

    assert verify.verify_record(store).ok
    # every run verified only what it stored (and the batch beyond), never the stored ones
    assert all(v <= budget for _, v in history), history
    assert len(history) <= bound
