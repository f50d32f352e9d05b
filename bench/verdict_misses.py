"""Why the ceasefire's true violations whose origin was reported got no finding (issue 12).

Runs each week as ``bench_verdicts.py`` does (simulate -> ingest -> ``run_check``) and classes
every true M25-ceasefire violation with at least one stored report of its origin but no
violation finding naming its party, by the first class that applies, from the stored incidents
alone (no fusion internals): a violation finding for another party; the origin located (in an
incident whose majority is another event: merged; else attributed below 0.9, its ellipse's
semi-major longer than the true distance to the line or not); the origin's reports an untyped
fix (by where its burst went: located and typed, itself an untyped fix or in the same group,
heard by arrays only and not located, unreported); typed an impact; not located (one report:
an arrival, a camera's bearing without range, a monitor's; arrivals only, by whether the burst
was located; mixed reports). "Two sources": the origin reported by two or more sources.

    python bench/verdict_misses.py [--scenarios baseline wind] [--seeds 1 2 3] [--all]
                                   [--supportable [--by-areas] [--ellipses | --detail]]

With ``--all``, every true M25-ceasefire violation not found is classed instead (session 29),
by what the evidence allowed, the first that applies: a wrong party's finding; nothing could
observe it (no active source in reach: the evaluator's ``not_observable``); observable but
never reported; only its impact reported (the firing not observable, or observable but
unreported); its firing reported by one *site* only (an acoustic array's sensors are one
site: :func:`truceline.simulation.evaluation.site_of`), placed at P < 0.9, in another event's
incident, or not placed at all; from two sites or more: located at P < 0.9, in another
event's incident, split over incidents, or not located.

With ``--supportable`` (session 36), only the misses among the violations the evidence could
support (:func:`truceline.simulation.crlb.supportable_origins`: an ideal fusion of the stored
firing reports places the origin on its side at the agreement's confidence) are classed: a
wrong party's finding; in another event's incident; located at P < 0.9 (by the fusion's P of
the true party); split over incidents; not located (an untyped fix, by where its burst
went; the firing typed an impact; arrivals only; mixed reports), each by one site or two and
more and by whether a report typed the firing (a monitor's ``outgoing``, a camera's flash);
the lines in brackets count every supportable violation, found or not. With ``--ellipses``, a
located miss also says whether its stated ellipse is wider than 1.5 x the bound across the
line and whether its estimate sits a stated sd or more toward the line. With ``--detail``
(session 39), each miss is classed by the incident holding most of its origin's reports
instead, and by its true party: a typed origin at P < 0.9 (by its fit), a group typed impact
located at the firing or at its burst, an untyped fix (arrivals only or with bearings) at the
firing or not; "(split)" where the origin's reports went to two incidents or more. With
``--by-areas`` (session 41, h9a), the supportable set is judged by the agreement's areas of
control (the fusion attributes by them) instead of the line's side, and under ``--detail`` a
typed origin at P < 0.9 also says what keeps it there: its stated ellipse (at the estimate
the bound would give >= 0.9, at the truth the stated ellipse < 0.9), its estimate (the other
way round), both, or neither alone.
"""

from __future__ import annotations

import argparse
import math
import tempfile
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.importers import read_records
from truceline.adapters.simulate_files import read_truth, write_simulation
from truceline.adapters.store import open_store
from truceline.core.geo import GEOD
from truceline.services.check import run_check
from truceline.services.context import context_for_doc
from truceline.services.ingest import ingest
from truceline.services.record import initialize_store
from truceline.simulation.crlb import (
    line_offset,
    own_area_probability,
    position_cov,
    says_firing,
    supportable_origins,
)
from truceline.simulation.evaluation import site_of

PROVISION = "M25-ceasefire"


def week(scenario: str, seed: int) -> dict[str, Any]:
    """One simulated 7-day week: truth, observations, stored ids, incidents, findings."""
    ag, doc = load_agreement_file("march2025")
    start = ag.entry_into_force_at + timedelta(days=4)
    with tempfile.TemporaryDirectory() as tmp:
        sim = Path(tmp) / "sim"
        write_simulation("march2025", sim, days=7, seed=seed, scale=1.0, start=start,
                         scenario=scenario)
        store = open_store(str(Path(tmp) / "sim.db"), create=True)
        initialize_store(store, doc)
        ingest(store, read_records(str(sim / "observations.jsonl"), "jsonl"))
        manifest, truth, obs = read_truth(sim)
        stored = {o.id for o in store.observations()}
        run_check(store)
        geom = context_for_doc(doc).geometry
        assert geom is not None and ag.geography is not None
        out = {"truth": truth, "obs": obs, "stored": stored,
               "line": geom.lines[ag.geography.line_of_contact].parts_lonlat,
               "timing_sd_s": manifest["params"]["sensor_timing_sd_s"],
               "confidence": ag.attribution_confidence,
               "geometry": geom, "incidents": store.incident_records(),
               "findings": [f.to_record() for f in store.findings()]}
        store.close()
    return out


