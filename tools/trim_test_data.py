"""Make ``tests/data`` from the public data and peers' vectors in ``../shared`` (see its README).

Run from the repository root: ``python tools/trim_test_data.py [SHARED]`` (default ``../shared``).
Deterministic: running it again gives the same bytes. Small files are copied whole; the large
event files and one DeepStateMap snapshot are cut to the rows/features the tests use, each kept
record byte for byte as published (same encoding, quoting and line endings), in the original
order. What is kept, and why, is in ``tests/data/README.md``.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "data"

UCDP_CLEAN = "events/peacerep_UCDP-Ukraine_ffe58b8_clean_2014-2021.csv"
UCDP_MESSY = "events/peacerep_UCDP-Ukraine_b858735_messy_cp1252_mixeddates_2014-2023.csv"
CIR = "events/cir_bellingcat_events_mauforonda.csv"
HISTORY = "deepstate/history/deepstate_20250803_1754251105.geojson"

#: copied whole from ``data/``
DATA_WHOLE = (
    "arms_control/new_start_aggregate_numbers_sourced.csv",
    "osce_smm/smm_weapons_in_violation_sourced.csv",
    "osce_smm/smm_reported_counts_sourced.csv",
    "frontline/frontline_20250401.geojson",
    "deepstate/monthly/deepstatemap_data_20250402.geojson",
    "deepstate/monthly/LICENSE",
    "deepstate/monthly/README.md",
    "deepstate/history/README_DanielRose2310.md",
    "events/peacerep_ukraine-map_README.md",
    "events/mauforonda_ukraine_readme.md",
)
#: copied whole from ``vectors/`` (folders with their LICENSE and SOURCE.txt)
VECTORS_WHOLE = (
    "README.md",
    "c2sp-note-vectors.json",
    "rfc6962-vectors.json",
    "ed25519-speccheck",
    "tessera-testdata-log",
    "transparency-dev-merkle",
)

#: UCDP event ids the tests name (clean and/or messy export)
UCDP_IDS = {
    "147997", "153027", "153030", "155337", "203645", "204785", "205066", "233458",
    "428182", "429358", "448644",
}  # fmt: skip
#: CIR entries the tests name; every row of a kept entry is kept, so ids (-2, -3 ...) stay those
#: of the full file
CIR_ENTRIES = {
    "UW0003", "UW0024", "UW0031", "UW0067", "UW0132", "UW0172", "UW0329", "UW0523", "UW1621",
    "UW1633", "UW3355", "UW5455", "UW8034", "UW8641",
}  # fmt: skip


def records(raw: bytes) -> list[bytes]:
    """Split CSV bytes into records (a quoted cell may hold newlines), each with its newline."""
    out: list[bytes] = []
    pending = b""
    for line in raw.splitlines(keepends=True):
        pending += line
        if pending.count(b'"') % 2 == 0:
            out.append(pending)
            pending = b""
    assert not pending, "unbalanced quotes at the end of the file"
    return out


def parse(record: bytes, header: bytes, encoding: str) -> dict[str, str]:
    text = (header + record).decode(encoding)
    return next(csv.DictReader(io.StringIO(text, newline="")))


def cut_csv(
    src: Path, dst: Path, encoding: str, keep: Callable[[int, dict[str, str]], bool]
) -> list[dict[str, str]]:
    """Write the header and the records (index from 0, parsed row) that ``keep`` accepts."""
    header, *body = records(src.read_bytes())
    head = header.decode(encoding)
    assert head.count("\n") == 1
    rows = [parse(r, header, encoding) for r in body]
    kept = [i for i, row in enumerate(rows) if keep(i, row)]
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(header + b"".join(body[i] for i in kept))
    return [rows[i] for i in kept]


def cut_ucdp(data: Path) -> None:
    """Clean: the first 60 events, every 25th, the named ones. Messy: the same events where it has
    them, every 25th event the clean export lacks (2022-23 and revisions), the named ones and all
    one-sided (type 3) events."""
    clean_ids: set[str] = set()

    def keep_clean(i: int, row: dict[str, str]) -> bool:
        return i < 60 or i % 25 == 0 or row["id"] in UCDP_IDS

    kept = cut_csv(data / UCDP_CLEAN, OUT / UCDP_CLEAN, "utf-8", keep_clean)
    clean_ids = {r["id"] for r in kept}
    with (data / UCDP_CLEAN).open(encoding="utf-8", newline="") as fh:
        all_clean = {r["id"] for r in csv.DictReader(fh)}
    extra = 0

    def keep_messy(i: int, row: dict[str, str]) -> bool:
        nonlocal extra
        if row["id"] in clean_ids or row["id"] in UCDP_IDS or row["type_of_violence"] == "3":
            return True
        if row["id"] not in all_clean:
            extra += 1
            return extra % 25 == 1
        return False

    cut_csv(data / UCDP_MESSY, OUT / UCDP_MESSY, "cp1252", keep_messy)


def cut_cir(data: Path) -> None:
    """The first 130 rows, every 50th, the last 7 (typo and missing dates), the rows without an
    entry, the first 3 of each event_group, and every row of the named entries and of each kept
    entry."""
    header, *body = records((data / CIR).read_bytes())
    rows = [parse(r, header, "utf-8") for r in body]
    n = len(rows)
    pick = {i for i in range(n) if i < 130 or i % 50 == 0 or i >= n - 7 or not rows[i]["entry"]}
    by_group: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        by_group.setdefault(row["event_group"], []).append(i)
    pick |= {i for members in by_group.values() for i in members[:3]}
    entries = {rows[i]["entry"] for i in pick} | CIR_ENTRIES
    entries.discard("")

    def keep(i: int, row: dict[str, str]) -> bool:
        return i in pick or row["entry"] in entries

    cut_csv(data / CIR, OUT / CIR, "utf-8", keep)


def cut_history(data: Path) -> None:
    """Every Point, every 'territories' polygon (the satirical ones and Crimea, ORDLO ...); the
    'Unknown status' and 'Liberated' polygons inside Ukraine are dropped. Features unchanged."""
    src = json.loads((data / HISTORY).read_text(encoding="utf-8"))
    keep = [
        f
        for f in src["features"]
        if f["geometry"]["type"] == "Point"
        or "geoJSON.territories." in f["properties"].get("name", "")
    ]
    out = {**src, "features": keep}
    dst = OUT / HISTORY
    dst.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(out, ensure_ascii=False, separators=(",", ":")) + "\n"  # as published
    dst.write_text(text, encoding="utf-8")


def copy(src: Path, dst: Path) -> None:
    """Copy a file or a folder's files (contents only: the copies in ../shared are read-only)."""
    for f in sorted(src.rglob("*")) if src.is_dir() else [src]:
        if f.is_file():
            target = dst / f.relative_to(src) if src.is_dir() else dst
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, target)


def main(shared: Path) -> None:
    data, vectors = shared / "data", shared / "vectors"
    for rel in DATA_WHOLE:
        copy(data / rel, OUT / rel)
    for rel in VECTORS_WHOLE:
        copy(vectors / rel, OUT / "vectors" / rel)
    cut_ucdp(data)
    cut_cir(data)
    cut_history(data)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared")
