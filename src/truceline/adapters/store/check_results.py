"""The ``incidents`` and ``findings`` tables of a SQL store: what the last check derived, and
the reads of one reporting period, so that a report reads what it reports instead of fusing
the whole store again.

Both tables are replaced whole by a check, with the entries that commit to them, in one
transaction. Their ``time`` is the RFC 3339 text the check wrote (UTC ``Z`` from fusion; any
offset from elsewhere), so a window is read in two steps: a text range widened by a day (no
UTC offset reaches a day) that the database can narrow, then the exact test on parsed times.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any

from truceline.adapters.store.schema import json_text, record_fields, record_value, time_text
from truceline.core.findings import Finding
from truceline.core.incidents import Incident
from truceline.core.observations import in_utc

#: More than any UTC offset: a stored time in another offset still falls in the text range.
_TEXT_MARGIN = timedelta(days=1)


def _window(start: datetime | None, end: datetime | None) -> tuple[str, list[str]]:
    """A ``WHERE`` on the ``time`` text that keeps every row of ``[start, end)`` (and some
    around it: :func:`_inside` decides)."""
    where, args = [], []
    # A bound within the margin of the calendar's ends (a report of 0001-01-02 or 9999-12-31)
    # leaves that side open: :func:`_inside` still keeps exactly ``[start, end)``.
    if start is not None and start.replace(tzinfo=None) - datetime.min > _TEXT_MARGIN:
        where.append("time >= ?")
        args.append(time_text(start - _TEXT_MARGIN))
    if end is not None and datetime.max - end.replace(tzinfo=None) > _TEXT_MARGIN:
        where.append("time < ?")
        args.append(time_text(end + _TEXT_MARGIN))
    return (" WHERE " + " AND ".join(where) if where else ""), args


def _narrow(start: datetime | None, end: datetime | None) -> list[str] | None:
    """Text bounds holding every time of ``[start, end)`` stored as UTC to the second
    (``..._utc_text``): a second wider on each side, since the text orders such times by
    their first 19 characters, the second, and within a second by the fraction's spelling
    ("...:59Z" after "...:59.5Z"). None where a bound is open or not in the years 1000-9999
    (the fixed-width text)."""
    if start is None or end is None:
        return None
    try:
        lo, hi = in_utc(start) - timedelta(seconds=1), in_utc(end) + timedelta(seconds=1)
    except OverflowError:
        return None
    if lo.year < 1000 or hi < lo:
        return None
    return [time_text(lo), time_text(hi)]


def _utc(t: datetime | None) -> datetime | None:
    """A bound in UTC, the stored times' zone (:func:`~truceline.core.observations.in_utc`)."""
    return None if t is None else in_utc(t)


def _inside(t: str | None, start: datetime | None, end: datetime | None) -> bool:
    """Is the stored time ``t`` in ``[start, end)`` (no bound: always; a bound and no time:
    never)?"""
    if start is None and end is None:
        return True
    if t is None:
        return False
    when = datetime.fromisoformat(t)
    return (start is None or when >= start) and (end is None or when < end)


