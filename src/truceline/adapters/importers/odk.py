"""ODK Central and KoboToolbox exports of the field form → observations.

The form (:mod:`truceline.adapters.forms`) names its answers after the observation's fields, so
the mapping (:func:`map_submission`) is one table for both platforms; what differs is only how
each export spells a submission:

* **ODK Central CSV** (``odk-csv``, the root table of the ZIP export): groups joined with ``-``
  (``fire-fire_type``), a geopoint split into ``…-Latitude``/``-Longitude``/``-Altitude``/
  ``-Accuracy``, metadata ``SubmissionDate``, ``meta-instanceID``, ``KEY``, ``SubmitterID``,
  ``SubmitterName``, ``ReviewState``, ``Edits``. A repeat group is a sibling file
  ``<form>-<repeat>.csv`` whose rows point to their submission by ``PARENT_KEY``.
* **ODK Central JSON** (``odk-json``, the OData feed ``{"value": [...]}``): groups nested,
  a geopoint as GeoJSON (``coordinates`` lon, lat, alt; ``properties.accuracy``), metadata in
  ``__id`` and ``__system`` (``submitterName``, ``reviewState``, ``edits``), repeats inline
  when expanded.
* **KoboToolbox CSV** (``kobo-csv``, ``;`` or ``,``): groups joined with ``/``, a geopoint as
  the string ``lat lon alt accuracy`` (plus ``_<name>_latitude`` … columns), metadata ``_id``,
  ``_uuid``, ``_submission_time``, ``_submitted_by``, ``_validation_status``, ``__version__``.
* **KoboToolbox JSON** (``kobo-json``, the data API's ``{"results": [...]}`` or a list): keys
  are group paths (``fire/fire_type``), the geopoint a ``lat lon alt accuracy`` string,
  repeats inline, ``meta/instanceID``, ``meta/deprecatedID``, ``meta/rootUuid``.

**Versions, never overwrites.** Each version of a submission is its own observation. Central
keeps the first ``instanceID`` as the submission's ``KEY`` and counts ``Edits``: version *n*
is ``odk-<KEY>-edit<n>`` and ``supersedes`` version *n-1*. Kobo gives each edit a new
``_uuid`` and names the one before in ``meta/deprecatedID``: ``kobo-<_uuid>`` supersedes
``kobo-<deprecatedID>``. The record keeps both; only the latest is counted
(:func:`truceline.core.resubmissions.superseded`). Importing the same export again adds
nothing (same ids, same content).

**The account is the source.** ``source_id`` is ``odk:<SubmitterName>`` or
``kobo:<_submitted_by>``; the post or patrol id goes into the description. An anonymous Kobo
submission has no account and is rejected. A submission rejected on review (Central
``ReviewState`` rejected, Kobo "Not approved") is :class:`Skipped`, not imported.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from truceline.adapters.forms import DISTANCE_BANDS, FIELD_KINDS, OTHER, SYSTEM_CHOICES, UNKNOWN
from truceline.adapters.importers.formats import RawItem, Skipped, Source, clean_text, open_text
from truceline.core.observations import Rejection
from truceline.core.taxonomy import (
    ExplosionType,
    FireType,
    PresenceCategory,
    RestrictionType,
    SourceType,
    TimePrecision,
    WeaponClass,
)
from truceline.errors import ObservationError

ODK, KOBO = "odk-central", "kobotoolbox"
_CHOICES: dict[str, set[str]] = {
    "kind": {k.value for k in FIELD_KINDS},
    "fire_type": {f.value for f in FireType},
    "explosion_type": {e.value for e in ExplosionType},
    "weapon_class": {w.value for w in WeaponClass},
    "presence_category": {p.value for p in PresenceCategory},
    "restriction_type": {r.value for r in RestrictionType},
    "time_precision": {t.value for t in TimePrecision},
}
#: Form answers copied as they are (after the choice check) into the observation.
_COPIED = ("kind", "fire_type", "explosion_type", "weapon_class", "presence_category",
           "restriction_type", "time_precision")
_NUMBERS = {"count": int, "killed": int, "injured": int, "calibre_mm": float,
            "bearing_deg": float, "bearing_compass": float, "bearing_typed": float}


class _Bad(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field, self.reason = field, reason


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def parse_geopoint(
    value: Any, field: str = "observer_position"
) -> tuple[float, float, float | None]:
    """(lat, lon, accuracy) from ``"lat lon alt accuracy"`` (ODK/Kobo) or a GeoJSON Point."""
    if isinstance(value, dict):
        coords = value.get("coordinates")
        if value.get("type") != "Point" or not isinstance(coords, list) or len(coords) < 2:
            raise _Bad(field, "not a GeoJSON Point with coordinates")
        acc = (value.get("properties") or {}).get("accuracy")
        try:
            return float(coords[1]), float(coords[0]), None if acc is None else float(acc)
        except (TypeError, ValueError):
            raise _Bad(field, f"not numbers: {coords!r}") from None
    parts = _text(value).split()
    if not parts:
        raise _Bad(field, "missing")
    if len(parts) not in (2, 3, 4):
        raise _Bad(field, f"not 'lat lon alt accuracy': {_text(value)!r}")
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        raise _Bad(field, f"not 'lat lon alt accuracy': {_text(value)!r}") from None
    return nums[0], nums[1], nums[3] if len(nums) == 4 else None


def _number(fields: Mapping[str, Any], name: str) -> float | int | None:
    text = _text(fields.get(name))
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise _Bad(name, f"not a number: {text!r}") from None
    if _NUMBERS[name] is int:
        if value != int(value):
            raise _Bad(name, f"not a whole number: {text!r}")
        return int(value)
    return value


def map_submission(
    fields: Mapping[str, Any],
    *,
    obs_id: str,
    source: str,
    dataset: str,
    ref: str,
    supersedes: str | None = None,
    photos: list[str] | None = None,
) -> dict[str, Any]:
    """One submission's answers (flat: name → value) → a raw observation record.

    Raises ``_Bad(form field, reason)`` for an answer the form could not have given.
    """
    rec: dict[str, Any] = {"id": obs_id, "source_id": source,
                           "source_type": SourceType.MONITOR.value, "dataset": dataset,
                           "dataset_ref": ref, "supersedes": supersedes}
    for name in _COPIED:
        value = _text(fields.get(name))
        if value and value not in _CHOICES[name]:
            raise _Bad(name, f"not a choice of the form: {value!r}")
        rec[name] = value or None
    if rec["kind"] is None:
        raise _Bad("kind", "missing")
    rec["time"] = _text(fields.get("event_time")) or None
    if rec["time"] is None:
        raise _Bad("event_time", "missing")
    lat, lon, accuracy = parse_geopoint(fields.get("observer_position"))
    rec["observer_lat"], rec["observer_lon"] = lat, lon
    for name in ("count", "killed", "injured", "calibre_mm"):
        rec[name] = _number(fields, name)
    bearing = _number(fields, "bearing_deg")
    if bearing is None:  # an export without the calculated answer
        bearing = _number(fields, "bearing_compass")
        if bearing is None:
            bearing = _number(fields, "bearing_typed")
    rec["bearing_deg"] = bearing
    band = _text(fields.get("distance_band"))
    if band:
        if band not in DISTANCE_BANDS:
            raise _Bad("distance_band", f"not a choice of the form: {band!r}")
        lo, hi = DISTANCE_BANDS[band]
        rec["distance_min_m"], rec["distance_max_m"] = lo, hi
    system = _text(fields.get("system"))
    if system and system != OTHER:
        if system not in SYSTEM_CHOICES:
            raise _Bad("system", f"not a choice of the form: {system!r}")
        rec["system"] = SYSTEM_CHOICES[system]
    party = _text(fields.get("affiliation"))
    rec["affiliation"] = party if party and party != UNKNOWN else None
    post = _text(fields.get("post_id"))
    if not post:
        raise _Bad("post_id", "missing")
    notes = [f"post/patrol {post}", _text(fields.get("description"))]
    if accuracy is not None:
        notes.append(f"GPS accuracy {accuracy:g} m")
    if photos:
        notes.append("photos: " + ", ".join(photos))
    rec["description"] = clean_text(" | ".join(n for n in notes if n), limit=5000)
    return {k: v for k, v in rec.items() if v is not None}


def _strip_uuid(value: str) -> str:
    return value.removeprefix("uuid:").strip()


def _record_or_rejection(line: int, obs_id: str | None, make: Any) -> dict[str, Any] | Rejection:
    try:
        out: dict[str, Any] = make()
    except _Bad as bad:
        return Rejection(line, bad.field, bad.reason, obs_id)
    return out


# -- ODK Central ---------------------------------------------------------------------------------


def _central_id(key: str, edits: int) -> str:
    base = f"odk-{_strip_uuid(key)}"
    return base if edits == 0 else f"{base}-edit{edits}"


def _edits(value: Any) -> int:
    text = _text(value) or "0"
    if not text.isdigit():
        raise _Bad("Edits", f"not a count: {text!r}")
    return int(text)


def _last(name: str, sep: str) -> str:
    return name.rsplit(sep, 1)[-1]


def _repeat_rows(path: Path) -> dict[str, list[str]]:
    """Central's repeat tables next to ``path``: PARENT_KEY → the image answers (file names)."""
    out: dict[str, list[str]] = {}
    for sib in sorted(path.parent.glob(f"{path.stem}-*.csv")):
        with open_text(sib) as fh:
            for row in csv.DictReader(fh):
                parent = _text(row.get("PARENT_KEY"))
                for col, value in row.items():
                    if col and _last(col, "-") == "photo" and _text(value):
                        out.setdefault(parent, []).append(_text(value))
    return out


