"""What a monitoring layout buys, per true event: detected, located, attributed (issue 16).

The evaluator (:mod:`truceline.simulation.evaluation`) scores the pipeline as a whole; a
planner needs shares of *all* true events, per sector, under one rule each:

* **detected**: some report of the event was stored and fused into an incident;
* **located within 1 km**: the incident holding most of the event's origin reports has an
  origin within ``located_m`` of the true origin (the same "most reports" rule as the
  evaluator's location table);
* **attributed**: that incident (or, without one, the event's main incident) names the true
  party with at least the agreement's ``attribution_confidence``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from truceline.core.geo import GEOD

__all__ = ["score_layout"]


def score_layout(truth: Sequence[Mapping[str, Any]], incidents: Sequence[Mapping[str, Any]],
                 findings: Sequence[Mapping[str, Any]], stored_ids: set[str], *,
                 confidence: float, located_m: float = 1_000.0) -> dict[str, Any]:
    """Shares of the true events detected, located within ``located_m`` and attributed at
    ``confidence``, over the line and per sector (``sector`` of each event)."""
    events = [r for r in truth if r.get("type") == "event"]
    inc_by_id = {i["id"]: i for i in incidents}
    by_obs: dict[str, str] = {}
    for inc in incidents:
        for oid in inc.get("evidence", []):
            by_obs.setdefault(oid, inc["id"])
    probs_f: dict[str, Mapping[str, float]] = {}
    for f in findings:
        pr = (f.get("details") or {}).get("probabilities")
        if f.get("incident_id") and pr:
            probs_f[f["incident_id"]] = pr
    tally: dict[str, Counter[str]] = defaultdict(Counter)
    for e in events:
        origin_ids = [i for i in e["reports"]["origin"] if i in stored_ids]
        all_ids = origin_ids + [i for i in e["reports"]["impact"] if i in stored_ids]
        o_inc = Counter(by_obs[i] for i in origin_ids if i in by_obs).most_common()
        a_inc = Counter(by_obs[i] for i in all_ids if i in by_obs).most_common()
        detected = bool(a_inc)
        located = attributed = False
        cands = [inc_by_id[i] for i, _ in o_inc if inc_by_id[i].get("origin")]
        if cands:
            est = cands[0]["origin"]
            _, _, d = GEOD.inv(est["lon"], est["lat"], e["origin"]["lon"], e["origin"]["lat"])
            located = float(d) <= located_m
        for i, _ in [*o_inc, *a_inc[:1]]:
            pr = inc_by_id[i].get("party_probability") or probs_f.get(i)
            if pr:
                attributed = float(pr.get(e["party"], 0.0)) >= confidence
                break
        for key in ("line", f"sector:{e.get('sector')}"):
            t = tally[key]
            t["events"] += 1
            t["detected"] += detected
            t["located"] += located
            t["attributed"] += attributed
    def shares(t: Counter[str]) -> dict[str, Any]:
        n = t["events"]
        return {"events": n, **{f"{k}_share": (round(t[k] / n, 4) if n else None)
                                for k in ("detected", "located", "attributed")}}

    return {"confidence": confidence, "located_m": located_m,
            "line": shares(tally["line"]),
            "sectors": {k.split(":", 1)[1]: shares(v) for k, v in sorted(tally.items())
                        if k.startswith("sector:")}}
