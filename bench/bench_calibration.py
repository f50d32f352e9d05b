"""Biased observers (issue 14): sources' bearing biases from their shared events, flagged and
corrected, against the same fusion without calibration, on the baseline and biased weeks.

For each seed, simulates the March 2025 scenario (from entry into force + 4 days) as
``baseline`` and as ``biased_observers`` (10 % of the posts' compasses 4-10° off, the others'
within 0.5°): the same events and reports but for the bearings of the posts. Each week is
ingested into a temporary SQLite store through the services, then fused and checked with and
without calibration in the same run (the same function, ``fuse_with_sources``, with
``CalibrationParams(enabled=False)`` for 'off'), and ``run_check`` stores the estimates
that ``services.sources`` reads back. The evaluator scores both: grouping ARI (by event),
origin error (median, and median ratio to the Cramér-Rao bound), attribution accuracy,
violation findings, the origin error of the events a biased post reported; and the flags
against the truth (recall over biased posts, and over those with >= 10 bearings; precision;
errors of the bias and clock estimates). The cost: fusion alone, on and off alternated, best
of ``REPEATS`` each. Writes bench/results/calibration.md.

    python bench/bench_calibration.py [--days 7] [--seeds 1 2 3]
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.importers import read_records
from truceline.adapters.simulate_files import read_truth, write_simulation
from truceline.adapters.store import open_store
from truceline.core.evidence import gather
from truceline.core.fusion import CalibrationParams, FusionParams, fuse_with_sources
from truceline.core.geo import GEOD
from truceline.core.resubmissions import counted
from truceline.core.rules import check
from truceline.services.check import derive_coverage, run_check
from truceline.services.context import load_context
from truceline.services.ingest import ingest
from truceline.services.record import initialize_store
from truceline.services.sources import source_estimates
from truceline.simulation.bias_flags import BIASED_DEG, DETECTABLE_Z, REVEALED_BEARINGS
from truceline.simulation.evaluation import evaluate

RESULTS = Path(__file__).resolve().parent / "results" / "calibration.md"
OFF = FusionParams(calibration=CalibrationParams(enabled=False))
REPEATS = 3  # fusions of each kind, alternated, for the cost (min of each)


def _score(ev: dict[str, Any], findings: list[dict[str, Any]]) -> dict[str, Any]:
    o = ev["location"]["origin"]
    return {
        "ari": ev["grouping"]["by_event"]["ari"],
        "origin_median_m": o["median_m"],
        "origin_crlb": o["ratio_to_crlb_median"],
        "located": o["located_share"],
        "attribution": ev["attribution"]["accuracy"],
        "attribution_2km": ev["attribution"]["accuracy_2km_3_bearings"],
        "violations": sum(1 for f in findings if f["verdict"] == "violation"),
    }


def _biased_events_error(
    truth: list[dict[str, Any]], obs: dict[str, dict[str, Any]], incidents: list[Any]
) -> tuple[float | None, float | None, int]:
    """Origin error (median, mean m) of the events a biased post reported the origin of: the
    incident holding most of the event's origin reports, where it has an origin."""
    biased = {
        r["id"]
        for r in truth
        if r["type"] == "source" and abs(r.get("bearing_bias_deg", 0.0)) >= BIASED_DEG
    }
    inc_of = {o: i for i in incidents for o in i.evidence}
    errs = []
    for e in truth:
        if e["type"] != "event":
            continue
        ids = [o for o in e["reports"]["origin"] if o in obs]
        if not any(obs[o]["source_id"] in biased for o in ids):
            continue
        held = Counter(inc_of[o].id for o in ids if o in inc_of)
        if not held:
            continue
        top = held.most_common(1)[0][0]
        inc = next(inc_of[o] for o in ids if o in inc_of and inc_of[o].id == top)
        if inc.origin is not None:
            errs.append(GEOD.inv(inc.origin.lon, inc.origin.lat, *_lonlat(e["origin"]))[2])
    if not errs:
        return None, None, 0
    return round(float(np.median(errs)), 1), round(float(np.mean(errs)), 1), len(errs)


def _lonlat(p: dict[str, Any]) -> tuple[float, float]:
    return p["lon"], p["lat"]


def run(tmp: Path, scenario: str, days: int, seed: int) -> dict[str, Any]:
    ag, doc = load_agreement_file("march2025")
    sim = tmp / f"{scenario}-{seed}"
    write_simulation(
        "march2025",
        sim,
        days=days,
        seed=seed,
        scenario=scenario,
        start=ag.entry_into_force_at + timedelta(days=4),
    )
    store = open_store(str(tmp / f"{scenario}-{seed}.db"), create=True)
    initialize_store(store, doc)
    ingest(store, read_records(str(sim / "observations.jsonl"), "jsonl"), future_tolerance=None)
    manifest, truth, obs = read_truth(sim)
    stored = {o.id for o in store.observations()}

    def score(
        inc: list[dict[str, Any]], fs: list[dict[str, Any]], src: list[dict[str, Any]] | None
    ) -> dict[str, Any]:
        return evaluate(
            truth,
            obs,
            stored,
            inc,
            fs,
            parties=manifest["parties"],
            sensor_timing_sd_s=manifest["params"]["sensor_timing_sd_s"],
            sources=src,
        )

    # the cost: fusion alone with and without calibration, alternated, best of REPEATS each
    ctx = load_context(store)
    every = counted(store.observations())
    parties = [p.id for p in ctx.agreement.parties]
    times: dict[bool, list[float]] = {False: [], True: []}
    for k in range(2 * REPEATS):
        on = k % 2 == seed % 2
        t = time.perf_counter()
        fuse_with_sources(every, ctx.geometry, parties, params=None if on else OFF)
        times[on].append(time.perf_counter() - t)
    out: dict[str, Any] = {
        "observations": len(stored),
        "t_off": min(times[False]),
        "t_on": min(times[True]),
    }
    # the same fusion and checks without calibration and with it, by the same path (the
    # incidents' order breaks the evaluator's ties); the estimates as run_check stores them
    for on in (False, True):
        incs, _ = fuse_with_sources(every, ctx.geometry, parties, params=None if on else OFF)
        fs = [
            f.to_record()
            for f in check(
                ctx.agreement,
                ctx.geometry,
                gather(ctx.geometry, every, incs, derive_coverage(ctx, every)),
            )
        ]
        src: list[dict[str, Any]] | None = None
        if on:
            run_check(store)
            src = source_estimates(store)
        ev = score([i.to_record() for i in incs], fs, src)
        out["on" if on else "off"] = _score(ev, fs)
        out["on" if on else "off"]["biased_events"] = _biased_events_error(truth, obs, incs)
        if on:
            out["cal"] = ev["calibration"]
    store.close()
    return out


