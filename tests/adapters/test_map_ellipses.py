"""The map's 95 % ellipses are drawn from paths computed for all of a day's events at once,
not from one ``Ellipse`` artist each (issue 21: a one-day report in <= 3 s). They must be the
outlines the artists give, to the last bit, and draw the same pixels."""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import PatchCollection
from matplotlib.patches import Ellipse

from truceline.adapters.render.mapbase import aspect_of
from truceline.adapters.render.mapfig import _ellipse_collection, ellipse_paths

COLOURS = ["#d62728", "#1f77b4", "#9467bd", "#7f7f7f", "#ff7f0e"]


def _ellipses(n: int) -> list[tuple[float, float, float, float, float, str]]:
    """Ellipses as fusion gives them along the March 2025 line: centres in Donbas, axes of
    tens of metres to tens of km (in degrees), any orientation, a few degenerate."""
    rng = np.random.default_rng(21)
    out = []
    for i in range(n):
        w, h = 10 ** rng.uniform(-4, -0.5), 10 ** rng.uniform(-4, -0.5)
        ang = [0.0, 90.0, -45.0, 180.0][i] if i < 4 else rng.uniform(-180, 180)
        out.append((float(rng.uniform(35, 40)), float(rng.uniform(46, 50)), w,
                    0.0 if i == 4 else h, float(ang), COLOURS[i % len(COLOURS)]))
    return out


def test_paths_are_the_ellipse_patches_outlines() -> None:
    ells = _ellipses(400)
    ours = ellipse_paths([e[:5] for e in ells])
    for (x, y, w, h, a, c), p in zip(ells, ours, strict=True):
        patch = Ellipse((x, y), w, h, angle=a, fill=False, edgecolor=c, lw=0.8)
        theirs = patch.get_transform().transform_path(patch.get_path())
        assert np.array_equal(p.vertices, theirs.vertices)
        assert np.array_equal(p.codes, theirs.codes)


def _png(draw: str) -> bytes:
    ells = _ellipses(300)
    fig = plt.figure(figsize=(4, 4), dpi=90)
    ax = fig.add_axes((0.1, 0.1, 0.8, 0.8))
    if draw == "patches":
        ax.add_collection(PatchCollection(
            [Ellipse(e[:2], e[2], e[3], angle=e[4], fill=False, edgecolor=e[5], lw=0.8)
             for e in ells], match_original=True, zorder=4))
    else:
        ax.add_collection(_ellipse_collection(ells))
    ax.set_xlim(35, 40)
    ax.set_ylim(46, 50)
    ax.set_aspect(aspect_of(46, 50))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def test_same_pixels_as_a_patch_collection() -> None:
    assert _png("paths") == _png("patches")
