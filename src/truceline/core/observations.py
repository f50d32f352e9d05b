"""Observations: what one source reported, validated at the boundary.

The observer's own position (``observer_lon/lat``) is kept apart from the event location
(``lon/lat``); a monitor who heard an explosion 3–5 km away at 110° gives the first, the bearing
and the distance band, and the location is filled in (or refined) only by fusion. Times are
timezone-aware and stored in UTC; local clock time without an offset is refused rather than
guessed, because a one-hour DST error moves an event across a reporting period.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import SchemaValidator

from truceline.core.alliances import StatusAct
from truceline.core.catalogue import resolve_weapon
from truceline.core.taxonomy import (
    AGGREGATE_CATEGORIES,
    AssetStatus,
    AssetType,
    CountUnit,
    ExplosionType,
    FireType,
    Kind,
    PresenceCategory,
    RestrictionType,
    SourceType,
    TimePrecision,
    WeaponActivity,
    WeaponClass,
)
from truceline.errors import ObservationError

_FIRE, _WEAPON_SIGHTING, _RESTRICTION = Kind.FIRE, Kind.WEAPON_SIGHTING, Kind.RESTRICTION
_DECLARATION, _INSPECTION, _PRESENCE = Kind.DECLARATION, Kind.INSPECTION, Kind.PRESENCE
_MONITORING = Kind.MONITORING
_LAUNCHES = (WeaponActivity.LAUNCH, WeaponActivity.TEST_LAUNCH)
_STATUS = Kind.STATUS
_EXPLOSION = FireType.EXPLOSION
#: What no stored text may hold: a NUL (PostgreSQL text cannot) or a lone surrogate (not
#: Unicode text: it has no UTF-8 form). Refused at validation so every store behaves alike.
_NOT_TEXT = re.compile("[\x00\ud800-\udfff]")

#: Where report times counted in whole microseconds start (the columns a check reads).
UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def micros(t: datetime) -> int:
    """Whole microseconds from the Unix epoch to ``t`` (aware), as numpy's ``datetime64[us]``
    counts them, in Python's integer arithmetic (exact, unlike a float timestamp)."""
    return (t - UNIX_EPOCH) // _MICROSECOND


def from_micros(us: int) -> datetime:
    """The UTC time :func:`micros` counted as ``us``."""
    return UNIX_EPOCH + timedelta(microseconds=us)


def in_utc(t: datetime) -> datetime:
    """``t`` (aware) in UTC, the zone stored times are in (a window's bounds are local):
    comparing two times of one zone object needs no ``utcoffset`` call each (a ZoneInfo's
    costs ~1 us), the same answer. Unchanged if it is naive or has no UTC form (the
    calendar's ends)."""
    if t.tzinfo is None:
        return t
    try:
        return t.astimezone(UTC)
    except OverflowError:
        return t


