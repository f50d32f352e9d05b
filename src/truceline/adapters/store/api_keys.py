"""The ``api_keys`` table of a SQL store: keys by the hash of their token, unique by name.

A name is what an operator revokes a key by, so two unrevoked keys never share one: a second
key of a name is refused (ConflictError, field ``name``) under the store's write lock, and
revoking a name revokes exactly one key. Stores made before names were unique may hold
several live keys of one name: revoking it then needs ``every`` (``apikey revoke --all``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from truceline.errors import ConflictError


class ApiKeyTable:
    """The API key methods of :class:`~truceline.adapters.store.sql.SQLStore`."""

    _tx: Callable[[], AbstractContextManager[None]]
    _one: Callable[[str, Sequence[Any]], Any]
    _all: Callable[[str, Sequence[Any]], list[Any]]
    _execute: Callable[[str, Sequence[Any]], Any]

    def add_api_key(self, token_hash: str, name: str, role: str, party: str | None) -> None:
        with self._tx():  # under the write lock: two creations of one name cannot both pass
            if self._one("SELECT 1 FROM api_keys WHERE name = ? AND revoked = 0", (name,)):
                raise ConflictError(f"an API key named {name!r} exists; names are unique "
                                    "(revoke it first, or choose another)", field="name")
            self._execute("INSERT INTO api_keys(token_hash, name, role, party) VALUES (?,?,?,?)",
                          (token_hash, name, role, party))

    def api_key(self, token_hash: str) -> dict[str, Any] | None:
        row = self._one(
            "SELECT name, role, party, revoked FROM api_keys WHERE token_hash = ?", (token_hash,)
        )
        if row is None:
            return None
        return {"name": row[0], "role": row[1], "party": row[2], "revoked": bool(row[3])}

    def revoke_api_key(self, name: str, every: bool = False) -> int:
        with self._tx():
            live = self._all("SELECT token_hash FROM api_keys WHERE name = ? AND revoked = 0",
                             (name,))
            if len(live) > 1 and not every:
                raise ConflictError(f"{len(live)} API keys are named {name!r} (made before names "
                                    "were unique); revoke them all with --all", field="name")
            for (token_hash,) in live:
                self._execute("UPDATE api_keys SET revoked = 1 WHERE token_hash = ?",
                              (token_hash,))
            return len(live)
