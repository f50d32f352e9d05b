"""The lookup of stored reports that a batch's observations can be copies of (issue 14).

Ingest links a resubmitted copy (a new id, the same content from the same source) to the
report its group is counted through, so before writing a batch it asks the store for the
stored reports near each new one: the same source, within the time tolerance
(:func:`truceline.core.resubmissions.candidate_windows`), and either within the latitude
band (parsed, to be compared) or linked already (their link only, which a new report with a
smaller id can change).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from truceline.adapters.store.schema import time_text
from truceline.core.observations import Observation
from truceline.core.resubmissions import CandidateWindow


class CopiesLookup:
    """The copies lookup of :class:`~truceline.adapters.store.sql.SQLStore`."""

    _one: Callable[[str, Sequence[Any]], Any]
    _all: Callable[[str, Sequence[Any]], list[Any]]

    def duplicate_candidates(self, windows: Sequence[CandidateWindow]
                             ) -> list[tuple[str, Observation | None, str | None]]:
        # A window that starts after its source's latest stored report finds nothing (the
        # query compares ``time >= start``), and a feed's reports come in time order: for a
        # source with several windows, its latest time is one index seek, and only the
        # windows it can reach are looked up (issue 21: the per-window join was a tenth of
        # the server's ingest work). A source's single window is looked up as it is.
        last: dict[str, datetime | None] = {}  # None: the source has no stored report
        for s, n in Counter(w.source_id for w in windows).items():
            if n > 1:
                text = self._one("SELECT MAX(time) FROM observations WHERE source_id = ?",
                                 (s,))[0]
                t = None if text is None else _instant(text)
                if text is None or t is not None:
                    last[s] = t
        windows = [w for w in windows if w.source_id not in last or (
            (t := last[w.source_id]) is not None and (w.start.tzinfo is None or w.start <= t))]
        # The bands are tested in SQL: a source that sends hundreds of reports a second
        # (a sensor) has only a few within a copy's latitude band, and parsing or even
        # fetching the others made a batch's cost grow with the store.
        near = ("((w.lo IS NULL AND o.lat IS NULL) OR (o.lat >= w.lo AND o.lat <= w.hi))")
        out: dict[str, tuple[str, Observation | None, str | None]] = {}
        cast = "CAST(? AS DOUBLE PRECISION)"
        for k in range(0, len(windows), 190):  # 5 parameters each: under SQLite's old 999
            part = windows[k : k + 190]
            values = ",".join([f"(?, ?, ?, {cast}, {cast})"] * len(part))
            args = [v for w in part for v in (w.source_id, time_text(w.start),
                                                time_text(w.end), w.lat_min, w.lat_max)]
            rows = self._all(
                f"WITH w(s, a, b, lo, hi) AS (VALUES {values}) SELECT o.id, "
                f"CASE WHEN {near} THEN o.record END, o.duplicate_of FROM w JOIN observations "
                "o ON o.source_id = w.s AND o.time >= w.a AND o.time <= w.b "
                f"WHERE o.duplicate_of IS NOT NULL OR {near}", args)
            for oid, rec, dup in rows:
                if rec is not None and (oid not in out or out[oid][1] is None):
                    out[oid] = (oid, Observation.model_validate_json(rec), dup)
                elif oid not in out:
                    out[oid] = (oid, None, dup)
        return list(out.values())

    def duplicate_links(self) -> dict[str, str]:
        """Every stored copy's id and the id of the report it is counted through."""
        return dict(self._all("SELECT id, duplicate_of FROM observations "
                              "WHERE duplicate_of IS NOT NULL ORDER BY id", ()))


def _instant(text: str) -> datetime | None:
    """A stored ``time`` (:func:`time_text`: fixed width, so its order is the text's) as an
    instant to compare windows with; None for a text that is not that form (then every
    window of its source is looked up)."""
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        return None
    return t if t.tzinfo is not None and time_text(t) == text else None
