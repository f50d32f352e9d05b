"""Resubmissions under new ids (issue 14): simulated weeks with 10 % copies against without.

For each seed, simulates the March 2025 scenario (from entry into force + 4 days) as
``baseline`` and as ``resubmissions`` (or ``resubmissions_channel``): the same records, plus
10 % of them sent again under new ids. Each goes through the services (ingest into a temporary
SQLite store, ``run_check``) and the evaluator. For the run with copies it also derives the
incidents and findings *without* the resubmission rule (every stored observation fused and
checked, as before issue 14), to show what the rule prevents. Writes
bench/results/<scenario>.md: incidents, violation findings, ARI (by event), copies stored
and linked, links found among the baseline's reports (must be 0), incidents and findings made
only of copies (must be 0 with the rule), and the times.

    python bench/bench_resubmissions.py [--days 7] [--seeds 1 2 3] [--scenario resubmissions]
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.importers import read_records
from truceline.adapters.simulate_files import read_truth, write_simulation
from truceline.adapters.store import open_store
from truceline.core.evidence import gather
from truceline.core.rules import check
from truceline.services import ingest as ingest_module
from truceline.services.check import derive_coverage, derive_incidents, run_check
from truceline.services.context import load_context
from truceline.services.ingest import ingest
from truceline.services.record import initialize_store
from truceline.simulation.evaluation import evaluate

RESULTS = Path(__file__).resolve().parent / "results"  # <scenario>.md
REPEATS = 3  # ingests of the baseline with and without the lookup, alternated (min of each)


def _violations(findings: list[dict[str, Any]]) -> int:
    return sum(1 for f in findings if f["verdict"] == "violation")


def _with_copies(truth: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The truth with each copy among the reports of its original's event (for the ARI of a
    pipeline that groups copies)."""
    copy_of: dict[str, list[str]] = {}
    for r in truth:
        if r["type"] == "resubmission":
            copy_of.setdefault(r["copy_of"], []).append(r["id"])
    out = []
    for r in truth:
        if r["type"] == "event":
            reports = {
                part: [*ids, *(c for i in ids for c in copy_of.get(i, ()))]
                for part, ids in r["reports"].items()
            }
            r = {**r, "reports": reports}
        out.append(r)
    return out


