"""Importers: truceline's own formats and public datasets, behind one tiny interface.

A reader takes a path or text stream and yields ``(line, item)`` pairs, ``item`` being either a
raw dict for :func:`~truceline.core.observations.parse_observation` or a
:class:`~truceline.core.observations.Rejection` for a row it could not map (a
:class:`~truceline.adapters.importers.formats.Skipped` for one it deliberately leaves out).
Dataset importers only translate columns; validation is the core's, so every source is checked
by the same rules and its errors name the same fields.

>>> from truceline.adapters.importers import iter_observations
>>> obs = iter_observations("events.jsonl", on_invalid="skip")  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterator
from typing import Literal

from truceline.adapters.importers.acled import read_acled
from truceline.adapters.importers.arms_control import read_new_start
from truceline.adapters.importers.cir import read_cir
from truceline.adapters.importers.formats import (
    RawItem,
    Skipped,
    Source,
    first_line,
    read_csv,
    read_geojson,
    read_jsonl,
    write_jsonl,
)
from truceline.adapters.importers.formats import detect_format as detect_own_format
from truceline.adapters.importers.odk import (
    read_kobo_csv,
    read_kobo_json,
    read_odk_csv,
    read_odk_json,
)
from truceline.adapters.importers.osce_smm import read_osce_smm
from truceline.adapters.importers.ucdp import read_ucdp
from truceline.core.observations import Observation, Rejection, parse_observation, safe_id
from truceline.errors import ObservationError

Reader = Callable[[Source], Iterator[RawItem]]

#: Format name → reader.
IMPORTERS: dict[str, Reader] = {
    "jsonl": read_jsonl,
    "csv": read_csv,
    "geojson": read_geojson,
    "ucdp": read_ucdp,
    "cir": read_cir,
    "newstart": read_new_start,
    "odk-csv": read_odk_csv,
    "odk-json": read_odk_json,
    "kobo-csv": read_kobo_csv,
    "kobo-json": read_kobo_json,
    "acled": read_acled,
    "osce-smm": read_osce_smm,
}

#: A CSV header containing all of these columns is that dataset, not truceline's own CSV.
_SIGNATURES: tuple[tuple[str, frozenset[str]], ...] = (
    ("ucdp", frozenset({"id", "type_of_violence", "where_prec", "date_prec", "best"})),
    ("cir", frozenset({"entry", "event_group", "arms/munition", "violence level"})),
    ("newstart", frozenset({"as_of_date", "party", "warheads_on_deployed"})),
    ("odk-csv", frozenset({"SubmissionDate", "meta-instanceID", "KEY", "SubmitterID"})),
    ("kobo-csv", frozenset({"_id", "_uuid", "_submission_time", "_submitted_by"})),
    ("acled", frozenset({"event_id_cnty", "event_type", "sub_event_type", "geo_precision"})),
    ("osce-smm", frozenset({"report_ref", "period_start_local", "period_end_local", "region"})),
)
#: A ``.json`` file whose start holds this key is that platform's export.
_JSON_SIGNATURES = (("odk-json", '"__system"'), ("kobo-json", '"_uuid"'))

__all__ = [
    "IMPORTERS",
    "RawItem",
    "Reader",
    "Skipped",
    "detect_format",
    "iter_observations",
    "read_records",
    "write_jsonl",
]


def detect_format(path: str | os.PathLike[str]) -> str:
    """The format name for a file: its extension, and for a CSV the dataset its header names."""
    if os.fspath(path).lower().endswith(".json"):
        head = _head(path)
        for name, key in _JSON_SIGNATURES:
            if key in head:
                return name
    fmt = detect_own_format(path)
    if fmt != "csv":
        return fmt
    line = first_line(path)
    try:  # KoboToolbox writes ';' by default
        header = {h.strip() for sep in ",;" for h in next(csv.reader([line], delimiter=sep), [])}
    except csv.Error:  # not a CSV header at all: reading it as one will say what is wrong
        return "csv"
    for name, columns in _SIGNATURES:
        if columns <= header:
            return name
    return "csv"


def _head(path: str | os.PathLike[str], size: int = 1 << 16) -> str:
    with open(path, "rb") as fh:
        return fh.read(size).decode("utf-8", errors="replace")


def read_records(
    source: Source, fmt: str | None = None, *, acled: Reader | None = None
) -> Iterator[RawItem]:
    """``(line, raw dict | Rejection)`` pairs from ``source`` in format ``fmt`` (or detected).

    ``acled``: the reader for an ACLED file (one with the user's actor table,
    :func:`truceline.adapters.importers.acled.reader`).
    """
    if fmt is None:
        if not isinstance(source, (str, os.PathLike)):
            raise ObservationError("needed when reading a stream", field="format")
        fmt = detect_format(source)
    if fmt == "acled" and acled is not None:
        return acled(source)
    try:
        reader = IMPORTERS[fmt]
    except KeyError:
        raise ObservationError(
            f"unknown format {fmt!r} (one of {', '.join(IMPORTERS)})", field="format"
        ) from None
    return reader(source)


def iter_observations(
    source: Source,
    fmt: str | None = None,
    *,
    on_invalid: Literal["raise", "skip"] = "raise",
) -> Iterator[Observation | Rejection]:
    """Read and validate: Observations, plus Rejections in ``skip`` mode and Skipped always.

    In ``raise`` mode the first bad row raises :class:`ObservationError` naming its line and field.
    """
    if on_invalid not in ("raise", "skip"):
        raise ObservationError("must be 'raise' or 'skip'", field="on_invalid")
    for line, item in read_records(source, fmt):
        if isinstance(item, Rejection):
            if on_invalid == "raise" and not isinstance(item, Skipped):
                raise ObservationError(item.reason, field=item.field, line=line, id=item.id)
            yield item
            continue
        try:
            yield parse_observation(item, line=line)
        except ObservationError as exc:
            if on_invalid == "raise":
                raise
            yield Rejection(line, exc.field, exc.message, safe_id(item.get("id")))
