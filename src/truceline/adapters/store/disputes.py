"""The ``disputes`` table of a SQL store: each dispute's current state beside its entries.

A row's ``record`` is the dispute's state (:func:`truceline.core.disputes.fold` of its filing
and its transitions), written in the same transaction as the entry that made it. A transition
replaces the record only if it is still the one the caller decided on (compare and set under
the record's write lock), so two concurrent transitions of one dispute never both pass: the
second finds the record changed and is refused (ConflictError, field ``status``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from truceline.adapters.store.schema import json_text
from truceline.errors import ConflictError, NotFoundError


class DisputeTable:
    """The dispute methods of :class:`~truceline.adapters.store.sql.SQLStore`."""

    _tx: Callable[[], AbstractContextManager[None]]
    _one: Callable[[str, Sequence[Any]], Any]
    _all: Callable[[str, Sequence[Any]], list[Any]]
    _execute: Callable[[str, Sequence[Any]], Any]
    _append: Callable[[Sequence[tuple[str, bytes]]], list[int]]

    def add_dispute(
        self, dispute_id: str, finding_id: str, party: str, record: dict[str, Any], entry: bytes
    ) -> None:
        with self._tx():
            self._execute(
                "INSERT INTO disputes(id, finding_id, party, record) VALUES (?,?,?,?)",
                (dispute_id, finding_id, party, json_text(record)),
            )
            self._append([("dispute", entry)])

    def disputes(self, party: str | None = None) -> list[dict[str, Any]]:
        sql, args = "SELECT record FROM disputes", []
        if party is not None:
            sql += " WHERE party = ?"
            args.append(party)
        return [json.loads(r[0]) for r in self._all(sql + " ORDER BY id", args)]

    def dispute(self, dispute_id: str) -> dict[str, Any]:
        row = self._one("SELECT record FROM disputes WHERE id = ?", (dispute_id,))
        if row is None:
            raise NotFoundError("no such dispute", field="dispute_id")
        out: dict[str, Any] = json.loads(row[0])
        return out

    def update_dispute(
        self, dispute_id: str, old: dict[str, Any], new: dict[str, Any], entry: bytes
    ) -> None:
        """Replace the dispute's state ``old`` by ``new`` and append its ``status_change``
        entry, in one transaction; ConflictError (nothing written) if the state is no longer
        ``old``."""
        with self._tx():
            row = self._one("SELECT record FROM disputes WHERE id = ?", (dispute_id,))
            if row is None:
                raise NotFoundError("no such dispute", field="dispute_id")
            if json.loads(row[0]) != old:
                raise ConflictError(
                    "the dispute changed meanwhile; read it again (nothing changed)",
                    field="status",
                    dispute_id=dispute_id,
                )
            self._execute(
                "UPDATE disputes SET record = ? WHERE id = ?", (json_text(new), dispute_id)
            )
            self._append([("status_change", entry)])
