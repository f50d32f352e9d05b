"""The incremental check's rules: only the incidents of the days fused again are judged.

A ceasefire finding about an incident reads that incident alone (its place, its reports'
facts, the agreement), so an incident kept as stored keeps its findings as stored; what
every incident gives a provision's summaries is a sum (:class:`~truceline.core.verdicts.Tally`),
kept per day and provision in meta ``check_rules``, with the ids of the findings each
day's incidents gave and of every other finding (summaries and the other rules' findings,
judged whole at each check from the observations, a few per cent of the rows). The next
check judges the incidents of the days it fuses again, merges their tallies with the other
days' kept ones, and compares, writes or withdraws only those findings and the others
(:func:`~truceline.core.rules.check` with :class:`~truceline.core.rules.ByDay`).

What is kept is valid only beside the kept fusion states it was made with: the same
fusion fingerprint, the same suspensions and upheld disputes (which rewrite findings of
any day), and the same observations read (meta ``checked_observations``); otherwise every
incident is judged (and the tallies kept anew). A cache of derivations, as ``fusion_days``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from truceline.core.findings import Finding
from truceline.core.fusion.day_state import DayState
from truceline.core.incidents import Incident
from truceline.core.observations import Observation
from truceline.core.rules import ByDay
from truceline.core.taxonomy import Kind
from truceline.core.verdicts import Tally
from truceline.services.ports import RULES_META, Store

__all__ = [
    "RULES_META",
    "KeptRules",
    "by_owner",
    "keep_rules",
    "kept_rules",
    "owners",
    "put_rules",
    "rules_fingerprint",
]

@dataclass
class KeptRules:
    """What a check's rules kept: per day, each ceasefire provision's tally of the
    day's incidents' findings and those findings' ids; the ids of every other finding."""

    tallies: dict[int, dict[str, Tally]]
    findings: dict[int, list[str]]
    others: list[str]

    def before(self, start: int | None) -> dict[int, dict[str, Tally]]:
        """The tallies of the days before ``start`` (None: every day's)."""
        return {d: t for d, t in self.tallies.items() if start is None or d < start}

    def judged_again(self, start: int | None) -> set[str]:
        """The ids of the findings the rules give again when the days from ``start`` on are
        judged: those of those days' incidents and every other finding."""
        out = set(self.others)
        for d, ids in self.findings.items():
            if start is not None and d >= start:
                out.update(ids)
        return out


def rules_fingerprint(
    fusion: str, others: Sequence[Observation], upheld: Mapping[str, dict[str, Any]]
) -> str:
    """What kept findings and tallies were judged under besides fusion's ``fusion``
    fingerprint: the suspensions notified (they rewrite any day's findings about the party)
    and the upheld disputes' outcomes (they amend or drop any finding)."""
    suspensions = sorted(o.id for o in others if o.kind is Kind.SUSPENSION)
    text = json.dumps([fusion, suspensions, upheld], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def kept_rules(store: Store, made: str, checked: str | None) -> KeptRules | None:
    """What the last check's rules kept, if made under ``made`` (:func:`rules_fingerprint`)
    by the check that read what meta ``checked_observations`` says (None: not usable)."""
    said = store.get_meta(RULES_META)
    if said is None or checked is None:
        return None
    try:
        d = json.loads(said)
        if d["fingerprint"] != made or d["observations"] != int(checked):
            return None
        return KeptRules(
            {
                int(k): {p: Tally.from_json(t) for p, t in v.items()}
                for k, v in d["tallies"].items()
            },
            {int(k): [str(i) for i in v] for k, v in d["findings"].items()},
            [str(i) for i in d["others"]],
        )
    except (ValueError, KeyError, TypeError, AttributeError):  # damaged: judge every day
        return None


def owners(states: Iterable[DayState]) -> dict[str, int]:
    """Each incident's owning day, as the states list them."""
    return {i: s.day for s in states for i in s.incidents}


def by_owner(
    incidents: Sequence[Incident], owner: Mapping[str, int]
) -> dict[int, list[Incident]] | None:
    """``incidents`` by owning day, each day's in id order (None: one not owned by a day)."""
    out: dict[int, list[Incident]] = {}
    for i in sorted(incidents, key=lambda i: i.id):
        d = owner.get(i.id)
        if d is None:
            return None
        out.setdefault(d, []).append(i)
    return out


def keep_rules(
    store: Store,
    made: str,
    read: int,
    by_day: ByDay | None,
    findings: Sequence[Finding],
    owner: Mapping[str, int],
    kept: KeptRules | None,
    start: int | None,
    days: Iterable[int],
) -> None:
    """Keep what this check's rules judged (inside the caller's transaction): the judged
    days' tallies and findings' ids, the days before ``start`` as ``kept`` has them (None:
    every day was judged), the other findings' ids; ``days``: every day with a state."""
    if by_day is None:  # judged whole: nothing to keep by day
        store.delete_meta(RULES_META)
        return
    tallies: dict[int, dict[str, Tally]] = {d: {} for d in days}
    tallies.update(kept.before(start) if kept else {})
    tallies.update(by_day.made)
    per_day: dict[int, list[str]] = {d: [] for d in tallies}
    if kept is not None:
        per_day.update({d: ids for d, ids in kept.findings.items() if start is None or d < start})
    others = []
    for f in findings:
        if f.incident_id is None:
            others.append(f.id)
        else:
            per_day.setdefault(owner[f.incident_id], []).append(f.id)
    put_rules(store, made, read, tallies, per_day, others)


def put_rules(store: Store, made: str, read: int, tallies: Mapping[int, Mapping[str, Tally]],
              per_day: Mapping[int, Sequence[str]], others: Sequence[str]) -> None:
    """Keep each day's tallies and findings' ids and the other findings' ids (meta
    ``check_rules``, inside the caller's transaction): :func:`keep_rules`' write, and that
    of a check by day parts (:mod:`~truceline.services.check_parts`), which keeps them as
    each part is judged."""
    store.set_meta(
        RULES_META,
        json.dumps(
            {
                "fingerprint": made,
                "observations": read,
                "tallies": {
                    str(d): {p: t.to_json() for p, t in v.items()}
                    for d, v in sorted(tallies.items())
                },
                "findings": {str(d): list(v) for d, v in sorted(per_day.items())},
                "others": list(others),
            },
            sort_keys=True,
        ),
    )
