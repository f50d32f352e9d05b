"""Status provisions and recognition: what a state may join, and who recognises whose control.

Two rule kinds (checked by :mod:`truceline.core.rules.status`):

- ``non_accession``: the obligated parties do not join the named alliances; which of their
  own acts breach (application, accession, ...) is the provision's ``breach_on``.
- ``neutrality``: no membership of any military alliance (the known ones in
  :mod:`truceline.core.alliances`, or those the provision names) and, unless switched off, no
  foreign military bases agreed.

And the recognition status of an area of control (:class:`Recognition`: de facto, de jure or
disputed, by whom, from when to when, on what source), which reports show and which a zone can
be defined by (:class:`RecognitionScope`: the areas with a given status on a given date).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from truceline.core.alliances import DEFAULT_BREACH_ON, OWN_ACTS, StatusAct, alliance_key


# The same base as every part of an agreement (unknown keys are errors, values frozen); kept
# here so that provisions and agreements can import these models without an import circle.
class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _own_acts(acts: list[StatusAct]) -> list[StatusAct]:
    if not acts:
        raise ValueError("give at least one act")
    for i, act in enumerate(acts):
        if act not in OWN_ACTS:
            raise ValueError(
                f"item {i}: {act.value!r} is not an act of the obligated state; give "
                + ", ".join(a.value for a in OWN_ACTS)
            )
    return acts


class NonAccessionRule(_Part):
    kind: Literal["non_accession"]
    alliances: list[str] = Field(
        min_length=1, description="The alliances not to be joined (e.g. NATO, CSTO)."
    )
    breach_on: list[StatusAct] = Field(
        default_factory=lambda: list(DEFAULT_BREACH_ON),
        description="Which of the obligated party's own acts breach the provision "
        "(declaration_of_intent, application, ratification, accession); default application "
        "and accession. Membership in the window (a membership_check with member: true) is "
        "always a breach.",
    )

    _acts = field_validator("breach_on")(_own_acts)

    def covers(self, alliance: str) -> bool:
        return alliance_key(alliance) in {alliance_key(a) for a in self.alliances}


class NeutralityRule(_Part):
    kind: Literal["neutrality"]
    alliances: list[str] = Field(
        default_factory=list,
        description="The military alliances neutrality excludes; [] = every military alliance "
        "truceline knows (NATO, CSTO). An act about another alliance gives 'insufficient "
        "evidence' naming it, until the provision lists it.",
    )
    breach_on: list[StatusAct] = Field(
        default_factory=lambda: list(DEFAULT_BREACH_ON),
        description="As for non_accession: the obligated party's own acts that breach.",
    )
    no_foreign_bases: bool = Field(
        True,
        description="A basing_agreement (a foreign military base or stationing agreed by the "
        "obligated party) breaches too. Troops on the ground are prohibited_presence's matter.",
    )

    _acts = field_validator("breach_on")(_own_acts)


class RecognitionStatus(StrEnum):
    DE_FACTO = "de_facto"
    DE_JURE = "de_jure"
    DISPUTED = "disputed"


class Recognition(_Part):
    """Who recognises (or disputes) the control of an area, from when to when, and the source."""

    status: RecognitionStatus
    by: list[str] = Field(
        min_length=1, description="Who recognises or disputes it: parties, states, bodies."
    )
    valid_from: date | None = None
    valid_to: date | None = Field(None, description="Exclusive; none: still so.")
    source: str = Field(min_length=1, description="Where this status is stated.")
    note: str | None = None

    @model_validator(mode="after")
    def _order(self) -> Recognition:
        if self.valid_from and self.valid_to and self.valid_to <= self.valid_from:
            raise ValueError("valid_to must be after valid_from")
        return self

    def in_force(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day < self.valid_to
        )


class RecognitionScope(_Part):
    """The areas of control whose recognition, on ``on``, has one of ``status`` (by ``by``, if
    given): a zone drawn from the status of areas as the agreement states it on one date."""

    status: list[RecognitionStatus] = Field(min_length=1)
    by: str | None = Field(None, description="Only recognition by this party, state or body.")
    on: date = Field(description="The date the status is taken on (areas change over time).")

    def matches(self, entries: list[Recognition], area_from: date | None,
                area_to: date | None) -> bool:
        """Is an area valid over [area_from, area_to) with these entries in the scope?"""
        if (area_from is not None and self.on < area_from) or (
            area_to is not None and self.on >= area_to
        ):
            return False
        return any(
            r.status in self.status and r.in_force(self.on) and (self.by is None or self.by in r.by)
            for r in entries
        )
