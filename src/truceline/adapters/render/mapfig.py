"""The report's map figure: areas of control (outlined where their recognition is stated), the
line of contact by sector, zones as the checks decide them, the stretches the mission could not
observe ("not covered"), events (attributed or not, origins linked to impacts), weapon
sightings and presence findings, restrictions, over a base of regions, towns and a scale bar
(:mod:`truceline.adapters.render.mapbase`). Every symbol is in the legend.

Deterministic: the same report gives the same PNG bytes (no dates in its metadata)."""

from __future__ import annotations

import io
import math
from typing import Any

# isort: off
from truceline.adapters.render.pyplot import plt  # first: before any other matplotlib module

# isort: on
import matplotlib
import numpy as np
import shapely
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import PathPatch, Polygon
from matplotlib.path import Path
from shapely.geometry.base import BaseGeometry

from truceline.adapters.render.mapbase import (
    aspect_of,
    draw_places,
    draw_regions,
    draw_scale_bar,
    draw_sectors,
)
from truceline.core.agreement_geometry import geometry_spec, regions, resolve
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
PARTY_EDGE = ["#1c4587", "#990000", "#274e13", "#7f6000"]  # attributed: the party's colour
UNATTRIBUTED_EDGE = "#9e9e9e"
#: PNG metadata: no software version or date, so the same report gives the same bytes.
PNG_METADATA: dict[str, str | None] = {"Software": None}
#: "Not covered": the party's side of the band, hatched grey, and the stretch of the line.
UNCOVERED_FILL = "#444444"
UNCOVERED_LINE = "#ff00ff"
UNCOVERED_GID = "not-covered"
#: The status of areas: each area with recognition in force, outlined and labelled.
AREA_STATUS_GID = "area-status"
AREA_STATUS_LINE = "#b45f06"


