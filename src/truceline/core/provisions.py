"""Provisions: what an agreement obliges, when, and the machine-checkable rule of each.

A provision names the obligated parties, its effective period (:class:`Effective`) and one rule:
a ceasefire, a withdrawal of weapons (:class:`WeaponSelector`) from a line, a prohibited
presence of foreign contingents, the monitors' freedom of movement, or a quantitative limit
with its declaration schedule. The rules are checked by :mod:`truceline.core.rules`; the
agreement that holds the provisions is :class:`truceline.core.agreements.Agreement`.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from truceline.core.catalogue import lookup_system
from truceline.core.nationality import country_code
from truceline.core.range_bans import RangeBanRule
from truceline.core.status import NeutralityRule, NonAccessionRule
from truceline.core.taxonomy import (
    FireType,
    Kind,
    PresenceCategory,
    RestrictionType,
    WeaponClass,
)
from truceline.core.wording import words


# The base of every part of an agreement document: unknown keys are errors; values are frozen.
# (A comment, not a docstring: a docstring would become a description in the JSON schema.)
class AgreementPart(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Effective(AgreementPart):
    """When a provision applies: absolute times, or days from entry into force."""

    start: datetime | date | None = Field(None, description="Absolute start (local time).")
    end: datetime | date | None = Field(None, description="Absolute end, exclusive.")
    days_after_entry_into_force: float | None = Field(None, ge=0)
    duration_days: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _one_start(self) -> Effective:
        if self.start is not None and self.days_after_entry_into_force is not None:
            raise ValueError("give start or days_after_entry_into_force, not both")
        if self.end is not None and self.duration_days is not None:
            raise ValueError("give end or duration_days, not both")
        return self


class WeaponSelector(AgreementPart):
    """Which weapons a withdrawal covers: by class and calibre band and/or by named system."""

    classes: list[WeaponClass] = Field(default_factory=list)
    min_calibre_mm: float | None = Field(None, description="Calibre at least this (inclusive).")
    under_calibre_mm: float | None = Field(None, description="Calibre below this (exclusive).")
    max_calibre_mm: float | None = Field(None, description="Calibre at most this (inclusive).")
    systems: list[str] = Field(default_factory=list, description="Named systems (any class).")

    @model_validator(mode="after")
    def _known_systems(self) -> WeaponSelector:
        for s in self.systems:
            if lookup_system(s) is None:
                raise ValueError(f"unknown weapon system {s!r}")
        if not self.classes and not self.systems:
            raise ValueError("give classes or systems")
        return self

    def covers(
        self, weapon_class: WeaponClass | None, calibre: float | None, system: str | None
    ) -> bool | None:
        """True if a sighting of this class/calibre/system is covered, False if not, None if
        it cannot be told: the class is covered but the selector has a calibre band and the
        calibre is unknown (e.g. "howitzers", no calibre reported)."""
        if system:
            known = lookup_system(system)
            if known is not None and any(lookup_system(s) == known for s in self.systems):
                return True
        if weapon_class is None or weapon_class not in self.classes:
            return False
        lo, under, hi = (self.min_calibre_mm, self.under_calibre_mm, self.max_calibre_mm)
        if lo is None and under is None and hi is None:
            return True
        if calibre is None:
            return None
        return (
            (lo is None or calibre >= lo)
            and (under is None or calibre < under)
            and (hi is None or calibre <= hi)
        )

    def matches(
        self, weapon_class: WeaponClass | None, calibre: float | None, system: str | None
    ) -> bool:
        """True only if the sighting is certainly covered (see :meth:`covers`)."""
        return self.covers(weapon_class, calibre, system) is True

    def describe(self) -> str:
        parts = []
        if self.classes:
            band = []
            if self.min_calibre_mm is not None:
                band.append(f">= {self.min_calibre_mm:g} mm")
            if self.under_calibre_mm is not None:
                band.append(f"< {self.under_calibre_mm:g} mm")
            if self.max_calibre_mm is not None:
                band.append(f"<= {self.max_calibre_mm:g} mm")
            parts.append(
                ", ".join(words(c.value) for c in self.classes)
                + (f" ({' '.join(band)})" if band else "")
            )
        if self.systems:
            parts.append("systems " + ", ".join(self.systems))
        return "; ".join(parts)


class CeasefireRule(AgreementPart):
    kind: Literal["ceasefire"]
    zone: str | None = Field(None, description="Only fire in this zone (default: whole area).")
    fire_types: list[FireType] = Field(default_factory=list, description="[] = every fire type.")


class WithdrawalRule(AgreementPart):
    kind: Literal["withdrawal"]
    within_km: float = Field(gt=0, le=1000)
    weapons: WeaponSelector
    measured_from: Literal["reference_line", "line_of_contact"] = "reference_line"


class PresenceRule(AgreementPart):
    kind: Literal["prohibited_presence"]
    territory_of: str | None = Field(
        None, description="Territory: the area of control of this party (on the date)."
    )
    zone: str | None = Field(None, description="Territory: this zone.")
    allowed_nationalities: list[str] = Field(
        description="Contingents of any other nationality are prohibited, whatever their label. "
        "States by ISO 3166 name or code (or a demonym); the host party's own nationality is "
        "always allowed."
    )
    categories: list[PresenceCategory] = Field(default_factory=lambda: list(PresenceCategory))
    exempt_unarmed_missions: list[str] = Field(
        default_factory=list,
        description="Mandates (e.g. 'OSCE', 'UN') whose missions are allowed when the observation "
        "reports them unarmed (mandate given and armed: false). A label never exempts.",
    )

    @model_validator(mode="after")
    def _territory(self) -> PresenceRule:
        if (self.territory_of is None) == (self.zone is None):
            raise ValueError("give territory_of or zone")
        for i, n in enumerate(self.allowed_nationalities):
            if country_code(n) is None:
                raise ValueError(
                    f"allowed_nationalities[{i}]: {n!r} is not an ISO 3166 country name or "
                    "code, nor a known demonym"
                )
        return self


class MovementRule(AgreementPart):
    kind: Literal["freedom_of_movement"]
    restriction_types: list[RestrictionType] = Field(default_factory=list, description="[] = all")


class DeclarationSchedule(AgreementPart):
    """When the parties owe a declaration: data current as of ``first_as_of`` and every
    ``every_months`` after it, each due ``due_days`` after its period ends (the day before the
    as-of date). New START: as of 1 March and 1 September, due 30 days after the six-month
    period (Protocol, Part Four, Section II.2)."""

    first_as_of: date
    every_months: int = Field(6, ge=1, le=60)
    due_days: int = Field(30, ge=0, le=366)

    def rounds(self, start: date, end: date | None, until: date) -> list[tuple[date, date]]:
        """(as_of, due) of every round with ``start <= as_of < end`` and ``as_of <= until``."""
        out: list[tuple[date, date]] = []
        k = 0
        while True:
            m = self.first_as_of.month - 1 + k * self.every_months
            y, m = self.first_as_of.year + m // 12, m % 12 + 1
            as_of = date(y, m, min(self.first_as_of.day, 28))
            k += 1
            if as_of > until or (end is not None and as_of >= end):
                return out
            if as_of >= start:
                out.append((as_of, as_of + timedelta(days=self.due_days - 1)))


class Baseline(AgreementPart):
    """The figure a limit is a share of: given per party (with its source), or else each
    party's own declaration of the category as of ``as_of`` (a spending figure in the rule's
    currency at ``price_year`` prices, default: the baseline year's own prices)."""

    as_of: date = Field(description="The baseline date (a year's spending: 1 January of it).")
    values: dict[str, float] = Field(
        default_factory=dict, description="Party -> baseline figure; absent: its declaration.")
    source: str | None = Field(None, description="Where the given figures come from.")
    price_year: int | None = Field(None, ge=1900, le=2200)

    @model_validator(mode="after")
    def _sourced(self) -> Baseline:
        if self.values and not self.source:
            raise ValueError("source: baseline values need their source")
        for party, v in self.values.items():
            if not math.isfinite(v) or v < 0:
                raise ValueError(f"values.{party}: must be a finite number >= 0")
        return self


