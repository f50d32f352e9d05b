"""The field form: an XLSForm for ODK Collect and KoboToolbox, built from the taxonomy and an
agreement, and checked by pyxform (the converter both platforms run on upload).

Monitors work offline on phones; the form is how a report gets there in the shape truceline
validates. Its questions are the observation's fields (:data:`QUESTIONS`), its choice lists
the taxonomy's enums, the weapon catalogue's systems and the agreement's parties, so a phone
cannot offer a value the importer would refuse. The same tables drive the importer
(:mod:`truceline.adapters.importers.odk`): a field name here is a field name there.

What the form records and why:

* ``post_id``: the post or patrol the report is from (the submitting *account* is the source;
  the post is said in the description);
* ``event_time``: a ``dateTime``, which ODK Collect and Enketo store with the phone's UTC
  offset, so no local time without an offset reaches the record;
* ``observer_position``: the phone's own GPS fix (``lat lon alt accuracy``), never the event's:
  the event is located by fusion from bearing and distance band;
* ``bearing_compass`` (the phone's compass, appearance ``bearing``) or ``bearing_typed``, joined
  in the calculated ``bearing_deg``; ``distance_band``;
* kind, fire and explosion type, count, weapon class and system, restriction kind, presence,
  civilian harm; photos in a repeat group (attachments travel with the submission).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from truceline.core.agreements import Agreement
from truceline.core.catalogue import SYSTEMS
from truceline.core.taxonomy import (
    ExplosionType,
    FireType,
    Kind,
    PresenceCategory,
    RestrictionType,
    TimePrecision,
    WeaponClass,
)
from truceline.errors import ValidationError

#: Bumped when the questions change (the form's version says agreement version and this).
FORM_REVISION = 1

#: The kinds a monitor reports from the field (declarations, inspections, status events and
#: monitoring-asset logs come by other routes).
FIELD_KINDS = (Kind.FIRE, Kind.WEAPON_SIGHTING, Kind.PRESENCE, Kind.RESTRICTION,
               Kind.CIVILIAN_HARM)

#: Distance band choice → (nearest, farthest) metres; the last band has no far bound.
DISTANCE_BANDS: dict[str, tuple[float, float | None]] = {
    "d0_500": (0.0, 500.0),
    "d500_1000": (500.0, 1000.0),
    "d1000_2000": (1000.0, 2000.0),
    "d2000_4000": (2000.0, 4000.0),
    "d4000_8000": (4000.0, 8000.0),
    "d8000_16000": (8000.0, 16000.0),
    "d16000_plus": (16000.0, None),
}

#: The choice meaning "not in the list" (system) or "not assessed" (party).
OTHER = "other"
UNKNOWN = "unknown"

_SLUG = re.compile(r"[^A-Za-z0-9]+")


def system_choice(name: str) -> str:
    """A catalogue system's choice name: XML-safe, stable as long as the name is."""
    return "s_" + _SLUG.sub("_", name).strip("_").lower()


#: Choice name → catalogue system name (the importer's way back).
SYSTEM_CHOICES: dict[str, str] = {system_choice(s.name): s.name for s in SYSTEMS}


@dataclass(frozen=True)
class Question:
    """One survey row; empty strings are blank cells."""

    type: str
    name: str
    label: str = ""
    hint: str = ""
    required: str = ""
    relevant: str = ""
    constraint: str = ""
    constraint_message: str = ""
    appearance: str = ""
    calculation: str = ""
    default: str = ""
    parameters: str = ""


_FIRE_OR_SIGHTING = "${kind}='fire' or ${kind}='weapon_sighting'"
_PARTY_KINDS = "${kind}='fire' or ${kind}='weapon_sighting' or ${kind}='presence'"
_NOT_RESTRICTION = "${kind}!='restriction'"
_DEGREES = ". >= 0 and . < 360"

#: The survey sheet, in order.
QUESTIONS: tuple[Question, ...] = (
    Question("start", "start"),
    Question("end", "end"),
    Question("deviceid", "deviceid"),
    Question("calculate", "agreement", calculation=""),  # filled per agreement
    Question("text", "post_id", "Post or patrol id", "As in the mission's asset list",
             required="yes"),
    Question("dateTime", "event_time", "When did it happen?",
             "The phone's clock and time zone are recorded with the answer", required="yes"),
    Question("select_one time_precision", "time_precision", "How exact is that time?",
             required="yes", default=TimePrecision.MINUTE.value),
    Question("geopoint", "observer_position", "Your own position",
             "The phone's GPS fix where you are, not where the event was", required="yes"),
    Question("select_one kind", "kind", "What are you reporting?", required="yes"),
    Question("begin_group", "fire", "Fire", relevant="${kind}='fire'"),
    Question("select_one fire_type", "fire_type", "What was seen or heard?", required="yes"),
    Question("select_one explosion_type", "explosion_type", "Explosion type", required="yes",
             relevant="${fire_type}='explosion'"),
    Question("integer", "count", "How many?", "One per explosion, flash, flare or burst",
             required="yes", constraint=". >= 1 and . <= 100000",
             constraint_message="between 1 and 100000", default="1"),
    Question("end_group", ""),
    Question("select_one weapon_class", "weapon_class", "Weapon class",
             required="${kind}='weapon_sighting'", relevant=_FIRE_OR_SIGHTING),
    Question("select_one system", "system", "Weapon system, if identified",
             relevant=f"({_FIRE_OR_SIGHTING}) and ${{weapon_class}}!=''"),
    Question("decimal", "calibre_mm", "Calibre (mm), if known", relevant=_FIRE_OR_SIGHTING,
             constraint=". > 0 and . <= 1000", constraint_message="0 to 1000 mm"),
    Question("select_one presence_category", "presence_category", "What was present?",
             required="yes", relevant="${kind}='presence'"),
    Question("select_one restriction_type", "restriction_type", "Restriction",
             required="yes", relevant="${kind}='restriction'"),
    Question("select_one party", "affiliation", "Whose forces (as assessed)?",
             relevant=_PARTY_KINDS),
    Question("integer", "killed", "Killed", relevant="${kind}='civilian_harm'",
             constraint=". >= 0"),
    Question("integer", "injured", "Injured", relevant="${kind}='civilian_harm'",
             constraint=". >= 0"),
    Question("decimal", "bearing_compass", "Bearing to the event (compass)",
             "Point the phone at the event", relevant=_NOT_RESTRICTION, appearance="bearing",
             constraint=_DEGREES, constraint_message="0 to 359.9 degrees"),
    Question("decimal", "bearing_typed", "Bearing to the event (typed, true degrees)",
             "Only if the compass could not be used",
             relevant=f"{_NOT_RESTRICTION} and ${{bearing_compass}}=''",
             constraint=_DEGREES, constraint_message="0 to 359.9 degrees"),
    Question("calculate", "bearing_deg",
             calculation="coalesce(${bearing_compass}, ${bearing_typed})"),
    Question("select_one distance_band", "distance_band", "Distance to the event",
             relevant=_NOT_RESTRICTION),
    Question("text", "description", "What happened", appearance="multiline"),
    Question("begin_repeat", "photos", "Photos"),
    # 2048 px keeps what a photo is evidence of and spares a field phone's upload
    Question("image", "photo", "Photo", parameters="max-pixels=2048"),
    Question("end_repeat", ""),
)

