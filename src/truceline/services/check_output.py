"""What a check writes: its result, each incident's and finding's encoding, the entries of
a finding withdrawn and of the incident set; shared by the check at once
(:mod:`~truceline.services.check`) and the check by day parts
(:mod:`~truceline.services.check_parts`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from truceline.core.coverage import Coverage
from truceline.core.coverage_inputs import coverage_from_observations, has_monitoring
from truceline.core.findings import Finding, FindingHead
from truceline.core.incidents import Incident
from truceline.core.observations import Observation
from truceline.core.record.canonical import (
    PreparedEntry,
    canonical_bytes,
    entry_bytes,
    parse_entry,
    prepared_entry,
)
from truceline.errors import ValidationError
from truceline.services.context import AgreementContext
from truceline.services.kept_digest import KEPT_FIELD
from truceline.services.ports import Store
from truceline.services.verify_rows import incident_set_entry

_E = TypeVar("_E")


@dataclass
class CheckResult:
    findings: list[Finding]
    incidents: int
    new_entries: int
    #: the days (from 2020-01-01) fused again by an incremental check (None: every day)
    fused_days: list[int] | None = None
    #: whether ``findings`` is every stored finding (False: the incremental check judged
    #: only the incidents of the days it fused, and every other finding; the store holds all)
    complete: bool = True
    #: how many findings are stored after the check
    stored: int = 0
    #: how many incidents the rules judged
    judged: int = 0
    #: what the guarantee clauses read of every stored finding, where ``findings`` is not
    #: every one (None: read them from the store)
    heads: list[FindingHead] | None = None


def derive_coverage(ctx: AgreementContext, observations: list[Observation],
                    as_of: datetime | None = None) -> Coverage | None:
    """The coverage model from the record's monitoring and restriction observations (None when
    the agreement has no geography or the record holds no monitoring assets). ``as_of``:
    what an open window ends at (default: the latest time of ``observations``)."""
    if ctx.geometry is None or not has_monitoring(observations):
        return None
    return coverage_from_observations(ctx.geometry, ctx.agreement, observations, as_of=as_of)


def withdrawn_entry(finding_id: str) -> bytes:
    """The record's note that a published finding no longer follows from the evidence."""
    return entry_bytes("status_change", {"subject": "finding", "finding_id": finding_id,
                                         "status": "withdrawn"})


def incident_entries(store: Store, count: int, digest: str, observations: int,
                     sources: list[dict[str, Any]] | None = None,
                     agreement_version: int | None = None, kept: str | None = None
                     ) -> list[tuple[str, bytes]]:
    """The ``incident`` entry committing to an incident set of ``count`` incidents whose
    digest is ``digest`` (:func:`~truceline.services.verify_rows.incidents_digest`) and to
    how many observations the check read, unless the last one says both.

    One entry per change of the set (its count and digest), of the observations read or of
    the agreement version judged under, not one per incident: a check replaces every
    incident, and ``record verify`` needs only the digest to check the rows, and the count
    to check what the report says is unchecked (meta ``checked_observations``); a replay
    judges the observations and the version the entry names. ``kept``: the digest of what
    the check keeps for the next one (:mod:`~truceline.services.kept_digest`; a change of
    it is a change too).
    """
    last = store.last_entry("incident")
    said = parse_entry(last.data)[1] if last is not None else {}
    if said.get("sha256") == digest and said.get("observations") == observations and \
            said.get("agreement_version") == agreement_version and \
            said.get(KEPT_FIELD) == kept:
        return []
    return [("incident", incident_set_entry(count, digest, observations, sources,
                                            agreement_version, kept))]


def _changed(stored: str | None, body: bytes) -> bool:
    """Whether a finding whose record is now ``body`` (canonical bytes) differs from the
    stored row's record text (None: a new finding). The same text is the same finding
    (a check stores its canonical text); other text, from an older check, is compared by
    what it reads as (the record :class:`Finding` makes of it)."""
    if stored is None:
        return True
    if stored.encode("utf-8") == body:
        return False
    return canonical_bytes(Finding.from_record(json.loads(stored)).to_record()) != body


#: Incidents and findings encoded and written this many at a time: what a check holds of
#: their bytes at once (a month's set of either is hundreds of MB encoded).
WRITE_CHUNK = 10_000


def _viewed(encode: Callable[[dict[str, Any]], _E], record: Callable[[bool], dict[str, Any]]
            ) -> _E:
    """``encode(record(True))``, encoded from the object's own containers rather than a copy
    of them (``record(False)``); a record holding a dataclass deep inside, which the view
    leaves as it is and the encoder refuses, takes the copy's path."""
    try:
        return encode(record(False))
    except ValidationError:
        return encode(record(True))


def incident_bytes(i: Incident) -> bytes:
    """``canonical_bytes(i.to_record())`` (:func:`_viewed`)."""
    return _viewed(canonical_bytes, i.to_record)


def _finding_entry(f: Finding) -> PreparedEntry:
    """``prepared_entry("finding", f.to_record())`` (:func:`_viewed`)."""
    return _viewed(lambda r: prepared_entry("finding", r), f.to_record)


def finding_rows(store: Store, part: list[Finding], known: set[str] | None = None
                 ) -> tuple[list[PreparedEntry], list[str], list[bool], list[int]]:
    """One chunk of findings to write: each one's entry, its row text, whether its entry is
    due (new or changed) and which rows to rewrite (a row whose text is the one written
    stays). ``known``: the ids that may have a row (None: any may)."""
    prepared = [_finding_entry(f) for f in part]
    before = store.finding_texts([f.id for f in part if known is None or f.id in known])
    texts = [p.body.decode("utf-8") for p in prepared]
    due = [_changed(before.get(f.id), p.body) for f, p in zip(part, prepared, strict=True)]
    put = [k for k, f in enumerate(part) if before.get(f.id) != texts[k]]
    return prepared, texts, due, put
