"""A group's reports changed: give an outlying report its own group, and locate again only
the groups whose reports changed (a fix depends on its own group's rows alone)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from truceline.core.fusion.batch import ROLE_ANY, ROLE_IMPACT, ROLE_ORIGIN, Candidates, FireBatch
from truceline.core.fusion.labels import first_seen
from truceline.core.fusion.locate import Fixes, LocateParams, locate

I64 = NDArray[np.int64]


def detach(b: FireBatch, labels: I64, outlier: NDArray[np.bool_]) -> I64:
    """Give an outlying report its own group when nothing else in its group shares its role.

    A monitor's 'outgoing' report that joined the arrival times of the *impact* (sensors
    cannot tell the two apart) is an outlier of the fix; left in, it would make the impact's
    position an origin and attribute it to the side that was hit. A wild bearing among other
    bearings of the same origin stays: the robust fix already ignores it, and it counts once.
    """
    if not outlier.any() or not len(labels):
        return labels
    G = int(labels.max()) + 1
    specific = b.role != ROLE_ANY
    inlier = ~outlier
    same = np.zeros(len(b), bool)
    for role in (ROLE_ORIGIN, ROLE_IMPACT):
        has = np.bincount(labels, inlier & (b.role == role), minlength=G) > 0
        same |= (b.role == role) & has[labels]
    size = np.bincount(labels, minlength=G)
    go = np.flatnonzero(outlier & specific & ~same & (size[labels] > 1))
    if not len(go):
        return labels
    out = labels.copy()
    out[go] = G + np.arange(len(go))
    return first_seen(out)


def relocate(b: FireBatch, old: I64, new: I64, fx: Fixes, cd: Candidates,
              p: LocateParams) -> Fixes:
    """Fixes for the labels ``new`` (after :func:`detach`), locating again only the groups
    whose reports changed: every group's fix depends on its own rows alone, and detaching
    touches a few percent of groups, so relocating all of them doubled the cost of locating.
    """
    G = int(new.max()) + 1
    n = len(new)
    first = np.full(G, n, np.int64)
    first[new[::-1]] = np.arange(n - 1, -1, -1)
    was = old[first]  # the old group of each new group's first row
    size_new = np.bincount(new, minlength=G)
    size_old = np.bincount(old, minlength=len(fx.x))
    same = ((np.bincount(new, old == was[new], minlength=G) == size_new)
            & (size_new == size_old[was]))
    rows = np.flatnonzero(~same[new])
    redo = np.flatnonzero(~same)
    sub_of = np.full(G, -1, np.int64)
    sub_of[redo] = np.arange(len(redo))
    sub_cd = Candidates(*(getattr(cd, f)[rows] for f in cd.__dataclass_fields__))
    sf = locate(b.take(rows), sub_of[new[rows]], sub_cd, p)
    src = np.where(same, was, 0)

    def per_group(name: str) -> Any:
        a, s_ = getattr(fx, name)[src], getattr(sf, name)
        a[redo] = s_[sub_of[redo]]
        return a

    outlier = fx.outlier.copy()
    outlier[rows] = sf.outlier
    return Fixes(per_group("x"), per_group("y"), per_group("t0"), per_group("cov"),
                 per_group("located"), per_group("method"), per_group("rms"), outlier,
                 per_group("widen"), per_group("stated"))
