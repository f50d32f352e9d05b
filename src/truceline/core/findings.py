"""Findings: a determination about one provision, with its evidence and its reasons.

A finding is deterministic: its id is a hash of what it is about (provision, party, evidence), so
the same data and agreement always give byte-identical findings, and a replay can compare them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, NamedTuple

from truceline.core.plain_records import plain, plain_view


class Verdict(StrEnum):
    VIOLATION = "violation"
    COMPLIANT = "compliant"
    INSUFFICIENT_EVIDENCE = "insufficient_evidence"


@dataclass(frozen=True)
class Finding:
    """One determination. ``party`` is None when the evidence does not attribute it."""

    id: str
    provision_id: str
    rule_kind: str
    verdict: Verdict
    party: str | None
    evidence: tuple[str, ...]
    explanation: str
    time: str | None = None  # RFC 3339 UTC of the event, or of the window's end for summaries
    window_start: str | None = None
    window_end: str | None = None
    lon: float | None = None
    lat: float | None = None
    distance_m: float | None = None
    threshold_m: float | None = None
    weapon_class: str | None = None
    confidence: float | None = None
    incident_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    #: Summaries of spatial provisions: the observed share of the party's side in the window
    #: (docs/coverage.md); None where coverage does not apply or was not assessed.
    coverage: float | None = None

    def to_record(self, copy: bool = True) -> dict[str, Any]:
        """The record (``dataclasses.asdict`` with the verdict's value, evidence as a list,
        no ``coverage`` when None). ``copy=False``: its containers are the finding's own
        (:func:`~truceline.core.plain_records.plain_view`), to be encoded at once, never
        changed."""
        if copy:
            d = plain(self)
        else:  # the fields as they are where none is a dataclass (what plain_view would
            # view apart), without its walk: a check makes one per finding (~0.15M a month)
            d = dict(self.__dict__)
            if not {*map(type, d.values())} <= _AS_THEY_ARE:
                d = plain_view(self)
        d["verdict"] = self.verdict.value
        d["evidence"] = list(self.evidence)
        if d["coverage"] is None:  # absent, so findings without coverage keep their bytes
            del d["coverage"]
        return d

    @property
    def summary(self) -> bool:
        """Whether this is a provision's summary verdict for a party (:mod:`.verdicts`), not a
        finding about one event or record (:func:`is_summary`)."""
        return is_summary(self.id, self.provision_id, self.party, self.evidence)

    @classmethod
    def from_record(cls, d: dict[str, Any]) -> Finding:
        d = dict(d)
        d.setdefault("coverage", None)  # findings recorded before coverage existed
        d["verdict"] = Verdict(d["verdict"])
        d["evidence"] = tuple(d["evidence"])
        return cls(**d)


#: The types a finding's fields hold that :func:`plain_view` leaves as they are.
_AS_THEY_ARE = frozenset({str, float, int, bool, type(None), tuple, list, dict, Verdict})


def iso(t: datetime) -> str:
    """A finding's time: RFC 3339 in UTC with a ``Z`` (e.g. ``2025-03-28T02:00:00Z``)."""
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


#: Compact JSON for ids' keys: one encoder for every call (``json.dumps`` given options builds
#: an encoder each time, 40 % of an id's cost; a check makes one per finding and notification).
compact_json = json.JSONEncoder(separators=(",", ":")).encode


def finding_id(provision_id: str, party: str | None, kind: str, evidence: tuple[str, ...]) -> str:
    """Stable id: the same provision, party, kind of finding and evidence give the same id."""
    key = compact_json([provision_id, party, kind, sorted(evidence)])
    return "f-" + hashlib.sha256(key.encode()).hexdigest()[:20]


def is_summary(fid: str, provision_id: str, party: str | None,
               evidence: Sequence[str]) -> bool:
    """Whether the finding of this id is a summary: its id is :func:`finding_id` of the kind
    ``"summary"``. Derived from fields every finding (and every finding entry in the log)
    has, so no field is added and the records' bytes stay as they are."""
    return fid == finding_id(provision_id, party, "summary", tuple(evidence))


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """The canonical order: provision, time, party, id (what makes output byte-identical)."""
    return sorted(findings, key=lambda f: (f.provision_id, f.time or "", f.party or "", f.id))


class FindingHead(NamedTuple):
    """What a guarantee clause reads of a finding (:func:`~truceline.core.notifications.due`):
    a check that writes its findings a part at a time hands these on rather than the
    findings themselves (~0.2 KB each, not ~2 KB: a month's 171k findings)."""

    id: str
    provision_id: str
    verdict: Verdict
    party: str | None
    time: str | None
    confidence: float | None
    weapon_class: str | None

    @classmethod
    def of(cls, f: Finding) -> FindingHead:
        return cls(f.id, f.provision_id, f.verdict, f.party, f.time, f.confidence,
                   f.weapon_class)
