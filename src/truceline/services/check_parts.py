"""A full check by day parts: fused, judged and written a few days at a time, inside the
one check, so that its peak follows a part rather than the store (issue 21).

Where every day is fused (no kept states: a store never checked, or kept under other
parameters) and fusion is a function of each day and the days before it
(:func:`~truceline.services.check_days.per_day`), the days are cut into parts of
``size`` days (:func:`~truceline.core.fusion.day_parts.day_parts`). Each part is fused from
its reports and the states of the parts before it, held in memory
(:func:`~truceline.core.fusion.day_parts.fuse_part`); its incidents are judged day by day
(:class:`~truceline.core.rules.ByDay`: a ceasefire finding about an incident reads that
incident alone), written with their findings, and let go. The summaries come last, from the
merged per-day tallies, with the rules that read the observations rather than the
incidents. The record then holds what one check of every day writes: the rows are the same,
and the entries are appended at the end in the same order (the incident set's, then the
findings' in the canonical order, read back from their rows, then the withdrawals): no
finding is issued and withdrawn between parts. What is kept for the next check (states,
each day's reports, tallies) is the same too (``tests/store/test_check_parts.py``).
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from truceline.core.disputes import apply_outcomes
from truceline.core.evidence import Reported, gather
from truceline.core.findings import Finding
from truceline.core.fusion import FusionParams
from truceline.core.fusion.day_parts import day_parts, fuse_part, padded
from truceline.core.fusion.day_state import DayState, day_of_us, day_start_us, report_digests
from truceline.core.fusion.days import Days
from truceline.core.incidents import Incident
from truceline.core.observations import Observation
from truceline.core.record.canonical import prepared_from
from truceline.core.rules import ByDay, check
from truceline.core.verdicts import Tally
from truceline.services.check_days import fingerprint
from truceline.services.check_output import (
    WRITE_CHUNK,
    CheckResult,
    derive_coverage,
    finding_rows,
    incident_bytes,
    incident_entries,
    withdrawn_entry,
)
from truceline.services.check_read import CheckInput
from truceline.services.check_rules import by_owner, put_rules, rules_fingerprint
from truceline.services.context import AgreementContext
from truceline.services.day_reports import split_days
from truceline.services.kept_digest import stored_kept_digest
from truceline.services.memory import collecting, give_back
from truceline.services.ports import CHECKED_META, FUSION_DAYS_META, Store
from truceline.services.sources import store_source_estimates
from truceline.services.verify_rows import IncidentsDigest
from truceline.services.written import Key, Written

__all__ = ["PARTS_FROM", "PART_DAYS", "Parts", "check_by_parts", "parts_of"]

#: Days a full check by parts fuses, judges and writes at a time (docs/partitions.md). One:
#: the lowest peak (the 907k month: 0.93-0.99 GB, three days 1.00 GB, all at once 1.50-1.67
#: GB), for ~24 % more CPU than all at once; any size gives the check at once's result
#: since grouping cuts a large component from its edges (session 26; before, parts of one
#: and two days differed on 2025-03-29).
PART_DAYS = 1

#: Counted fire reports from which a full check runs by parts unless asked otherwise
#: (``run_check(part_days=None)``): below, all at once (a week at the base rate, ~30,000,
#: peaks far under the bar, and each part fuses its lookahead and judges the other rules
#: again); the 907k month at 20x density holds ~890,000.
PARTS_FROM = 200_000


@dataclass(frozen=True)
class Parts:
    """How a full check runs by parts: each part's ``[start, end]`` days, every day's
    report digests, and the days a state is kept for (with counted reports, or with
    reports left out as copies)."""

    parts: list[tuple[int, int]]
    digests: dict[int, tuple[str, str]]
    days: set[int]


def parts_of(inp: CheckInput, params: FusionParams, size: int) -> Parts:
    """The parts of ``size`` days a full check of ``inp`` runs in."""
    cols = inp.fire
    clock = params.days
    digests = report_digests(cols["id"], cols["time_us"], params.halo_s, clock)
    gone = set(day_of_us(np.asarray(list(inp.dropped_us.values()), np.int64), clock).tolist())
    first = min(digests, default=None)
    days = {d for d in set(digests) | gone if first is not None and d >= first}
    return Parts(day_parts(days, size), digests, days)


def check_by_parts(store: Store, ctx: AgreementContext, inp: CheckInput,
                   upheld: Mapping[str, dict[str, Any]], params: FusionParams,
                   version: int | None, checked: str | None, parted: Parts
                   ) -> CheckResult | None:
    """:func:`~truceline.services.check.run_check` of every day, a part at a time (see the
    module), in one transaction. None (nothing written): another check committed since
    ``checked`` was read."""
    assert ctx.geometry is not None, "parts are placed by the agreement's geometry"
    parts, digests, days = parted.parts, parted.digests, parted.days
    made = rules_fingerprint(fingerprint(params, ctx), inp.others, upheld)
    coverage = derive_coverage(ctx, inp.others, inp.as_of)
    parties = [p.id for p in ctx.agreement.parties]
    read, first = inp.read, min(digests)
    states: list[DayState] = []
    tallies: dict[int, dict[str, Tally]] = {}
    written = Written()
    sources: list[dict[str, Any]] = []
    n = 0
    with store.atomic():  # the store's one writer from here (SQLite: BEGIN IMMEDIATE)
        if store.get_meta(CHECKED_META) != checked:
            return None
        have = store.finding_ids()
        store.replace_incidents([])
        cols = inp.fire  # the parts' columns; the input keeps what the kept reports read
        inp.fire = {k: cols[k] for k in ("id", "time_us")}
        for k, (s, e) in enumerate(parts):
            if k:  # the part before's cycles, not left to the freeze that starts this one's
                gc.collect()  # (gc.freeze: they were kept to the end, ~0.1 GB a part)
                give_back()
            with collecting():  # fusion's reference cycles hold arrays
                part = fuse_part(cols, ctx.geometry, parties, _reader(inp, cols), params,
                                 s, e, states, first, digests, days,
                                 last=k == len(parts) - 1, fused=give_back, settle=give_back)
            if k + 1 < len(parts):  # the rows the next parts read, the others let go
                cols = _from(cols, parts[k + 1][0], params.halo_s, params.days)
            states += part.states
            sources = part.sources
            incidents = sorted(part.incidents, key=lambda i: i.id)
            owner = dict(zip([i.id for i in part.incidents], part.owners, strict=True))
            del part
            for at in range(0, len(incidents), WRITE_CHUNK):
                chunk = incidents[at : at + WRITE_CHUNK]
                store.add_incidents(chunk, [incident_bytes(i).decode("utf-8")
                                            for i in chunk])
            n += len(incidents)
            by_day = ByDay(by_owner(incidents, owner) or {}, {})
            ev = gather(ctx.geometry, inp.others, incidents, coverage, _of(inp, incidents))
            found = [f for f in apply_outcomes(check(ctx.agreement, ctx.geometry, ev, by_day),
                                               upheld) if f.incident_id is not None]
            del ev, incidents
            tallies.update(by_day.made)
            _put(store, found, have, written, owner)
            del found, by_day, owner
            give_back()
        # the summaries, from every day's tallies, and the rules that read the observations
        ev = gather(ctx.geometry, inp.others, [], coverage, inp.reported)
        found = [f for f in apply_outcomes(check(ctx.agreement, ctx.geometry, ev,
                                                 ByDay({}, tallies)), upheld)
                 if f.incident_id is None]
        del ev
        _put(store, found, have, written, {})
        states = padded(states)
        kept_days = [s.day for s in states]
        store.put_fusion_days(None, [(s.day, s.to_bytes()) for s in states],
                              split_days(inp, kept_days, params.days))
        store.set_meta(FUSION_DAYS_META, json.dumps(
            {"fingerprint": fingerprint(params, ctx), "observations": read},
            sort_keys=True))
        del states, inp
        give_back()
        keys, changed = written.keys()
        del written
        _keep(store, made, read, tallies, kept_days, keys)
        store_source_estimates(store, sources)
        count, digest = _stored_digest(store)
        recorded = incident_entries(store, count, digest, read, sources, version,
                                    stored_kept_digest(store))
        store.append_entries(recorded)
        entries = _finding_entries(store, [k[3] for k in keys if k[3] in changed], changed)
        ids = {k[3] for k in keys}
        gone = sorted(have - ids)
        store.drop_findings(gone)
        store.append_entries([("status_change", withdrawn_entry(fid)) for fid in gone])
        store.set_meta(CHECKED_META, str(read))
    return CheckResult(found, count, entries + len(gone) + len(recorded), None,
                       complete=False, stored=len((have - set(gone)) | ids), judged=count,
                       heads=[k[5] for k in keys])


def _of(inp: CheckInput, incidents: list[Incident]) -> Reported:
    """What the rules read of the counted reports, with the facts of ``incidents``' reports
    alone (a finding about an incident reads its reports' facts; a copy of every report's,
    ~0.9M at 907k, was made for each part)."""
    facts = inp.reported.facts
    return Reported({e: facts[e] for i in incidents for e in i.evidence if e in facts},
                    inp.reported.times_us, inp.reported.latest)


def _reader(inp: CheckInput, cols: Mapping[str, NDArray[Any]]
            ) -> Callable[[Sequence[int]], list[Observation]]:
    """Rows of ``cols`` read again as observations, in that order."""
    def read(rows: Sequence[int]) -> list[Observation]:
        ids = [str(i) for i in cols["id"][np.asarray(rows, np.int64)]]
        got = {o.id: o for o in inp.fetch(ids)}
        return [got[i] for i in ids]
    return read


def _from(cols: dict[str, NDArray[Any]], day: int, halo_s: float, clock: Days
          ) -> dict[str, NDArray[Any]]:
    """The rows of ``cols`` a fusion from ``day`` (of ``clock``) on reads (``halo_s`` before
    it), copied: the rows before are let go (the columns are ~0.2 GB at 907k reports), a
    column at a time (``cols`` is left empty), so the set is not held twice while copied."""
    keep = np.asarray(cols["time_us"], np.int64) >= \
        int(day_start_us(day, clock)) - int(halo_s * 1e6)
    return {k: cols.pop(k)[keep] for k in list(cols)}


def _put(store: Store, found: list[Finding], have: set[str], written: Written,
         owner: Mapping[str, int]) -> None:
    """Store ``found``'s rows a chunk at a time (a row whose text is stored as is stays),
    keeping in ``written`` what the end needs of each: its place in the canonical order and,
    where its entry is due (new or changed: appended at the end), where its fields lie in
    the row's text (the entry is then made of the text, not encoded again: ~3 s of the 907k
    month's findings)."""
    for at in range(0, len(found), WRITE_CHUNK):
        part = found[at : at + WRITE_CHUNK]
        prepared, texts, due, put = finding_rows(store, part, have)
        written.add(part, prepared, due, owner)
        if put:
            store.put_findings([part[k] for k in put], [], [texts[k] for k in put])


