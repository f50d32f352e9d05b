"""Bias samples from co-sited sources whose bearings of one event the grouping split apart.

A group of exactly two bearings from two points is exactly determined (two rays, two
unknowns): its fix has no residual, so leave-one-out (:mod:`.calibration`) takes no sample
from it. When one event is seen from two points by two sources at each (a camera and a post
side by side), the grouping may pair each source at one point with one at the other:
two groups of two ("crossed pairs"), each a fix, neither with a sample. The two sources at
one point then bear on the same event, and the difference of their bearings measures the
difference of their biases directly, with no fix at all: one sample for each, against the
other (variance: the two bearings' in sum). On the simulated weeks this is how one event
told a post 12.8° off from the camera beside it (BENCHMARKS.md, session 39, helper h7b).

The gate is narrow because a loose one is wrong: co-sited bearings near in time and angle
that the grouping put in different groups were of two events 72 % of the time. Here both
groups hold exactly two bearings and nothing else, their four reports come from the same two
points (``apart_m``), two distinct sources at each, reports at one point within ``dt_s`` of
each other, their bearings within ``max_deg``, and a group is in exactly one such match.

Which of the two is biased, one difference cannot say: the samples go to the per-source
report only (flags, never corrections: :mod:`.calibration_days`), where each source's other
samples tell, and a source's samples against one partner count as one
(:func:`.calibration_days.one_per_partner`), so its twin samples alone never take a camera
beside a biased post to ``min_events``. Its other samples may hold that bias too: in a group
of three with its partner and one other, a source's fix without it lies on the partner's ray,
and its sample is the same difference. So a twin sample is left out where its source has a
sample from a group its partner has one in (:func:`repeated`), and is never one of the pair
rule's two (:func:`unpaired`). Counted, a camera beside a post 10° off, with two such groups,
was flagged with the post (three samples of one difference); with one, the pair rule flagged
the post whichever of the two was biased (its sample, fixed by the camera's ray, the tighter).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from truceline.core.fusion.batch import FireBatch

__all__ = ["TwinParams", "crossed_twins", "differences", "repeated", "unpaired"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True)
class TwinParams:
    """The crossed pairs' gate (physical allowances: a site's extent, a monitor's clock)."""

    enabled: bool = True
    #: Reports this close are one point (a camera mast beside a post: tens of metres).
    apart_m: float = 50.0
    #: Two points nearer than this are one site, not a crossing.
    min_baseline_m: float = 200.0
    #: Two reports at one point of one event: their times this close (a monitor's clock
    #: error and lag as grouping allows them, at most).
    dt_s: float = 120.0
    #: Two bearings of one event from one point: this close (a post's bias of 4-10° and
    #: several sds of the two bearings' noise, with margin; a wider one is another event).
    max_deg: float = 30.0


def _two_bearing_groups(b: FireBatch, labels: I64) -> tuple[I64, I64]:
    """The two rows of each group of exactly two reports that both carry a bearing from
    a known point, the first the one with the lesser grid x (then y)."""
    if not len(labels):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    size = np.bincount(labels)
    has = np.isfinite(b.brg) & np.isfinite(b.ox) & np.isfinite(b.oy) & np.isfinite(b.t)
    ok = (size == 2) & (np.bincount(labels, has, minlength=len(size)) == 2)
    rows = np.flatnonzero(ok[labels])
    rows = rows[np.argsort(labels[rows], kind="stable")]
    r1, r2 = rows[0::2], rows[1::2]
    swap = (b.ox[r1] > b.ox[r2]) | ((b.ox[r1] == b.ox[r2]) & (b.oy[r1] > b.oy[r2]))
    return np.where(swap, r2, r1), np.where(swap, r1, r2)


