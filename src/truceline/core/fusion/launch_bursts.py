"""A launch monitors saw and the untyped fix of its burst: one shot, linked.

:func:`.link.link_origin_impact` pairs a typed origin with a typed impact;
:func:`pair_launch_to_burst` types an untyped fix (an acoustic array's, or monitors'
"undetermined" explosions) as the launch of a burst monitors saw. The mirror was missing: a
launch monitors saw ("outgoing fire", a muzzle flash) whose burst only sensors or "undetermined"
reports placed stayed two incidents (issue 14: on all_conditions seeds 1 and 3, 14 such shots
each at the end of the pipeline, the largest part of the "origin and impact not linked" class;
session 36). The untyped fix is typed as the launch's burst when the physics allows the one
pair and nothing else explains either:

- the pair is one shot across the line (:func:`.link.in_flight` of the class the burst names,
  else the launch's, else any known class): within range, the burst's window after the
  launch's by a flight at the class's speeds, the launch on one party's side (with
  ``own_side_max``) and the fix not on that side (on the other or near the line);
- the launch could have hit no other unlinked located fix that may be a burst (typed impacts
  and untyped fixes), the fix could have been fired by no other unlinked located fix that may
  be a launch (typed origins and untyped fixes), and the fix itself could have fired none of
  those (else it may be a launch). A linked fix is no rival: its shot is explained.

It runs after :func:`pair_launch_to_burst` (:func:`.pipeline._finish`): calibration reads
none of it. The fix's group is typed impact and linked; it keeps its ellipse (no position is
added), and its reports stay untyped. Replayed on all_conditions seeds 1 / 3: 17 / 25 links,
all of one event each.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from truceline.core.fusion.link import LinkParams, compatible_shots, in_flight, sides_apart

__all__ = ["launches_of_bursts", "pair_burst_to_launch", "pair_launch_to_burst"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def pair_burst_to_launch(
    x: F64, y: F64, cov: F64, lo: F64, hi: F64, cls: NDArray[np.object_], side: I64,
    launch: NDArray[np.bool_], burst: NDArray[np.bool_], may_fire: NDArray[np.bool_],
    may_hit: NDArray[np.bool_], params: LinkParams | None = None,
) -> tuple[I64, I64]:
    """Unambiguous ``(launch, burst)`` pairs of a typed origin ``launch`` and an untyped fix
    ``burst`` (both unlinked candidates); ``may_fire`` / ``may_hit``: every located fix that
    could be a launch / a burst (module doc). ``side``: the party whose area holds each fix
    with ``own_side_max`` or more, -1 when none does."""
    launch = launch & (side >= 0)  # the fix may be near the line: on no side, not the launch's
    empty = np.zeros(0, np.int64)
    if not launch.any() or not burst.any():
        return empty, empty
    # any class first, then the one the burst names, else the launch's
    # a fix near the line may be a rival of the pair's untyped fix near it too
    a, b = compatible_shots(x, y, cov, lo, hi, np.full(len(x), None, object), sides_apart(side),
                            may_fire, may_hit, params)
    n = len(x)
    c = np.where(cls[b] != None, cls[b], cls[a])  # noqa: E711
    ok = c == None  # noqa: E711
    if len(a):
        p = params or LinkParams()
        sig = np.sqrt(np.trace(cov[a], axis1=1, axis2=2) + np.trace(cov[b], axis1=1, axis2=2))
        d = np.hypot(x[a] - x[b], y[a] - y[b])
        for name, win in zip(p.max_range_m, p.windows(), strict=True):
            m = c == name
            ok[m] = in_flight(d[m], 2.5 * sig[m], lo[a[m]], hi[a[m]], lo[b[m]], hi[b[m]], *win)
    a, b = a[ok], b[ok]
    hits = np.bincount(a, minlength=n)  # fixes each candidate launch could have hit
    fired_by = np.bincount(b, minlength=n)  # candidate launches of each fix
    pair = launch[a] & burst[b] & (hits[a] == 1) & (fired_by[b] == 1) & (hits[b] == 0)
    return a[pair].astype(np.int64), b[pair].astype(np.int64)


def _launch_search(
    x: F64, y: F64, cov: F64, lo: F64, hi: F64, cls: NDArray[np.object_], side: I64,
    launch: NDArray[np.bool_], burst: NDArray[np.bool_], may_fire: NDArray[np.bool_],
    params: LinkParams | None,
) -> tuple[I64, I64, NDArray[np.bool_], NDArray[np.bool_], I64, I64]:
    """The one search both typings read: the :func:`compatible_shots` pairs ``(a, b)``, the
    candidates as sides allow (``launch``, ``burst``), the bursts each candidate could have
    fired and the candidate launches of each fix."""
    p = params or LinkParams()
    launch = launch & (side >= 0)
    burst = burst if p.launch_of_near_burst else burst & (side >= 0)
    a, b = compatible_shots(x, y, cov, lo, hi, cls, sides_apart(side), may_fire, burst | launch,
                            params)
    n = len(x)
    fires_at = np.bincount(a[burst[b]], minlength=n)  # bursts each candidate could have fired
    hit_by = np.bincount(b, minlength=n)  # candidate launches of each burst or fix
    return a, b, launch, burst, fires_at, hit_by


def pair_launch_to_burst(
    x: F64, y: F64, cov: F64, lo: F64, hi: F64, cls: NDArray[np.object_], side: I64,
    launch: NDArray[np.bool_], burst: NDArray[np.bool_], may_fire: NDArray[np.bool_],
    params: LinkParams | None = None,
) -> tuple[I64, I64]:
    """Unambiguous ``(launch, burst)`` pairs of an untyped fix and a typed impact.

    An untyped fix (``launch`` candidates: an acoustic array's, or a monitor's "undetermined"
    explosion on its ray) is the launch or the burst of some shot. It is typed as the launch
    of a burst that monitors saw (``burst`` candidates: typed impacts) when the pair is a
    :func:`.link.compatible_shots` pair and nothing else explains either: the burst has no other
    candidate launch (``may_fire``: any located fix that could be an origin), the fix no
    other burst, and no candidate launch could have fired the fix itself (else it may be a
    burst too). ``side`` is the party whose area holds the fix with probability
    ``own_side_max`` or more (-1 when none does); the launch needs one (its finding does),
    the burst another or none (``launch_of_near_burst``: a mortar's burst near the line is
    rarely placed on a side at 0.9, and the fix's side is what the finding reads).
    """
    a, b, launch, burst, fires_at, hit_by = _launch_search(x, y, cov, lo, hi, cls, side, launch,
                                                           burst, may_fire, params)
    pair = burst[b] & launch[a] & (fires_at[a] == 1) & (hit_by[b] == 1) & (hit_by[a] == 0)
    return a[pair].astype(np.int64), b[pair].astype(np.int64)


def launches_of_bursts(
    x: F64, y: F64, cov: F64, lo: F64, hi: F64, cls: NDArray[np.object_], side: I64,
    launch: NDArray[np.bool_], burst: NDArray[np.bool_], may_fire: NDArray[np.bool_],
    params: LinkParams | None = None,
) -> tuple[I64, I64, I64]:
    """:func:`pair_launch_to_burst`'s pairs (the same, from one search), and the
    untyped fixes it leaves because they could have fired two bursts or more: each such
    fix that is every one of those bursts' only candidate launch, and that no candidate
    launch could have fired at, is a launch whichever it fired (session 41, h9b: of the
    supportable misses, an untyped fix at the firing whose burst was fixed twice, or lay
    beside another burst no one else could have fired). It is typed, not linked: which of
    the bursts is its own the evidence does not say."""
    a, b, launch, burst, fires_at, hit_by = _launch_search(x, y, cov, lo, hi, cls, side, launch,
                                                           burst, may_fire, params)
    pair = burst[b] & launch[a] & (fires_at[a] == 1) & (hit_by[b] == 1) & (hit_by[a] == 0)
    m = burst[b] & launch[a]
    alone = np.bincount(a[m], (hit_by[b[m]] == 1).astype(np.float64), minlength=len(x))
    sure = launch & (fires_at >= 2) & (alone == fires_at) & (hit_by == 0)
    return (a[pair].astype(np.int64), b[pair].astype(np.int64),
            np.flatnonzero(sure).astype(np.int64))
