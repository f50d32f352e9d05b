"""How each double count was made: a true violation with two or more right violation findings
(issue 12; :mod:`truceline.simulation.verdicts` counts every one past the first as a
``double_count`` precision miss).

Runs each week as ``bench_verdicts.py`` does (simulate -> ingest -> ``run_check``; the week is
kept in ``--cache`` to class it again) and classes each extra finding of an event by what the
two incidents behind its findings hold of the event's reports (its origin's, its impact's),
how each was located (the fix's methods, how many reports and sources) and whether it holds
an impact linked to it, from the stored incidents alone.

    python bench/double_counts.py [--scenarios all_conditions] [--seeds 1 3] [--cache DIR]
                                  [--show N]
"""

from __future__ import annotations

import argparse
import math
import pickle
from collections import Counter, defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from truceline.simulation.verdicts import majority
from verdict_misses import PROVISION, week


def cached(scenario: str, seed: int, cache: str | None) -> dict[str, Any]:
    path = Path(cache) / f"{scenario}-{seed}.pkl" if cache else None
    if path is not None and path.exists():
        return pickle.loads(path.read_bytes())
    w = week(scenario, seed)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(w))
    return w


def _kind(o: Mapping[str, Any]) -> str:
    st = str(o.get("source_type"))
    if st == "sensor":
        return "arr"
    if st == "camera":
        return "cam"
    return "band" if o.get("distance_min_m") is not None or o.get("distance_max_m") \
        is not None else "mon"


def describe(inc: Mapping[str, Any], ev: Mapping[str, Any], obs: Mapping[str, Any]) -> str:
    """One incident as the double count's classes read it: role, methods, what it holds."""
    d = inc.get("details", {})
    oev = set(d.get("origin_evidence", inc["evidence"]))
    own_o = set(ev["reports"]["origin"]) & oev
    own_i = set(ev["reports"]["impact"]) & oev
    kinds = Counter(_kind(obs[i]) for i in oev if i in obs)
    src = len({obs[i]["source_id"] for i in oev if i in obs})
    meth = "+".join(m[:4] for m in d.get("method", [])) or "-"
    linked = "linked" if inc.get("impact") and inc.get("origin") else "alone"
    return (f"{linked} {meth} n{len(oev)}/s{src} "
            f"[{' '.join(f'{k}{n}' for k, n in sorted(kinds.items()))}] "
            f"own o{len(own_o)} i{len(own_i)} other {len(oev - own_o - own_i)}")


def _parts(inc: Mapping[str, Any], ev: Mapping[str, Any], obs: Mapping[str, Any]
           ) -> tuple[set[str], set[str], set[str]]:
    """The incident's origin reports, their kinds, and those of the event's impact."""
    oev = set(inc.get("details", {}).get("origin_evidence", inc["evidence"]))
    return oev, {_kind(obs[i]) for i in oev if i in obs}, set(ev["reports"]["impact"]) & oev


def pair_class(a: Mapping[str, Any], b: Mapping[str, Any], ev: Mapping[str, Any],
               obs: Mapping[str, Any]) -> str:
    """How the two incidents behind one event's two findings were made."""
    (oa, ka, ia), (ob, kb, ib) = _parts(a, ev, obs), _parts(b, ev, obs)
    if (ia and not oa - ia) or (ib and not ob - ib):
        return "an impact typed an origin"
    lone = [len(o) == 1 and k <= {"band", "mon", "cam"} for o, k in ((oa, ka), (ob, kb))]
    if all(lone):
        return "two lone monitor reports' fixes"
    if any(lone):
        return "a lone monitor report's fix beside the launch's fix"
    arr = ["arr" in ka, "arr" in kb]
    if all(arr):
        return "two fixes holding arrivals (split arrival groups)"
    if any(arr):
        return "monitors'/cameras' reports split from the arrivals' fix"
    return "monitors'/cameras' reports split in two fixes"


