"""Every reader, one encoding rule: UTF-8 (a byte-order mark dropped), UTF-16/32 with a mark,
cp1252 for the datasets; anything else is one EncodingError naming the file, line and byte,
raised before any record comes out (issue 11, item 7)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.encoded import DATASETS, FORMATS, SAMPLE, SUFFIX, encoded, random_bytes, text_of
from truceline.adapters.importers import detect_format, read_records
from truceline.adapters.importers.formats import detect_encoding, iter_csv_rows
from truceline.core.observations import Rejection
from truceline.errors import ERROR_TABLE, EncodingError, ObservationError, mapping_for


def _records(path: Path, fmt: str) -> list[tuple[int, object]]:
    return list(read_records(path, fmt))


def _ids(items: list[tuple[int, object]]) -> list[str | None]:
    return [r.id if isinstance(r, Rejection) else r.get("id") for _, r in items]  # type: ignore[attr-defined]


def test_encoding_error_is_a_data_error_with_a_stable_code() -> None:
    exc = EncodingError("not decodable as UTF-8", field="a.csv", line=3, offset=120)
    assert isinstance(exc, ObservationError) and exc.code == "bad_encoding"
    assert mapping_for(exc) == ERROR_TABLE[EncodingError]
    assert (mapping_for(exc).exit_code, mapping_for(exc).http_status) == (65, 422)
    assert str(exc) == "a.csv: line 3, byte 120: not decodable as UTF-8"
    assert exc.to_dict()["details"] == {"line": 3, "offset": 120}


@pytest.mark.parametrize("fmt", FORMATS)
def test_utf16_without_bom_is_refused_naming_it(fmt: str, tmp_path: Path) -> None:
    path = encoded(fmt, "utf-16-le", tmp_path)
    with pytest.raises(EncodingError) as exc:
        _records(path, fmt)
    assert exc.value.field == str(path) and exc.value.line == 1
    assert "NUL byte (UTF-16 without a byte-order mark?)" in str(exc.value)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize("fmt", FORMATS)
def test_random_bytes_are_refused_at_the_first_bad_byte(fmt: str, tmp_path: Path) -> None:
    path = encoded(fmt, "random", tmp_path)
    data = random_bytes()
    with pytest.raises(EncodingError) as exc:
        _records(path, fmt)
    first_bad = next(i for i in range(len(data)) if _bad_utf8_at(data, i))
    assert exc.value.offset == first_bad
    assert exc.value.line == data[:first_bad].count(b"\n") + 1
    assert f"0x{data[first_bad]:02x}" in exc.value.message
    assert exc.value.message.endswith("; save the file as UTF-8")
    if fmt in ("ucdp", "cir"):  # the datasets may be cp1252; these bytes are not that either
        assert "nor as cp1252" in exc.value.message


def _bad_utf8_at(data: bytes, i: int) -> bool:
    """Is ``i`` where a strict UTF-8 decoder of ``data`` first fails?"""
    try:
        data[: i + 4].decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start == i
    return False


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_corrupt_tail_is_refused_before_any_record(fmt: str, tmp_path: Path) -> None:
    """A file cut short and padded with garbage: the error names the line; nothing is read."""
    good = text_of(fmt).encode("utf-8")
    path = tmp_path / f"tail{SUFFIX.get(fmt, '.csv')}"
    path.write_bytes(good + b"\xff" + random_bytes(64))
    records = read_records(path, fmt)
    with pytest.raises(EncodingError) as exc:
        next(iter(records))
    assert exc.value.offset == len(good)
    assert exc.value.line == good.count(b"\n") + 1


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32", "utf-8-sig"])
def test_a_byte_order_mark_is_read_and_dropped(fmt: str, encoding: str, tmp_path: Path) -> None:
    if encoding == "utf-16-be":  # a big-endian mark, as some tools write
        path = tmp_path / f"be{SUFFIX.get(fmt, '.csv')}"
        path.write_bytes(b"\xfe\xff" + text_of(fmt).encode("utf-16-be"))
    else:
        path = encoded(fmt, encoding, tmp_path)
    plain = encoded(fmt, "utf-8", tmp_path)
    assert _records(path, fmt) == _records(plain, fmt)
    assert detect_format(path) == detect_format(plain)


@pytest.mark.parametrize("fmt", ["csv", *DATASETS])
def test_excel_csv_utf8_header_has_no_invisible_character(fmt: str, tmp_path: Path) -> None:
    """Excel's "CSV UTF-8" starts with a BOM: the first column must still be found by name."""
    path = encoded(fmt, "utf-8-sig", tmp_path)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    items = _records(path, fmt)
    assert items and _ids(items) == _ids(_records(encoded(fmt, "utf-8", tmp_path), fmt))
    assert not any(isinstance(r, Rejection) and "\ufeff" in (r.field or "") for _, r in items)
    # A stream someone opened as plain UTF-8 keeps the mark: the header still loses it.
    with path.open(encoding="utf-8", newline="") as fh:
        (_, first), *_ = iter_csv_rows(fh)
    assert isinstance(first, dict) and not any("\ufeff" in k for k in first)


def test_jsonl_stream_with_a_bom_reads_its_first_line() -> None:
    text = "\ufeff" + SAMPLE.read_text("utf-8")
    items = list(read_records(io.StringIO(text), "jsonl"))
    assert not any(isinstance(r, Rejection) for _, r in items) and len(items) == 23


def test_detect_encoding_names_what_it_read(tmp_path: Path) -> None:
    assert detect_encoding(encoded("ucdp", "utf-16", tmp_path)) == "utf-16"
    assert detect_encoding(encoded("ucdp", "utf-32", tmp_path)) == "utf-32"
    assert detect_encoding(encoded("cir", "utf-8-sig", tmp_path)) == "utf-8-sig"
    # cp1252 (the datasets' Windows exports) stays accepted, and decodes to the same text.
    cp = tmp_path / "cir-cp1252.csv"
    cp.write_bytes(text_of("cir").encode("cp1252", errors="replace"))
    assert detect_encoding(cp) == "cp1252"
    assert detect_format(cp) == "cir"


def test_garbage_is_told_apart_from_formats_without_crashing(tmp_path: Path) -> None:
    """Format detection peeks at a header; bytes that are no header leave it to the reader."""
    for enc in ("random", "utf-16-le"):
        path = encoded("csv", enc, tmp_path)
        assert detect_format(path) == "csv"
        with pytest.raises(EncodingError):
            _records(path, None)  # type: ignore[arg-type]
    lines = tmp_path / "garbage.json"
    lines.write_bytes(random_bytes())
    assert detect_format(lines) == "geojson"
    with pytest.raises(EncodingError):
        _records(lines, None)  # type: ignore[arg-type]
