"""What a check keeps for the next one, bound to the record by a digest.

The incremental check trusts what the last check kept (``fusion_days``: each day's
state and reports; meta ``fusion_days`` and ``check_rules``) to stand for the days it does
not fuse or judge again, and the per-source estimates (meta ``sources``) to stand when it
fuses no day again. Those rows are derivations, not evidence, but someone with write
access to the database could edit them, and the next check would then commit, signed, a
summary the observations do not give. So the check that keeps them commits to their digest
(``kept_sha256`` in the ``incident`` entry it appends in the same transaction); the next
check trusts them only when their digest is the one the last ``incident`` entry names
(otherwise it fuses and judges every day again), and ``record verify`` reports kept rows the
last entry does not commit to. Nothing kept is also fine: the next check fuses every day. The
stored incidents the next check carries over are bound by the entry's own ``sha256``
(:func:`committed_set`); and the entry counts only as the log's tree holds it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from truceline.core.record.canonical import parse_entry
from truceline.core.record.merkle import leaf_hash
from truceline.errors import NotFoundError
from truceline.services.ports import FUSION_DAYS_META, RULES_META, Store
from truceline.services.sources import SOURCES_META

__all__ = [
    "KEPT_FIELD",
    "committed_kept",
    "committed_set",
    "day_hashes",
    "kept_digest",
    "stored_kept_digest",
]

#: The ``incident`` entry's field naming the digest of what its check kept.
KEPT_FIELD = "kept_sha256"


def day_hashes(states: Mapping[int, bytes], reports: Mapping[int, bytes | None]) -> dict[int, str]:
    """Each kept day's hash: of its state and of its reports (absent and empty differ)."""
    out = {}
    for d in sorted(set(states) | set(reports)):
        h = hashlib.sha256()
        for part in (states.get(d), reports.get(d)):
            if part is None:
                h.update(b"\x00")
            else:
                h.update(b"\x01" + hashlib.sha256(part).digest())
        out[d] = h.hexdigest()
    return out


def kept_digest(
    days: Mapping[int, str],
    days_meta: str | None,
    rules_meta: str | None,
    sources_meta: str | None = None,
) -> str | None:
    """SHA-256 (hex) of what is kept: every day's hash and the meta texts as stored (None:
    nothing is kept; the estimates alone are not: a check of every day writes them too).
    The estimates are in it because a check that fuses no day again writes them back as
    read, and its entry's ``sources_sha256`` would then commit to an edit of them."""
    if not days and days_meta is None and rules_meta is None:
        return None
    text = json.dumps(
        {
            "days": [[d, days[d]] for d in sorted(days)],
            FUSION_DAYS_META: days_meta,
            RULES_META: rules_meta,
            SOURCES_META: sources_meta,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode()).hexdigest()


def stored_kept_digest(
    store: Store,
    reports: Mapping[int, bytes | None] | None = None,
    states: Mapping[int, bytes] | None = None,
) -> str | None:
    """:func:`kept_digest` of what the store keeps now; ``reports`` and ``states``: the
    kept rows as already read (None: read here)."""
    states = store.fusion_days() if states is None else states
    reports = store.day_reports() if reports is None else reports
    return kept_digest(
        day_hashes(states, reports),
        store.get_meta(FUSION_DAYS_META),
        store.get_meta(RULES_META),
        store.get_meta(SOURCES_META),
    )


def _last_committed(store: Store) -> dict[str, object] | None:
    """The last ``incident`` entry's body, if its text is the leaf the log's tree holds (an
    entry edited in place, with the rows it commits to, must not make them trusted, not
    only be reported by ``record verify``)."""
    last = store.last_entry("incident")
    if last is None:
        return None
    try:
        if leaf_hash(last.data) != store.get_node(0, last.index):
            return None
    except NotFoundError:  # no leaf: the tree does not hold it
        return None
    return dict(parse_entry(last.data)[1])


def committed_set(store: Store) -> tuple[int, str] | None:
    """The count and digest of the incident set the last ``incident`` entry commits to."""
    body = _last_committed(store)
    if body is None:
        return None
    count, digest = body.get("count"), body.get("sha256")
    return (count, digest) if isinstance(count, int) and isinstance(digest, str) else None


def committed_kept(store: Store) -> str | None:
    """The digest of the kept rows the last ``incident`` entry commits to (None: it names
    none: a check that kept nothing, or one from before the digest was recorded; or its
    text is not the leaf the log's tree holds)."""
    body = _last_committed(store)
    value = None if body is None else body.get(KEPT_FIELD)
    return value if isinstance(value, str) else None
