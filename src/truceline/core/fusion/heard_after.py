"""An untyped fix whose own burst an array heard after it: typed as the launch.

:func:`.heard_other.join_other_sound` tests an untyped fix both ways: the arrivals may have
heard its other sound a flight *after* it (the fix a launch, the sound its burst) or *before*
it (the fix a burst). It joins the arrivals and states nothing of which: the fix stays
untyped, and a finding, which reads a launch's side, has none (session 37, hV: of the
supportable misses, 131 were an untyped fix whose burst's arrivals joined it only here).

Where only "after" passes (the arrivals' sound fits a flight of a class the link knows, of
the fix's named class where its reports name one, from the fix; "before" fits none), the fix
is the launch. Where no report names the class, "before" is tested with flights no faster
than ``HeardParams.before_max_ms`` (the sound's speed; :func:`_slower` says why). It is
typed so (:func:`.end_joins.end_joins` attributes it at its own fix) only where that puts it
on one side at ``own_side_max``; else it stays as it was.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from truceline.core.fusion.batch import ROLE_ANY, ROLE_IMPACT, ROLE_ORIGIN
from truceline.core.fusion.heard import HeardParams
from truceline.core.fusion.heard_other import Fused, arrivals_fit, named_classes
from truceline.core.fusion.link import LinkParams

__all__ = ["heard_after"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def heard_after(
    res: Fused, lo: F64, hi: F64, u: I64, g: I64, p: HeardParams, link: LinkParams
) -> I64:
    """The untyped, unlinked parts of the joins ``(u, g)`` (arrival groups into parts, as
    :func:`.heard_other.join_other_sound` made them) whose every joined group's arrivals fit
    the part's other sound only after it: the launches among them (module doc)."""
    b, labels, fixes, role, partner = res.batch, res.labels, res.fixes, res.role, res.partner
    if not p.other_typed or not len(u):
        return np.zeros(0, np.int64)
    G = len(role)
    has = np.isfinite(b.arr) & np.isfinite(b.ox) & np.isfinite(b.oy)
    sig = np.sqrt(np.nan_to_num(np.trace(fixes.cov, axis1=1, axis2=2), nan=np.inf))
    xf, yf, lof, hif = (np.asarray(v, np.float64) for v in (fixes.x, fixes.y, lo, hi))
    sigf = np.asarray(sig, np.float64)
    windows = np.array(link.windows(), np.float64).reshape(-1, 3)
    by_class = dict(zip(link.max_range_m, link.windows(), strict=True))
    named_of = named_classes(b, labels, G)
    slow = _slower(windows, p.before_max_ms)
    out = []
    for c in np.unique(g[(role[g] == ROLE_ANY) & (partner[g] < 0)]).tolist():
        named = named_of(c)
        if named and not named <= set(link.max_range_m):
            continue
        wins = np.array([by_class[w] for w in sorted(named)], np.float64) if named else windows
        back = wins if named else slow
        part = np.array([c], np.int64)
        launch = True
        for k in u[g == c].tolist():
            r = np.flatnonzero((labels == k) & has)
            if not len(r):
                launch = False
                break
            each = arrivals_fit(b, r, p)
            # as ROLE_ORIGIN: the sound heard after the part; as ROLE_IMPACT: before it
            after, before = (
                bool(len(w) and each(part, xf, yf, sigf, lof, hif, np.full(G, q, np.int64),
                                     w, 1)[0])
                for q, w in ((ROLE_ORIGIN, wins), (ROLE_IMPACT, back))
            )
            if not after or before:
                launch = False
                break
        if launch:
            out.append(c)
    return np.array(out, np.int64)


def _slower(windows: F64, most: float | None) -> F64:
    """The flight windows ``(range, slowest, fastest)`` capped at ``most`` m/s (those whose
    slowest is faster left out): the "before" test where no report names the class. A
    launch's sound reaches a point at most ``d / c`` after the shell's burst ``d`` away
    would, less the flight ``d / v``: an array hears the launch after the burst only where
    the shell flew faster than sound and the array lies behind the burst along the line of
    fire. The classes' top speeds (twice their means) are a wide prior; read for an unnamed
    bang, they let every later sound be a launch too, and the fix stayed untyped (session
    38: the mortars' launches whose burst their own array heard 20-45 s later)."""
    if most is None:
        return windows
    w = windows[windows[:, 1] <= most].copy()
    w[:, 2] = np.minimum(w[:, 2], most)
    return w
