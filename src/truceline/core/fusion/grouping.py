"""Grouping: link the reports that describe one real event, so that it counts once.

The columns (:class:`FireBatch`) and candidates are in :mod:`.batch`, the units in
:mod:`.graph`, the gates, the sweep and the small splits in :mod:`.kernels`, the large splits
in :mod:`.split`; this module composes them.
Every report becomes a *candidate*: a 2-D Gaussian where the event probably is (the reported
location, the middle of a bearing's distance band, or the sensor itself for a bare acoustic
arrival) and an interval of possible emission times (report time widened by its precision,
the source kind's clock error and reporting lag; an arrival time widened back by the longest
sound travel time). Then:

1. **candidate pairs** — every pair within ``pair_radius`` of each other in a normalised
   space-time (``x / L, y / L, t / T``) whose windows overlap, found by a sweep in time order
   (:func:`.kernels.sweep`); a dense burst instead takes each unit's ``k`` nearest
   neighbours, so memory is ``n * k`` whatever the burst;
2. **gates** on each candidate pair — compatible roles (origin and impact reports of one shot
   are different places, so never linked), overlapping time windows, the Mahalanobis distance
   with *both* covariances below a chi-square gate, for two arrival times the TDOA limit
   ``|a_i - a_j| <= |s_i - s_j| / c``, and the cannot-link rule: one source never reports the
   same event twice, so two reports of one source in one window are two events;
3. **connected components** of the gated graph;
4. **split** of every component that is not a clique of the gate or holds one source twice,
   by complete linkage cut at the gate: every pair in a final group passes every gate, so a
   chain of nearby events cannot merge them.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from numba import njit
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from truceline.core.fusion import kernels, report_pairs
from truceline.core.fusion.batch import ROLE_ANY, Candidates, FireBatch, GroupingParams, candidates
from truceline.core.fusion.graph import (
    Dist,
    _take_units,
    _Units,
    _units_of_reports,
    candidate_edges,
    near_pairs,
    report_columns,
    split_queries,
)
from truceline.core.fusion.split import SMALL, split_large

if TYPE_CHECKING:
    from truceline.core.fusion.locate import Fixes, LocateParams

__all__ = ["group"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def _cluster(u: _Units, mode: int, p: GroupingParams, n_main: int | None = None,
             ahead: report_pairs.Ahead | None = None) -> tuple[I64, I64, I64]:
    """Labels (0..) of the first ``n_main`` units (all by default): every gated pair
    (:func:`.kernels.sweep`), connected components, and the complete-linkage split of every
    component that is not a clique of the gate (:func:`.kernels.split_small`,
    :func:`.split.split_large`). The units after ``n_main`` are queries: the same sweep
    returns the main units each one passes the gates with, as ``(query, unit)`` pairs.

    A dense burst (more gates than the sweep's budget) takes a bounded path: each unit's
    ``k_neighbours`` nearest in the normalised space-time are gated, so memory stays ``n * k``.
    ``ahead``: the first units' (the reports') pairs among themselves, swept meanwhile
    (:mod:`.report_pairs`): the same pairs.
    """
    m = len(u)
    nm = m if n_main is None else n_main
    none = np.zeros(0, np.int64)
    if m == 0:
        return none, none, none
    F, role = u.F, u.role
    slack = p.tdoa_slack_s if mode == 1 else p.arrival_slack_s
    # the gate's per-mode bound: one array's extent for bare arrivals, the chi-square otherwise
    bound = p.sub_array_m if mode == 1 else p.gate_chi2
    radius = p.pair_radius
    if mode == 1:  # sensors of one array: within its span
        reach2 = np.full(m, p.array_span_m**2 / 2.0)
        scale_s = _arrival_scale_s(p)
        radius = p.search_radius
    else:  # the gate's Mahalanobis bound, by each covariance's largest axis
        R = 0 if ahead is None else ahead.R  # the reports' reach is the thread's
        with kernels.PARALLEL:
            reach2 = kernels.reach2(F[R:], p.gate_chi2)
        scale_s = p.link_scale_s
    query = np.arange(m) >= nm
    chunks = max(1, min(kernels.threads(), m // 1_000 + 1))
    caps = np.full(chunks, (4 * m + 1_000) // chunks, np.int64)
    joined = None
    if ahead is not None:  # the pairs, queries parted, and the components
        joined = report_pairs.finish(ahead, F, role, u.tail(ahead.R), nm, reach2, bound, slack,
                                     p.array_span_m, p.link_scale_m, scale_s, radius,
                                     64 * m + 1_000_000)
        ok = joined is not None
    else:
        order = np.argsort(F[:, kernels.F_TLO], kind="stable")
        src = u.sources
        while True:
            with kernels.PARALLEL:
                i, j, d, counts, ok = kernels.sweep(
                    F, role, src, query, mode, bound, slack, p.array_span_m, reach2,
                    p.link_scale_m, scale_s, radius, 64 * m + 1_000_000, caps, order)
            if not ok or (counts <= caps).all():
                break
            caps = counts  # room for exactly what each chunk found

    def dist(a: I64, b: I64) -> F64:
        return np.asarray(kernels.gate_pairs(F, role, u.sources, np.asarray(a, np.int64),
                                             np.asarray(b, np.int64), mode, bound,
                                             slack, p.array_span_m))

    if joined is not None:
        i, j, d, qi, qj, ncomp, comp = joined
    else:
        if ahead is not None:  # the reports' rows are read below
            ahead.rows(F)
        if ok:
            qi, qj = none, none
            if nm < m:  # i < j: a query pair has its query second
                i, j, d, qi, qj = split_queries(i, j, d, nm)
        else:
            z = np.column_stack([u.mx / p.link_scale_m, u.my / p.link_scale_m,
                                 (u.t_lo + u.t_hi) / 2.0 / scale_s])
            i, j, d = candidate_edges(z[:nm], dist, p.k_neighbours, p.pair_radius,
                                      p.search_radius)
            qi, qj = _query_knn(z, nm, dist, p)
        ncomp, comp = kernels.components(nm, i, j)
    with kernels.PARALLEL:
        sub, left = kernels.split_small(F, role, u.src if ok else u.sources, mode, bound,
                                        slack, p.array_span_m, comp, ncomp, i, j, d, ok, SMALL,
                                        kernels.threads())
    if left.any():
        if ahead is not None and joined is not None:  # the reports' rows are read here
            ahead.rows(F)
        tm = (u.t_lo + u.t_hi) / 2.0
        order = np.argsort(comp, kind="stable")
        starts = _bounds(comp, ncomp)
        for c in np.flatnonzero(left):
            members = order[starts[c]:starts[c + 1]]
            sub[members] = split_large(dist, p, tm, members)
    return kernels.dense_labels(comp, sub, ncomp), qi, qj


def _arrival_scale_s(p: GroupingParams) -> float:
    """Mode 1's time scale of the normalised space-time: the time sound takes for
    ``link_scale_m``."""
    return p.link_scale_m / 340.0


def _query_knn(z: F64, nm: int, dist: Dist, p: GroupingParams) -> tuple[I64, I64]:
    """The query units' gated pairs among their ``k_neighbours`` nearest main units (the
    bounded path of a dense burst)."""
    nq = len(z) - nm
    if nq == 0 or nm == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    k = min(p.k_neighbours, nm)
    _, nb = cKDTree(z[:nm]).query(z[nm:], k=k, distance_upper_bound=p.search_radius,
                                  workers=-1)
    nb = np.asarray(nb, np.int64).reshape(nq, k)
    qi = np.repeat(np.arange(nq), k)
    qj = nb.ravel()
    ok = qj < nm
    qi, qj = qi[ok], qj[ok]
    ok = dist(nm + qi, qj) <= 1.0
    return qi[ok], qj[ok]


def arrival_fit_params(p: GroupingParams) -> LocateParams:
    """How an array's arrival group is fitted, by the split and by the arrival units alike
    (the units keep the split's fits, which holds only while both fit the same way); linking
    needs the fix to metres, not millimetres."""
    from truceline.core.fusion.locate import LocateParams  # locate imports grouping

    return LocateParams(max_semi_major_m=p.max_arrival_fix_m, converged_m=0.5, converged_s=5e-4,
                        two_roots=False, compiled_air=True)

def _arrival_units(b: FireBatch, cd: Candidates, p: GroupingParams, rows: I64
                   ) -> tuple[I64, _Units, NDArray[np.bool_]]:
    """Bare arrival times grouped by the TDOA limit and located by multilateration.

    Returns the arrival group of each row, the groups as units (a Gaussian from the fix and
    an emission-time window from its range uncertainty), and whether each group is *fixed*
    (three or more arrivals and a regular fix). The others are vague: they join an event
    later only where exactly one fits, so a vague report never chains two events together.
    """
    from truceline.core.fusion.locate import locate  # locate imports grouping

    m = len(rows)
    # the arrival rows' columns gathered once (the splits and fixes below take theirs from
    # these): the rows are spread over the batch, so a gather misses the cache on nearly each
    ab, acd = b.take(rows, numbers_only=True), cd.take(rows)
    ox, oy, arr, c, source = ab.ox, ab.oy, ab.arr, ab.c, ab.source
    # the sweep's time windows: an arrival and every later one within the widest TDOA limit
    # (arrivals further apart than the sweep's radius in time are never paired anyway)
    wmax = min(1.03 * p.array_span_m / float(c.min()) + p.tdoa_slack_s,
               p.search_radius * _arrival_scale_s(p)) if m else 0.0
    zero = np.zeros(m)
    au = _Units.of(ox, oy, zero, zero, zero, arr, arr + wmax, np.full(m, ROLE_ANY, np.int8),
                   source[:, None], arr, ox, oy, c)
    lab, fitted = (_split_mixed(ab, acd, p, _cluster(au, 1, p)[0]) if m
                   else (np.zeros(0, np.int64), None))
    G = int(lab.max()) + 1 if m else 0
    size = np.bincount(lab, minlength=G)
    cx = np.bincount(lab, ox, minlength=G) / np.maximum(size, 1)
    cy = np.bincount(lab, oy, minlength=G) / np.maximum(size, 1)
    # only groups of three or more arrivals can be fixed: the others are not located at all;
    # those the split fitted and left whole keep that fit (the same rows, the same numbers)
    todo = size >= 3
    fx_x, fx_y, fx_t0 = cx.copy(), cy.copy(), np.zeros(G)
    fixed = np.zeros(G, bool)
    fcov = np.zeros((G, 2, 2))
    if fitted is not None:
        at, k, fk = fitted
        todo[at] = False
        fx_x[at], fx_y[at], fx_t0[at] = fk.x[k], fk.y[k], fk.t0[k]
        fixed[at], fcov[at] = fk.located[k], fk.cov[k]
    keep = np.flatnonzero(todo[lab])
    fx = locate(ab.take(keep, numbers_only=True), (np.cumsum(todo) - 1)[lab[keep]],
                acd.take(keep), arrival_fit_params(p))
    fx_x[todo], fx_y[todo], fx_t0[todo] = fx.x, fx.y, fx.t0
    fixed[todo], fcov[todo] = fx.located, fx.cov
    cov = np.zeros((G, 2, 2))
    cov[fixed] = fcov[fixed] * p.arrival_fix_inflation
    # A small array ranges badly and non-linearly (the likelihood is a banana, not an
    # ellipse): along the line of sight from the array, allow at least ``arrival_range_frac``
    # of the range, across it the fix's own spread.
    rx, ry = fx_x - cx, fx_y - cy
    rng = np.maximum(np.hypot(rx, ry), 1.0)
    ux, uy = rx / rng, ry / rng
    along = ux * ux * cov[:, 0, 0] + 2 * ux * uy * cov[:, 0, 1] + uy * uy * cov[:, 1, 1]
    extra = np.maximum((p.arrival_range_frac * rng) ** 2 - along, 0.0)
    cov[:, 0, 0] += extra * ux * ux + p.arrival_fix_floor_m ** 2
    cov[:, 0, 1] += extra * ux * uy
    cov[:, 1, 0] += extra * ux * uy
    cov[:, 1, 1] += extra * uy * uy + p.arrival_fix_floor_m ** 2
    a, bb, cc = cov[:, 0, 0], cov[:, 0, 1], cov[:, 1, 1]
    lmax = (a + cc) / 2.0 + np.sqrt(((a - cc) / 2.0) ** 2 + bb**2)  # the larger eigenvalue
    cm = np.bincount(lab, c, minlength=G) / np.maximum(size, 1)
    half = 4.0 * np.sqrt(lmax) / cm + 1.0
    W = int(size.max()) if G else 1
    order = np.argsort(lab, kind="stable")
    pos = np.arange(m) - _bounds(lab, G)[lab[order]]
    src = np.full((G, max(W, 1)), -1, np.int64)
    src[lab[order], pos] = source[order]
    nan = np.full(G, np.nan)
    units = _Units.of(fx_x, fx_y, cov[:, 0, 0], cov[:, 0, 1], cov[:, 1, 1], fx_t0 - half,
                      fx_t0 + half, np.full(G, ROLE_ANY, np.int8), src, nan, nan, nan, cm)
    return lab, units, fixed


def group(b: FireBatch, params: GroupingParams | None = None, ahead: bool | None = None
          ) -> I64:
    """Group label per report (0..G-1, in order of each group's first row).

    Reports without any position (no location, no observer) are groups of their own.
    ``ahead``: whether the reports' pairs are swept in a thread while the arrivals are
    grouped (:mod:`.report_pairs`; by default with two threads or more and
    :data:`~.report_pairs.MIN_REPORTS` reports): the same labels either way.
    """
    p = params or GroupingParams()
    n = len(b)
    if n == 0:
        return np.zeros(0, np.int64)
    cd = candidates(b, p)
    bare = cd.ok & np.isfinite(b.arr) & ~np.isfinite(b.brg) & ~np.isfinite(b.ex)
    arows = np.flatnonzero(bare)
    rrows = np.flatnonzero(cd.ok & ~bare)
    ru = None
    if (kernels.threads() > 1 and len(rrows) >= report_pairs.MIN_REPORTS) if ahead is None \
            else ahead:
        # the arrival units go after the reports; the thread fills the reports' rows
        ru = _units_of_reports(b, cd, rrows, room=len(arows), fill=False)
        # a budget no smaller than the one sweep's (its units are the reports and at most
        # one per arrival): the sweep is judged against its own in :func:`_cluster`
        early = report_pairs.start(rrows, report_columns(b, cd), ru.F, ru.role, ru.src,
                                   p.gate_chi2, p.arrival_slack_s, p.array_span_m,
                                   p.link_scale_m, p.link_scale_s, p.pair_radius,
                                   64 * (len(rrows) + len(arows)) + 1_000_000)
    else:
        early = None
    try:  # until the sweep's pairs are taken (:func:`_cluster` joins it)
        with report_pairs.one_thread_less(early):
            alab, aunits, fixed = _arrival_units(b, cd, p, arows)
        fx_ids = np.flatnonzero(fixed)
        U = len(rrows) + len(fx_ids)  # the units: reports, then the fixed arrival groups
        # vague arrival groups join the one group they fit, if exactly one: they are queries
        # of the same sweep, as the sensors' area (where the event could have been heard)
        vague = np.flatnonzero(~fixed)
        vu = _take_units(aunits, vague)
        if len(vague):
            first = np.full(len(fixed), -1, np.int64)
            first[alab[::-1]] = arows[::-1]
            fr = first[vague]
            srt = arows[np.argsort(alab, kind="stable")]  # each arrival group's rows
            st = _bounds(alab, len(fixed))
            vu = _Units.of(cd.mx[fr], cd.my[fr], cd.sxx[fr], cd.sxy[fr], cd.syy[fr],
                           np.minimum.reduceat(b.t_lo[srt], st[:-1])[vague],
                           np.maximum.reduceat(b.t_hi[srt], st[:-1])[vague],
                           vu.role, vu.src, vu.arr, vu.ox, vu.oy, vu.c)
        fixed_units = _take_units(aunits, fx_ids)
        both = _units_of_reports(b, cd, rrows, fixed_units, vu, reports=ru)
        ulab, qi, qj = _cluster(both, 0, p, n_main=U, ahead=early)
    except BaseException:
        if early is not None:  # no sweep left running behind an error
            early.thread.join()
        raise
    label = np.full(n, -1, np.int64)
    label[rrows] = ulab[:len(rrows)]
    a_label = np.full(len(fixed), -1, np.int64)
    a_label[fx_ids] = ulab[len(rrows):]
    if len(vague) and U:
        qj = ulab[qj]
        pair = _distinct(qi.astype(np.int64) * (U + 1) + qj)
        qi, qj = pair // (U + 1), pair % (U + 1)
        # a group holding an array's fix takes only arrivals of that fix's sound
        same = _same_sound(b, arows, alab, srt, st, vague, fx_ids, fixed_units,
                           ulab[len(rrows):], qi, qj, p)
        qi, qj = qi[same], qj[same]
        # the group must not already hold one of the vague group's sources
        n_fit = np.bincount(qi, minlength=len(vu))
        one = n_fit[qi] == 1
        qi, qj = qi[one], qj[one]
        if len(qi):
            gsrc = np.full(n, -1, np.int64)
            gsrc[rrows] = ulab[:len(rrows)]
            in_fixed = fixed[alab]
            gsrc[arows[in_fixed]] = a_label[alab[in_fixed]]
            # the sources of the groups some vague group fits (only those are looked up)
            fits = np.zeros(int(ulab.max()) + 1, bool)
            fits[qj] = True
            sel = np.flatnonzero(gsrc >= 0)
            sel = sel[fits[gsrc[sel]]]
            have = np.sort(gsrc[sel] * (int(b.source.max()) + 1) + b.source[sel])
            keys = qj[:, None] * (int(b.source.max()) + 1) + vu.src[qi]
            at = np.minimum(np.searchsorted(have, keys), len(have) - 1)
            valid = vu.src[qi] >= 0
            clash = ((have[at] == keys) & valid).any(axis=1)
            # two vague groups of one sensor may not join one group either (two shells of a
            # salvo heard by one sensor): such joins are ambiguous, so neither is made
            flat = keys[valid]
            uniq, cnt = np.unique(flat, return_counts=True)
            twice = np.zeros(keys.shape, bool)
            twice[valid] = cnt[np.searchsorted(uniq, flat)] > 1
            clash |= twice.any(axis=1)
            a_label[vague[qi[~clash]]] = qj[~clash]
    mine = a_label[alab] if len(arows) else np.zeros(0, np.int64)
    label[arows] = mine
    # arrival groups left alone: a group each
    lone_a = np.flatnonzero(a_label < 0)
    nxt = int(ulab.max()) + 1 if U else 0
    if len(lone_a):
        remap = np.full(len(fixed), -1, np.int64)
        remap[lone_a] = nxt + np.arange(len(lone_a))
        hit = remap[alab] >= 0
        label[arows[hit]] = remap[alab[hit]]
        nxt += len(lone_a)
    lone = np.flatnonzero(label < 0)
    label[lone] = nxt + np.arange(len(lone))
    # renumber in order of first appearance, so labels do not depend on the index internals
    return kernels.first_seen(label)


def _split_mixed(b: FireBatch, cd: Candidates, p: GroupingParams, lab: I64
                 ) -> tuple[I64, tuple[I64, I64, Fixes] | None]:
    """Arrival groups (``lab``, one per report of ``b``: the arrival rows alone) that span two
    or more arrays (sensors within ``sub_array_m`` of each other) and whose joint fit fails or
    rejects an arrival, split into their arrays (where no array holds three arrivals, only on
    a misfit beyond ``mixed_sound_sigma``).

    The TDOA limit between two arrays 14 km apart is 40 s: the launch at one and the burst
    at the other pass it, and complete linkage cannot tell them apart. Their joint fit then
    places nothing (or rejects a sound and is widened), and the launch is lost; each array
    alone gives its own sound's fix or, with too few arrivals, a vague group that joins only
    what it fits. A group whose arrays heard one sound fits, and keeps the long baseline.

    Where a sensor of the group gave no wind, the fit assumes calm air and a true sound's
    arrivals miss it by up to ``wind_frac`` of their travel time (a wind up to ~7 m/s), tens
    of the jitter's sds: such a group is mixed only where an arrival misses by more than
    that plus ``tdoa_slack_s``, or misses its own array's other arrivals so (their paths
    share the wind's direction, so the wind barely moves their differences). Until
    2026-12-04 such groups were never tested, and under the simulated weeks' unreported wind
    each array's launch stayed with the other array's burst.

    Returns the labels, and the fits of the groups it tested and left whole: their new
    labels, their places in the fits, the fits (``None`` where it tested none). A group's
    fit rests on its rows alone, so :func:`_arrival_units` takes these instead of fitting
    the same rows again.
    """
    from truceline.core.fusion import locate_kernels as lk
    from truceline.core.fusion.locate import locate, measurement_rows  # locate imports grouping

    G = int(lab.max()) + 1
    # groups of four or more arrivals; where a wind is unknown, a joint fit's misfit at this
    # stage is the wind's as much as another sound's, up to ``wind_frac`` of the travel time
    windless = np.bincount(lab, ~b.wind_known, minlength=G) > 0
    cand = np.flatnonzero(np.bincount(lab, minlength=G)[lab] >= 4)
    # one array for sure where every sensor is within half the distance of the centre
    ox, oy = b.ox[cand], b.oy[cand]
    size = np.maximum(np.bincount(lab[cand], minlength=G), 1)
    mx = np.bincount(lab[cand], ox, minlength=G) / size
    my = np.bincount(lab[cand], oy, minlength=G) / size
    far = _max_at(np.zeros(G), lab[cand], np.hypot(ox - mx[lab[cand]], oy - my[lab[cand]]))
    cand = cand[far[lab[cand]] > p.sub_array_m / 2]
    if not len(cand):
        return lab, None
    # the sensors within ``sub_array_m`` of each other, pairs only within a group (one sensor
    # hears many events, so pairs across groups would grow with the square of them)
    n = len(cand)
    ncomp, comp = kernels.components(n, *near_pairs(lab[cand], b.ox[cand], b.oy[cand],
                                                     p.sub_array_m))
    # the arrays of each group: a near-pairs component lies within one group
    group_of = np.zeros(ncomp, np.int64)
    group_of[comp] = lab[cand]
    parts = np.bincount(group_of, minlength=G)
    sel = cand[parts[lab[cand]] >= 2]
    if not len(sel):
        return lab, None
    g = _rank(lab[sel], G)
    lp = arrival_fit_params(p)
    sb = b.take(sel, numbers_only=True)
    measured = measurement_rows(sb, g)
    fx = locate(sb, g, cd.take(sel), lp, measured)
    rw, r = measured[0], fx.residual
    K = len(fx.located)
    worst = _max_at(np.zeros(K), rw.g, np.abs(r))
    # the unknown wind's share (s): a wind up to ~7 m/s moves an arrival by ``wind_frac`` of
    # its travel time, hundreds of the jitter's sds; another sound misses by seconds
    arr_rows = rw.typ == lk.ARR
    travel = np.hypot(fx.x[rw.g] - rw.ox, fx.y[rw.g] - rw.oy) / rw.c
    excess = _max_at(np.zeros(K), rw.g[arr_rows], (np.abs(r[arr_rows]) * lp.arrival_sd_s
                     - p.wind_frac * np.nan_to_num(travel[arr_rows], nan=np.inf)))
    comp_of = np.full(len(lab), -1, np.int64)
    comp_of[cand] = comp
    # within one array the wind barely moves the differences (its paths share a direction):
    # each arrival's residual against its array's mean, less the wind's share of its travel
    # time's difference from the array's mean
    ka = np.flatnonzero(arr_rows)
    # each array of each group: a near-pairs component lies within one group, so it is the key
    key = comp_of[sel[rw.obs[ka]]]
    na = np.maximum(np.bincount(key), 1)
    e, tv = r[ka] * lp.arrival_sd_s, np.nan_to_num(travel[ka], nan=1e9)
    de = np.abs(e - (np.bincount(key, e) / na)[key]) \
        - p.wind_frac * np.abs(tv - (np.bincount(key, tv) / na)[key])
    _max_at(excess, rw.g[ka], de)
    wl = windless[np.flatnonzero(np.bincount(lab[sel], minlength=G))]  # the K groups, in order
    gross = np.where(wl, excess > p.tdoa_slack_s, worst > p.mixed_sound_sigma)
    # where no array of the group holds three arrivals, its parts could not be located alone:
    # split, the sound is lost, so only a gross misfit splits it (and, the wind unknown, not
    # a fit that fails: the wind may be why)
    fixable = np.bincount(g, np.bincount(comp)[comp_of[sel]] >= 3, minlength=K) > 0
    mixed = (~fx.located & (fixable | ~wl)) | gross \
        | ((worst > lp.outlier_sigma) & fixable & ~wl)
    go = mixed[g]
    out = lab.copy()
    out[sel[go]] = G + comp_of[sel[go]]
    new = _rank(out, G + n)
    whole = np.flatnonzero(~mixed)
    first = np.empty(K, np.int64)
    first[g[::-1]] = sel[::-1]
    return new, (new[first[whole]], whole, fx)


def _expand(lo: I64, n: I64) -> tuple[I64, I64]:
    """``(owner, index)`` of every element of the ranges ``[lo[k], lo[k] + n[k])``."""
    owner = np.repeat(np.arange(len(n)), n)
    return owner, np.repeat(lo, n) + np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)


def _same_sound(b: FireBatch, arows: I64, alab: I64, srt: I64, st: I64, vague: I64,
                fx_ids: I64, fu: _Units, fgroup: I64, qi: I64, qj: I64, p: GroupingParams
                ) -> NDArray[np.bool_]:
    """Whether vague arrival group ``vague[qi]`` may join group ``qj``: yes where ``qj``
    holds no array's fix, else where every arrival of it comes when one of those fixes says
    its sound reaches that sensor (``srt``: the arrival rows by group, group ``g``'s from
    ``st[g]`` to ``st[g + 1]``: :func:`_bounds`).

    Without this, the burst heard by two sensors of a second array joined the launch an
    array had located (the only group its wide time window fitted), and the group's fit,
    mixing two sounds a minute apart, placed nothing: the launch was lost. The predicted
    arrival's error is the fix's position error along ``u_s - u_a`` (the directions from
    this sensor and from the fixing array to the fix: the fix's own arrivals pin its
    emission time to its range from that array).
    """
    ok = np.ones(len(qi), bool)
    if not len(qi) or not len(fgroup):
        return ok
    order = np.argsort(fgroup, kind="stable")
    fs = fgroup[order]
    lo = np.searchsorted(fs, qj)
    pk, at = _expand(lo, np.searchsorted(fs, qj, side="right") - lo)
    fk = order[at]  # (pair, fix) entries: the fixes in each candidate group
    GA = int(alab.max()) + 1
    size = np.maximum(np.bincount(alab, minlength=GA), 1)
    cx = np.bincount(alab, b.ox[arows], minlength=GA)[fx_ids] / size[fx_ids]
    cy = np.bincount(alab, b.oy[arows], minlength=GA)[fx_ids] / size[fx_ids]
    vg = vague[qi[pk]]
    ek, rk = _expand(st[vg], st[vg + 1] - st[vg])  # (entry, arrival row of the vague group)
    f, r = fk[ek], srt[rk]
    x, y = fu.mx[f], fu.my[f]
    dx, dy = x - b.ox[r], y - b.oy[r]
    d = np.maximum(np.hypot(dx, dy), 1.0)
    ax, ay = x - cx[f], y - cy[f]
    da = np.maximum(np.hypot(ax, ay), 1.0)
    gx, gy = dx / d - ax / da, dy / d - ay / da
    var = gx * gx * fu.sxx[f] + 2 * gx * gy * fu.sxy[f] + gy * gy * fu.syy[f]
    t0 = (fu.t_lo[f] + fu.t_hi[f]) / 2
    travel = d / b.c[r]
    tol = p.vague_fit_sigma * np.sqrt(np.maximum(var, 0.0)) / b.c[r] + p.tdoa_slack_s \
        + p.wind_frac * travel
    # where a sensor gave no wind, the fix's emission time is off by the unknown wind along
    # the fixing array's paths too (the wind is estimated from the grouped arrivals later)
    calm = np.bincount(alab, ~b.wind_known[arows], minlength=GA)[fx_ids] == 0
    tol = tol + np.where(calm[f] & b.wind_known[r], 0.0, p.wind_frac * da / b.c[r])
    fits = np.abs(b.arr[r] - t0 - travel) <= tol
    entry_ok = np.bincount(ek, ~fits, minlength=len(fk)) == 0
    ok[pk] = False
    ok[pk[entry_ok]] = True
    return ok


def _bounds(lab: I64, G: int) -> I64:
    """Where each label's rows start in ``lab`` sorted stably (labels 0..G-1), and the end:
    label ``g`` holds sorted rows ``[out[g], out[g + 1])``."""
    return np.concatenate([[0], np.cumsum(np.bincount(lab, minlength=G))]).astype(np.int64)


def _rank(x: I64, size: int) -> I64:
    """Each of ``x`` (integers in ``[0, size)``) as its rank among the distinct values of
    ``x``: ``np.unique(x, return_inverse=True)[1]``, by a count instead of a sort."""
    seen = np.zeros(size, bool)
    seen[x] = True
    return (np.cumsum(seen) - 1)[x]


def _distinct(x: I64) -> I64:
    """The sorted distinct values of the integers ``x``, as ``np.unique(x)`` gives them, by a
    sort: numpy 2's hashed ``unique`` took 10-20x longer on these keys (tens of thousands)."""
    s = np.sort(x)
    return s[np.concatenate([s[:1] == s[:1], s[1:] != s[:-1]])]


@njit(cache=True, error_model="numpy")
def _max_at(out: F64, at: I64, v: F64) -> F64:
    """``np.maximum.at(out, at, v)`` (NaN wins, as there) in one compiled pass, returning
    ``out``: numpy's ``ufunc.at`` took several times longer on the arrival rows."""
    for q in range(len(at)):
        k = at[q]
        if not (out[k] > v[q] or math.isnan(out[k])):  # numpy's rule: ties take ``v``
            out[k] = v[q]
    return out
