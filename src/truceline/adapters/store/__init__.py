"""Stores behind the :class:`truceline.services.ports.Store` port."""

from __future__ import annotations

import os
import re

from truceline.errors import StoreError
from truceline.services.ports import Store

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")


def open_store(url: str | os.PathLike[str], *, create: bool = False) -> Store:
    """Open the store a URL names: ``postgresql://...`` or a SQLite file path.

    Anything else is refused with a :class:`StoreError` naming ``db``: a URL of another scheme,
    or a value that is not one string (a list of URLs, or a URL split into characters, once
    left ten stray databases named ``p``, ``o``, ``s``, ... in a working directory).
    """
    if not isinstance(url, str | os.PathLike) or not str(url):
        raise StoreError(f"expected one store URL or file path, got {type(url).__name__} "
                         f"{str(url)[:40]!r}", field="db")
    url = os.fspath(url)
    if url.startswith(("postgresql://", "postgres://")):
        from truceline.adapters.store.postgres import PostgresStore

        return PostgresStore(url, create=create)
    if m := _SCHEME.match(url):
        raise StoreError(f"unknown store scheme {m.group(1)!r}: use a SQLite file path or a "
                         "postgresql:// URL", field="db")
    from truceline.adapters.store.sqlite import SQLiteStore

    return SQLiteStore(url, create=create)