def crossed_twins(b: FireBatch, labels: I64, p: TwinParams | None = None) -> tuple[I64, I64]:
    """The co-sited couples of the crossed pairs in ``labels``: rows ``a[i]`` and ``b[i]``,
    two sources at one point bearing on one event from two groups (two couples per match)."""
    p = p or TwinParams()
    none = np.zeros(0, np.int64), np.zeros(0, np.int64)
    r1, r2 = _two_bearing_groups(b, labels)
    n = len(r1)
    if n < 2 or not p.enabled:
        return none
    base = np.hypot(b.ox[r1] - b.ox[r2], b.oy[r1] - b.oy[r2])
    keep = base >= p.min_baseline_m
    r1, r2 = r1[keep], r2[keep]
    n = len(r1)
    if n < 2:
        return none
    s = p.apart_m / p.dt_s  # a point's time in metres, so one box is the whole gate

    def at(x: I64, y: I64) -> F64:
        return np.column_stack([b.ox[x], b.oy[x], b.t[x] * s, b.ox[y], b.oy[y], b.t[y] * s])

    # each group against every group in both orders (its points' order is only by x)
    # every group in both orders, its points' order being only by x; pairs as one array (a
    # month's two-bearing groups as lists of neighbours cost ~0.1 GB at the check's peak)
    u, v = cKDTree(np.vstack([at(r1, r2), at(r2, r1)])).query_pairs(
        p.apart_m, p=np.inf, output_type="ndarray").T.astype(np.int64)
    keep = (u < n) & (u < v % n)  # each match once, i before j; a group with itself never
    i, j = u[keep], v[keep] % n
    flip = v[keep] >= n
    c1 = np.where(flip, r2[j], r1[j])  # j's report at i's first point
    c2 = np.where(flip, r1[j], r2[j])
    src = b.source
    ok = ((src[r1[i]] != src[c1]) & (src[r2[i]] != src[c2])
          & (np.hypot(b.ox[r1[i]] - b.ox[c1], b.oy[r1[i]] - b.oy[c1]) <= p.apart_m)
          & (np.hypot(b.ox[r2[i]] - b.ox[c2], b.oy[r2[i]] - b.oy[c2]) <= p.apart_m)
          & (np.abs(b.t[r1[i]] - b.t[c1]) <= p.dt_s) & (np.abs(b.t[r2[i]] - b.t[c2]) <= p.dt_s))
    i, j, c1, c2 = i[ok], j[ok], c1[ok], c2[ok]
    diff = np.abs(np.angle(np.exp(1j * (b.brg[np.concatenate([r1[i], r2[i]])]
                                        - b.brg[np.concatenate([c1, c2])]))))
    close = diff <= np.radians(p.max_deg)
    ok = close[: len(i)] & close[len(i):]
    i, j, c1, c2 = i[ok], j[ok], c1[ok], c2[ok]
    once = np.bincount(np.concatenate([i, j]), minlength=n) == 1
    ok = once[i] & once[j]
    i, c1, c2 = i[ok], c1[ok], c2[ok]
    return np.concatenate([r1[i], r2[i]]), np.concatenate([c1, c2])


def differences(b: FireBatch, a: I64, c: I64, x: F64, y: F64) -> F64:
    """Each couple's ``a`` bearing less ``c``'s (radians, wrapped), less the parallax of
    their points towards ``(x, y)`` (the event as the crossed pairs fixed it): 20 m apart,
    1.6 km from the event, two exact bearings differ by 0.7°, more than a camera's sd."""
    pa = np.arctan2(x - b.ox[a], y - b.oy[a])
    pc = np.arctan2(x - b.ox[c], y - b.oy[c])
    return np.asarray(np.angle(np.exp(1j * ((b.brg[a] - pa) - (b.brg[c] - pc)))))


def repeated(source: NDArray[Any], partner: NDArray[Any], grp: I64) -> NDArray[np.bool_]:
    """Whether each sample (of ``source``; a twin sample's ``partner``, else "") is a twin
    sample whose source has a leave-one-out sample from a group ``grp`` its partner has one
    in: there its source's fix without it rests on the partner's bearing, and the two are
    one difference (the module docstring)."""
    twin = np.asarray(partner != "")
    out = np.zeros(len(twin), bool)
    if not twin.any():
        return out
    name, mate = np.asarray(source).astype(str), np.asarray(partner).astype(str)
    loo = ~twin & np.isin(name, np.concatenate([name[twin], mate[twin]]))
    groups: dict[str, set[int]] = {}
    for n, g in zip(name[loo].tolist(), grp[loo].tolist(), strict=True):
        groups.setdefault(n, set()).add(g)
    for k in np.flatnonzero(twin).tolist():
        out[k] = bool(groups.get(name[k], set()) & groups.get(mate[k], set()))
    return out


def unpaired(least: F64, src: I64, twin: NDArray[np.bool_]) -> F64:
    """``least`` (:func:`.calibration.weakest`, per source index; ``src``: each sample's)
    ``-inf`` for the sources with a twin sample: never one of the pair rule's two, each of
    which must show the bias alone (``pair_z``'s chance of 8e-5 for an honest source is of
    two independent samples). A difference shows none of its own: beside a biased partner
    it is always beyond, and one chance sample would flag an honest source."""
    return np.where(np.bincount(src, twin, minlength=len(least)) > 0, -np.inf, least)
