"""The incremental check's fusion: only the days new reports touch are fused again.

With both per-day rules on (``calibration.daily`` and ``locate.stats_by_day``), a day's
incidents are a function of its counted fire reports, ``halo_s`` either side, and the days
before it's calibration samples and error statistics (docs/partitions.md). A check keeps
those per day (``fusion_days``: :class:`~truceline.core.fusion.day_state.DayState`) beside
the incidents, with the digests of each day's counted reports and the ids of the incidents
it owns (those whose first report falls in it). The next check compares the digests with
the counted reports it reads: the earliest day whose reports changed (the day before it,
when they changed in its first ``halo_s``, the day before's halo) is where fusion starts
again, and every later day is fused with it, since its statistics feed them all. The
incidents owned by those days are replaced; the others stay as stored. The result is the
one a check of every day gives (``tests/store/test_check_days.py``).

Fire reports are read only from the first day the observations stored since the last
check may fuse again (:func:`~truceline.services.day_reports.first_fused`); the days before
come from what the check kept of their reports (:mod:`~truceline.services.day_reports`; their
facts only where every incident is judged); the rules judge only the incidents of the days
fused again (:mod:`~truceline.services.check_rules`). What is not incremental yet: the read
of the other kinds (whole).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from truceline.core.fusion import FUSION_REVISION, FusionParams, FusionResult, fuse_columns
from truceline.core.fusion.batch import DAY_S
from truceline.core.fusion.calibration_days import Samples
from truceline.core.fusion.day_state import (
    DayState,
    day_of_us,
    day_start_us,
    prior_of,
    report_digests,
    states_of,
)
from truceline.core.fusion.day_stats import ErrorStats
from truceline.core.fusion.days import Days
from truceline.core.fusion.source_days import SourceDays
from truceline.core.incidents import Incident
from truceline.core.record.canonical import canonical_bytes
from truceline.services.check_read import CheckInput, store_input
from truceline.services.context import AgreementContext, doc_sha256
from truceline.services.day_reports import (
    UNREADABLE,
    decode_all,
    first_fused,
    first_touched,
    split_days,
    window_input,
)
from truceline.services.kept_digest import committed_kept, committed_set, stored_kept_digest
from truceline.services.memory import collecting, give_back
from truceline.services.ports import CHECKED_META, FUSION_DAYS_META, Store
from truceline.services.sources import SOURCES_META
from truceline.services.verify_rows import IncidentsDigest

__all__ = ["DaysFused", "days_input", "fuse_days", "per_day", "reporting_days", "write_days"]


def per_day(params: FusionParams | None) -> bool:
    """Whether fusion under ``params`` is a function of each day and the days before it:
    the error statistics per day, the calibration per day or off, and the wind per day
    (its periods are what a day keeps) or not estimated."""
    if params is None or not params.locate.stats_by_day:
        return False
    if params.locate.estimate_wind and params.locate.wind_period_s != DAY_S:
        return False
    return not params.calibration.enabled or params.calibration.daily


#: The encoding of what is kept (states and each day's reports), part of the fingerprint: a
#: store kept by an older one (states without the samples' ``applied`` or without the day's
#: contributions to the per-source report, rows without ``reports`` or without their edits)
#: fuses every day once and keeps them anew, rather than reading the whole store at every
#: check (a day is rewritten only when fused again). 4: states with their winds. 5: days are
#: the agreement's reporting periods (:func:`reporting_days`), not UTC days: a store kept by UTC
#: days fuses every day once and keeps them anew, never joining the two keys (the days are in
#: the parameters too, hence in the fingerprint). 6: samples with their ``partner`` (twin
#: samples, :mod:`~truceline.core.fusion.twin_samples`).
KEPT_FORMAT = 6


def reporting_days(params: FusionParams, ctx: AgreementContext) -> FusionParams:
    """``params`` with fusion's days the agreement's reporting periods (from its
    ``reporting_period_start``, 19:30 by default, to the next, in its ``timezone``: 23 or 25
    hours where the clocks change; :mod:`~truceline.core.fusion.days`). A mission reports by
    them, and a day of reports ingested midnight to midnight (local or UTC) then adds to one
    kept day's body and the next one's first hours: with UTC days, Kyiv's day began at 21:00
    or 22:00 UTC and the check fused two whole days again; with days from local midnight a
    day of reports from midnight reaches the kept day's first hour, whose change fuses the
    day before again too (its incidents read that hour). Every derivation (a check, a replay,
    a rebuilt mirror) fuses under it, so they agree."""
    at = ctx.agreement.reporting_period_start
    start = at.hour * 3600 + at.minute * 60 + at.second + at.microsecond * 1e-6
    return replace(params, days=Days(ctx.agreement.timezone, float(start)))


def fingerprint(params: FusionParams, ctx: AgreementContext) -> str:
    """What kept states were made under, besides the observations read: the encoding, the
    fusion code's revision, the parameters and the agreement fused under (its document, not
    the store's latest version, which an amendment moves while a check fuses under the
    version it read), its days the agreement's reporting periods (:func:`reporting_days`)."""
    params = reporting_days(params, ctx)
    return hashlib.sha256(
        f"{KEPT_FORMAT}|{FUSION_REVISION}|{params!r}|{doc_sha256(ctx.doc)}".encode()
    ).hexdigest()