def why_two(a: Mapping[str, Any], b: Mapping[str, Any], obs: Mapping[str, Any]) -> str:
    """Which of :mod:`truceline.core.fusion.same_shot`'s tests the pair fails, from the
    stored incidents (their times, not fusion's windows): the first that applies."""
    la, lb = a["origin"], b["origin"]
    lat0 = math.radians((la["lat"] + lb["lat"]) / 2)
    d = np.array([(lb["lon"] - la["lon"]) * 111_320.0 * math.cos(lat0),
                  (lb["lat"] - la["lat"]) * 110_574.0])
    c = np.array(la["cov_m2"]) + np.array(lb["cov_m2"])
    m = math.sqrt(float(d @ np.linalg.solve(np.array([[c[0], c[1]], [c[1], c[2]]]), d)))
    src = [{obs[i]["source_id"] for i in x.get("details", {}).get("origin_evidence",
                                                                  x["evidence"])}
           for x in (a, b)]
    if min(max(x["party_probability"].values()) for x in (a, b)) < 0.9:
        return "one attributed below 0.9"
    if m > 3.0:
        return f"fixes disagree (Mahalanobis {'3-5' if m <= 5 else '> 5'})"
    if src[0] & src[1]:
        return "a source in both"
    if a.get("impact") and b.get("impact"):
        return "both linked to an impact"
    wide = max((a, b), key=lambda x: sum(np.array(x["origin"]["cov_m2"])[[0, 2]]))
    sharp = b if wide is a else a
    if wide.get("impact"):
        return "the less precise one linked to an impact"
    if len(wide["evidence"]) >= len(sharp["evidence"]):
        return "the less precise one as large as the other's incident"
    return "passes (other: windows, ambiguity, chain)"


def classify(w: Mapping[str, Any], show: int = 0) -> tuple[Counter[str], Counter[str]]:
    obs, truth = w["obs"], w["truth"]
    events = {r["id"]: r for r in truth if r.get("type") == "event"}
    owner = {i: e["id"] for e in events.values() for ids in e["reports"].values() for i in ids}
    incs = {x["id"]: x for x in w["incidents"]}
    hits: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for f in w["findings"]:
        if f["provision_id"] != PROVISION or f["verdict"] != "violation" or not f.get("party") \
                or not f["evidence"]:
            continue
        m = majority(f["evidence"], owner)
        if m is not None and PROVISION in events[m].get("violates", []) \
                and events[m]["party"] == f["party"]:
            hits[m].append(f)
    out: Counter[str] = Counter()
    why: Counter[str] = Counter()
    shown = 0
    for eid, fs in hits.items():
        if len(fs) < 2:
            continue
        ev = events[eid]
        first = incs.get(fs[0].get("incident_id"))
        for f in fs[1:]:
            inc = incs.get(f.get("incident_id"))
            if first is None or inc is None:
                out["finding without incident"] += 1
                continue
            out[pair_class(first, inc, ev, obs)] += 1
            why[why_two(first, inc, obs)] += 1
            if shown < show:
                shown += 1
                print(eid, ev.get("weapon_class"), ev["origin"].get("dist_to_line_m"),
                      f"origin reports {len(ev['reports']['origin'])} "
                      f"impact {len(ev['reports']['impact'])}")
                for x in (first, inc):
                    print("   ", x["id"], x["time"], describe(x, ev, obs),
                          x.get("party_probability"),
                          x.get("details", {}).get("ellipse", {}).get("semi_major_m"))
    return out, why


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", nargs="+", default=["all_conditions"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--cache", default=None, help="keep each week's store contents here")
    ap.add_argument("--show", type=int, default=0, help="print this many cases per week")
    args = ap.parse_args()
    made: dict[str, Counter[str]] = defaultdict(Counter)  # per scenario, seeds pooled
    why: dict[str, Counter[str]] = defaultdict(Counter)
    for s in args.scenarios:
        for k in args.seeds:
            a, b = classify(cached(s, k, args.cache), args.show)
            made[s].update(a)
            why[s].update(b)
    for tab, title in ((made, "how the two were made"), (why, "why fusion left them two")):
        print(f"\n{title} (seeds {' '.join(map(str, args.seeds))} pooled)\n")
        table(tab)


def table(tab: Mapping[str, Counter[str]]) -> None:
    names = sorted({n for t in tab.values() for n in t},
                   key=lambda n: -sum(t[n] for t in tab.values()))
    print("| class | " + " | ".join(tab) + " | all |")
    print("|---|" + "---|" * len(tab) + "---|")
    for n in [*names, None]:
        row = [sum(t.values()) if n is None else t[n] for t in tab.values()]
        print(f"| {n or 'all'} | " + " | ".join(map(str, row)) + f" | {sum(row)} |")


if __name__ == "__main__":
    main()
