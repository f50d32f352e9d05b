"""C2SP tlog-tiles (https://c2sp.org/tlog-tiles): paths, hash tiles, entry bundles, reading back.

A tile at level ``L`` holds up to 256 consecutive hashes of tree level ``8 * L`` (32 bytes
each); a full tile never changes, a partial one is published as ``<path>.p/<width>``. Entry
bundles mirror level-0 tiles and hold the entries themselves, each as a big-endian uint16
length then the bytes. Index ``N`` is written in groups of three digits, all but the last
prefixed with ``x`` (1234067 -> ``x001/x234/067``), so no directory grows past 1000 names.

Everything here is pure: builders return ``{path: bytes}`` and readers take a
``read(path) -> bytes`` function (raising ``KeyError`` or ``FileNotFoundError`` when absent),
so the same code serves a directory, an object store or an HTTP client.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from hashlib import sha256

from truceline.core.record import merkle
from truceline.core.record.note import Checkpoint
from truceline.errors import IntegrityError, ValidationError

__all__ = [
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "TileReader",
    "build_tiles",
    "decode_bundle",
    "encode_bundle",
    "encode_index",
    "entries_path",
    "parse_tile_path",
    "read_log",
    "tile_bytes",
    "tile_path",
    "tiles_for_size",
]

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
_MAX_ENTRY = 0xFFFF

Reader = Callable[[str], bytes]


def encode_index(n: int) -> str:
    """Tile index as path elements: ``x001/x234/067`` for 1234067, ``000`` for 0."""
    if type(n) is not int or n < 0:
        raise ValidationError("tile index must be a non-negative integer", field="index")
    groups = []
    while True:
        groups.append(f"{n % 1000:03d}")
        n //= 1000
        if not n:
            break
    groups.reverse()
    return "/".join([f"x{g}" for g in groups[:-1]] + [groups[-1]])


def _suffix(width: int) -> str:
    if not 0 < width <= TILE_WIDTH:
        raise ValidationError(f"tile width must be in 1..{TILE_WIDTH}", field="width")
    return "" if width == TILE_WIDTH else f".p/{width}"


def tile_path(level: int, index: int, width: int = TILE_WIDTH) -> str:
    """``tile/<L>/<N>[.p/<W>]``."""
    if type(level) is not int or not 0 <= level < 64:
        raise ValidationError("tile level must be in 0..63", field="level")
    return f"tile/{level}/{encode_index(index)}{_suffix(width)}"


def entries_path(index: int, width: int = TILE_WIDTH) -> str:
    """``tile/entries/<N>[.p/<W>]``."""
    return f"tile/entries/{encode_index(index)}{_suffix(width)}"


_PATH = re.compile(r"tile/(entries|\d{1,2})/((?:x\d{3}/)*\d{3})(?:\.p/(\d{1,3}))?")


def parse_tile_path(path: str) -> tuple[int | None, int, int]:
    """``(level, index, width)`` of a tile path; level is None for an entry bundle."""
    m = _PATH.fullmatch(path)
    if not m:
        raise ValidationError(f"not a tile path: {path!r}", field="path")
    level = None if m[1] == "entries" else int(m[1])
    index = int(m[2].replace("x", "").replace("/", ""))
    width = int(m[3]) if m[3] else TILE_WIDTH
    canonical = entries_path(index, width) if level is None else tile_path(level, index, width)
    if canonical != path:
        raise ValidationError(f"tile path is not canonical: {path!r}", field="path")
    return level, index, width


def tiles_for_size(size: int) -> list[tuple[int, int, int]]:
    """Every hash tile ``(level, index, width)`` a tree of ``size`` publishes."""
    out = []
    level = 0
    while size >> (TILE_HEIGHT * level):
        n = size >> (TILE_HEIGHT * level)
        out += [(level, i, TILE_WIDTH) for i in range(n // TILE_WIDTH)]
        if n % TILE_WIDTH:
            out.append((level, n // TILE_WIDTH, n % TILE_WIDTH))
        level += 1
    return out


def encode_bundle(entries: Sequence[bytes]) -> bytes:
    """An entry bundle: each entry as uint16 big-endian length + bytes."""
    parts = []
    for i, e in enumerate(entries):
        if len(e) > _MAX_ENTRY:
            raise ValidationError(
                f"entry is {len(e)} bytes; a bundle holds at most 65535", field=f"entries[{i}]"
            )
        parts += [len(e).to_bytes(2, "big"), e]
    return b"".join(parts)


def decode_bundle(data: bytes, width: int) -> list[bytes]:
    """Split a bundle into exactly ``width`` entries (a short or long bundle is an error)."""
    out: list[bytes] = []
    pos = 0
    while pos < len(data) and len(out) < width:
        if pos + 2 > len(data):
            break
        n = int.from_bytes(data[pos : pos + 2], "big")
        if pos + 2 + n > len(data):
            break
        out.append(data[pos + 2 : pos + 2 + n])
        pos += 2 + n
    if len(out) != width or pos != len(data):
        raise IntegrityError(f"entry bundle does not hold exactly {width} entries", field="bundle")
    return out


def tile_bytes(level: int, index: int, width: int, get_node: merkle.NodeReader) -> bytes:
    """The bytes of hash tile ``(level, index, width)`` from full nodes (for a store)."""
    base = index * TILE_WIDTH
    return b"".join(get_node(TILE_HEIGHT * level, base + i) for i in range(width))


def build_tiles(entries: Sequence[bytes]) -> dict[str, bytes]:
    """All hash tiles and entry bundles of a log holding ``entries``, as ``{path: bytes}``."""
    levels = merkle.HashLevels.from_leaf_hashes([merkle.leaf_hash(e) for e in entries])
    out = {}
    for level, index, width in tiles_for_size(len(entries)):
        arr = levels.levels[TILE_HEIGHT * level]
        out[tile_path(level, index, width)] = arr[index * TILE_WIDTH :][:width].tobytes()
        if level == 0:
            start = index * TILE_WIDTH
            out[entries_path(index, width)] = encode_bundle(entries[start : start + width])
    return out


def _read(read: Reader, path: str, full_path: str) -> tuple[bytes, bool]:
    """Read ``path``, falling back to the full tile (a log may drop partials once full).

    Returns the data and whether it came from the full tile. A tile missing both ways is
    an IntegrityError: the log no longer serves what its checkpoint commits to.
    """
    try:
        return read(path), False
    except (KeyError, FileNotFoundError):
        if path != full_path:
            try:
                return read(full_path), True
            except (KeyError, FileNotFoundError):
                pass
    raise IntegrityError(f"{path} is missing", field="tile")


class TileReader:
    """Full nodes of a tree of ``size`` served from hash tiles: a ``NodeReader`` for proofs.

    ``size`` is the size the tiles were published for (the log's latest); full nodes never
    change, so the same reader serves proofs for every smaller tree too.

    Each tile read is expanded once into its 8 inner levels and cached, so a proof costs a
    handful of tile reads and no rehashing after the first. The tiles are not trusted:
    proofs built from them are checked against a signed root by whoever verifies.
    """

    def __init__(self, read: Reader, size: int) -> None:
        self.read = read
        self.size = size
        self._cache: dict[tuple[int, int], list[bytes]] = {}

    def _tile(self, level: int, index: int) -> list[bytes]:
        key = (level, index)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        n = self.size >> (TILE_HEIGHT * level)
        width = min(TILE_WIDTH, n - index * TILE_WIDTH)
        if width <= 0:
            raise IntegrityError(f"tile {level}/{index} is beyond size {self.size}", field="index")
        path = tile_path(level, index, width)
        data, full = _read(self.read, path, tile_path(level, index))
        if full:
            data = data[: width * 32]
        if len(data) != width * 32:
            raise IntegrityError(
                f"{path} holds {len(data)} bytes, expected {width * 32}", field="tile"
            )
        rows = [data]  # one buffer per inner level, 32 bytes per node
        while len(data) >= 64 and len(rows) < TILE_HEIGHT:
            data = b"".join(
                [sha256(b"\x01" + data[i : i + 64]).digest() for i in range(0, len(data) - 63, 64)]
            )
            rows.append(data)
        self._cache[key] = rows
        return rows

    def get_node(self, level: int, index: int) -> bytes:
        tl, h = divmod(level, TILE_HEIGHT)
        first = index << h
        rows = self._tile(tl, first >> TILE_HEIGHT)
        off = ((first & (TILE_WIDTH - 1)) >> h) * 32
        if h >= len(rows) or off + 32 > len(rows[h]):
            raise IntegrityError(f"node ({level}, {index}) is not in the tiles", field="tile")
        return rows[h][off : off + 32]


def read_log(read: Reader, checkpoint: Checkpoint, *, check_tiles: bool = True) -> list[bytes]:
    """Read every entry of a tiled log and prove it matches ``checkpoint``.

    Entries are rehashed and their root compared with the checkpoint's; with
    ``check_tiles`` every published hash tile must also equal what the entries imply, so a
    store cannot serve proofs from hashes that disagree with its entries.
    """
    size = checkpoint.size
    entries: list[bytes] = []
    for i in range(-(-size // TILE_WIDTH)):
        width = min(TILE_WIDTH, size - i * TILE_WIDTH)
        data, full = _read(read, entries_path(i, width), entries_path(i))
        entries += decode_bundle(data, TILE_WIDTH)[:width] if full else decode_bundle(data, width)
    leaves = [merkle.leaf_hash(e) for e in entries]
    levels = merkle.HashLevels.from_leaf_hashes(leaves)
    if levels.root() != checkpoint.root_hash:
        raise IntegrityError(
            f"entries do not hash to the checkpoint root at size {size}", field="root_hash"
        )
    if check_tiles:
        for level, index, width in tiles_for_size(size):
            path = tile_path(level, index, width)
            got, full = _read(read, path, tile_path(level, index))
            if full:
                got = got[: width * 32]
            if got != tile_bytes(level, index, width, levels.get_node):
                raise IntegrityError(f"{path} disagrees with the entries", field="tile")
    return entries
