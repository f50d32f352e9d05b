"""Check: run fusion (when available) and evaluate every provision; store the findings.

Only findings that are new or changed are appended to the record, and an ``incident`` entry
only when the incident set changed, so re-running a check on the same data adds nothing, and
the record shows every change of a finding's status.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from truceline.core.coverage import Coverage
from truceline.core.coverage_inputs import coverage_from_observations, has_monitoring
from truceline.core.disputes import apply_outcomes, upheld_outcomes
from truceline.core.evidence import gather
from truceline.core.findings import Finding
from truceline.core.fusion import fuse_with_sources
from truceline.core.incidents import Incident
from truceline.core.observations import Observation
from truceline.core.record.canonical import (
    canonical_bytes,
    entry_bytes,
    parse_entry,
    prepared_entry,
)
from truceline.core.resubmissions import counted
from truceline.core.rules import check
from truceline.services.context import AgreementContext, load_context
from truceline.services.ports import CHECKED_META, Store
from truceline.services.sources import store_source_estimates
from truceline.services.verify_rows import incident_set_entry, incidents_digest_of


@dataclass
class CheckResult:
    findings: list[Finding]
    incidents: int
    new_entries: int


def derive_incidents(ctx: AgreementContext, observations: list[Observation]) -> list[Incident]:
    """The incidents the checks run on: fire reports fused into one incident per real event.

    Fusion groups, locates (with a 95 % ellipse) and attributes; a report it cannot group or
    locate stays a singleton (located if the source gave a location, else unlocated but
    counted once). A resubmitted copy (:mod:`truceline.core.resubmissions`) is left out, so
    whoever fuses a set of observations (check, report, a rebuilt mirror) counts it once.
    """
    return _fuse(ctx, counted(observations))[0]


def derive_incidents_and_sources(ctx: AgreementContext, observations: list[Observation]
                                 ) -> tuple[list[Incident], list[dict[str, Any]]]:
    """:func:`derive_incidents` and the per-source estimates of the same fusion (what a
    rebuilt mirror stores, as the check that recorded them did)."""
    return _fuse(ctx, counted(observations))


def _fuse(ctx: AgreementContext, observations: list[Observation]
          ) -> tuple[list[Incident], list[dict[str, Any]]]:
    return fuse_with_sources(observations, ctx.geometry, [p.id for p in ctx.agreement.parties])


def derive_coverage(ctx: AgreementContext, observations: list[Observation]) -> Coverage | None:
    """The coverage model from the record's monitoring and restriction observations (None when
    the agreement has no geography or the record holds no monitoring assets)."""
    if ctx.geometry is None or not has_monitoring(observations):
        return None
    return coverage_from_observations(ctx.geometry, ctx.agreement, observations)


def derive_findings(
    ctx: AgreementContext, observations: list[Observation],
    upheld: Mapping[str, dict[str, Any]] | None = None,
) -> tuple[list[Incident], list[Finding]]:
    """Pure derivation from an agreement and observations: what replay re-runs and compares.

    A resubmitted copy (:mod:`truceline.core.resubmissions`) is counted once: the copies are
    left out here, by a rule of the observations alone, so a replay leaves out the same.
    ``upheld``: the upheld disputes' outcomes by finding id
    (:func:`~truceline.core.disputes.upheld_outcomes`), applied after the rules.
    """
    incidents, findings, _ = _derive(ctx, observations, upheld or {})
    return incidents, findings


def _derive(ctx: AgreementContext, observations: list[Observation],
            upheld: Mapping[str, dict[str, Any]]
            ) -> tuple[list[Incident], list[Finding], list[dict[str, Any]]]:
    """:func:`derive_findings`, and what the shared events say about each source
    (:func:`~truceline.core.fusion.fuse_with_sources`)."""
    observations = counted(observations)
    incidents, sources = _fuse(ctx, observations)
    ev = gather(ctx.geometry, observations, incidents, derive_coverage(ctx, observations))
    findings = apply_outcomes(check(ctx.agreement, ctx.geometry, ev), upheld)
    return incidents, findings, sources


def withdrawn_entry(finding_id: str) -> bytes:
    """The record's note that a published finding no longer follows from the evidence."""
    return entry_bytes("status_change", {"subject": "finding", "finding_id": finding_id,
                                         "status": "withdrawn"})


def incident_entries(store: Store, incidents: list[Incident], observations: int,
                     sources: list[dict[str, Any]] | None = None,
                     encoded: Sequence[bytes] | None = None) -> list[tuple[str, bytes]]:
    """The ``incident`` entry committing to this incident set and to how many observations
    the check read, unless the last one says both.

    One entry per change of the set (its count and digest) or of the observations read, not
    one per incident: a check replaces every incident, and ``record verify`` needs only the
    digest to check the rows, and the count to check what the report says is unchecked
    (meta ``checked_observations``). ``encoded``: each incident's record as canonical bytes,
    in the order of ``incidents``, when the caller has them (the rows' text).
    """
    if encoded is None:
        encoded = [canonical_bytes(i.to_record()) for i in incidents]
    order = sorted(range(len(incidents)), key=lambda k: str(incidents[k].id))  # stable, by id
    digest = incidents_digest_of(encoded[k] for k in order)
    last = store.last_entry("incident")
    said = parse_entry(last.data)[1] if last is not None else {}
    if said.get("sha256") == digest and said.get("observations") == observations:
        return []
    return [("incident", incident_set_entry(len(incidents), digest, observations, sources))]


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


def run_check(store: Store) -> CheckResult:
    """Derive the incidents and findings from the stored observations and store them, with
    the entries of what changed, in one transaction.

    Each incident's and finding's record is encoded once (canonical JSON): the same bytes
    are the row's text, the incident set's digest and the finding's entry (whose fields the
    store commits without parsing it again:
    :class:`~truceline.core.record.canonical.PreparedEntry`)."""
    ctx = load_context(store)
    observations = store.observations()
    read = len(observations)
    upheld = upheld_outcomes(b for d in store.disputes() for b in d.get("history", []))
    incidents, findings, sources = _derive(ctx, observations, upheld)
    del observations  # the largest thing held (an object each); writing needs only the count
    encoded = [canonical_bytes(i.to_record()) for i in incidents]
    prepared = [prepared_entry("finding", f.to_record()) for f in findings]
    with store.atomic():
        before = {r["id"]: r["record"] for r in store.table_rows("findings")}
        entries: list[tuple[str, bytes]] = [
            ("finding", p) for f, p in zip(findings, prepared, strict=True)
            if _changed(before.get(f.id), p.body)
        ]
        now = {f.id for f in findings}
        entries += [("status_change", withdrawn_entry(fid)) for fid in sorted(set(before) - now)]
        recorded = incident_entries(store, incidents, read, sources, encoded)
        store.replace_incidents(incidents, recorded, [b.decode("utf-8") for b in encoded])
        del encoded
        store.replace_findings(findings, entries, [p.body.decode("utf-8") for p in prepared])
        store_source_estimates(store, sources)
        store.set_meta(CHECKED_META, str(read))
    return CheckResult(findings, len(incidents), len(entries) + len(recorded))
