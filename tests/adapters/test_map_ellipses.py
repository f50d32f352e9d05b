"""The map's 95 % ellipses are drawn from paths computed for all of a day's events at once,
not from one ``Ellipse`` artist each (issue 21: a one-day report in <= 3 s). They must be the
outlines the artists give, to the last bit, and draw the same pixels. The events' markers and
the ellipses get their colours as arrays, each colour converted once (matplotlib converts a
list of names one by one, and broadcasts a width and a dash pattern per ellipse): the same
pixels again."""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import PatchCollection
from matplotlib.colors import to_rgba
from matplotlib.patches import Ellipse

from truceline.adapters.render.mapbase import aspect_of
from truceline.adapters.render.mapfig import (
    _ellipse_collection,
    _rgba,
    ellipse_paths,
    scatter_widths,
)

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


def _scatter_png(arrays: bool, widths_after: bool = False) -> bytes:
    """A day's events as the map draws them: sizes, fills, outlines and widths per event,
    given as lists of colour names (as matplotlib is usually called) or as the arrays
    :func:`_rgba` makes."""
    rng = np.random.default_rng(14)
    n = 500
    xy = np.column_stack([rng.uniform(35, 40, n), rng.uniform(46, 50, n)])
    s = [14 + 4 * int(k) for k in rng.integers(1, 21, n)]
    c = [COLOURS[int(k)] for k in rng.integers(0, len(COLOURS), n)]
    ec = [["#1c4587", "#990000", "#9e9e9e"][int(k)] for k in rng.integers(0, 3, n)]
    lw = [1.4 if e != "#9e9e9e" else 0.6 for e in ec]
    fig = plt.figure(figsize=(4, 4), dpi=90)
    ax = fig.add_axes((0.1, 0.1, 0.8, 0.8))
    if widths_after:
        scatter_widths(ax, xy[:, 0], xy[:, 1], np.asarray(lw, float), s=np.asarray(s, float),
                       c=_rgba(c), marker="o", edgecolors=_rgba(ec), zorder=5)
    elif arrays:
        ax.scatter(xy[:, 0], xy[:, 1], s=np.asarray(s, float), c=_rgba(c), marker="o",
                   edgecolors=_rgba(ec), linewidths=np.asarray(lw, float), zorder=5)
    else:
        ax.scatter(xy[:, 0], xy[:, 1], s=s, c=c, marker="o", edgecolors=ec, linewidths=lw,
                   zorder=5)
    ax.set_xlim(35, 40)
    ax.set_ylim(46, 50)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def test_events_given_as_arrays_draw_the_pixels_of_colour_lists() -> None:
    assert _scatter_png(arrays=True) == _scatter_png(arrays=False)


def test_widths_set_after_the_scatter_draw_the_same_pixels() -> None:
    """:func:`scatter_widths` (the outline widths set once the collection is made, as a plain
    array) draws what ``scatter(linewidths=...)`` draws."""
    assert _scatter_png(arrays=True, widths_after=True) == _scatter_png(arrays=False)


def test_rgba_is_to_rgba_of_each_colour() -> None:
    colours = ["#d62728", "black", "#1f77b4", "#d62728", "C3", "none", "black"]
    assert _rgba(colours).tolist() == [list(to_rgba(c)) for c in colours]
    assert _rgba([]).shape == (0, 4)
