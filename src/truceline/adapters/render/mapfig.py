"""The report's map figure: line of contact, areas of control, zones, events, restrictions."""

from __future__ import annotations

import io
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import shapely
from matplotlib.patches import Ellipse
from shapely.geometry.base import BaseGeometry

from truceline.core.agreement_geometry import geometry_spec
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


def _polys(g: BaseGeometry) -> list[Any]:
    return list(getattr(g, "geoms", [g]))


def render_map_png(r: DailyReport) -> bytes:
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
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()
