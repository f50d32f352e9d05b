"""The agreement's compiled geometry, kept in the store between processes.

Compiling an agreement's geometry (resolving its GeoJSON, projecting, indexing the line) takes
1.4-2.4 s and depends on nothing but the agreement and the code, so a one-day report would pay
it every time for the same answer. The compiled value is kept in the store's ``derived_cache``
under a key made of the agreement's content hash, a fingerprint of every file of
``truceline.core`` and the versions of the libraries whose arithmetic it holds (numpy, shapely
and GEOS, pyproj and PROJ, Python). So a changed agreement, a changed core or an upgraded GEOS
never reads an old value: the key differs and the value is compiled again.

Read back, a value must match its stored digest and may only be made of the classes compiled
geometry is made of (a restricted unpickler: the store is data, never code to run); anything
else is compiled again. Nothing in the record commits to the cache, so ``record verify``
compiles the agreement itself and checks the row a reader would use (:func:`cache_issues`),
and the checks re-run from the log never read it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import pickle
import platform
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from truceline.core.classify import CompiledGeometry
from truceline.errors import StoreError
from truceline.services.ports import Store

#: What a compiled geometry is made of: the only globals a cached value may name.
_ALLOWED = frozenset(
    {
        ("numpy", "dtype"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy", "ndarray"),
        ("pyproj.crs.crs", "CRS"),
        ("pyproj.transformer", "Transformer"),
        ("pyproj.transformer", "TransformerFromCRS"),
        ("shapely.io", "from_wkb"),
        ("truceline.core.geo.area_mask", "AreaMask"),
        ("truceline.core.classify", "CompiledGeometry"),
        ("truceline.core.classify", "CompiledLine"),
        ("truceline.core.classify", "ControlPeriod"),
        ("truceline.core.classify", "GeometrySpec"),
        ("truceline.core.classify", "SectorSpec"),
        ("truceline.core.classify", "ZoneSpec"),
        ("truceline.core.geo.index", "LineIndex"),
        ("truceline.core.geo.projection", "Projection"),
    }
)
_PROTOCOL = 5


class _Refused(Exception):
    """A cached value that is not a compiled geometry (or not one this code can read)."""


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in _ALLOWED:
            raise _Refused(f"{module}.{name}")
        return super().find_class(module, name)


@cache
def code_fingerprint() -> str:
    """SHA-256 over every file of ``truceline.core`` (paths and bytes) and the versions of
    the libraries compiled geometry depends on: any change gives another cache key."""
    import numpy
    import pyproj
    import shapely

    import truceline.core

    h = hashlib.sha256()
    for lib in (
        f"python {platform.python_version()}",
        f"numpy {numpy.__version__}",
        f"shapely {shapely.__version__} geos {shapely.geos_version_string}",
        f"pyproj {pyproj.__version__} proj {pyproj.proj_version_str}",
        f"pickle {_PROTOCOL}",
    ):
        h.update(lib.encode() + b"\n")
    root = Path(truceline.core.__file__).parent
    for p in sorted(root.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts:
            data = p.read_bytes()
            h.update(f"{p.relative_to(root).as_posix()} {len(data)}\n".encode() + data)
    return h.hexdigest()


def cache_key(doc_sha256: str) -> str:
    """The key of an agreement's compiled geometry (its content hash, hex) under this code."""
    return f"geometry:{doc_sha256}:{code_fingerprint()}"


def dump(geom: CompiledGeometry) -> bytes:
    return pickle.dumps(geom, protocol=_PROTOCOL)


def load(data: bytes, sha256: str) -> CompiledGeometry | None:
    """The compiled geometry in ``data``, or None if it does not match its digest or names
    anything a compiled geometry is not made of."""
    if hashlib.sha256(data).hexdigest() != sha256:
        return None
    try:
        geom = _Unpickler(io.BytesIO(data)).load()
    except (_Refused, pickle.UnpicklingError, EOFError, AttributeError, TypeError, ValueError):
        return None
    return geom if isinstance(geom, CompiledGeometry) else None