def _kind(o: Mapping[str, Any]) -> str:
    return {"sensor": "arrival", "camera": "camera"}.get(str(o.get("source_type")), "monitor")


def _owners(w: Mapping[str, Any]) -> tuple[list[dict[str, Any]], dict[str, str],
                                          Callable[[Sequence[str]], str | None]]:
    """The true events, each one's party, and the event most of some reports belong to (ties
    to the lowest id, as the evaluator breaks them)."""
    events = [r for r in w["truth"] if r.get("type") == "event"]
    owner = {i: e["id"] for e in events for ids in e["reports"].values() for i in ids}
    party = {e["id"]: e["party"] for e in events}

    def majority(ids: Sequence[str]) -> str | None:
        c = Counter(owner[i] for i in ids if i in owner)
        return min(c, key=lambda k: (-c[k], k)) if c else None

    return events, party, majority


def classify(w: Mapping[str, Any]) -> list[tuple[str, bool]]:
    """``(class, two sources)`` of each missed violation whose origin was reported."""
    obs, stored = w["obs"], w["stored"]
    events, party, majority = _owners(w)

    found: set[str] = set()
    wrong: set[str] = set()
    for f in w["findings"]:
        m = majority(f["evidence"])
        if f["provision_id"] == PROVISION and f["verdict"] == "violation" and f.get("party") \
                and m:
            (found if f["party"] == party[m] else wrong).add(m)
    inc_of: dict[str, Mapping[str, Any]] = {}
    for inc in w["incidents"]:
        for i in inc.get("evidence", []):
            inc_of.setdefault(i, inc)

    def located(ids: Sequence[str]) -> bool:
        return any(inc_of[i].get(k) for i in ids if i in inc_of
                   for k in ("origin", "impact", "location"))

    out = []
    for e in events:
        origin = [i for i in e["reports"]["origin"] if i in stored]
        if PROVISION not in e.get("violates", []) or not origin or e["id"] in found:
            continue
        impact = [i for i in e["reports"]["impact"] if i in stored]
        two = len({obs[i]["source_id"] for i in origin}) >= 2
        incs = {inc_of[i]["id"]: inc_of[i] for i in origin if i in inc_of}.values()
        placed = [x for x in incs if x.get("origin")
                  and set(x["details"].get("origin_evidence", x["evidence"])) & set(origin)]
        untyped = [x for x in incs if x.get("location")]
        as_impact = [x for x in incs if x.get("impact")
                     and set(x["details"].get("impact_evidence", ())) & set(origin)]
        if e["id"] in wrong:
            cls = "a violation finding for the wrong party"
        elif placed:
            x = max(placed, key=lambda x: len(set(x["evidence"]) & set(origin)))
            if majority(x["evidence"]) != e["id"]:
                cls = "origin merged into another event's incident"
            else:
                longer = x["details"].get("ellipse", {}).get("semi_major_m", 0.0) \
                    > e["origin"].get("dist_to_line_m", 0.0)
                cls = "located, P < 0.9, ellipse " + ("longer" if longer else "shorter") \
                    + " than the distance to the line"
        elif untyped:
            fix = untyped[0]["id"]
            burst = {inc_of[i]["id"]: inc_of[i] for i in impact if i in inc_of}
            if not impact:
                cls = "untyped fix, burst unreported"
            elif fix in burst or any(x.get("location") for x in burst.values()):
                cls = "untyped fix, burst in the same group or an untyped fix too"
            elif located(impact):
                cls = "untyped fix, burst located and typed"
            elif all(_kind(obs[i]) == "arrival" for i in impact):
                cls = "untyped fix, burst heard by arrays only, not located"
            else:
                cls = "untyped fix, burst reported, not located"
        elif as_impact:
            cls = "origin typed an impact"
        elif len(origin) == 1:
            cls = f"one report: {_kind(obs[origin[0]])}"
        elif all(_kind(obs[i]) == "arrival" for i in origin):
            cls = "arrivals only, burst " + ("located" if located(impact) else
                                             "not located" if impact else "unreported")
        else:
            cls = "mixed reports, not located"
        out.append((cls, two))
    return out