class Observation(BaseModel):
    """One source's report of one thing it saw, heard, declared or was stopped from doing."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)

    id: str = Field(
        min_length=1, max_length=200, description="Stable id; ingest is idempotent by it."
    )
    kind: Kind
    time: datetime = Field(description="When it happened (RFC 3339 with offset); stored in UTC.")
    time_precision: TimePrecision = TimePrecision.MINUTE
    source_id: str = Field(min_length=1, max_length=200, description="Monitor, sensor or party id.")
    source_type: SourceType = SourceType.MONITOR

    observer_lon: float | None = Field(None, ge=-180, le=180, description="Observer's position.")
    observer_lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180, description="Event location, if known.")
    lat: float | None = Field(None, ge=-90, le=90)
    location_uncertainty_m: float | None = Field(
        None, ge=0, description="1-sigma radius of the event location's uncertainty, metres."
    )
    location_precision: str | None = Field(
        None, max_length=60, description="Precision code from the originating dataset, if any."
    )
    bearing_deg: float | None = Field(
        None, ge=0, lt=360, description="True (geodesic) azimuth from observer to event, degrees."
    )
    bearing_sd_deg: float | None = Field(None, gt=0, le=90)
    distance_min_m: float | None = Field(None, ge=0, description="Distance band: nearest, metres.")
    distance_max_m: float | None = Field(None, gt=0, description="Distance band: farthest, metres.")

    fire_type: FireType | None = None
    explosion_type: ExplosionType | None = None
    count: int = Field(1, ge=1, le=100_000, description="How many (explosions, weapons, people).")

    weapon_class: WeaponClass | None = None
    calibre_mm: float | None = Field(None, gt=0, le=1000)
    system: str | None = Field(None, max_length=100)
    activity: WeaponActivity | None = Field(
        None,
        description="Weapon sighting: what the weapon was seen doing: 'held' (deployed, stored, "
        "moved; the default), 'launch' or 'test_launch' (affiliation: the launching party).",
    )
    flight_km: float | None = Field(
        None, gt=0, le=50_000,
        description="Launch or test launch: the distance the missile flew, km (a flight shows "
        "a range the system can reach; the INF Treaty counted a missile's tested range).",
    )

    affiliation: str | None = Field(
        None, max_length=100, description="Whose forces, as assessed (party id or state)."
    )
    nationality: str | None = Field(
        None, max_length=100, description="State the contingent belongs to, whatever its label."
    )
    unit_label: str | None = Field(
        None, max_length=200, description="The label used (e.g. 'volunteers', 'peacekeepers')."
    )
    mandate: str | None = Field(
        None,
        max_length=200,
        description="Presence: the mandate it operates under, as verified (e.g. 'OSCE'); an "
        "agreement may exempt unarmed missions under named mandates.",
    )
    armed: bool | None = Field(
        None, description="Presence: were they armed (posture as observed)? None = not seen."
    )
    presence_category: PresenceCategory | None = None
    restriction_type: RestrictionType | None = None

    party: str | None = Field(None, max_length=100, description="Declaring or inspected party.")
    category: str | None = Field(None, max_length=100, description="Declared quantity's category.")
    quantity: float | None = Field(None, ge=0)
    as_of: date | None = None
    currency: str | None = Field(
        None, description="Declared or reported spending: ISO 4217 currency of the quantity.")
    price_year: int | None = Field(
        None, ge=1900, le=2200,
        description="Spending: the year whose prices the quantity is in (current prices: the "
        "year of as_of).")

    status_act: StatusAct | None = Field(
        None, description="Status: what happened (application, accession, ...); party is the "
        "state whose status it is.")
    alliance: str | None = Field(None, max_length=200, description="Status: the alliance.")
    member: bool | None = Field(
        None, description="Status, membership_check: is the party a member as of time?")

    killed: int | None = Field(None, ge=0)
    injured: int | None = Field(None, ge=0)

    arrival_time: datetime | None = Field(None, description="Acoustic arrival time at the sensor.")
    temperature_c: float | None = Field(None, ge=-60, le=60)
    wind_u_ms: float | None = Field(None, ge=-60, le=60)
    wind_v_ms: float | None = Field(None, ge=-60, le=60)

    asset_type: AssetType | None = Field(
        None, description="Monitoring: the asset (source_id) is a post, patrol, camera or array."
    )
    asset_status: AssetStatus | None = Field(
        None, description="Monitoring: 'active' (observing) or 'down' over [time, end_time)."
    )
    end_time: datetime | None = Field(
        None, description="End of the interval that starts at time (monitoring, restriction)."
    )
    facing_deg: float | None = Field(
        None, ge=0, lt=360, description="Monitoring: a camera's true azimuth of view, degrees."
    )
    fov_deg: float | None = Field(
        None, gt=0, le=360, description="Monitoring: field of view, degrees (360 = all round)."
    )
    range_m: float | None = Field(
        None, gt=0, le=100_000, description="Monitoring: visual range, metres (default by type)."
    )
    denied_radius_m: float | None = Field(
        None, gt=0, le=100_000,
        description="Restriction: radius of the area denied around the observer's position.",
    )

    area: str | None = Field(
        None, min_length=1, max_length=200,
        description="Aggregate: the named area its count covers (e.g. an SMM region); a count "
        "over an area, not a point.",
    )
    description: str | None = Field(None, max_length=5000)
    dataset: str | None = Field(
        None, max_length=100, description="Originating dataset, if imported."
    )
    dataset_ref: str | None = Field(None, max_length=200)
    count_unit: CountUnit | None = Field(
        None,
        description="What one count of this record is, when not what kind and fire type say: "
        "'event' for a dataset's coded event (a UCDP GED event is a day's fighting with at "
        "least one death, not one explosion). Counted apart from monitors' units.",
    )
    supersedes: str | None = Field(
        None, min_length=1, max_length=200,
        description="An edited report: the id of the version it replaces (the same source's; "
        "e.g. a form submission's deprecatedID). Both stay in the record; the replaced one is "
        "no longer counted.",
    )
    signature: str | None = Field(None, description="Source's Ed25519 signature (base64).")

    @model_validator(mode="before")
    @classmethod
    def _text_only(cls, data: Any) -> Any:
        # One pass over the raw values (a validator per string field would cost more).
        if type(data) is dict:
            for k, v in data.items():
                if v.__class__ is str and _NOT_TEXT.search(v) is not None:
                    raise ValueError(f"{k} must be text without NUL characters or lone "
                                     "surrogates")
        return data

    @field_validator("time", "arrival_time", "end_time")
    @classmethod
    def _aware_utc(cls, v: datetime | None) -> datetime | None:
        if v is None:
            return v
        if v.tzinfo is None or v.utcoffset() is None:
            raise ValueError("needs a UTC offset (e.g. 2025-03-20T21:05:00+02:00 or ...Z)")
        try:
            return v.astimezone(UTC)
        except OverflowError:  # e.g. 9999-12-31T23:00-05:00 is in the year 10000 in UTC
            raise ValueError("is out of range: in UTC it must be in the years 1 to 9999") from None

    @field_validator("currency")
    @classmethod
    def _iso4217(cls, v: str | None) -> str | None:
        if v is not None and not (len(v) == 3 and v.isascii() and v.isalpha() and v.isupper()):
            raise ValueError("must be an ISO 4217 currency code in capitals, e.g. USD")
        return v

    @field_validator("lon", "lat", "observer_lon", "observer_lat", "bearing_deg", "quantity")
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError("must be a finite number")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Observation:
        # Plain attribute reads, no closures: this runs once per observation on ingest.
        lon, obs_lon = self.lon, self.observer_lon
        if (lon is None) != (self.lat is None):
            raise ValueError("lon and lat must be given together")
        if (obs_lon is None) != (self.observer_lat is None):
            raise ValueError("observer_lon and observer_lat must be given together")
        dmin, dmax = self.distance_min_m, self.distance_max_m
        if dmin is not None and dmax is not None and dmin > dmax:
            raise ValueError("distance_min_m must not exceed distance_max_m")
        if self.bearing_deg is not None and obs_lon is None:
            raise ValueError("bearing_deg needs observer_lon/observer_lat")
        k = self.kind
        if k is _FIRE and self.fire_type is None:
            raise ValueError("fire_type is required for kind 'fire'")
        if self.explosion_type is not None and self.fire_type is not _EXPLOSION:
            raise ValueError("explosion_type is only for fire_type 'explosion'")
        if k is _WEAPON_SIGHTING and not (self.weapon_class or self.system or self.calibre_mm):
            raise ValueError("a weapon_sighting needs weapon_class, system or calibre_mm")
        if self.activity is not None and k is not _WEAPON_SIGHTING:
            raise ValueError("activity is only for kind 'weapon_sighting'")
        if self.flight_km is not None and self.activity not in _LAUNCHES:
            raise ValueError("flight_km is only for activity 'launch' or 'test_launch'")
        if k is _RESTRICTION and self.restriction_type is None:
            raise ValueError("restriction_type is required for kind 'restriction'")
        if k is _DECLARATION or k is _INSPECTION:
            for name in ("party", "category", "quantity", "as_of"):
                if getattr(self, name) is None:
                    raise ValueError(f"{name} is required for kind '{k.value}'")
        if k is _MONITORING:
            for name in ("asset_type", "asset_status", "observer_lon"):
                if getattr(self, name) is None:
                    raise ValueError(f"{name} is required for kind 'monitoring' (the asset)")
        elif self.asset_type is not None or self.asset_status is not None:
            raise ValueError("asset_type and asset_status are only for kind 'monitoring'")
        if k is Kind.AGGREGATE or self.area is not None:
            _check_aggregate(self)
        if self.supersedes is not None and self.supersedes == self.id:
            raise ValueError("supersedes must name another observation, not itself")
        if self.end_time is not None and self.end_time <= self.time:
            raise ValueError("end_time must be after time")
        if k is _PRESENCE and self.presence_category is None:
            raise ValueError("presence_category is required for kind 'presence'")
        if k is Kind.SUSPENSION:
            for name, why in (("party", "who suspends"), ("description", "the notice, and where "
                                                                         "it was made")):
                if getattr(self, name) is None:
                    raise ValueError(f"{name} is required for kind 'suspension' ({why})")
        if k is _STATUS or self.status_act is not None or self.alliance is not None \
                or self.member is not None:
            _check_status(self)
        return self

    # -- derived values ----------------------------------------------------------------------
    def resolved_weapon(self) -> tuple[WeaponClass | None, float | None]:
        """Weapon class and calibre, filled in from the named system when not given."""
        return resolve_weapon(self.weapon_class, self.calibre_mm, self.system)

    @property
    def has_location(self) -> bool:
        return self.lon is not None and self.lat is not None

    def to_record(self) -> dict[str, Any]:
        """JSON-ready dict without unset (None) fields; times as RFC 3339 UTC with 'Z'."""
        # model_dump(mode="json", exclude_none=True) without its Python wrapper (this runs
        # once per observation on ingest); tests/core/test_observations.py checks that it
        # agrees with _to_record_pydantic on random records.
        out: dict[str, Any] = _serialize(self, mode="json", exclude_none=True)
        for name in _TIME_FIELDS:  # in place: the fields keep their order
            value = out.get(name)
            if isinstance(value, str) and "+00:00" in value:
                out[name] = value.replace("+00:00", "Z")
        return out

    def _to_record_pydantic(self) -> dict[str, Any]:
        """:meth:`to_record` by pydantic's own JSON-mode dump (the reference for the fast path)."""
        out: dict[str, Any] = self.model_dump(mode="json", exclude_none=True)
        for name in _TIME_FIELDS:  # in place: the fields keep their order
            value = out.get(name)
            if isinstance(value, str):
                out[name] = value.replace("+00:00", "Z")
        return out