class CheckResultTables:
    """The incident and finding methods of :class:`~truceline.adapters.store.sql.SQLStore`."""

    _tx: Callable[[], AbstractContextManager[None]]
    _all: Callable[..., list[Any]]
    _execute: Callable[..., Any]
    _executemany: Callable[[str, Sequence[Sequence[Any]]], None]
    _append: Callable[[Sequence[tuple[str, bytes]]], list[int]]
    _json_text: Callable[[str, str], str]
    _blob: Callable[[bytes], Any]
    _in: Callable[[int], str]

    _utc_text: Callable[[str], str]

    def _period_rows(self, table: str, start: datetime | None, end: datetime | None,
                     order: str = " ORDER BY time, id") -> list[tuple[str, str]]:
        """(record, time) of the rows of ``table`` whose time is in ``[start, end)``, in
        (time, id) order (or ``order``). The text range of :func:`_window` is three days
        wide for one day (a time stored in another offset); where every time in it is stored
        as UTC (``_utc_text``: what a check writes), the range read is :func:`_narrow`'s, a
        second wider than the period: the same rows in the same order, a third of the records
        read (the test looks at the index's times only)."""
        where, args = _window(start, end)
        narrow = _narrow(start, end)
        if narrow is not None and not self._all(
                f"SELECT 1 FROM {table}{where or ' WHERE 1 = 1'} AND NOT "
                f"{self._utc_text('time')} LIMIT 1", args):
            where, args = " WHERE time >= ? AND time < ?", narrow
        rows = self._all(f"SELECT record, time FROM {table}{where}{order}", args)
        lo, hi = _utc(start), _utc(end)
        return [(r[0], r[1]) for r in rows if _inside(r[1], lo, hi)]

    def replace_incidents(self, incidents: Sequence[Incident],
                          entries: Sequence[tuple[str, bytes]] = (),
                          records: Sequence[str] | None = None) -> None:
        with self._tx():
            self._execute("DELETE FROM incidents")
            self.add_incidents(incidents, records)
            self._append(list(entries))

    def add_incidents(self, incidents: Sequence[Incident],
                      records: Sequence[str] | None = None) -> None:
        """Store more incidents (a check writes its set in parts, in one transaction)."""
        if records is None:
            records = [json_text(i.to_record()) for i in incidents]
        rows = []
        for i, text in zip(incidents, records, strict=True):
            loc = i.origin or i.impact or i.location
            rows.append((i.id, i.time, loc.lon if loc else None, loc.lat if loc else None,
                         text))
        if rows:
            with self._tx():
                self._executemany(
                    "INSERT INTO incidents(id, time, lon, lat, record) VALUES (?,?,?,?,?)", rows
                )

    def drop_incidents(self, ids: Sequence[str]) -> None:
        """Delete the stored incidents of ``ids`` (a check replacing the days it fused)."""
        with self._tx():
            for k in range(0, len(ids), 500):
                part = list(ids[k : k + 500])
                self._execute(f"DELETE FROM incidents WHERE id IN ({self._in(len(part))})",
                              part)

    def changes_after(self, after: int, upto: int) -> tuple[str | None, list[str]]:
        """Of the observations stored after the first ``after`` and among the first
        ``upto``: the earliest fire report's ``time`` column (None: no fire report) and the
        ids those that replace a version name, read by SQL (no record parsed: they were
        validated when stored)."""
        args = (int(after), int(upto))
        ((first,),) = self._all("SELECT min(time) FROM observations WHERE seq > ? AND "
                                "seq <= ? AND kind = 'fire'", args)
        named = self._json_text("record", "supersedes")
        rows = self._all(f"SELECT {named} FROM observations WHERE seq > ? AND seq <= ? AND "
                         f"{named} IS NOT NULL ORDER BY seq", args)
        return (None if first is None else str(first)), [str(r[0]) for r in rows]

    def incident_text_pages(self, size: int = 10_000) -> Iterator[list[tuple[str, str]]]:
        """(id, record text) of every stored incident in id order, ``size`` at a time."""
        after = None
        while True:
            where, args = ("", ()) if after is None else (" WHERE id > ?", (after,))
            rows = self._all(f"SELECT id, record FROM incidents{where} ORDER BY id "
                             f"LIMIT {int(size)}", args)
            if not rows:
                return
            after = rows[-1][0]
            yield rows  # (TEXT, TEXT) rows: str already (a month's 171k not copied, 0.1 s)

    def fusion_days(self) -> dict[int, bytes]:
        """Every kept day's fusion state, by day."""
        return {int(d): bytes(b) for d, b in self._all("SELECT day, state FROM fusion_days")}

    def day_reports(self) -> dict[int, bytes | None]:
        """Every kept day's reports (None: kept without them), by day."""
        return {int(d): None if b is None else bytes(b)
                for d, b in self._all("SELECT day, reports FROM fusion_days")}

    def put_fusion_days(self, start: int | None, states: Sequence[tuple[int, bytes]],
                        reports: Mapping[int, bytes] | None = None) -> None:
        """Drop the kept states of the days from ``start`` on (None: every day) and keep
        ``states`` (day, encoded state), each with its day's ``reports`` (if given)."""
        have = reports or {}
        with self._tx():
            if start is None:
                self._execute("DELETE FROM fusion_days")
            else:
                self._execute("DELETE FROM fusion_days WHERE day >= ?", (int(start),))
            if states:
                self._executemany(
                    "INSERT INTO fusion_days(day, state, reports) VALUES (?,?,?)",
                    [(int(d), self._blob(b), None if d not in have else self._blob(have[d]))
                     for d, b in states])

    def incident_records(self, start: datetime | None = None, end: datetime | None = None
                         ) -> list[dict[str, Any]]:
        """The stored incidents' records in (time, id) order; with ``start``/``end`` only
        those whose time is in ``[start, end)``."""
        return [record_value(r[0]) for r in self._period_rows("incidents", start, end)]

    def incident_fields(self, start: datetime, end: datetime, fields: Sequence[str]
                        ) -> list[dict[str, Any]]:
        """Of each incident :meth:`incident_records` gives for ``[start, end)``, in the same
        order, the values of ``fields`` (a key its record lacks is left out): what those
        records hold under them, read without building the rest (a day's totals read five
        keys of ~11,000 records whose ellipses, covariances and details they never use)."""
        keys = tuple(fields)
        return [record_fields(r[0], keys) for r in self._period_rows("incidents", start, end)]

    def replace_findings(
        self, findings: Sequence[Finding], entries: Sequence[tuple[str, bytes]],
        records: Sequence[str] | None = None,
    ) -> None:
        with self._tx():
            self._execute("DELETE FROM findings")
            self._insert_findings(findings, records)
            self._append(list(entries))

    def put_findings(
        self, findings: Sequence[Finding], entries: Sequence[tuple[str, bytes]],
        records: Sequence[str] | None = None,
    ) -> None:
        """Store these findings in place of any stored under their ids, and append the
        entries of what changed (a check writes its findings in parts, in one transaction)."""
        with self._tx():
            self.drop_findings([f.id for f in findings])
            self._insert_findings(findings, records)
            self._append(list(entries))

    def drop_findings(self, ids: Sequence[str]) -> None:
        """Delete the stored findings of ``ids``."""
        with self._tx():
            for k in range(0, len(ids), 500):
                part = list(ids[k : k + 500])
                self._execute(f"DELETE FROM findings WHERE id IN ({self._in(len(part))})", part)

    def finding_texts(self, ids: Sequence[str]) -> dict[str, str]:
        """The stored record text of each of ``ids`` that is stored."""
        out: dict[str, str] = {}
        for k in range(0, len(ids), 500):
            part = list(ids[k : k + 500])
            out.update(self._all(
                f"SELECT id, record FROM findings WHERE id IN ({self._in(len(part))})", part))
        return out

    def finding_ids(self) -> set[str]:
        """The ids of every stored finding."""
        return {r[0] for r in self._all("SELECT id FROM findings")}

    def _insert_findings(self, findings: Sequence[Finding], records: Sequence[str] | None
                         ) -> None:
        if records is None:
            records = [json_text(f.to_record()) for f in findings]
        rows = [(f.id, f.provision_id, f.party, f.verdict.value, f.time, f.lon, f.lat, text)
                for f, text in zip(findings, records, strict=True)]
        if rows:
            self._executemany(
                "INSERT INTO findings(id, provision_id, party, verdict, time, lon, lat, "
                "record) VALUES (?,?,?,?,?,?,?,?)",
                rows,
            )

    def findings(self, start: datetime | None = None, end: datetime | None = None
                 ) -> list[Finding]:
        """The stored findings by provision, time, party and id; with ``start``/``end`` only
        those whose time is in ``[start, end)`` (a finding without a time is in no window)."""
        out = [Finding.from_record(record_value(r[0]))
               for r in self._period_rows("findings", start, end, order="")]
        out.sort(key=lambda f: (f.provision_id, f.time or "", f.party or "", f.id))
        return out

    def count_units(self, ids: Sequence[str]) -> dict[str, str | None]:
        """For each of ``ids`` that is stored: its record's ``count_unit`` (None where it has
        none), found by SQL without reading the records in Python."""
        unit = self._json_text("record", "count_unit")
        out: dict[str, str | None] = {}
        for k in range(0, len(ids), 500):
            part = list(ids[k : k + 500])
            out.update((r[0], r[1]) for r in self._all(
                f"SELECT id, {unit} FROM observations WHERE id IN ({self._in(len(part))})",
                part))
        return out

    def coded_event_ids(self, ids: Sequence[str]) -> set[str]:
        """Those of ``ids`` stored as a dataset's coded event (``count_unit`` "event"): the
        only reports that can change how an incident is counted (a day's totals,
        :func:`truceline.services.report.window_totals`), found by SQL without reading the
        others' records."""
        return {k for k, u in self.count_units(ids).items() if u == "event"}