def _central_row(line: int, row: dict[str, str], photos: dict[str, list[str]]) -> RawItem:
    key = _text(row.get("KEY"))
    if not key:
        return line, Rejection(line, "KEY", "missing: the submission has no id")
    try:
        edits = _edits(row.get("Edits"))
    except _Bad as bad:
        return line, Rejection(line, bad.field, bad.reason, f"odk-{_strip_uuid(key)}")
    obs_id = _central_id(key, edits)
    if _text(row.get("ReviewState")).lower() == "rejected":
        return line, Skipped(line, "ReviewState", "skipped: rejected on review", obs_id)
    fields: dict[str, Any] = {}
    for col, value in row.items():
        if col:
            fields[_last(col, "-")] = value
    lat, lon = _text(row.get("observer_position-Latitude")), _text(
        row.get("observer_position-Longitude"))
    if lat or lon:
        fields["observer_position"] = " ".join(
            x for x in (lat, lon, _text(row.get("observer_position-Altitude")),
                        _text(row.get("observer_position-Accuracy"))) if x)
    submitter = _text(row.get("SubmitterName")) or _text(row.get("SubmitterID"))
    if not submitter:
        return line, Rejection(line, "SubmitterName", "missing: no account to be the source",
                               obs_id)
    return line, _record_or_rejection(line, obs_id, lambda: map_submission(
        fields, obs_id=obs_id, source=f"odk:{submitter}", dataset=ODK,
        ref=_text(row.get("meta-instanceID")) or key,
        supersedes=_central_id(key, edits - 1) if edits else None,
        photos=photos.get(key)))


