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


# -- the fast paths agree with the pydantic reference ------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from pydantic import ValidationError as PydanticValidationError  # noqa: E402

from truceline.core.observations import ALL_FIELDS, Observation, _first_error  # noqa: E402
from truceline.core.taxonomy import (  # noqa: E402
    ExplosionType,
    FireType,
    Kind,
    PresenceCategory,
    RestrictionType,
    SourceType,
    TimePrecision,
    WeaponClass,
)


def _reference_parse(record: dict) -> Observation:
    """parse_observation as it was written before its fast path (the behaviour to keep)."""
    clean = {k: v for k, v in record.items() if not (v is None or (isinstance(v, str) and v == ""))}
    unknown = sorted(clean.keys() - set(ALL_FIELDS))
    if unknown:
        raise ObservationError("unknown field", field=unknown[0])
    try:
        return Observation.model_validate(clean)
    except PydanticValidationError as exc:
        field, msg = _first_error(exc)
        raise ObservationError(msg, field=field, id=clean.get("id")) from None


def _enum(e: type) -> st.SearchStrategy:
    return st.sampled_from([m.value for m in e])


_NUM = st.one_of(
    st.none(),
    st.integers(-400, 400),
    st.floats(-400, 400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "12.5", "x"]),
)
_TIME = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat()),
    st.sampled_from(["2025-03-28T21:05:00+02:00", "2025-03-28T19:05:00.123Z", "", "x"]),
)
_FIELDS = {
    "id": st.one_of(st.text(max_size=5), st.just("a1")),
    "kind": st.one_of(_enum(Kind), st.just("gossip")),
    "time": _TIME,
    "time_precision": _enum(TimePrecision),
    "source_id": st.text(max_size=5),
    "source_type": _enum(SourceType),
    "observer_lon": _NUM,
    "observer_lat": _NUM,
    "lon": _NUM,
    "lat": _NUM,
    "location_uncertainty_m": _NUM,
    "bearing_deg": _NUM,
    "distance_min_m": _NUM,
    "distance_max_m": _NUM,
    "fire_type": _enum(FireType),
    "explosion_type": _enum(ExplosionType),
    "count": st.one_of(st.integers(-2, 200_000), st.booleans()),
    "weapon_class": _enum(WeaponClass),
    "calibre_mm": _NUM,
    "system": st.text(max_size=8),
    "presence_category": _enum(PresenceCategory),
    "restriction_type": _enum(RestrictionType),
    "party": st.text(max_size=4),
    "category": st.text(max_size=4),
    "quantity": _NUM,
    "as_of": st.one_of(st.dates().map(lambda d: d.isoformat()), st.just("")),
    "killed": st.one_of(st.none(), st.integers(-1, 10)),
    "arrival_time": _TIME,
    "description": st.text(max_size=10),
    "signature": st.text(max_size=10),
    "colour": st.just("red"),
}


@st.composite
def _records(draw: st.DrawFn) -> dict:
    rec = {"id": "r", "kind": "fire", "time": "2025-03-28T21:05:00+02:00", "source_id": "s",
           "fire_type": "explosion"}
    names = draw(st.lists(st.sampled_from(sorted(_FIELDS)), max_size=12, unique=True))
    for name in names:
        rec[name] = draw(_FIELDS[name])
    return rec


@settings(max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck))
@given(_records())
def test_fast_parse_and_to_record_match_the_pydantic_reference(rec: dict) -> None:
    try:
        ref = _reference_parse(rec)
    except ObservationError as exc:
        with pytest.raises(ObservationError) as got:
            parse_observation(rec)
        assert (got.value.field, got.value.message, str(got.value)) == (
            exc.field, exc.message, str(exc))
        return
    o = parse_observation(rec)
    assert o == ref
    out = o.to_record()
    assert out == o._to_record_pydantic()
    assert list(out) == list(o._to_record_pydantic())


def test_fast_paths_match_on_the_sample(examples: Path) -> None:
    for line in (examples / "march2025_sample.jsonl").read_text().splitlines():
        rec = json.loads(line)
        o = parse_observation(rec)
        assert o == _reference_parse(rec)
        assert o.to_record() == o._to_record_pydantic()
        assert parse_observation(o.to_record()) == o


# -- a store's own record text read back with the types checked only ----------------------------

from truceline.core.observations import stored_observation  # noqa: E402


def _same(a: Observation, b: Observation, fields_set: bool = True) -> None:
    assert a == b and (a.model_fields_set == b.model_fields_set or not fields_set)
    for name in ALL_FIELDS:  # the same values of the same types (a UTC time's tzinfo too)
        x, y = getattr(a, name), getattr(b, name)
        assert (x, type(x)) == (y, type(y)), name
        assert getattr(x, "tzinfo", None) is getattr(y, "tzinfo", None), name


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(_records())
def test_a_stored_record_reads_back_as_the_validated_observation(rec: dict) -> None:
    try:
        o = parse_observation(rec)
    except ObservationError:
        return
    text = json.dumps(o.to_record())
    _same(stored_observation(text), Observation.model_validate_json(text))
    _same(stored_observation(text.encode()), o, fields_set=False)  # the text writes defaults


def test_a_stored_time_with_an_offset_is_read_in_utc() -> None:
    """Text another writer stored with an offset: the same instant in UTC, as validation
    gives it."""
    text = json.dumps({"id": "a", "kind": "monitoring", "time": "2025-03-28T21:05:00+02:00",
                       "end_time": "2025-03-29T08:00:00+03:00", "source_id": "op-1",
                       "observer_lon": 37.5, "observer_lat": 48.0, "asset_type": "post",
                       "asset_status": "active"})
    o = stored_observation(text)
    _same(o, Observation.model_validate_json(text))
    assert o.time.isoformat() == "2025-03-28T19:05:00+00:00"


def test_a_bound_in_utc_is_the_same_instant_and_the_calendars_ends_stay() -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from truceline.core.observations import in_utc

    kyiv = datetime(2025, 3, 30, 19, 30, tzinfo=ZoneInfo("Europe/Kyiv"))
    assert in_utc(kyiv) == kyiv and in_utc(kyiv).tzinfo is UTC
    assert in_utc(kyiv).isoformat() == "2025-03-30T16:30:00+00:00"
    naive = datetime(2025, 3, 30, 19, 30)
    assert in_utc(naive) is naive  # never read as the machine's local time
    first = datetime(1, 1, 1, 1, tzinfo=ZoneInfo("Asia/Tokyo"))  # no UTC form in year 1
    assert in_utc(first) is first
