"""The ``api_keys`` table of a SQL store: keys by the hash of their token, unique by name.

A name is what an operator revokes a key by, so two unrevoked keys never share one: a second
key of a name is refused (ConflictError, field ``name``) under the store's write lock, and
revoking a name revokes exactly one key. Stores made before names were unique may hold
several live keys of one name: revoking it then needs ``every`` (``apikey revoke --all``).
Every registration and revocation appends its ``api_key`` entry in the transaction that writes
the row (:mod:`truceline.services.access`), so ``record verify`` checks the table.
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
    _append: Callable[[Sequence[tuple[str, bytes]]], list[int]]

    def add_api_key(self, token_hash: str, name: str, role: str, party: str | None,
                    entry: bytes) -> None:
        with self._tx():  # under the write lock: two creations of one name cannot both pass
            if self._one("SELECT 1 FROM api_keys WHERE name = ? AND revoked = 0", (name,)):
                raise ConflictError(f"an API key named {name!r} exists; names are unique "
                                    "(revoke it first, or choose another)", field="name")
            self._execute("INSERT INTO api_keys(token_hash, name, role, party) VALUES (?,?,?,?)",
                          (token_hash, name, role, party))
            self._append([("api_key", entry)])

    def restore_api_key(self, row: dict[str, Any], entry: bytes) -> None:
        """A key as its entry says it is (a store rebuilt from the log), with the entry."""
        with self._tx():
            self._execute("DELETE FROM api_keys WHERE token_hash = ?", (row["token_hash"],))
            self._execute("INSERT INTO api_keys(token_hash, name, role, party, revoked) "
                          "VALUES (?,?,?,?,?)", (row["token_hash"], row["name"], row["role"],
                                                 row["party"], int(bool(row["revoked"]))))
            self._append([("api_key", entry)])

    def api_key(self, token_hash: str) -> dict[str, Any] | None:
        row = self._one(
            "SELECT name, role, party, revoked FROM api_keys WHERE token_hash = ?", (token_hash,)
        )
        if row is None:
            return None
        return {"name": row[0], "role": row[1], "party": row[2], "revoked": bool(row[3])}

    def revoke_api_key(self, name: str, every: bool,
                       entry_for: Callable[[dict[str, Any]], bytes]) -> int:
        with self._tx():
            live = self._all("SELECT token_hash, name, role, party FROM api_keys "
                             "WHERE name = ? AND revoked = 0 ORDER BY token_hash", (name,))
            if len(live) > 1 and not every:
                raise ConflictError(f"{len(live)} API keys are named {name!r} (made before names "
                                    "were unique); revoke them all with --all", field="name")
            for token_hash, n, role, party in live:
                self._execute("UPDATE api_keys SET revoked = 1 WHERE token_hash = ?",
                              (token_hash,))
                self._append([("api_key", entry_for({"token_hash": token_hash, "name": n,
                                                     "role": role, "party": party}))])
            return len(live)
