"""Load the stored agreement and compile its geometry once per process (it is immutable)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from truceline.core.agreement_geometry import geometry_spec
from truceline.core.agreements import Agreement, parse_agreement
from truceline.core.classify import CompiledGeometry, compile_geometry
from truceline.services.ports import Store


@dataclass(frozen=True)
class AgreementContext:
    agreement: Agreement
    geometry: CompiledGeometry | None
    doc: dict[str, Any]


_CACHE: dict[str, AgreementContext] = {}
#: The geometries this process compiled (not read from a store's cache) and handed out once
#: only, by document hash: the only ones :func:`keep_compiled` keeps. A value read from one
#: store is never copied into another, and a geometry that has been used is not kept (its
#: lazily built indexes make its pickle differ from a fresh compile's, which ``record
#: verify`` compares it with).
_FRESH: dict[str, CompiledGeometry] = {}


def doc_sha256(doc: dict[str, Any]) -> str:
    """The agreement document's content hash (hex) over its sorted-key JSON."""
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def compile_agreement(agreement: Agreement) -> CompiledGeometry | None:
    """The agreement's compiled geometry, None without a geography (no cache: the answer
    a verifier compares a cached one with)."""
    if agreement.geography is None:
        return None
    return compile_geometry(geometry_spec(agreement), agreement.thresholds_km())


def context_for_doc(doc: dict[str, Any], store: Store | None = None) -> AgreementContext:
    """Parse and compile a bundled agreement document (cached by its content hash in this
    process and, given the ``store`` it came from, in that store between processes)."""
    key = doc_sha256(doc)
    ctx = _CACHE.get(key)
    _FRESH.pop(key, None)  # handed out before: it may have been used
    if ctx is None:
        agreement = parse_agreement(doc)
        geom = compile_agreement(agreement) if store is None else None
        if geom is not None:
            _FRESH[key] = geom
        if store is not None and agreement.geography is not None:
            from truceline.services.geometry_cache import cached_geometry

            geom = cached_geometry(store, key, lambda: compile_geometry(
                geometry_spec(agreement), agreement.thresholds_km()))
        ctx = AgreementContext(agreement, geom, doc)
        _CACHE[key] = ctx
    return ctx


def load_context(store: Store, *, keep: bool = False, version: int | None = None
                 ) -> AgreementContext:
    """The store's agreement (its latest version, or ``version``), compiled; with ``keep``,
    the compiled geometry is read from (or kept in) the store's derived cache
    (:mod:`truceline.services.geometry_cache`), so the next process does not compile it
    again."""
    return context_for_doc(store.agreement_doc(version), store if keep else None)


def keep_compiled(store: Store, ctx: AgreementContext) -> None:
    """Keep ``ctx``'s compiled geometry in the store's derived cache for the processes after
    this one, if it is not there (:func:`~truceline.services.geometry_cache.keep_geometry`):
    a check compiles its own and never reads the cache, the reports after it read it. Only
    a geometry this process compiled and has not used is kept (:data:`_FRESH`): in the
    command line's check, the one it has just compiled."""
    key = doc_sha256(ctx.doc)
    if ctx.geometry is not None and _FRESH.pop(key, None) is ctx.geometry:
        from truceline.services.geometry_cache import keep_geometry

        keep_geometry(store, key, ctx.geometry)
