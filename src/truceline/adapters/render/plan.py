"""Render a force plan: a table (Markdown and CSV), the plot of what each force buys, and a
map of each layout (matplotlib, Agg; PNG bytes)."""

from __future__ import annotations

import csv
import io
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

__all__ = ["COLUMNS", "layout_map_png", "plan_csv", "plan_markdown", "plan_plot_png"]

#: The table's columns: (header, how to read it from one layout row).
COLUMNS: tuple[tuple[str, Any], ...] = (
    ("personnel", lambda r: r["personnel"]),
    ("posts", lambda r: r["placed"]["posts"]),
    ("patrols/day", lambda r: r["placed"]["patrols"]),
    ("cameras", lambda r: r["placed"]["cameras"]),
    ("arrays", lambda r: r["placed"]["arrays"]),
    ("units staffed, no site", lambda r: sum(r["unplaced"].values())),
    ("line covered (fire)", lambda r: r["covered"]["line_share"]),
    ("exact objective", lambda r: r["placement"]["exact"]["weighted_share"]),
    ("greedy objective", lambda r: r["placement"]["greedy"]["weighted_share"]),
    ("detected", lambda r: _m(r, "detected_share")),
    ("located <= 1 km", lambda r: _m(r, "located_share")),
    ("attributed", lambda r: _m(r, "attributed_share")),
)


def _m(r: dict[str, Any], key: str) -> Any:
    m = r.get("measured")
    return None if not m else m["line"][key]


def _fmt(v: Any) -> str:
    if v is None:
        return "not measured"
    if isinstance(v, float):
        return f"{100 * v:.1f} %"
    return f"{v:,}" if isinstance(v, int) else str(v)


def plan_markdown(plan: dict[str, Any]) -> str:
    """The plan's table, its search result and every assumption, as Markdown."""
    rows = plan["layouts"]
    out = [f"# Force plan: {plan['agreement']} v{plan['version']}, {plan['mission']} mission, "
           f"{plan['line_km']:,} km line", ""]
    out.append("| " + " | ".join(h for h, _ in COLUMNS) + " |")
    out.append("|" + "---|" * len(COLUMNS))
    for r in rows:
        out.append("| " + " | ".join(_fmt(f(r)) for _, f in COLUMNS) + " |")
    m = next((r["measured"] for r in rows if r.get("measured")), None)
    out.append("")
    if m:
        out.append(f"Measured on {m['days']} simulated day(s), seed {m['seed']}, scale "
                   f"{m['scale']}: shares of all true firing events; attributed = the true "
                   f"party named with at least {m['confidence']:.0%} probability; "
                   f"visibility {m.get('visibility', 'not stated')}.")
    s = plan.get("smallest_for_target")
    if s:
        out.append("")
        if s["reached"]:
            out.append(f"Smallest force reaching {s['target']:.0%} attributed: "
                       f"**{s['personnel']:,}** (not at {s['below']:,}).")
        else:
            out.append(f"Smallest force reaching {s['target']:.0%} attributed: **none measured"
                       f"** ({s['note']}; best {s['best_measured']['attributed_share']:.1%} at "
                       f"{s['best_measured']['personnel']:,}).")
    out += ["", "Per sector: the share of each party's side covered for fire, and of the "
            "sector's true events detected, located within 1 km and attributed:", "",
            "| personnel | sector | covered (per side) | events | detected | located | "
            "attributed |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        ms = (r.get("measured") or {}).get("sectors", {})
        sides: dict[str, list[str]] = {}
        for sec in r["covered"]["sectors"]:
            sides.setdefault(sec["sector"], []).append(f"{sec['party']} {_fmt(sec['share'])}")
        for name, cov in sides.items():
            m = ms.get(name) or {}
            out.append(f"| {r['personnel']:,} | {name} | {', '.join(cov)} | "
                       f"{m.get('events', '-')} | {_fmt(m.get('detected_share'))} | "
                       f"{_fmt(m.get('located_share'))} | {_fmt(m.get('attributed_share'))} |")
    out += ["", f"Coverage model: {plan['coverage_model']['terrain']}; patrols: "
            f"{plan['coverage_model']['patrols']}.", "",
            "People per unit (field personnel, before support and reserve): "
            + ", ".join(f"{k} {v}" for k, v in plan["people_per_unit"].items()) + ".", "",
            "## Assumptions", "", "| key | value | source |", "|---|---|---|"]
    for a in plan["assumptions"]:
        out.append(f"| {a['key']} | {a['value']:g} | {a['source'] or 'not given'} |")
    return "\n".join(out) + "\n"


def plan_csv(plan: dict[str, Any]) -> str:
    """One row per personnel figure (shares as fractions)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([h for h, _ in COLUMNS])
    for r in plan["layouts"]:
        w.writerow(["" if f(r) is None else f(r) for _, f in COLUMNS])
    return buf.getvalue()


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def plan_plot_png(plan: dict[str, Any]) -> bytes:
    """Coverage and (measured) detection, location and attribution against personnel."""
    rows = plan["layouts"]
    x = [r["personnel"] for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(x, [r["covered"]["line_share"] for r in rows], "o-", label="line covered (fire)")
    for key, lab in (("detected_share", "detected"), ("located_share", "located within 1 km"),
                     ("attributed_share", "attributed")):
        ys = [_m(r, key) for r in rows]
        if any(y is not None for y in ys):
            ax.plot(x, [np.nan if y is None else y for y in ys], "s--", label=lab)
    s = plan.get("smallest_for_target")
    if s:
        ax.axhline(s["target"], color="grey", lw=0.8, ls=":")
        tried = s.get("tried") or []
        if tried:
            ax.plot([t["personnel"] for t in tried], [t["attributed_share"] for t in tried],
                    "x", color="#d62728", label="attributed (search for the target)")
    ax.set_xscale("log")
    ax.set_xlabel("personnel")
    ax.set_ylabel("share")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"{plan['agreement']}: what each force buys ({plan['mission']})")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    return _png(fig)


def layout_map_png(plan: dict[str, Any], row: dict[str, Any],
                   line_lonlat: list[Any]) -> bytes:
    """The line and the layout's sites (posts, cameras, arrays)."""
    fig, ax = plt.subplots(figsize=(8, 6))
    for part in line_lonlat:
        ax.plot(part[:, 0], part[:, 1], color="black", lw=1.0)
    style = {"post": ("^", "#1f77b4", 10), "camera": ("s", "#2ca02c", 8),
             "array": ("o", "#d62728", 10)}
    for kind, (mk, col, size) in style.items():
        pts = [(s["lon"], s["lat"]) for s in row["sites"] if s["kind"] == kind]
        if pts:
            a = np.asarray(pts)
            ax.scatter(a[:, 0], a[:, 1], marker=mk, s=size, c=col, label=f"{kind}s ({len(a)})",
                       alpha=0.8, linewidths=0)
    ax.set_aspect(1.0 / np.cos(np.radians(48.0)))
    ax.set_title(f"{row['personnel']:,} people ({plan['mission']}): "
                 f"{row['placed']['patrols']:,} patrols/day not shown; line covered "
                 f"{100 * row['covered']['line_share']:.0f} %", fontsize=9)
    ax.legend(loc="upper left", fontsize=8)
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    return _png(fig)
