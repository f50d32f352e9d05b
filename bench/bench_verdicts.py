"""Findings precision and recall per provision and party on simulated weeks (issue 12).

For each scenario (baseline, restrictions, cameras_down, uncovered;
``truceline.simulation.presets``) and each seed, simulates a 7-day week of the March 2025
agreement (from entry into force + 4 days), ingests it into a temporary SQLite store, runs
``services.check.run_check`` (fusion, then every provision's check, with the coverage model
from the simulated ``monitoring`` and ``restriction`` records) and scores the store against the
truth with ``simulation.evaluation.evaluate``. Writes ``bench/results/verdicts.md``: per
scenario x seed x provision x party, recall (overall, and among the violations an active
source could observe), precision, "compliant" verdicts despite a true violation in the window,
the summary verdicts with their reasons, and why each missed violation was missed.

    python bench/bench_verdicts.py [--days 7] [--scale 1] [--seeds 1 2 3]
                                   [--scenarios baseline restrictions cameras_down uncovered]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.importers import read_records
from truceline.adapters.simulate_files import read_truth, write_simulation
from truceline.adapters.store import open_store
from truceline.core.coverage_inputs import coverage_from_observations
from truceline.services.check import run_check
from truceline.services.context import context_for_doc
from truceline.services.ingest import ingest
from truceline.services.record import initialize_store
from truceline.simulation.evaluation import MISS_REASONS, counts_text, evaluate, summary_text
from truceline.simulation.presets import SCENARIOS

OUT = Path(__file__).resolve().parent / "results" / "verdicts.md"
BAR = 0.95


def run_one(scenario: str, seed: int, days: int, scale: float) -> dict[str, Any]:
    ag, doc = load_agreement_file("march2025")
    start = ag.entry_into_force_at + timedelta(days=4)
    with tempfile.TemporaryDirectory() as tmp:
        sim = Path(tmp) / "sim"
        t0 = time.perf_counter()
        res = write_simulation("march2025", sim, days=days, seed=seed, scale=scale,
                               start=start, scenario=scenario)
        store = open_store(str(Path(tmp) / "sim.db"), create=True)
        initialize_store(store, doc)
        ingest(store, read_records(str(sim / "observations.jsonl"), "jsonl"))
        manifest, truth, obs = read_truth(sim)
        observations = list(store.observations())
        stored = {o.id for o in observations}
        chk = run_check(store)
        geom = context_for_doc(doc).geometry
        assert geom is not None and ag.geography is not None
        report = evaluate(truth, obs, stored, store.incident_records(),
                          [f.to_record() for f in store.findings()],
                          parties=manifest["parties"],
                          sensor_timing_sd_s=manifest["params"]["sensor_timing_sd_s"],
                          line_lonlat=geom.lines[ag.geography.line_of_contact].parts_lonlat,
                          confidence=ag.attribution_confidence, geometry=geom)
        cov = coverage_from_observations(geom, ag, observations)
        end = start + timedelta(days=days)
        shares = {p: round(cov.share(p, start, end, frozenset({"fire"})), 3)
                  for p in manifest["parties"]}
        store.close()
    setup = {
        "observations": res.observations, "events": res.events,
        "restrictions": sum(1 for r in truth if r.get("kind") == "freedom_of_movement"),
        "area_denials": sum(1 for r in truth if r.get("denied_radius_m")),
        "cameras": sum(1 for r in truth if r.get("role") == "camera"),
        "camera_days_down": sum(len(r["cameras_down"]) for r in truth
                                if r["type"] == "monitoring"),
        "uncovered": [f"{r['id']} (km {r['from_km']:.0f}-{r['to_km']:.0f})" for r in truth
                      if r.get("uncovered")],
        "coverage_fire": shares, "incidents": chk.incidents, "findings": len(chk.findings),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    return {"scenario": scenario, "seed": seed, "setup": setup, "findings": report["findings"],
            "detection": report["detection"], "attribution": report["attribution"]}


def v(x: Any) -> str:
    return "n/a" if x is None else (f"{x:.3f}" if isinstance(x, float) else str(x))


def ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def render(runs: list[dict[str, Any]], args: argparse.Namespace, seconds: float) -> str:
    lines = [
        "# Findings precision and recall per provision and party (issue 12)", "",
        f"{time.strftime('%Y-%m-%d')}, {platform.machine()}, Python "
        f"{platform.python_version()}, `python bench/bench_verdicts.py --days {args.days} "
        f"--scale {args.scale} --seeds {' '.join(map(str, args.seeds))}"
        + ("" if args.scenarios == list(SCENARIOS) else f" --scenarios {' '.join(args.scenarios)}")
        + "` "
        f"({seconds:.0f} s in all).", "",
        f"March 2025 agreement, {args.days}-day weeks from entry into force + 4 days, "
        f"scale {args.scale:g}; each run is simulate -> ingest -> `run_check` -> evaluate. "
        "Scenarios (`truceline simulate --scenario NAME`, "
        "`truceline.simulation.presets`):", ""]
    lines += [f"* `{k}`: {d}" for k, (d, _) in SCENARIOS.items()]
    lines += ["", "Definitions (`truceline.simulation.evaluation`): **recall** = true violations "
              "with a violation finding naming the true party whose evidence belongs by "
              "majority to that event or item / all true violations; **recall (observable)** = "
              "the same over the true violations that an active, unrestricted source could "
              "detect (`observable` in the truth; planted items are always reported); "
              "**precision** = violation findings naming a party that are right / all "
              "violation findings naming a party (unattributed ones are counted apart); "
              "**compliant despite** = 'compliant' verdicts for a party whose window holds a "
              "true violation by it (must be 0); **summary verdicts** = the per-party verdict "
              "of the provision's window (none when a violation was attributed to the party).",
              "", "## Setup of each run", "",
              "| scenario | seed | observations | events | restrictions (area denials) | "
              "camera-days down / cameras | uncovered sectors | fire coverage (share of each "
              "side) | s |", "|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        s = r["setup"]
        cov = ", ".join(f"{k} {x:.2f}" for k, x in s["coverage_fire"].items())
        lines.append(f"| {r['scenario']} | {r['seed']} | {s['observations']:,} | "
                     f"{s['events']:,} | {s['restrictions']} ({s['area_denials']}) | "
                     f"{s['camera_days_down']} / {s['cameras']} | "
                     f"{', '.join(s['uncovered']) or '-'} | {cov} | {s['seconds']} |")
    lines += ["", "## Per scenario, seed, provision and party", "",
              "| scenario | seed | provision | party | true | recall | true observable | "
              "recall (observable) | supportable | recall (supportable) | "
              "recall (supportable by the line) | violation findings | precision | "
              "unattributed | compliant despite | summary verdicts |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        for f in r["findings"]:
            if not f["true_violations"] and not f["violation_findings"] \
                    and not f["summary"].get("compliant"):
                continue
            lines.append(
                f"| {r['scenario']} | {r['seed']} | {f['provision']} | {v(f['party'])} | "
                f"{f['true_violations']} | {v(f['recall'])} | {f['true_observable']} | "
                f"{v(f['recall_observable'])} | {f.get('true_supportable', 0)} | "
                f"{v(f.get('recall_supportable'))} | {v(f.get('recall_supportable_line'))} | "
                f"{f['violation_findings']} | "
                f"{v(f['precision'])} | {f['unattributed']} | "
                f"{f['compliant_despite_violation']} | {summary_text(f['summary'])} |")
    # pooled over the seeds
    pool: dict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
    miss: dict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
    wrong: dict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
    miss_sup: dict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
    miss_sup_untyped: dict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
    miss_sup_one: dict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
    seeds_ok: dict[tuple[str, str, str], list[bool]] = defaultdict(list)
    for r in runs:
        for f in r["findings"]:
            key = (r["scenario"], f["provision"], str(f["party"]))
            c = pool[key]
            for k in ("true_violations", "found", "true_observable", "found_observable",
                      "true_origin1", "found_origin1", "true_origin2", "found_origin2",
                      "true_origin2_sites", "found_origin2_sites",
                      "true_supportable", "found_supportable", "true_supportable_line",
                      "found_supportable_line", "violation_findings", "correct",
                      "compliant_despite_violation"):
                c[k] += f.get(k, 0)
            miss[key].update(f["misses"])
            wrong[key].update(f["precision_misses"])
            miss_sup[key].update(f.get("misses_supportable", {}))
            miss_sup_untyped[key].update(f.get("misses_supportable_untyped", {}))
            miss_sup_one[key].update(f.get("misses_supportable_one_site", {}))
            if f["true_violations"]:
                ok = (f["recall"] or 0) >= BAR and (f["precision"] is None
                                                    or f["precision"] >= BAR)
                seeds_ok[key].append(ok and not f["compliant_despite_violation"])
    lines += ["", f"## Pooled over the seeds, against the bar ({BAR})", "",
              "Recall (origin >= 2 sources): among the true violations whose origin at "
              "least two sources reported (stored reports), how many were found; one report "
              "of an origin does not place it, so this is what fusion could fix at all. "
              "Origin reported: the true violations with at least one stored report of "
              "their origin (for planted items, all); an impact alone does not say who fired, "
              "so origin reported / true bounds the recall any honest check can reach. "
              "Origin >= 2 sites: the same with an acoustic array's sensors counted as one "
              "site (one array's arrivals give a bearing, not a fix); the column before "
              "counts each sensor (the figure of sessions 23-28). Supportable: the true "
              "violations whose firing was reported and which an ideal fusion of those "
              "stored reports (their Cramér-Rao covariance at the true origin: bearings and "
              "arrival times, gross-error bearings left out) puts in its party's area of "
              "control (as findings are attributed) with a probability at or above the "
              "agreement's attribution confidence (`truceline.simulation.crlb."
              "supportable_origins` with the agreement's geometry, session 41): the recall "
              "against what the evidence could support, printed beside the headline recall, "
              "which it does not replace. Supportable by the line: the same judged by the "
              "side of the line of contact, Phi(distance / sd across the line) (sessions "
              "29-40's figure; the example's line and areas part by up to hundreds of "
              "metres).", "",
              "| scenario | provision | party | true | recall | recall (observable) | "
              "origin reported (share) | recall (origin reported) | "
              "origin >= 2 sources | recall (origin >= 2 sources) | "
              "origin >= 2 sites | recall (origin >= 2 sites) | "
              "supportable | recall (supportable) | "
              "supportable by the line | recall (supportable by the line) | "
              "precision | compliant despite | seeds at the bar |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for key, c in sorted(pool.items()):
        if not c["true_violations"] and not c["violation_findings"]:
            continue
        ok = seeds_ok.get(key, [])
        lines.append(
            f"| {key[0]} | {key[1]} | {key[2]} | {c['true_violations']} | "
            f"{v(ratio(c['found'], c['true_violations']))} | "
            f"{v(ratio(c['found_observable'], c['true_observable']))} | "
            f"{c['true_origin1']} ({v(ratio(c['true_origin1'], c['true_violations']))}) | "
            f"{v(ratio(c['found_origin1'], c['true_origin1']))} | "
            f"{c['true_origin2']} | {v(ratio(c['found_origin2'], c['true_origin2']))} | "
            f"{c['true_origin2_sites']} | "
            f"{v(ratio(c['found_origin2_sites'], c['true_origin2_sites']))} | "
            f"{c['true_supportable']} | "
            f"{v(ratio(c['found_supportable'], c['true_supportable']))} | "
            f"{c['true_supportable_line']} | "
            f"{v(ratio(c['found_supportable_line'], c['true_supportable_line']))} | "
            f"{v(ratio(c['correct'], c['violation_findings']))} | "
            f"{c['compliant_despite_violation']} | {sum(ok)}/{len(ok)} |")
    lines += ["", "## Why the supportable violations were missed (pooled over the seeds)", "",
              "The misses among the supportable violations, by the same reasons; in brackets "
              "those whose firing no stored report typed (only arrivals and 'undetermined' "
              "bangs) / those whose firing one site reported (e.g. one acoustic array).", "",
              "| scenario | provision | party | supportable | missed | why |",
              "|---|---|---|---|---|---|"]
    for key, c in sorted(miss_sup.items()):
        if not pool[key]["true_supportable"]:
            continue
        why = ", ".join(f"{k.replace('_', ' ')} {n} ({miss_sup_untyped[key].get(k, 0)} / "
                        f"{miss_sup_one[key].get(k, 0)})"
                        for k, n in sorted(c.items(), key=lambda kv: -kv[1]) if n) or "-"
        lines.append(f"| {key[0]} | {key[1]} | {key[2]} | {pool[key]['true_supportable']} | "
                     f"{sum(c.values())} | {why} |")
    lines += ["", "## Why true violations were missed, and why violation findings were wrong "
              "(pooled over the seeds)", "",
              "Miss reasons, the first that applies: " + ", ".join(
                  f"`{m}`" for m in MISS_REASONS) + " (`truceline.simulation.evaluation."
              "MISS_REASONS`). In brackets: the median true distance of the origin from the "
              "line of contact of those misses.", "",
              "| scenario | provision | party | missed | why missed | wrong findings | "
              "why wrong |", "|---|---|---|---|---|---|---|"]
    dist: dict[tuple[str, str, str], dict[str, list[float]]] = defaultdict(
        lambda: defaultdict(list))
    for r in runs:
        for f in r["findings"]:
            key = (r["scenario"], f["provision"], str(f["party"]))
            for why, d in f.get("misses_origin_dist_median_m", {}).items():
                dist[key][why] += [d] * f["misses"].get(why, 0)
    for key, c in sorted(miss.items()):
        if not sum(c.values()) and not sum(wrong[key].values()):
            continue
        why = ", ".join(
            f"{k.replace('_', ' ')} {n}" + (
                f" ({sorted(dist[key][k])[len(dist[key][k]) // 2] / 1e3:.1f} km)"
                if dist[key].get(k) else "")
            for k, n in sorted(c.items(), key=lambda kv: -kv[1]) if n) or "-"
        lines.append(f"| {key[0]} | {key[1]} | {key[2]} | {sum(c.values())} | {why} | "
                     f"{sum(wrong[key].values())} | {counts_text(wrong[key])} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--scenarios", nargs="+", default=list(SCENARIOS), choices=list(SCENARIOS))
    ap.add_argument("--json", default=None, help="also write every run's figures here")
    ap.add_argument("--no-write", action="store_true", help="print only")
    args = ap.parse_args()
    t0 = time.perf_counter()
    runs = []
    for scenario in args.scenarios:
        for seed in args.seeds:
            runs.append(run_one(scenario, seed, args.days, args.scale))
            print(f"{scenario} seed {seed}: {runs[-1]['setup']['seconds']} s", flush=True)
    text = render(runs, args, time.perf_counter() - t0)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=1), encoding="utf-8")
    if not args.no_write:
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
