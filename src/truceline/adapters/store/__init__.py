"""Stores behind the :class:`truceline.services.ports.Store` port."""

from __future__ import annotations

from truceline.services.ports import Store


def open_store(url: str, *, create: bool = False) -> Store:
    """Open the store a URL names: ``postgresql://...`` or a SQLite file path."""
    if url.startswith(("postgresql://", "postgres://")):
        from truceline.adapters.store.postgres import PostgresStore

        return PostgresStore(url, create=create)
    from truceline.adapters.store.sqlite import SQLiteStore

    return SQLiteStore(url, create=create)
