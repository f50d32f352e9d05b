"""Observations: validation at the boundary names the line, the field and the reason."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from truceline.core.observations import (
    Rejection,
    observation_json_schema,
    parse_observation,
    validate_records,
)
from truceline.errors import ObservationError

ROOT = Path(__file__).resolve().parents[2]
GOOD = {
    "id": "a1",
    "kind": "fire",
    "time": "2025-03-28T21:05:00+02:00",
    "source_id": "post-1",
    "fire_type": "explosion",
    "explosion_type": "impact",
    "lon": 37.8,
    "lat": 48.1,
}


def test_time_is_stored_in_utc() -> None:
    o = parse_observation(GOOD)
    assert o.to_record()["time"] == "2025-03-28T19:05:00Z"


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"time": "2025-03-28T21:05:00"}, "time", "needs a UTC offset"),
        ({"lon": 200}, "lon", "less than or equal to 180"),
        ({"lat": None, "lon": 37.0}, "lon", "must be given together"),
        ({"fire_type": None, "explosion_type": None}, "fire_type", "required for kind 'fire'"),
        ({"explosion_type": "nuclear"}, "explosion_type", "Input should be"),
        ({"bearing_deg": 120}, "bearing_deg", "needs observer_lon"),
        ({"colour": "red"}, "colour", "unknown field"),
        ({"count": 0}, "count", "greater than or equal to 1"),
    ],
)
def test_bad_records_name_field_and_reason(change: dict, field: str, reason: str) -> None:
    rec = {**GOOD, **change}
    with pytest.raises(ObservationError) as exc:
        parse_observation(rec, line=7)
    assert exc.value.field == field
    assert reason in exc.value.message
    assert str(exc.value).startswith("line 7: ")


def test_skip_mode_keeps_valid_neighbours() -> None:
    recs = [(1, GOOD), (2, {**GOOD, "id": "a2", "lon": 999}), (3, {**GOOD, "id": "a3"})]
    out = list(validate_records(recs, on_invalid="skip"))
    assert [type(x).__name__ for _, x in out] == ["Observation", "Rejection", "Observation"]
    rej = out[1][1]
    assert isinstance(rej, Rejection) and rej.line == 2 and rej.field == "lon"


def test_raise_mode_stops_at_the_bad_record() -> None:
    recs = [(1, GOOD), (2, {**GOOD, "kind": "gossip"})]
    gen = validate_records(recs, on_invalid="raise")
    assert next(gen)[0] == 1
    with pytest.raises(ObservationError) as exc:
        next(gen)
    assert exc.value.line == 2 and exc.value.field == "kind"


def test_published_schema_is_current_and_accepts_the_sample(examples: Path) -> None:
    published = json.loads((ROOT / "docs/schemas/observation.schema.json").read_text())
    assert published == json.loads(json.dumps(observation_json_schema()))
    for line in (examples / "march2025_sample.jsonl").read_text().splitlines():
        jsonschema.validate(json.loads(line), published)


def test_weapon_resolved_from_system_name() -> None:
    o = parse_observation(
        {
            "id": "w",
            "kind": "weapon_sighting",
            "time": "2025-03-28T10:00:00Z",
            "source_id": "p",
            "system": "2S19 Msta-S",
            "lon": 37,
            "lat": 48,
        }
    )
    wc, cal = o.resolved_weapon()
    assert (wc.value, cal) == ("tube_artillery", 152)