def read_odk_csv(source: Source) -> Iterator[RawItem]:
    """The root table of an ODK Central CSV export (repeat tables found beside a path)."""
    photos = _repeat_rows(Path(source)) if isinstance(source, (str, os.PathLike)) else {}
    with open_text(source) as fh:
        reader = csv.DictReader(fh)
        end = 1
        for row in reader:
            start, end = end + 1, reader.line_num
            if None in row:
                yield start, Rejection(start, "(row)", "more cells than columns")
                continue
            yield _central_row(start, row, photos)


def _flatten(node: Mapping[str, Any], out: dict[str, Any], photos: list[str]) -> None:
    """Nested groups (Central JSON) or path keys (Kobo JSON) → last name → value."""
    for key, value in node.items():
        name = _last(_last(key, "/"), ".")
        if isinstance(value, dict) and value.get("type") != "Point":
            _flatten(value, out, photos)
        elif isinstance(value, list):  # an expanded repeat group
            for item in value:
                if isinstance(item, dict):
                    sub: dict[str, Any] = {}
                    _flatten(item, sub, photos)
                    if _text(sub.get("photo")):
                        photos.append(_text(sub["photo"]))
        else:
            out[name] = value


def _load_json(source: Source) -> Any:
    with open_text(source) as fh:
        try:
            return json.load(fh)
        except json.JSONDecodeError as exc:
            raise ObservationError(f"not valid JSON: {exc.msg}", field="(file)",
                                   line=exc.lineno) from None
        except RecursionError:
            raise ObservationError("not valid JSON: nested too deeply to read",
                                   field="(file)") from None


def _submissions(doc: Any, key: str) -> list[Any]:
    items = doc.get(key) if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise ObservationError(f"must be a list of submissions ({key!r})", field=key)
    return items


