"""One delivery pass that stops dead at a point the test chooses, to be killed with SIGKILL.

Run by test_outbox_crash.py as ``python outbox_worker.py DB WHEN``:

- ``after-store``: create the notifications (committed with their outbox rows), print
  ``stored`` and wait, before anything is delivered;
- ``after-post``: deliver for real over HTTP, and after the first delivery the receiver
  accepted, print ``posted <delivery id>`` and wait, before the outbox row is marked.

The transport is the real one (httpx to the test's receiver); the pause wraps it, so what
the receiver got and what the store committed are exactly what a crash there leaves.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.guarantees.conftest import T0
from truceline.adapters.store import open_store
from truceline.adapters.webhooks import HttpxTransport
from truceline.services.delivery import deliver
from truceline.services.guarantees import notify


class PauseAfterFirst:
    def __init__(self, inner: HttpxTransport) -> None:
        self.inner = inner

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        status = self.inner.post(url, body, headers)
        if 200 <= status < 300:
            print(f"posted {headers['webhook-id']}", flush=True)
            time.sleep(3600)  # killed here: accepted by the receiver, not marked delivered
        return status


def main() -> None:
    db, when = sys.argv[1], sys.argv[2]
    store = open_store(db)
    notify(store, T0)
    if when == "after-store":
        print("stored", flush=True)
        time.sleep(3600)
    with HttpxTransport() as t:
        deliver(store, PauseAfterFirst(t))


if __name__ == "__main__":
    main()