@dataclass
class DaysFused:
    """What :func:`fuse_days` derived: every incident (kept and new, by id) and what to
    write."""

    incidents: list[Incident]
    new: list[Incident]
    dropped: list[str]
    #: the first day fused again (None: none)
    start: int | None
    #: every stored incident and kept state replaced (none was kept, or made otherwise)
    every: bool
    states: list[DayState]
    sources: list[dict[str, Any]]
    #: days fused again (for a reader of the check's cost)
    fused_days: list[int] = field(default_factory=list)
    #: what the states were made under (:func:`fingerprint`)
    fingerprint: str = ""
    #: each state's day's reports (:class:`~truceline.services.day_reports.DayReports`)
    reports: dict[int, bytes] = field(default_factory=dict)
    #: ``new``'s encoded records, as ordered (None: encoded as written)
    texts: list[bytes] | None = None
    #: the stored set's count and digest once written (None: read back as written)
    counted: tuple[int, str] | None = None
    #: the ids of ``new``'s incidents stored before with the same text (fused again alike)
    same: set[str] = field(default_factory=set)
    #: the stored incidents read for the days kept are the set the last ``incident`` entry
    #: commits to (False: edited since; nothing derived here may be written)
    trusted: bool = True


def _kept(store: Store, made: str, checked: str | None
          ) -> tuple[dict[int, DayState], dict[int, bytes | None]]:
    """The kept states and each day's reports as stored, if they were made under ``made``
    (:func:`fingerprint`) by the check that read what meta ``checked_observations`` says,
    and are what the last ``incident`` entry commits to (:mod:`~truceline.services.kept_digest`:
    kept rows edited since are never trusted); else nothing (every day is fused again)."""
    said = store.get_meta(FUSION_DAYS_META)
    if said is None or checked is None:
        return {}, {}
    want = {"fingerprint": made, "observations": int(checked)}
    try:
        if json.loads(said) != want:
            return {}, {}
    except ValueError:  # not JSON (a damaged cache): every day is fused again
        return {}, {}
    raw, reports = store.fusion_days(), store.day_reports()
    committed = committed_kept(store)
    if committed is None or stored_kept_digest(store, reports, raw) != committed:
        return {}, {}
    try:
        return {d: DayState.from_bytes(b) for d, b in raw.items()}, reports
    except UNREADABLE:  # damaged, or kept by an older encoding: every day is fused again
        return {}, {}


def _first_changed(kept: dict[int, DayState], digests: dict[int, tuple[str, str]]
                   ) -> int | None:
    """The first day to fuse again (None: no day's counted reports changed).

    A day's incidents read more than its own reports: those of the next day's first
    ``halo_s`` (an event heard across midnight), and its estimates (its wind, read by its
    incidents' groups heard after midnight too, and by the next day's first
    :data:`~truceline.core.fusion.day_stats.LAG_S`: estimated from its groups up to then,
    within that halo). So a change in day ``e`` fuses again from ``e``, and a change in its
    first ``halo_s`` from ``e - 1`` (two days back before session 24, when an impact heard
    after midnight took the next day's wind, estimated from that whole day)."""
    out: list[int] = []
    for d in sorted(set(kept) | set(digests)):
        st, now = kept.get(d), digests.get(d, ("", ""))
        if st is None:  # a new day: the day before reads its first hour only if it holds any
            out.append(d if now[0] in _NO_REPORTS else d - 1)
        elif st.head != now[0]:
            out.append(d - 1)
        elif st.body != now[1]:
            out.append(d)
    return min(out) if out else None


#: A day's first hour without counted reports, as :func:`report_digests` and a day without
#: them give it: a new day whose first hour is empty changes nothing the day before reads
#: (:func:`~truceline.services.day_reports.first_fused` reads from its own day then: a report
#: moved by an edit to a day before the first kept one, past that day's first hour).
_NO_REPORTS = ("", hashlib.sha256().hexdigest())


