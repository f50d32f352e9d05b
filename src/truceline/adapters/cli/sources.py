"""``truceline sources``: what the last check's shared events say about each source."""

from __future__ import annotations

import json

import click

from truceline.adapters.cli.group import db_option, handle_errors

_COLUMNS = (
    "source_id",
    "bearings",
    "reports_used",
    "bias_deg",
    "bias_se_deg",
    "flagged",
    "corrected_deg",
    "wild_rate",
    "timed",
    "clock_offset_s",
    "clock_se_s",
)


def _cell(v: object) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else ""
    return str(v)


@click.command()
@db_option
@click.option("--flagged", is_flag=True, help="Only the sources whose bearings show a bias.")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@handle_errors
def sources(db: str, flagged: bool, fmt: str) -> None:
    """Each source's estimated bearing bias (± its standard error, flagged when shown), clock
    offset, wild-bearing rate and the reports used, from the events it shared with others in
    the last `truceline check`."""
    from truceline.adapters.store import open_store
    from truceline.services.sources import source_estimates

    rows = source_estimates(open_store(db), flagged_only=flagged)
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    table = [list(_COLUMNS)] + [[_cell(r.get(c)) for c in _COLUMNS] for r in rows]
    width = [max(len(row[i]) for row in table) for i in range(len(_COLUMNS))]
    for row in table:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, width, strict=True)).rstrip())
    n_flag = sum(1 for r in rows if r["flagged"])
    click.echo(f"{len(rows)} source{'' if len(rows) == 1 else 's'}; {n_flag} with a bearing bias")
