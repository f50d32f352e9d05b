"""``truceline serve``'s app run for real in a thread on a free loopback port, for the tests
that talk HTTP to it (the OGC API, the witness, the dashboard in a browser)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from truceline.adapters.http import create_app
from truceline.settings import Settings

#: How long a server may take to start before the test stops waiting: a hang guard only (a
#: busy machine is slow), never a measure of speed.
START_GUARD_S = 300.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(db: Path | str, settings: Settings | None = None) -> Iterator[str]:
    """The app over ``db`` in a thread; yields its base URL and stops it on leaving."""
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(str(db), settings or Settings()),
                                        host="127.0.0.1", port=port, log_level="warning"))
    t = threading.Thread(target=srv.run, daemon=True)
    t.start()
    deadline = time.monotonic() + START_GUARD_S
    while not srv.started:
        if time.monotonic() > deadline or not t.is_alive():
            raise RuntimeError(f"the server over {db} did not start (hang guard)")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        t.join(10)