def _add(ax: Any, patch: Any) -> None:
    """``ax.add_patch`` without updating the data limits (the map sets its own extent):
    for a polygon of thousands of vertices that update walks every Bezier segment in
    Python, a third of the drawing's time, for limits nothing reads. Same artist, same order,
    same pixels."""
    ax.add_artist(patch)


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
            _add(ax, PathPatch(_polygon_path(rings), facecolor=UNCOVERED_FILL, alpha=0.25,
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


def _party_names(r: DailyReport) -> dict[str, str]:
    return {p.id: p.name or p.id for p in r.agreement.parties}


def _draw_zones(ax: Any, r: DailyReport, parties: list[str]) -> None:
    """Each zone as the checks decide it: hatched in the colour of the party whose side it
    is on, outlined, named in the legend with its width."""
    for z in r.zones:
        k = parties.index(z["party_side"]) if z["party_side"] in parties else -1
        colour = PARTY_EDGE[k % len(PARTY_EDGE)] if k >= 0 else "#555555"
        label: str | None = f"zone: {z['name']}"
        for rings in z["area"]["coordinates"]:
            _add(ax, PathPatch(_polygon_path(rings), facecolor="none", hatch="....",
                               edgecolor=colour, lw=0.8, ls="--", alpha=0.55, zorder=2.5,
                               gid="zone", label=label))
            label = None


def _draw_events(ax: Any, r: DailyReport, parties: list[str]) -> set[str]:
    """Fire events: colour by category, outline by the party attributed (grey: none), a line
    from each located origin to its impact, the 95 % ellipse where fusion gave one. Drawn as
    a few collections (one per marker shape, one for links, one for ellipses), not one
    artist per event, in the events' order."""
    cats: set[str] = set()
    marks: dict[str, dict[str, list[Any]]] = {}
    links, link_colours, impacts, ellipses = [], [], [], []
    for e in r.events:
        c = COLOURS.get(str(e["category"]), "black")
        cats.add(str(e["category"]))
        party = e.get("party")
        k = parties.index(party) if party in parties else -1
        edge = PARTY_EDGE[k % len(PARTY_EDGE)] if k >= 0 else UNATTRIBUTED_EDGE
        if e.get("impact"):
            ix, iy = e["impact"]
            links.append([(e["lon"], e["lat"]), (ix, iy)])
            link_colours.append(c)
            impacts.append((ix, iy, c))
        m = marks.setdefault("o" if e["located"] else "^",
                             {"xy": [], "s": [], "c": [], "ec": [], "lw": []})
        m["xy"].append((e["lon"], e["lat"]))
        m["s"].append(14 + 4 * min(int(e["count"]), 20))
        m["c"].append(c)
        m["ec"].append(edge)
        m["lw"].append(1.4 if k >= 0 else 0.6)
        ell = e.get("ellipse")
        if ell:
            ellipses.append((float(e["lon"]), float(e["lat"]), float(ell["width_deg"]),
                             float(ell["height_deg"]), float(ell["map_angle_deg"]), c))
    if links:
        ax.add_collection(LineCollection(links, colors=_rgba(link_colours), linewidths=0.8,
                                         zorder=4.8, gid="origin-impact"))
        xs, ys, cs = zip(*impacts, strict=True)
        ax.scatter(xs, ys, marker="x", s=16, c=_rgba(list(cs)), lw=1.0, zorder=4.9)
    for marker, m in marks.items():
        xy = np.asarray(m["xy"], float)
        scatter_widths(ax, xy[:, 0], xy[:, 1], np.asarray(m["lw"], float),
                       s=np.asarray(m["s"], float), c=_rgba(m["c"]), marker=marker,
                       edgecolors=_rgba(m["ec"]), zorder=5, gid=f"events-{marker}")
    if ellipses:
        ax.add_collection(_ellipse_collection(ellipses))
    return cats


def scatter_widths(ax: Any, x: np.ndarray, y: np.ndarray, widths: np.ndarray, **kw: Any
                   ) -> PathCollection:
    """``ax.scatter(x, y, linewidths=widths, **kw)``, the outline widths set once the
    collection is made: ``scatter`` masks every per-point argument, and matplotlib then
    scales a dash pattern for each point by reading the masked widths one element at a time
    (twice: ~0.1 s for a dense day's 12,000 events). Set as a plain array, the widths and
    dash patterns are the same numbers, so the pixels are the same."""
    coll = ax.scatter(x, y, **kw)
    coll.set_linewidth(widths)
    return coll


def ellipse_paths(ellipses: list[tuple[float, float, float, float, float]]) -> list[Path]:
    """The outline of each (lon, lat, width, height, angle in degrees) ellipse in data
    coordinates: the vertices an ``Ellipse`` patch gives (its unit circle scaled by half the
    axes, rotated, moved to its centre, in the order and with the rounding of
    ``Affine2D().scale().rotate_deg().translate()``), for all ellipses at once. A day's ~7k
    ``Ellipse`` artists cost ~0.5 s to make; these paths draw the same pixels."""
    if not ellipses:
        return []
    circle = Path.unit_circle()
    unit = np.asarray(circle.vertices, float)
    vx, vy = unit[:, 0], unit[:, 1]
    rows = []
    for x, y, w, h, deg in ellipses:
        a, b = math.cos(math.radians(deg)), math.sin(math.radians(deg))
        sx, sy = w * 0.5, h * 0.5
        rows.append((a * sx - b * 0.0, a * 0.0 - b * sy, 0.0 + x,
                     b * sx + a * 0.0, b * 0.0 + a * sy, 0.0 + y))
    m = np.asarray(rows, float)
    xs = m[:, 0:1] * vx + m[:, 1:2] * vy + m[:, 2:3]
    ys = m[:, 3:4] * vx + m[:, 4:5] * vy + m[:, 5:6]
    verts = np.stack([xs, ys], axis=-1)
    # one path checked and set up by the constructor; the others share its codes and take
    # its settings (the same for every path of this shape and length), without the checks
    first = Path(verts[0], circle.codes)
    fast = Path._fast_from_codes_and_verts  # type: ignore[attr-defined]
    return [first, *(fast(v, first.codes, first) for v in verts[1:])]


def _ellipse_collection(ellipses: list[tuple[float, float, float, float, float, str]]
                        ) -> PathCollection:
    """The 95 % ellipses, unfilled, outlined in their event's colour: what a
    ``PatchCollection`` of ``Ellipse(fill=False, lw=0.8)`` patches with ``match_original``
    draws, without an artist per ellipse."""
    return PathCollection(ellipse_paths([x[:5] for x in ellipses]),
                          facecolors=[[0, 0, 0, 0]],
                          edgecolors=_rgba([x[5] for x in ellipses]), linewidths=[0.8],
                          linestyles=["solid"],
                          antialiaseds=[matplotlib.rcParams["patch.antialiased"]],
                          zorder=4)


def _rgba(colours: list[str]) -> np.ndarray:
    """``to_rgba`` of each colour, as one N x 4 array: each distinct colour converted once."""
    ids: dict[str, int] = {}
    k = [ids.setdefault(c, len(ids)) for c in colours]
    table = np.array([to_rgba(c) for c in ids], float).reshape(-1, 4)
    return table[np.asarray(k, np.intp)]


#: Findings drawn at their place (beyond fire): rule kind -> marker and legend words.
_FINDING_MARKS = {
    "withdrawal": ("s", "weapon sighted inside a withdrawal zone (finding)"),
    "prohibited_presence": ("D", "foreign forces present (finding)"),
}


def _draw_findings(ax: Any, r: DailyReport, parties: list[str]) -> set[str]:
    kinds: set[str] = set()
    for f in r.findings:
        mark = _FINDING_MARKS.get(f.rule_kind)
        if mark is None or f.lon is None or f.lat is None:
            continue
        k = parties.index(f.party) if f.party in parties else -1
        edge = PARTY_EDGE[k % len(PARTY_EDGE)] if k >= 0 else UNATTRIBUTED_EDGE
        ax.scatter([f.lon], [f.lat], marker=mark[0], s=55, color="#ffd966", edgecolor=edge,
                   lw=1.4, zorder=6, gid=f"finding-{f.rule_kind}")
        kinds.add(f.rule_kind)
    return kinds


def _legend(ax: Any, r: DailyReport, parties: list[str], cats: set[str],
            kinds: set[str]) -> None:
    """One legend for every symbol: the labelled artists, then proxies for the encodings
    (category colour, outline by party, marker shapes, links)."""
    handles, labels = ax.get_legend_handles_labels()
    names = _party_names(r)

    def proxy(label: str, **kw: Any) -> None:
        handles.append(Line2D([], [], ls=kw.pop("ls", "none"), **kw))
        labels.append(label)

    for c in (*COLOURS, *sorted(cats - set(COLOURS))):
        if c in cats:
            proxy(c, marker="o", color=COLOURS.get(c, "black"), mec="none", ms=7)
    for k, p in enumerate(parties):
        proxy(f"outline: attributed to {names.get(p, p)}", marker="o", mfc="white",
              mec=PARTY_EDGE[k % len(PARTY_EDGE)], mew=1.6, ms=7)
    proxy("grey outline: unattributed", marker="o", mfc="white", mec=UNATTRIBUTED_EDGE, ms=7)
    proxy("located event (origin, or impact when no origin)", marker="o", mfc="white",
          mec="black", ms=7)
    proxy("location unknown: at the reporting monitor", marker="^", mfc="white",
          mec="black", ms=7)
    proxy("origin → impact (x)", ls="-", marker="x", color="black", lw=0.8, ms=4)
    proxy("95 % location ellipse", marker="o", mfc="none", mec="black", ms=10, mew=0.6)
    for kind in sorted(kinds):
        m, words = _FINDING_MARKS[kind]
        proxy(words, marker=m, mfc="#ffd966", mec="black", ms=7)
    if r.restrictions:
        proxy("restriction of the monitors' movement", marker="X", color="black", ms=8)
    proxy("start of a sector", marker="|", color="black", ms=10, mew=2)
    ax.figure.legend(handles, labels, loc="lower left", bbox_to_anchor=(0.02, 0.003, 0.96, 0.19),
                     mode="expand", ncol=2, fontsize=7, framealpha=0.95, title="Legend",
                     title_fontsize=8)


def map_figure(r: DailyReport) -> Figure:
    """The map as a matplotlib figure (close it with ``plt.close``); artists of the "not
    covered" shading carry ``gid="not-covered"``, zones ``gid="zone"``."""
    # the service's compiled spec when the report carries it (resolving it again costs ~1 s)
    spec = r.spec if r.spec is not None else geometry_spec(r.agreement)
    fig = plt.figure(figsize=(11, 12.6), dpi=90)
    # fixed axes and legend places: saved without bbox_inches="tight", drawn once, not twice
    ax = fig.add_axes((0.07, 0.245, 0.9, 0.705))
    parties = list(spec.parties)
    names = _party_names(r)
    seen: set[str] = set()
    for cp in spec.control:
        colour = PARTY_FILL[parties.index(cp.party) % len(PARTY_FILL)]
        for p in _polys(cp.geometry):
            if p.geom_type != "Polygon":
                continue
            # what ``ax.fill(x, y, color=colour, alpha=0.6, lw=0, label=...)`` adds
            area = Polygon(np.asarray(p.exterior.coords)[:, :2], facecolor=None, fill=True,
                           closed=True)
            area.set(color=colour, alpha=0.6, lw=0,
                     label=None if cp.party in seen else f"area held by {names[cp.party]}")
            _add(ax, area)
            seen.add(cp.party)
    line_names = {ln.id: ln.name or ln.id for ln in r.agreement.geography.lines} \
        if r.agreement.geography else {}
    sector_lines = {s.line for s in spec.sectors} if r.sectors else set()
    for lid, line in spec.lines.items():
        for part in getattr(line, "geoms", [line]):
            x, y = part.xy
            ax.plot(x, y, color="black", lw=1.0, zorder=4.4,
                    label=line_names.get(lid, lid) if lid not in seen else None)
            seen.add(lid)
    _draw_zones(ax, r, parties)
    _draw_uncovered(ax, r.uncovered, seen)
    _draw_area_status(ax, r)
    if sector_lines:
        draw_sectors(ax, r)
    cats = _draw_events(ax, r, parties)
    kinds = _draw_findings(ax, r, parties)
    for x in r.restrictions:
        if x["lon"] is not None:
            ax.scatter([x["lon"]], [x["lat"]], marker="X", s=60, color="black", zorder=6)
    pts = np.array([[e["lon"], e["lat"]] for e in r.events], dtype=float).reshape(-1, 2)
    minx, miny, maxx, maxy = shapely.union_all(list(spec.lines.values())).bounds
    if len(pts):
        minx, miny = min(minx, pts[:, 0].min()), min(miny, pts[:, 1].min())
        maxx, maxy = max(maxx, pts[:, 0].max()), max(maxy, pts[:, 1].max())
    box = (minx - 0.6, miny - 0.45, maxx + 0.6, maxy + 0.45)
    draw_regions(ax, regions(r.agreement), box)
    draw_places(ax, box)
    draw_scale_bar(ax, box)
    ax.set_xlim(box[0], box[2])
    ax.set_ylim(box[1], box[3])
    ax.set_aspect(aspect_of(box[1], box[3]))
    tz = r.agreement.tz
    ax.set_title(f"{r.agreement.title}\nDaily report {r.day.isoformat()}: events from "
                 f"{r.period_start.astimezone(tz):%d %b %H:%M} to "
                 f"{r.period_end.astimezone(tz):%d %b %H:%M} local time "
                 f"({r.agreement.timezone}, {r.period_end.astimezone(tz):%Z})", fontsize=10)
    ax.set_xlabel("longitude (\u00b0E)", fontsize=8)
    ax.set_ylabel("latitude (\u00b0N)", fontsize=8)
    ax.tick_params(labelsize=7)
    _legend(ax, r, parties, cats, kinds)
    return fig


def render_map_png(r: DailyReport) -> bytes:
    fig = map_figure(r)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata=PNG_METADATA)
    plt.close(fig)
    return buf.getvalue()