def run(tmp: Path, scenario: str, days: int, seed: int, rule_off: bool) -> dict[str, Any]:
    ag, doc = load_agreement_file("march2025")
    sim = tmp / f"{scenario}-{seed}"
    t = time.perf_counter()
    res = write_simulation(
        "march2025",
        sim,
        days=days,
        seed=seed,
        scenario=scenario,
        start=ag.entry_into_force_at + timedelta(days=4),
    )
    t_sim = time.perf_counter() - t
    store = open_store(str(tmp / f"{scenario}-{seed}.db"), create=True)
    initialize_store(store, doc)
    t = time.perf_counter()
    rep = ingest(
        store, read_records(str(sim / "observations.jsonl"), "jsonl"), future_tolerance=None
    )
    t_ingest = time.perf_counter() - t
    t = time.perf_counter()
    chk = run_check(store)
    t_check = time.perf_counter() - t
    t_plain = t_look = None
    if scenario == "baseline":  # what the copies' lookup costs: fresh ingests, alternated
        keep = ingest_module.resubmission_links
        times: dict[bool, list[float]] = {False: [], True: []}
        for k in range(REPEATS * 2):
            lookup = k % 2 == 1
            again = open_store(str(tmp / f"{scenario}-{seed}-{k}.db"), create=True)
            initialize_store(again, doc)
            if not lookup:
                ingest_module.resubmission_links = lambda store, obs: {}
            try:
                t = time.perf_counter()
                ingest(
                    again,
                    read_records(str(sim / "observations.jsonl"), "jsonl"),
                    future_tolerance=None,
                )
                times[lookup].append(time.perf_counter() - t)
            finally:
                ingest_module.resubmission_links = keep
                again.close()
        t_plain, t_look = min(times[False]), min(times[True])
    manifest, truth, obs = read_truth(sim)
    stored = {o.id for o in store.observations()}
    findings = [f.to_record() for f in store.findings()]

    def score(
        tr: list[dict[str, Any]], inc: list[dict[str, Any]], fs: list[dict[str, Any]]
    ) -> dict[str, Any]:
        return evaluate(
            tr,
            obs,
            stored,
            inc,
            fs,
            parties=manifest["parties"],
            sensor_timing_sd_s=manifest["params"]["sensor_timing_sd_s"],
        )

    ev = score(truth, store.incident_records(), findings)
    out: dict[str, Any] = {
        "observations": res.observations,
        "copies": res.manifest["counts"].get("resubmissions", 0),
        "linked": rep.copies,
        "links": len(store.duplicate_links()),
        "incidents": chk.incidents,
        "violations": _violations(findings),
        "ari": ev["grouping"]["by_event"]["ari"],
        "resub": ev.get("resubmissions"),
        "t_sim": t_sim,
        "t_ingest": t_ingest,
        "t_check": t_check,
        "t_plain": t_plain,
        "t_look": t_look,
    }
    if rule_off:  # as before issue 14: every stored observation fused and checked
        t = time.perf_counter()
        ctx = load_context(store)
        every = store.observations()
        incs = derive_incidents(ctx, every)
        fs = check(
            ctx.agreement,
            ctx.geometry,
            gather(ctx.geometry, every, incs, derive_coverage(ctx, every)),
        )
        recs = [f.to_record() for f in fs]
        ev_off = score(_with_copies(truth), [i.to_record() for i in incs], recs)
        out["off"] = {
            "incidents": len(incs),
            "violations": _violations(recs),
            "ari": ev_off["grouping"]["by_event"]["ari"],
            "resub": ev_off.get("resubmissions"),
            "t": time.perf_counter() - t,
        }
    store.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument(
        "--scenario", default="resubmissions", choices=["resubmissions", "resubmissions_channel"]
    )
    ap.add_argument("--no-write", action="store_true", help="print only")
    args = ap.parse_args()
    t0 = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            base = run(Path(tmp), "baseline", args.days, seed, False)
            dup = run(Path(tmp), args.scenario, args.days, seed, True)
            rows.append((seed, base, dup))
            print(seed, base, dup, flush=True)
    lines = [
        "| seed | observations (copies) | copies linked | links in baseline | incidents: "
        "baseline / copies, rule / copies, no rule | violation findings: baseline / rule / "
        "no rule | ARI by event: baseline / rule / no rule | incidents only of copies: rule / "
        "no rule | findings only of copies: rule / no rule |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for seed, b, d in rows:
        off, r, ro = d["off"], d["resub"], d["off"]["resub"]
        lines.append(
            f"| {seed} | {d['observations']:,} ({d['copies']:,}) | {d['linked']:,} | "
            f"{b['links']} | {b['incidents']:,} / {d['incidents']:,} / {off['incidents']:,} | "
            f"{b['violations']} / {d['violations']} / {off['violations']} | "
            f"{b['ari']} / {d['ari']} / {off['ari']} | {r['incidents_only_copies']} / "
            f"{ro['incidents_only_copies']} | {r['findings_only_copies']} / "
            f"{ro['findings_only_copies']} |"
        )
    lines += [
        "",
        "| seed | simulate s: baseline / copies | ingest s: baseline / copies | "
        f"baseline ingest s without / with the copies' lookup (min of {REPEATS}, ratio) | "
        "check s: baseline / copies |",
        "|---|---|---|---|---|",
    ]
    for seed, b, d in rows:
        lines.append(
            f"| {seed} | {b['t_sim']:.1f} / {d['t_sim']:.1f} | {b['t_ingest']:.1f} / "
            f"{d['t_ingest']:.1f} | {b['t_plain']:.2f} / {b['t_look']:.2f} "
            f"({b['t_look'] / b['t_plain']:.2f}) | {b['t_check']:.1f} / "
            f"{d['t_check']:.1f} |"
        )
    head = (
        f"{time.strftime('%Y-%m-%d')}, {platform.machine()}, Python "
        f"{platform.python_version()}, `python bench/bench_resubmissions.py --days "
        f"{args.days} --seeds {' '.join(map(str, args.seeds))} --scenario {args.scenario}`"
        f", {time.perf_counter() - t0:.0f} s in all.\n\nMarch 2025 scenario, {args.days} "
        "days from entry into force + 4 days, scale 1: `baseline` against the same records "
        f"plus 10 % copies under new ids (`{args.scenario}`). 'no rule' fuses and checks "
        "every stored observation, copies included (the pipeline before issue 14); its ARI "
        "counts each copy in its original's event."
    )
    text = "# Resubmissions under new ids (issue 14)\n\n" + head + "\n\n" + "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"{args.scenario}.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
