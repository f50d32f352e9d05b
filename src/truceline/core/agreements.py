"""Agreements as data: parties, geography, provisions with one machine-checkable rule each.

An agreement is a versioned YAML document (schema: docs/schemas/agreement.schema.json). The
provisions and their rules are modelled in :mod:`truceline.core.provisions`. This
module is pure: geometry references (``{file: ..., feature: N}``) are read into the document by
the adapter that loads it (truceline.adapters.agreement_files), so the core never touches the
file system.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, model_validator
from pydantic import ValidationError as PydanticValidationError

from truceline.core.guarantees import RECIPIENT_WORDS, GuaranteeClause, Mediator
from truceline.core.nationality import country_code
from truceline.core.provisions import AgreementPart, Provision, WithdrawalRule
from truceline.core.status import Recognition, RecognitionScope
from truceline.core.suspensions import Extension, Suspension
from truceline.errors import AgreementError


class Party(AgreementPart):
    id: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_.\-]+$")
    name: str
    nationality: str | None = Field(
        None, description="State whose forces are this party's own (for presence rules): an "
        "ISO 3166 country name or code, or a demonym."
    )

    @model_validator(mode="after")
    def _known_state(self) -> Party:
        if self.nationality is not None and country_code(self.nationality) is None:
            raise ValueError(
                f"nationality: {self.nationality!r} is not an ISO 3166 country name or code, "
                "nor a known demonym"
            )
        return self


class Guarantor(AgreementPart):
    id: str = Field(min_length=1, max_length=60)
    name: str
    guarantees: list[str] = Field(
        default_factory=list, description="Provision ids this guarantor guarantees ([] = all)."
    )
    clauses: list[GuaranteeClause] = Field(
        default_factory=list,
        description="What this guarantor acts on, whom it tells and by when it acknowledges "
        "(docs/guarantees.md); none: it only reads the findings it guarantees.",
    )


class GeometryRef(AgreementPart):
    """Where a geometry comes from: a GeoJSON file (relative to the agreement), or inline."""

    file: str | None = None
    feature: int | None = Field(None, ge=0, description="Feature index in the file.")
    where: dict[str, Any] | None = Field(
        None, description="Pick the feature whose properties match all these values."
    )
    geojson: dict[str, Any] | None = Field(None, description="An inline GeoJSON geometry.")
    bbox: tuple[float, float, float, float] | None = Field(
        None, description="[min_lon, min_lat, max_lon, max_lat]"
    )
    swap_axes: bool = Field(False, description="Source stores [lat, lon]: swap on reading.")
    buffer_km: float | None = Field(None, description="Grow the geometry by this much (metric).")
    minus: list[GeometryRef] = Field(
        default_factory=list, description="Cut these out (after buffer)."
    )
    within: list[GeometryRef] = Field(
        default_factory=list,
        description="Keep only what lies in all of these (after minus), e.g. a land mask, so "
        "that water or a third country is no party's.",
    )
    clip_bbox: tuple[float, float, float, float] | None = Field(
        None, description="Keep only what lies in [min_lon, min_lat, max_lon, max_lat]."
    )

    @model_validator(mode="after")
    def _one_source(self) -> GeometryRef:
        given = [n for n in ("file", "geojson", "bbox") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of file, geojson or bbox")
        return self


class Line(AgreementPart):
    id: str
    name: str = ""
    geometry: GeometryRef
    note: str | None = None


class ControlArea(AgreementPart):
    """A party's area of control, valid over [valid_from, valid_to) (open ends allowed)."""

    party: str
    name: str | None = Field(None, description="What reports call the area.")
    geometry: GeometryRef | None = None
    rest_of_area: bool = Field(
        False, description="The area of interest minus every other party's area at that date."
    )
    valid_from: date | None = None
    valid_to: date | None = None
    recognition: list[Recognition] = Field(
        default_factory=list,
        description="Who recognises this control (de facto, de jure) or disputes it, when, "
        "and on what source (docs/agreements.md, 'Status of areas').",
    )

    @model_validator(mode="after")
    def _geom(self) -> ControlArea:
        if (self.geometry is None) == (not self.rest_of_area):
            raise ValueError("give either geometry or rest_of_area: true")
        return self


class Zone(AgreementPart):
    id: str
    name: str = ""
    geometry: GeometryRef | None = None
    within_km_of_line: float | None = Field(None, gt=0, le=1000)
    line: str | None = None
    party_side: str | None = Field(None, description="Only the side this party holds.")
    areas_recognised: RecognitionScope | None = Field(
        None, description="The areas of control with this recognition status on a date.")

    @model_validator(mode="after")
    def _shape(self) -> Zone:
        by_line = self.within_km_of_line is not None
        shapes = (by_line, self.geometry is not None, self.areas_recognised is not None)
        if sum(shapes) != 1:
            raise ValueError("give one of geometry, within_km_of_line (with line) or "
                             "areas_recognised")
        if by_line and self.line is None:
            raise ValueError("line is required with within_km_of_line")
        return self