def _check_aggregate(o: Observation) -> None:
    """An aggregate is a whole count of one category over a named area and a period."""
    if o.kind is not Kind.AGGREGATE:
        raise ValueError("area is only for kind 'aggregate'")
    for name in ("area", "end_time", "category", "quantity"):
        if getattr(o, name) is None:
            raise ValueError(f"{name} is required for kind 'aggregate'")
    if o.category not in AGGREGATE_CATEGORIES:
        raise ValueError(f"category must be one of {', '.join(AGGREGATE_CATEGORIES)} for kind "
                         "'aggregate'")
    if o.quantity is not None and o.quantity != int(o.quantity):
        raise ValueError("quantity must be a whole count for kind 'aggregate'")
    if o.lon is not None or o.observer_lon is not None:
        raise ValueError("lon must not be given for kind 'aggregate' (counted over an area, "
                         "not located)")


def _check_status(o: Observation) -> None:
    """A status event names the state (party), the act, and the alliance it is about."""
    if o.kind is not _STATUS:
        given = next(n for n in ("status_act", "alliance", "member") if getattr(o, n) is not None)
        raise ValueError(f"{given} is only for kind 'status'")
    act = o.status_act
    if act is None:
        raise ValueError("status_act is required for kind 'status'")
    if o.party is None:
        raise ValueError("party is required for kind 'status' (the state whose status it is)")
    if act is StatusAct.BASING_AGREEMENT:
        if o.nationality is None:
            raise ValueError("nationality is required for a basing_agreement (whose base)")
    elif o.alliance is None and act is not StatusAct.STATUS_DECLARATION:
        raise ValueError(f"alliance is required for status_act '{act.value}'")
    if (o.member is None) == (act is StatusAct.MEMBERSHIP_CHECK):
        raise ValueError("member is required for a membership_check, and only for it")


