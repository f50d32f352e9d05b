"""Readers and writer of truceline's own formats: JSON Lines, CSV, GeoJSON."""

from __future__ import annotations

import io
import itertools
import json
from pathlib import Path
from typing import TextIO, cast

import pytest

from truceline.adapters.importers import detect_format, iter_observations, read_records
from truceline.adapters.importers.formats import (
    detect_encoding,
    read_csv,
    read_geojson,
    read_jsonl,
    write_jsonl,
)
from truceline.core.observations import Observation, Rejection, parse_observation
from truceline.errors import ObservationError

from .conftest import CIR, NEW_START, UCDP_CLEAN, UCDP_MESSY

FIRE = {
    "kind": "fire",
    "time": "2025-03-20T21:05:00+02:00",
    "source_id": "mon-7",
    "fire_type": "explosion",
    "explosion_type": "impact",
    "lon": 37.8,
    "lat": 48.1,
}


def _line(i: int) -> str:
    return json.dumps({**FIRE, "id": f"o{i}"})


def test_jsonl_malformed_line_in_the_middle_keeps_its_neighbours() -> None:
    text = "\n".join([_line(1), '{"id": "o2", "kind": ', "", "[1, 2]", _line(5)]) + "\n"
    items = list(read_jsonl(io.StringIO(text)))
    # the blank line 3 is skipped, and the numbering still counts it
    assert [line for line, _ in items] == [1, 2, 4, 5]
    assert [item.get("id") for _, item in items if isinstance(item, dict)] == ["o1", "o5"]
    bad = items[1][1]
    assert isinstance(bad, Rejection) and bad.line == 2 and bad.field == "(line)"
    assert bad.reason.startswith("not valid JSON: ")
    assert isinstance(items[2][1], Rejection) and "not a JSON object" in items[2][1].reason

    out = list(iter_observations(io.StringIO(text), "jsonl", on_invalid="skip"))
    assert [o.id for o in out if isinstance(o, Observation)] == ["o1", "o5"]
    with pytest.raises(ObservationError) as exc:
        list(iter_observations(io.StringIO(text), "jsonl"))
    assert exc.value.line == 2 and exc.value.field == "(line)"
    assert "not valid JSON" in str(exc.value)


def test_jsonl_streams() -> None:
    endless = cast(TextIO, (_line(i) + "\n" for i in itertools.count(1)))
    first = list(itertools.islice(read_jsonl(endless), 3))  # would hang if it read everything
    assert [line for line, _ in first] == [1, 2, 3]


def test_jsonl_validation_errors_name_line_and_field() -> None:
    text = _line(1) + "\n" + json.dumps({**FIRE, "id": "o2", "lat": 123}) + "\n"
    out = list(iter_observations(io.StringIO(text), "jsonl", on_invalid="skip"))
    assert isinstance(out[1], Rejection)
    assert (out[1].line, out[1].field, out[1].id) == (2, "lat", "o2")


def test_csv_blank_cells_are_absent_and_lines_are_physical() -> None:
    text = (
        "id,kind,time,source_id,fire_type,explosion_type,lon,lat,description\n"
        "c1,fire,2025-03-20T19:00:00Z,m1,explosion,,37.8,48.1,\n"
        'c2,fire,2025-03-20T19:00:00Z,m1,explosion,impact,37.8,48.1,"two\nlines"\n'
        "c3,fire,2025-03-20T19:00:00Z,m1,explosion,impact,37.8,48.1,x,extra\n"
        "c4,fire,not-a-time,m1,explosion,impact,37.8,48.1,\n"
    )
    items = list(read_csv(io.StringIO(text)))
    assert [line for line, _ in items] == [2, 3, 5, 6]
    assert isinstance(items[2][1], Rejection) and items[2][1].field == "(row)"
    first = items[0][1]
    assert isinstance(first, dict)
    obs = parse_observation(first, line=2)
    assert obs.explosion_type is None and obs.description is None
    out = list(iter_observations(io.StringIO(text), "csv", on_invalid="skip"))
    assert [o.id for o in out] == ["c1", "c2", None, "c4"]
    assert isinstance(out[3], Rejection) and (out[3].line, out[3].field) == (6, "time")


