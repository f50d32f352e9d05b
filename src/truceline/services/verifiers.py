"""Worker processes for ingest's per-record work, so that it never waits for this one's GIL.

libsodium releases the GIL, but each signature still needs it for a few microseconds of
Python around the call. A thread verifying beside a thread that runs Python (validation,
the store, a server's event loop) gets it back only once per switch interval (5 ms by
default): measured here, a verifying thread drops from ~58 µs to ~4 ms per signature while
the main thread validates. So verification runs in ``python -m truceline.services.verifiers``
child processes (one per CPU), fed over pipes, and the parent's Python runs meanwhile; so
does the rest of ingest's work on each record (validation, encoding, commitments:
:mod:`truceline.services.ingest_prepare`), the ``prepare`` job beside ``verify``.

The children apply :func:`truceline.core.record.signing.verify_many`, the same rule as
everywhere else. They exit when the parent's end of their stdin closes, including when the
parent is killed. If a child cannot be started, fails or dies, its part is run here instead:
slower, never a different answer.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from truceline.core.record.signing import verify_many

#: Below this many signatures a batch is verified in the calling thread: a round trip to a
#: child costs more than it saves.
MIN_OFFLOAD = 64


def _read_exact(f: IO[bytes], n: int) -> bytes | None:
    """``n`` bytes from ``f``, or None at end of file."""
    buf = bytearray()
    while len(buf) < n:
        part = f.read(n - len(buf))
        if not part:
            return None
        buf += part
    return bytes(buf)


#: No answer is this large (a part's answer is a few MB); a length above it was read out of
#: step, and reading it would ask for that much memory.
_MAX_ANSWER = 1 << 32


class _Child:
    """One verifying process; requests and answers are length-prefixed, answered in order."""

    def __init__(self, argv: Sequence[str] = (sys.executable, "-m", "truceline.services.verifiers")
                 ) -> None:
        src = str(Path(__file__).resolve().parents[2])  # so the child imports this truceline
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [src, *filter(None, [os.environ.get("PYTHONPATH")])])}
        self.proc = subprocess.Popen(
            list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self._send_lock = threading.Lock()
        self._recv_lock = threading.Lock()
        self._sent = 0
        self._received = 0
        self._answers: dict[int, bytes] = {}
        self.broken = False

    def send(self, payload: bytes) -> int:
        """Queue a request; returns its ticket for :meth:`answer`."""
        assert self.proc.stdin is not None
        with self._send_lock:
            try:
                self.proc.stdin.write(len(payload).to_bytes(8, "little") + payload)
                self.proc.stdin.flush()
            except OSError:
                self.broken = True
                raise
            self._sent += 1
            return self._sent - 1

    def answer(self, ticket: int) -> bytes:
        """The answer to request ``ticket`` (answers to earlier tickets are kept for theirs)."""
        assert self.proc.stdout is not None
        with self._recv_lock:
            while ticket not in self._answers:
                if self.broken:
                    raise OSError("a worker process's answers are out of step")
                head = _read_exact(self.proc.stdout, 8)
                size = None if head is None else int.from_bytes(head, "little")
                if size is not None and size > _MAX_ANSWER:
                    # the pipe is out of step (a length read from the middle of an answer):
                    # nothing more can be read from it in order; the parts run here instead
                    self.broken = True
                    self.proc.kill()
                    raise OSError("a worker process's answers are out of step")
                body = None if size is None else _read_exact(self.proc.stdout, size)
                if body is None:
                    self.broken = True
                    raise OSError("a signature verifier process ended")
                self._answers[self._received] = body
                self._received += 1
            return self._answers.pop(ticket)

    def close(self) -> None:
        for f in (self.proc.stdin, self.proc.stdout):
            if f is not None:
                f.close()
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class _Pool:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._children: list[_Child] = []
        self._next = 0
        self.size = min(4, os.cpu_count() or 1)
        self.disabled = False  # set when a child could not be started

    def children(self, n: int) -> list[_Child]:
        """Up to ``n`` live children, started on first use, taken in turn."""
        with self._lock:
            if self.disabled:
                return []
            self._children = [c for c in self._children if not c.broken]
            try:
                while len(self._children) < self.size:
                    self._children.append(_Child())
            except OSError:
                self.disabled = True
                return []
            out = [self._children[(self._next + k) % len(self._children)]
                   for k in range(min(n, len(self._children)))]
            self._next += len(out)
            return out

    def live(self) -> list[_Child]:
        with self._lock:
            return [c for c in self._children if not c.broken]

    def close(self) -> None:
        with self._lock:
            for c in self._children:
                c.close()
            self._children = []


_POOL = _Pool()
atexit.register(_POOL.close)


def pool_size() -> int:
    """How many worker processes a batch may be split among (0: none, work here)."""
    return 0 if _POOL.disabled else _POOL.size


def set_verifier_processes(n: int) -> None:
    """How many verifying processes to keep (0: verify in the calling thread)."""
    _POOL.close()
    _POOL.size = max(0, n)


def pids() -> list[int]:
    """Process ids of the running verifiers (for measuring their CPU)."""
    return [c.proc.pid for c in _POOL.live()]


_started = 0
_started_lock = threading.Lock()


def signatures_started() -> int:
    """How many signature verifications this process has started so far (in the children or
    here): the verifiers' work counter, for tests and benchmarks."""
    return _started


