"""Non-accession and neutrality: status events (applications, accessions, ...) by the obligated.

A status event (an observation of kind ``status``) is the act of the state it names
(``party``); it is attributed by its record and its source, not by where it happened. In the
provision's window:

- an act the provision names in ``breach_on`` by an obligated party, about an alliance the
  provision covers, is a violation naming the act, the date and the source; so is a
  membership check showing the party a member, and, under neutrality with
  ``no_foreign_bases``, a basing agreement;
- a status declaration, a membership check showing the party not a member, or the withdrawal
  of an application is evidence of the status (an event finding "compliant");
- under neutrality, an act about an alliance that is neither listed nor a known military
  alliance is "insufficient evidence" naming it (whether neutrality excludes it is not known).

An invitation (the alliance's act) and an own act the provision does not name in ``breach_on``
give no finding. Summary per obligated party: "compliant" only when the window's evidence shows
the status for every alliance the provision covers (and, with ``no_foreign_bases``, a status
declaration of neutrality as a whole), as of the latest such evidence; otherwise "insufficient
evidence" saying what is missing.
"""

from __future__ import annotations

from typing import Any

from truceline.core.alliances import MILITARY_ALLIANCES, StatusAct, alliance_key
from truceline.core.evidence import Evidence, in_window
from truceline.core.findings import Verdict, iso
from truceline.core.observations import Observation
from truceline.core.status import NeutralityRule, NonAccessionRule
from truceline.core.taxonomy import Kind
from truceline.core.verdicts import Builder

#: The key a neutrality declaration as a whole stands for (no foreign bases).
_BASES = "no foreign military bases"
_SHOWS_STATUS = (StatusAct.STATUS_DECLARATION, StatusAct.WITHDRAWAL_OF_APPLICATION)
_ACT_WORDS = {
    StatusAct.DECLARATION_OF_INTENT: "declared its intent to join",
    StatusAct.APPLICATION: "applied for membership of",
    StatusAct.RATIFICATION: "ratified its accession to",
    StatusAct.ACCESSION: "acceded to",
}


def source_words(o: Observation) -> str:
    """How a finding cites a status record's source (the API rewrites it for outsiders)."""
    ref = ", ".join(x for x in (o.dataset, o.dataset_ref) if x)
    return f"source: {o.source_id}" + (f" ({ref})" if ref else "")


def _covered(rule: NonAccessionRule | NeutralityRule) -> dict[str, str]:
    """Alliance key -> name as the provision (or the catalogue) writes it."""
    names = rule.alliances or [a.name for a in MILITARY_ALLIANCES]
    return {alliance_key(n): n for n in names}


