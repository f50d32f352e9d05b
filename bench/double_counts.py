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
import pickle
from collections import Counter, defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

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


def shape(inc: Mapping[str, Any], ev: Mapping[str, Any], obs: Mapping[str, Any]) -> str:
    """A coarse class of one incident: what it is made of."""
    d = inc.get("details", {})
    oev = set(d.get("origin_evidence", inc["evidence"]))
    kinds = {_kind(obs[i]) for i in oev if i in obs}
    src = len({obs[i]["source_id"] for i in oev if i in obs})
    own_o = set(ev["reports"]["origin"]) & oev
    own_i = set(ev["reports"]["impact"]) & oev
    if own_i and not own_o:
        what = "impact typed origin"
    elif kinds == {"arr"} and src == 1:
        what = "one array's arrivals"
    elif len(oev) == 1:
        what = "lone " + next(iter(kinds))
    elif kinds == {"arr"}:
        what = "arrays only"
    else:
        what = "fix of " + "+".join(sorted(kinds))
    return what + (" (linked)" if inc.get("impact") else "")


def classify(w: Mapping[str, Any], show: int = 0) -> Counter[str]:
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
            a, b = sorted([shape(first, ev, obs), shape(inc, ev, obs)])
            out[f"{a} + {b}"] += 1
            if shown < show:
                shown += 1
                print(eid, ev.get("weapon_class"), ev["origin"].get("dist_to_line_m"),
                      f"origin reports {len(ev['reports']['origin'])} "
                      f"impact {len(ev['reports']['impact'])}")
                for x in (first, inc):
                    print("   ", x["id"], x["time"], describe(x, ev, obs),
                          x.get("party_probability"),
                          x.get("details", {}).get("ellipse", {}).get("semi_major_m"))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", nargs="+", default=["all_conditions"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--cache", default=None, help="keep each week's store contents here")
    ap.add_argument("--show", type=int, default=0, help="print this many cases per week")
    args = ap.parse_args()
    cols = [(s, k) for s in args.scenarios for k in args.seeds]
    tab = {c: classify(cached(*c, args.cache), args.show) for c in cols}
    names = sorted({n for t in tab.values() for n in t},
                   key=lambda n: -sum(t[n] for t in tab.values()))
    print("| class | " + " | ".join(f"{s} s{k}" for s, k in cols) + " | all |")
    print("|---|" + "---|" * len(cols) + "---|")
    for n in [*names, None]:
        row = [sum(t.values()) if n is None else t[n] for t in tab.values()]
        print(f"| {n or 'all'} | " + " | ".join(map(str, row)) + f" | {sum(row)} |")


if __name__ == "__main__":
    main()