def _verify_job(pks: Sequence[bytes], msgs: Sequence[bytes], sigs: Sequence[bytes]) -> bytes:
    return verify_many(pks, msgs, sigs).tobytes()


def run_jobs(job: Callable[..., bytes], parts: Sequence[tuple[Any, ...]], *,
             here: bool = False) -> Callable[[], list[bytes]]:
    """Start ``job`` (a module-level function, sent by name) on each of ``parts`` (its
    arguments), one child each (in this thread when ``here``, or when no child can be had);
    returns a function that waits for the answers, in order. A child that fails or dies
    costs only time: its part is run here instead, so the answer, or the error, is the one
    this process would give."""
    children = [] if here else _POOL.children(len(parts))
    jobs: list[tuple[_Child | None, int]] = []
    for k, part in enumerate(parts):
        c = children[k] if k < len(children) else None
        ticket = 0
        if c is not None:
            try:
                ticket = c.send(pickle.dumps((job, part), protocol=5))
            except OSError:
                c = None
        jobs.append((c, ticket))

    def wait() -> list[bytes]:
        out = []
        for (c, ticket), part in zip(jobs, parts, strict=True):
            try:
                if c is None:
                    raise OSError
                answer = c.answer(ticket)
                if answer[:1] != b"\x00":
                    raise OSError("a worker process could not run its part")
                out.append(answer[1:])
            except OSError:
                out.append(job(*part))
        return out

    return wait


def start_verify(pks: Sequence[bytes], msgs: Sequence[bytes],
                 sigs: Sequence[bytes]) -> Callable[[], list[bool]]:
    """Start ``verify_many`` over the children (small batches: here, now); returns a function
    that waits for the results, in order."""
    global _started
    n = len(pks)
    with _started_lock:
        _started += n
    if n < MIN_OFFLOAD:
        ok = [bool(x) for x in verify_many(pks, msgs, sigs)] if n else []
        return lambda: ok
    parts = max(1, min(_POOL.size, n // (MIN_OFFLOAD // 2)))
    bounds = [n * k // parts for k in range(parts + 1)]
    wait = run_jobs(_verify_job, [(list(pks[a:b]), list(msgs[a:b]), list(sigs[a:b]))
                               for a, b in itertools.pairwise(bounds)])

    def results() -> list[bool]:
        out: list[bool] = []
        for (a, b), part in zip(itertools.pairwise(bounds), wait(), strict=True):
            if len(part) != b - a:  # a child's answer of the wrong size: verify here
                part = verify_many(pks[a:b], msgs[a:b], sigs[a:b]).tobytes()
            out += [x == 1 for x in part]
        return out

    return results


def count_signatures(n: int) -> None:
    """Count ``n`` signature verifications started (by a job that verifies, e.g. ingest's
    preparation) in :func:`signatures_started`."""
    global _started
    with _started_lock:
        _started += n


def _serve(inp: IO[bytes], out: IO[bytes]) -> None:
    """The child's loop: a thread reads requests as they come (so the parent's writes never
    wait for a verification), this one verifies them in order and answers."""
    import queue

    todo: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()

    def read() -> None:
        try:
            while (head := _read_exact(inp, 8)) is not None:
                body = _read_exact(inp, int.from_bytes(head, "little"))
                if body is None:
                    break
                todo.put(body)
        finally:
            todo.put(None)

    threading.Thread(target=read, daemon=True).start()
    while (req := todo.get()) is not None:
        try:
            job, args = pickle.loads(req)  # from our own parent, over a private pipe
            ok = b"\x00" + job(*args)
        except Exception:  # the parent runs the part itself and gets the error
            ok = b"\x01"
        out.write(len(ok).to_bytes(8, "little") + ok)
        out.flush()


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError, KeyboardInterrupt):
        _serve(sys.stdin.buffer, sys.stdout.buffer)
