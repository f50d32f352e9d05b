"""The pairs made after the link: the timed and class-free pairings, and again after the joins.

:func:`.pipeline._finish` pairs, after :func:`.link.link_origin_impact`, the precisely timed
fixes left alone (:func:`pair_timed`) and the untyped fixes that are the only launch of a
burst monitors saw or the only burst of a launch (:func:`pair_bursts`). Both refuse a pair
another candidate could explain; the end joins (:mod:`.end_joins`) later give some groups
their other reports (a burst its arrivals, an arrival group its fix), and a rival of the
first pairing may be gone. :func:`pair_again` runs both once more on the joined groups.

It reads the fits' covariances, not the stated ones :func:`.pipeline._widen` set in between
(the first pairing ran before it): a burst's widened ellipse falls on no side, so the fix of
that same burst became the launch of the monitors' typed impact of it (six of the seven wrong
findings of pairing again on the widened ellipses, BENCHMARKS.md, session 39, h7a). A group
the joins left as it was reads its fit's covariance; a joined one (or a launch the joins
placed), the one it now states. The groups keep their stated ellipses, and a fix typed here
as a launch is attributed at it, as :func:`.pipeline._widen` attributes the first pairing's.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from truceline.core.classify import CompiledGeometry
from truceline.core.fusion.attribution import AttributionParams, attribute
from truceline.core.fusion.batch import ROLE_ANY, ROLE_IMPACT, ROLE_ORIGIN, FireBatch
from truceline.core.fusion.group_join import emission_windows
from truceline.core.fusion.launch_bursts import launches_of_bursts, pair_burst_to_launch
from truceline.core.fusion.link import LinkParams
from truceline.core.fusion.locate import M_ARRIVAL, Fixes
from truceline.core.fusion.timed_pairs import pair_by_arrival_order_near

__all__ = ["group_classes", "pair_again", "pair_bursts", "pair_timed"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def group_classes(b: FireBatch, labels: I64, G: int) -> NDArray[np.object_]:
    """The weapon class of each group: the most common one its reports name (None if none)."""
    wc = np.full(G, None, object)
    named = np.flatnonzero(b.weapon_class != None)  # noqa: E711
    if len(named):
        key = np.char.add(labels[named].astype(str), np.asarray(b.weapon_class[named], str))
        _, at, cnt = np.unique(key, return_index=True, return_counts=True)
        gl = labels[named][at]
        cl = b.weapon_class[named][at]
        order = np.lexsort((-cnt, gl))
        firsts = order[np.r_[True, gl[order][1:] != gl[order][:-1]]]
        wc[gl[firsts]] = cl[firsts]
    return wc


def _when(b: FireBatch, tg: F64) -> NDArray[np.datetime64]:
    return (b.epoch + np.round(tg * 1e6).astype("timedelta64[us]")).astype("datetime64[ns]")


def pair_timed(b: FireBatch, fixes: Fixes, role: NDArray[np.int8], prob: F64, partner: I64,
               tg: F64, geometry: CompiledGeometry, lp: LinkParams, ap: AttributionParams
               ) -> None:
    """Type and pair the precisely timed fixes left alone by the link, in place
    (:func:`~truceline.core.fusion.link.pair_by_arrival_order`, on space-time parts:
    :mod:`.timed_pairs`): the earlier of a pair becomes
    the origin, attributed like any other, the later its impact."""
    timed = fixes.located & (fixes.method & M_ARRIVAL > 0) & (partner < 0)
    w = np.flatnonzero(timed)
    if len(w) < 2:
        return
    pw = attribute(geometry, fixes.x[w], fixes.y[w], fixes.cov[w], _when(b, tg[w]), ap)
    side = np.where(pw.max(axis=1) >= lp.own_side_max, pw.argmax(axis=1), -1) \
        if pw.shape[1] else np.full(len(w), -1)
    sig = np.sqrt(np.nan_to_num(np.trace(fixes.cov[w], axis1=1, axis2=2)))
    t_sd = 0.5 + sig / 330.0  # the emission time follows the range: ~1 s per 330 m of doubt
    o, i = pair_by_arrival_order_near(
        fixes.x[w], fixes.y[w], fixes.cov[w], tg[w], t_sd, role[w] != ROLE_IMPACT,
        role[w] != ROLE_ORIGIN, side.astype(np.int64), lp)
    if not len(o):
        return
    go, gi = w[o], w[i]
    role[go], role[gi] = ROLE_ORIGIN, ROLE_IMPACT
    prob[go] = pw[o]
    partner[go], partner[gi] = gi, go


def pair_bursts(b: FireBatch, labels: I64, fixes: Fixes, role: NDArray[np.int8], prob: F64,
                partner: I64, tg: F64, geometry: CompiledGeometry, lp: LinkParams,
                ap: AttributionParams, max_rms: float = np.inf) -> None:
    """Type as launches, in place, the untyped fixes (sensors', or a monitor's
    "undetermined" on its ray) that are the only possible launch of a burst monitors saw
    (:func:`~truceline.core.fusion.launch_bursts.pair_launch_to_burst`), and, typed but not linked,
    those that are the only launch of each of two bursts or more
    (:func:`.launch_bursts.launches_of_bursts`); they keep their own ellipse and are
    attributed like any other origin. Then type as bursts the untyped fixes that are
    the only possible burst of a launch monitors saw (:mod:`.launch_bursts`). Untyped fixes
    whose fit's RMS exceeds ``max_rms`` are no launch (a mixed sound's: :func:`pair_again`)."""
    G = len(role)
    loc = fixes.located
    untyped = loc & (role == ROLE_ANY) & (partner < 0)
    burst = loc & (role == ROLE_IMPACT) & (partner < 0)
    launch = loc & (role == ROLE_ORIGIN) & (partner < 0) & lp.burst_of_launch
    if not untyped.any() or not prob.shape[1] or not (burst.any() or launch.any()):
        return  # nothing to pair: the sides below are not needed
    pw = prob.copy()  # the origins are attributed already; the other fixes' sides here
    w = np.flatnonzero(loc & (role != ROLE_ORIGIN))
    pw[w] = attribute(geometry, fixes.x[w], fixes.y[w], fixes.cov[w], _when(b, tg[w]), ap)
    side = np.where(pw.max(axis=1) >= lp.own_side_max, pw.argmax(axis=1), -1)
    lo, hi = emission_windows(b, labels, fixes, G)
    cls = group_classes(b, labels, G)
    if burst.any():
        o, i, sure = launches_of_bursts(
            fixes.x, fixes.y, fixes.cov, lo, hi, cls, side.astype(np.int64),
            untyped & ~(fixes.rms > max_rms), burst,  # inf: every untyped fix
            loc & (role != ROLE_IMPACT), lp)
        if not lp.launch_of_bursts:
            sure = sure[:0]
        role[o], role[sure] = ROLE_ORIGIN, ROLE_ORIGIN
        prob[o], prob[sure] = pw[o], pw[sure]
        partner[o], partner[i] = i, o
    free = loc & (partner < 0)
    if not lp.burst_of_launch or not (free & (role == ROLE_ORIGIN)).any():
        return
    o, i = pair_burst_to_launch(
        fixes.x, fixes.y, fixes.cov, lo, hi, cls, side.astype(np.int64),
        free & (role == ROLE_ORIGIN), free & (role == ROLE_ANY), free & (role != ROLE_IMPACT),
        free & (role != ROLE_ORIGIN), lp)
    role[i] = ROLE_IMPACT
    partner[o], partner[i] = i, o


def pair_again(b: FireBatch, old: I64, fit_cov: F64, fit_x: F64, labels: I64, fixes: Fixes,
               role: NDArray[np.int8], prob: F64, partner: I64, tg: F64,
               geometry: CompiledGeometry, lp: LinkParams, ap: AttributionParams,
               max_rms: float = np.inf) -> None:
    """:func:`pair_timed` and :func:`pair_bursts` (no launch of a fit's RMS over
    ``max_rms``) once more, in place, on the groups ``labels`` the end joins made of the
    groups ``old`` (per report), on the fits' covariances (module doc): ``fit_cov`` and
    ``fit_x`` per old group, before the ellipses were stated and any launch placed.
    ``fixes`` (stated) is left as it is; a new launch is attributed at it."""
    G, n_old = len(role), len(fit_cov)
    if not n_old or not len(old) or int(old.max()) >= n_old or len(fixes.x) != G:
        return
    # a group that is one old group's reports, at its fit's place, reads that fit's ellipse
    first = np.full(G, -1, np.int64)
    first[labels] = old
    mixed = np.bincount(labels, old != first[labels], minlength=G) > 0
    same = ~mixed & (np.bincount(labels, minlength=G) == np.bincount(old, minlength=n_old)[first])
    same &= fixes.x == fit_x[first]
    cov = fixes.cov.copy()
    cov[same] = fit_cov[first[same]]
    fit = replace(fixes, cov=cov)
    before, was = partner.copy(), role.copy()
    pair_timed(b, fit, role, prob, partner, tg, geometry, lp, ap)
    pair_bursts(b, labels, fit, role, prob, partner, tg, geometry, lp, ap, max_rms)
    o = np.flatnonzero(((partner != before) | (role != was)) & (role == ROLE_ORIGIN))
    if len(o) and prob.shape[1]:  # at the ellipse it states (the same where it is the fit's)
        prob[o] = attribute(geometry, fixes.x[o], fixes.y[o], fixes.cov[o], _when(b, tg[o]),
                            ap)