class Sector(AgreementPart):
    id: str
    name: str = ""
    line: str
    from_km: float = Field(ge=0)
    to_km: float = Field(gt=0)

    @model_validator(mode="after")
    def _order(self) -> Sector:
        if self.to_km <= self.from_km:
            raise ValueError("to_km must be greater than from_km")
        return self


class Regions(AgreementPart):
    """Named regions for report counts (e.g. oblasts); every feature of the file is one region."""

    geometry: GeometryRef
    name_property: str = "name"
    only: list[str] = Field(default_factory=list, description="Keep only these names ([] = all).")


class Geography(AgreementPart):
    area_of_interest: GeometryRef
    lines: list[Line] = Field(min_length=1)
    line_of_contact: str = Field(description="Id of the line of contact among `lines`.")
    reference_lines: dict[str, str] = Field(
        default_factory=dict,
        description="Party id -> line id each party measures from (default: line of contact).",
    )
    reference_line_note: str | None = None
    reference_line_error_km: dict[str, tuple[float, float]] = Field(
        default_factory=dict,
        description="Party id -> [low, high] km: where a party's line is a stand-in, the true "
        "distance from its reference line is the stand-in distance plus a value in this range "
        "(a withdrawal verdict holds only if it holds across it).",
    )
    areas_of_control: list[ControlArea] = Field(default_factory=list)
    zones: list[Zone] = Field(default_factory=list)
    sectors: list[Sector] = Field(default_factory=list)
    regions: Regions | None = None


