"""Range bans: a band of ranges within which a party may hold, launch or test no missile.

The INF Treaty (1987) banned ground-launched ballistic and cruise missiles with a range
capability of 500 to 5,500 km (Article II.5 and II.6); an agreement may ban any band, basing and
classes. Whether a system falls in the band is read from its published range in the weapon
catalogue (:mod:`truceline.core.catalogue`), never guessed: a range the catalogue does not
record, or one that lies partly in the band, leaves the question open. The check is
:func:`truceline.core.rules.range_ban.check_range_ban`.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from truceline.core.catalogue import WeaponSystem
from truceline.core.taxonomy import Basing, WeaponClass


class Placement(StrEnum):
    """Where a system's published range lies against a band."""

    IN = "in"
    OUT = "out"
    PARTLY = "partly"  # the stated interval overlaps the band without lying in it
    UNKNOWN = "unknown"  # the catalogue records no range


class RangeBanRule(BaseModel):
    # Agreement parts forbid unknown keys and are frozen (as provisions.AgreementPart).
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["range_ban"]
    min_km: float = Field(
        ge=0, le=50_000, description="The band's lower bound in km, inclusive (INF: 500).")
    max_km: float = Field(
        gt=0, le=50_000, description="The band's upper bound in km, inclusive (INF: 5500).")
    basing: list[Basing] = Field(
        default_factory=lambda: [Basing.GROUND], min_length=1,
        description="Launch bases the ban covers (default: ground-launched, as the INF Treaty).")
    classes: list[WeaponClass] = Field(
        default_factory=list,
        description="Weapon classes the ban covers ([] = any class). A sighting that names a "
        "class in this list but no system is insufficient evidence (its range is not known).")
    declared_category: str | None = Field(
        None, max_length=100,
        description="The declaration category under which parties declare their holdings of "
        "missiles in the band: a declaration or inspection of it is a finding (more than zero: "
        "violation; zero: evidence of compliance).")

    @field_validator("max_km")
    @classmethod
    def _ordered(cls, v: float, info: ValidationInfo) -> float:
        lo = info.data.get("min_km")
        if lo is not None and v < lo:
            raise ValueError(f"must be at least min_km ({lo:g})")
        return v

    def band(self) -> str:
        """The band as text, e.g. "500-5,500 km (ground-launched)"."""
        bases = "/".join(b.value for b in self.basing)
        return f"{self.min_km:,g}-{self.max_km:,g} km ({bases}-launched)"

    def covers(self, system: WeaponSystem) -> bool:
        """Is the system of a basing and class the ban covers (whatever its range)?"""
        return system.basing in self.basing and (
            not self.classes or system.weapon_class in self.classes)

    def place(self, system: WeaponSystem) -> Placement:
        """Where the system's published range lies against the band.

        A single figure is the range capability; an interval (an estimate's spread, or a
        launcher's munitions) is in the band only when all of it is, out when none of it is.
        """
        lo, hi = system.min_range_km, system.max_range_km
        if lo is None and hi is None:
            return Placement.UNKNOWN
        lo = hi if lo is None else lo
        hi = math.inf if hi is None else hi
        assert lo is not None
        if self.min_km <= lo and hi <= self.max_km:
            return Placement.IN
        if hi < self.min_km or lo > self.max_km:
            return Placement.OUT
        return Placement.PARTLY