def cause(w: Mapping[str, Any]) -> list[str]:
    """The cause class (``--all``, above) of each true ceasefire violation not found."""
    obs, stored = w["obs"], w["stored"]
    events, party, majority = _owners(w)

    found: set[str] = set()
    wrong: set[str] = set()
    unsure: set[str] = set()
    for f in w["findings"]:
        m = majority(f["evidence"])
        if f["provision_id"] != PROVISION or not m:
            continue
        if f["verdict"] == "violation" and f.get("party"):
            (found if f["party"] == party[m] else wrong).add(m)
        elif f["verdict"] == "insufficient_evidence":
            unsure.add(m)
    inc_of: dict[str, Mapping[str, Any]] = {}
    for inc in w["incidents"]:
        for i in inc.get("evidence", []):
            inc_of.setdefault(i, inc)
    out = []
    for e in events:
        if PROVISION not in e.get("violates", []) or e["id"] in found:
            continue
        origin = [i for i in e["reports"]["origin"] if i in stored]
        impact = [i for i in e["reports"]["impact"] if i in stored]
        incs = list({inc_of[i]["id"]: inc_of[i] for i in origin if i in inc_of}.values())
        other = any(majority(x["evidence"]) != e["id"] for x in incs)
        if e["id"] in wrong:
            cls = "a finding for the wrong party"
        elif not e.get("observable", True):
            cls = "not observable (no active source in reach)"
        elif not origin and not impact:
            cls = "observable, never reported"
        elif not origin:
            cls = "impact only: firing " + ("observable, unreported"
                                            if e.get("observable_origin", True)
                                            else "not observable")
        elif len({site_of(obs[i]) for i in origin}) == 1:
            cls = "firing by one site: " + (
                "in another event's incident" if other else
                "located, P < 0.9" if e["id"] in unsure else
                _kind(obs[origin[0]]) + ("" if len(origin) == 1 else "s") + ", not placed")
        elif other:
            cls = ">= 2 sites: in another event's incident"
        elif e["id"] in unsure:
            cls = ">= 2 sites: located, P < 0.9"
        elif len(incs) > 1:
            cls = ">= 2 sites: split over incidents"
        else:
            cls = ">= 2 sites: not located (untyped fix, unlocated group)"
        out.append(cls)
    return out


def _against_bound(w: Mapping[str, Any], e: Mapping[str, Any], est: Mapping[str, Any],
                   origin: Sequence[str]) -> str:
    """How a located origin's stated ellipse compares, across the line at the true origin,
    with the Cramér–Rao bound of its reports, and where its estimate sits: ``wider`` than
    1.5 x the bound's sd across, and ``toward the line`` when the estimate lies at least one
    stated sd nearer the line than the truth."""
    target = (float(e["origin"]["lon"]), float(e["origin"]["lat"]))
    wild = set(e.get("wild", ()))
    reps = [w["obs"][i] for i in origin if i not in wild]
    bound = position_cov(target, reps, w["timing_sd_s"])
    _, n = line_offset(target, w["line"])
    cov = est.get("cov_m2")
    if bound is None or not cov:
        return "; no ellipse"
    ve, c, vn = (float(v) for v in cov)
    sd = math.sqrt(max(ve * n[0] ** 2 + 2 * c * n[0] * n[1] + vn * n[1] ** 2, 0.0))
    sd_b = math.sqrt(max(float(n @ bound @ n), 0.0))
    az, _, d = GEOD.inv(target[0], target[1], est["lon"], est["lat"])
    along = d * (math.sin(math.radians(az)) * n[0] + math.cos(math.radians(az)) * n[1])
    return ("; ellipse " + ("wider than" if sd > 1.5 * sd_b else "within") + " 1.5 x the bound"
            + ("; estimate toward the line" if along <= -sd else ""))