def cached_geometry(
    store: Store, doc_sha256: str, compile_: Callable[[], CompiledGeometry]
) -> CompiledGeometry:
    """The store's compiled geometry for this agreement and code, or ``compile_()`` kept in
    the store for the next process (a store that cannot be written to, e.g. a read-only file,
    just does not keep it)."""
    key = cache_key(doc_sha256)
    row = store.derived(key)
    if row is not None and (geom := load(row[1], row[0])) is not None:
        return geom
    geom = compile_()
    data = dump(geom)
    with contextlib.suppress(StoreError):
        store.set_derived(key, hashlib.sha256(data).hexdigest(), data)
    return geom


@dataclass(frozen=True)
class Packed:
    """A compiled geometry's pickle (:func:`dump`) held compressed until it is kept: the
    march2025 agreement's 15.3 MB are 0.8 MB (zlib level 1, ~0.2 s to pack, 0.1 s back)."""

    sha256: str  #: the pickle's digest, as stored
    data: bytes  #: the pickle, compressed


class _Packer:
    """A pickler's file: each piece written is hashed and compressed as it comes, so the
    whole pickle is never held (its bytes are :func:`dump`'s: the same pickler, framed
    alike)."""

    def __init__(self) -> None:
        self.sha = hashlib.sha256()
        self.zip = zlib.compressobj(1)
        self.out: list[bytes] = []

    def write(self, data: Any) -> int:
        view = memoryview(data)  # large arrays come as pickle buffers
        self.sha.update(view)
        self.out.append(self.zip.compress(view))
        return view.nbytes


def pack(geom: CompiledGeometry) -> Packed:
    """``geom``'s pickle and digest, compressed (:class:`Packed`)."""
    sink = _Packer()
    pickle.Pickler(sink, protocol=_PROTOCOL).dump(geom)
    sink.out.append(sink.zip.flush())
    return Packed(sink.sha.hexdigest(), b"".join(sink.out))


def keep_geometry(store: Store, doc_sha256: str, packed: Packed) -> None:
    """Keep ``packed`` (:func:`pack` of a geometry compiled by the caller) as
    :func:`cached_geometry` would, unless the store holds a sound value under its key
    already. A check compiles the agreement itself (it never reads this cache) and keeps
    what it compiled, so that the first report after it reads the geometry rather than
    compiling it again (on the 907k month: 3.5 s and 408 MB, against 2.0 s and 238 MB for
    the reports after it)."""
    key = cache_key(doc_sha256)
    row = store.derived(key)
    if row is not None and hashlib.sha256(row[1]).hexdigest() == row[0]:
        return
    with contextlib.suppress(StoreError):
        store.set_derived(key, packed.sha256, zlib.decompress(packed.data))


#: Digests of what compiling gave in this process, by key: ``record verify`` run again in a
#: process (a server, a test suite) does not compile the same agreement again.
_COMPILED: dict[str, str] = {}


def cache_issues(
    store: Store, doc_sha256: str, fresh: Callable[[], CompiledGeometry | None]
) -> list[str]:
    """What ``record verify`` reports about the cache: the row a reader would use (this
    agreement under this code, matching its digest) must hold exactly what compiling the
    agreement gives. Rows under other keys, or not matching their digest, are never read."""
    key = cache_key(doc_sha256)
    for k, sha, data in store.derived_rows():
        if k != key or hashlib.sha256(data).hexdigest() != sha:
            continue
        if key not in _COMPILED:
            geom = fresh()
            _COMPILED[key] = "" if geom is None else hashlib.sha256(dump(geom)).hexdigest()
        if sha != _COMPILED[key]:
            return [
                f"derived_cache row {k[:60]}...: the compiled geometry differs from "
                "compiling the stored agreement"
            ]
    return []
