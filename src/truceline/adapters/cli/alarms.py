"""``truceline alarms``: escalation alarms per sector and category (docs/early_warning.md)."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import click

from truceline.adapters.cli.group import db_option, handle_errors


def render_text(body: dict[str, Any]) -> str:
    """The alarms as lines a duty officer reads: day, sector, since when, how far over the
    threshold, the category that drove it and each category's share of the rise (llr sum),
    and the days behind it (the driving category's count, observed share, expected count)."""
    out = [
        f"escalation alarms, {body['agreement']}: reporting days {body['first_day']} to "
        f"{body['last_day']}, baseline the first {body['baseline_days']} days, one false "
        f"alarm per sector in {body['arl0_days_per_sector']:g} days on average"
    ]
    if body["reason"]:
        out.append(f"not assessed: {body['reason']}")
    skipped = [s for s in body["series"] if "skipped" in s]
    out += [f"not watched: {s['sector']}, {s['category']}: {s['skipped']}" for s in skipped]
    if not body["alarms"] and not body["reason"]:
        # "no alarm" only where a chart ran: a sector still learning (its baseline grows to
        # at most 56 days) was not watched, and that is no evidence of a quiet line
        watched = len(skipped) < len(body["series"])
        out.append("no alarm" if watched else "no alarm can be raised: no sector is watched yet")
    for a in body["alarms"]:
        out.append(
            f"{a['day']}  {a['sector_name']}: rising since {a['start']} (CUSUM "
            f"{a['statistic']:.2f} >= {a['threshold']:.2f}), driven by {a['category']}"
        )
        rise = a.get("contributions", {})
        if len(rise) > 1:
            out.append(
                "    evidence by category: "
                + ", ".join(f"{c} {v:+.2f}" for c, v in sorted(rise.items(), key=lambda kv: -kv[1]))
            )
        for r in a["evidence"]:
            out.append(
                f"    {r['day']}: {a['category']} {r['count']:g} counted, observed "
                f"{100 * r['coverage']:.0f} %, expected {r['expected']:.1f}"
            )
    return "\n".join(out) + "\n"


@click.command()
@db_option
@click.option(
    "--baseline-days",
    type=click.IntRange(7, 3650),
    default=28,
    show_default=True,
    help="Reporting days at the start that teach the in-control rates.",
)
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Only alarms raised on or after this reporting day.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option("--out", type=click.Path(dir_okay=False), help="Write here instead of stdout.")
@handle_errors
def alarms(db: str, baseline_days: int, since: Any, fmt: str, out: str | None) -> None:
    """Escalation alarms per sector from the stored incidents and coverage, each naming the
    category that drove it (same store, same bytes).

    One negative-binomial CUSUM per sector over its categories' daily counts, normalised by
    the share of the sector the mission observed that day; its threshold holds false alarms
    to one per sector in 15 months on average (docs/early_warning.md).
    """
    from truceline.adapters.store import open_store
    from truceline.services.early_warning import escalation_alarms

    day: date | None = since.date() if since is not None else None
    store = open_store(db)
    try:
        body = escalation_alarms(store, baseline_days=baseline_days, since=day).to_json()
    finally:
        store.close()
    text = json.dumps(body, sort_keys=True, indent=1) + "\n" if fmt == "json" else render_text(body)
    if out:
        Path(out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