def days_input(store: Store, ctx: AgreementContext, params: FusionParams
               ) -> tuple[CheckInput, dict[int, DayState]]:
    """What the check derives from: fire reports read only from the first day the
    observations stored since the last check may fuse again, where its states and each
    day's reports are kept (:mod:`~truceline.services.day_reports`); else the whole store.
    With the kept states read, for :func:`fuse_days` (read and decoded once)."""
    params = reporting_days(params, ctx)
    n = store.count_observations()
    checked = store.get_meta(CHECKED_META)
    states, raw = _kept(store, fingerprint(params, ctx), checked)
    reports = decode_all(raw) if states else None
    if not states or reports is None or checked is None or int(checked) > n:
        return store_input(store), states
    touched = first_touched(store, int(checked), n, params.halo_s)
    first = max(states) + 1 if touched is None else \
        min(first_fused(touched, params.halo_s, params.days), max(states) + 1)
    return window_input(store, n, first, params.halo_s, reports, params.days), states


def fuse_days(store: Store, ctx: AgreementContext, inp: CheckInput, params: FusionParams,
              encode: Callable[[Incident], bytes] = lambda i: canonical_bytes(i.to_record()),
              kept: dict[int, DayState] | None = None, parse: bool = True) -> DaysFused:
    """Fuse the days the counted reports of ``inp`` changed since the kept states (every
    day where none are kept or they were made otherwise) and read back the stored
    incidents of the others; ``encode``: an incident's record's canonical bytes (the
    stored set's digest is taken as they are read back, the new ones' among them); ``kept``:
    the kept states as :func:`days_input` read them (None: read here); ``parse``: the
    stored incidents made objects (False: only their digest is taken, the rules judging
    only the days fused again: ``DaysFused.incidents`` holds the new ones alone)."""
    assert ctx.geometry is not None, "the incremental check places reports by the agreement"
    params = reporting_days(params, ctx)  # its days, whatever ``params`` say
    made = fingerprint(params, ctx)
    if kept is None:
        kept = _kept(store, made, store.get_meta(CHECKED_META))[0]
    cols = inp.fire
    clock = params.days
    digests = report_digests(cols["id"], cols["time_us"], params.halo_s, clock)
    if inp.first_us is not None:  # a window read: the days before it as kept
        whole = int(day_of_us(np.asarray([inp.first_us], np.int64), clock)[0]) + 1
        digests = {d: v for d, v in digests.items() if d >= whole}
        digests.update({d: (st.head, st.body) for d, st in kept.items()
                        if d < whole and (st.head or st.body)})
    every = not kept
    start = min(digests) if every and digests else _first_changed(kept, digests)
    dropped = sorted({i for d, st in kept.items() if start is not None and d >= start
                      for i in st.incidents}) if not every else None
    if start is None:
        if every:
            return DaysFused([], [], [], None, every, [], [], fingerprint=made)
        stored, counted, as_stored = _stored_incidents(store, set(), [], parse)
        return DaysFused(stored, [], [], None, every, [], _kept_sources(store),
                         fingerprint=made, counted=counted,
                         trusted=as_stored == committed_set(store))
    prior, errors = prior_of(list(kept.values()), start, min(digests, default=start))
    since = day_start_us(start, clock) - int(params.halo_s * 1e6)
    assert inp.first_us is None or since > inp.first_us, "fusion reads before the window"
    rows = np.flatnonzero(np.asarray(cols["time_us"], np.int64) >= since)
    # every row (a full check): the columns themselves, not a copy of them held beside them
    # through fusion (~0.2 GB at 907k reports, at the check's peak); given up to fusion,
    # which lets go of those the batch is made from: the input keeps what is read of it
    # after fusion (ids and times: the reports read again, the days' reports)
    sub = dict(cols) if len(rows) == len(cols["id"]) else {k: v[rows] for k, v in cols.items()}
    inp.fire = cols = {k: cols[k] for k in ("id", "time_us")}
    got: dict[str, tuple[tuple[Samples, ...], ErrorStats, SourceDays | None]] = {}

    def keep(res: FusionResult) -> None:
        got["res"] = (res.day_samples, res.errors, res.day_sources)

    with collecting():
        new, sources = fuse_columns(
            sub, ctx.geometry, [p.id for p in ctx.agreement.parties],
            lambda r: inp.fire_reports(rows[np.asarray(r, np.int64)].tolist()), params=params,
            fused=give_back, settle=give_back, prior_samples=prior, prior_errors=errors,
            kept=keep, given=True)
    when = dict(zip(sub["id"].tolist(), np.asarray(sub["time_us"], np.int64).tolist(),
                    strict=True))
    owner = day_of_us(np.asarray([min(when[e] for e in i.evidence) for i in new], np.int64),
                      clock)
    mine = owner >= start
    new = [i for i, m in zip(new, mine.tolist(), strict=True) if m]
    owned: dict[int, list[str]] = {}
    for i, d in zip(new, owner[mine].tolist(), strict=True):
        owned.setdefault(d, []).append(i.id)
    day_samples, errs, day_sources = got["res"] if got else ((), ErrorStats(), None)
    gone = set(day_of_us(np.asarray(list(inp.dropped_us.values()), np.int64), clock).tolist())
    days = np.asarray(sorted(d for d in set(digests) | set(owned) | gone if d >= start),
                      np.int64)
    states = states_of(day_samples, errs, days, owned, digests, day_sources)
    reports = split_days(inp, days.tolist(), clock)
    if every:
        return DaysFused(sorted(new, key=lambda i: i.id), new, [], start, every, states,
                         sources, days.tolist(), made, reports)
    new.sort(key=lambda i: i.id)
    texts = [encode(i) for i in new]
    was: dict[str, str] = {}
    stored, counted, as_stored = _stored_incidents(
        store, set(dropped or []), list(zip([i.id for i in new], texts, strict=True)), parse,
        was)
    everything = sorted([*stored, *new], key=lambda i: i.id) if parse else list(new)
    same = {i.id for i, t in zip(new, texts, strict=True) if was.get(i.id) == t.decode()}
    return DaysFused(everything, new, dropped or [], start, every, states, sources,
                     days.tolist(), made, reports, texts, counted, same,
                     as_stored == committed_set(store))