def _where(e: Mapping[str, Any], incs: Sequence[Mapping[str, Any]],
           origin: Sequence[str], majority: Callable[[Sequence[str]], str | None]) -> str:
    """``--detail``: what the incident holding most of a missed origin's reports made of them,
    the fix's distance to the true origin (1 km) telling a group located at the firing from
    one located at its burst (session 39, h5c)."""
    x = max(incs, key=lambda x: len(set(x["evidence"]) & set(origin)))
    d = x["details"]
    meth = d.get("method", [])

    def off(k: str) -> str:
        loc = x[k]
        far = GEOD.inv(e["origin"]["lon"], e["origin"]["lat"], loc["lon"], loc["lat"])[2]
        return "at the firing (< 1 km)" if far < 1000.0 else "> 1 km off"

    if majority(x["evidence"]) != e["id"]:
        return "in another event's incident"
    if x.get("origin") and set(d.get("origin_evidence", x["evidence"])) & set(origin):
        return "origin P < 0.9: " + (
            "its fit rejects rows or RMS > 3" if d.get("outliers")
            or float(d.get("residual_rms") or 0.0) > 3.0 else
            "arrivals only" if meth == ["arrival_times"] else
            "bearings / bands only" if "arrival_times" not in meth else "a clean mixed fit")
    if x.get("impact") and not d.get("impact_evidence"):
        return "a group typed impact (by a monitor's report), " + off("impact")
    if x.get("impact"):
        return "in a linked incident's impact part"
    if x.get("location"):
        return ("an untyped fix of arrivals only, " if meth == ["arrival_times"]
                else "an untyped fix with bearings, ") + off("location")
    return "not located"


def _what_keeps(w: Mapping[str, Any], e: Mapping[str, Any], x: Mapping[str, Any],
                 origin: Sequence[str]) -> str:
    """``--by-areas --detail``: whether a located origin's stated ellipse or its estimate
    keeps its attribution under the agreement's confidence (module doc)."""
    target = (float(e["origin"]["lon"]), float(e["origin"]["lat"]))
    wild = set(e.get("wild", ()))
    bound = position_cov(target, [w["obs"][i] for i in origin if i not in wild],
                         w["timing_sd_s"])
    o = x["origin"]
    ve, c, vn = (float(v) for v in o["cov_m2"])
    stated = np.array([[ve, c], [c, vn]])
    at_truth = own_area_probability(w["geometry"], e["party"], target, stated, e["time"])
    at_est = own_area_probability(w["geometry"], e["party"], (o["lon"], o["lat"]), bound,
                                  e["time"])
    ok = w["confidence"]
    return ("; the ellipse" if at_truth < ok <= at_est else
            "; the estimate" if at_est < ok <= at_truth else
            "; both" if max(at_est, at_truth) < ok else "; neither alone")