ALL_FIELDS: tuple[str, ...] = tuple(Observation.model_fields)
_FIELD_SET = frozenset(ALL_FIELDS)
_TIME_FIELDS = ("time", "arrival_time", "end_time")
_validate = Observation.__pydantic_validator__.validate_python
_serialize = Observation.__pydantic_serializer__.to_python


def _types_only(schema: Any) -> Any:
    """A copy of a core schema without its Python validators (``function-before`` and
    ``function-after``, which only refuse or, for times, convert to UTC); any other kind of
    Python function in it is refused (it could change values)."""
    if isinstance(schema, dict):
        while schema.get("type") in ("function-before", "function-after"):
            schema = schema["schema"]
        if str(schema.get("type", "")).startswith("function-"):
            raise TypeError(f"a {schema['type']} validator would change values")
        return {k: _types_only(v) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_types_only(v) for v in schema]
    return schema


def stored_fields(names: Iterable[str]) -> dict[str, Any]:
    """The core schemas of the fields ``names`` as :func:`stored_observation` checks them
    (types, bounds, defaults; not the model's Python rules): a reader of a few fields of many
    stored records (a check's fire columns, :mod:`truceline.services.fire_columns`)."""
    fields = _types_only(Observation.__pydantic_core_schema__)["schema"]["fields"]
    return {k: fields[k]["schema"] for k in names}


@cache
def _stored_validator() -> SchemaValidator:
    return SchemaValidator(_types_only(Observation.__pydantic_core_schema__))


