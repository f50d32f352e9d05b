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


def context_for_doc(doc: dict[str, Any]) -> AgreementContext:
    """Parse and compile a bundled agreement document (cached by its content hash)."""
    key = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()
    ctx = _CACHE.get(key)
    if ctx is None:
        agreement = parse_agreement(doc)
        geom = None
        if agreement.geography is not None:
            geom = compile_geometry(geometry_spec(agreement), agreement.thresholds_km())
        ctx = AgreementContext(agreement, geom, doc)
        _CACHE[key] = ctx
    return ctx


def load_context(store: Store) -> AgreementContext:
    return context_for_doc(store.agreement_doc())
