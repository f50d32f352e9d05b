"""A multi-day report's trend chart: violations per reporting day, stacked by category."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from truceline.adapters.render.mapfig import COLOURS, PNG_METADATA
from truceline.core.reporting import CATEGORIES, DailyReport


def render_trend_png(r: DailyReport) -> bytes:
    """Bars per reporting day (the monitors' units), one colour per category; the same report
    gives the same bytes."""
    days = r.days
    per = {c: np.zeros(len(days)) for c in CATEGORIES}
    ix = {d: i for i, d in enumerate(days)}
    for (d, _), counts in r.daily.items():
        if d in ix:
            for c in CATEGORIES:
                per[c][ix[d]] += counts.get(c, 0)
    fig, ax = plt.subplots(figsize=(8, 3.2), dpi=90)
    try:
        x = np.arange(len(days))
        bottom = np.zeros(len(days))
        for c in CATEGORIES:
            if per[c].any():
                ax.bar(x, per[c], bottom=bottom, color=COLOURS[c], label=c, width=0.7)
                bottom += per[c]
        ax.set_xticks(x, [d[5:] for d in days], fontsize=7, rotation=0 if len(days) <= 14 else 90)
        ax.set_ylabel("ceasefire violations", fontsize=8)
        scope = f" ({r.scope})" if r.scope else ""
        ax.set_title(f"Ceasefire violations per reporting day{scope}", fontsize=9)
        ax.tick_params(labelsize=7)
        if bottom.any():
            ax.legend(fontsize=6.5, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        buf = io.BytesIO()
        fig.savefig(buf, format="png", bbox_inches="tight", metadata=PNG_METADATA)
    finally:
        plt.close(fig)
    return buf.getvalue()
