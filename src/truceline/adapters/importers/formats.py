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

A path is decoded by one rule for every reader (:func:`open_text`): checked whole first, UTF-8 or
a byte-order-marked UTF-16/32 (plus cp1252 for the datasets), else an
:class:`~truceline.errors.EncodingError` naming the file, line and byte before any record.
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
from truceline.errors import EncodingError, ObservationError


@dataclass
class Skipped(Rejection):
    """A row deliberately not imported (e.g. a blank value that is not a zero).

    Reported as *skipped*, never as a rejection or an error: ``on_invalid="raise"`` lets it
    through, and the CLI lists it apart and leaves the exit code alone.
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


#: Byte-order marks and the codec that reads (and drops) each; UTF-32 LE before UTF-16 LE,
#: whose mark is its prefix.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
#: What a dataset CSV may be in when no byte-order mark says otherwise.
DATASET_ENCODINGS = ("utf-8-sig", "cp1252")
_NAMES = {"utf-8-sig": "UTF-8", "utf-16": "UTF-16", "utf-32": "UTF-32"}


def bom_encoding(head: bytes) -> str | None:
    """The codec a byte-order mark at the start of ``head`` calls for, or None."""
    for bom, enc in _BOMS:
        if head.startswith(bom):
            return enc
    return None


def _scan(path: str | os.PathLike[str], enc: str) -> EncodingError | None:
    """Decode the whole file (1 MiB chunks); the first undecodable byte or NUL, or None.

    A NUL is refused although it decodes: no text format truceline reads has one, it is what
    UTF-16 without a byte-order mark looks like when read as UTF-8, and PostgreSQL cannot
    store it in a text column.
    """
    decoder = codecs.getincrementaldecoder(enc)()
    wide = enc in ("utf-16", "utf-32")  # a NUL byte is part of a character there
    name = os.fspath(path)
    pos, lines, head = 0, 1, b""

    def nul_error(line: int, offset: int | None) -> EncodingError:
        utf16 = not wide and len(head) >= 4 and 0 in (head[0] | head[2], head[1] | head[3])
        hint = "UTF-16 without a byte-order mark?" if utf16 else "not a text file?"
        return EncodingError(
            f"not decodable as text: a NUL byte ({hint})", field=name, line=line, offset=offset
        )

    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(_CHUNK)
            head = head or chunk[:4]
            pending = decoder.getstate()[0]
            nul = -1 if wide else chunk.find(b"\x00")
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                data = pending + chunk
                if nul >= 0 and len(pending) + nul < exc.start:
                    return nul_error(lines + chunk[:nul].count(b"\n"), pos + nul)
                bad = data[exc.start : exc.start + 1]
                return EncodingError(
                    f"not decodable as {_NAMES.get(enc, enc)} (0x{bad.hex()}: {exc.reason})",
                    field=name,
                    line=lines + data[: exc.start].count(b"\n"),
                    offset=pos - len(pending) + exc.start,
                )
            if nul >= 0:
                return nul_error(lines + chunk[:nul].count(b"\n"), pos + nul)
            if wide and (at := text.find("\x00")) >= 0:
                return nul_error(lines + text[:at].count("\n"), None)
            lines += text.count("\n")
            if not chunk:
                return None
            pos += len(chunk)


def detect_encoding(
    path: str | os.PathLike[str], candidates: Iterable[str] = DATASET_ENCODINGS
) -> str:
    """The first of ``candidates`` that decodes the whole file (streamed in 1 MiB chunks).

    A byte-order mark decides alone (UTF-8, UTF-16 or UTF-32; the codec drops it). Else UTF-8
    first because it is strict (cp1252 text almost never decodes as UTF-8 by accident);
    cp1252 after because it is what spreadsheet exports on Windows produce. ``utf-8-sig``
    also drops a UTF-8 byte-order mark. A file with a NUL byte is not text in any of them.
    Raises :class:`~truceline.errors.EncodingError` (an ObservationError naming the file and
    the line and byte offset of the first candidate's first problem) when none fits.
    """
    with open(path, "rb") as fh:
        bom = bom_encoding(fh.read(4))
    tried = (bom,) if bom else tuple(candidates)
    first: EncodingError | None = None
    for enc in tried:
        problem = _scan(path, enc)
        if problem is None:
            return enc
        first = first or problem
    assert first is not None
    message = first.message
    if len(tried) > 1 and "NUL" not in message:
        message += " nor as " + ", ".join(_NAMES.get(e, e) for e in tried[1:])
    raise EncodingError(
        message + "; save the file as UTF-8",
        field=first.field,
        line=first.line,
        offset=first.offset,
    )


def _candidates(encoding: str | None) -> tuple[str, ...]:
    if encoding is None:
        return DATASET_ENCODINGS
    if codecs.lookup(encoding).name in ("utf-8", "utf-8-sig"):
        return ("utf-8-sig",)  # a UTF-8 byte-order mark (Excel's "CSV UTF-8") is dropped
    return (encoding,)


@contextmanager
def open_text(source: Source, encoding: str | None = "utf-8") -> Iterator[TextIO]:
    """Yield a text stream for a path, or the stream itself.

    A path is checked whole before anything is read from it (see :func:`detect_encoding`):
    ``encoding`` "utf-8" (the default) reads UTF-8 with or without a byte-order mark, or
    UTF-16/UTF-32 with one; ``None`` also allows cp1252. A file that is not text in these
    raises :class:`~truceline.errors.EncodingError` before any record is yielded.
    """
    if isinstance(source, (str, os.PathLike)):
        enc = detect_encoding(source, _candidates(encoding))
        with open(source, encoding=enc, newline="") as fh:
            yield fh
    else:
        yield source


def first_line(path: str | os.PathLike[str], size: int = 1 << 16) -> str:
    """The first line of a file, decoded leniently (for telling formats apart, not reading)."""
    with open(path, "rb") as fh:
        head = fh.read(size)
    text = head.decode(bom_encoding(head) or "utf-8-sig", errors="replace")
    return re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]


def iter_csv_rows(stream: TextIO) -> Iterator[tuple[int, dict[str, str]] | tuple[int, Rejection]]:
    """Rows of a headed CSV as ``(start line, {column: cell})``; ragged rows become rejections."""
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        return
    header = [h.strip() for h in header]
    if header:  # a stream opened as plain UTF-8 keeps a byte-order mark: not part of a name
        header[0] = header[0].lstrip("\ufeff").strip()
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
            if n == 1:
                text = text.lstrip("\ufeff")
            if not text.strip():
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                yield n, Rejection(n, "(line)", f"not valid JSON: {exc.msg} at column {exc.colno}")
                continue
            except RecursionError:
                yield n, Rejection(n, "(line)", "not valid JSON: nested too deeply to read")
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
        except RecursionError:
            raise ObservationError("not valid JSON: nested too deeply to read",
                                   field="(file)") from None
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
        try:
            value = json.loads(first_line(path))
        except (json.JSONDecodeError, RecursionError):
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