def _keep(store: Store, made: str, read: int, tallies: dict[int, dict[str, Tally]],
          days: list[int], keys: list[Key]) -> None:
    """What :func:`~truceline.services.check_rules.keep_rules` keeps of a check that judged
    every day (``keys`` in the canonical order)."""
    every: dict[int, dict[str, Tally]] = {d: {} for d in days}
    every.update(tallies)
    per_day: dict[int, list[str]] = {d: [] for d in every}
    others = []
    for k in keys:
        if k[4] is None:
            others.append(k[3])
        else:
            per_day.setdefault(k[4], []).append(k[3])
    put_rules(store, made, read, every, per_day, others)


def _stored_digest(store: Store) -> tuple[int, str]:
    """The stored incident set's count and digest (read back in id order)."""
    digest, n = IncidentsDigest(), 0
    for page in store.incident_text_pages():
        digest.update(t.encode("utf-8") for _, t in page)
        n += len(page)
    return n, digest.hexdigest()


def _finding_entries(store: Store, ids: list[str],
                     made: Mapping[str, tuple[tuple[str, ...], bytes]]) -> int:
    """Append the ``finding`` entries of ``ids`` (in that order) from their stored rows'
    text (a check's canonical text: the entry's body as it was encoded) and where ``made``
    says its fields lie in it; how many."""
    for at in range(0, len(ids), WRITE_CHUNK):
        part = ids[at : at + WRITE_CHUNK]
        texts = store.finding_texts(part)
        store.append_entries([("finding", prepared_from("finding", texts[i].encode("utf-8"),
                                                        *made[i])) for i in part])
    return len(ids)