def supportable_cause(w: Mapping[str, Any], ellipses: bool = False,
                      detail: bool = False, by_areas: bool = False) -> list[str]:
    """The class (``--supportable``, above) of each supportable true violation not found;
    with ``detail``, by :func:`_where` and the true party; ``by_areas``: supportable by the
    areas of control (module doc)."""
    obs, stored = w["obs"], w["stored"]
    events, party, majority = _owners(w)
    mine = [e for e in events if PROVISION in e.get("violates", [])]
    sup = supportable_origins(mine, obs, stored, w["line"], w["timing_sd_s"], w["confidence"],
                              w["geometry"] if by_areas else None)
    found: set[str] = set()
    wrong: set[str] = set()
    for f in w["findings"]:
        m = majority(f["evidence"])
        if f["provision_id"] == PROVISION and m and f["verdict"] == "violation" \
                and f.get("party"):
            (found if f["party"] == party[m] else wrong).add(m)
    inc_of: dict[str, Mapping[str, Any]] = {}
    for inc in w["incidents"]:
        for i in inc.get("evidence", []):
            inc_of.setdefault(i, inc)
    out = []
    for e in mine:
        if not sup[e["id"]]:
            continue
        origin = [i for i in e["reports"]["origin"] if i in stored]
        sites = "one site" if len({site_of(obs[i]) for i in origin}) == 1 else ">= 2 sites"
        typed = any(says_firing(obs[i]) for i in origin)
        sites += ", typed" if typed else ", untyped"
        out.append(f"(all supportable, {sites})")  # the denominators, found or not
        if e["id"] in found:
            continue
        incs = list({inc_of[i]["id"]: inc_of[i] for i in origin if i in inc_of}.values())
        placed = [x for x in incs if x.get("origin")
                  and set(x["details"].get("origin_evidence", x["evidence"])) & set(origin)
                  and majority(x["evidence"]) == e["id"]]
        if detail:
            cls = ("a finding for the wrong party" if e["id"] in wrong else
                   "no incident" if not incs else _where(e, incs, origin, majority))
            if by_areas and cls.startswith("origin P < 0.9"):
                x = max(incs, key=lambda x: len(set(x["evidence"]) & set(origin)))
                cls += _what_keeps(w, e, x, origin)
            out.append(f"{cls}{' (split)' if len(incs) > 1 else ''}, {e['party']}")
            continue
        if e["id"] in wrong:
            cls = "a finding for the wrong party"
        elif any(majority(x["evidence"]) != e["id"] for x in incs):
            cls = "in another event's incident"
        elif placed:
            x = max(placed, key=lambda x: len(set(x["evidence"]) & set(origin)))
            p = float((x.get("party_probability") or {}).get(e["party"], 0.0))
            cls = "located, P(true party) " + ("< 0.5" if p < 0.5 else "0.5-0.8" if p < 0.8
                                               else "0.8-0.9" if p < 0.9 else ">= 0.9")
            if ellipses:
                cls += _against_bound(w, e, x["origin"], origin)
        elif len(incs) > 1:
            cls = "split over incidents"
        elif any(x.get("location") for x in incs):
            impact = [i for i in e["reports"]["impact"] if i in stored]
            burst = [inc_of[i] for i in impact if i in inc_of]
            cls = "not located: an untyped fix, burst " + (
                "unreported" if not impact else
                "in the same group" if {x["id"] for x in burst} & {x["id"] for x in incs} else
                "located and typed" if any(x.get("impact") for x in burst) else
                "an untyped fix too" if any(x.get("location") for x in burst) else
                "reported, not located")
        elif any(x.get("impact") and set(x["details"].get("impact_evidence", ())) & set(origin)
                 for x in incs):
            cls = "not located: the firing typed an impact"
        elif all(_kind(obs[i]) == "arrival" for i in origin):
            cls = "not located: arrivals only"
        else:
            cls = "not located: " + ("one report" if len(origin) == 1 else "mixed reports")
        out.append(f"{cls} ({sites})")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", nargs="+", default=["baseline", "wind"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--all", action="store_true",
                    help="class every true violation not found, by what the evidence allowed")
    ap.add_argument("--supportable", action="store_true",
                    help="class the misses among the violations the evidence could support")
    ap.add_argument("--ellipses", action="store_true",
                    help="with --supportable: a located miss's ellipse against the bound")
    ap.add_argument("--by-areas", action="store_true",
                    help="with --supportable: supportable by the areas of control, not the line")
    ap.add_argument("--detail", action="store_true",
                    help="with --supportable: where the incident holding the origin put it, "
                    "by party")
    args = ap.parse_args()
    cols = [(s, k) for s in args.scenarios for k in args.seeds]
    if args.all or args.supportable:
        tab_all = {c: Counter(supportable_cause(week(*c), args.ellipses, args.detail,
                                                args.by_areas)
                              if args.supportable
                              else cause(week(*c))) for c in cols}
        kinds = sorted({n for t in tab_all.values() for n in t})
        print("| cause | " + " | ".join(f"{s} s{k}" for s, k in cols) + " | all |")
        print("|---|" + "---|" * len(cols) + "---|")
        for n in kinds:
            print(f"| {n} | " + " | ".join(str(tab_all[c][n]) for c in cols)
                  + f" | {sum(t[n] for t in tab_all.values())} |")
        return
    tab = {c: Counter(classify(week(*c))) for c in cols}
    names = sorted({n for t in tab.values() for n, _ in t},
                   key=lambda n: -sum(v for t in tab.values() for (m, _), v in t.items()
                                      if m == n))
    print("| class | " + " | ".join(f"{s} s{k}" for s, k in cols) + " | all (two sources) |")
    print("|---|" + "---|" * len(cols) + "---|")
    for n in [*names, None]:
        def count(t: Counter[tuple[str, bool]], two: bool | None = None, n: str | None = n
                  ) -> int:
            return sum(v for (m, b), v in t.items() if (n is None or m == n)
                       and (two is None or b == two))
        print(f"| {n or 'all'} | " + " | ".join(str(count(tab[c])) for c in cols)
              + f" | {sum(count(t) for t in tab.values())} "
              f"({sum(count(t, True) for t in tab.values())}) |")


if __name__ == "__main__":
    main()
