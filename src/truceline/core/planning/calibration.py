"""Calibrate the force model against missions that were: fed each one's published strength
and concept of operations, the model must reproduce its published posts or patrols (per 100
km of line) within the stated tolerance (``core/data/missions_history.yaml``, with the
source of every figure; table in ``docs/planning.md``)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import yaml

from truceline.core.planning.force import ForceModel
from truceline.errors import ValidationError

__all__ = ["CalibrationRow", "calibrate", "load_history"]


@dataclass(frozen=True)
class CalibrationRow:
    mission: str
    kind: str
    line_km: float
    published: float
    predicted: float
    tolerance: float

    @property
    def error(self) -> float:
        return self.predicted / self.published - 1.0

    @property
    def ok(self) -> bool:
        return abs(self.error) <= self.tolerance

    def per_100km(self, v: float) -> float:
        return 100.0 * v / self.line_km


def load_history(text: str | None = None) -> dict[str, Any]:
    doc = yaml.safe_load(text if text is not None else (
        files("truceline.core") / "data" / "missions_history.yaml").read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or not isinstance(doc.get("missions"), list):
        raise ValidationError("needs a list of missions", field="missions")
    return doc


def calibrate(fm: ForceModel, history: dict[str, Any] | None = None) -> list[CalibrationRow]:
    """One row per published count: the model's prediction from the mission's strength."""
    h = history or load_history()
    tol = float(h.get("tolerance", 0.0))
    rows = []
    for m in h["missions"]:
        lay = fm.layout_for(float(m["strength"]), m["mission"], mix=m["concept"])
        for kind, value in m["published"].items():
            rows.append(CalibrationRow(m["id"], kind, float(m["line_km"]), float(value),
                                       float(getattr(lay, kind)), tol))
    return rows
