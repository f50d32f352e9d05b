"""A march2025 store with a planted breach, a simulated clock, and a real webhook receiver.

The receiver is a small HTTP server on loopback that checks each delivery's signature itself
(HMAC-SHA256 over ``id.timestamp.body``, written here from the Standard Webhooks rule, not
with truceline's code), keeps every request it was sent, and stores each delivery once by
its ``webhook-id`` (the idempotency key), as a receiver must under at-least-once delivery.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.cli.main import cli
from truceline.adapters.store import open_store
from truceline.services.check import run_check
from truceline.services.ingest import ingest
from truceline.services.ports import Store
from truceline.services.record import initialize_store, publish_checkpoint

from ..log_keys import DEFAULT_ORIGIN, fixed_key

#: When the planted day's check runs (simulated): the morning after the breach.
T0 = datetime(2025, 3, 28, 6, 0, tzinfo=UTC)


class SimClock:
    """The Clock port on simulated time: it moves only when the test says so."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


def breach(i: int, lon: float = 38.0, hour: int = 20) -> dict[str, Any]:
    """A located outgoing explosion in Russian-held Donetsk oblast, 27 March 2025 (local
    evening): a breach of M25-ceasefire, attributed to RU."""
    return {"id": f"planted-fire-{i}", "kind": "fire", "fire_type": "explosion",
            "explosion_type": "outgoing", "time": f"2025-03-27T{hour:02d}:40:00+02:00",
            "source_id": "smm-post-1", "lon": lon, "lat": 48.35,
            "location_uncertainty_m": 300.0, "observer_lon": 37.93, "observer_lat": 48.37,
            "bearing_deg": 100.0, "weapon_class": "tube_artillery"}


def planted_store(url: str, fires: int = 1) -> None:
    """Agreement march2025, ``fires`` planted breaches, checked (no notifications yet)."""
    _, doc = load_agreement_file("march2025")
    store = open_store(url, create=True)
    initialize_store(store, doc)
    ingest(store, list(enumerate([breach(i, 38.0 + 0.05 * i) for i in range(fires)])),
           clock=lambda: T0)
    run_check(store)
    store.close()


@pytest.fixture()
def planted(tmp_path: Path) -> Path:
    db = tmp_path / "planted.db"
    planted_store(str(db))
    return db


def check_signature(secret: str, headers: dict[str, str], body: bytes) -> bool:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    msg = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    want = "v1," + base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(want, s) for s in headers["webhook-signature"].split())


@dataclass
class Receiver:
    """What the webhook server saw: every request, and the deliveries kept once each."""

    url: str
    secrets: dict[str, str] = field(default_factory=dict)  # recipient -> its secret
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    kept: dict[str, dict[str, Any]] = field(default_factory=dict)  # webhook-id -> body
    bad: list[str] = field(default_factory=list)
    fail_next: int = 0  # answer this many requests with 503 first (a receiver that is down)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            self.requests.append((path, headers, body))
            if self.fail_next:
                self.fail_next -= 1
                return 503
            recipient = path.rsplit("/", 1)[-1]
            secret = self.secrets.get(recipient)
            if secret is None or not check_signature(secret, headers, body):
                self.bad.append(headers.get("webhook-id", "?"))
                return 401
            self.kept.setdefault(headers["webhook-id"], json.loads(body))
            return 200


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    rec: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # the http.server name
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            status = rec.handle(self.path, {k.lower(): v for k, v in self.headers.items()},
                                body)
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec = Receiver(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield rec
    server.shutdown()
    server.server_close()


def replay_elsewhere(store: Store, db: Path, tmp_path: Path) -> Path:
    """Sign a checkpoint of ``store`` (closed after), export its tiles and the analyst's
    openings, and rebuild a store from them alone in another directory, as another machine
    would (`record replay --db`); returns the rebuilt store's path."""
    key = fixed_key(DEFAULT_ORIGIN)
    publish_checkpoint(store, key, 1_743_200_000)
    store.close()
    tiles, other = tmp_path / "tiles", tmp_path / "elsewhere" / "mirror.db"
    bundle = tmp_path / "analyst.openings"
    other.parent.mkdir()
    run = CliRunner()
    assert run.invoke(cli, ["record", "export", "--db", str(db), "--out", str(tiles)]
                      ).exit_code == 0
    assert run.invoke(cli, ["record", "openings", "--db", str(db), "--out", str(bundle),
                            "--for", "analyst"]).exit_code == 0
    res = run.invoke(cli, ["record", "replay", "--tiles", str(tiles), "--log-vkey",
                           key.verifier().to_vkey(), "--db", str(other),
                           "--openings", str(bundle)])
    assert res.exit_code == 0, res.output
    return other