_COLUMNS = ("type", "name", "label", "hint", "required", "relevant", "constraint",
            "constraint_message", "appearance", "calculation", "default", "parameters")


def _label(value: str) -> str:
    return value.replace("_", " ").capitalize()


def choice_lists(agreement: Agreement) -> dict[str, list[tuple[str, str]]]:
    """Each choice list: (name, label) pairs, from the taxonomy, catalogue and agreement."""
    parties = [(p.id, f"{p.name} ({p.id})") for p in agreement.parties]
    return {
        "time_precision": [(p.value, _label(p.value)) for p in TimePrecision
                           if p in (TimePrecision.MINUTE, TimePrecision.HOUR, TimePrecision.DAY)],
        "kind": [(k.value, _label(k.value)) for k in FIELD_KINDS],
        "fire_type": [(f.value, _label(f.value)) for f in FireType],
        "explosion_type": [(e.value, _label(e.value)) for e in ExplosionType],
        "weapon_class": [(w.value, _label(w.value)) for w in WeaponClass],
        "system": [(system_choice(s.name), s.name) for s in SYSTEMS]
        + [(OTHER, "Other or not in the list")],
        "presence_category": [(p.value, _label(p.value)) for p in PresenceCategory],
        "restriction_type": [(r.value, _label(r.value)) for r in RestrictionType],
        "party": [*parties, (UNKNOWN, "Not assessed")],
        "distance_band": [
            (n, f"{lo / 1000:g}-{hi / 1000:g} km" if hi else f"over {lo / 1000:g} km")
            for n, (lo, hi) in DISTANCE_BANDS.items()
        ],
    }


def form_id(agreement: Agreement) -> str:
    """The XForm id: the agreement's id, as an XML name."""
    return "truceline_" + _SLUG.sub("_", agreement.id).strip("_")


def form_version(agreement: Agreement) -> str:
    return f"{agreement.version}.{FORM_REVISION}"


def _survey(agreement: Agreement) -> Iterable[Question]:
    for q in QUESTIONS:
        if q.name == "agreement":
            yield Question("calculate", "agreement", calculation=f"'{agreement.id}'")
        else:
            yield q


def build_xlsform(agreement: Agreement) -> bytes:
    """The XLSForm workbook (survey, choices, settings sheets) as .xlsx bytes."""
    from openpyxl import Workbook

    wb = Workbook()
    survey = wb.active
    assert survey is not None
    survey.title = "survey"
    survey.append(list(_COLUMNS))
    for q in _survey(agreement):
        survey.append([getattr(q, c) for c in _COLUMNS])
    choices = wb.create_sheet("choices")
    choices.append(["list_name", "name", "label"])
    for list_name, rows in choice_lists(agreement).items():
        for name, label in rows:
            choices.append([list_name, name, label])
    settings = wb.create_sheet("settings")
    settings.append(["form_title", "form_id", "version", "instance_name"])
    settings.append([f"Truceline field report: {agreement.title}"[:200], form_id(agreement),
                     form_version(agreement), "concat(${post_id}, ' ', ${kind})"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def to_xform(xlsx: bytes) -> str:
    """Convert an XLSForm to XForm XML with pyxform (no Java: ODK Validate is not run).

    Raises :class:`ValidationError` (field ``form``) with pyxform's message if it refuses.
    """
    from pyxform.errors import PyXFormError
    from pyxform.xls2xform import convert

    try:
        result = convert(xlsform=io.BytesIO(xlsx), file_type=".xlsx", validate=False)
    except PyXFormError as exc:
        raise ValidationError(f"pyxform refused the form: {exc}", field="form") from None
    return str(result.xform)


def form_fields() -> dict[str, Any]:
    """Every answer's name → its XLSForm type (the importer's list of what a submission has)."""
    return {q.name: q.type for q in QUESTIONS
            if q.name and q.type not in ("begin_group", "begin_repeat")}
