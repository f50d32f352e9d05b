"""Grouping: link the reports that describe one real event, so that it counts once.

The columns (:class:`FireBatch`) and candidates are in :mod:`.batch`, the units in
:mod:`.graph`, the gates, the sweep and the small splits in :mod:`.kernels`, the large splits
in :mod:`.split`, the arrays' arrival groups' fit, split and test of one sound in
:mod:`.arrival_groups`, the lone reports whose gate reaches past the search in
:mod:`.far_reach`; this module composes them.
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

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from truceline.core.fusion import kernels, report_pairs
from truceline.core.fusion.arrival_groups import (
    FIT_COLUMNS,
    arrival_fit_params,
    same_sound,
    split_mixed,
)
from truceline.core.fusion.batch import (
    ROLE_ANY,
    FireBatch,
    GroupingParams,
    candidates,
    sensor_candidates,
)
from truceline.core.fusion.far_reach import join_far, reaches
from truceline.core.fusion.graph import (
    Dist,
    _take_units,
    _Units,
    _units_of_reports,
    candidate_edges,
    report_columns,
    split_queries,
)
from truceline.core.fusion.late_clock import join_late
from truceline.core.fusion.locate import locate
from truceline.core.fusion.split import SMALL, split_edges, split_large

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
    if left.any() and ok:  # every gated pair is an edge: cut each from its edges alone
        _split_by_edges(comp, ncomp, left, i, j, d, sub)
    elif left.any():
        if ahead is not None and joined is not None:  # the reports' rows are read here
            ahead.rows(F)
        tm = (u.t_lo + u.t_hi) / 2.0
        order = np.argsort(comp, kind="stable")
        starts = _bounds(comp, ncomp)
        for c in np.flatnonzero(left):
            members = order[starts[c]:starts[c + 1]]
            sub[members] = split_large(dist, p, tm, members)
    return kernels.dense_labels(comp, sub, ncomp), qi, qj


def _split_by_edges(comp: I64, ncomp: int, left: NDArray[np.bool_], i: I64, j: I64, d: F64,
                    sub: I64) -> None:
    """Cut the components ``left`` (too large for :func:`.kernels.split_small`) by
    complete linkage from their edges ``(i, j, d)`` (every gated pair), in place: each
    unit's ``sub`` its group's first unit's place in the component, as there."""
    order = np.argsort(comp, kind="stable")
    starts = _bounds(comp, ncomp)
    place = np.empty(len(comp), np.int64)
    place[order] = np.arange(len(comp)) - starts[comp[order]]
    mine = left[comp[i]]
    ei, ej, ed = i[mine], j[mine], d[mine]
    by = np.argsort(comp[ei], kind="stable")
    ei, ej, ed = ei[by], ej[by], ed[by]
    cuts = np.searchsorted(comp[ei], np.arange(ncomp + 1))
    for c in np.flatnonzero(left).tolist():
        members = order[starts[c]:starts[c + 1]]
        e = slice(cuts[c], cuts[c + 1])
        sub[members] = split_edges(len(members), place[ei[e]], place[ej[e]], ed[e])


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