def stored_observation(text: str | bytes) -> Observation:
    """The observation in a record text a store wrote (:meth:`Observation.to_record`, after
    validation): the same object :meth:`Observation.model_validate_json` gives, with the
    types checked and converted by pydantic-core but the model's Python rules not run again
    (they held when it was appended, and ``record verify`` checks that the stored text is
    what the record committed to).
    Half the cost: a one-day report of the 907k store reads ~26,000 of them."""
    o = _stored_validator().validate_json(text)
    values = o.__dict__
    for name in _TIME_FIELDS:  # what _aware_utc does: the same instant, in UTC
        t = values[name]
        if t is not None:
            values[name] = t.astimezone(UTC)
    return o


def _first_error(exc: PydanticValidationError) -> tuple[str, str]:
    err = exc.errors()[0]
    msg = err.get("msg", "invalid").removeprefix("Value error, ")
    field = ".".join(str(p) for p in err.get("loc", ()))
    if not field:  # a cross-field rule: its message starts with the field it is about
        first = msg.split(" ", 1)[0]
        field = first if first in Observation.model_fields else "(record)"
    return field, msg


def is_text(value: str) -> bool:
    """True unless ``value`` holds a NUL or a lone surrogate (which no store can keep)."""
    return _NOT_TEXT.search(value) is None


def safe_id(value: Any) -> str | None:
    """``value`` if it is an id that can be shown and stored, else None (for error details)."""
    return value if type(value) is str and _NOT_TEXT.search(value) is None else None


def _shown(name: str) -> str:
    """A field name as printable text (a lone surrogate becomes its escape)."""
    return name.encode("utf-8", "backslashreplace").decode("utf-8")


def parse_observation(record: dict[str, Any], *, line: int | None = None) -> Observation:
    """Validate one raw record; a failure raises :class:`ObservationError` naming line and field.

    Empty strings (as CSV gives for blank cells) count as absent. A string holding a NUL or a
    lone surrogate is refused (by the model), naming its field: no store could keep it.
    """
    clean = record
    if type(record) is dict:  # the common case: a plain dict, often with nothing to drop
        for v in record.values():
            if v is None or (isinstance(v, str) and v == ""):
                clean = {k: v for k, v in record.items() if not _blank(v)}
                break
    else:
        clean = {k: v for k, v in record.items() if not _blank(v)}
    if not clean.keys() <= _FIELD_SET:
        raise ObservationError("unknown field", field=_shown(min(clean.keys() - _FIELD_SET)),
                               line=line)
    try:
        # Observation.model_validate without its Python frame (pydantic never mutates
        # ``clean``, which may be the caller's dict).
        return _validate(clean)
    except PydanticValidationError as exc:
        field, msg = _first_error(exc)
        raise ObservationError(msg, field=field, line=line, id=safe_id(clean.get("id"))) from None


def _blank(v: Any) -> bool:
    """Empty strings (as CSV gives for blank cells) and None count as absent."""
    return v is None or (isinstance(v, str) and v == "")

class ObservationRow(Protocol):
    """What a store writes of an observation beside its record: an :class:`Observation`, or
    one ingest prepared in a worker process (its fields as read from its record)."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> Kind: ...
    @property
    def time(self) -> datetime: ...
    @property
    def lon(self) -> float | None: ...
    @property
    def lat(self) -> float | None: ...
    @property
    def source_id(self) -> str: ...
    def to_record(self) -> dict[str, Any]: ...


@dataclass
class Rejection:
    """A record that was not accepted, with where and why (``skip`` mode reports each one)."""

    line: int | None
    field: str | None
    reason: str
    id: str | None = None
    #: True for a row left out on purpose (reported, never an error even in ``raise`` mode).
    deliberate: ClassVar[bool] = False

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "record"
        return f"{where}: {self.field or '(record)'}: {self.reason}"


def validate_records(
    records: Iterable[tuple[int, dict[str, Any]]],
    *,
    on_invalid: Literal["raise", "skip"] = "raise",
) -> Iterator[tuple[int, Observation | Rejection]]:
    """Validate (line, record) pairs; in ``skip`` mode a bad one yields a Rejection and goes on."""
    if on_invalid not in ("raise", "skip"):
        raise ObservationError("must be 'raise' or 'skip'", field="on_invalid")
    for line, record in records:
        try:
            yield line, parse_observation(record, line=line)
        except ObservationError as exc:
            if on_invalid == "raise":
                raise
            yield line, Rejection(line, exc.field, exc.message, safe_id(record.get("id")))


def observation_json_schema() -> dict[str, Any]:
    """The JSON Schema published in docs/schemas/observation.schema.json."""
    schema = Observation.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://truceline.example/schemas/observation.schema.json"
    return schema
