"""What the app keeps between requests: the store, settings, rate limiter and cached context.

The agreement is re-read at most every ``AGREEMENT_TTL_S`` seconds (it changes only when
someone loads a new version, and parsing and compiling it costs tens of milliseconds), so a
new version is picked up within that time without a restart.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any, cast

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from truceline.adapters.http.auth import Principal, RateLimiter, authenticate
from truceline.adapters.http.redaction import DEFAULT_GRID_DEG
from truceline.core.findings import Finding
from truceline.errors import AuthError
from truceline.services import access
from truceline.services.context import AgreementContext, context_for_doc
from truceline.services.ports import Store
from truceline.services.record import LogSigner
from truceline.settings import Settings

AGREEMENT_TTL_S = 2.0
#: How long a rendered findings list is served from memory. Writes through this process
#: (``/check``, publication) drop it at once; another process's within this time.
FINDINGS_TTL_S = 1.0
PUBLISHED_KEY = "http.published_findings"
SECRET_KEY = access.PSEUDONYM_KEY


class CachedAgreement:
    """The store, with the latest agreement document cached.

    Services such as ingest read the agreement on every call; through this view a batch does
    not pay for reading and parsing the whole bundled document again. Every
    ``AGREEMENT_TTL_S`` the store's latest version number is read (one small query), and the
    document only when that changed: the same dict is kept otherwise, so what is derived from
    it by identity (the compiled context) is not derived again. Every other method is the
    store's own.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._doc: dict[str, Any] | None = None
        self._version: int | None = None
        self._at = 0.0
        self._lock = threading.Lock()

    def agreement_doc(self, version: int | None = None) -> dict[str, Any]:
        if version is not None:
            return self._store.agreement_doc(version)
        with self._lock:
            now = time.monotonic()
            if self._doc is None or now - self._at > AGREEMENT_TTL_S:
                latest = self._store.agreement_version()
                if self._doc is None or latest != self._version:
                    self._doc = self._store.agreement_doc()
                    self._version = latest
                self._at = now
            return self._doc

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


class AppState:
    """Two connections: writes (ingest, checks, the record) go through ``store``; reads through
    ``reader``, so a read never queues behind a writer's transaction (SQLite's WAL lets a
    reader see the last commit while a write is in progress)."""

    def __init__(self, store: Store, reader: Store, settings: Settings) -> None:
        self.raw_store = store
        self.store = cast(Store, CachedAgreement(store))
        self.raw_reader = reader
        self.reader = cast(Store, CachedAgreement(reader))
        self.settings = settings
        self.limiter = RateLimiter(settings.rate_limit_per_minute)
        self.grid = float(getattr(settings, "redaction_grid_deg", DEFAULT_GRID_DEG))
        self._ctx: tuple[int, AgreementContext] | None = None
        self._write_ctx: tuple[int, AgreementContext] | None = None
        self._secret: bytes | None = None
        self._log_signer: LogSigner | None = None
        self._rendered: dict[tuple[Any, ...], tuple[float, bytes]] = {}
        self._changed_at = 0.0
        #: Keys whose rendered findings are being re-rendered ahead of expiry, and the tasks.
        self.refreshing: set[tuple[Any, ...]] = set()
        self.refresh_tasks: set[Any] = set()

    def context(self) -> AgreementContext:
        doc = self.reader.agreement_doc()
        if self._ctx is None or self._ctx[0] != id(doc):
            self._ctx = (id(doc), context_for_doc(doc))
        return self._ctx[1]

    def log_signer(self) -> LogSigner:
        """The log's signer from the settings, opened on first use and kept (Argon2id is
        slow on purpose; the key file is read once per process)."""
        if self._log_signer is None:
            from truceline.adapters.log_key import load_log_signer

            self._log_signer = load_log_signer(self.settings)
        return self._log_signer

    def write_context(self) -> AgreementContext:
        """The agreement context of the write store's cached document: ingest gets it from
        here instead of hashing the whole document again for every request."""
        doc = self.store.agreement_doc()
        cached = self._write_ctx
        if cached is None or cached[0] != id(doc):
            cached = self._write_ctx = (id(doc), context_for_doc(doc))
        return cached[1]

    @property
    def secret(self) -> bytes:
        """Per-store secret for source pseudonyms (stable across restarts and workers; made
    once, with its entry in the record: :func:`truceline.services.access.pseudonym_secret`)."""
        if self._secret is None:
            self._secret = access.pseudonym_secret(self.raw_store)
        return self._secret

    def published(self) -> frozenset[str]:
        value = self.raw_reader.get_meta(PUBLISHED_KEY)
        return frozenset(json.loads(value)) if value else frozenset()

    def publish(self, finding_id: str, entry: bytes) -> bool:
        """Add ``finding_id`` to the published set with its ``status_change`` entry, in one
        write transaction (concurrent publications are never lost); False if it was already
        published (and nothing is written)."""
        added = self.raw_store.add_to_meta_set(PUBLISHED_KEY, finding_id,
                                               [("status_change", entry)])
        if added:
            self.findings_changed()
        return added

    def findings(self) -> list[Finding]:
        return self.reader.findings()

    def rendered(self, key: tuple[Any, ...]) -> bytes | None:
        """A response body rendered from the findings for ``key`` (who and which filter),
        if it is younger than ``FINDINGS_TTL_S`` and no write here changed the findings."""
        hit = self._rendered.get(key)
        if hit is None or time.monotonic() - hit[0] > FINDINGS_TTL_S:
            return None
        return hit[1]

    def refresh_due(self, key: tuple[Any, ...]) -> bool:
        """Whether the kept body for ``key`` is past half its life and no re-render of it is
        under way: readers polling it would otherwise all meet the expiry and render in line."""
        hit = self._rendered.get(key)
        return (hit is not None and key not in self.refreshing
                and time.monotonic() - hit[0] > FINDINGS_TTL_S / 2)

    def keep_rendered(self, key: tuple[Any, ...], body: bytes, since: float) -> None:
        """Keep ``body``, rendered from data read after ``since`` (``time.monotonic()``),
        unless the findings changed here since then."""
        if since >= self._changed_at:
            if len(self._rendered) > 1000:  # bounded: keys are roles x bindings x filters
                self._rendered = {}
            self._rendered[key] = (since, body)

    def findings_changed(self) -> None:
        """Forget the rendered findings (after ``/check`` or a publication here)."""
        self._changed_at = time.monotonic()
        self._rendered = {}



async def app_state(request: Request) -> AppState:
    return cast(AppState, request.app.state.truceline)


_bearer = HTTPBearer(auto_error=False, description="An API key from `truceline apikey create`.")


async def principal(request: Request,
                    _: HTTPAuthorizationCredentials | None = Security(_bearer)) -> Principal:
    """Authenticate the request (public when there is no key) and count it against the limit.

    Runs on the event loop (one indexed lookup) rather than costing every request a trip
    through the thread pool."""
    st = cast(AppState, request.app.state.truceline)
    client = request.client.host if request.client else "unknown"
    try:
        who = authenticate(st.raw_reader, request.headers.get("authorization"), client)
    except AuthError:
        st.limiter.hit(f"ip:{client}")  # guessing tokens counts against the address
        raise
    st.limiter.hit(who.rate_key)
    return who
