"""The status of areas: who recognises whose control of each area of control, on a date.

An area of control (:class:`truceline.core.agreements.ControlArea`) can carry recognition
entries (:class:`truceline.core.status.Recognition`). :func:`status_of_areas` lists them as
rows for reports and the API; :func:`areas_in_scope` picks the areas a zone defined by
recognition (``areas_recognised``) is drawn from. The agreement states these facts, so every
role may read them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from truceline.core.agreements import Agreement, ControlArea
from truceline.core.status import RecognitionScope


@dataclass(frozen=True)
class AreaStatus:
    """One recognition entry of one area of control."""

    area: str
    held_by: str
    status: str
    by: tuple[str, ...]
    valid_from: str | None
    valid_to: str | None
    source: str
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["by"] = list(self.by)
        return d


def area_label(area: ControlArea, index: int) -> str:
    """What reports call an area: its name, else 'areas_of_control[i] (party)'."""
    return area.name or f"areas_of_control[{index}] ({area.party})"


def _area_in_force(area: ControlArea, day: date) -> bool:
    return (area.valid_from is None or area.valid_from <= day) and (
        area.valid_to is None or day < area.valid_to
    )


def status_of_areas(agreement: Agreement, day: date | None = None) -> list[AreaStatus]:
    """Every recognition entry, in the agreement's order; with ``day``, only the entries in
    force on it, of areas in force on it."""
    g = agreement.geography
    out: list[AreaStatus] = []
    for i, a in enumerate(g.areas_of_control if g else []):
        if day is not None and not _area_in_force(a, day):
            continue
        for r in a.recognition:
            if day is not None and not r.in_force(day):
                continue
            out.append(AreaStatus(
                area_label(a, i), a.party, r.status.value, tuple(r.by),
                r.valid_from.isoformat() if r.valid_from else None,
                r.valid_to.isoformat() if r.valid_to else None, r.source, r.note,
            ))
    return out


def areas_in_scope(agreement: Agreement, scope: RecognitionScope) -> list[int]:
    """Indexes of the areas of control in ``scope`` (recognition and area both in force on
    ``scope.on``)."""
    g = agreement.geography
    return [i for i, a in enumerate(g.areas_of_control if g else [])
            if scope.matches(a.recognition, a.valid_from, a.valid_to)]


def statuses_on(agreement: Agreement, day: date) -> list[tuple[int, str]]:
    """(area index, "de jure (RU); disputed (UA, UN General Assembly)") for each area of
    control in force on ``day`` with recognition entries in force then (for the map)."""
    by_area: dict[int, list[str]] = {}
    g = agreement.geography
    for i, a in enumerate(g.areas_of_control if g else []):
        if not _area_in_force(a, day):
            continue
        for r in a.recognition:
            if r.in_force(day):
                by_area.setdefault(i, []).append(
                    f"{r.status.value.replace('_', ' ')} ({', '.join(r.by)})")
    return [(i, "; ".join(v)) for i, v in by_area.items()]
