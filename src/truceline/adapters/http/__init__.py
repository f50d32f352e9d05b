"""The HTTP service: a JSON API with roles and redaction, and OGC API - Features for GIS tools.

``create_app(store_url, settings)`` builds the FastAPI application; ``truceline serve`` runs it.
It is imported on first use, so a module of this package (e.g. the roles in
:mod:`~truceline.adapters.http.auth`, which the CLI lists) does not import FastAPI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from truceline.adapters.http.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from truceline.adapters.http.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
