"""Verdicts: the findings of one provision and the summary verdict per obligated party.

A :class:`Builder` collects one provision's findings with the fields every finding shares
(provision, rule kind, window, the [optional provision] and [illustrative values] labels) and
remembers which parties were found in violation and how many records bore on each party. Its
:meth:`Builder.summaries` apply the verdict rules of docs/agreements.md ("Verdicts: when each
is given and what it says"): a party is found compliant only with evidence about its side or
forces in the window, no violation, no open finding that could be its own
(``doubt_threshold``) and enough of its side observed (``min_coverage``); otherwise
"insufficient evidence", saying why. "No violations" is not "no coverage".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from truceline.core.aggregates import aggregate_note
from truceline.core.agreements import Agreement
from truceline.core.coverage import RULE_COVERAGE_KINDS
from truceline.core.evidence import Evidence
from truceline.core.findings import Finding, Verdict, finding_id, iso
from truceline.core.provisions import Provision
from truceline.core.taxonomy import Kind

#: How many of the open findings that keep a party from being found compliant a summary names.
SHOWN = 3


def _rounded(share: float, need: float) -> float:
    """``share`` to 4 decimals, on the same side of ``need`` as the share itself: a share just
    below the threshold must not be published as equal to it (nor one above as below)."""
    r = round(share, 4)
    if share < need <= r:
        return min(math.floor(share * 1e4) / 1e4, math.nextafter(need, 0.0))
    if r < need <= share:
        return max(math.ceil(share * 1e4) / 1e4, need)
    return r


class Builder:
    """Collects findings for one provision with the fields every finding shares."""

    def __init__(self, agreement: Agreement, provision: Provision) -> None:
        self.a = agreement
        self.p = provision
        self.start, self.end = agreement.window(provision)
        #: the window as every finding's ``window_start`` / ``window_end`` text: written once
        #: per builder, not once per finding (~0.15M findings on the 907k month), and one
        #: string shared by them all
        self.window_text = (iso(self.start), iso(self.end) if self.end else None)
        self.out: list[Finding] = []
        self.violators: set[str] = set()
        #: party -> how many records bear on that party's side or forces (evidence about it)
        self.relevant: dict[str, int] = {}

    def saw(self, party: str | None) -> None:
        """Count one record as evidence about ``party`` (its side of the line or its forces)."""
        if party is not None:
            self.relevant[party] = self.relevant.get(party, 0) + 1

    def doubt(self, f: Finding, party: str) -> str | None:
        """Why an open finding keeps ``party`` from being found compliant, else None.

        A violation attributed at the agreement's confidence is settled (one event, one party);
        an unattributed violation could be anyone's; an undecided finding counts against every
        party whose probability reaches the agreement's doubt threshold (when the finding has
        no probabilities: against the party it names, or everyone when it names none).
        """
        if not f.evidence or f.verdict is Verdict.COMPLIANT:
            return None
        what = f"incident {f.incident_id}" if f.incident_id else "record " + ", ".join(f.evidence)
        if f.verdict is Verdict.VIOLATION:
            return f"unattributed {what}" if f.party is None else None
        probs = f.details.get("probabilities")
        if probs:
            p = float(probs.get(party, 0.0))
            return f"undecided {what} (P({party})={p:.2f})" if p >= self.a.doubt_threshold else None
        if f.party is None or f.party == party:
            why = f.details.get("open")
            return f"undecided {what}" + (f" ({why})" if why else "")
        return None

    def add(
        self,
        verdict: Verdict,
        party: str | None,
        evidence: tuple[str, ...],
        why: str,
        kind: str = "event",
        **kw: Any,
    ) -> None:
        label = ""
        if self.p.optional:
            label += " [optional provision]"
        if self.p.illustrative:
            label += " [illustrative values]"
        self.out.append(
            Finding(
                id=finding_id(self.p.id, party, kind, evidence),
                provision_id=self.p.id,
                rule_kind=self.p.rule.kind,
                verdict=verdict,
                party=party,
                evidence=evidence,
                explanation=f"{self.p.id}{label}: {why}",
                window_start=self.window_text[0],
                window_end=self.window_text[1],
                **kw,
            )
        )
        if verdict is Verdict.VIOLATION and party is not None:
            self.violators.add(party)

    def coverage_of(
        self, ev: Evidence, party: str, as_of: datetime | None
    ) -> tuple[float | None, str | None]:
        """The observed share of ``party``'s side in ``[start, as_of)`` for the kinds of event
        this rule needs, and why it is not enough (None: enough, or the rule is not spatial).

        A share below the agreement's ``min_coverage`` (0 switches the condition off) gives
        "not covered"; so does a record without monitoring assets (no coverage model).
        """
        kinds = RULE_COVERAGE_KINDS.get(self.p.rule.kind)
        need = self.a.min_coverage
        if kinds is None or need <= 0 or as_of is None:
            return None, None
        if ev.coverage is None:
            return None, (f"not covered: the record holds no monitoring assets (posts, patrols, "
                          f"cameras, arrays), so no share of {party}'s side is known to have "
                          f"been observed; min_coverage is {100 * need:.0f} %")
        share = ev.coverage.share(party, self.start, as_of, kinds)
        if share >= need:
            return _rounded(share, need), None
        what = ", ".join(sorted(kinds))
        return _rounded(share, need), (
            f"not covered: observed {100 * share:.0f} % of {party}'s side ({what}, within "
            f"{ev.coverage.grid.band_m / 1e3:g} km of the line, {iso(self.start)} to "
            f"{iso(as_of)}), "
            f"below min_coverage {100 * need:.0f} %")

    def summaries(self, ev: Evidence, tally: Tally | None = None) -> None:
        """Per obligated party: compliant only with evidence about it, no violation and no doubt.

        "Insufficient evidence" says why: the open findings that could be the party's (an
        unattributed violation, or an undecided one with P(party) at or above the agreement's
        ``doubt_threshold``), or no relevant evidence about the party's side or forces.
        ``tally``: what the provision's findings so far give them (default: :meth:`Tally.of`
        this builder; the incremental check merges the kept days' with the days judged).
        """
        if ev.as_of is None or ev.as_of < self.start:
            as_of = None
        else:
            as_of = ev.as_of if self.end is None else min(ev.as_of, self.end)
        window = f"{iso(self.start)} to {iso(self.end) if self.end else 'open'}"
        t = tally if tally is not None else Tally.of(self)
        for party in self.p.obligated:
            if party in t.violators:
                continue
            n = t.doubts.get(party, 0)
            relevant = t.relevant.get(party, 0)
            cov, not_covered = self.coverage_of(ev, party, as_of)
            # A ceasefire is kept by *not* firing: watching a party's side and seeing no fire
            # from it is evidence about it, as much as an incident located there.
            watched = self.p.rule.kind == "ceasefire" and bool(cov)
            if n and as_of is not None:
                shown = "; ".join(why for _, why in t.first.get(party, [])) + (
                    f"; and {n - SHOWN} more" if n > SHOWN else ""
                )
                self.add(
                    Verdict.INSUFFICIENT_EVIDENCE,
                    party,
                    (),
                    f"no violation attributed to {party} in the window {window}, but "
                    f"{n} open findings could be {party}'s ({shown}; doubt threshold "
                    f"{self.a.doubt_threshold:g}), so {party} is not found compliant "
                    f"(as of {iso(as_of)})",
                    kind="summary",
                    time=iso(as_of),
                )
            elif as_of is None or (relevant == 0 and not watched):
                counts = aggregate_note(ev.by_kind.get(Kind.AGGREGATE.value, ()), self.start,
                                        self.end) if self.p.rule.kind == "ceasefire" else None
                self.add(
                    Verdict.INSUFFICIENT_EVIDENCE,
                    party,
                    (),
                    f"no relevant evidence about {party}'s side or forces in the window "
                    f"{window}, so no determination for {party}"
                    + (f" ({counts})" if counts else ""),
                    kind="summary",
                    time=iso(self.end) if self.end else None,
                )
            elif not_covered is not None:
                self.add(Verdict.INSUFFICIENT_EVIDENCE, party, (), not_covered, kind="summary",
                         time=iso(as_of) if as_of else None, coverage=cov)
            else:
                basis = (
                    f"{relevant} relevant records about {party}'s side or forces"
                    if relevant
                    else f"{party}'s side observed ({100 * (cov or 0):.0f} %) and no fire from it"
                )
                self.add(
                    Verdict.COMPLIANT,
                    party,
                    (),
                    f"{basis} in the window {window}, none shows a violation by {party} "
                    f"(as of {iso(as_of)})",
                    kind="summary",
                    time=iso(as_of),
                    coverage=cov,
                )


@dataclass
class Tally:
    """What a provision's summaries read of its findings before them: who was found in
    violation, how many records bore on each party, and the open findings that could be
    each party's (how many, and the first :data:`SHOWN` in the order of the findings,
    by incident id: a check takes the incidents in that order). A sum over any split of
    the findings (:meth:`merge`), so the incremental check keeps one per UTC day and
    provision and judges again only the days whose incidents changed."""

    violators: set[str] = field(default_factory=set)
    relevant: dict[str, int] = field(default_factory=dict)
    doubts: dict[str, int] = field(default_factory=dict)
    #: per party: (incident id, why) of its first :data:`SHOWN` open findings
    first: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    @classmethod
    def of(cls, b: Builder) -> Tally:
        """The tally of ``b``'s findings so far (in the order added, which is id order)."""
        t = cls(set(b.violators), dict(b.relevant))
        for party in b.p.obligated:
            whys = [(f.incident_id or f.id, d) for f in b.out
                    if (d := b.doubt(f, party)) is not None]
            if whys:
                t.doubts[party] = len(whys)
                t.first[party] = whys[:SHOWN]
        return t

    def merge(self, other: Tally) -> Tally:
        """The tally of both sets of findings (disjoint), the first open ones by id."""
        parties = set(self.relevant) | set(other.relevant)
        first = {p: sorted([*self.first.get(p, []), *other.first.get(p, [])])[:SHOWN]
                 for p in set(self.first) | set(other.first)}
        return Tally(self.violators | other.violators,
                     {p: self.relevant.get(p, 0) + other.relevant.get(p, 0) for p in parties},
                     {p: self.doubts.get(p, 0) + other.doubts.get(p, 0)
                      for p in set(self.doubts) | set(other.doubts)}, first)

    def to_json(self) -> dict[str, Any]:
        return {"violators": sorted(self.violators), "relevant": self.relevant,
                "doubts": self.doubts,
                "first": {p: [list(x) for x in v] for p, v in self.first.items()}}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Tally:
        return cls(set(d["violators"]), {str(k): int(v) for k, v in d["relevant"].items()},
                   {str(k): int(v) for k, v in d["doubts"].items()},
                   {str(p): [(str(a), str(b)) for a, b in v] for p, v in d["first"].items()})
