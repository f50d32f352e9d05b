"""Check: run fusion (when available) and evaluate every provision; store the findings.

Only findings that are new or changed are appended to the record, and an ``incident`` entry
only when the incident set changed, so re-running a check on the same data adds nothing, and
the record shows every change of a finding's status.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
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
from truceline.core.record.canonical import entry_bytes, parse_entry
from truceline.core.resubmissions import counted
from truceline.core.rules import check
from truceline.services.context import AgreementContext, load_context
from truceline.services.ports import CHECKED_META, Store
from truceline.services.sources import store_source_estimates
from truceline.services.verify_rows import incidents_digest, incidents_entry


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
                     sources: list[dict[str, Any]] | None = None) -> list[tuple[str, bytes]]:
    """The ``incident`` entry committing to this incident set and to how many observations
    the check read, unless the last one says both.

    One entry per change of the set (its count and digest) or of the observations read, not
    one per incident: a check replaces every incident, and ``record verify`` needs only the
    digest to check the rows, and the count to check what the report says is unchecked
    (meta ``checked_observations``).
    """
    records = [i.to_record() for i in incidents]
    last = store.last_entry("incident")
    said = parse_entry(last.data)[1] if last is not None else {}
    if said.get("sha256") == incidents_digest(records) and said.get("observations") == \
            observations:
        return []
    return [("incident", incidents_entry(records, observations, sources))]


def run_check(store: Store) -> CheckResult:
    ctx = load_context(store)
    observations = store.observations()
    read = len(observations)
    upheld = upheld_outcomes(b for d in store.disputes() for b in d.get("history", []))
    incidents, findings, sources = _derive(ctx, observations, upheld)
    del observations  # the largest thing held (an object each); writing needs only the count
    before = {f.id: json.dumps(f.to_record(), sort_keys=True) for f in store.findings()}
    entries = [
        ("finding", entry_bytes("finding", f.to_record()))
        for f in findings
        if before.get(f.id) != json.dumps(f.to_record(), sort_keys=True)
    ]
    now = {f.id for f in findings}
    entries += [("status_change", withdrawn_entry(fid)) for fid in sorted(set(before) - now)]
    recorded = incident_entries(store, incidents, read, sources)
    store.replace_incidents(incidents, recorded)
    store.replace_findings(findings, entries)
    store_source_estimates(store, sources)
    store.set_meta(CHECKED_META, str(read))
    return CheckResult(findings, len(incidents), len(entries) + len(recorded))
