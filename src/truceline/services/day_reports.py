"""What the rules read of each day's fire reports, kept beside the day's fusion state, so
that an incremental check reads the store only from the days new reports touch.

The rules read every counted fire report's :class:`~truceline.core.counting.ReportFacts` and
time (and the latest time any speaks for), though only the days fused again need the reports
themselves. So a check keeps, per day, each counted fire report's id, time, latest time and
facts, and the ids of the day's fire reports it did not count (copies, replaced versions),
in ``fusion_days.reports`` (:class:`DayReports`). The next check reads of the observations
that arrived since their earliest fire time and the versions they replace
(:meth:`~truceline.services.ports.Store.changes_after`), finds the first day they touch
(:func:`first_touched`), and reads fire reports from there
(:func:`window_input`): the earlier days' facts come from what was kept. What is counted is
what a read of the whole store counts: copies join within a second and replaced versions
are named by id, so a report ingested later changes what is counted within a second of it
or of the version it replaces, and the ids not counted before stay not counted (a copy's
group only grows, its smallest id standing for it; an edit stays an edit); those kept are
dropped from the days read again too. A version may be stored after the edit that replaces
it (an importer's pages, a relay), and the edit's time be days before the version's: so the
ids of each day's fire edits are kept too, and read again by id with the window. Encoded as
an ``.npz`` of plain arrays (no pickles).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import chain

import numpy as np
from numpy.typing import NDArray

from truceline.core.counting import ReportFacts
from truceline.core.fusion.day_state import day_of_us, day_start_us
from truceline.core.fusion.days import UTC_DAYS, Days
from truceline.core.observations import from_micros, micros
from truceline.core.taxonomy import CountUnit, Kind
from truceline.services.check_read import CheckInput, check_input, read_by_id
from truceline.services.fire_columns import objects_page, texts_page
from truceline.services.ports import Store

__all__ = ["UNREADABLE", "DayReports", "decode_all", "first_fused", "first_touched",
           "split_days", "window_input"]

I64 = NDArray[np.int64]

#: What reading a kept ``.npz`` raises when it is damaged or of an older encoding (an array
#: it lacks: ``KeyError``): a cache, so the check then derives without it, never fails.
UNREADABLE = (KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile)


@dataclass(frozen=True, eq=False)
class DayReports:
    """One day's counted fire reports as the rules read them, and the ids not counted.

    A kept day's ids and facts are decoded when first read (:meth:`from_bytes`): one more
    day's check reads only the times, the ids not counted and the edits of the days before
    its window (the facts only where every incident is judged), and the month's ids were
    most of the decoding (~0.1 s of its CPU on the 907k month; BENCHMARKS.md session 27)."""

    time_us: I64
    latest_us: I64
    dropped: tuple[str, ...]
    #: the day's fire reports that name a version they replace (counted or not)
    edits: tuple[str, ...]
    #: (ids, facts) of the counted reports, as ``time_us``' rows, or what decodes them
    named: tuple[NDArray[np.str_], list[ReportFacts]] | Callable[
        [], tuple[NDArray[np.str_], list[ReportFacts]]]

    @classmethod
    def of(cls, ids: NDArray[np.str_], time_us: I64, latest_us: I64, facts: list[ReportFacts],
           dropped: tuple[str, ...], edits: tuple[str, ...] = ()) -> DayReports:
        return cls(time_us, latest_us, dropped, edits, (ids, facts))

    def _named(self) -> tuple[NDArray[np.str_], list[ReportFacts]]:
        if callable(self.named):
            object.__setattr__(self, "named", self.named())  # decoded once
        assert not callable(self.named)
        return self.named

    @property
    def ids(self) -> NDArray[np.str_]:
        return self._named()[0]

    @property
    def facts(self) -> list[ReportFacts]:
        return self._named()[1]

    def to_bytes(self) -> bytes:
        table: dict[ReportFacts, int] = {}
        index = np.fromiter((table.setdefault(f, len(table)) for f in self.facts), np.int64,
                            len(self.facts))
        rows = [[f.unit.value, f.source, f.precision, f.uncertainty_m] for f in table]
        out = io.BytesIO()
        np.savez_compressed(out, ids=np.asarray(self.ids, str), time_us=self.time_us,
                            latest_us=self.latest_us, facts=index,
                            table=np.asarray([json.dumps(rows)], str),
                            dropped=np.asarray(self.dropped, str),
                            edits=np.asarray(self.edits, str))
        return out.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> DayReports:
        z = np.load(io.BytesIO(data), allow_pickle=False)
        if not {"ids", "facts", "table"} <= set(z.files):  # an older encoding: UNREADABLE
            raise KeyError("ids")

        def named() -> tuple[NDArray[np.str_], list[ReportFacts]]:
            rows = json.loads(str(z["table"][0]))
            table = [ReportFacts(CountUnit(u), s, p, c) for u, s, p, c in rows]
            return z["ids"], [table[k] for k in z["facts"].tolist()]

        return cls(z["time_us"], z["latest_us"], tuple(str(i) for i in z["dropped"]),
                   tuple(str(i) for i in z["edits"]), named)


def split_days(inp: CheckInput, days: Iterable[int], clock: Days = UTC_DAYS) -> dict[int, bytes]:
    """Each of ``days``' (of ``clock``) :class:`DayReports` (encoded) from a check's read
    input (its fire columns still held: before the rules take them)."""
    ids = inp.fire["id"]
    time_us = np.asarray(inp.fire["time_us"], np.int64)
    day = day_of_us(time_us, clock)
    gone, edits = _by_day(inp.dropped_us, clock), _by_day(inp.edits_us, clock)
    out = {}
    for d in days:
        rows = np.flatnonzero(day == d)
        out[d] = DayReports.of(np.asarray(ids[rows], str), time_us[rows], inp.latest_us[rows],
                               [inp.reported.facts[str(ids[k])] for k in rows.tolist()],
                               tuple(sorted(gone.get(d, []))),
                               tuple(sorted(edits.get(d, [])))).to_bytes()
    return out


def _by_day(times_us: Mapping[str, int], clock: Days) -> dict[int, list[str]]:
    """The ids of ``times_us`` by day of ``clock``."""
    ids = list(times_us)
    out: dict[int, list[str]] = {}
    days = day_of_us(np.fromiter(times_us.values(), np.int64, len(ids)), clock)
    for i, d in zip(ids, days.tolist(), strict=True):
        out.setdefault(int(d), []).append(i)
    return out


def first_touched(store: Store, after: int, upto: int, halo_s: float, page: int = 20_000
                  ) -> int | None:
    """The earliest time (microseconds from the Unix epoch) whose counted fire reports the
    observations stored after the first ``after`` (among the first ``upto``) may change: a
    fire report's time less ``halo_s`` (the reach of a copy's group), or that of the version
    any of them replaces (None: they change none); :func:`first_fused` gives the first day
    that may then be fused again. Read by SQL ``page`` at a time (the earliest fire time
    and the versions named: :meth:`~truceline.services.ports.Store.changes_after`), no
    record parsed: what arrived since the last check may be a month's import (made objects,
    ~2.7 KB a report: check_read; parsed, a day's 23k reports took ~0.3 s of one more day's
    check on the 907k month, BENCHMARKS.md session 23)."""
    times: list[int] = []
    for at in range(after, upto, page):
        first, named = store.changes_after(at, min(at + page, upto))
        if first is not None:
            times.append(micros(datetime.fromisoformat(first)))
        times += [micros(o.time) for o in read_by_id(store, named) if o.kind is Kind.FIRE]
    if not times:
        return None
    return min(times) - int(halo_s * 1e6)


def first_fused(touched_us: int, halo_s: float, clock: Days = UTC_DAYS) -> int:
    """The first day a check may fuse again when counted reports change from
    ``touched_us`` on (:func:`first_touched`), by the incremental check's rule
    (:mod:`~truceline.services.check_days`): a change in a day's first
    ``halo_s`` fuses again from the day before it, a later one from its own. So
    ``touched_us``'s day, unless ``touched_us`` is in its day's first ``halo_s`` (then the
    day before): the window read one day shorter, where a change starts after a day's
    first hour (a day ingested from 22:00 UTC, as the simulated ones)."""
    day = int(day_of_us(np.asarray([touched_us], np.int64), clock)[0])
    head = touched_us - int(day_start_us(day, clock)) < int(halo_s * 1e6)
    return day - 1 if head else day


def window_input(store: Store, upto: int, first: int, halo_s: float,
                 kept: Mapping[int, DayReports], clock: Days = UTC_DAYS, page: int = 20_000
                 ) -> CheckInput:
    """:func:`~truceline.services.check_read.store_input` of the first ``upto`` stored, reading
    fire reports only from two ``halo_s`` before day ``first`` (the halo fusion reads, and
    as much again where copies of the reports before it are found): the reports before
    that as ``kept`` (every kept day's, with the ids they did not count; their facts only
    in ``kept_facts``: :meth:`~.check_read.CheckInput.read_kept_facts`), the other kinds
    read whole (a few per cent of the rows)."""
    start_us = int(day_start_us(first, clock)) - int(2 * halo_s * 1e6)
    others = sorted((o for k in Kind if k is not Kind.FIRE
                     for p in store.record_pages(page, upto=upto, kind=k.value)
                     for o in texts_page(p).others), key=lambda o: (micros(o.time), o.id))
    fire = map(texts_page, store.record_pages(page, upto=upto, start=from_micros(start_us),
                                              kind=Kind.FIRE.value))
    dropped = {i for r in kept.values() for i in r.dropped}
    edits = {i for r in kept.values() for i in r.edits}
    inp = check_input(chain([objects_page(others)], fire), lambda ids: read_by_id(store, ids),
                      dropped, edits)
    inp.read = upto
    # the kept days' reports before the window, as if read with it (their facts when asked)
    before = [(r, np.flatnonzero(r.time_us < start_us)) for r in kept.values()]
    times = np.concatenate([*(r.time_us[k] for r, k in before), inp.reported.times_us])
    lasts = [int(r.latest_us[k].max()) for r, k in before if len(k)]
    top = inp.reported.latest
    if lasts and (top is None or micros(top) < max(lasts)):
        top = from_micros(max(lasts))
    inp.reported = type(inp.reported)(inp.reported.facts, times, top)
    inp.first_us = start_us

    def kept_facts() -> Iterator[tuple[str, ReportFacts]]:
        for r, rows in before:
            ids = r.ids[rows].tolist()
            yield from zip(ids, [r.facts[k] for k in rows.tolist()], strict=True)

    inp.kept_facts = kept_facts if before else None
    return inp


def decode_all(blobs: Mapping[int, bytes | None]) -> dict[int, DayReports] | None:
    """The kept days' reports (None: a day kept without them, or as this code cannot read:
    the check then reads the whole store)."""
    if any(b is None for b in blobs.values()):
        return None
    try:
        return {d: DayReports.from_bytes(b) for d, b in blobs.items() if b is not None}
    except UNREADABLE:
        return None
