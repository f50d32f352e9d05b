"""Signatures verified in worker processes: the same answers as in-process, whatever happens."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from truceline.core.record import signing
from truceline.services import verifiers

from .conftest import new_store, synthetic


def _batch(n: int) -> tuple[list[bytes], list[bytes], list[bytes]]:
    """``n`` signatures by 4 keys; every 7th one broken (a flipped bit, a wrong message or a
    small-order key, so the rule's own checks run in the children too)."""
    seeds = [bytes([k]) * 32 for k in range(1, 5)]
    pks, msgs, sigs = [], [], []
    for i in range(n):
        seed = seeds[i % 4]
        msg = f"message {i}".encode()
        sig = signing.sign(seed, msg)
        pk = signing.public_key(seed)
        if i % 7 == 3:
            sig = sig[:10] + bytes([sig[10] ^ 1]) + sig[11:]
        elif i % 7 == 5:
            msg += b"!"
        elif i % 7 == 6 and i % 2:
            pk = bytes(32)  # small order
        pks.append(pk)
        msgs.append(msg)
        sigs.append(sig)
    return pks, msgs, sigs


def test_children_agree_with_verify_many() -> None:
    pks, msgs, sigs = _batch(500)
    want = [bool(x) for x in signing.verify_many(pks, msgs, sigs)]
    assert not all(want) and any(want)
    waits = [verifiers.start_verify(pks, msgs, sigs) for _ in range(3)]  # in flight at once
    for w in reversed(waits):  # answers kept for whoever asks, in any order
        assert w() == want
    assert verifiers._POOL.size == 0 or verifiers._POOL._children, "no child was used"


def test_a_dead_child_changes_nothing_but_speed() -> None:
    pks, msgs, sigs = _batch(300)
    want = [bool(x) for x in signing.verify_many(pks, msgs, sigs)]
    assert verifiers.start_verify(pks, msgs, sigs)() == want
    children = verifiers._POOL.children(verifiers._POOL.size)
    if not children:
        pytest.skip("this machine runs no verifier processes")
    wait = verifiers.start_verify(pks, msgs, sigs)
    for c in children:
        c.proc.kill()
    assert wait() == want  # verified here instead
    assert verifiers.start_verify(pks, msgs, sigs)() == want  # new children
    assert all(c.proc.poll() is None for c in verifiers._POOL.children(8))


def test_children_leave_with_a_killed_parent(tmp_path: Path) -> None:
    """kill -9 of the verifying process: its children see their stdin close and exit."""
    code = (
        "import sys, time\n"
        "from truceline.services import verifiers\n"
        "from tests.record_service.test_verifiers import _batch\n"
        "verifiers.start_verify(*_batch(200))()\n"
        "print(' '.join(str(c.proc.pid) for c in verifiers._POOL._children), flush=True)\n"
        "time.sleep(60)\n"
    )
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=root, stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None
    pids = [int(p) for p in proc.stdout.readline().split()]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 300  # a hang guard only: a busy machine is slow
    alive = pids
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [p for p in alive if _alive(p)]
    assert not alive


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # reaped by init later: a zombie has left
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_ingest_through_children_rejects_a_bad_signature_and_stores_nothing(
        tmp_path: Path) -> None:
    from truceline.core.observations import parse_observation
    from truceline.core.record.note import Signer
    from truceline.errors import SignatureError
    from truceline.services import keys, submissions
    from truceline.services.ingest import ingest

    store = new_store(tmp_path / "s.db")
    signer = Signer("smm-post-1", b"\x07" * 32)
    keys.register_source_key(store, "smm-post-1", "monitor", signer.verifier().to_vkey())
    rows = [submissions.sign_observation(parse_observation({**r, "source_id": "smm-post-1"}),
                                    signer).to_record() for r in synthetic(400, prefix="vp")]
    bad = dict(rows[333], count=(rows[333].get("count") or 0) + 1)
    before = (store.count_observations(), store.entry_count())
    with pytest.raises(SignatureError) as e:
        ingest(store, list(enumerate([*rows[:333], bad, *rows[334:]], 1)),
               require_signatures=True, batch_size=1000)
    assert "line 334" in e.value.message
    assert (store.count_observations(), store.entry_count()) == before
    rep = ingest(store, list(enumerate(rows, 1)), require_signatures=True, batch_size=150)
    assert rep.added == 400 and not rep.rejected


#: A child that reads one request and answers with a length no answer has (as a pipe read out
#: of step gives), then waits.
_OUT_OF_STEP = ("import sys; sys.stdin.buffer.read(8); "
                "sys.stdout.buffer.write((1 << 40).to_bytes(8, 'little') + b'x' * 64); "
                "sys.stdout.flush(); sys.stdin.buffer.read()")


def test_answers_out_of_step_break_the_child_and_its_parts_run_here(
        monkeypatch: pytest.MonkeyPatch) -> None:
    c = verifiers._Child([sys.executable, "-c", _OUT_OF_STEP])
    try:
        ticket = c.send(b"request")
        with pytest.raises(OSError, match="out of step"):
            c.answer(ticket)  # not a 1 TB read
        assert c.broken
        with pytest.raises(OSError):
            c.answer(ticket)  # nothing after it is read as an answer
    finally:
        c.close()
    pool = verifiers._Pool()
    pool._children = [verifiers._Child([sys.executable, "-c", _OUT_OF_STEP])]
    pool.size = 1
    monkeypatch.setattr(verifiers, "_POOL", pool)
    pks, msgs, sigs = _batch(40)
    want = signing.verify_many(pks, msgs, sigs).tobytes()
    wait = verifiers.run_jobs(verifiers._verify_job, [(pks, msgs, sigs)])
    assert wait() == [want]  # the part ran here
    bad = pool._children[0]
    assert bad.broken and bad not in pool.live()
    pool.close()
