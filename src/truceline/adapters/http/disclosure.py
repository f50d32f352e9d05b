"""Which committed fields of a record entry each principal may open (docs/record.md).

The log carries every entry in committed form; an opening reveals one field's value. The
rule follows what the same principal reads through the API (:mod:`policy`):

============== ==============================================================================
analyst        every field of every entry
observation    every field to its source (a monitor or party key bound to its ``source_id``)
key            every field of a key registration to its owner
dispute        every field of a dispute, and of the status changes about it, to whoever may
               read the dispute (its party; the guarantors of its finding's provision)
finding        a finding a principal may see (published, or its own party's, or guaranteed):
               every field but the exact ones (``lon``, ``lat``, ``explanation``, ``details``),
               which the API coarsens for everyone outside the mission, and a share of
               coverage not yet final (``redaction.share_final``: the log keeps every
               check's, whose differences would give the share hour by hour), and an open
               summary's ``time`` (``redaction.frontier_open``: the latest end of a post's
               or patrol's hours at that check; the API gives it only to the period)
publication    a published finding's id and the time it was published, to everyone
notification   every field of a guarantee notification to whoever may see it (its recipients,
               as ``/notifications``); an acknowledgement to the guarantor that made it
============== ==============================================================================

Everything else stays committed. The same rule serves ``GET /record/openings`` and the
bundles ``truceline record openings`` writes for a party's replay.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from truceline.adapters.http.auth import Principal, Role
from truceline.adapters.http.policy import (
    dispute_visible,
    guaranteed_ids,
    notification_visible,
    own_submission,
    visible_findings,
)
from truceline.adapters.http.redaction import frontier_open, share_final
from truceline.core.agreements import Agreement
from truceline.services.context import context_for_doc
from truceline.services.openings import MayOpen
from truceline.services.ports import Store
from truceline.services.verify_rows import PUBLISHED_KEY

#: Finding fields only the mission sees exactly (the API coarsens or drops them for others).
EXACT_FINDING_FIELDS = frozenset({"lon", "lat", "explanation", "details"})
_NOTHING: frozenset[str] = frozenset()


def openable(
    who: Principal,
    entry_type: str,
    body: dict[str, Any],
    visible_ids: Callable[[], frozenset[str]],
    guaranteed: Callable[[], frozenset[str]] = frozenset,
) -> frozenset[str] | None:
    """The fields of an entry ``who`` may open (None: all; see the module's table).

    ``body`` is the full entry; ``visible_ids`` gives the ids of the findings ``who`` may see,
    ``guaranteed`` :func:`~truceline.adapters.http.policy.guaranteed_ids` (disputes).
    """
    if who.role is Role.ANALYST:
        return None
    if entry_type == "observation":
        return None if own_submission(who, str(body.get("source_id"))) else _NOTHING
    if entry_type == "key_registration":
        return None if own_submission(who, str(body.get("owner"))) else _NOTHING
    subject = body.get("subject") if entry_type == "status_change" else None
    if entry_type == "dispute" or subject == "dispute":
        ok = who.role in (Role.PARTY, Role.GUARANTOR) and dispute_visible(who, body, guaranteed())
        return None if ok else _NOTHING
    if entry_type == "finding":
        if body.get("id") not in visible_ids():
            return _NOTHING
        growing = frozenset() if share_final(body) else frozenset({"coverage"})
        if frontier_open(body):  # an open summary's time: the frontier of the watch
            growing |= {"time"}
        return frozenset(body) - EXACT_FINDING_FIELDS - growing
    if entry_type == "notification":
        return None if notification_visible(who, body) else _NOTHING
    if entry_type == "acknowledgement":
        mine = who.role is Role.GUARANTOR and body.get("guarantor") == who.bound
        return None if mine else _NOTHING
    if subject == "finding" and body.get("status") == "published":
        return (
            frozenset({"finding_id", "time"})
            if body.get("finding_id") in visible_ids()
            else _NOTHING
        )
    return _NOTHING


def visible_ids_of(store: Store, who: Principal) -> Callable[[], frozenset[str]]:
    """The ids of the findings ``who`` may see in ``store``, computed once when first asked."""
    memo: list[frozenset[str]] = []

    def ids() -> frozenset[str]:
        if not memo:
            value = store.get_meta(PUBLISHED_KEY)
            published = frozenset(json.loads(value)) if value else frozenset()
            agreement = context_for_doc(store.agreement_doc()).agreement
            memo.append(
                frozenset(
                    f.id for f in visible_findings(who, store.findings(), agreement, published)
                )
            )
        return memo[0]

    return ids


def may_open(store: Store, who: Principal) -> MayOpen:
    """:func:`openable` for every entry of ``store``, as ``services.openings.bundle`` takes it."""
    ids = visible_ids_of(store, who)
    memo: list[Agreement] = []

    def agreement() -> Agreement:
        if not memo:
            memo.append(context_for_doc(store.agreement_doc()).agreement)
        return memo[0]

    kept: list[frozenset[str]] = []

    def guaranteed() -> frozenset[str]:
        if not kept:
            kept.append(guaranteed_ids(who, store.findings(), agreement()))
        return kept[0]

    return lambda index, entry_type, body: openable(who, entry_type, body, ids, guaranteed)
