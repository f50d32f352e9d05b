"""An array's arrivals left apart at the end joined to the linked shot whose sound they fit.

The largest kind of lost pair after the other end joins (issue 14, session 35 hH: +0.0110
ARI by event on all_conditions seed 1 for an oracle) is an incident whose launch and burst are
both located and linked, beside a vague arrival group that heard one of them. Replayed against
the truth on all_conditions seeds 1 and 3 (session 36), the test of :func:`.heard.join_heard`
already placed many within that one event; they were left apart for four reasons:

* a group over two arrays (two sensors farther apart than ``array_m``) joins only on a sharp
  test, since two arrays may have heard two sounds (9 / 7 groups). A linked shot's two sounds
  are both located: a group that fits one of them, and no other event within the looser
  gate, is of that shot whichever array heard which;
* :func:`.heard_other.other_sound_apart` undid the join (8 / 10 groups, all of them right):
  one or two arrivals fit almost any unlocated other sound of some part near by, which weighs
  less than the located sound of the linked shot they fit;
* they were placed only once :mod:`.on_ray` and :mod:`.lone_bearing` had run;
* the emission time they imply missed the part's window by less than a clock's error
  (``alt_slack_s``: the observers' clocks of all_conditions are off by 25 s): such a window
  is a rival's in the looser gate already; as the target's, it joined one group into another
  event on each seed, both times a part looser than 2 km (2.9 and 5.2 km sd; the 9 right ones
  at most 1.3 km), whose differences test little, so only a part no looser than
  ``linked_slack_sd_m`` is given the clock's error.

One arrival tested by a timed part (its emission time against the part's, no difference to
fit) joins only a part no looser than ``linked_one_sd_m`` (5 km, the link's ``max_sigma_m``):
on wind seed 2 one such arrival joined another event's launch fixed 9.7 km loose, whose
implied time bounds little (the right ones replayed: parts of 0.5-1 km).

So last, each vague group still apart is tested as :func:`.heard.join_untested` tests it and
joins only a part of a linked pair, with no sharp test asked of two arrays, a clock's error
allowed as above, and no :func:`.heard_other.other_sound_apart` after it. No fix, ellipse or
attribution reads the arrivals (they join as :func:`.heard.join_untested`'s do).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from truceline.core.fusion.batch import FireBatch
from truceline.core.fusion.heard import HeardParams, bare_arrivals, join_heard
from truceline.core.fusion.locate import M_ARRIVAL, Fixes

__all__ = ["join_heard_linked"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def join_heard_linked(b: FireBatch, labels: I64, fixes: Fixes, role: NDArray[np.int8],
                      partner: I64, lo: F64, hi: F64, u: I64, g: I64, p: HeardParams
                      ) -> tuple[I64, I64]:
    """The joins ``(u, g)`` of the end joins so far, and the vague arrival groups joined by
    neither to the part of a linked pair they fit (module doc): new pairs only."""
    empty = np.zeros(0, np.int64)
    if not p.enabled or not p.linked_end or not len(role) or not (partner >= 0).any():
        return empty, empty
    _, _, vague = bare_arrivals(b, labels, role, partner, fixes.located)
    vague[u] = False
    vague[g] = False
    if not vague.any():
        return empty, empty
    timed = fixes.located & (fixes.method & M_ARRIVAL > 0)
    located = fixes.located.copy()
    located[u] = False  # a group joined elsewhere is no part
    ju, jg, _ = join_heard(b, labels, fixes.x, fixes.y, fixes.cov, located, lo, hi, partner,
                           vague, timed, p, untested=True, linked=True)
    return ju, jg