class LimitStep(AgreementPart):
    """From ``by`` on, the limit is ``limit`` (absolute) or ``share`` of the baseline."""

    by: date
    limit: float | None = Field(None, ge=0)
    share: float | None = Field(None, gt=0, le=10, description="0.5 = 50 % of the baseline.")

    @model_validator(mode="after")
    def _one(self) -> LimitStep:
        if (self.limit is None) == (self.share is None):
            raise ValueError("give limit or share")
        return self


class LimitRule(AgreementPart):
    kind: Literal["quantitative_limit"]
    category: str
    limit: float | None = Field(None, ge=0, description="An absolute limit (or give share).")
    share: float | None = Field(
        None, gt=0, le=10, description="The limit as a share of the baseline (0.5 = 50 %).")
    baseline: Baseline | None = None
    steps: list[LimitStep] = Field(
        default_factory=list,
        description="A phased limit: each step applies from its date; before the first, "
        "`limit`/`share` if given, else nothing is in force yet.")
    unit: str = ""
    currency: str | None = Field(
        None, pattern=r"^[A-Z]{3}$",
        description="Spending: ISO 4217 currency of the limit (capitals, e.g. USD); figures "
        "in another are not converted (insufficient evidence).")
    price_year: int | None = Field(
        None, ge=1900, le=2200,
        description="Spending: the limit is in constant prices of this year; figures are "
        "deflated with the package's deflator table (truceline.core.deflators).")
    match_days: int = Field(
        0, ge=0, le=366,
        description="A declaration and an inspection (or estimate) of the same party and "
        "category at most this many days apart are reconciled.")
    tolerance: float = Field(
        0.0, ge=0, le=1,
        description="A reconciled figure differing from the declared one by more than this "
        "share of the declared figure is a discrepancy finding (0.03 = 3 %).")
    evidence_rule: Literal["inspection_over_declaration", "max_of"] = Field(
        "inspection_over_declaration",
        description="What the limit's verdict rests on when both exist: the inspection (or "
        "estimate), or the highest figure.")
    declarations: DeclarationSchedule | None = Field(
        None,
        description="When declarations are due: a party's declaration missing after its due "
        "date is a finding ('declaration not provided by its due date').",
    )

    @model_validator(mode="after")
    def _bounded(self) -> LimitRule:
        if self.limit is not None and self.share is not None:
            raise ValueError("give limit or share, not both")
        if self.limit is None and self.share is None and not self.steps:
            raise ValueError("give limit, share or steps")
        if (self.share is not None or any(s.share is not None for s in self.steps)) \
                and self.baseline is None:
            raise ValueError("baseline: a share needs a baseline")
        if (self.currency is None) != (self.price_year is None):
            raise ValueError("price_year: give currency and price_year together")
        days = [s.by for s in self.steps]
        if days != sorted(set(days)):
            raise ValueError("steps: dates must increase")
        return self


