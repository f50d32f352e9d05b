"""Ports: what the services need from the outside world (stores, clock), as small protocols.

The SQLite and PostgreSQL stores implement :class:`Store`; tests use the real SQLite store
(a file in a temp dir) rather than fakes, since it is cheap and exact. The clock is a function
returning an aware ``datetime``: :func:`system_clock` in production, a fixed one in tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from truceline.core.findings import Finding
from truceline.core.incidents import Incident
from truceline.core.observations import Observation, ObservationRow
from truceline.core.resubmissions import CandidateWindow

#: Meta key: how many observations the store held when the last check read them, so that a
#: report (which reads the check's incidents and findings) can say how many it does not cover.
CHECKED_META = "checked_observations"

#: Meta key: what the kept per-day fusion states (``fusion_days``) were made under (the
#: fusion parameters, the agreement version, the observations read); a check whose own
#: differ fuses every day again.
FUSION_DAYS_META = "fusion_days"

#: Meta key: what the last incremental check's rules kept (services/check_rules.py).
RULES_META = "check_rules"


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
    leaf_hash: bytes


@dataclass(frozen=True)
class StoredCheckpoint:
    size: int
    note: bytes  # the C2SP signed note, as the log signed it


class Clock(Protocol):
    """The time now (timezone-aware): what a service compares a submission's times with."""

    def __call__(self) -> datetime: ...


def system_clock() -> datetime:
    """The machine's clock, in UTC (the production :class:`Clock`)."""
    return datetime.now(UTC)