def _stored_incidents(store: Store, dropped: set[str], new: list[tuple[str, bytes]],
                      parse: bool = True, was: dict[str, str] | None = None
                      ) -> tuple[list[Incident], tuple[int, str], tuple[int, str]]:
    """The stored incidents but ``dropped`` (``parse`` False: none, only counted), the
    count and digest of the set they make with ``new`` ((id, encoded) in id order) once
    written: each text hashed as read, in id order, not read back again; and those of the
    stored set as it is (what the last check committed to, unless edited since: the kept
    days' incidents are carried into the new set, so they must be trusted as the states
    are). ``was``: filled with the dropped ones' texts.

    Both digests hash the same texts up to the first one dropped or new (the days fused
    again are the latest, so that is most of the set): those are hashed once, a page at a
    time, and the stored set's digest forks from there (``IncidentsDigest.copy``)."""
    out: list[Incident] = []
    n = every = at = 0
    digest = IncidentsDigest()
    whole: IncidentsDigest | None = None  # forked at the first difference
    for page in store.incident_text_pages():
        every += len(page)
        run: list[bytes] = []  # texts in both sets, not yet hashed
        for i, t in page:
            if i in dropped or (at < len(new) and new[at][0] < i):
                digest.update(run)
                if whole is None:
                    whole = digest.copy()
                else:
                    whole.update(run)
                run = []
                if i in dropped:
                    if was is not None:
                        was[i] = t
                    whole.update((t.encode("utf-8"),))
                    continue
                while at < len(new) and new[at][0] < i:
                    digest.update([new[at][1]])
                    at += 1
            run.append(t.encode("utf-8"))  # once, for both digests
            n += 1
            if parse:
                out.append(Incident.from_record(json.loads(t)))
        digest.update(run)
        if whole is not None:
            whole.update(run)
    if whole is None and at < len(new):
        whole = digest.copy()
    digest.update([b for _, b in new[at:]])
    counted = (n + len(new), digest.hexdigest())
    return out, counted, counted if whole is None else (every, whole.hexdigest())


def _kept_sources(store: Store) -> list[dict[str, Any]]:
    """The last check's per-source estimates (no day fused again: they stand)."""
    text = store.get_meta(SOURCES_META)
    return list(json.loads(text)) if text else []


def write_days(store: Store, days: DaysFused, encode: Callable[[Incident], bytes],
               read: int, chunk: int) -> tuple[int, str]:
    """Replace the fused days' incidents and states (inside the caller's transaction) and
    keep what they were made under (``days.fingerprint``, not the store's agreement now);
    the stored set's count and digest (read back in id order, the order the set's digest
    hashes them in)."""
    if days.every:
        store.replace_incidents([])
    store.drop_incidents(days.dropped)
    for at in range(0, len(days.new), chunk):
        part = days.new[at : at + chunk]
        texts = days.texts[at : at + chunk] if days.texts is not None else \
            [encode(i) for i in part]
        store.add_incidents(part, [b.decode("utf-8") for b in texts])
    if days.every or days.start is not None:
        store.put_fusion_days(None if days.every else days.start,
                              [(s.day, s.to_bytes()) for s in days.states], days.reports)
    store.set_meta(FUSION_DAYS_META, json.dumps(
        {"fingerprint": days.fingerprint, "observations": read},
        sort_keys=True))
    if days.counted is not None:
        return days.counted
    digest, n = IncidentsDigest(), 0
    for page in store.incident_text_pages():
        digest.update(t.encode("utf-8") for _, t in page)
        n += len(page)
    return n, digest.hexdigest()
