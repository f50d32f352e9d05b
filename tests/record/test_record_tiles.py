"""tlog-tiles: path examples from the spec, the real Tessera test log, and round trips."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from truceline.core.record import merkle, note, tiles
from truceline.errors import IntegrityError, ValidationError

from .conftest import VECTORS

V = json.loads((VECTORS / "c2sp-note-vectors.json").read_text(encoding="utf-8"))
LOG = VECTORS / "tessera-testdata-log" / "testdata" / "log"
ORIGIN = "example.com/log/testdata"
LOG_VKEY = "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx"
ENTRIES = [
    b"one",
    b"two",
    b"three",
    b"four",
    b"five",
    b"six",
    b"seven",
    b"eit",
    b"nain",
    b"ten",
    b"ileven",
    b"twelf",
    b"threeten",
    b"fourten",
    b"fivten",
]


def test_vkey_matches_source_txt() -> None:
    assert LOG_VKEY in (LOG.parents[1] / "SOURCE.txt").read_text()


def test_index_encoding_examples() -> None:
    examples = V["tlog_tiles_examples"]["index_path_encoding"]
    assert len(examples) == 4
    for n, want in examples.items():
        assert tiles.encode_index(int(n)) == want
        assert tiles.parse_tile_path(f"tile/0/{want}") == (0, int(n), 256)
    assert tiles.tile_path(1, 1234067, 17) == "tile/1/x001/x234/067.p/17"
    assert tiles.entries_path(0, 15) == "tile/entries/000.p/15"
    assert tiles.parse_tile_path("tile/entries/x001/000.p/3") == (None, 1000, 3)
    for bad in ["tile/0/1000", "tile/0/x000/001", "tile/0/000.p/256", "tile/0/000.p/0", "x"]:
        with pytest.raises(ValidationError):
            tiles.parse_tile_path(bad)


@pytest.mark.parametrize("size", [70000, 256])
def test_tiles_for_size_examples(size: int) -> None:
    want = V["tlog_tiles_examples"][f"tree_{size}"]
    got = tiles.tiles_for_size(size)
    for row in want:
        level = row["level"]
        full = [t for t in got if t[0] == level and t[2] == 256]
        partial = [t for t in got if t[0] == level and t[2] < 256]
        assert len(full) == row["full_tiles"]
        assert [t[2] for t in partial] == ([row["partial_width"]] if row["partial_width"] else [])
    assert {t[0] for t in got} == {row["level"] for row in want}


def _read(path: str) -> bytes:
    return (LOG / path).read_bytes()


def _checkpoints() -> list[note.Checkpoint]:
    v = note.Verifier.from_vkey(LOG_VKEY)
    return [note.open_checkpoint(_read(f"checkpoint.{i}"), ORIGIN, [v])[0] for i in range(16)]


def test_tessera_log_all_checkpoints_and_entries() -> None:
    cps = _checkpoints()
    assert [cp.size for cp in cps] == list(range(16))
    assert _read("checkpoint") == _read("checkpoint.15")
    for cp in cps:
        assert tiles.read_log(_read, cp) == ENTRIES[: cp.size]
        assert merkle.root_of([merkle.leaf_hash(e) for e in ENTRIES[: cp.size]]) == cp.root_hash


def test_tessera_log_consistency_between_every_pair() -> None:
    cps = _checkpoints()
    pairs = 0
    for j, new in enumerate(cps):
        reader = tiles.TileReader(_read, new.size)
        for i in range(1, j + 1):
            old = cps[i]
            proof = merkle.consistency_proof(old.size, new.size, reader.get_node)
            merkle.verify_consistency(old.size, new.size, proof, old.root_hash, new.root_hash)
            pairs += 1
        for k in range(new.size):
            proof = merkle.inclusion_proof(k, new.size, reader.get_node)
            merkle.verify_inclusion(merkle.leaf_hash(ENTRIES[k]), k, new.size, proof, new.root_hash)
        with pytest.raises(IntegrityError, match="size 0"):
            merkle.verify_consistency(0, new.size, [], cps[0].root_hash, new.root_hash)
    assert pairs == 15 * 16 // 2


def test_tessera_tiles_equal_what_we_build() -> None:
    built = tiles.build_tiles(ENTRIES)
    assert built == {
        "tile/0/000.p/15": _read("tile/0/000.p/15"),
        "tile/entries/000.p/15": _read("tile/entries/000.p/15"),
    }


def test_tampered_log_is_caught() -> None:
    cp = _checkpoints()[15]
    files = {p.relative_to(LOG).as_posix(): p.read_bytes() for p in LOG.rglob("*") if p.is_file()}
    bundle = files["tile/entries/000.p/15"].replace(b"seven", b"SEVEN")
    with pytest.raises(IntegrityError, match="checkpoint root"):
        tiles.read_log({**files, "tile/entries/000.p/15": bundle}.__getitem__, cp)
    tile = bytearray(files["tile/0/000.p/15"])
    tile[40] ^= 1
    with pytest.raises(IntegrityError, match="disagrees"):
        tiles.read_log({**files, "tile/0/000.p/15": bytes(tile)}.__getitem__, cp)
    missing = {k: v for k, v in files.items() if k != "tile/entries/000.p/15"}
    with pytest.raises(IntegrityError, match="missing"):
        tiles.read_log(missing.__getitem__, cp)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.binary(max_size=40), min_size=1, max_size=700), st.data())
def test_round_trip(entries: list[bytes], data: st.DataObject) -> None:
    files = tiles.build_tiles(entries)
    root = merkle.root_of([merkle.leaf_hash(e) for e in entries])
    cp = note.Checkpoint("truceline.example/log", len(entries), root)
    assert tiles.read_log(files.__getitem__, cp) == entries
    reader = tiles.TileReader(files.__getitem__, len(entries))
    i = data.draw(st.integers(0, len(entries) - 1))
    proof = merkle.inclusion_proof(i, len(entries), reader.get_node)
    merkle.verify_inclusion(merkle.leaf_hash(entries[i]), i, len(entries), proof, root)


def test_full_tile_fallback_for_a_dropped_partial() -> None:
    entries = [str(i).encode() for i in range(300)]
    big = tiles.build_tiles(entries)
    small_cp = note.Checkpoint(
        "o", 200, merkle.root_of([merkle.leaf_hash(e) for e in entries[:200]])
    )
    # A reader at size 200 asks for .p/200 tiles; only the full ones exist now.
    assert tiles.read_log(big.__getitem__, small_cp) == entries[:200]
    reader = tiles.TileReader(big.__getitem__, 200)
    proof = merkle.consistency_proof(100, 200, reader.get_node)
    old_root = merkle.root_of([merkle.leaf_hash(e) for e in entries[:100]])
    merkle.verify_consistency(100, 200, proof, old_root, small_cp.root_hash)


def test_oversized_entry_rejected() -> None:
    with pytest.raises(ValidationError):
        tiles.encode_bundle([b"x" * 65536])
    with pytest.raises(IntegrityError):
        tiles.decode_bundle(b"\x00\x05abc", 1)
