"""The static map's base: extent and aspect, region borders, towns, sectors, a scale bar.

The map is drawn in lon/lat with the axes' aspect set to 1 / cos(latitude) at the map's
centre, so that a kilometre east-west and a kilometre north-south take the same length on
paper there (plate carree at the centre latitude: at 46-51 N the scale differs from the
centre's by less than 5 % at the top and bottom; the scale bar says where it is true).
The same named places as the dashboard (:mod:`truceline.core.places`) are labelled.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pyproj import Geod

from truceline.core.places import PLACES
from truceline.core.reporting import DailyReport

_GEOD = Geod(ellps="WGS84")
REGION_BORDER = "#8c8c8c"
SECTOR_COLOURS = ("#222222", "#6b6b6b")


def aspect_of(miny: float, maxy: float) -> float:
    """The axes' aspect (y units per x unit) that makes east-west and north-south kilometres
    equal at the centre latitude."""
    return float(1.0 / np.cos(np.radians((miny + maxy) / 2)))


def draw_regions(ax: Any, regions: list[tuple[str, Any]], box: tuple[float, ...]) -> None:
    """Thin grey borders of the agreement's report regions (oblasts) and their names."""
    minx, miny, maxx, maxy = box
    first = True
    for name, geom in regions:
        gx0, gy0, gx1, gy1 = geom.bounds
        if gx1 < minx or gx0 > maxx or gy1 < miny or gy0 > maxy:
            continue
        for p in getattr(geom, "geoms", [geom]):
            if p.geom_type != "Polygon":
                continue
            x, y = p.exterior.xy
            ax.plot(x, y, color=REGION_BORDER, lw=0.5, ls=":", zorder=1.5,
                    label="region (oblast) border" if first else None)
            first = False
        c = geom.representative_point()
        if minx < c.x < maxx and miny < c.y < maxy:
            ax.text(c.x, c.y, f"{name}\noblast" if name else "", fontsize=6.5, color="#777",
                    style="italic", ha="center", va="center", zorder=1.6)


def draw_places(ax: Any, box: tuple[float, ...]) -> None:
    """Towns inside the map: larger dots and bold names for oblast centres and cities."""
    minx, miny, maxx, maxy = box
    first = True
    for p in PLACES:
        if not (minx < p.lon < maxx and miny < p.lat < maxy):
            continue
        big = p.rank <= 2
        ax.plot([p.lon], [p.lat], "s" if big else ".", color="#333",
                ms=3.5 if big else 3, zorder=7, label="town or city" if first else None)
        first = False
        ax.annotate(p.name, (p.lon, p.lat), xytext=(3, 2), textcoords="offset points",
                    fontsize=7.5 if big else 6.5, weight="bold" if big else "normal",
                    color="#222", zorder=7)


def draw_sectors(ax: Any, r: DailyReport) -> None:
    """Each sector's stretch of the line in alternating shades, a tick at its start, and its
    name beside its middle, on the west (the map's open side: the line runs along its east)."""
    for k, s in enumerate(r.sectors):
        parts = [np.asarray(p, float).reshape(-1, 2) for p in s["stretch"]]
        parts = [p for p in parts if len(p) >= 2]
        if not parts:
            continue
        colour = SECTOR_COLOURS[k % 2]
        for xy in parts:
            ax.plot(xy[:, 0], xy[:, 1], color=colour, lw=2.0, zorder=4.5, solid_capstyle="butt",
                    label="line of contact, by sector (alternating shades)" if k == 0 else None)
        a = parts[0][0]
        ax.plot([a[0]], [a[1]], marker="|", ms=12, mew=2, color="black", zorder=4.6)
        allp = np.vstack(parts)
        mid = allp[len(allp) // 2]
        ax.annotate(f"{k + 1}. {s['name']}\n(km {s['from_km']:g}-{s['to_km']:g})",
                    (mid[0], mid[1]), xytext=(-40, -4), textcoords="offset points", fontsize=7,
                    color="black", zorder=8, ha="right",
                    bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "#999", "alpha": 0.8})


def draw_scale_bar(ax: Any, box: tuple[float, ...], km: float = 100.0) -> None:
    """A ``km`` bar in the lower right, its length measured on the ellipsoid at its latitude."""
    minx, miny, maxx, maxy = box
    lon0 = maxx - 0.06 * (maxx - minx) - km / 70.0
    lat0 = miny + 0.05 * (maxy - miny)
    lon1, _, _ = _GEOD.fwd(lon0, lat0, 90.0, km * 1000.0)
    half, _, _ = _GEOD.fwd(lon0, lat0, 90.0, km * 500.0)
    ax.plot([lon0, half], [lat0, lat0], color="black", lw=4, solid_capstyle="butt", zorder=9)
    ax.plot([half, lon1], [lat0, lat0], color="white", lw=4, solid_capstyle="butt", zorder=9)
    ax.plot([lon0, lon1], [lat0, lat0], color="black", lw=0.6, zorder=9)
    for x, t in ((lon0, "0"), (half, f"{km / 2:g}"), (lon1, f"{km:g} km")):
        ax.text(x, lat0 + 0.04 * (maxy - miny) / 4, t, fontsize=7, ha="center", va="bottom",
                zorder=9)
    ax.text(lon0, lat0 - 0.012 * (maxy - miny), f"measured along {lat0:.1f}\u00b0 N",
            fontsize=6, va="top", zorder=9)
