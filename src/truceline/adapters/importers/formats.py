"""Readers and a writer for truceline's own observation formats: JSON Lines, CSV, GeoJSON.

Every reader is a generator of ``(line, item)`` pairs, where ``item`` is either a raw dict for
:func:`truceline.core.observations.parse_observation` or a :class:`Rejection` for input that is not
even a record (a line that is not JSON, a CSV row with more cells than the header, a feature
without a usable geometry). Yielding the rejection in-band, rather than raising, keeps the valid
neighbours of a bad line flowing and lets the caller choose ``raise`` or ``skip`` in one place
(:func:`truceline.adapters.importers.iter_observations`).

``line`` is the physical line where the record starts (the CSV header is line 1; a quoted cell
may span lines), or for GeoJSON the feature's index + 1. JSON Lines and CSV are streamed; GeoJSON
is one JSON document and is parsed whole.
"""

from __future__ import annotations

import codecs
import csv
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from truceline.core.observations import Observation, Rejection
from truceline.errors import ObservationError


@dataclass
class Skipped(Rejection):
    """A row deliberately not imported (e.g. a blank value that is not a zero).

    Reported like a rejection, but never an error: ``on_invalid="raise"`` lets it through.
    """

    deliberate = True


#: A path or an already-open text stream.
Source = str | os.PathLike[str] | TextIO
#: One reader output: where it was, and a raw record or the reason it is not one.
RawItem = tuple[int, dict[str, Any] | Rejection]

_CHUNK = 1 << 20

#: Dataset dates are Ukrainian calendar days; they are pinned to local noon (EET/EEST).
KYIV = ZoneInfo("Europe/Kyiv")
_INVISIBLE = re.compile(r"[\u200b-\u200d\u2060\ufeff]")


def local_noon(day: date) -> datetime:
    """Noon in Kyiv on ``day``: the centre of the day, so a ``day`` precision window covers it."""
    return datetime.combine(day, time(12, 0), tzinfo=KYIV)


def clean_text(text: str, limit: int = 1000) -> str:
    """Zero-width characters dropped, whitespace collapsed, cut to ``limit`` with an ellipsis."""
    out = " ".join(_INVISIBLE.sub("", text).split())
    return out if len(out) <= limit else out[: limit - 1].rstrip() + "…"


def detect_encoding(
    path: str | os.PathLike[str], candidates: Iterable[str] = ("utf-8-sig", "cp1252")
) -> str:
    """The first of ``candidates`` that decodes the whole file (streamed in 1 MiB chunks).

    UTF-8 first because it is strict (cp1252 text almost never decodes as UTF-8 by accident);
    cp1252 after because it is what spreadsheet exports on Windows produce. ``utf-8-sig`` also
    drops a byte-order mark. Raises :class:`ObservationError` when none fits.
    """
    for enc in candidates:
        decoder = codecs.getincrementaldecoder(enc)()
        try:
            with open(path, "rb") as fh:
                while chunk := fh.read(_CHUNK):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return enc
    raise ObservationError(f"not decodable as any of {', '.join(candidates)}", field="(file)")


@contextmanager
def open_text(source: Source, encoding: str | None = "utf-8") -> Iterator[TextIO]:
    """Yield a text stream for a path (opened with ``encoding``; ``None`` = detect) or a stream."""
    if isinstance(source, (str, os.PathLike)):
        enc = encoding or detect_encoding(source)
        with open(source, encoding=enc, newline="") as fh:
            yield fh
    else:
        yield source


def iter_csv_rows(stream: TextIO) -> Iterator[tuple[int, dict[str, str]] | tuple[int, Rejection]]:
    """Rows of a headed CSV as ``(start line, {column: cell})``; ragged rows become rejections."""
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        return
    header = [h.strip() for h in header]
    end = reader.line_num
    for row in reader:
        start, end = end + 1, reader.line_num
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) > len(header):
            yield start, Rejection(start, "(row)", f"{len(row)} cells but {len(header)} columns")
            continue
        yield start, dict(zip(header, row + [""] * (len(header) - len(row)), strict=True))


