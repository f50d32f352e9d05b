"""Real inputs in the encodings users send: the shipped example and the real datasets, re-encoded.

Nothing here is invented: each file is the March 2025 example (as JSON Lines, or written out as
our CSV or GeoJSON) or a trimmed real dataset from ``tests/data``, in another encoding. Only
"random bytes" are random (seeded, so every run sees the same bytes).
"""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "src" / "truceline" / "examples" / "march2025_sample.jsonl"
DATA = ROOT / "tests" / "data"
#: format → the real file of that format (own formats: the example written in it).
DATASETS = {
    "ucdp": DATA / "events" / "peacerep_UCDP-Ukraine_ffe58b8_clean_2014-2021.csv",
    "cir": DATA / "events" / "cir_bellingcat_events_mauforonda.csv",
    "newstart": DATA / "arms_control" / "new_start_aggregate_numbers_sourced.csv",
}
FORMATS = ("jsonl", "csv", "geojson", *DATASETS)
SUFFIX = {"jsonl": ".jsonl", "geojson": ".geojson"}  # the rest are .csv


def sample_records() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SAMPLE.read_text("utf-8").splitlines() if line.strip()]


def text_of(fmt: str) -> str:
    """The real content of a format as text (UTF-8 decoded, newlines as in the file)."""
    if fmt == "jsonl":
        return SAMPLE.read_text("utf-8")
    if fmt == "csv":
        recs = sample_records()
        out = io.StringIO()
        writer = csv.DictWriter(out, sorted({k for r in recs for k in r}), lineterminator="\n")
        writer.writeheader()
        writer.writerows(recs)
        return out.getvalue()
    if fmt == "geojson":
        features = [  # a record without a location (a declaration) has no geometry
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]}
                if "lon" in r
                else None,
                "properties": {k: v for k, v in r.items() if k not in ("lon", "lat")},
            }
            for r in sample_records()
        ]
        return json.dumps({"type": "FeatureCollection", "features": features}, indent=1)
    return DATASETS[fmt].read_bytes().decode("utf-8")


def random_bytes(n: int = 4096, seed: int = 11) -> bytes:
    return random.Random(seed).randbytes(n)


def encoded(fmt: str, encoding: str, folder: Path) -> Path:
    """The real file of ``fmt`` written in ``encoding`` (``random`` = random bytes instead).

    ``utf-16`` and ``utf-8-sig`` carry a byte-order mark (Python's codecs write one);
    ``utf-16-le`` does not.
    """
    path = folder / f"{fmt}-{encoding}{SUFFIX.get(fmt, '.csv')}"
    data = random_bytes() if encoding == "random" else text_of(fmt).encode(encoding)
    path.write_bytes(data)
    return path
