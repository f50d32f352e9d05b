"""Guarantee clauses: what a guarantor has promised to act on, written into the agreement.

A guarantor's clause says which of its guaranteed provisions it covers, the trigger (which
verdicts, the least attribution probability, which weapon classes, or a count of such findings
within a period), who is told (the guarantors, the parties concerned, the mediator, or named
ids), how long the guarantor has to acknowledge, and the next step once that time passes
("consultations within 72 hours"). Turning findings into notifications is
:mod:`truceline.core.notifications`; this module holds only the document's shape, so the
agreement can validate it without importing the logic.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from truceline.core.findings import Verdict
from truceline.core.provisions import AgreementPart
from truceline.core.taxonomy import WeaponClass

#: Recipient words a clause may use besides a party's or a guarantor's id.
RECIPIENT_WORDS = ("guarantor", "guarantors", "parties_concerned", "mediator")


class CountTrigger(AgreementPart):
    """Act only when at least ``at_least`` matching findings fall within ``within_hours``
    ending at the finding's time (a pattern, not a single incident)."""

    at_least: int = Field(ge=2, le=10_000)
    within_hours: float = Field(gt=0, le=24 * 366)


class Trigger(AgreementPart):
    """Which findings of a guaranteed provision call for the guarantor (all must hold)."""

    verdicts: list[Verdict] = Field(
        default_factory=lambda: [Verdict.VIOLATION], min_length=1,
        description="Verdicts that trigger (default: violation).")
    min_probability: float | None = Field(
        None, gt=0.0, le=1.0,
        description="Least attribution probability (the finding's confidence); a finding "
        "without one (unattributed) never meets it.")
    weapon_classes: list[WeaponClass] = Field(
        default_factory=list,
        description="Severity by weapon class: only findings with one of these ([] = any).")
    count: CountTrigger | None = None


class GuaranteeClause(AgreementPart):
    id: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_.\-]+$")
    provisions: list[str] = Field(
        default_factory=list,
        description="Provision ids this clause covers ([] = every one the guarantor guarantees).")
    trigger: Trigger = Field(default_factory=Trigger)
    notify: list[str] = Field(
        default_factory=lambda: ["guarantor"],
        description="Who is told: 'guarantor' (this one, always included), 'guarantors' (of "
        "the provision), 'parties_concerned' (the finding's party, else the obligated "
        "parties), 'mediator', or a party's or guarantor's id.")
    acknowledge_within_hours: float = Field(
        24.0, gt=0, le=24 * 366, description="Time the guarantor has to acknowledge.")
    next_step: str = Field(
        min_length=1, max_length=500,
        description="What follows when the deadline passes unacknowledged, as agreed.")
    escalate_to: list[str] = Field(
        default_factory=lambda: ["guarantors"],
        description="Who gets the escalation notification when the deadline passes (same "
        "words as notify).")

    @model_validator(mode="after")
    def _unique_recipients(self) -> GuaranteeClause:
        for name in ("notify", "escalate_to"):
            values = getattr(self, name)
            if len(set(values)) != len(values):
                raise ValueError(f"{name}: a recipient is named twice")
        return self


class Mediator(AgreementPart):
    id: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_.\-]+$")
    name: str
