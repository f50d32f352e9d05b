"""Disputes: a party contests a finding about itself, the mission answers, upholds or rejects
it, the party withdraws it or attaches counter-evidence. Each step is one record entry,
appended in the same transaction as the dispute's new state (see :mod:`truceline.core.disputes`
for the lifecycle and why the state is a fold of the entries).

Who may take which step is decided here, once, for the CLI and the HTTP API alike: the mission
(``actor`` None) answers, upholds and rejects; only the party that filed a dispute withdraws it
or adds to it. A step out of order or by the wrong party raises before anything is written.
Nothing here reads a clock: the time comes in as a value.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from truceline.core import disputes as life
from truceline.core.findings import Finding
from truceline.core.record.canonical import entry_bytes
from truceline.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from truceline.services.access import pseudonym_secret
from truceline.services.check import withdrawn_entry
from truceline.services.ports import Store

#: Steps only the party that filed the dispute may take; the others are the mission's.
PARTY_ACTIONS = frozenset({"withdraw", "evidence"})
MAX_TEXT = 20_000
MAX_EVIDENCE = 1000


def stamp(now: datetime) -> str:
    """The time of a step as the record writes it (UTC, seconds, ``Z``)."""
    return now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def dispute_entry(record: dict[str, Any]) -> bytes:
    """The ``dispute`` entry of a filing (its body is the filing)."""
    return entry_bytes("dispute", record)


def transition_entry(body: dict[str, Any]) -> bytes:
    """The ``status_change`` entry of one step of a dispute."""
    return entry_bytes("status_change", body)


def _text(text: str, field: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ValidationError("must be non-empty text", field=field)
    if len(text) > MAX_TEXT:
        raise ValidationError(f"must be at most {MAX_TEXT} characters", field=field)
    return text


def _stored(store: Store, ids: Sequence[str], field: str) -> None:
    if len(ids) > MAX_EVIDENCE:
        raise ValidationError(f"at most {MAX_EVIDENCE} observations", field=field)
    for i, oid in enumerate(ids):
        try:
            store.observation(oid)
        except NotFoundError:
            raise ValidationError("no such observation", field=f"{field}[{i}]") from None


def file_dispute(
    store: Store, finding: Finding, party: str, text: str, evidence: Sequence[str], now: datetime
) -> tuple[dict[str, Any], bool]:
    """File ``party``'s dispute of ``finding``; returns its record and whether it is new.

    Idempotent: the same party, finding, text and evidence give the same dispute id (keyed
    with the store's secret, so the id, public, does not confirm a guess of the text). A party
    disputes only findings about itself (ForbiddenError, field ``finding_id``).
    """
    if finding.party != party:
        raise ForbiddenError(
            f"finding {finding.id} is not about party {party}; a party "
            "disputes only findings about itself (nothing changed)",
            field="finding_id",
        )
    _text(text, "text")
    _stored(store, evidence, "evidence")
    for d in store.disputes(party):  # by content: one filed before the ids were keyed
        if (d.get("finding_id"), d.get("text"), list(d.get("evidence") or [])) == (
                finding.id, text, list(evidence)):
            return d, False
    key = json.dumps([finding.id, party, text, list(evidence)], separators=(",", ":"))
    # Keyed: the id is in clear in the log and shown to whoever sees the finding, the text
    # only to the dispute's readers; an unkeyed hash would confirm a guess of the text.
    did = "d-" + hmac.new(pseudonym_secret(store), b"dispute\x00" + key.encode(),
                          hashlib.sha256).hexdigest()[:20]
    rec = {
        "id": did,
        "finding_id": finding.id,
        "party": party,
        "text": text,
        "evidence": list(evidence),
        "time": stamp(now),
    }
    store.add_dispute(did, finding.id, party, rec, dispute_entry(rec))
    return rec, True


def _step(
    store: Store,
    dispute_id: str,
    action: str,
    actor: str | None,
    by: str,
    now: datetime,
    **fields: Any,
) -> dict[str, Any]:
    """Check who acts, build the step's entry, store the new state with it; the new state."""
    state = store.dispute(dispute_id)
    may_act(state, action, actor)
    body = life.transition(state, action, by, stamp(now), **fields)
    new = life.apply(state, body)
    store.update_dispute(dispute_id, state, new, transition_entry(body))
    return new


def may_act(state: dict[str, Any], action: str, actor: str | None) -> None:
    """ForbiddenError (field ``party``) unless ``actor`` (a party id; None: the mission) may
    take ``action`` on the dispute ``state``: asked before a step's own input is stored."""
    if action in PARTY_ACTIONS and actor != state["party"]:
        raise ForbiddenError(
            f"only the party that filed the dispute ({state['party']}) may "
            f"{'withdraw it' if action == 'withdraw' else 'add to it'} "
            "(nothing changed)",
            field="party",
        )
    if action not in PARTY_ACTIONS and actor is not None:
        raise ForbiddenError(
            f"a party may not {action} a dispute; the mission's analysts do (nothing changed)",
            field="party",
        )


def answer(store: Store, dispute_id: str, text: str, by: str, now: datetime) -> dict[str, Any]:
    """The mission's reply, with the evidence and the rule that produced the finding."""
    _text(text, "text")
    state = store.dispute(dispute_id)
    f = next((f for f in store.findings() if f.id == state["finding_id"]), None)
    if f is None:
        raise ConflictError(
            f"finding {state['finding_id']} is no longer current; nothing to "
            "answer with (nothing changed)",
            field="finding_id",
        )
    return _step(
        store,
        dispute_id,
        "answer",
        None,
        by,
        now,
        text=text,
        evidence=list(f.evidence),
        provision_id=f.provision_id,
        rule_kind=f.rule_kind,
        verdict=str(f.verdict.value),
    )


def uphold(
    store: Store, dispute_id: str, outcome: str, text: str, by: str, now: datetime
) -> dict[str, Any]:
    """The dispute holds: the finding is ``withdrawn`` or ``amended`` (``text`` says how)."""
    if outcome not in life.OUTCOMES:
        raise ValidationError(f"must be one of {', '.join(life.OUTCOMES)}", field="outcome")
    state = _step(
        store, dispute_id, "uphold", None, by, now, outcome=outcome, text=_text(text, "text")
    )
    apply_upheld(store, state)
    return state


def apply_upheld(store: Store, state: dict[str, Any]) -> None:
    """Carry an upheld dispute's outcome into the findings at once: the finding is withdrawn
    (a withdrawn status change) or amended (a new finding entry with the amendment), as the
    next check derives it too (:func:`truceline.core.disputes.apply_outcomes`), so checks,
    replays and readers agree from this step on."""
    upheld = life.upheld_outcomes(state.get("history", []))
    current = store.findings()
    after = life.apply_outcomes(current, upheld)
    kept = {f.id: f for f in after}
    entries: list[tuple[str, bytes]] = []
    for f in current:
        if f.id not in upheld:
            continue
        if f.id not in kept:
            entries.append(("status_change", withdrawn_entry(f.id)))
        else:
            entries.append(("finding", entry_bytes("finding", kept[f.id].to_record())))
    if entries:
        store.replace_findings(after, entries)


def reject(store: Store, dispute_id: str, reasons: str, by: str, now: datetime) -> dict[str, Any]:
    return _step(store, dispute_id, "reject", None, by, now, reasons=_text(reasons, "reasons"))


def withdraw(store: Store, dispute_id: str, party: str, now: datetime) -> dict[str, Any]:
    return _step(store, dispute_id, "withdraw", party, party, now)


def attach_evidence(
    store: Store, dispute_id: str, party: str, observation_ids: Sequence[str], now: datetime
) -> dict[str, Any]:
    """Attach ``party``'s own signed, stored observations as counter-evidence."""
    if not observation_ids:
        raise ValidationError("give at least one observation", field="observations")
    _stored(store, observation_ids, "observations")
    for i, oid in enumerate(observation_ids):
        o = store.observation(oid)
        if o.source_id != party or not o.signature:
            raise ForbiddenError(
                f"{oid} is not a signed observation of party {party}; "
                "counter-evidence is the party's own (nothing changed)",
                field=f"observations[{i}]",
            )
    return _step(
        store, dispute_id, "evidence", party, party, now, observations=list(observation_ids)
    )
