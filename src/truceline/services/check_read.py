"""What a check derives from, read once: fire reports as columns, everything else as objects.

A month's store at sensor density holds ~900k fire reports; held as validated objects they
took ~2.7 KB each (2.4 GB for the month), though fusion reads them as columns and the rules
only need, of each, the unit it counts, the source to name and its precision
(:class:`~truceline.core.counting.ReportFacts`). So the check reads the store a page at a
time (:meth:`~truceline.services.ports.Store.record_pages`), turns each page's fire
reports' record texts into columns and facts (:mod:`.fire_columns`: no object per report),
and keeps objects only for the other kinds (monitoring, sightings, declarations...: a few
per cent of the rows).

What is counted is what :func:`~truceline.core.resubmissions.counted` counts of the whole
store: copies are found among the few fire reports that have another of their source within
the time tolerance (:func:`~truceline.core.resubmissions.possible_copies`), read again by id,
and edits among the reports that name a version they replace. The same function serves a list
of observations held in memory (a replay, a rebuilt mirror), so both derive from one input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence, Set
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from truceline.core.counting import ReportFacts
from truceline.core.evidence import Reported
from truceline.core.fusion import join_columns
from truceline.core.observations import Observation, from_micros, stored_observation
from truceline.core.resubmissions import duplicates, possible_copies, superseded
from truceline.services.fire_columns import PageRead, objects_page, texts_page
from truceline.services.ports import Store

#: Reads observations by id: those of the ids that exist, in the order asked.
Fetch = Callable[[Sequence[str]], list[Observation]]



@dataclass
class CheckInput:
    """The counted observations a check derives from."""

    #: Counted observations of every kind but fire, as read.
    others: list[Observation]
    #: Counted fire reports as columns (:func:`~truceline.core.fusion.report_columns`).
    fire: dict[str, NDArray[Any]]
    #: What the rules read of each counted fire report.
    reported: Reported
    #: Observations read, copies and replaced versions included.
    read: int
    fetch: Fetch
    #: Each counted fire report's latest time (its end time, if later), as ``fire``'s rows.
    latest_us: NDArray[np.int64] = field(default_factory=lambda: np.empty(0, np.int64))
    #: The fire reports read and not counted, with their times (microseconds).
    dropped_us: dict[str, int] = field(default_factory=dict)
    #: Fire reports were read from this time on (None: all; :mod:`.day_reports`).
    first_us: int | None = None
    #: The fire reports read that name a version they replace (edits), with their times.
    edits_us: dict[str, int] = field(default_factory=dict)
    #: The facts of the counted fire reports before ``first_us`` (the kept days'), not yet in
    #: ``reported.facts``: rules that judge only the days fused again never read them (~3 %
    #: of one more day's CPU on the 907k month, profiled; :meth:`read_kept_facts`). None: none.
    kept_facts: Callable[[], Iterable[tuple[str, ReportFacts]]] | None = None

    def read_kept_facts(self) -> None:
        """Put :attr:`kept_facts` in ``reported.facts`` (rules that judge every incident)."""
        if self.kept_facts is not None:
            self.reported.facts.update(self.kept_facts())
            self.kept_facts = None

    def fire_reports(self, rows: Sequence[int]) -> list[Observation]:
        """The counted fire reports of columns' rows ``rows``, read again, in that order."""
        ids = [str(i) for i in self.fire["id"][np.asarray(rows, np.int64)]]
        got = {o.id: o for o in self.fetch(ids)}
        return [got[i] for i in ids]

    @property
    def as_of(self) -> datetime | None:
        """The latest time (or end time) any counted observation speaks for."""
        times = [o.time for o in self.others] + [o.end_time for o in self.others if o.end_time]
        if self.reported.latest is not None:
            times.append(self.reported.latest)
        return max(times) if times else None


