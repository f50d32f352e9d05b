"""What the shared events say about each source: bearing bias, clock offset, wild bearings.

Each check stores the estimates its fusion made (:func:`~truceline.core.fusion.fuse_with_sources`)
beside the incidents: derived data, like them, that anyone holding the record re-derives by
re-running the check, so it is not itself an entry. ``truceline sources`` and ``GET /sources``
read them back; a source's identity is sensitive, so only analysts see them.
"""

from __future__ import annotations

import json
from typing import Any

from truceline.errors import NotFoundError
from truceline.services.ports import Store

__all__ = ["SOURCES_META", "source_estimates", "store_source_estimates"]

#: The meta key the last check's estimates are kept under (one JSON list).
SOURCES_META = "source_estimates"


def store_source_estimates(store: Store, sources: list[dict[str, Any]]) -> None:
    """Keep the estimates of the check that just ran (replacing the last check's)."""
    store.set_meta(SOURCES_META, json.dumps(sources, separators=(",", ":")))


def source_estimates(store: Store, flagged_only: bool = False) -> list[dict[str, Any]]:
    """The last check's per-source estimates, in source-id order (flagged ones only if asked).

    Raises :class:`~truceline.errors.NotFoundError` when no check has run on this store.
    """
    text = store.get_meta(SOURCES_META)
    if text is None:
        raise NotFoundError("no check has run on this store yet: run `truceline check` first")
    rows: list[dict[str, Any]] = json.loads(text)
    return [r for r in rows if r["flagged"]] if flagged_only else rows
