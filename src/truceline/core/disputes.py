"""A dispute's lifecycle: which transition may follow which, and the state a history folds to.

A party files a dispute against a finding about itself (status ``open``); the mission answers
it (``answered``: its reply, with the evidence and the rule that produced the finding); then
the mission upholds it (``upheld``: the finding is withdrawn or amended) or rejects it
(``rejected``, with reasons). The filing party may withdraw it (``withdrawn``) while it is open
or answered, and may attach counter-evidence (its own signed observations) meanwhile.

Every transition is one record entry (a ``status_change`` with ``subject: "dispute"``), and a
dispute's stored state is exactly its filing folded with those entries in log order
(:func:`fold`): so a verifier, or a party replaying the log on its own machine, derives the
same state from the entries alone. A filing with no transitions is stored as filed (no
``status`` key: :func:`status_of` reads it as ``open``), so stores from before the lifecycle
verify unchanged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from truceline.core.findings import Finding
from truceline.errors import ConflictError, ValidationError

__all__ = ["ACTIONS", "STATUSES", "apply", "apply_outcomes", "fold", "public_view", "status_of",
           "transition", "upheld_outcomes"]

STATUSES = ("open", "answered", "upheld", "rejected", "withdrawn")

#: action -> (the statuses it may leave, the status it gives; None keeps the status)
ACTIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "answer": (frozenset({"open"}), "answered"),
    "uphold": (frozenset({"answered"}), "upheld"),
    "reject": (frozenset({"answered"}), "rejected"),
    "withdraw": (frozenset({"open", "answered"}), "withdrawn"),
    "evidence": (frozenset({"open", "answered"}), None),
}

#: What an upheld dispute does to its finding.
OUTCOMES = ("withdrawn", "amended")

#: Why each action is refused from a status it may not leave (the reason a 409 gives).
_WHEN = {
    "answer": "only an open dispute can be answered",
    "uphold": "only an answered dispute can be upheld (answer it first)",
    "reject": "only an answered dispute can be rejected (answer it first)",
    "withdraw": "only an open or answered dispute can be withdrawn",
    "evidence": "counter-evidence is attached only to an open or answered dispute",
}


def status_of(state: dict[str, Any]) -> str:
    """The dispute's status (a filing with no transitions is ``open``)."""
    return str(state.get("status", "open"))


def transition(
    state: dict[str, Any], action: str, by: str, time: str, **fields: Any
) -> dict[str, Any]:
    """The body of the entry that moves ``state`` by ``action``; ConflictError naming
    ``status`` when the dispute's status does not allow it (nothing is built).

    ``fields`` are the action's own: ``text`` (answer, uphold), ``outcome`` (uphold),
    ``reasons`` (reject), ``observations`` (evidence), and the answer's ``evidence``,
    ``provision_id``, ``rule_kind``, ``verdict`` (taken from the finding).
    """
    if action not in ACTIONS:
        raise ValidationError(
            f"unknown action {action!r}; one of {', '.join(ACTIONS)}", field="action"
        )
    leaves, gives = ACTIONS[action]
    now = status_of(state)
    if now not in leaves:
        raise ConflictError(
            f"the dispute is {now}; {_WHEN[action]} (nothing changed)",
            field="status",
            dispute_id=state.get("id"),
        )
    if action == "uphold" and fields.get("outcome") not in OUTCOMES:
        raise ValidationError(f"must be one of {', '.join(OUTCOMES)}", field="outcome")
    return {
        "subject": "dispute",
        "dispute_id": state["id"],
        "finding_id": state["finding_id"],
        "party": state["party"],
        "action": action,
        "status": gives or now,
        "by": by,
        "time": time,
        **fields,
    }


def apply(state: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """The state after one transition entry (its body kept whole in ``history``)."""
    return {**state, "status": body.get("status"), "history": [*state.get("history", []), body]}


def fold(filing: dict[str, Any], transitions: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The dispute's state: its filing with each transition applied in log order."""
    state = filing
    for body in transitions:
        state = apply(state, body)
    return state


def public_view(state: dict[str, Any]) -> dict[str, Any]:
    """What anyone who may see the finding may see of a dispute on it: who filed it, when,
    its status and the dates and steps of its history; never its text, the reply's text or
    the reasons."""
    return {
        "id": state["id"],
        "finding_id": state["finding_id"],
        "party": state["party"],
        "time": state.get("time"),
        "status": status_of(state),
        "history": [
            {
                "action": b.get("action"),
                "status": b.get("status"),
                "time": b.get("time"),
                **({"outcome": b["outcome"]} if "outcome" in b else {}),
            }
            for b in state.get("history", [])
        ],
    }


def upheld_outcomes(steps: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Finding id -> the step that upheld a dispute on it (``outcome``, ``text``,
    ``dispute_id``, ``time``), from transition bodies or dispute states' histories in log
    order: the mission conceded, so the finding is withdrawn or amended from then on."""
    out: dict[str, dict[str, Any]] = {}
    for b in steps:
        if b.get("action") == "uphold" and b.get("outcome") in OUTCOMES:
            out[str(b["finding_id"])] = b
    return out


def apply_outcomes(findings: list[Finding], upheld: Mapping[str, dict[str, Any]]
                   ) -> list[Finding]:
    """The findings with each upheld dispute's outcome applied: ``withdrawn`` drops the
    finding (the record gets its withdrawn status change), ``amended`` keeps it with the
    mission's amendment in its explanation and ``details["amended"]`` (the id, a hash of what
    the finding is about, stays). Pure, so a check and a replay apply the same."""
    if not upheld:
        return findings
    out = []
    for f in findings:
        step = upheld.get(f.id)
        if step is None:
            out.append(f)
        elif step["outcome"] == "amended":
            note = {"dispute_id": step.get("dispute_id"), "text": step.get("text"),
                    "time": step.get("time")}
            out.append(dataclasses.replace(
                f, explanation=f"{f.explanation}; amended after dispute "
                f"{step.get('dispute_id')} was upheld: {step.get('text')}",
                details={**f.details, "amended": note}))
    return out
