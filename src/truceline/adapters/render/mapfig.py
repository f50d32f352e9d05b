"""The report's map figure: line of contact, areas of control (outlined where their recognition
is stated), zones, the stretches the mission could not observe ("not covered"), events,
restrictions."""

from __future__ import annotations

import io
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import shapely
from matplotlib.figure import Figure
from matplotlib.patches import Ellipse, PathPatch
from matplotlib.path import Path
from shapely.geometry.base import BaseGeometry

from truceline.core.agreement_geometry import geometry_spec, resolve
from truceline.core.recognition import area_label, statuses_on
from truceline.core.reporting import DailyReport

COLOURS = {
    "explosion: impact": "#d62728",
    "explosion: outgoing": "#1f77b4",
    "explosion: airburst": "#9467bd",
    "explosion: undetermined": "#7f7f7f",
    "projectile in flight": "#ff7f0e",
    "muzzle flash": "#e377c2",
    "illumination flare": "#bcbd22",
    "burst or shot": "#17becf",
}
PARTY_FILL = ["#cfe2f3", "#f4cccc", "#d9ead3", "#fff2cc"]  # first party blue, second red
#: "Not covered": the party's side of the band, hatched grey, and the stretch of the line.
UNCOVERED_FILL = "#444444"
UNCOVERED_LINE = "#ff00ff"
UNCOVERED_GID = "not-covered"
#: The status of areas: each area with recognition in force, outlined and labelled.
AREA_STATUS_GID = "area-status"
AREA_STATUS_LINE = "#b45f06"


def _polys(g: BaseGeometry) -> list[Any]:
    return list(getattr(g, "geoms", [g]))


def _polygon_path(rings: list[list[list[float]]]) -> Path:
    """One compound path (exterior and holes) from GeoJSON polygon rings."""
    verts: list[list[float]] = []
    codes: list[np.uint8] = []
    for ring in rings:
        if len(ring) < 3:
            continue
        verts.extend([*ring, ring[0]])
        codes.extend([Path.MOVETO, *[Path.LINETO] * (len(ring) - 1), Path.CLOSEPOLY])
    return Path(np.asarray(verts, float).reshape(-1, 2), codes)


def _draw_uncovered(ax: Any, uncovered: list[dict[str, Any]], seen: set[str]) -> None:
    """Each gap: its area hatched, its stretch of the line thick; one legend entry."""
    for g in uncovered:
        label = None if "not covered" in seen else "not covered"
        seen.add("not covered")
        for rings in g["area"]["coordinates"]:
            ax.add_patch(PathPatch(_polygon_path(rings), facecolor=UNCOVERED_FILL, alpha=0.25,
                                   hatch="////", edgecolor=UNCOVERED_FILL, lw=0.3, zorder=2,
                                   gid=UNCOVERED_GID, label=label))
            label = None
        for part in g["stretch"]["coordinates"]:
            xy = np.asarray(part, float).reshape(-1, 2)
            ax.plot(xy[:, 0], xy[:, 1], color=UNCOVERED_LINE, lw=3.0, alpha=0.8, zorder=3,
                    solid_capstyle="butt", gid=UNCOVERED_GID, label=label)
            label = None


def _draw_area_status(ax: Any, r: DailyReport) -> None:
    """Outline each area of control whose recognition is stated for the report's day, with its
    statuses in the legend (an area given as the rest of the area of interest is not drawn)."""
    g = r.agreement.geography
    assert g is not None
    for i, statuses in statuses_on(r.agreement, r.day):
        a = g.areas_of_control[i]
        if a.geometry is None:
            continue
        label: str | None = f"{area_label(a, i)}: {statuses}"
        for p in _polys(resolve(a.geometry, f"geography.areas_of_control[{i}].geometry")):
            if p.geom_type != "Polygon":
                continue
            x, y = p.exterior.xy
            ax.plot(x, y, color=AREA_STATUS_LINE, ls="-.", lw=0.9, zorder=3,
                    gid=AREA_STATUS_GID, label=label)
            label = None


def map_figure(r: DailyReport) -> Figure:
    """The map as a matplotlib figure (close it with ``plt.close``); artists of the "not
    covered" shading carry ``gid="not-covered"``."""
    spec = geometry_spec(r.agreement)
    fig, ax = plt.subplots(figsize=(10, 7), dpi=90)
    parties = list(spec.parties)
    seen: set[str] = set()
    for cp in spec.control:
        colour = PARTY_FILL[parties.index(cp.party) % len(PARTY_FILL)]
        for p in _polys(cp.geometry):
            if p.geom_type != "Polygon":
                continue
            x, y = p.exterior.xy
            ax.fill(
                x,
                y,
                color=colour,
                alpha=0.6,
                lw=0,
                label=None if cp.party in seen else f"area held by {cp.party}",
            )
            seen.add(cp.party)
    for lid, line in spec.lines.items():
        for part in getattr(line, "geoms", [line]):
            x, y = part.xy
            ax.plot(x, y, color="black", lw=1.4, label=lid if lid not in seen else None)
            seen.add(lid)
    for z in spec.zones:
        if z.line is None or z.within_km is None:
            continue
        line = spec.lines[z.line]
        band = shapely.buffer(line, z.within_km / 111.0 * 0.8)  # outline only, for orientation
        for p in _polys(band):
            if p.geom_type == "Polygon":
                x, y = p.exterior.xy
                ax.plot(x, y, ls="--", lw=0.6, color="#555", alpha=0.6)
    _draw_uncovered(ax, r.uncovered, seen)
    _draw_area_status(ax, r)
    for e in r.events:
        c = COLOURS.get(str(e["category"]), "black")
        ax.scatter(
            [e["lon"]],
            [e["lat"]],
            s=14 + 4 * min(int(e["count"]), 20),
            color=c,
            marker="o" if e["located"] else "^",
            edgecolor="black",
            lw=0.4,
            zorder=5,
            label=str(e["category"]) if e["category"] not in seen else None,
        )
        seen.add(str(e["category"]))
        ell = e.get("ellipse")
        if ell:
            ax.add_patch(
                Ellipse(
                    (float(e["lon"]), float(e["lat"])),
                    float(ell["width_deg"]),
                    float(ell["height_deg"]),
                    angle=float(ell["map_angle_deg"]),
                    fill=False,
                    color=c,
                    lw=0.8,
                    zorder=4,
                )
            )
    for x in r.restrictions:
        if x["lon"] is not None:
            ax.scatter(
                [x["lon"]],
                [x["lat"]],
                marker="X",
                s=60,
                color="black",
                zorder=6,
                label="restriction" if "restriction" not in seen else None,
            )
            seen.add("restriction")
    pts = np.array([[e["lon"], e["lat"]] for e in r.events], dtype=float).reshape(-1, 2)
    minx, miny, maxx, maxy = shapely.union_all(list(spec.lines.values())).bounds
    if len(pts):
        minx, miny = min(minx, pts[:, 0].min()), min(miny, pts[:, 1].min())
        maxx, maxy = max(maxx, pts[:, 0].max()), max(maxy, pts[:, 1].max())
    ax.set_xlim(minx - 0.5, maxx + 0.5)
    ax.set_ylim(miny - 0.4, maxy + 0.4)
    ax.set_aspect(1.0 / np.cos(np.radians((miny + maxy) / 2)))
    ax.set_title(f"{r.agreement.id}: {r.day.isoformat()} (events in the reporting period)")
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, framealpha=0.9)
    return fig


def render_map_png(r: DailyReport) -> bytes:
    fig = map_figure(r)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()