def check_status(
    b: Builder, rule: NonAccessionRule | NeutralityRule, ev: Evidence, parties: list[str]
) -> int:
    """Event findings for the window's status events, then one summary per obligated party."""
    covered = _covered(rule)
    neutral = isinstance(rule, NeutralityRule)
    bases = isinstance(rule, NeutralityRule) and rule.no_foreign_bases
    need = set(covered) | ({_BASES} if bases else set())
    shown: dict[str, dict[str, Observation]] = {p: {} for p in b.p.obligated}
    relevant = 0
    records = [o for o in ev.by_kind.get(Kind.STATUS.value, [])
               if o.party in shown and in_window(o.time, b.start, b.end)]
    for o in sorted(records, key=lambda x: (x.time, x.id)):
        party, act = str(o.party), o.status_act
        day = o.time.astimezone(b.a.tz).date().isoformat()
        kw: dict[str, Any] = dict(time=iso(o.time), details={"status_act": str(act)})
        if act is StatusAct.BASING_AGREEMENT:
            if bases:
                relevant += 1
                b.add(Verdict.VIOLATION, party, (o.id,),
                      f"{party} agreed to a military base or stationing of {o.nationality} on "
                      f"{day}, which neutrality excludes ({source_words(o)})", **kw)
            continue
        if o.alliance is None:  # a status declaration as a whole (validation allows no other)
            relevant += 1
            for key in need:
                shown[party][key] = o
            b.add(Verdict.COMPLIANT, party, (o.id,),
                  f"{party} declared its status on {day}: "
                  + ("neutral, in no military alliance and with no foreign bases"
                     if neutral else "not joining " + ", ".join(covered.values()))
                  + f" ({source_words(o)})", **kw)
            continue
        key = alliance_key(o.alliance)
        kw["details"]["alliance"] = o.alliance
        bears = act in rule.breach_on or act is StatusAct.MEMBERSHIP_CHECK
        if key not in covered:
            if neutral and not rule.alliances and bears:
                relevant += 1
                b.add(Verdict.INSUFFICIENT_EVIDENCE, party, (o.id,),
                      f"{party}: {act} about {o.alliance!r} on {day} ({source_words(o)}): "
                      f"{o.alliance!r} is not a military alliance truceline knows (known: "
                      f"{', '.join(covered.values())}), so whether neutrality excludes it is "
                      "not known; list it in the provision's alliances if it does", **kw)
            continue
        name = covered[key]
        if act in rule.breach_on:
            relevant += 1
            b.add(Verdict.VIOLATION, party, (o.id,),
                  f"{party} {_ACT_WORDS[act]} {name} on {day} ({source_words(o)})", **kw)
        elif act is StatusAct.MEMBERSHIP_CHECK:
            relevant += 1
            kw["details"]["member"] = o.member
            if o.member:
                b.add(Verdict.VIOLATION, party, (o.id,),
                      f"{party} is a member of {name} as of {day} ({source_words(o)})", **kw)
            else:
                shown[party][key] = o
                b.add(Verdict.COMPLIANT, party, (o.id,),
                      f"{party} is not a member of {name} as of {day} ({source_words(o)})", **kw)
        elif act in _SHOWS_STATUS:
            relevant += 1
            shown[party][key] = o
            what = ("declared it is not joining" if act is StatusAct.STATUS_DECLARATION
                    else "withdrew its application to")
            b.add(Verdict.COMPLIANT, party, (o.id,), f"{party} {what} {name} on {day} "
                  f"({source_words(o)})", **kw)
    _summaries(b, rule, covered, need, shown)
    return relevant


def _summaries(b: Builder, rule: NonAccessionRule | NeutralityRule, covered: dict[str, str],
               need: set[str], shown: dict[str, dict[str, Observation]]) -> None:
    """Compliant only with evidence of the status for everything the provision covers."""
    window = f"{iso(b.start)} to {iso(b.end) if b.end else 'open'}"
    names = [a.value for a in rule.breach_on]
    acts = " or ".join(filter(None, (", ".join(names[:-1]), names[-1])))
    for party in b.p.obligated:
        if party in b.violators:
            continue
        open_ = [f.explanation.split(": ", 1)[-1] for f in b.out
                 if f.party == party and f.verdict is Verdict.INSUFFICIENT_EVIDENCE]
        missing = sorted(covered.get(k, k) for k in need - set(shown[party]))
        if open_:
            why = (f"{len(open_)} status events of {party} in the window {window} are "
                   f"undecided ({'; '.join(open_[:2])}), so no determination for {party}")
        elif missing:
            what = ("no status evidence" if len(missing) == len(need)
                    else "no status evidence for " + ", ".join(missing))
            why = (f"{what} about {party} in the window {window} (a status declaration, or "
                   f"a membership check as of a date in it), so no determination for {party}")
        else:
            seen = sorted(shown[party].values(), key=lambda o: (o.time, o.id))
            last = seen[-1]
            basis = "; ".join(dict.fromkeys(
                f"{o.status_act} {o.time.astimezone(b.a.tz).date()} ({source_words(o)})"
                for o in seen))
            b.add(Verdict.COMPLIANT, party, tuple(sorted({o.id for o in seen})),
                  f"no {acts} by {party} in the record for the window {window}, and its status "
                  f"is shown ({basis}), as of {iso(last.time)}", kind="summary",
                  time=iso(last.time))
            continue
        b.add(Verdict.INSUFFICIENT_EVIDENCE, party, (), why, kind="summary",
              time=iso(b.end) if b.end else None)
