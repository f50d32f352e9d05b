"""The FastAPI application: routers, the error envelope, limits, and the OpenAPI document.

``create_app(store_url, settings)`` opens the store once; routes share it (the SQLite store
serialises its own access, and each request's work is short). ``app_from_env()`` is the factory
``truceline serve --workers N`` gives uvicorn, reading the same settings from the environment.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from truceline.adapters.http import (
    ogc,
    routes_alarms,
    routes_coverage,
    routes_dashboard,
    routes_disputes,
    routes_findings,
    routes_guarantees,
    routes_health,
    routes_observations,
    routes_plan,
    routes_record,
    routes_reports,
    routes_sources,
)
from truceline.adapters.http.envelope import BodyLimit, install_error_handlers
from truceline.adapters.http.state import AppState
from truceline.adapters.store import open_store
from truceline.core.observations import Observation
from truceline.errors import TrucelineError
from truceline.services.ports import Clock, system_clock
from truceline.settings import Settings

DESCRIPTION = """Verify ceasefires: submit observations, read incidents, findings, reports and
the tamper-evident record, and contest findings. Authenticate with `Authorization: Bearer
<token>` (keys from `truceline apikey create`); without a key you are the public. Every error is
`{"code", "message", "field", "details"}`. OGC API - Features lives under `/ogc`."""


#: The interpreter's thread switch interval while the app runs (the default is 5 ms).
SWITCH_INTERVAL_S = 0.001


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The generated document plus the observation schema that raw-body routes refer to."""
    if app.openapi_schema is None:
        doc = get_openapi(title=app.title, version=app.version, description=app.description,
                          routes=app.routes)
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        obs = Observation.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(obs.pop("$defs", {}))
        schemas["ObservationIn"] = obs
        for ops in doc["paths"].values():  # a key is optional: without one you are the public
            for op in ops.values():
                if "security" in op:
                    op["security"] = [{}, *op["security"]]
        app.openapi_schema = doc
    return app.openapi_schema


def create_app(store_url: str, settings: Settings | None = None,
               clock: Clock = system_clock) -> FastAPI:
    """The HTTP service over the store at ``store_url`` (a SQLite path or postgresql:// URL);
    ``clock`` is what notification deadlines are measured with (simulated in tests)."""
    settings = settings or Settings()
    state = AppState(open_store(store_url), open_store(store_url), settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with contextlib.suppress(TrucelineError):  # compile the geometry before any request
            state.context()
        # What is loaded by now (modules, the compiled agreement) lives as long as the app:
        # keep it out of the collector's full passes, which otherwise pause every thread.
        gc.freeze()
        # Ingest runs Python in a worker thread for hundreds of ms per batch; with the default
        # 5 ms switch interval every GIL hand-back to the event loop (each socket read/write of
        # a cached /findings answer) can wait that long. A shorter interval keeps reads quick.
        previous = sys.getswitchinterval()
        sys.setswitchinterval(min(previous, SWITCH_INTERVAL_S))
        delivery = routes_guarantees.start_delivery(app)
        try:
            yield
        finally:
            await routes_guarantees.stop_delivery(delivery)
            sys.setswitchinterval(previous)
            gc.unfreeze()

    app = FastAPI(title="truceline", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.truceline = state
    app.state.clock = clock
    install_error_handlers(app)
    for r in (routes_health, routes_observations, routes_findings, routes_disputes,
              routes_guarantees, routes_coverage, routes_reports, routes_record, routes_sources,
              routes_alarms, ogc, routes_dashboard):
        app.include_router(r.router)
    app.include_router(routes_plan.router)  # issue 16: force plans (analysts)
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def app_from_env() -> FastAPI:
    """Factory for uvicorn workers: the store and settings come from ``TRUCELINE_*``."""
    settings = Settings()
    return create_app(os.environ.get("TRUCELINE_DB", settings.db), settings)
