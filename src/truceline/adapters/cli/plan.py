"""``truceline plan``: what a monitoring force of a given size staffs, where, and what it buys."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import click

from truceline.adapters.cli.group import handle_errors
from truceline.errors import ValidationError


def _personnel(text: str) -> list[int]:
    out = []
    for part in text.split(","):
        try:
            v = int(part.strip().replace("_", ""))
        except ValueError:
            raise ValidationError(f"{part.strip()!r} is not a whole number",
                                  field="personnel") from None
        if v <= 0:
            raise ValidationError(f"{v} is not a positive number of people", field="personnel")
        out.append(v)
    return out


def _priorities(text: str | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, _, val = part.partition("=")
        try:
            out[name.strip()] = float(val)
        except ValueError:
            raise ValidationError(f"{part.strip()!r} is not sector=number",
                                  field="sector_priority") from None
    return out


def read_event_points(path: str) -> tuple[list[float], list[float]]:
    """Longitudes and latitudes of a CSV of past events (UCDP GED ``longitude``/``latitude``
    or CIR ``lon``/``lat`` columns); rows without both are skipped."""
    lon: list[float] = []
    lat: list[float] = []
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as f:
        rows = csv.DictReader(f)
        cols = rows.fieldnames or []
        xo = "longitude" if "longitude" in cols else "lon" if "lon" in cols else None
        yo = "latitude" if "latitude" in cols else "lat" if "lat" in cols else None
        if xo is None or yo is None:
            raise ValidationError("needs longitude/latitude (or lon/lat) columns", field="events")
        for r in rows:
            try:
                x, y = float(r[xo]), float(r[yo])
            except (TypeError, ValueError):
                continue
            if -180 <= x <= 180 and -90 <= y <= 90:
                lon.append(x)
                lat.append(y)
    return lon, lat


def _no_go(path: str | None) -> Any:
    if path is None:
        return None
    import shapely
    from shapely.geometry import shape

    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        feats = doc.get("features", [doc]) if isinstance(doc, dict) else []
        geoms = [shape(f.get("geometry", f)) for f in feats]
    except (OSError, ValueError, KeyError, AttributeError, TypeError) as exc:
        raise ValidationError(f"not a GeoJSON of areas: {exc}", field="no_go") from exc
    if not geoms:
        raise ValidationError("holds no geometry", field="no_go")
    return shapely.union_all(geoms)


@click.command()
@click.option("--agreement", required=True, help="Agreement YAML file, or an example name "
              "(march2025).")
@click.option("--personnel", required=True, help="Comma-separated force sizes, e.g. "
              "10000,30000,120000.")
@click.option("--mission", type=click.Choice(["unarmed", "armed"]), default="unarmed",
              show_default=True)
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Directory for plan.md, plan.csv, plan.json, plan.png and map_<N>.png.")
@click.option("--force-model", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Your edited copy of the force model YAML (default: the shipped one).")
@click.option("--days", type=click.IntRange(0, 60), default=1, show_default=True,
              help="Simulated days to measure each layout on (0: do not measure).")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--events", type=click.Path(dir_okay=False, exists=True), default=None,
              help="CSV of past events (UCDP GED or CIR) to weight the line by.")
@click.option("--history-weight", type=click.FloatRange(0), default=1.0, show_default=True,
              help="Weight of the past events against a uniform floor of 1 (with --events).")
@click.option("--sector-priority", default=None, help="e.g. donetsk=2,kharkiv=1.5")
@click.option("--no-go", type=click.Path(dir_okay=False, exists=True), default=None,
              help="GeoJSON of areas where no site may stand.")
@click.option("--spacing-km", type=click.FloatRange(0.5, 100), default=4.0, show_default=True,
              help="Candidate sites every this many km along the line.")
@click.option("--time-limit", type=click.FloatRange(1, 3600), default=60.0, show_default=True,
              help="Seconds the exact solver may take per layout.")
@click.option("--dem", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Digital elevation model (GeoTIFF) for terrain line of sight (default: "
                   "range-only visibility).")
@handle_errors
def plan(agreement: str, personnel: str, mission: str, out: str, force_model: str | None,
         days: int, seed: int, events: str | None, history_weight: float,
         sector_priority: str | None, no_go: str | None, spacing_km: float,
         time_limit: float, dem: str | None) -> None:
    """Plan a monitoring force: what each force size staffs, where, and what it buys."""
    from truceline.adapters.agreement_files import load_agreement_file
    from truceline.adapters.dem import read_dem
    from truceline.adapters.render.plan import (
        layout_map_png,
        plan_csv,
        plan_markdown,
        plan_plot_png,
    )
    from truceline.core.planning.force import default_force_model, load_force_model_text
    from truceline.services.context import context_for_doc
    from truceline.services.planning import PlanOptions
    from truceline.services.planning import plan as make_plan

    figures = _personnel(personnel)
    fm = (load_force_model_text(Path(force_model).read_text(encoding="utf-8"))
          if force_model else default_force_model())
    ag, doc = load_agreement_file(agreement)
    ctx = context_for_doc(doc)
    ev = read_event_points(events) if events else None
    opts = PlanOptions(mission=mission, spacing_km=spacing_km, time_limit_s=time_limit,
                       sector_priority=_priorities(sector_priority), events_lonlat=ev,
                       history_weight=history_weight if ev else 0.0,
                       weights_source=f"events: {Path(events).name}" if events else "uniform",
                       no_go=_no_go(no_go), terrain=read_dem(dem) if dem else None)
    measure = None
    if days:
        from truceline.adapters.plan_measure import measurer

        measure = measurer(agreement, doc, ag.attribution_confidence, days=days, seed=seed)
    result = make_plan(ctx, fm, figures, opts, measure=measure)
    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    (d / "plan.json").write_text(json.dumps(result, indent=1, sort_keys=True) + "\n",
                                 encoding="utf-8")
    (d / "plan.md").write_text(plan_markdown(result), encoding="utf-8")
    (d / "plan.csv").write_text(plan_csv(result), encoding="utf-8")
    (d / "plan.png").write_bytes(plan_plot_png(result))
    assert ctx.geometry is not None
    parts = ctx.geometry.lines[result["line"]].parts_lonlat
    for r in result["layouts"]:
        (d / f"map_{r['personnel']}.png").write_bytes(layout_map_png(result, r, parts))
    for r in result["layouts"]:
        m = r["measured"]
        tail = (f"; detected {m['line']['detected_share']:.0%}, located "
                f"{m['line']['located_share']:.0%}, attributed "
                f"{m['line']['attributed_share']:.0%}") if m else ""
        click.echo(f"{r['personnel']:>8,}: {r['placed']['posts']} posts, "
                   f"{r['placed']['patrols']} patrols/day, {r['placed']['cameras']} cameras, "
                   f"{r['placed']['arrays']} arrays; line covered "
                   f"{r['covered']['line_share']:.0%}{tail}")
    click.echo(f"wrote {d}/plan.md, plan.csv, plan.json, plan.png, map_<personnel>.png")
