"""Load the stored agreement and compile its geometry once per process (it is immutable)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from truceline.core.agreement_geometry import geometry_spec
from truceline.core.agreements import Agreement, parse_agreement
from truceline.core.classify import CompiledGeometry, compile_geometry
from truceline.services.ports import Store

if TYPE_CHECKING:
    from truceline.services.geometry_cache import Packed


@dataclass
class AgreementContext:
    agreement: Agreement
    geometry: CompiledGeometry | None
    doc: dict[str, Any]
    #: Whether :attr:`geometry` was compiled by this process (not read from a store's
    #: cache) and handed out once only, not yet packed: the only one :func:`pack_compiled`
    #: packs to keep. A value read from one store is never copied into another, and a
    #: geometry that has been used is not kept (its lazily built indexes make its pickle
    #: differ from a fresh compile's, which ``record verify`` compares it with).
    fresh: bool = field(default=False, compare=False, repr=False)


_CACHE: dict[str, AgreementContext] = {}


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
    if ctx is not None:
        ctx.fresh = False  # handed out before: it may have been used
    else:
        agreement = parse_agreement(doc)
        geom = compile_agreement(agreement) if store is None else None
        fresh = geom is not None
        if store is not None and agreement.geography is not None:
            from truceline.services.geometry_cache import cached_geometry

            geom = cached_geometry(store, key, lambda: compile_geometry(
                geometry_spec(agreement), agreement.thresholds_km()))
        ctx = AgreementContext(agreement, geom, doc, fresh)
        _CACHE[key] = ctx
    return ctx


def load_context(store: Store, *, keep: bool = False, version: int | None = None
                 ) -> AgreementContext:
    """The store's agreement (its latest version, or ``version``), compiled; with ``keep``,
    the compiled geometry is read from (or kept in) the store's derived cache
    (:mod:`truceline.services.geometry_cache`), so the next process does not compile it
    again."""
    return context_for_doc(store.agreement_doc(version), store if keep else None)


def pack_compiled(ctx: AgreementContext) -> Packed | None:
    """``ctx``'s compiled geometry packed to be kept (:func:`keep_compiled`) once its user is
    done with it, if this process compiled it and has not handed it out before
    (:attr:`AgreementContext.fresh`; in the command line's check, the one it has just
    compiled), else None. Packed before any use, so what is kept is a fresh compile's
    pickle; compressed, so that holding it through a check costs ~0.8 MB, not 15 MB."""
    if not ctx.fresh or ctx.geometry is None:
        return None
    from truceline.services.geometry_cache import pack

    ctx.fresh = False
    return pack(ctx.geometry)


def keep_compiled(store: Store, ctx: AgreementContext, packed: Packed | None) -> None:
    """Keep ``packed`` (:func:`pack_compiled` of ``ctx``) in the store's derived cache for
    the processes after this one, if it is not there
    (:func:`~truceline.services.geometry_cache.keep_geometry`): a check compiles its own and
    never reads the cache, the reports after it read it. A check keeps it once the store is
    read, far under fusion's peak (on the 907k month, written at its start, unpacked, it
    raised the peak by ~16 MB; at the check's end it raised a 3-day store's by 25-31 MB)."""
    if packed is not None:
        from truceline.services.geometry_cache import keep_geometry

        keep_geometry(store, doc_sha256(ctx.doc), packed)