class Agreement(AgreementPart):
    """A version of an agreement; ``id`` + ``version`` identify it in the record."""

    id: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_.\-]+$")
    version: int = Field(1, ge=1)
    title: str
    signed: date | None = None
    entry_into_force: datetime = Field(description="Local time (see timezone) or with offset.")
    expires: datetime | date | None = Field(
        None,
        description="When the agreement lapses (local time, exclusive): every provision's window "
        "ends then at the latest, so nothing is found compliant or in violation after it.",
    )
    extensions: list[Extension] = Field(
        default_factory=list,
        description="New end dates (with their source) of the agreement or of named provisions; "
        "the latest that applies replaces `expires` and the provision's own end.",
    )
    suspensions: list[Suspension] = Field(
        default_factory=list,
        description="Parties' declared suspensions (date, source, who contested them): while one "
        "runs, nothing about that party is found compliant or in violation, and the suspension "
        "is reported.",
    )
    timezone: str = "Europe/Kyiv"
    reporting_period_start: time = Field(time(19, 30), description="Local time; SMM uses 19:30.")
    attribution_confidence: float = Field(
        0.9, gt=0.5, le=1.0, description="Attribute a violation to a party only at or above this."
    )
    doubt_threshold: float = Field(
        0.05,
        gt=0.0,
        lt=0.5,
        description=(
            "No 'compliant' verdict for a party while an open (undecided) finding of the "
            "provision could be that party's with a probability at or above this. The default "
            "0.05 asks, for each undecided event, at least 95 % confidence that it was not the "
            "party's before the party is found compliant."
        ),
    )
    min_coverage: float = Field(
        0.6,
        ge=0.0,
        le=1.0,
        description=(
            "No 'compliant' verdict for a party on a ceasefire, withdrawal or presence provision "
            "unless the mission observed at least this share of that party's side of the line "
            "in the window (docs/coverage.md). The default 0.6 means an event at a random "
            "place and time on that side had better-than-even odds of being observable."
        ),
    )
    quorum: int | None = Field(None, ge=1, description="Cosigning parties for a final checkpoint.")
    parties: list[Party] = Field(min_length=1)
    guarantors: list[Guarantor] = Field(default_factory=list)
    mediator: Mediator | None = Field(
        None, description="Who mediates (told by guarantee clauses that name 'mediator')."
    )
    geography: Geography | None = None
    provisions: list[Provision] = Field(min_length=1)
    sources: list[str] = Field(default_factory=list, description="Documents this file encodes.")
    notes: str | None = None

    @model_validator(mode="after")
    def _references(self) -> Agreement:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone: unknown IANA zone {self.timezone!r}") from None
        party_ids = [p.id for p in self.parties]
        if len(set(party_ids)) != len(party_ids):
            raise ValueError("parties: duplicate party id")
        pset = set(party_ids)
        prov_ids = [p.id for p in self.provisions]
        if len(set(prov_ids)) != len(prov_ids):
            raise ValueError("provisions: duplicate provision id")
        g = self.geography
        line_ids = {ln.id for ln in g.lines} if g else set()
        zone_ids = {z.id for z in g.zones} if g else set()
        if g is not None:
            if g.line_of_contact not in line_ids:
                raise ValueError(f"geography.line_of_contact: no line {g.line_of_contact!r}")
            for party, line in g.reference_lines.items():
                if party not in pset:
                    raise ValueError(f"geography.reference_lines: unknown party {party!r}")
                if line not in line_ids:
                    raise ValueError(f"geography.reference_lines.{party}: no line {line!r}")
            for party, (lo, hi) in g.reference_line_error_km.items():
                where = f"geography.reference_line_error_km.{party}"
                if party not in pset:
                    raise ValueError(f"{where}: unknown party {party!r}")
                if not lo <= 0.0 <= hi:
                    raise ValueError(f"{where}: needs low <= 0 <= high, got [{lo}, {hi}]")
            for i, a in enumerate(g.areas_of_control):
                if a.party not in pset:
                    raise ValueError(f"geography.areas_of_control[{i}].party: unknown {a.party!r}")
            for i, z in enumerate(g.zones):
                if z.line is not None and z.line not in line_ids:
                    raise ValueError(f"geography.zones[{i}].line: no line {z.line!r}")
                if z.party_side is not None and z.party_side not in pset:
                    raise ValueError(f"geography.zones[{i}].party_side: unknown {z.party_side!r}")
            for i, s in enumerate(g.sectors):
                if s.line not in line_ids:
                    raise ValueError(f"geography.sectors[{i}].line: no line {s.line!r}")
        for i, p in enumerate(self.provisions):
            for o in p.obligated:
                if o not in pset:
                    raise ValueError(f"provisions[{i}].obligated: unknown party {o!r}")
            r = p.rule
            needs_geo = r.kind in (
                "ceasefire",
                "withdrawal",
                "prohibited_presence",
                "freedom_of_movement",
            )
            if needs_geo and g is None:
                raise ValueError(f"provisions[{i}].rule: a {r.kind} rule needs geography")
            zone = getattr(r, "zone", None)
            if zone is not None and zone not in zone_ids:
                raise ValueError(f"provisions[{i}].rule.zone: no zone {zone!r}")
            terr = getattr(r, "territory_of", None)
            if terr is not None and terr not in pset:
                raise ValueError(f"provisions[{i}].rule.territory_of: unknown party {terr!r}")
        lapses: list[tuple[str, int, list[str], list[str]]] = [
            ("extensions", i, e.provisions, []) for i, e in enumerate(self.extensions)]
        lapses += [("suspensions", i, s.provisions, [s.party, *s.contested_by])
                   for i, s in enumerate(self.suspensions)]
        for name, i, pids, who in lapses:
            for pid in pids:
                if pid not in prov_ids:
                    raise ValueError(f"{name}[{i}].provisions: no provision {pid!r}")
            for w in who:
                if w not in pset:
                    raise ValueError(f"{name}[{i}]: unknown party {w!r}")
        for i, p in enumerate(self.provisions):
            base = getattr(p.rule, "baseline", None)
            for who in base.values if base is not None else {}:
                if who not in pset:
                    raise ValueError(f"provisions[{i}].rule.baseline.values: unknown party "
                                     f"{who!r}")
        for i, gu in enumerate(self.guarantors):
            for pid in gu.guarantees:
                if pid not in prov_ids:
                    raise ValueError(f"guarantors[{i}].guarantees: no provision {pid!r}")
        self._check_clauses(pset)
        return self

    def _check_clauses(self, parties: set[str]) -> None:
        """Every clause names provisions its guarantor guarantees and recipients that exist."""
        names = parties | {g.id for g in self.guarantors} | set(RECIPIENT_WORDS)
        if self.mediator is not None:
            names.add(self.mediator.id)
        else:
            names.discard("mediator")
        for i, gu in enumerate(self.guarantors):
            ids = [c.id for c in gu.clauses]
            if len(set(ids)) != len(ids):
                raise ValueError(f"guarantors[{i}].clauses: duplicate clause id")
            for j, c in enumerate(gu.clauses):
                where = f"guarantors[{i}].clauses[{j}]"
                for pid in c.provisions:
                    if gu.guarantees and pid not in gu.guarantees:
                        raise ValueError(f"{where}.provisions: {gu.id} does not guarantee {pid!r}")
                    if pid not in {p.id for p in self.provisions}:
                        raise ValueError(f"{where}.provisions: no provision {pid!r}")
                for field in ("notify", "escalate_to"):
                    for who in getattr(c, field):
                        if who not in names:
                            why = ("the agreement names no mediator" if who == "mediator"
                                   else "not a party, a guarantor or one of "
                                   + ", ".join(RECIPIENT_WORDS))
                            raise ValueError(f"{where}.{field}: {who!r}: {why}")

    # -- derived values ----------------------------------------------------------------------
    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local(self, value: datetime | date) -> datetime:
        """A local date/time as an aware datetime (DST applied); aware values pass through."""
        if not isinstance(value, datetime):
            value = datetime.combine(value, time(0, 0))
        if value.tzinfo is None:
            return value.replace(tzinfo=self.tz)
        return value

    @property
    def entry_into_force_at(self) -> datetime:
        return self.local(self.entry_into_force)

    def window(self, provision: Provision) -> tuple[datetime, datetime | None]:
        """[start, end) of a provision in aware datetimes; end None = open-ended."""
        eff = provision.effective
        if eff.start is not None:
            start = self.local(eff.start)
        else:
            start = self.entry_into_force_at + timedelta(days=eff.days_after_entry_into_force or 0)
        end: datetime | None
        if eff.end is not None:
            end = self.local(eff.end)
        elif eff.duration_days is not None:
            end = start + timedelta(days=eff.duration_days)
        else:
            end = None
        ext = [self.local(e.until) for e in self.extensions
               if not e.provisions or provision.id in e.provisions]
        if ext:
            end = max(ext)  # extended: the new end replaces the old one and the lapse
        elif self.expires is not None:
            lapse = self.local(self.expires)
            end = lapse if end is None else min(end, lapse)
        if end is not None and end < start:
            end = start  # starts after the agreement lapsed: an empty window
        return start, end

    def reference_line(self, party: str) -> str:
        assert self.geography is not None
        return self.geography.reference_lines.get(party, self.geography.line_of_contact)

    def reference_line_error_m(self, party: str) -> tuple[float, float]:
        """How much a party's true distance from its reference line may differ from the
        distance to the line it measures from (0, 0 where that line is the real one)."""
        assert self.geography is not None
        lo, hi = self.geography.reference_line_error_km.get(party, (0.0, 0.0))
        return lo * 1000.0, hi * 1000.0

    def provision(self, provision_id: str) -> Provision:
        for p in self.provisions:
            if p.id == provision_id:
                return p
        raise KeyError(provision_id)

    def guarantors_of(self, provision_id: str) -> list[Guarantor]:
        return [g for g in self.guarantors if not g.guarantees or provision_id in g.guarantees]

    def thresholds_km(self) -> list[float]:
        """Every distance written into the agreement: refine geodesically near each."""
        out = {r.within_km for p in self.provisions if isinstance((r := p.rule), WithdrawalRule)}
        if self.geography:
            out |= {z.within_km_of_line for z in self.geography.zones if z.within_km_of_line}
        return sorted(out)


