"""Where the stated 95 % ellipses miss: every located origin and impact of the conditions' weeks,
with what its fix rested on, scored against the truth.

Runs each scenario and seed as bench_conditions.py does (simulate, ingest into SQLite,
``run_check``), takes for each true event's origin and impact the incident the evaluator
scores (the one holding most of its reports) and writes one JSON line per located part: the
squared Mahalanobis distance of the truth from the estimate (``m2``; covered when
``m2 <= 5.991``), the 95 % semi-major axis, the kind of fix (bearings only, bearings with
bands, arrivals only, mixed, points), how many of its reports there are and of which kind,
whether they are all this part's (pure), and how many are wild or from a biased post.
``--summary`` prints coverage by each of these.

    python bench/coverage_breakdown.py --out rows.jsonl [--scenarios ...] [--seeds 1 2 3]
    python bench/coverage_breakdown.py --summary rows.jsonl [more.jsonl ...]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import defaultdict
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
from truceline.services.ingest import ingest
from truceline.services.record import initialize_store
from truceline.simulation.presets import scenario_params

SCENARIOS = ("baseline", "coarse_bands", "wild_bearings", "clock_offsets", "wind",
             "biased_observers", "resubmissions", "resubmissions_channel", "all_conditions")
CHI2_95 = 5.991464547107979
BIASED_DEG = 2.0


def kind_of(methods: list[str]) -> str:
    m = set(methods)
    if "arrival_times" in m:
        return "arrivals" if m == {"arrival_times"} else "mixed"
    if "reported_locations" in m:
        return "points"
    return "bearings+bands" if "distance_bands" in m else "bearings"


def rows_of(tmp: Path, scenario: str, days: int, seed: int) -> list[dict[str, Any]]:
    ag, doc = load_agreement_file("march2025")
    sim = tmp / f"{scenario}-{seed}"
    write_simulation("march2025", sim, days=days, seed=seed, params=scenario_params(scenario),
                     start=ag.entry_into_force_at + timedelta(days=4))
    store = open_store(str(tmp / f"{scenario}-{seed}.db"), create=True)
    initialize_store(store, doc)
    ingest(store, read_records(str(sim / "observations.jsonl"), "jsonl"), future_tolerance=None)
    run_check(store)
    _, truth, obs = read_truth(sim)
    incidents = store.incident_records()
    store.close()
    bias = {r["id"]: abs(r.get("bearing_bias_deg") or 0.0) for r in truth
            if r.get("type") == "source"}
    events = [r for r in truth if r.get("type") == "event"]
    part_of: dict[str, str] = {}
    for e in events:
        for part, ids in e["reports"].items():
            for oid in ids:
                part_of[oid] = f"{e['id']}/{part}"
    share: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for inc in incidents:
        for oid in inc.get("evidence", []):
            if oid in part_of:
                share[part_of[oid]][inc["id"]] += 1
    by_id = {i["id"]: i for i in incidents}
    out = []
    for e in events:
        wild = set(e.get("wild", ()))
        for part in ("origin", "impact"):
            key = f"{e['id']}/{part}"
            cands = sorted(share[key].items(), key=lambda kv: -kv[1])
            cands = [by_id[i] for i, _ in cands if by_id[i].get(part)]
            if not cands or not cands[0][part].get("cov_m2"):
                continue
            inc = cands[0]
            est, d = inc[part], inc.get("details") or {}
            linked = "origin_evidence" in d
            ev = d.get(f"{part}_evidence") if linked else inc["evidence"]
            methods = (d.get("impact_method") if linked and part == "impact"
                       else d.get("method")) or []
            ell = (d.get("impact_ellipse") if linked and part == "impact" else d.get("ellipse"))
            az, _, dist = GEOD.inv(est["lon"], est["lat"], e[part]["lon"], e[part]["lat"])
            dx, dy = dist * np.sin(np.radians(az)), dist * np.cos(np.radians(az))
            ve, ce, vn = est["cov_m2"]
            C = np.array([[ve, ce], [ce, vn]])
            v = np.array([dx, dy])
            m2 = float(v @ np.linalg.solve(C, v))
            reps = [obs[i] for i in ev if i in obs]
            n_brg = sum(1 for r in reps if r.get("bearing_deg") is not None)
            n_arr = sum(1 for r in reps if r.get("arrival_time") is not None)
            n_cam = sum(1 for r in reps if r.get("source_type") == "camera")
            spread, angle = _geometry(reps)
            out.append({
                "scenario": scenario, "seed": seed, "part": part, "event": e["id"],
                "m2": round(m2, 4), "covered": m2 <= CHI2_95, "err_m": round(dist, 1),
                "a95_m": (ell or {}).get("semi_major_m"), "kind": kind_of(methods),
                "linked": linked, "n": len(ev), "n_brg": n_brg, "n_arr": n_arr, "n_cam": n_cam,
                "pure": all(part_of.get(i) == key for i in ev),
                "foreign": sum(1 for i in ev if part_of.get(i) != key),
                "n_wild": sum(1 for i in ev if i in wild),
                "n_biased": sum(1 for r in reps if bias.get(r.get("source_id"), 0) >= BIASED_DEG),
                "outliers": len(d.get("outliers", [])),
                "n_true": len(e["reports"][part]), "spread_m": spread, "angle_deg": angle,
                "sd_deg": max((r.get("bearing_sd_deg") or 0.0 for r in reps), default=0.0),
            })
    return out


def _geometry(reps: list[dict[str, Any]]) -> tuple[float, float]:
    """Largest distance between two of the reports' observers (m) and widest angle between
    two of their bearings (deg, folded to 0-90: the crossing's sharpness)."""
    spread, angle = 0.0, 0.0
    for i, a in enumerate(reps):
        for b in reps[i + 1:]:
            _, _, d = GEOD.inv(a["observer_lon"], a["observer_lat"], b["observer_lon"],
                               b["observer_lat"])
            spread = max(spread, float(d))
            if a.get("bearing_deg") is not None and b.get("bearing_deg") is not None:
                x = abs(a["bearing_deg"] - b["bearing_deg"]) % 180.0
                angle = max(angle, min(x, 180.0 - x))
    return round(spread, 1), round(angle, 2)


def _bin(r: dict[str, Any], by: str) -> Any:
    v = r[by]
    if by == "n":
        return "1" if v == 1 else "2" if v == 2 else "3" if v == 3 else "4-5" if v <= 5 else \
            "6-9" if v <= 9 else "10+"
    if by in ("n_wild", "n_biased", "foreign", "outliers"):
        return min(v, 2)
    if by == "a95_m":
        return ("<100" if v < 100 else "100-300" if v < 300 else "300-1k" if v < 1000 else
                "1k-3k" if v < 3000 else "3k+")
    return v


def summary(rows: list[dict[str, Any]]) -> str:
    lines = []
    for part in ("origin", "impact"):
        rs = [r for r in rows if r["part"] == part]
        lines.append(f"\n## {part}s: {len(rs)}, covered {np.mean([r['covered'] for r in rs]):.3f}")
        for by in ("scenario", "kind", "n", "pure", "foreign", "n_wild", "n_biased", "outliers",
                   "a95_m", "linked"):
            cells: dict[Any, list[bool]] = defaultdict(list)
            m2s: dict[Any, list[float]] = defaultdict(list)
            for r in rs:
                cells[_bin(r, by)].append(r["covered"])
                m2s[_bin(r, by)].append(r["m2"])
            lines.append(f"\n| {by} | n | covered | misses | median m2 / 1.386 |\n"
                         "|---|---|---|---|---|")
            for k in sorted(cells, key=str):
                c = cells[k]
                lines.append(f"| {k} | {len(c)} | {np.mean(c):.3f} | {len(c) - sum(c)} | "
                             f"{np.median(m2s[k]) / 1.386:.2f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--scenarios", nargs="+", default=list(SCENARIOS), choices=SCENARIOS)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--summary", type=Path, nargs="+")
    args = ap.parse_args()
    if args.summary:
        rows = [json.loads(line) for f in args.summary for line in f.open(encoding="utf-8")]
        print(summary(rows))
        return
    with tempfile.TemporaryDirectory() as tmp, args.out.open("w", encoding="utf-8") as fh:
        for name in args.scenarios:
            for seed in args.seeds:
                rs = rows_of(Path(tmp), name, args.days, seed)
                for r in rs:
                    fh.write(json.dumps(r) + "\n")
                fh.flush()
                cov = {p: np.mean([r["covered"] for r in rs if r["part"] == p])
                       for p in ("origin", "impact")}
                print(name, seed, f"origins {cov['origin']:.3f} impacts {cov['impact']:.3f}",
                      flush=True)


if __name__ == "__main__":
    main()
