"""The HTTP service: a JSON API with roles and redaction, and OGC API - Features for GIS tools.

``create_app(store_url, settings)`` builds the FastAPI application; ``truceline serve`` runs it.
"""

from __future__ import annotations

from truceline.adapters.http.app import create_app

__all__ = ["create_app"]