def read_jsonl(source: Source) -> Iterator[RawItem]:
    """One JSON object per line; blank lines are skipped, line numbers still count them."""
    with open_text(source) as fh:
        for n, text in enumerate(fh, start=1):
            if not text.strip():
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                yield n, Rejection(n, "(line)", f"not valid JSON: {exc.msg} at column {exc.colno}")
                continue
            if not isinstance(value, dict):
                yield n, Rejection(n, "(line)", f"not a JSON object but {type(value).__name__}")
                continue
            yield n, value


def read_csv(source: Source) -> Iterator[RawItem]:
    """A CSV whose header row is Observation field names; a blank cell means absent."""
    with open_text(source) as fh:
        yield from iter_csv_rows(fh)


def read_geojson(source: Source) -> Iterator[RawItem]:
    """A FeatureCollection: a Point gives ``lon``/``lat`` unless the properties already do."""
    with open_text(source) as fh:
        try:
            doc = json.load(fh)
        except json.JSONDecodeError as exc:
            raise ObservationError(
                f"not valid JSON: {exc.msg}", field="(file)", line=exc.lineno
            ) from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise ObservationError("not a GeoJSON FeatureCollection", field="type")
    features = doc.get("features")
    if not isinstance(features, list):
        raise ObservationError("must be a list", field="features")
    for i, feature in enumerate(features, start=1):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            yield i, Rejection(i, "(feature)", "not a GeoJSON Feature")
            continue
        props = feature.get("properties") or {}
        if not isinstance(props, dict):
            yield i, Rejection(i, "properties", "must be an object")
            continue
        record = dict(props)
        if "id" not in record and isinstance(feature.get("id"), (str, int)):
            record["id"] = str(feature["id"])
        geom = feature.get("geometry")
        if geom is not None and ("lon" not in record or "lat" not in record):
            coords = geom.get("coordinates") if isinstance(geom, dict) else None
            if not isinstance(geom, dict) or geom.get("type") != "Point":
                kind = geom.get("type") if isinstance(geom, dict) else type(geom).__name__
                yield i, Rejection(i, "geometry", f"must be a Point, not {kind}", record.get("id"))
                continue
            if not (isinstance(coords, list) and len(coords) >= 2):
                yield i, Rejection(i, "geometry", "Point needs [lon, lat]", record.get("id"))
                continue
            record["lon"], record["lat"] = coords[0], coords[1]
        yield i, record


def detect_format(path: str | os.PathLike[str]) -> str:
    """``jsonl``, ``csv`` or ``geojson`` from the extension; ``.json`` is peeked at.

    A ``.json`` file whose first line is a complete JSON object is JSON Lines unless that object
    is a FeatureCollection; anything else (a pretty-printed document) is taken as GeoJSON.
    """
    suffix = Path(path).suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    if suffix == ".geojson":
        return "geojson"
    if suffix == ".json":
        with open(path, encoding="utf-8-sig") as fh:
            first = fh.readline()
        try:
            value = json.loads(first)
        except json.JSONDecodeError:
            return "geojson"
        if isinstance(value, dict) and value.get("type") != "FeatureCollection":
            return "jsonl"
        return "geojson"
    raise ObservationError(
        f"cannot tell the format of {Path(path).name!r}; give it explicitly", field="format"
    )


def write_jsonl(observations: Iterable[Observation], stream: TextIO) -> int:
    """Write one ``Observation.to_record()`` per line (UTF-8 text, not ASCII-escaped); the count."""
    n = 0
    for obs in observations:
        stream.write(json.dumps(obs.to_record(), ensure_ascii=False, separators=(",", ":")))
        stream.write("\n")
        n += 1
    return n


def read_mapped_csv(
    source: Source, encoding: str | None, map_row: Callable[[int, dict[str, str]], Iterable[Any]]
) -> Iterator[RawItem]:
    """Stream a dataset CSV through its row mapper; unreadable rows pass through as rejections."""
    with open_text(source, encoding) as fh:
        for line, row in iter_csv_rows(fh):
            if isinstance(row, Rejection):
                yield line, row
                continue
            for item in map_row(line, row):
                yield line, item