def _feature(geometry: object, **props: object) -> dict[str, object]:
    return {"type": "Feature", "geometry": geometry, "properties": props}


def test_geojson_point_gives_location_unless_properties_do() -> None:
    base = {k: v for k, v in FIRE.items() if k not in ("lon", "lat")}
    doc = {
        "type": "FeatureCollection",
        "features": [
            _feature({"type": "Point", "coordinates": [37.5, 48.0]}, id="g1", **base),
            _feature({"type": "Point", "coordinates": [0, 0]}, id="g2", **FIRE),
            _feature({"type": "LineString", "coordinates": [[0, 0], [1, 1]]}, id="g3", **base),
            _feature(None, id="g4", **{**base, "kind": "civilian_harm"}),
        ],
    }
    items = list(read_geojson(io.StringIO(json.dumps(doc))))
    assert [line for line, _ in items] == [1, 2, 3, 4]
    g1, g2, g3, g4 = (item for _, item in items)
    assert isinstance(g1, dict) and (g1["lon"], g1["lat"]) == (37.5, 48.0)
    assert isinstance(g2, dict) and (g2["lon"], g2["lat"]) == (37.8, 48.1)
    assert isinstance(g3, Rejection) and g3.field == "geometry" and g3.id == "g3"
    assert isinstance(g4, dict) and "lon" not in g4
    with pytest.raises(ObservationError, match="FeatureCollection"):
        list(read_geojson(io.StringIO('{"type": "Feature"}')))


def test_write_jsonl_round_trips(tmp_path: Path) -> None:
    obs = [
        parse_observation({**FIRE, "id": "w1", "description": "Донецьк, шахта №29"}),
        parse_observation({**FIRE, "id": "w2", "time": "2025-07-01T03:00:00+03:00"}),
    ]
    path = tmp_path / "out.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        assert write_jsonl(obs, fh) == 2
    assert "Донецьк" in path.read_text(encoding="utf-8")
    back = [o for o in iter_observations(path) if isinstance(o, Observation)]
    assert back == obs
    assert back[1].to_record()["time"] == "2025-07-01T00:00:00Z"


def test_detect_format(tmp_path: Path, data_dir: Path) -> None:
    for name, fmt in [("a.jsonl", "jsonl"), ("a.ndjson", "jsonl"), ("a.geojson", "geojson")]:
        (tmp_path / name).write_text("{}\n")
        assert detect_format(tmp_path / name) == fmt
    (tmp_path / "lines.json").write_text(_line(1) + "\n" + _line(2) + "\n")
    (tmp_path / "fc.json").write_text('{\n  "type": "FeatureCollection", "features": []\n}\n')
    (tmp_path / "fc1.json").write_text('{"type": "FeatureCollection", "features": []}\n')
    (tmp_path / "own.csv").write_text("id,kind,time,source_id\n")
    assert detect_format(tmp_path / "lines.json") == "jsonl"
    assert detect_format(tmp_path / "fc.json") == "geojson"
    assert detect_format(tmp_path / "fc1.json") == "geojson"
    assert detect_format(tmp_path / "own.csv") == "csv"
    assert detect_format(data_dir / UCDP_CLEAN) == "ucdp"
    assert detect_format(data_dir / UCDP_MESSY) == "ucdp"
    assert detect_format(data_dir / CIR) == "cir"
    assert detect_format(data_dir / NEW_START) == "newstart"
    with pytest.raises(ObservationError) as exc:
        detect_format(tmp_path / "a.txt")
    assert exc.value.field == "format"


def test_read_records_needs_a_known_format() -> None:
    with pytest.raises(ObservationError, match="unknown format"):
        read_records(io.StringIO(""), "xlsx")
    with pytest.raises(ObservationError) as exc:
        read_records(io.StringIO(""))
    assert exc.value.field == "format"


def test_detect_encoding(data_dir: Path, tmp_path: Path) -> None:
    assert detect_encoding(data_dir / UCDP_CLEAN) == "utf-8-sig"
    assert detect_encoding(data_dir / UCDP_MESSY) == "cp1252"
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\x81\x8d\xff\x90")  # not UTF-8, and undefined in cp1252
    with pytest.raises(ObservationError, match="not decodable"):
        detect_encoding(bad)
