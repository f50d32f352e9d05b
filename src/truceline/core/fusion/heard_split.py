"""An array's arrivals of one shot's launch and burst together, parted between its two parts.

Within one array the TDOA limit is seconds, and where the array lies near the line of fire
(past the burst, or behind the gun) the launch and the burst reach it within seconds of each
other: complete linkage keeps them in one arrival group, whose fit places nothing or a point
between the two sounds, and :func:`.heard.join_heard` joins it nowhere, since neither part
fits all its arrivals. Traced on the 7-day weeks (issue 14, session 27): fragments holding
both sounds of one event made 23 % of the split pairs on baseline seed 1 and 29 % on
all_conditions seed 1 (76 such arrival groups, 231 arrivals there).

So an arrival group left apart (a vague one :func:`.heard.join_heard` did not join, or an
arrays-only fix that no report joined) is tested again against each *linked* event (a located
origin with its located impact) within hearing: every split of its arrivals in two, one side
against each part, by the same test (:func:`.heard.part_tests`: the arrival-time differences,
the emission time in the part's window), each side with at least one degree of freedom (a
lone arrival only against a part its own arrivals timed) and within one array or sharp. A
located group may also join one part whole, and a split must then fit better by
``part_margin``. It joins where exactly one event passes and no other event's part comes
within the looser gate with all its arrivals. No fix moves (the arrivals join, not refit):
which split is right is the least sure thing here, and the parts were located without them.
Two parted groups may not give one part one sensor twice (two shells of a salvo); one
sensor's launch in one group and its burst in another is one sensor per part (session 31).

A shot that arrays alone fixed (a launch and a burst, each timed by arrivals, untyped) is not
linked yet here (the timed pairs are typed later, :func:`.link.pair_by_arrival_order`), so
two unlinked timed parts also make an event for the split (:func:`_pairs`) where their times
and distance allow some weapon's flight, the first not an impact nor the second an origin;
such a pair parts a group only where no linked event does, no other pair does, and no part
but its two fits the group whole (linked or not).

A side of one arrival against a part no arrival timed has no degree of freedom of its own
(two arrivals of one sound and one of the other: most of the mixed groups left on the 7-day
weeks, session 32); it is tested by the flight instead, its emission time against the other
side's by a flight some weapon class allows over the parts' distance (:func:`_flight_fits`).
Such a split counts only where no other split parts the group, and yields to every other.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree
from scipy.stats import chi2 as chi2_dist

from truceline.core.fusion.batch import ROLE_IMPACT, ROLE_ORIGIN, FireBatch
from truceline.core.fusion.heard import HeardParams, arrival_groups, part_tests
from truceline.core.fusion.locate import Fixes

__all__ = ["NEAR_CHUNK", "near_parts", "split_heard"]

#: Arrival groups whose linked parts within reach are listed and tested at a time. The reach
#: (hearing range and three sigmas of the widest part) holds thousands of parts per group on
#: a dense day: listed for every group at once, the pairs and their tests held ~0.37 GB (the
#: 907k month's densest day, 5.8M pairs: the check's peak, BENCHMARKS.md session 29, hM).
#: Each group's pairs are the same and in the same order whatever the chunk.
NEAR_CHUNK = 512

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
B = NDArray[np.bool_]


def split_heard(b: FireBatch, labels: I64, fixes: Fixes, lo: F64, hi: F64, partner: I64,
                vague: B, bare: B, timed: B, u: I64, g: I64, clear: B, p: HeardParams,
                role: NDArray[np.int8] | None = None, flights: F64 | None = None
                ) -> tuple[I64, I64, I64, B]:
    """``(labels, u, g, clear)`` with the groups parted: one side of each parted group
    relabelled to one part, the group itself (the other side) joined (``u``, ``g``) to the
    other part, not clear (no refit). ``vague``: the groups :func:`.heard.join_heard` tested;
    ``bare``: the groups of arrivals alone, unlinked; ``u``/``g``/``clear``: its joins, which
    stand. ``role``, ``flights`` (each weapon class's ``(max range, min speed, max speed)``):
    also part a group between two unlinked parts, each timed by arrivals, that could be one
    shot (:func:`_pairs`), where no linked event parts it."""
    x, y, cov, located = fixes.x, fixes.y, fixes.cov, fixes.located
    G = len(x)
    has = np.isfinite(b.arr) & np.isfinite(b.ox) & np.isfinite(b.oy)
    # the vague groups join_heard left, and the arrays-only fixes (a launch at one array and
    # a burst at another may pass together where a windless fit let them)
    left = vague | bare
    left[u] = False
    left[g] = False
    rows = np.flatnonzero(left[labels] & has)
    sig = np.sqrt(np.nan_to_num(np.trace(cov, axis1=1, axis2=2), nan=np.inf)) if G \
        else np.zeros(0)
    ok = (located & np.isfinite(x) & np.isfinite(lo) & np.isfinite(hi)
          & (hi - lo <= p.max_window_s) & (sig <= p.hearing_m))
    ok[u] = False
    linked = ok & (partner >= 0)
    linked &= linked[np.maximum(partner, 0)]
    free = ok & (partner < 0) & timed if p.split_pairs and role is not None \
        and flights is not None else np.zeros(G, bool)
    cand = np.flatnonzero(linked | free)
    if not p.split or not len(rows) or not len(cand):
        return labels, u, g, clear
    order, ul, st, _, n_u, ucx, ucy, ua, ub = arrival_groups(b, labels, rows)
    # two to ``max_split`` arrivals (2 ** m - 2 splits each)
    fit_u = (n_u >= 2) & (n_u <= p.max_split)
    # the linked parts within hearing whose window may hold a sound the arrivals heard
    travel = p.hearing_m / p.slowest_sound_ms
    reach = p.hearing_m + 3.0 * float(sig[cand].max())
    got = near_parts(cand, x, y, sig, lo, hi, ucx, ucy, ua, ub, reach, travel, p.hearing_m)
    if got is None:
        return labels, u, g, clear
    pu, pg = got
    own = pg == ul[pu]  # an arrays-only fix tested is no part of its own (nor its rival)
    pu, pg = pu[~own], pg[~own]
    src_max = int(b.source.max()) + 1
    # the sensors each group holds, those of the groups joined to it counted
    to = np.arange(G)
    to[u] = g
    have = np.unique(to[labels].astype(np.int64) * src_max + b.source)
    wsd = np.where(np.isfinite(b.wind_sd), b.wind_sd, p.wind_sd_ms)
    wsd = np.where(b.wind_known & ~np.isfinite(b.wind_sd), 0.5, wsd)
    # all the group's arrivals against each part: another event's part near them is an
    # alternative, and the group stays apart
    whole_alt = np.full(len(pu), np.inf)
    for m in np.unique(n_u[pu]):
        s = np.flatnonzero(n_u[pu] == m)
        idx = order[st[pu[s]][:, None] + np.arange(m)[None, :]]
        _, a, d, _, _, _ = part_tests(b, idx, pg[s], x, y, cov, lo, hi, timed, wsd, have, p)
        whole_alt[s] = np.where(d >= 1, a, np.inf)
    near_fit = whole_alt <= chi2_dist.ppf(p.clear_level, np.maximum(n_u[pu] - 1, 1))
    # the events (origin, impact) both of whose parts are near the group; an unlinked
    # part is an event of its own
    ev = np.where(partner[pg] >= 0, np.minimum(pg, partner[pg]), pg)
    key = (pu * (G + 1) + ev)[linked[pg]]
    kk, cnt = np.unique(key, return_counts=True)
    both = kk[cnt == 2]
    eu, eo = both // (G + 1), both % (G + 1)
    sel = fit_u[eu]
    eu, eo = eu[sel], eo[sel]
    ei = partner[eo]
    n_linked = len(eu)
    if free.any():  # two unlinked timed parts that could be one shot's launch and burst
        assert role is not None and flights is not None
        fu, fo, fi = _pairs(pu, pg, free, fit_u, role, x, y, lo, hi, flights)
        eu, eo, ei = np.r_[eu, fu], np.r_[eo, fo], np.r_[ei, fi]
    pair = np.arange(len(eu)) >= n_linked
    score = np.full(len(eu), np.inf)
    best = np.zeros(len(eu), np.int64)
    by_lone = np.zeros(len(eu), bool)  # the best split holds a lone arrival's side
    lone_ok = p.split_lone and role is not None and flights is not None
    # which of the two parts is the launch (a pair's first; a linked event's origin)
    launch0: B = np.asarray(pair | (role[eo] == ROLE_ORIGIN) if role is not None else pair)
    for m in np.unique(n_u[eu]):
        s = np.flatnonzero(n_u[eu] == m)
        idx = order[st[eu[s]][:, None] + np.arange(m)[None, :]]
        # every subset of the arrivals (a mask) against each part, one test per size
        masks = np.arange(2 ** m)
        bits = ((masks[:, None] >> np.arange(m)) & 1).astype(bool)
        cost = np.zeros((2, len(s), len(masks)))  # the empty side costs nothing
        t_at = np.zeros((2, len(s), len(masks)))  # each side's implied emission time, sd
        t_sd = np.zeros((2, len(s), len(masks)))
        lone = np.zeros((2, len(s), len(masks)), bool)
        for k in range(1, m + 1):
            mk = masks[bits.sum(axis=1) == k]
            cols = np.nonzero(bits[mk])[1].reshape(len(mk), k)
            ix = idx[:, cols].reshape(-1, k)
            sx, sy = b.ox[ix], b.oy[ix]
            # a side spread over two arrays (two sounds, maybe) only on a sharp test
            spread = np.hypot(sx - sx.mean(axis=1, keepdims=True),
                              sy - sy.mean(axis=1, keepdims=True)).max(axis=1)
            for j, part in enumerate((eo[s], ei[s])):
                tt, tsd = np.zeros(len(ix)), np.zeros(len(ix))
                c, _, d, _, sh, cl = part_tests(b, ix, np.repeat(part, len(mk)), x, y, cov,
                                                lo, hi, timed, wsd, have, p, tsd, tt)
                good = (d >= 1) & ~cl & (c <= chi2_dist.ppf(p.level, np.maximum(d, 1))) \
                    & (sh | (2.0 * spread <= p.array_m))
                # a lone arrival against a part no arrival timed: the flight tests it below
                one = (d == 0) & ~cl & np.isfinite(c) & lone_ok
                cost[j][:, mk] = np.where(good | one, c, np.inf).reshape(len(s), len(mk))
                t_at[j][:, mk] = tt.reshape(len(s), len(mk))
                t_sd[j][:, mk] = tsd.reshape(len(s), len(mk))
                lone[j][:, mk] = (one & ~good).reshape(len(s), len(mk))
        # all to one part (only a located group: join_heard tested the vague ones whole),
        # or a split, which must fit better by ``part_margin``
        base = np.full((len(s), len(masks)), p.part_margin)
        base[:, [0, -1]] = np.where(vague[ul[eu[s]]] | pair[s], np.inf, 0.0)[:, None]
        sc = base + cost[0] + cost[1][:, masks[::-1]]  # the complement: the reversed mask
        one0, one1 = lone[0], lone[1][:, masks[::-1]]
        if (one0 | one1).any():
            assert flights is not None
            sc[one0 & one1] = np.inf  # a side must test itself
            fly = _flight_fits(launch0[s], t_at[0], t_at[1][:, masks[::-1]],
                               np.hypot(t_sd[0], t_sd[1][:, masks[::-1]]),
                               np.hypot(x[eo[s]] - x[ei[s]], y[eo[s]] - y[ei[s]]), flights)
            sc[(one0 | one1) & ~fly] = np.inf
        if lone_ok:  # a lone arrival's split only where no other split passes
            sure = np.where(one0 | one1, np.inf, sc)
            some = np.asarray(np.isfinite(sure).any(axis=1), bool)
            sc = np.where(some[:, None], sure, sc)
        best[s] = np.argmin(sc, axis=1)
        score[s] = sc[np.arange(len(s)), best[s]]
        either: B = one0 | one1
        by_lone[s] = either[np.arange(len(s)), best[s]]
    passed = np.isfinite(score)
    # exactly one event parts the group, and no other event's part is near all of it; a
    # pair of unlinked parts only where no linked event parts it, and no other pair, and no
    # part but its own two is near all of it (linked or not)
    n_pass = np.bincount(eu[passed & ~pair & ~by_lone], minlength=len(ul))
    n_pair = np.bincount(eu[passed & pair & ~by_lone], minlength=len(ul))
    # a split resting on a lone arrival's flight only where no other split parts the group
    # at all, and no other such split either
    n_lone = np.bincount(eu[passed & by_lone], minlength=len(ul))
    lk = near_fit & linked[pg]
    alt_ev = np.unique(pu[lk] * (G + 1) + ev[lk])
    n_alt = np.bincount(alt_ev // (G + 1), minlength=len(ul))
    own_alt = np.isin(eu * (G + 1) + eo, alt_ev).astype(np.int64)
    all_ev = np.unique(pu[near_fit] * (G + 1) + ev[near_fit])
    n_all = np.bincount(all_ev // (G + 1), minlength=len(ul))
    own_all = (np.isin(eu * (G + 1) + eo, all_ev).astype(np.int64)
               + np.isin(eu * (G + 1) + ei, all_ev))
    alone = (n_pass[eu] + n_pair[eu] == 0) & (n_lone[eu] == 1)
    take = np.flatnonzero(np.where(
        by_lone, passed & alone & (n_all[eu] == own_all),
        np.where(pair, passed & (n_pass[eu] == 0) & (n_pair[eu] == 1) & (n_all[eu] == own_all),
                 passed & (n_pass[eu] == 1) & (n_alt[eu] == own_alt))))

    keyed: dict[int, I64] = {}  # each split's keys: a lone arrival's try reads them again

    def keys_of(t: int) -> I64:
        if t not in keyed:
            keyed[t] = _part_keys(b, order[st[eu[t]]:st[eu[t]] + n_u[eu[t]]], int(best[t]),
                                  eo[t], ei[t], src_max)
        return keyed[t]

    def apart(take: I64) -> I64:
        # a group parted onto another parted group (an arrays-only fix may be both): neither
        moved, onto = ul[eu[take]], np.r_[eo[take], ei[take]]
        take = take[~np.isin(moved, onto) & ~np.isin(eo[take], moved)
                    & ~np.isin(ei[take], moved)]
        if not len(take):
            return take
        # two parted groups may not give one part one sensor twice (two shells of a salvo);
        # one sensor's launch in one group and its burst in another is one sensor per part
        keys = [keys_of(int(t)) for t in take]
        uq, c_ = np.unique(np.concatenate(keys), return_counts=True)
        dup = set(uq[c_ > 1].tolist())
        return np.array([t for t, k_ in zip(take, keys, strict=True)
                         if not dup.intersection(k_.tolist())], np.int64)

    # a lone arrival's split yields: kept only where it costs no other split
    take_ = apart(take[~by_lone[take]])
    for t in take[by_lone[take]]:
        more = apart(np.r_[take_, t])
        take_ = more if len(more) == len(take_) + 1 else take_
    take = take_
    if not len(take):
        return labels, u, g, clear
    out = labels.copy()
    for t in take:  # a few groups a day: the rows of each, parted by its mask
        r = order[st[eu[t]]:st[eu[t]] + n_u[eu[t]]]
        on = np.array([(int(best[t]) >> j) & 1 for j in range(len(r))], bool)
        if on.any():
            out[r[~on]] = ei[t]
    gu = ul[eu[take]].astype(np.int64)
    to = np.where(best[take] == 0, ei[take], eo[take])
    return (out, np.concatenate([u, gu]), np.concatenate([g, to]),
            np.concatenate([clear, np.zeros(len(take), bool)]))


def _pairs(pu: I64, pg: I64, free: B, fit_u: B, role: NDArray[np.int8], x: F64, y: F64,
           lo: F64, hi: F64, flights: F64) -> tuple[I64, I64, I64]:
    """``(group, launch, burst)``: for each group (``pu``, with its parts within reach
    ``pg``) that may be parted (``fit_u``), every two of its ``free`` parts that could be one
    shot's launch and burst: the first not typed an impact nor the second an origin, the
    second emitted after the first by a flight some weapon class (``flights``: max range,
    min and max speed) allows over their distance, each window's half-width of slack."""
    f = np.flatnonzero(free[pg] & fit_u[pu])
    if not len(f):
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    # all ordered pairs of one group's free parts (a few each; ``pu`` is sorted)
    _, start, inv, cnt = np.unique(pu[f], return_index=True, return_inverse=True,
                                   return_counts=True)
    n_i = cnt[inv]
    a = np.repeat(np.arange(len(f)), n_i)
    c = np.repeat(start[inv], n_i) + np.arange(len(a)) - np.repeat(np.cumsum(n_i) - n_i, n_i)
    a, c = f[a[a != c]], f[c[a != c]]
    go, gi = pg[a], pg[c]
    ok = (role[go] != ROLE_IMPACT) & (role[gi] != ROLE_ORIGIN)
    dt = (lo[gi] + hi[gi]) / 2 - (lo[go] + hi[go]) / 2
    slack = (hi[gi] - lo[gi]) / 2 + (hi[go] - lo[go]) / 2
    dist = np.hypot(x[gi] - x[go], y[gi] - y[go])
    fits = np.zeros(len(go), bool)
    for rng, v_lo, v_hi in flights:
        fits |= ((dist <= rng) & (dt + slack >= dist / v_hi) & (dt - slack <= dist / v_lo))
    k = ok & fits & (dt > 0)
    return pu[a[k]].astype(np.int64), go[k].astype(np.int64), gi[k].astype(np.int64)


def _flight_fits(launch0: B, t0: F64, t1: F64, sd: F64, dist: F64, flights: F64) -> B:
    """Whether the two sides' emission times (``t0`` at the first part, ``t1`` at the second;
    ``(N, M)``, ``sd`` their difference's sd) are one shot's launch and burst (``launch0``:
    the first part is the launch) by a flight some weapon class (``flights``: max range, min
    and max speed) allows over the parts' distance ``dist`` (``(N,)``), within 3 sd."""
    dt = np.where(launch0[:, None], t1 - t0, t0 - t1)
    slack = 3.0 * sd
    fits = np.zeros(dt.shape, bool)
    for rng, v_lo, v_hi in flights:
        fits |= ((dist[:, None] <= rng) & (dt + slack >= dist[:, None] / v_hi)
                 & (dt - slack <= dist[:, None] / v_lo))
    return fits


def _part_keys(b: FireBatch, r: I64, mask: int, eo: int, ei: int, src_max: int) -> I64:
    """Part x sensor keys of a group's rows ``r`` parted by ``mask`` (a set bit: the row
    goes to ``eo``, else to ``ei``)."""
    on = (mask >> np.arange(len(r))) & 1
    return np.where(on > 0, eo, ei).astype(np.int64) * src_max + b.source[r]


def near_parts(cand: I64, x: F64, y: F64, sig: F64, lo: F64, hi: F64, ucx: F64, ucy: F64,
               ua: F64, ub: F64, reach: float, travel: float, hearing_m: float,
               chunk: int = NEAR_CHUNK) -> tuple[I64, I64] | None:
    """The (arrival group, part) pairs of the parts ``cand`` within ``reach`` of each group's
    centre (``ucx``, ``ucy``) that lie within hearing (``hearing_m`` and three of the part's
    ``sig``) and whose window [``lo``, ``hi``] may hold a sound the group heard between its
    first and last arrivals ``ua``, ``ub`` (``travel``: the longest flight), group by group,
    each group's parts in ``cand``'s order (a k-d tree's over ``cand``, queried at many
    points, sorted); None: no part within ``reach`` of any group.

    Listed ``chunk`` groups at a time in the order of their first arrivals, each chunk
    against the parts whose window meets the chunk's span (a tree of those, queried a hair
    beyond ``reach``): a dense day's reach holds thousands of parts a group of which the
    window keeps a few (the 907k month: ~11 % of its check listing them). The tests are the
    same, elementwise; a pair the whole tree might not have counted within ``reach``
    (within ~1e-9 of it) is asked of that tree, so the pairs are the same whatever the
    chunk."""
    tree = cKDTree(np.column_stack([x[cand], y[cand]]))
    step = max(int(chunk), 1)
    by_t = np.argsort(ua, kind="stable")
    wide = reach * (1.0 + 1e-9) + 1e-3
    sure = reach * (1.0 - 1e-9) - 1e-3
    pus, pgs = [], []
    for at in range(0, len(ucx), step):
        us = by_t[at : at + step]
        here = np.flatnonzero((hi[cand] >= float(ua[us].min()) - travel)
                              & (lo[cand] <= float(ub[us].max())))
        if not len(here):
            continue
        hits = cKDTree(np.column_stack([x[cand[here]], y[cand[here]]])).query_ball_point(
            np.column_stack([ucx[us], ucy[us]]), wide)
        lens = np.fromiter((len(h) for h in hits), np.int64, len(hits))
        if not lens.sum():
            continue
        pu = np.repeat(us, lens)
        pc = here[np.concatenate([np.asarray(h, np.int64) for h in hits if len(h)])]
        pg = cand[pc]
        dist = np.hypot(x[pg] - ucx[pu], y[pg] - ucy[pu])
        near = ((dist <= hearing_m + 3.0 * sig[pg])
                & (hi[pg] >= ua[pu] - travel) & (lo[pg] <= ub[pu]))
        for k in np.flatnonzero(near & ~(dist <= sure)):  # at the reach's edge: the tree's
            got = tree.query_ball_point([ucx[pu[k]], ucy[pu[k]]], reach)
            near[k] = bool(np.isin(pc[k], got))
        pus.append(pu[near])
        pgs.append(pc[near])
    pu = np.concatenate(pus) if pus else np.zeros(0, np.int64)
    pc = np.concatenate(pgs) if pgs else np.zeros(0, np.int64)
    if not len(pu):  # none near: were any within reach at all (the tree's answer)?
        at_u = np.column_stack([ucx, ucy])
        if not any(any(len(h) for h in tree.query_ball_point(at_u[at : at + step], reach))
                   for at in range(0, len(ucx), step)):
            return None
    keep = np.lexsort((pc, pu))
    return pu[keep].astype(np.int64), cand[pc[keep]].astype(np.int64)
