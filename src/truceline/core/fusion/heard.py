"""An array's too-few arrivals joined to the event other reports located.

Two arrival times of one acoustic array (or three it could not fix alone) put a bang on a
hyperbola and its mirror image at an unknown range, and cannot say launch or burst; left
alone they are an incident of their own, unlocated, and the event they were part of is
split (issue 14: 400 of the 524 split events of a simulated week). Once other reports have
located the event, the arrivals can be *tested* against it: the located point predicts
when its sound reaches each sensor, and the arrival-time differences either fit or not.

For a located group ``g`` at ``p`` (covariance ``P``) and arrivals ``a_i`` at sensors
``s_i`` with effective sound speeds ``c_i`` (the pooled air and the estimated wind along
each path, grid metres per second), the residuals ``e_i = a_i - |p - s_i| / c_i`` share
the unknown emission time, so only their differences ``D e`` (each minus the first) are
tested: ``chi2 = (D e)^T (D S D^T)^-1 (D e)`` with ``m - 1`` degrees of freedom, where

* ``S = sd^2 I + J P J^T + W``: the arrivals' timing error (``arrival_sd_s``, jitter and
  each path's own air), the fix's position error propagated (``J_i = (p - s_i)^T / (|p -
  s_i| c_i)``), and the air common to all paths (``W``: a wind error ``dw`` delays arrival
  ``i`` by ``-tau_i u_i . dw / c_i``, ``u_i`` the path's direction, ``tau_i`` its travel
  time; a speed error scales every travel time alike);
* the emission time the arrivals then imply, ``mean(e)``, must lie in ``g``'s emission
  window (a monitor's minutes, or an array's fix's seconds) widened by three of its sds;
  where ``g``'s own arrivals timed it (its window is ``t0 +- 3 sd``), the misfit of that
  time adds one term and one degree of freedom, which also lets a lone arrival be tested.

A group is joined only when exactly one event (a located group with its linked partner) has
a part within the gate (``chi2 <= chi2_dof(level)``) and no other event comes within the
looser ``clear_level`` gate (its window widened by a clock's error, ``alt_slack_s``: a
camera's clock off by seconds put the true launch out of its window and the arrivals joined
another shot of the same gun) or could not be tested at all (a lone arrival against a part
no arrival timed; unless a timed part it fits is ``single_lr`` times likelier, the implied
emission time's density there against one uniform over the untimed window: it then joins,
unrefitted); within that event the part that fits says launch (origin) or burst (impact).
The part is refitted with the arrivals when it is clearly the one (the other part
fails the gate or fits worse by ``part_margin``), whether or not the test was sharp (a loose
fix is where the arrivals add most; the refit is undone where it rejects a joined arrival);
otherwise the arrivals join and the fix stays. Three arrivals that fixed the bang on their
own are tested like two: their fix is one of two crossings of their hyperbolas. A group
whose sensors lie farther apart than one array (``array_m``: two arrays may have heard two
sounds) joins only on a sharp test; a part that already holds one of its sensors is out (one
source never reports one sound twice); two groups of one sensor that fit one part join
neither. A part alone in its event (its launch or burst not located) and not timed by
arrivals takes nothing here: the event's other sound, wherever it was, may be what the array
heard, and nothing here tests that (a timed part does: the other sound comes a flight time
earlier or later). Either way the arrivals are a sound of that event, so at the end of the
pipeline (:func:`join_untested`) they join its incident, as does one arrival whose only event
within hearing and a clock's error of its window is a part no arrival timed (one arrival then
tests nothing but the window, so the join rests on there being no other event it could be of);
no fix, ellipse or attribution reads those arrivals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from scipy.stats import chi2 as chi2_dist

from truceline.core.fusion import locate_kernels as lk
from truceline.core.fusion.batch import ROLE_ANY, FireBatch
from truceline.core.fusion.locate import (
    M_ARRIVAL,
    Fixes,
    LocateParams,
    measurement_rows,
    normal_equations,
    residuals,
)

__all__ = ["HeardParams", "bare_arrivals", "heard_chi2", "join_heard", "join_untested",
           "joined_cov", "part_tests"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True)
class HeardParams:
    """The test of :func:`join_heard`."""

    enabled: bool = True
    #: Farthest an array hears a gun or a rocket (m).
    hearing_m: float = 25_000.0
    #: Slowest sound speed over the ground the travel window allows (m/s): still air at about
    #: -50 deg C, or 0 deg C against a 30 m/s wind, so that no real arrival is cut off.
    slowest_sound_ms: float = 300.0
    #: 1-sigma of one arrival time against the model (s): timing jitter and the path's air.
    arrival_sd_s: float = 0.02
    #: Wind error (1 sigma per component, m/s) where the batch has no estimate of its own.
    wind_sd_ms: float = 4.0
    #: Error of the sound speed common to the paths (share of c): 0.5 deg C.
    speed_frac_sd: float = 0.0009
    #: A part whose window misses the arrivals by less than this (s, a clock's error)
    #: still counts as an alternative (it cannot take them, but may be their source).
    alt_slack_s: float = 60.0
    #: Sensors of one array lie within this of each other (m); a group spread wider holds
    #: two arrays, which may have heard two sounds: it joins only on a sharp test.
    array_m: float = 5_000.0
    #: The most a part's position may blur the differences it predicts (sd over span) for
    #: arrivals spread over two arrays to join it.
    max_blur: float = 0.05
    #: Test with one air for all the group's paths (the mean of its sensors' readings), not
    #: each sensor's own reading, whose independent errors the test does not model.
    pool_air: bool = True
    #: Leave apart the arrivals that fit only a part alone in its event and not timed.
    lone_apart: bool = True
    #: ... but join its incident at the end (:func:`join_untested`): they are one of its
    #: two sounds.
    lone_event: bool = True
    #: ... and the arrivals the test places within one event only at the end, its part
    #: linked or timed after :func:`join_heard` ran (the timed pairs, bursts and arcs).
    late: bool = True
    #: Join one arrival to the incident of the only event within hearing and a clock's error
    #: of its window, where no arrival timed that part (:func:`join_untested`).
    single_window: bool = True
    #: One arrival that fits a timed part joins it although a part no arrival timed (which
    #: it cannot test) holds it in its window, where the timed part is this many times
    #: likelier (the emission time's density there against one uniform over that window);
    #: 0: such a part always counts as an alternative.
    single_lr: float = 20.0
    #: Parts whose emission window is wider than this (s) are not candidates.
    max_window_s: float = 1_800.0
    #: The gate a part must pass, and the looser one no other event may pass.
    level: float = 0.99
    clear_level: float = 0.999
    #: A part is the clear one (launch or burst) when the other part's chi-square exceeds
    #: its own by this much (2 ln 20: twenty times less likely).
    part_margin: float = 6.0
    #: Part an array's group that fits neither part whole between a linked event's launch
    #: and burst (:mod:`.heard_split`), for groups of at most ``max_split`` arrivals.
    split: bool = True
    max_split: int = 6
    #: ... and between two unlinked parts, each timed by arrivals, that could be one shot.
    split_pairs: bool = True
    #: ... where one side is a lone arrival against a part no arrival timed (no degree of
    #: freedom of its own), tested by the flight instead: its emission time after (or
    #: before) the other side's by a flight some weapon class allows over the parts' distance.
    split_lone: bool = True
    #: Join an array's group that heard the other sound of one unlinked, timed part
    #: (:mod:`.heard_other`).
    other: bool = True
    #: ... and one arrival that heard it, where no other located sound could be its own.
    other_one: bool = True
    #: ... and two groups or more that heard it, where their arrivals together fit one
    #: point that passes (two arrays that heard the one sound; else they join neither).
    other_together: bool = True
    #: Type as the launch an untyped fix that such a group joined only as "the other sound
    #: after it" (its burst, by a flight), where the fix is on a side (:mod:`.heard_after`).
    other_typed: bool = True
    #: ... its "before" test (the fix a burst, the arrivals its launch), where no report
    #: names the class, by flights no faster than this (m/s; None: every class's speeds): a
    #: launch heard after its own burst needs a shell that outran the launch's sound, along
    #: the array's ray (:mod:`.heard_after`).
    before_max_ms: float | None = 340.0
    #: Keep an end join (:func:`join_untested`) of two arrivals or more although they could
    #: be another part's other sound, where that part's other sound may be the target's own
    #: event's (:func:`.heard_other.other_sound_apart`).
    apart_mate: bool = True
    #: State an unlinked fix on one bearing and two arrivals of one array wide
    #: enough for either sound of the shot (:mod:`.either_sound`) ...
    either_sound: bool = True
    #: ... but not where the bearing is a camera's flash whose time the arrivals fit at the
    #: fix: then they heard the flash's own sound (:func:`.flash_heard.flash_timed`).
    flash_timed: bool = True
    #: Last of the end joins: a vague group left that fits a part of one linked pair joins
    #: it, spread over two arrays or not (:mod:`.heard_linked`).
    linked_end: bool = True
    #: ... where a part of the pair no looser than this (m, sd) counts as in its window a
    #: clock's error (``alt_slack_s``) wider: a looser one's differences test too little.
    linked_slack_sd_m: float = 2_000.0
    #: ... and one arrival joins such a part no looser than this (m, sd; the link's
    #: ``max_sigma_m``): its emission time, all it tests, a looser part hardly bounds.
    linked_one_sd_m: float = 5_000.0


def heard_chi2(sx: F64, sy: F64, arr: F64, ce: F64, wdir: F64, px: F64, py: F64, P: F64,
               wind_sd: F64, p: HeardParams) -> tuple[F64, F64, F64, F64]:
    """Chi-square of the arrival-time differences, the implied emission time and its sd,
    and the test's blur, for ``N`` tests of ``m`` arrivals each.

    The blur is the largest sd with which the located point predicts a difference, over that
    difference's span (the sensors' distance over the speed, the most it can be): a point
    known so loosely that its prediction spans much of what any sound could give tests
    nothing, and passing it says nothing.

    ``sx``/``sy``/``arr``/``ce``: ``(N, m)`` sensors, arrival times, effective speeds (grid
    m/s); ``wdir``: ``(N, m, 2)`` unit vectors of the paths (source to sensor) for the wind;
    ``px``/``py``/``P``: ``(N,)``/``(N, 2, 2)`` the located point and its covariance;
    ``wind_sd``: ``(N,)`` the wind's error per component (m/s).
    """
    N, m = arr.shape
    dx, dy = px[:, None] - sx, py[:, None] - sy
    r = np.maximum(np.hypot(dx, dy), 1.0)
    tau = r / ce
    e = arr - tau
    J = np.stack([dx / (r * ce), dy / (r * ce)], axis=-1)  # (N, m, 2)
    S = np.einsum("nia,nab,njb->nij", J, P, J)
    S += np.eye(m)[None] * p.arrival_sd_s**2
    g = tau / ce  # delay per m/s of wind along the path
    S += (wind_sd**2)[:, None, None] * np.einsum("ni,nia,nj,nja->nij", g, wdir, g, wdir)
    S += p.speed_frac_sd**2 * tau[:, :, None] * tau[:, None, :]
    t0 = e.mean(axis=1)
    t0_sd = np.sqrt(np.maximum(S.sum(axis=(1, 2)), 0.0)) / m
    if m < 2:
        return np.zeros(N), t0, t0_sd, np.zeros(N)
    D = np.hstack([-np.ones((m - 1, 1)), np.eye(m - 1)])
    de = e @ D.T
    C = D[None] @ S @ D.T[None]
    sol = np.linalg.solve(C, de[:, :, None])[:, :, 0]
    pred = np.einsum("ia,nab,jb->nij", D, S - np.eye(m)[None] * p.arrival_sd_s**2, D)
    span = np.hypot(sx[:, 1:] - sx[:, :1], sy[:, 1:] - sy[:, :1]) / ce[:, 1:]
    blur = (np.sqrt(np.maximum(np.diagonal(pred, axis1=1, axis2=2), 0.0))
            / np.maximum(span, 1e-3)).max(axis=1)
    return np.einsum("ni,ni->n", de, sol), t0, t0_sd, blur


def part_tests(b: FireBatch, idx: I64, g: I64, x: F64, y: F64, cov: F64, lo: F64, hi: F64,
               timed: NDArray[np.bool_], wsd: F64, have: I64, p: HeardParams,
               sd_out: F64 | None = None, t_out: F64 | None = None
               ) -> tuple[F64, F64, I64, NDArray[np.bool_], NDArray[np.bool_],
                          NDArray[np.bool_]]:
    """``N`` tests of ``m`` arrivals each (the rows ``idx``, ``(N, m)``) against the located
    groups ``g``: the fit (chi-square, inf outside ``g``'s window), the fit as an alternative
    (within a clock's error of the window), its degrees of freedom, whether the implied
    emission time is that near, whether the test is sharp, and whether ``g`` already holds
    one of the arrivals' sensors (``have``: group x source keys, sorted); ``sd_out``: filled
    with the sd of the emission time the arrivals imply at ``g``'s point; ``t_out``: with
    that time."""
    src_max = int(b.source.max()) + 1
    keys = g[:, None] * src_max + b.source[idx]
    at = np.minimum(np.searchsorted(have, keys), len(have) - 1)
    clash = (have[at] == keys).any(axis=1)
    m = idx.shape[1]
    sx, sy = b.ox[idx], b.oy[idx]
    dx, dy = sx - x[g][:, None], sy - y[g][:, None]
    r = np.maximum(np.hypot(dx, dy), 1.0)
    ux, uy = dx / r, dy / r
    # one air along the paths of one sound (as in locate): each sensor's own reading of
    # temperature and wind errs on its own (0.5 degC, 0.5 m/s: ~50 ms over 10 km, apart
    # at each sensor, which no common-error term of S covers), their mean only in common
    air = [v[idx].mean(axis=1, keepdims=True) for v in (b.c, b.wu, b.wv)] if p.pool_air \
        else [b.c[idx], b.wu[idx], b.wv[idx]]
    ce = (air[0] + air[1] * ux + air[2] * uy) * b.k[idx]
    wdir = np.stack([ux, uy], axis=-1)
    c2, tt, tsd, bl = heard_chi2(sx, sy, b.arr[idx], ce, wdir, x[g], y[g], cov[g],
                                 wsd[idx].max(axis=1), p)
    if sd_out is not None:
        sd_out[:] = tsd
    if t_out is not None:
        t_out[:] = tt
    inwin = (tt >= lo[g] - 3.0 * tsd) & (tt <= hi[g] + 3.0 * tsd)
    # a part timed by arrivals of its own states its emission time (its window is
    # about +-3 sd): one more degree of freedom
    z2 = ((tt - (lo[g] + hi[g]) / 2) ** 2
          / (((hi[g] - lo[g]) / 6) ** 2 + tsd**2))
    fit = c2 + np.where(timed[g], z2, 0.0)
    # as an alternative, a part counts within a clock's error of its window too
    near_win = ((tt >= lo[g] - p.alt_slack_s - 3.0 * tsd)
                & (tt <= hi[g] + p.alt_slack_s + 3.0 * tsd))
    return (np.where(inwin, fit, np.inf), np.where(near_win, fit, np.inf),
            m - 1 + timed[g].astype(np.int64), near_win, bl <= p.max_blur, clash)


def arrival_groups(b: FireBatch, labels: I64, rows: I64
                   ) -> tuple[I64, I64, I64, I64, I64, F64, F64, F64, F64]:
    """The arrival ``rows`` by group, contiguous (``order``; each group's first row in it at
    ``st``), the groups (``ul``), each row's group in ``ul`` (``grp``), each group's count,
    array centre and first and last arrival: what every test of an array's arrivals against
    a part reads first."""
    order = rows[np.argsort(labels[rows], kind="stable")]
    ul, st, grp, n_u = np.unique(labels[order], return_index=True, return_inverse=True,
                                 return_counts=True)
    ucx = np.bincount(grp, b.ox[order], minlength=len(ul)) / n_u
    ucy = np.bincount(grp, b.oy[order], minlength=len(ul)) / n_u
    ua = np.full(len(ul), np.inf)
    np.minimum.at(ua, grp, b.arr[order])
    ub = np.full(len(ul), -np.inf)
    np.maximum.at(ub, grp, b.arr[order])
    return order, ul, st, grp, n_u, ucx, ucy, ua, ub


def bare_arrivals(b: FireBatch, labels: I64, role: NDArray[np.int8], partner: I64,
                  located: NDArray[np.bool_]) -> tuple[NDArray[np.bool_], NDArray[np.bool_],
                                                       NDArray[np.bool_]]:
    """``(has, bare, vague)``: the reports that are arrivals (a time and a sensor's place);
    the groups made only of arrivals, untyped and linked to nothing; and of those the ones
    the arrival joins test against the located parts: unlocated, or fixed on three arrivals
    (one of two crossings, ``locate._two_roots``: such a fix of its own says less of where
    the sound was than the event the arrivals fit)."""
    G = len(role)
    has = np.isfinite(b.arr) & np.isfinite(b.ox) & np.isfinite(b.oy)
    n_a = np.bincount(labels, has, minlength=G)
    bare = (role == ROLE_ANY) & (partner < 0) & (n_a == np.bincount(labels, minlength=G))
    return has, bare, bare & (~located | (n_a == 3))


def join_heard(b: FireBatch, labels: I64, x: F64, y: F64, cov: F64, located: NDArray[np.bool_],
               lo: F64, hi: F64, partner: I64, vague: NDArray[np.bool_],
               timed: NDArray[np.bool_], p: HeardParams | None = None,
               untested: bool = False, same: I64 | None = None, linked: bool = False
               ) -> tuple[I64, I64, NDArray[np.bool_]]:
    """``(group, part, clear)``: each vague arrival group joined to the located ``part`` of
    the one event its arrivals fit, and whether that part is clearly the sound's (refit it).

    ``x``/``y``/``cov``/``located``: the groups' fixes; ``lo``/``hi``: their emission-time
    windows (s); ``partner``: each group's linked origin or impact (-1); ``vague``: the
    groups to test (bare arrivals, not located); ``timed``: the groups whose emission time
    arrivals of their own fixed (their window is that time +- 3 sd). Candidates come from
    one space-time KD-tree query (the hearing range, and the window widened by the longest
    travel time; parts whose window is wider than ``max_window_s`` say nothing of when and
    are not candidates), so the cost follows the vague groups and their neighbours, not the
    store. ``untested``: only the joins no test places within the event
    (:func:`join_untested`). ``same``: each group's fix of the same part, fixed twice
    (:func:`.same_shot.same_shots`; itself if none): two fixes of one part are one event
    here, and the arrivals join the one they fit best. ``linked``: only the joins to a part
    of a linked pair, which a group over two arrays passes without a sharp test and, the
    part no looser than ``linked_slack_sd_m``, within a clock's error of its window
    (:mod:`.heard_linked`).
    """
    p = p or HeardParams()
    empty = np.zeros(0, np.int64)
    G = len(x)
    none = (empty, empty, np.zeros(0, bool))
    sig = np.sqrt(np.nan_to_num(np.trace(cov, axis1=1, axis2=2), nan=np.inf)) if G \
        else np.zeros(0)
    cand = np.flatnonzero(located & np.isfinite(x) & np.isfinite(lo) & np.isfinite(hi)
                          & (hi - lo <= p.max_window_s) & (sig <= p.hearing_m))
    has = np.isfinite(b.arr) & np.isfinite(b.ox) & np.isfinite(b.oy)
    rows = np.flatnonzero(vague[labels] & has)
    if not len(cand) or not len(rows):
        return none
    # each vague group's array centre, first arrival and spread (its rows are contiguous)
    order, ul, st, grp, n_u, ucx, ucy, ua, _ = arrival_groups(b, labels, rows)
    ox, oy = b.ox[order], b.oy[order]
    far = np.zeros(len(ul))
    np.maximum.at(far, grp, np.hypot(ox - ucx[grp], oy - ucy[grp]))
    one_array = 2.0 * far <= p.array_m
    # candidates: within hearing range in the plane, and an emission window that ends no
    # earlier than the first arrival minus the longest travel and starts before it
    reach = p.hearing_m + 3.0 * float(sig[cand].max())
    travel = p.hearing_m / p.slowest_sound_ms
    half = (hi[cand] - lo[cand]) / 2
    k = reach / (float(half.max()) + travel)
    zc = np.column_stack([x[cand], y[cand], (lo[cand] + hi[cand]) / 2 * k])
    zu = np.column_stack([ucx, ucy, (ua - travel / 2) * k])
    hits = cKDTree(zc).query_ball_point(zu, reach, p=np.inf)
    lens = np.fromiter((len(h) for h in hits), np.int64, len(hits))
    if not lens.sum():
        return none
    pu = np.repeat(np.arange(len(ul)), lens)
    pg = cand[np.concatenate([np.asarray(h, np.int64) for h in hits if len(h)])]
    near = ((np.hypot(x[pg] - ucx[pu], y[pg] - ucy[pu]) <= p.hearing_m + 3.0 * sig[pg])
            & (hi[pg] >= ua[pu] - travel) & (lo[pg] <= ua[pu])
            & (pg != ul[pu]))  # a located group tested is no alternative to itself
    pu, pg = pu[near], pg[near]
    # one source never reports one sound twice: a part holding a sensor of the group is out
    src_max = int(b.source.max()) + 1
    have = np.unique(labels.astype(np.int64) * src_max + b.source)
    chi = np.full(len(pu), np.inf)
    clash = np.zeros(len(pu), bool)
    dof = np.zeros(len(pu), np.int64)
    inside = np.zeros(len(pu), bool)
    alt = np.full(len(pu), np.inf)
    sharp = np.zeros(len(pu), bool)
    tsd = np.zeros(len(pu))
    wsd = np.where(np.isfinite(b.wind_sd), b.wind_sd, p.wind_sd_ms)
    wsd = np.where(b.wind_known & ~np.isfinite(b.wind_sd), 0.5, wsd)
    for m in np.unique(n_u[pu]):
        sel = np.flatnonzero(n_u[pu] == m)
        idx = order[st[pu[sel]][:, None] + np.arange(m)[None, :]]  # (N, m) rows
        sd = np.zeros(len(sel))
        chi[sel], alt[sel], dof[sel], inside[sel], sharp[sel], clash[sel] = part_tests(
            b, idx, pg[sel], x, y, cov, lo, hi, timed, wsd, have, p, sd)
        tsd[sel] = sd
    tested = dof >= 1
    in_window = np.isfinite(chi)  # the implied emission time lies in the part's window
    chi[~tested] = np.inf
    alt[~tested] = np.inf
    gate = chi2_dist.ppf(p.level, np.maximum(dof, 1))
    loose = chi2_dist.ppf(p.clear_level, np.maximum(dof, 1))
    part_of = np.arange(G) if same is None else same
    evg = _events(partner, part_of)
    event = evg[pg]
    # a part alone in its event and untimed: the event's other sound, unlocated, may be what
    # the array heard (on the line from the array through the part, or anywhere the other
    # sound could be that gives the same differences), and nothing here tests it
    lone = (partner[pg] < 0) & ~timed[pg]
    to_pair = linked & (partner[pg] >= 0)  # :mod:`.heard_linked`: its window a clock wider
    fit = np.where(to_pair & (sig[pg] <= p.linked_slack_sd_m), alt, chi)
    passes = (fit <= gate) & ~clash & (one_array[pu] | sharp | to_pair) & ~(lone & p.lone_apart)
    passes &= ~to_pair | (n_u[pu] > 1) | (sig[pg] <= p.linked_one_sd_m)
    # ``untested`` (:func:`join_untested`, at the end): such a part's event still takes the
    # arrivals (they are one of its two sounds), and so does a part no arrival timed from one
    # arrival, which tests nothing but its window, where that part's event is the only one
    # within hearing and a clock's error of the window (``n_loose`` below)
    with_lone = (chi <= gate) & ~clash & (one_array[pu] | sharp) & lone & p.lone_event
    single = (n_u[pu] == 1) & ~tested & in_window & ~clash & p.single_window
    # at the end (:func:`join_untested`), the joins the test places as it would have here,
    # to parts linked or timed since; not to another vague group (one of two crossings)
    late = passes & p.late & ~vague[pg]
    if untested:
        passes |= with_lone | single
    # a part the arrivals cannot test (one arrival, a part not timed) is an alternative,
    # unless a timed part the arrival fits is ``single_lr`` times likelier: the emission
    # time it implies there, against one uniform over the untimed part's window
    untestable = ~tested & inside
    outweighed = np.zeros(len(ul), bool)
    if p.single_lr > 0 and untestable.any():
        top = np.zeros(len(ul))
        t1 = passes & tested & (n_u[pu] == 1)
        var = ((hi[pg] - lo[pg]) / 6.0) ** 2 + tsd**2
        dens = np.where(t1, np.exp(-0.5 * np.where(t1, chi, 0.0))
                        / np.sqrt(2.0 * np.pi * np.maximum(var, 1e-12)), 0.0)
        np.maximum.at(top, pu, dens)
        likelier = untestable & (top[pu] * np.maximum(hi[pg] - lo[pg], 1e-3) >= p.single_lr)
        outweighed[pu[likelier]] = True
        untestable &= ~likelier
    near_fit = (alt <= loose) | untestable
    # per vague group: the events within the gate, and those within the loose gate
    key_p = np.unique(pu[passes] * (G + 1) + event[passes])
    key_l = np.unique(pu[near_fit] * (G + 1) + event[near_fit])
    n_pass = np.bincount(key_p // (G + 1), minlength=len(ul))
    n_loose = np.bincount(key_l // (G + 1), minlength=len(ul))
    one = (n_pass == 1) & (n_loose == 1)
    cand_pairs = np.flatnonzero(passes & one[pu])
    if not len(cand_pairs):
        return none
    # within the event: the best part, clear when the other part is out or much worse
    srt = cand_pairs[np.lexsort((chi[cand_pairs], pu[cand_pairs]))]
    first = np.r_[True, pu[srt][1:] != pu[srt][:-1]]
    best = srt[first]
    bg = np.full(len(ul), -1, np.int64)
    bg[pu[best]] = pg[best]
    other = np.full(len(ul), np.inf)
    # the other part: the shot's other sound, not the same part's second fix
    b0 = np.maximum(bg[pu], 0)
    o = np.flatnonzero(one[pu] & (bg[pu] >= 0) & (part_of[pg] != part_of[b0])
                       & (event == evg[b0]))
    np.minimum.at(other, pu[o], chi[o])
    # refit where the part is clearly the sound's, sharp test or not: a loose fix is where
    # the arrivals add most (a sharp test left 39 of 203 such parts of baseline seed 1 as
    # they were, and the impacts' error / CRLB at 1.27; docs/fusion.md)
    clear = other[pu[best]] >= chi[best] + p.part_margin
    # an arrival joined over a part it could not test may still be that part's: no refit
    clear &= ~outweighed[pu[best]]
    # two vague groups of one sensor may not join one part (two shells of a salvo)
    jb = np.repeat(np.arange(len(best)), n_u[pu[best]])
    ub = pu[best]
    at = st[ub].repeat(n_u[ub]) + np.arange(int(n_u[ub].sum())) \
        - np.repeat(np.cumsum(n_u[ub]) - n_u[ub], n_u[ub])
    flat = pg[best][jb] * src_max + b.source[order[at]]
    _, inv, cnt = np.unique(flat, return_inverse=True, return_counts=True)
    keep = np.bincount(jb, cnt[inv] > 1, minlength=len(best)) == 0
    if untested:
        keep &= with_lone[best] | single[best] | late[best]
    if linked:
        keep &= partner[pg[best]] >= 0
    return (ul[pu[best]][keep].astype(np.int64), pg[best][keep].astype(np.int64),
            clear[keep])


def _events(partner: I64, part_of: I64) -> I64:
    """Each group's event: the groups joined by a link to the shot's other part or as one
    part fixed twice (``part_of``), as one component."""
    G = len(partner)
    k = np.arange(G)
    if (part_of == k).all():
        return np.where(partner >= 0, np.minimum(k, partner), k)
    to = np.concatenate([np.where(partner >= 0, partner, k), part_of])
    graph = coo_matrix((np.ones(2 * G), (np.concatenate([k, k]), to)), shape=(G, G))
    return connected_components(graph, directed=False)[1].astype(np.int64)


def join_untested(b: FireBatch, labels: I64, fixes: Fixes, role: NDArray[np.int8],
                  partner: I64, lo: F64, hi: F64, u: I64, g: I64, p: HeardParams
                  ) -> tuple[I64, I64]:
    """``(u, g)`` (groups joined into parts at the end of the pipeline) with each vague
    arrival group that no test can place within its event joined to the one event it can
    be of (``untested`` joins of :func:`join_heard`): an array's arrivals that fit only a part
    alone in its event and untimed, and one arrival whose only event within hearing and a
    clock's error of its window is a part no arrival timed; and (``late``) the groups the
    ordinary test places within one event only now, its part linked or timed since
    :func:`join_heard` ran (a bang typed as the only launch of a burst). Nothing says which
    sound of the event they heard, so at the end, beside :mod:`.same_shot`'s and
    :mod:`.heard_other`'s joins: no fix, ellipse, time or probability reads them (joined
    before, their rows moved the stated ellipses of the fixes they did not enter, and with
    them the attributions)."""
    G = len(role)
    if not p.enabled or not (p.lone_event or p.single_window or p.late) or not G:
        return u, g
    _, _, vague = bare_arrivals(b, labels, role, partner, fixes.located)
    vague[u] = False
    vague[g] = False
    if not vague.any() or not fixes.located.any():
        return u, g
    timed = fixes.located & (fixes.method & M_ARRIVAL > 0)
    located = fixes.located.copy()
    located[u] = False  # a group joined elsewhere is no part
    ju, jg, _ = join_heard(b, labels, fixes.x, fixes.y, fixes.cov, located, lo, hi, partner,
                           vague, timed, p, untested=True)
    return np.concatenate([u, ju]), np.concatenate([g, jg])


def joined_cov(b: FireBatch, labels: I64, fx: Fixes, joined: NDArray[np.bool_],
               p: LocateParams, sd_s: float) -> F64:
    """What the joined arrivals add to each refitted group's (x, y) covariance (G, 2, 2).

    The refit weighs every arrival by ``p.arrival_sd_s`` (10 ms of jitter), but the join
    accepted these arrivals under ``sd_s`` (``HeardParams.arrival_sd_s``, 20 ms: an array up
    to 25 km off, its own air along the path): weighted as if four times more precise than
    they were tested to be, they shrank the ellipse (baseline, seed 1: 0.89 of refitted
    origins covered). The fix keeps its weights; its covariance is the sandwich ``A^-1 (A +
    k sum_joined J J^T) A^-1`` with ``k = (sd_s / arrival_sd_s)^2 - 1`` over the inlying joined
    rows, ``t0`` marginalised."""
    G = len(fx.x)
    out = np.zeros((G, 2, 2))
    k = (sd_s / p.arrival_sd_s) ** 2 - 1.0
    if k <= 0 or not joined.any() or not G:
        return out
    rw, _ = measurement_rows(b, labels)
    r, J = residuals(rw, p, fx.x, fx.y, fx.t0, for_cov=True)
    use = np.abs(r) <= p.outlier_sigma
    extra = use & (rw.typ == lk.ARR) & joined[rw.obs]
    A, _ = normal_equations(r, J, use.astype(float), rw.g, G)
    M, _ = normal_equations(r, J, extra * k, rw.g, G)
    g = np.flatnonzero((np.bincount(rw.g, extra, minlength=G) > 0) & fx.located
                       & (np.linalg.cond(A) < _COND_MAX))
    if len(g):
        Ai = np.linalg.inv(A[g])
        add = (Ai @ M[g] @ Ai)[:, :2, :2]
        # roundoff can leave a sandwich of a nearly singular system indefinite: such a
        # fix's own covariance already says it is unbounded; add nothing rather than that
        ok = (add[:, 0, 0] >= 0) & (add[:, 1, 1] >= 0) & (np.linalg.det(add) >= -1e-9 * (
            add[:, 0, 0] * add[:, 1, 1])) & np.isfinite(add).all(axis=(1, 2))
        out[g[ok]] = add[ok]
    return out


#: Normal equations worse conditioned than this are not inverted for the joined arrivals'
#: term (their inverse is roundoff: a fix of arrivals nearly on one line).
_COND_MAX = 1e10