#: Fields a nested part's validator names at the start of its message ("baseline: ..."),
#: appended to the path pydantic gives (the part's own).
_NESTED_FIELDS = frozenset({"baseline", "price_year", "values", "source", "contest_source"})


def parse_agreement(doc: Any) -> Agreement:
    """Validate a parsed YAML/JSON document; errors name the path and the reason."""
    if not isinstance(doc, dict):
        raise AgreementError("an agreement must be a mapping", field="(document)")
    try:
        return Agreement.model_validate(doc)
    except PydanticValidationError as exc:
        err = exc.errors()[0]
        loc = _path(err.get("loc", ()))
        msg = err.get("msg", "invalid").removeprefix("Value error, ")
        if not loc and ": " in msg and not msg.startswith("unknown"):
            loc, msg = msg.split(": ", 1)
        elif msg.split(": ", 1)[0].split(".")[0] in _NESTED_FIELDS:  # a part's own field
            sub, msg = msg.split(": ", 1)
            loc = f"{loc}.{sub}" if loc else sub
        raise AgreementError(msg, field=loc or "(document)") from None


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in (
            "ceasefire",
            "withdrawal",
            "prohibited_presence",
            "freedom_of_movement",
            "quantitative_limit",
            "non_accession",
            "neutrality",
            "range_ban",
        ):
            continue  # the discriminator tag pydantic inserts
        else:
            out += ("." if out else "") + str(part)
    return out


def agreement_json_schema() -> dict[str, Any]:
    schema = Agreement.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://truceline.example/schemas/agreement.schema.json"
    return schema

