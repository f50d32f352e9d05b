"""What 10,000, 30,000 and 120,000 people buy on the March 2025 line (issue 16), measured.

For each mission (unarmed, armed) runs the planner (``services.planning.plan``) with the
shipped force model: the layout each figure staffs, its placement (exact MILP by HiGHS and
the greedy baseline, side by side, with their times), the share of the line covered, and a
simulated run of ``--days`` days with that layout through the real pipeline (simulate ->
ingest -> check -> score every true event), then the smallest force reaching 90 %
attributed by bisection. Writes bench/results/planning_<mission><tag>.md, .json and .png.

    python bench/bench_planning.py [--days 7] [--missions unarmed,armed] [--steps 3]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.plan_measure import measurer
from truceline.adapters.render.plan import plan_markdown, plan_plot_png
from truceline.core.planning.force import default_force_model
from truceline.services.context import context_for_doc
from truceline.services.planning import PlanOptions, plan

OUT = Path(__file__).resolve().parent / "results"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--missions", default="unarmed,armed")
    ap.add_argument("--personnel", default="10000,30000,120000")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--tag", default="", help="Suffix of the result files (e.g. _7d).")
    args = ap.parse_args()
    ag, doc = load_agreement_file("march2025")
    ctx = context_for_doc(doc)
    fm = default_force_model()
    figures = [int(x) for x in args.personnel.split(",")]
    OUT.mkdir(exist_ok=True)
    for mission in args.missions.split(","):
        t0 = time.perf_counter()
        m = measurer("march2025", doc, ag.attribution_confidence, days=args.days,
                     seed=args.seed)
        res = plan(ctx, fm, figures, PlanOptions(mission=mission, search_steps=args.steps),
                   measure=m)
        res["bench_seconds"] = round(time.perf_counter() - t0, 1)
        (OUT / f"planning_{mission}{args.tag}.json").write_text(
            json.dumps(res, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        (OUT / f"planning_{mission}{args.tag}.md").write_text(plan_markdown(res), encoding="utf-8")
        (OUT / f"planning_{mission}{args.tag}.png").write_bytes(plan_plot_png(res))
        print(mission, res["bench_seconds"], "s")
        for r in res["layouts"]:
            pl = r["placement"]
            print(f"  {r['personnel']:>7,}: exact {pl['exact']['weighted_share']} in "
                  f"{pl['exact']['seconds']} s (optimal {pl['exact']['optimal']}), greedy "
                  f"{pl['greedy']['weighted_share']} in {pl['greedy']['seconds']} s; "
                  f"measured {r['measured']['line']}")
        print("  smallest for 90 % attributed:", res["smallest_for_target"])


if __name__ == "__main__":
    main()