class Store(Protocol):
    url: str

    def initialize(self, agreement_doc: dict[str, Any], entry: bytes) -> int:
        """Create the schema if needed and store an agreement version; returns the version."""

    def agreement_doc(self, version: int | None = None) -> dict[str, Any]:
        """The latest agreement version (bundled document); StoreError if none."""

    def agreement_version(self) -> int | None:
        """The latest agreement version's number (None before ``init``): a cheap way to tell
        whether a cached document is still the latest."""

    def add_observations(self, items: Sequence[tuple[ObservationRow, bytes]],
                         inputs: Sequence[bytes | None] | None = None,
                         links: Mapping[str, tuple[str, bytes]] | None = None) -> AddResult:
        """Store new observations and their record entries in one durable transaction.

        An id already stored, or given earlier in ``items``, is a duplicate when its record is
        the same and a conflict otherwise (nothing of it is stored). ``inputs`` are the
        digests of the inputs the observations came from (one each, or None), kept for
        :meth:`stored_inputs`. ``links`` sets, in the same transaction, the report a
        resubmitted copy (new or stored) is counted through, with the ``status_change``
        entry that says so (appended after the observations' entries; ``items`` may be
        empty: a rebuild from the log sets each link as its entry comes).
        """

    def duplicate_candidates(self, windows: Sequence[CandidateWindow]
                             ) -> list[tuple[str, Observation | None, str | None]]:
        """The stored observations that may be copies of what is being stored, and the
        stored copies among the others: each one's id, the observation (None, unparsed,
        where it lies outside every window's latitude band) and the id it is a duplicate of
        (None when counted itself). A window's times are inclusive; its band is inclusive,
        or (None, None) for reports without an event latitude. Counted reports outside
        every band are left out: they cannot join a group."""

    def duplicate_links(self) -> dict[str, str]:
        """Every stored copy's id and the id of the report it is counted through."""

    def stored_inputs(self, ids: Sequence[str]) -> dict[str, bytes | None]:
        """For each of ``ids`` that is stored: the digest of the input it was ingested from
        (None when not known: stored before digests were kept, or rebuilt from a log)."""

    def stored_records(self, ids: Sequence[str]) -> dict[str, str]:
        """For each of ``ids`` that is stored: its record (the canonical JSON of its entry)."""

    def count_units(self, ids: Sequence[str]) -> dict[str, str | None]:
        """For each of ``ids`` that is stored: its record's ``count_unit`` (None: none)."""

    def coded_event_ids(self, ids: Sequence[str]) -> set[str]:
        """Those of ``ids`` stored as a dataset's coded event (``count_unit`` "event")."""

    def observations(
        self,
        kinds: Sequence[str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        source_id: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Observation]:
        """Observations in (time, id) order, optionally filtered by kind and [start, end)."""

    def observation_texts(self, start: datetime, end: datetime
                          ) -> list[tuple[str, str, str, str]]:
        """(kind, time column, source id, record text) of each observation in ``[start,
        end)``, in (time, id) order, unvalidated: a reader that holds some kinds as values (a
        report's fire reports). The time column is the UTC time, fixed width, microseconds
        and a "Z" (``2025-03-27T16:30:00.000000Z``)."""

    def observation_pages(self, size: int = 20_000, upto: int | None = None,
                          start: datetime | None = None, kind: str | None = None
                          ) -> Iterator[list[Observation]]:
        """Every observation in (time, id) order, ``size`` at a time (what a check reads);
        with ``upto``, only the first ``upto`` stored (the log's first ``upto``
        observation entries, whatever is ingested while the pages are read); with
        ``start``, ``kind``: only those at or after it, of that kind."""

    def record_pages(self, size: int = 20_000, upto: int | None = None,
                     start: datetime | None = None, kind: str | None = None
                     ) -> Iterator[list[tuple[str, str, str]]]:
        """:meth:`observation_pages` as stored, unvalidated: each one's (id, kind, record
        text), for a reader that makes columns of them (a check's fire reports)."""

    def observations_after(self, after: int, upto: int) -> list[Observation]:
        """The observations stored after the first ``after`` and among the first ``upto``
        (what a check that read ``after`` has not read), in the order stored."""

    def changes_after(self, after: int, upto: int) -> tuple[str | None, list[str]]:
        """Of the observations stored after the first ``after`` and among the first
        ``upto``: the earliest fire report's stored time text (fixed-width UTC with
        microseconds and ``Z``; None: none is a fire report) and the ids of the versions
        those that replace one name, in the order stored."""

    def observations_reaching(self, kinds: Sequence[str], start: datetime, end: datetime
                              ) -> list[Observation]:
        """Observations of ``kinds`` whose window ``[time, end_time)`` reaches into
        ``[start, end)`` (without an ``end_time``: every one that began before ``end``), in
        (time, id) order: the monitoring a period's coverage is built from."""

    def count_observations(self, after: int = 0) -> int:
        """How many observations are stored, or (``after``) stored after the first ``after``
        (an index range: what a check that read ``after`` has not read)."""

    def replace_incidents(self, incidents: Sequence[Incident],
                          entries: Sequence[tuple[str, bytes]] = (),
                          records: Sequence[str] | None = None) -> None:
        """Replace the incidents; append the (type, bytes) entries that commit to them.
        ``records``: each incident's record as the row keeps it (its canonical JSON text),
        when the caller has encoded them already."""

    def add_incidents(self, incidents: Sequence[Incident],
                      records: Sequence[str] | None = None) -> None:
        """Store more incidents beside those stored (a check writes its set in parts, inside
        one :meth:`atomic`); ``records`` as for :meth:`replace_incidents`."""

    def drop_incidents(self, ids: Sequence[str]) -> None:
        """Delete the stored incidents of ``ids`` (a check replacing the days it fused)."""

    def incident_text_pages(self, size: int = 10_000) -> Iterator[list[tuple[str, str]]]:
        """(id, record text) of every stored incident in id order, ``size`` at a time."""

    def fusion_days(self) -> dict[int, bytes]:
        """Every kept day's fusion state (:mod:`truceline.core.fusion.day_state`), by day."""

    def day_reports(self) -> dict[int, bytes | None]:
        """Every kept day's reports (:mod:`truceline.services.day_reports`; None: kept
        without them), by day."""

    def put_fusion_days(self, start: int | None, states: Sequence[tuple[int, bytes]],
                        reports: Mapping[int, bytes] | None = None) -> None:
        """Drop the kept states of the days from ``start`` on (None: every day) and keep
        ``states`` (day, encoded state), each with its day's ``reports`` (if given)."""

    def incident_records(self, start: datetime | None = None, end: datetime | None = None
                         ) -> list[dict[str, Any]]:
        """The stored incidents' records in (time, id) order; with ``start``/``end`` only those
        whose time is in ``[start, end)`` (what one reporting period reports)."""

    def incident_fields(self, start: datetime, end: datetime, fields: Sequence[str]
                        ) -> list[dict[str, Any]]:
        """Of each record :meth:`incident_records` gives for ``[start, end)``, in its order,
        the keys among ``fields`` and their values, without reading the rest."""

    def replace_findings(
        self, findings: Sequence[Finding], entries: Sequence[tuple[str, bytes]],
        records: Sequence[str] | None = None,
    ) -> None:
        """Replace the current findings; append the (type, bytes) entries of what changed.
        ``records``: as for :meth:`replace_incidents`."""

    def put_findings(
        self, findings: Sequence[Finding], entries: Sequence[tuple[str, bytes]],
        records: Sequence[str] | None = None,
    ) -> None:
        """Store these findings in place of any stored under their ids, and append the
        entries of what changed (a check writes its findings in parts, inside one
        :meth:`atomic`)."""

    def drop_findings(self, ids: Sequence[str]) -> None:
        """Delete the stored findings of ``ids``."""

    def finding_texts(self, ids: Sequence[str]) -> dict[str, str]:
        """The stored record text of each of ``ids`` that is stored."""

    def finding_ids(self) -> set[str]:
        """The ids of every stored finding."""

    def findings(self, start: datetime | None = None, end: datetime | None = None
                 ) -> list[Finding]:
        """The stored findings (by provision, time, party, id); with ``start``/``end`` only
        those whose time is in ``[start, end)``."""

    def append_entries(self, entries: Sequence[tuple[str, bytes]]) -> list[int]: ...

    def entries(self, start: int = 0, end: int | None = None) -> Iterator[Entry]: ...

    def last_entry(self, entry_type: str) -> Entry | None:
        """The latest entry of a type (the incident set a check last recorded)."""

    def entry_count(self) -> int: ...

    def openings(self, start: int = 0, end: int | None = None
                 ) -> dict[int, dict[str, tuple[bytes, Any]]]:
        """The openings (salt, value) of the committed fields of entries ``[start, end)``, by
        index and field: every entry is appended in committed form (docs/record.md)."""

    def preset_openings(self, items: Sequence[tuple[bytes, bytes,
                                                    Mapping[str, tuple[bytes, Any]]]]) -> None:
        """Entries appended from now on as ``full`` bytes are stored as ``committed`` with these
        openings (a mirror rebuilt from a log keeps the log's salts)."""

    def get_node(self, level: int, index: int) -> bytes: ...

    def tree_root(self) -> tuple[int, bytes]: ...

    def add_checkpoint(self, size: int, note: bytes) -> None: ...

    def checkpoints(self) -> list[StoredCheckpoint]: ...

    def add_cosignature(self, size: int, witness: str, signature: str) -> None: ...

    def cosignatures(self, size: int) -> list[tuple[str, str]]: ...

    def register_key(
        self, key_id: str, owner: str, role: str, public_key: bytes, entry: bytes
    ) -> bool: ...

    def revoke_key(self, key_id: str, entry: bytes) -> None: ...

    def keys(self, owner: str | None = None) -> list[dict[str, Any]]: ...

    def add_dispute(
        self, dispute_id: str, finding_id: str, party: str, record: dict[str, Any], entry: bytes
    ) -> None: ...

    def disputes(self, party: str | None = None) -> list[dict[str, Any]]: ...

    def dispute(self, dispute_id: str) -> dict[str, Any]:
        """One dispute's state; NotFoundError (field ``dispute_id``) if there is none."""

    def update_dispute(self, dispute_id: str, old: dict[str, Any], new: dict[str, Any],
                       entry: bytes) -> None:
        """Replace state ``old`` by ``new`` and append the transition's entry in one
        transaction; ConflictError (field ``status``) if the state is no longer ``old``."""

    def add_api_key(self, token_hash: str, name: str, role: str, party: str | None,
                    entry: bytes) -> None:
        """Store a key with its ``api_key`` entry in one transaction; ConflictError (field
        ``name``) if an unrevoked key has this name."""

    def api_key(self, token_hash: str) -> dict[str, Any] | None: ...

    def revoke_api_key(self, name: str, every: bool,
                       entry_for: Callable[[dict[str, Any]], bytes]) -> int:
        """Revoke the one unrevoked key with this name (or, with ``every``, all of them, for
        names shared before names were unique), appending ``entry_for(row)`` for each in the
        same transaction; how many were revoked."""

    def table_rows(self, table: str) -> list[dict[str, Any]]:
        """Every row of a table, each column by name: what ``record verify`` compares."""

    def derived_columns(self, table: str, record: dict[str, Any]) -> dict[str, Any]:
        """The columns the store keeps beside a row's record, as it would write them."""

    def derived(self, key: str) -> tuple[str, bytes] | None:
        """The (sha256, data) kept under ``key`` in the derived cache, or None."""

    def derived_rows(self) -> list[tuple[str, str, bytes]]:
        """Every (key, sha256, data) of the derived cache (what ``record verify`` checks)."""

    def set_derived(self, key: str, sha256: str, data: bytes) -> None:
        """Keep ``data`` under ``key``, replacing whatever the cache held."""

    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...

    def delete_meta(self, key: str) -> None:
        """Remove meta ``key`` (a secret that must not stay in the store)."""

    def add_to_meta_set(self, key: str, member: str,
                        entries: Sequence[tuple[str, bytes]]) -> bool:
        """Add ``member`` to the JSON list under meta ``key`` and append ``entries`` in one
        transaction; False (nothing written) if it was there already."""

    def observation(self, obs_id: str) -> Observation: ...

    def atomic(self) -> AbstractContextManager[None]:
        """One write transaction around everything inside (the writes' own transactions join
        it): all of it is stored, or on an error none of it. A file ingested in raise mode
        runs in one, so a bad row late in a large file leaves the store as it was."""
        ...

    def close(self) -> None: ...