def _be(r: dict[str, Any]) -> str:
    med, mean, n = r["biased_events"]
    return "-" if not n else f"{med:.0f} / {mean:.0f} ({n})"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--no-write", action="store_true", help="print only")
    args = ap.parse_args()
    t0 = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            base = run(Path(tmp), "baseline", args.days, seed)
            biased = run(Path(tmp), "biased_observers", args.days, seed)
            rows.append((seed, base, biased))
            print(seed, base, biased, flush=True)
    lines = [
        "| seed | scenario | records | flagged (false) | recall: all biased / with >= "
        f"{REVEALED_BEARINGS} bearings / detectable | precision | bias error, median abs (deg) "
        "| clock error, median / median abs (s) | ARI by event: off → on | origin median m: "
        "off → on | origin / CRLB: off → on | attribution accuracy (≥ 2 km, ≥ 3 bearings): "
        "off → on | origin error of the events a biased post reported, median / mean m "
        "(events): off → on | violation findings: off → on | fusion s: off / on (min of "
        f"{REPEATS}, ratio) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for seed, b, x in rows:
        for name, r in (("baseline", b), ("biased_observers", x)):
            c, f, n = r["cal"], r["off"], r["on"]
            lines.append(
                f"| {seed} | `{name}` | {r['observations']:,} | {c['flagged']} "
                f"({len(c['false_flags'])}) | {c['true_flags']}/{c['biased']} / "
                f"{c['recall_revealed']} of {c['revealed']} / {c['recall_detectable']} of "
                f"{c['detectable']} | {c['precision']} | "
                f"{c['bias_error_median_abs_deg']} | {c['clock_error_median_s']} / "
                f"{c['clock_error_median_abs_s']} | {f['ari']} → {n['ari']} | "
                f"{f['origin_median_m']} → {n['origin_median_m']} | {f['origin_crlb']} → "
                f"{n['origin_crlb']} | {f['attribution']} ({f['attribution_2km']}) → "
                f"{n['attribution']} ({n['attribution_2km']}) | {_be(f)} → {_be(n)} | "
                f"{f['violations']} → "
                f"{n['violations']} | {r['t_off']:.1f} / {r['t_on']:.1f} "
                f"({r['t_on'] / r['t_off']:.2f}) |"
            )
    xs = [x["cal"] for _, _, x in rows]
    tp = sum(c["true_flags"] for c in xs)
    rev = sum(c["revealed"] for c in xs)
    tp_rev = sum(round((c["recall_revealed"] or 0) * c["revealed"]) for c in xs)
    det = sum(c["detectable"] for c in xs)
    tp_det = sum(round((c["recall_detectable"] or 0) * c["detectable"]) for c in xs)
    fl = sum(c["flagged"] for c in xs) + sum(b["cal"]["flagged"] for _, b, _ in rows)
    tot = (
        f"Over the seeds: {tp_rev}/{rev} biased posts with >= {REVEALED_BEARINGS} bearings "
        f"flagged, {tp_det}/{det} of the detectable ones (bias >= {DETECTABLE_Z} se of "
        "the mean of the post's bearings, every position known), "
        f"{tp}/{sum(c['biased'] for c in xs)} of all biased posts; {fl - tp} "
        f"false flags among {fl} (baseline and biased weeks)."
    )
    head = (
        f"{time.strftime('%Y-%m-%d')}, {platform.machine()}, Python "
        f"{platform.python_version()}, `python bench/bench_calibration.py --days {args.days} "
        f"--seeds {' '.join(map(str, args.seeds))}`, {time.perf_counter() - t0:.0f} s in all."
        f"\n\nMarch 2025 scenario, {args.days} days from entry into force + 4 days, scale 1. "
        "'off': fusion without calibration; 'on': with it (the default), in the "
        f"same run on the same store. A post is biased when |bias| >= {BIASED_DEG}°; recall "
        f"is also given over the biased posts that wrote >= {REVEALED_BEARINGS} bearings in "
        "the week. Clock error: estimate minus the simulator's clock offset (the estimate "
        "includes the reporting lag and the writing to the minute)."
    )
    text = (
        "# Biased observers: self-calibration (issue 14)\n\n"
        + head
        + "\n\n"
        + "\n".join(lines)
        + "\n\n"
        + tot
        + "\n"
    )
    print(text)
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