def _arrival_units(b: FireBatch, p: GroupingParams, rows: I64
                   ) -> tuple[I64, _Units, NDArray[np.bool_]]:
    """Bare arrival times grouped by the TDOA limit and located by multilateration.

    Returns the arrival group of each row, the groups as units (a Gaussian from the fix and
    an emission-time window from its range uncertainty), and whether each group is *fixed*
    (three or more arrivals and a regular fix). The others are vague: they join an event
    later only where exactly one fits, so a vague report never chains two events together.
    """
    m = len(rows)
    # the arrival rows' columns gathered once, those the fits read (the splits and fixes
    # below take theirs from these): the rows are spread over the batch, so a gather misses
    # the cache on nearly each; their candidates are their sensors
    ab = b.take(rows, numbers_only=True, columns=FIT_COLUMNS)
    ox, oy, arr, c, source = ab.ox, ab.oy, ab.arr, ab.c, ab.source
    # the sweep's time windows: an arrival and every later one within the widest TDOA limit
    # (arrivals further apart than the sweep's radius in time are never paired anyway)
    wmax = min(1.03 * p.array_span_m / float(c.min()) + p.tdoa_slack_s,
               p.search_radius * _arrival_scale_s(p)) if m else 0.0
    zero = np.zeros(m)
    au = _Units.of(ox, oy, zero, zero, zero, arr, arr + wmax, np.full(m, ROLE_ANY, np.int8),
                   source[:, None], arr, ox, oy, c)
    lab, fitted = (split_mixed(ab, p, _cluster(au, 1, p)[0]) if m
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
    kb = ab.take(keep, numbers_only=True, columns=FIT_COLUMNS)
    fx = locate(kb, (np.cumsum(todo) - 1)[lab[keep]], sensor_candidates(kb, p),
                arrival_fit_params(p), fits_only=True)
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
            alab, aunits, fixed = _arrival_units(b, p, arows)
        fx_ids = np.flatnonzero(fixed)
        U = len(rrows) + len(fx_ids)  # the units: reports, then the fixed arrival groups
        # vague arrival groups join the one group they fit, if exactly one: they are queries
        # of the same sweep, as the sensors' area (where the event could have been heard)
        # an exactly determined fix (three arrivals for x, y and the time: no residual to
        # test it by) may be a wrong root kilometres off with a narrow covariance; where it
        # is left alone, it tries again as a vague group (:func:`_retry`): a query as well
        size = np.bincount(alab, minlength=len(fixed)) if len(arows) else np.zeros(0, np.int64)
        retry = np.flatnonzero(fixed & (size == 3))
        vague = np.concatenate([np.flatnonzero(~fixed), retry])
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
        # for the end, while the thread may still sweep (the thread's own computes them)
        far = reaches(b, cd, rrows, p) if early is None else None
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
        qi, qj = _retry(qi, qj, len(vague) - len(retry), retry, fx_ids, ulab, len(rrows))
        pair = _distinct(qi.astype(np.int64) * (U + 1) + qj)
        qi, qj = pair // (U + 1), pair % (U + 1)
        # a group holding an array's fix takes only arrivals of that fix's sound
        same = same_sound(b, arows, alab, srt, st, vague, fx_ids, fixed_units,
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
    # a report whose gate reaches past the search, left alone, joins the group it fits
    label = join_far(b, cd, label, rrows, p, far if early is None else early.result()["far"])
    # a report timed to the second, left alone: its clock may run late (:mod:`.late_clock`)
    label = join_late(b, cd, label, rrows, fixed_units, a_label[fx_ids], p)
    # renumber in order of first appearance, so labels do not depend on the index internals
    return kernels.first_seen(label)


def _retry(qi: I64, qj: I64, nv: int, retry: I64, fx_ids: I64, ulab: I64, R: int
           ) -> tuple[I64, I64]:
    """The vague queries' pairs ``(qi, qj)`` (``qj`` a group) less those of the retried
    fixes (queries ``nv`` on, the arrival groups ``retry``) whose fix joined a group of more
    than itself, or that name a group without reports (``ulab``: the units' groups, the
    first ``R`` the reports'). A retried fix that is alone joins another group only as a
    vague group does (the one group it fits; its own fix is not trusted), and only one that
    a report places: a group of arrivals alone (another array's lone fix: the burst of the
    launch it heard, say) gives the hearing test nothing to tell the two sounds apart by."""
    if not len(retry):
        return qi, qj
    G = int(ulab.max()) + 1
    own_r = ulab[R + np.searchsorted(fx_ids, retry)]  # every retried group is fixed
    alone = np.bincount(ulab, minlength=G)[own_r] == 1
    placed = np.bincount(ulab[:R], minlength=G) > 0
    r = qi >= nv
    at = np.maximum(qi - nv, 0)
    keep = ~r | ((qj != own_r[at]) & alone[at] & placed[qj])
    return qi[keep], qj[keep]


def _bounds(lab: I64, G: int) -> I64:
    """Where each label's rows start in ``lab`` sorted stably (labels 0..G-1), and the end:
    label ``g`` holds sorted rows ``[out[g], out[g + 1])``."""
    return np.concatenate([[0], np.cumsum(np.bincount(lab, minlength=G))]).astype(np.int64)


def _distinct(x: I64) -> I64:
    """The sorted distinct values of the integers ``x``, as ``np.unique(x)`` gives them, by a
    sort: numpy 2's hashed ``unique`` took 10-20x longer on these keys (tens of thousands)."""
    s = np.sort(x)
    return s[np.concatenate([s[:1] == s[:1], s[1:] != s[:-1]])]