Rule = Annotated[
    CeasefireRule | WithdrawalRule | PresenceRule | MovementRule | LimitRule
    | NonAccessionRule | NeutralityRule | RangeBanRule,
    Field(discriminator="kind"),
]

#: Which observation kinds can bear on each rule kind (coverage and relevance).
RULE_EVIDENCE: dict[str, tuple[Kind, ...]] = {
    "ceasefire": (Kind.FIRE,),
    "withdrawal": (Kind.WEAPON_SIGHTING, Kind.INSPECTION),
    "prohibited_presence": (Kind.PRESENCE,),
    "freedom_of_movement": (Kind.RESTRICTION,),
    "quantitative_limit": (Kind.DECLARATION, Kind.INSPECTION),
    "non_accession": (Kind.STATUS,),
    "neutrality": (Kind.STATUS,),
    "range_ban": (Kind.WEAPON_SIGHTING, Kind.DECLARATION, Kind.INSPECTION),
}


class Provision(AgreementPart):
    id: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_.\-]+$")
    clause: str = Field(min_length=1, description="The clause text, as agreed.")
    source: str | None = Field(None, description="Where the clause text comes from.")
    obligated: list[str] = Field(min_length=1)
    effective: Effective = Field(default_factory=Effective)
    rule: Rule
    optional: bool = Field(False, description="Proposed by one side only; checked and labelled.")
    illustrative: bool = Field(False, description="A value chosen for illustration, not agreed.")
    note: str | None = None
