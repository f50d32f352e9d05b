"""A daily report classifies only the observations it places (its restrictions):
:func:`~truceline.core.evidence.gather` with ``classified_kinds`` gives those observations
the classification a full gather gives them, to the bit, and leaves everything else of the
evidence as it was."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from truceline.adapters.agreement_files import load_agreement_file
from truceline.core.agreement_geometry import geometry_spec
from truceline.core.classify import Classification, compile_geometry
from truceline.core.evidence import gather
from truceline.core.observations import parse_observation
from truceline.core.taxonomy import Kind

SAMPLE = (Path(__file__).resolve().parents[2] / "src" / "truceline" / "examples"
          / "march2025_sample.jsonl")


def _row(cls: Classification, k: int) -> dict[str, Any]:
    """Every answer of the classification for point ``k`` (NaN as text, so it compares)."""
    out: dict[str, Any] = {}
    for f in fields(cls):
        v = getattr(cls, f.name)
        parts = v.items() if isinstance(v, dict) else [("", v)]
        for key, arr in parts:
            out[f"{f.name}.{key}"] = repr(arr[k].item())
    return out


def test_only_the_kinds_asked_are_classified_and_as_a_full_gather_does() -> None:
    ag, _ = load_agreement_file("march2025")
    geom = compile_geometry(geometry_spec(ag), ag.thresholds_km())
    obs = [parse_observation(json.loads(line)) for line in SAMPLE.read_text().splitlines()
           if line.strip()]
    placed = {o.id for o in obs if o.kind is Kind.RESTRICTION}
    assert placed and len(placed) < len(obs)
    full = gather(geom, obs)
    some = gather(geom, obs, classified_kinds=frozenset({Kind.RESTRICTION}))
    assert set(some.obs_row) == placed < set(full.obs_row)
    assert full.obs_cls is not None and some.obs_cls is not None
    for oid in placed:
        assert _row(full.obs_cls, full.obs_row[oid]) == _row(some.obs_cls, some.obs_row[oid])
    assert some.facts == full.facts and some.by_kind == full.by_kind
    assert some.as_of == full.as_of and np.array_equal(some.times_us, full.times_us)
    assert some.inc_row == full.inc_row and np.array_equal(some.inc_sector, full.inc_sector)
