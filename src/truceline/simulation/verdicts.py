"""Score the findings of a pipeline against the simulated truth: per provision and party.

Recall (overall, and among the violations an active source could observe), precision of the
violation findings, the summary verdicts of each provision's window (and any "compliant"
verdict despite a true violation in it), and why each missed violation was missed
(:data:`MISS_REASONS`) and each wrong finding was wrong (:data:`PRECISION_MISSES`). Pure:
plain records in, numbers out; :mod:`truceline.simulation.evaluation` puts it in the report.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any

import numpy as np


def majority(ids: Iterable[str], owner: Mapping[str, str]) -> str | None:
    c = Counter(owner[i] for i in ids if i in owner)
    return min(c, key=lambda k: (-c[k], k)) if c else None


#: Why a true violation was not found, in the order they are tried (the first that applies).
MISS_REASONS = (
    "not_observable",         # no active, unrestricted source could detect any part of it
    "not_reported",           # observable, but no source reported it (detection chance)
    "wrong_party",            # a violation finding of it names another party
    "insufficient_evidence",  # an 'insufficient evidence' finding of it: for fire, located
                              # but attributed below the agreement's confidence; for presence,
                              # nationality not established
    "origin_not_observable",  # only the impact could be observed: nothing to attribute from
    "origin_not_reported",    # the origin was observable, but nobody reported it
    "origin_one_report",      # one report of the origin: no fix, so unattributed
    "origin_merged",          # its origin reports sit in a finding of another event
    "origin_split",           # >= 2 origin reports, but no finding holds two of them
    "origin_not_located",     # a finding holds >= 2 of its origin reports, yet no origin
    "merged",                 # its reports sit only in findings of other items
    "no_finding",             # reported, but no finding of the provision holds its reports
)
#: Why a violation finding was not correct. ``double_count``: the violation it names was
#: found already by another finding (one event is counted once, so only the first is right).
PRECISION_MISSES = ("wrong_party", "double_count", "not_a_violation", "no_true_item")


def _ts(x: Any) -> float | None:
    if not x:
        return None
    return datetime.fromisoformat(str(x).replace("Z", "+00:00")).timestamp()


def _summary_reason(explanation: str) -> str:
    """The reason an 'insufficient evidence' summary gives
    (:meth:`truceline.core.verdicts.Builder.summaries`)."""
    text = explanation.split(": ", 1)[-1]
    if text.startswith("not covered"):
        return "not_covered"
    if "open findings could be" in text:
        return "open_findings"
    if "no relevant evidence" in text:
        return "no_relevant_evidence"
    return "other"


def score_findings(events: Sequence[Mapping[str, Any]], planted: Sequence[Mapping[str, Any]],
              obs_item: Mapping[str, str], findings: Sequence[Mapping[str, Any]],
              stored_ids: set[str] | None = None,
              source_of: Mapping[str, str] | None = None,
              site_of: Mapping[str, str] | None = None,
              supportable: Mapping[str, bool] | None = None,
              untyped: set[str] | None = None,
              supportable_line: Mapping[str, bool] | None = None) -> list[dict[str, Any]]:
    """Per provision and party: true violations (and those observable by an active source),
    how many were found with the right party (recall, overall and among the observable),
    violation findings naming that party and how many were right (precision), unattributed
    violations, 'insufficient evidence' findings about events, the summary verdicts of the
    provision's window (compliant, compliant despite a true violation in the window,
    insufficient evidence by reason), and why each missed violation and each wrong finding
    went wrong (:data:`MISS_REASONS`, :data:`PRECISION_MISSES`). With ``source_of`` (report
    id -> source id), also the recall among the events whose origin at least two sources
    reported (what fusion could fix at all: one report of an origin does not place it). With
    ``site_of`` (report id -> site: an acoustic array's sensors are one site, every other
    source its own), also that recall over the events whose origin two *sites* reported: an
    array's arrivals alone put a bang on a hyperbola, not a point, so two sensors of one array
    are one bearing, not two sources. With ``supportable`` (event id -> whether an ideal fusion
    of its stored firing reports could place it on its side at the agreement's confidence,
    :func:`truceline.simulation.crlb.supportable_origins`), also the recall over those and
    why each of them was missed (``misses_supportable``; ``misses_supportable_untyped``: the
    part of them whose firing no report typed, only arrivals and "undetermined" bangs, the
    events of ``untyped``; ``misses_supportable_one_site``: those whose firing one site
    reported, e.g. one acoustic array's arrivals, which fix a bang by the wavefront's
    curvature). ``supportable_line``: the same judged by the line's side where ``supportable``
    is judged by the areas of control, its recall given beside (``recall_supportable_line``)."""
    stored = stored_ids if stored_ids is not None else set(obs_item)
    true_party: dict[tuple[str, str], str | None] = {}  # (provision, item) -> violating party
    thing_of: dict[str, Mapping[str, Any]] = {}
    for thing in (*events, *planted):
        thing_of[thing["id"]] = thing
        for pid in thing.get("violates", []):
            true_party[(pid, thing["id"])] = thing.get("party")
    rows: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    observable: dict[str, bool] = {}
    two: dict[str, bool] = {}
    two_sites: dict[str, bool] = {}
    one: dict[str, bool] = {}  # some report of its origin is stored: attributable at all
    for thing in events:
        origin = (thing.get("reports") or {}).get("origin", ())
        two[thing["id"]] = source_of is not None and len(
            {source_of.get(i, i) for i in origin if i in stored}) >= 2
        one[thing["id"]] = any(i in stored for i in origin)
        two_sites[thing["id"]] = site_of is not None and len(
            {site_of.get(i, i) for i in origin if i in stored}) >= 2
    for (pid, iid), party in true_party.items():
        th = thing_of[iid]
        observable[iid] = bool(th.get("observable", True)) if th["type"] == "event" \
            else bool(th.get("observation_ids"))
        rows[(pid, str(party))]["true"] += 1
        rows[(pid, str(party))]["true_observable"] += observable[iid]
        rows[(pid, str(party))]["true_origin2"] += two.get(iid, False)
        rows[(pid, str(party))]["true_origin2_sites"] += two_sites.get(iid, False)
        rows[(pid, str(party))]["true_supportable"] += bool((supportable or {}).get(iid))
        rows[(pid, str(party))]["true_supportable_line"] += bool(
            (supportable_line or {}).get(iid))
        rows[(pid, str(party))]["true_origin1"] += one.get(iid, th["type"] != "event")
    found: set[tuple[str, str]] = set()
    owned: dict[tuple[str, str], list[tuple[str, str | None]]] = defaultdict(list)
    touched: set[tuple[str, str]] = set()
    held: dict[tuple[str, str], list[tuple[int, str | None]]] = defaultdict(list)
    summaries: list[Mapping[str, Any]] = []
    for k, f in enumerate(findings):
        pid, verdict, party = f["provision_id"], f["verdict"], f.get("party")
        ev = f.get("evidence") or []
        if not ev:  # a summary finding
            summaries.append(f)
            continue
        item = majority(ev, obs_item)
        for oid in ev:  # which findings hold each report, and whose they are by majority
            held[(pid, oid)].append((k, item))
            if oid in obs_item:
                touched.add((pid, obs_item[oid]))
        tp = true_party.get((pid, item)) if item is not None else None
        is_true = item is not None and (pid, item) in true_party
        if is_true:
            owned[(pid, str(item))].append((verdict, party))
        if verdict == "violation":
            if party is None:
                rows[(pid, str(tp))]["unattributed"] += 1
                continue
            rows[(pid, party)]["flagged"] += 1
            if is_true and tp == party and (pid, str(item)) not in found:
                rows[(pid, party)]["correct"] += 1
                found.add((pid, str(item)))
            else:  # a second finding of a violation already found counts it twice
                why = ("double_count" if is_true and tp == party else
                       "wrong_party" if is_true else
                       "not_a_violation" if item is not None else "no_true_item")
                rows[(pid, party)]["precision_miss:" + why] += 1
        elif verdict == "insufficient_evidence":
            rows[(pid, str(party if party is not None else tp))]["insufficient"] += 1
            if is_true:
                rows[(pid, str(tp))]["insufficient_on_true"] += 1
        elif verdict == "compliant" and is_true:
            rows[(pid, str(tp))]["compliant_despite_violation"] += 1
    for f in summaries:  # one per provision, party and window: judged against that window
        pid, verdict, sparty = f["provision_id"], f["verdict"], str(f.get("party"))
        w0, w1 = _ts(f.get("window_start")), _ts(f.get("window_end"))
        c = rows[(pid, sparty)]
        if verdict == "compliant":
            c["summary_compliant"] += 1
            inside = [
                key for key, tp in true_party.items() if key[0] == pid and str(tp) == sparty
                and (tt := _ts(thing_of[key[1]].get("time"))) is not None
                and (w0 is None or tt >= w0) and (w1 is None or tt < w1)]
            c["compliant_despite_violation"] += bool(inside)
        elif verdict == "insufficient_evidence":
            c["summary_insufficient:" + _summary_reason(str(f.get("explanation", "")))] += 1
    for pid, iid in found:
        rows[(pid, str(true_party[(pid, iid)]))]["found"] += 1
        rows[(pid, str(true_party[(pid, iid)]))]["found_observable"] += observable[iid]
        rows[(pid, str(true_party[(pid, iid)]))]["found_origin2"] += two.get(iid, False)
        rows[(pid, str(true_party[(pid, iid)]))]["found_origin2_sites"] += two_sites.get(
            iid, False)
        rows[(pid, str(true_party[(pid, iid)]))]["found_supportable"] += bool(
            (supportable or {}).get(iid))
        rows[(pid, str(true_party[(pid, iid)]))]["found_supportable_line"] += bool(
            (supportable_line or {}).get(iid))
        rows[(pid, str(true_party[(pid, iid)]))]["found_origin1"] += one.get(
            iid, thing_of[iid]["type"] != "event")
    miss_dist: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(
        lambda: defaultdict(list))
    for (pid, iid), party in true_party.items():
        if (pid, iid) in found:
            continue
        why = _miss_reason(thing_of[iid], party, owned.get((pid, iid), []),
                           (pid, iid) in touched, stored, partial(_held, held, pid))
        rows[(pid, str(party))]["miss:" + why] += 1
        if (supportable or {}).get(iid):
            rows[(pid, str(party))]["miss_supportable:" + why] += 1
            if iid in (untyped or ()):
                rows[(pid, str(party))]["miss_supportable_untyped:" + why] += 1
            if not two_sites.get(iid, False):
                rows[(pid, str(party))]["miss_supportable_one_site:" + why] += 1
        d = (thing_of[iid].get("origin") or {}).get("dist_to_line_m")
        if d is not None:
            miss_dist[(pid, str(party))][why].append(float(d))
    out = []
    for (pid, party), c in sorted(rows.items()):
        out.append({
            "provision": pid, "party": None if party == "None" else party,
            "true_violations": c["true"], "found": c["found"],
            "recall": round(c["found"] / c["true"], 4) if c["true"] else None,
            "true_observable": c["true_observable"], "found_observable": c["found_observable"],
            "recall_observable": round(c["found_observable"] / c["true_observable"], 4)
            if c["true_observable"] else None,
            "true_origin2": c["true_origin2"], "found_origin2": c["found_origin2"],
            "recall_origin2": round(c["found_origin2"] / c["true_origin2"], 4)
            if c["true_origin2"] else None,
            "true_origin2_sites": c["true_origin2_sites"],
            "found_origin2_sites": c["found_origin2_sites"],
            "recall_origin2_sites": round(c["found_origin2_sites"] / c["true_origin2_sites"], 4)
            if c["true_origin2_sites"] else None,
            "true_supportable": c["true_supportable"],
            "found_supportable": c["found_supportable"],
            "recall_supportable": round(c["found_supportable"] / c["true_supportable"], 4)
            if c["true_supportable"] else None,
            **({"true_supportable_line": c["true_supportable_line"],
                "found_supportable_line": c["found_supportable_line"],
                "recall_supportable_line": round(
                    c["found_supportable_line"] / c["true_supportable_line"], 4)
                if c["true_supportable_line"] else None} if supportable_line is not None
               else {}),
            "true_origin1": c["true_origin1"], "found_origin1": c["found_origin1"],
            "recall_origin1": round(c["found_origin1"] / c["true_origin1"], 4)
            if c["true_origin1"] else None,
            "violation_findings": c["flagged"], "correct": c["correct"],
            "precision": round(c["correct"] / c["flagged"], 4) if c["flagged"] else None,
            "unattributed": c["unattributed"], "insufficient_evidence": c["insufficient"],
            "insufficient_on_true_violation": c["insufficient_on_true"],
            "compliant_despite_violation": c["compliant_despite_violation"],
            "summary": {"compliant": c["summary_compliant"],
                        **{k.split(":", 1)[1]: v for k, v in sorted(c.items())
                           if k.startswith("summary_insufficient:")}},
            "misses": {r: c["miss:" + r] for r in MISS_REASONS if c["miss:" + r]},
            "misses_supportable": {r: c["miss_supportable:" + r] for r in MISS_REASONS
                                   if c["miss_supportable:" + r]},
            "misses_supportable_untyped": {r: c["miss_supportable_untyped:" + r]
                                           for r in MISS_REASONS
                                           if c["miss_supportable_untyped:" + r]},
            "misses_supportable_one_site": {r: c["miss_supportable_one_site:" + r]
                                            for r in MISS_REASONS
                                            if c["miss_supportable_one_site:" + r]},
            "precision_misses": {r: c["precision_miss:" + r] for r in PRECISION_MISSES
                                 if c["precision_miss:" + r]},
            "misses_origin_dist_median_m": {
                r: round(float(np.median(x)), 0)
                for r, x in miss_dist.get((pid, party), {}).items()},
        })
    return out


def _held(held: Mapping[tuple[str, str], list[tuple[int, str | None]]], pid: str,
          oid: str) -> Sequence[tuple[int, str | None]]:
    return held.get((pid, oid), [])


def _miss_reason(thing: Mapping[str, Any], party: str | None,
                 owned: Sequence[tuple[str, str | None]], touched: bool, stored: set[str],
                 held: Callable[[str], Sequence[tuple[int, str | None]]]) -> str:
    """The first of :data:`MISS_REASONS` that explains why ``thing`` was not found.
    ``held(oid)``: the findings (index, majority item) of the provision holding a report."""
    reports = thing.get("reports")
    ids = [*reports["origin"], *reports["impact"]] if reports else \
        list(thing.get("observation_ids", ()))
    if thing["type"] == "event" and not thing.get("observable", True):
        return "not_observable"
    if not any(i in stored for i in ids):
        return "not_reported"
    if any(v == "violation" and p is not None and p != party for v, p in owned):
        return "wrong_party"
    if any(v == "insufficient_evidence" for v, _ in owned):
        return "insufficient_evidence"
    if reports is not None:
        origin = [i for i in reports["origin"] if i in stored]
        if not origin:
            return ("origin_not_reported" if thing.get("observable_origin", True)
                    else "origin_not_observable")
        if len(origin) == 1:
            return "origin_one_report"
        where = [h for i in origin for h in held(i)]
        if any(item != thing["id"] for _, item in where):
            return "origin_merged"
        if max(Counter(k for k, _ in where).values(), default=0) < 2:
            return "origin_split"
        return "origin_not_located"
    return "merged" if touched else "no_finding"


def counts_text(counts: Mapping[str, int]) -> str:
    """``{"a_b": 3, "c": 1}`` as ``a b 3, c 1`` (``-`` when empty)."""
    return ", ".join(f"{k.replace('_', ' ')} {n}" for k, n in counts.items() if n) or "-"


def summary_text(summary: Mapping[str, int]) -> str:
    """The summary verdicts of a row: ``compliant 1, insufficient (not covered) 1``."""
    parts = [f"compliant {summary['compliant']}"] if summary.get("compliant") else []
    parts += [f"insufficient ({k.replace('_', ' ')}) {n}" for k, n in summary.items()
              if k != "compliant" and n]
    return ", ".join(parts) or "-"
