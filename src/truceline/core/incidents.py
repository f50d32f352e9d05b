"""Incidents: the fused event that one or more observations describe.

Fusion (truceline.core.fusion) groups reports, locates origin and impact and attributes a side.
Until it has run, every located fire observation stands as its own incident (``singletons``),
so the checks have one input shape either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from truceline.core.observations import Observation
from truceline.core.plain_records import plain, plain_view
from truceline.core.taxonomy import ExplosionType


@dataclass(frozen=True)
class Located:
    """A point estimate with its 2x2 covariance in metres² (east, north), if known."""

    lon: float
    lat: float
    cov_m2: tuple[float, float, float] | None = None  # (var_e, cov_en, var_n)

    @property
    def sigma_m(self) -> float | None:
        if self.cov_m2 is None:
            return None
        return float(((self.cov_m2[0] + self.cov_m2[2]) / 2.0) ** 0.5)


@dataclass(frozen=True)
class Incident:
    id: str
    kind: str
    time: str  # RFC 3339 UTC
    evidence: tuple[str, ...]
    fire_type: str | None = None
    explosion_type: str | None = None
    weapon_class: str | None = None
    count: int = 1
    origin: Located | None = None
    impact: Located | None = None
    location: Located | None = None  # where it was seen when neither origin nor impact is known
    party_probability: dict[str, float] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def to_record(self, copy: bool = True) -> dict[str, Any]:
        """The record (``dataclasses.asdict``, evidence as a list). ``copy=False``: its
        containers are the incident's own (:func:`~truceline.core.plain_records.plain_view`),
        to be encoded at once, never changed."""
        d = plain(self) if copy else plain_view(self)
        d["evidence"] = list(self.evidence)
        return d

    @classmethod
    def from_record(cls, d: dict[str, Any]) -> Incident:
        """The incident a stored record (:meth:`to_record`, through JSON) describes."""

        def loc(v: dict[str, Any] | None) -> Located | None:
            if v is None:
                return None
            cov = v.get("cov_m2")
            return Located(v["lon"], v["lat"], None if cov is None else tuple(cov))

        return cls(**{**d, "evidence": tuple(d["evidence"]), "origin": loc(d.get("origin")),
                      "impact": loc(d.get("impact")), "location": loc(d.get("location"))})


def _located(o: Observation) -> Located | None:
    if o.lon is None or o.lat is None:
        return None
    u = o.location_uncertainty_m
    return Located(o.lon, o.lat, None if u is None else (u * u, 0.0, u * u))


def singleton(o: Observation) -> Incident:
    """One observation as an incident: outgoing fire and flashes locate an origin, impacts an
    impact; anything else keeps the location it was seen at."""
    loc = _located(o)
    origin = impact = other = None
    et = o.explosion_type
    flash = o.fire_type is not None and o.fire_type.value == "muzzle_flash"
    if flash or et is ExplosionType.OUTGOING:
        origin = loc
    elif et in (ExplosionType.IMPACT, ExplosionType.AIRBURST):
        impact = loc
    else:
        other = loc
    wc, _ = o.resolved_weapon()
    return Incident(
        id="i-" + o.id,
        kind=o.kind.value,
        time=o.time.isoformat().replace("+00:00", "Z"),
        evidence=(o.id,),
        fire_type=o.fire_type.value if o.fire_type else None,
        explosion_type=et.value if et else None,
        weapon_class=wc.value if wc else None,
        count=o.count,
        origin=origin,
        impact=impact,
        location=other,
    )