def read_odk_json(source: Source) -> Iterator[RawItem]:
    """An ODK Central OData submissions document (``{"value": [...]}``)."""
    for i, sub in enumerate(_submissions(_load_json(source), "value"), start=1):
        if not isinstance(sub, dict):
            yield i, Rejection(i, "(submission)", "not a JSON object")
            continue
        system: dict[str, Any] = sub["__system"] if isinstance(sub.get("__system"), dict) else {}
        key = _text(sub.get("__id"))
        if not key:
            yield i, Rejection(i, "__id", "missing: the submission has no id")
            continue
        try:
            edits = _edits(system.get("edits"))
        except _Bad as bad:
            yield i, Rejection(i, "__system.edits", bad.reason)
            continue
        obs_id = _central_id(key, edits)
        if _text(system.get("reviewState")).lower() == "rejected":
            yield i, Skipped(i, "__system.reviewState", "skipped: rejected on review", obs_id)
            continue
        submitter = _text(system.get("submitterName")) or _text(system.get("submitterId"))
        if not submitter:
            yield i, Rejection(i, "__system.submitterName", "missing: no account to be the "
                               "source", obs_id)
            continue
        fields: dict[str, Any] = {}
        photos: list[str] = []
        _flatten({k: v for k, v in sub.items() if not k.startswith("__")}, fields, photos)
        ref = _text(fields.get("instanceID")) or key
        yield i, _record_or_rejection(i, obs_id, lambda f=fields, p=photos, o=obs_id, s=submitter,
                                      r=ref, e=edits, k=key: map_submission(
            f, obs_id=o, source=f"odk:{s}", dataset=ODK, ref=r,
            supersedes=_central_id(k, e - 1) if e else None, photos=p))


# -- KoboToolbox ---------------------------------------------------------------------------------


def _kobo_record(
    line: int, fields: dict[str, Any], photos: list[str]
) -> dict[str, Any] | Rejection:
    uuid = _strip_uuid(_text(fields.get("_uuid")) or _text(fields.get("instanceID")))
    if not uuid:
        return Rejection(line, "_uuid", "missing: the submission has no id")
    obs_id = f"kobo-{uuid}"
    status = fields.get("_validation_status")
    if isinstance(status, dict):
        status = status.get("uid")
    if _text(status) in ("validation_status_not_approved", "Not approved"):
        return Skipped(line, "_validation_status", "skipped: not approved on review", obs_id)
    account = _text(fields.get("_submitted_by"))
    if not account:
        return Rejection(line, "_submitted_by", "missing: an anonymous submission has no "
                         "account to be its source", obs_id)
    old = _strip_uuid(_text(fields.get("deprecatedID")))
    return _record_or_rejection(line, obs_id, lambda: map_submission(
        fields, obs_id=obs_id, source=f"kobo:{account}", dataset=KOBO, ref=f"uuid:{uuid}",
        supersedes=f"kobo-{old}" if old else None, photos=photos))


def read_kobo_json(source: Source) -> Iterator[RawItem]:
    """KoboToolbox's data API JSON (``{"results": [...]}``) or a plain list of submissions."""
    for i, sub in enumerate(_submissions(_load_json(source), "results"), start=1):
        if not isinstance(sub, dict):
            yield i, Rejection(i, "(submission)", "not a JSON object")
            continue
        fields: dict[str, Any] = {}
        photos: list[str] = []
        _flatten({k: v for k, v in sub.items() if k != "_attachments"}, fields, photos)
        for k in ("_uuid", "_submitted_by", "_validation_status"):  # kept whole
            fields[k] = sub.get(k)
        yield i, _kobo_record(i, fields, photos)


def read_kobo_csv(source: Source) -> Iterator[RawItem]:
    """KoboToolbox's CSV export (``;`` or ``,``, group separator ``/``)."""
    with open_text(source) as fh:
        head = fh.readline()
        delimiter = ";" if head.count(";") > head.count(",") else ","
        header = next(csv.reader([head], delimiter=delimiter), [])
        reader = csv.DictReader(fh, fieldnames=[h.strip().lstrip("\ufeff") for h in header],
                                delimiter=delimiter)
        end = 1
        for row in reader:
            start, end = end + 1, reader.line_num + 1
            if None in row:
                yield start, Rejection(start, "(row)", "more cells than columns")
                continue
            fields = {_last(k, "/"): v for k, v in row.items() if k}
            yield start, _kobo_record(start, fields, [])