def check_input(pages: Iterable[PageRead], fetch: Fetch,
                not_counted: Set[str] = frozenset(), edits_before: Set[str] = frozenset()
                ) -> CheckInput:
    """Read ``pages`` (:func:`.texts_page` of stored records, :func:`.objects_page`) once
    into a :class:`CheckInput` (see the module).
    ``not_counted``: ids known not to be counted (a kept day's: :mod:`.day_reports`);
    ``edits_before``: fire edits not among the pages (a kept day's), read again by id, since
    a version they replace may be stored after them and be among the pages."""
    others: list[Observation] = []
    parts: list[dict[str, NDArray[Any]]] = []
    latest: list[NDArray[np.int64]] = []
    facts: dict[str, ReportFacts] = {}
    # One object for each distinct value a report shares with many others (a few hundred
    # sources, a few kinds of facts), not one per report: ~0.1 GB at 907k reports, and
    # fewer small objects left behind among the freed ones of each page.
    same: dict[Any, Any] = {}

    def one(v: Any) -> Any:
        return same.setdefault(v, v)

    edits: dict[str, int] = {}
    read = 0
    for page in pages:
        others += page.others
        read += page.read
        cols = page.fire
        cols["source_id"][:] = [one(s) for s in cols["source_id"]]
        parts.append(cols)
        latest.append(page.latest_us)
        facts.update(zip(cols["id"].tolist(), map(one, page.facts), strict=True))
        edits.update(page.edits)
        del page
    # the counted rows are taken in place below: the month's columns are held once at the
    # end of the read, not two or three times (~0.2 GB each at 907k reports)
    cols = join_columns(parts)
    del parts
    last = np.concatenate(latest) if latest else np.empty(0, np.int64)
    drop = _not_counted(others, cols, set(edits) | edits_before, fetch)
    if not_counted:
        drop |= set(cols["id"][np.isin(cols["id"], np.asarray(sorted(not_counted), object))]
                    .tolist())
    keep = ~np.isin(cols["id"], np.asarray(sorted(drop), object)) if drop else \
        np.ones(len(cols["id"]), bool)
    gone = dict(zip(cols["id"][~keep].tolist(),
                    np.asarray(cols["time_us"], np.int64)[~keep].tolist(), strict=True))
    for i in drop:
        facts.pop(i, None)
    if drop:
        for k in cols:
            cols[k] = cols[k][keep]
    last = last[keep]
    top = from_micros(int(last.max())) if len(last) else None
    return CheckInput(
        others=[o for o in others if o.id not in drop], fire=cols,
        reported=Reported(facts, np.asarray(cols["time_us"], np.int64), top),
        read=read, fetch=fetch, latest_us=last, dropped_us=gone, edits_us=edits)


def _not_counted(others: list[Observation], cols: dict[str, NDArray[Any]], edits: set[str],
                 fetch: Fetch) -> set[str]:
    """The ids :func:`~truceline.core.resubmissions.counted` leaves out of everything read:
    copies (among the other kinds and the fire reports that may be copies) and replaced
    versions (named by an edit of any kind)."""
    maybe = cols["id"][possible_copies(cols["source_id"], cols["time_us"])].tolist()
    have = {o.id for o in others}
    named = {o.supersedes for o in others if o.supersedes is not None}
    edited = fetch(sorted(edits))
    named |= {o.supersedes for o in edited if o.supersedes is not None}
    copies = fetch(maybe)
    versions = fetch(sorted(named - have))
    dup = duplicates([*others, *copies])
    sup = superseded([*others, *edited, *versions])
    return set(dup) | set(sup)


def store_input(store: Store, page: int = 20_000) -> CheckInput:
    """:func:`check_input` of the whole store as it stands when the read begins, a page at a
    time: the first ``n`` observations stored, ``n`` counted first, so that what is ingested
    while a check reads is left to the next check rather than half read (pages go in time
    order; the ingested report may fall behind or ahead of them). The check records ``n``
    in its incident entry; a replay judges the log's first ``n`` observation entries."""
    n = store.count_observations()
    return check_input(map(texts_page, store.record_pages(page, upto=n)),
                       lambda ids: read_by_id(store, ids))


def list_input(observations: Sequence[Observation]) -> CheckInput:
    """:func:`check_input` of observations held in memory, in their order."""
    by_id = {o.id: o for o in observations}
    return check_input([objects_page(observations)],
                       lambda ids: [by_id[i] for i in ids if i in by_id])


def read_by_id(store: Store, ids: Sequence[str]) -> list[Observation]:
    """The stored observations of ``ids``, in that order (absent ones left out), as stored
    (validated when appended: :func:`~truceline.core.observations.stored_observation`)."""
    recs = store.stored_records(list(ids))
    return [stored_observation(recs[i]) for i in ids if i in recs]
