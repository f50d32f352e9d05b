"""Ports: what the services need from the outside world (stores, clock), as small protocols.

The SQLite and PostgreSQL stores implement :class:`Store`; tests use the real SQLite store
(a file in a temp dir) rather than fakes, since it is cheap and exact.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from truceline.core.findings import Finding
from truceline.core.incidents import Incident
from truceline.core.observations import Observation


@dataclass
class AddResult:
    """What an ingest batch did: new ids, ids already stored unchanged, ids stored differently."""

    added: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Entry:
    index: int
    type: str
    data: bytes


class Store(Protocol):
    url: str

    def initialize(self, agreement_doc: dict[str, Any], entry: bytes) -> int:
        """Create the schema if needed and store an agreement version; returns the version."""

    def agreement_doc(self) -> dict[str, Any]:
        """The latest agreement version (bundled document); StoreError if none."""

    def add_observations(self, items: Sequence[tuple[Observation, bytes]]) -> AddResult:
        """Store new observations and their record entries in one durable transaction."""

    def observations(
        self,
        kinds: Sequence[str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[Observation]:
        """Observations in (time, id) order, optionally filtered by kind and [start, end)."""

    def count_observations(self) -> int: ...

    def replace_incidents(self, incidents: Sequence[Incident]) -> None: ...

    def incident_records(self) -> list[dict[str, Any]]: ...

    def replace_findings(self, findings: Sequence[Finding], entries: Sequence[bytes]) -> None:
        """Replace the current findings; append the entries (new or changed findings)."""

    def findings(self) -> list[Finding]: ...

    def append_entries(self, entries: Sequence[tuple[str, bytes]]) -> list[int]: ...

    def entries(self, start: int = 0, end: int | None = None) -> Iterator[Entry]: ...

    def entry_count(self) -> int: ...

    def close(self) -> None: ...
