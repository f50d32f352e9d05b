"""Lapse, extension and suspension: when an agreement's provisions are in force for a party.

An agreement lapses at ``expires`` (nothing is judged after it); an :class:`Extension` moves the
end of the whole agreement or of named provisions (New START: extended to 5 February 2026 by the
exchange of notes of 3 February 2021). A :class:`Suspension` is one party's declared suspension
of its obligations from a date, with its source, possibly contested by another party. This
system does not rule on whether a suspension is lawful: while a party's suspension runs, no
finding about that party is "compliant" or "violation"; each says what the figure or event was
and that the party declared a suspension (and who contested it), and one status finding per
provision reports the suspension itself ("suspended by RUS since 2023-02-21 (source)").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import Field, model_validator

from truceline.core.findings import Finding, Verdict, iso
from truceline.core.limits import Builder
from truceline.core.observations import Observation
from truceline.core.provisions import AgreementPart


class Extension(AgreementPart):
    """A new end date for the whole agreement (``provisions`` empty) or the named provisions."""

    until: datetime | date = Field(description="The new end (local time, exclusive).")
    source: str = Field(min_length=1, description="The instrument that extended it.")
    provisions: list[str] = Field(default_factory=list, description="[] = the whole agreement.")


class Suspension(AgreementPart):
    """A party's declared suspension of its obligations over ``[since, until)``."""

    party: str
    since: date
    until: date | None = Field(None, description="When it resumed (exclusive); none: still.")
    source: str = Field(min_length=1, description="Where the suspension was declared.")
    provisions: list[str] = Field(default_factory=list, description="[] = the whole agreement.")
    contested_by: list[str] = Field(
        default_factory=list, description="Parties that hold the suspension invalid.")
    contest_source: str | None = None

    @model_validator(mode="after")
    def _order(self) -> Suspension:
        if self.until is not None and self.until <= self.since:
            raise ValueError("until must be after since")
        if self.contested_by and not self.contest_source:
            raise ValueError("contest_source: say where the suspension was contested")
        return self

    def covers(self, provision_id: str, party: str | None, day: date) -> bool:
        return (party == self.party and (not self.provisions or provision_id in self.provisions)
                and self.since <= day and (self.until is None or day < self.until))

    def describe(self) -> str:
        out = f"suspended by {self.party} since {self.since} ({self.source})"
        if self.until is not None:
            out += f" until {self.until}"
        if self.contested_by:
            out += f"; contested by {', '.join(self.contested_by)} ({self.contest_source})"
        return out


def finding_day(f: Finding) -> date | None:
    """The date a finding is about: a figure's as-of date, a missing round's, else its time."""
    miss = f.details.get("missing_declaration")
    if isinstance(miss, dict) and "as_of" in miss:
        return date.fromisoformat(miss["as_of"])
    if isinstance(f.details.get("as_of"), str):
        return date.fromisoformat(f.details["as_of"])
    return datetime.fromisoformat(f.time).date() if f.time else None


def apply_suspensions(b: Builder, suspensions: list[Suspension]) -> None:
    """Rewrite the provision's findings about a suspending party and add the status lines."""
    if not suspensions:
        return
    pid = b.p.id
    for k, f in enumerate(b.out):
        day = finding_day(f)
        s = next((s for s in suspensions if day is not None and s.covers(pid, f.party, day)),
                 None)
        if s is None:
            continue
        said = f"{s.party} declared a suspension: {s.describe()}"
        if f.verdict is Verdict.INSUFFICIENT_EVIDENCE:
            why = f"{f.explanation}; {said}"
        else:
            why = (f"{f.explanation}; not judged {f.verdict.value}: {said}; this system does not "
                   f"rule on the suspension's validity")
        details = {**f.details, "suspension": _record(s)}
        b.out[k] = replace(f, verdict=Verdict.INSUFFICIENT_EVIDENCE, explanation=why,
                           details=details)
    start, end = b.start.date(), b.end.date() if b.end is not None else None
    for s in suspensions:
        if s.party not in b.p.obligated or (s.provisions and pid not in s.provisions):
            continue
        if (end is not None and s.since >= end) or (s.until is not None and s.until <= start):
            continue  # the suspension does not overlap the provision's force
        b.add(Verdict.INSUFFICIENT_EVIDENCE, s.party, (),
              f"{s.describe()}; no finding about {s.party} is compliant or a violation while "
              f"it runs",
              kind=f"suspension {s.since}", time=f"{s.since.isoformat()}T00:00:00Z",
              details={"suspension": _record(s)})


def from_observations(records: Sequence[Observation], parties: set[str], provisions: set[str],
                      tz: ZoneInfo) -> list[Suspension]:
    """Suspensions notified by observation (kind ``suspension``): from the record's local date,
    until its ``end_time`` if given; of the provision ``category`` names, else of the whole
    agreement. A notice by a state that is not a party, or about no provision of the
    agreement, suspends nothing."""
    out = []
    for o in sorted(records, key=lambda x: (x.time, x.id)):
        if o.party not in parties or (o.category is not None and o.category not in provisions):
            continue
        since = o.time.astimezone(tz).date()
        until = o.end_time.astimezone(tz).date() if o.end_time is not None else None
        out.append(Suspension(
            party=str(o.party), since=since, until=until if until and until > since else None,
            source=f"{o.description} (record {o.id} from {o.source_id})",
            provisions=[o.category] if o.category else []))
    return out


def note_lapse(b: Builder, lapse: datetime, why: str, after: int) -> None:
    """Say that the agreement lapsed, once the record holds evidence from after it: the
    records dated from then on give no finding, and a reader of the report is told why."""
    b.add(Verdict.INSUFFICIENT_EVIDENCE, None, (),
          f"the agreement lapsed on {lapse.date()} ({why}); {after} records dated from then on "
          f"give no finding under it", kind="lapse", time=iso(lapse),
          details={"lapsed": lapse.date().isoformat()})


def _record(s: Suspension) -> dict[str, Any]:
    return s.model_dump(mode="json", exclude_none=True)
