"""A served mission for the dashboard's browser tests: the HTTP tests' base store (the March
2025 example and its sample, checked; API keys per role; one published finding), plus both
parties' witness keys and a checkpoint they cosigned, on a loopback port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from tests.http.conftest import LOG_KEY, World, build_world
from truceline.adapters.http import create_app
from truceline.adapters.store import open_store
from truceline.core.record.note import ALG_COSIGNATURE_V1, Signer, cosign, parse_note
from truceline.services import keys, record, witnesses
from truceline.settings import Settings

WITNESSES = {"UA": Signer("ua-witness", b"\x11" * 32, ALG_COSIGNATURE_V1),
             "RU": Signer("ru-witness", b"\x22" * 32, ALG_COSIGNATURE_V1)}
NOW = 1_743_100_000


def build(db: Path) -> World:
    """The base store, then witness keys and a checkpoint cosigned by UA and RU."""
    w = build_world(db)
    store = open_store(str(db))
    try:
        for party, s in WITNESSES.items():
            keys.register_source_key(store, party, "witness", s.verifier().to_vkey())
        note = record.publish_checkpoint(store, LOG_KEY, NOW)
        size = int(note.decode().split("\n")[1])
        text = parse_note(note).text
        for s in WITNESSES.values():
            witnesses.add_cosignature(store, size, cosign(text, s, NOW + 60).line())
    finally:
        store.close()
    return w


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(db: Path, settings: Settings | None = None) -> Iterator[str]:
    """``truceline serve``'s app over ``db`` in a thread; yields its base URL."""
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(str(db), settings or Settings()),
                                        host="127.0.0.1", port=port, log_level="warning"))
    t = threading.Thread(target=srv.run, daemon=True)
    t.start()
    deadline = time.monotonic() + 300  # a hang guard only
    while not srv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        t.join(10)
