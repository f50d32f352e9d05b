"""One part of a shot fixed twice is one incident: a less precise fix that another fits.

Grouping links reports pairwise (complete linkage), so one launch's (or one burst's) reports
can end in two groups that each fix it: a monitor's wild bearing on its band left alone, two
or three monitors' reports timed to the minute beside the arrays' fix of the same launch timed
to the millisecond, a camera whose clock runs late. Each such group is located on its own, an
origin attributed on its own, and the check counted one violation twice (issue 12: 307
"double counts" over six scenarios x three seeds, most of them a small group of monitors'
reports beside the launch's fix; between two different events' fixes of one party within five
minutes, such agreement was rare: 1 of 549 pairs on the simulated weeks). A burst fixed twice
splits its event the same way (issue 14: on all_conditions seed 1 more of the split pairs
between two located fixes of one part were impacts' than origins').

A located fix is taken as the same part of one shot as a more precise one (the smaller
covariance trace) whose incident holds more reports (its linked part's too): a fragment split
off, not a second event (two mortars firing at once a kilometre apart fix within 3 sigma of
each other; on the simulated weeks such a group, bringing its linked impact into the sharper
fix's incident, outnumbered that fix's own reports there). The two are one part when both are
origins attributed to one party with ``own_side_max``, both impacts, or the looser one is
untyped and the sharper typed (it takes the typed fix's reading, and never gives its own);
their fixes agree (the Mahalanobis distance of their difference under the sum of their
covariances within ``max_mahalanobis``); their emission windows lie within ``gap_s`` of each
other; no source reported in both (a source that reported twice saw two shots); the looser one
is no looser than ``max_sd_m`` (a fix wider than grouping's pair search agrees with anything
near it: on baseline and all_conditions seed 1 the only wrong joins were two such, 32 and 323
km wide); the joining fix is linked to no other part (``linked``, off: a lone loose report's
link moved to another shot's burst on coarse_bands seed 2); and the more precise one is
the only such fix it agrees with, and agrees itself with no fix more precise than it (a chain
is left as it is). A fix of one report linked to nothing (a bearing on its band, whose error
along the ray is a distance judgement's) that agrees with no fix within 3 sigma gets a second
ring: it joins the one fix within ``lone_mahalanobis`` (5) when that fix is sharp
(``lone_sharper``) and near (``lone_reach_m``), every fix in the ring a rival (two mortars
both fitting it keep it apart). A fix of four arrivals or more alone, sharper than the one
typed fix it agrees with, joins that fix's group where the fix is one report's (a post's report
of the launch linked to its burst: :func:`_into_looser`). A fix linked to the shot's other
part (a lone post's report of the launch, linked to its burst) joins the one fix of its part
sharper than it that it agrees with (every sharper fix a rival; one report's fix with the ring
above), where that one is linked to nothing, holds two reports or more and is at most
``linked_sharper`` of its sd (the arrays' and other posts' fix of the launch, untyped where a
post called it undetermined): that group keeps its fix and takes the link, and an untyped one
the role (:func:`.same_shot_kernels.agree_sharper`). It joins that group: its reports become
the shot's evidence; the fix, time, role, attribution and link stay the precise group's (its reports
fit them; the report's, for the arrivals' join; with ``linked``, a linked group joins only
one that is not, which takes its link). An origin attributed to
neither side with ``own_side_max`` (a looser fix near the line) is the same part as an origin
of either side (``unsure_side``; it takes the sharper fix's reading, never gives its own)
where each of its reports also passes grouping's gate with the fix it joins: a loose fix
agrees with anything near it, its reports on their own stated errors do not. The join runs
after calibration, which must not read a fragment's reports against another group's fix. An
arrivals' fix typed by one report of the shot's other part (the arrays heard the launch, a
post saw the burst) joins the linked part it sits at (:func:`into_other_part`). A fix looser
than ``max_sd_m`` holding a report joins the one sharp fix of its part that each of its
reports fits on its own, by place and time (:func:`loose_into_sharp`). Two linked pairs
whose launches and bursts both agree join part by part (:mod:`.same_pair`). Before the
arrivals are joined (:func:`.heard.join_heard`), the same test (on the fixes' own covariances)
makes two fixes of one part one event to the arrivals' rule that exactly one fits them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from truceline.core.fusion.batch import (
    ROLE_ANY,
    ROLE_IMPACT,
    ROLE_ORIGIN,
    Candidates,
    FireBatch,
)
from truceline.core.fusion.group_join import (
    Sources,
    group_rows,
    group_sides,
    group_sizes,
    group_sources,
    joined_numbering,
    take_apart,
)
from truceline.core.fusion.link import LinkParams, in_flight
from truceline.core.fusion.locate import M_ARRIVAL, Fixes
from truceline.core.fusion.same_shot_kernels import agree_sharper, agree_typed, source_runs

__all__ = ["SameShotParams", "into_other_part", "join_groups", "loose_into_sharp", "same_shots"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
T = TypeVar("T", bound=np.generic)


@dataclass(frozen=True)
class SameShotParams:
    """When two origin fixes are one shot's (:mod:`.same_shot`)."""

    enabled: bool = True
    #: the fixes' difference under the sum of their covariances, in standard deviations
    max_mahalanobis: float = 3.0
    #: how far apart their emission windows may lie (s): a minute's report beside a fix
    #: timed to the millisecond, a camera's clock off by tens of seconds
    gap_s: float = 60.0
    #: an impact fixed twice joins too, and an untyped fix a typed one of the same part
    impacts: bool = True
    untyped: bool = True
    #: a fix linked to the shot's other part joins a fix that is not linked, which takes
    #: the link: off, since a lone loose report's link then moves to another event's fix
    #: (coarse_bands seed 2: a 5 km-wide burst 7.5 km from another's, 4 minutes apart in
    #: fact, took the UA launch's link to an RU shot's burst: one wrong-party finding)
    linked: bool = False
    #: the loosest fix that may join (sd, m): grouping never links reports farther apart
    #: than its pair search (15 km), and a fix looser than that agrees with anything near
    max_sd_m: float = 15_000.0
    #: a fix of one report linked to nothing (one bearing on its band) that agrees with no
    #: fix within ``max_mahalanobis`` joins the one fix within this (its error along the ray
    #: is a distance judgement's, heavy-tailed), every fix there a rival, sharp or not ...
    lone_mahalanobis: float = 5.0
    #: ... where that fix's sd is at most this share of the report's (a sharp fix: the
    #: distance is the report's own error, not two fixes' disagreement) ...
    lone_sharper: float = 0.25
    #: ... no farther than this (m): 5 sd of a 6-degree bearing on a 10-20 km band reach
    #: 40 km (coarse_bands seed 2: two such reports of one shell joined another's burst 12
    #: and 21 km away, 92 s apart; baseline seed 3: a lone launch report joined another
    #: launch's fix 9.9 km off, 21 s apart, and lost its finding) ...
    lone_reach_m: float = 9_000.0
    #: ... and with emission windows that overlap (the minute's allowance, ``gap_s``, is for
    #: clocks, where the fixes agree; baseline seed 3: a burst 4.5 minutes after another
    #: 5 km away, its report's window 46 s from the other's fix)
    lone_gap_s: float = 0.0
    #: a fix of four or more arrivals alone, sharper than the one typed fix it agrees with (a
    #: lone post's report of the launch, linked to its burst), joins that fix's group, which
    #: keeps its fix and reading; the typed fix no looser than this (sd, m)
    arrays_max_sd_m: float = 5_000.0
    arrays_min: int = 4
    #: ... and of at most this many reports (a lone post's: coarse_bands seed 1 lost pair precision
    #: 0.9957 -> 0.9951 where a typed group of five holding a stray report took the arrays)
    arrays_typed_max: int = 1
    #: a fix linked to the shot's other part (a lone post's report of the launch, linked to
    #: its burst) joins the one unlinked fix of its part it agrees with whose sd is at most
    #: this share of its own (the arrays' fix of that launch), which takes the link; 0: off
    linked_sharper: float = 0.5
    #: ... that fix holding at least this many reports, their windows this close (s)
    linked_min_reports: int = 2
    linked_gap_s: float = 0.0
    #: a fix of this many arrivals or more and one report, typed by that report, that sits
    #: at the other part of one linked shot (the arrays heard the launch, a post saw the
    #: burst) joins that part (:func:`into_other_part`); 0: off
    other_part_arrivals: int = 3
    #: an origin fix attributed to neither side with ``own_side_max`` (a looser fix near the
    #: line) may join a sharper origin fix of either side by the same tests, whose reading it
    #: takes; it is never joined itself by a fix whose side is sure
    unsure_side: bool = True
    #: ... where each of its reports passes grouping's gate with that fix (chi-square, 2 dof,
    #: 99.9 %: :attr:`.GroupingParams.gate_chi2`)
    report_chi2: float = 13.82
    #: two linked pairs whose launches and bursts agree are one shot's (:mod:`.same_pair`)
    pairs: bool = True
    #: a fix looser than ``max_sd_m`` holding a report (two or three arrivals and a post's
    #: report fixed hundreds of km wide) joins the one sharp fix of its part that each of its
    #: reports fits on its own (:func:`loose_into_sharp`): its arrivals traced back from that
    #: fix within this (s, plus 3 sd of the fix at 330 m/s) of its emission window
    loose_arrival_s: float = 3.0
    #: ... also such a fix linked to its other part, into an unlinked one that takes the link
    loose_linked: bool = True
    #: bearings alone join the one fix on their rays (:mod:`.on_ray`) within this many sd
    #: (0: off), with no band within ``ray_reach_m``
    ray_sigmas: float = 3.0
    ray_reach_m: float = 25_000.0
    #: a lone bearing's fix joins the one linked part its report admits (:mod:`.lone_bearing`):
    #: the bearing within ``lone_wild_z`` wild spreads (``LocateParams.wild_bearing_sd_deg``'s
    #: degrees; 0: off) of that fix
    lone_wild_deg: float = 40.0
    lone_wild_z: float = 2.0
    #: a lone fix of bearings joins the linked part they fit (:mod:`.lone_fix`; 0 sd: off)
    lone_fix_sigmas: float = 3.0
    lone_fix_walls: float = 1.0
    lone_fix_gap_s: float = 20.0


def same_shots(b: FireBatch, labels: I64, fixes: Fixes, role: NDArray[np.int8], prob: F64,
               partner: I64, lo: F64, hi: F64, own_side_max: float, p: SameShotParams,
               cd: Candidates | None = None, sources: Sources | None = None
               ) -> tuple[I64, I64]:
    """``(absorbed, into)``: the groups taken as the same part of one shot as a more precise
    fix (the module's rules), and that fix's group. ``lo``/``hi``: emission windows (s);
    ``cd``: the reports' candidates, which an origin of neither side must each fit to the
    fix it joins (None: such origins join none)."""
    G = len(role)
    none = np.zeros(0, np.int64), np.zeros(0, np.int64)
    if not G:
        return none
    side = group_sides(prob, own_side_max)
    tr = np.trace(fixes.cov, axis1=1, axis2=2)
    origin = (role == ROLE_ORIGIN) & (side >= 0)
    kinds = origin | ((role == ROLE_IMPACT) & p.impacts) | ((role == ROLE_ANY) & p.untyped)
    # an origin on neither side with ``own_side_max`` joins an origin of either side
    unsure = (role == ROLE_ORIGIN) & (side < 0) & p.unsure_side & (cd is not None)
    cand = np.flatnonzero(fixes.located & (kinds | unsure) & np.isfinite(tr) & np.isfinite(lo)
                          & np.isfinite(hi))
    if len(cand) < 2:
        return none
    # what may join another: linked to no other part, or (``linked``) into a fix that is not
    # linked, which then takes the link; not a fix looser than the pair search
    frag = ((partner < 0) | p.linked | (p.linked_sharper > 0)) & (tr <= p.max_sd_m**2)
    size, own = group_sizes(labels, partner, G)
    arrival = np.isfinite(b.arr) & np.isfinite(b.ox) & np.isfinite(b.oy)
    reports = np.bincount(labels, ~arrival, minlength=G) > 0  # a report beside the arrivals
    order = cand[np.argsort(lo[cand], kind="stable")]
    los, his = lo[order], hi[order]
    width = float(np.max(hi[cand] - lo[cand]))
    # a fix ends before ``u``'s window by more than both gaps joins by neither test: left
    # out before the tests (one wide window made each group's slice ~all the day's fixes)
    margin = max(p.gap_s, p.linked_gap_s)
    us = cand[frag[cand]]
    ats = np.searchsorted(los, lo[us] - width - p.gap_s, "left").astype(np.int64)
    tos = np.searchsorted(los, hi[us] + p.gap_s, "right").astype(np.int64)
    # each group's more precise fixes that it agrees with: how many (2: more) and the first
    ptr, val = source_runs(labels, b.source, G)
    if sources is None:  # (only the joins' groups are asked for theirs)
        sources = _LazySources(ptr, val)
    f = np.array([margin, p.gap_s, p.linked_gap_s, p.max_mahalanobis**2, p.lone_mahalanobis**2,
                  p.lone_sharper**2, p.lone_reach_m, p.lone_gap_s, p.linked_sharper**2,
                  p.linked_min_reports], np.float64)
    count, first = agree_sharper(us, ats, tos, order, his, lo, hi, role, side, unsure, reports,
                                 partner, tr, own, size, fixes.x, fixes.y, fixes.cov, ptr, val, f,
                                 p.linked, p.linked_sharper > 0)
    better: dict[int, list[int]] = {}
    rows: list[I64] = []
    for u, k, g in zip(us.tolist(), count.tolist(), first.tolist(), strict=True):
        if k == 1 and unsure[u] and (partner[u] < 0 or p.linked):
            rows = rows or group_rows(labels, G)
            if not _reports_fit(u, np.array([g]), rows, fixes, cd, p)[0]:
                continue
        if k:
            better[u] = [g] * k  # (more than one: a rival; only its length is read)
    for u, g in _into_looser(b, labels, fixes, role, partner, lo, hi, tr, kinds, ptr, val, p):
        better.setdefault(u, [g])
    absorbed, into = [], []
    taken: dict[int, set[int]] = {}
    linked_to: set[int] = set()
    for u in sorted(better, key=lambda k: (-tr[k], k)):
        if len(better[u]) != 1:
            continue
        g = better[u][0]
        if g in better:  # itself the same part as a more precise fix: leave the chain
            continue
        seen = taken.setdefault(g, set(sources[g]))
        if seen & sources[u]:
            continue
        if partner[u] >= 0 and (g in linked_to or partner[g] >= 0):
            continue  # one link per part
        seen |= sources[u]
        if partner[u] >= 0:
            linked_to.add(g)
        absorbed.append(u)
        into.append(g)
    return np.asarray(absorbed, np.int64), np.asarray(into, np.int64)


def _reports_fit(u: int, g: I64, rows: list[I64], fixes: Fixes, cd: Candidates | None,
                 p: SameShotParams) -> NDArray[np.bool_]:
    """Whether every report of group ``u`` with a candidate passes grouping's gate with the
    fix of each of ``g`` (its candidate's mean to the fix, under the candidate's and the
    fix's summed covariances, within ``report_chi2``): a loose fix agrees with anything near
    it, its reports, each on its own stated error, do not (all_conditions seed 1: two
    reports, a camera's bearing among them, fixed 8.7 km off their gun, agreed with another
    gun's fix that the camera's bearing misses by 58 degrees). One (reports x fixes) array:
    a loose fix has hundreds of sharp fixes near it, and a call per fix was a third of the
    end joins (element by element the same operations, so the same answer)."""
    if cd is None:
        return np.zeros(len(g), bool)
    r = rows[u][cd.ok[rows[u]]]
    if not len(r):
        return np.zeros(len(g), bool)
    dx, dy = cd.mx[r][:, None] - fixes.x[g], cd.my[r][:, None] - fixes.y[g]
    a = cd.sxx[r][:, None] + fixes.cov[g, 0, 0]
    b = cd.sxy[r][:, None] + fixes.cov[g, 0, 1]
    c = cd.syy[r][:, None] + fixes.cov[g, 1, 1]
    det = a * c - b * b
    with np.errstate(invalid="ignore", divide="ignore"):
        m2 = (c * dx**2 - 2 * b * dx * dy + a * dy**2) / det
    return np.asarray(np.all((det > 0) & (m2 <= p.report_chi2), axis=0))


def _m2(fixes: Fixes, u: int, g: I64) -> F64:
    """Squared Mahalanobis distance of fix ``u`` to each of ``g`` under their summed
    covariances; infinite where that sum is singular (it agrees with none). By the
    covariances' entries, not the stacked matrices: the same values, called once for each
    linked origin by :func:`.same_pair.same_pairs` (~1.5 % of the 907k month's check)."""
    dx, dy = fixes.x[g] - fixes.x[u], fixes.y[g] - fixes.y[u]
    cg, cu = fixes.cov[g], fixes.cov[u]
    sxx, sxy = cg[:, 0, 0] + cu[0, 0], cg[:, 0, 1] + cu[0, 1]
    syx, syy = cg[:, 1, 0] + cu[1, 0], cg[:, 1, 1] + cu[1, 1]
    det = sxx * syy - sxy * syx
    with np.errstate(invalid="ignore", divide="ignore"):
        m2 = (syy * dx**2 - 2 * sxy * dx * dy + sxx * dy**2) / det
    return np.where(det > 0, m2, np.inf)


def _into_looser(b: FireBatch, labels: I64, fixes: Fixes, role: NDArray[np.int8], partner: I64,
                 lo: F64, hi: F64, tr: F64, kinds: NDArray[np.bool_], ptr: I64, val: I64,
                 p: SameShotParams) -> list[tuple[int, int]]:
    """``(u, g)``: each untyped fix of ``arrays_min`` arrivals or more alone, linked to nothing,
    that agrees (within ``max_mahalanobis``, windows within ``gap_s``, no common source) with
    exactly one typed fix no looser than ``arrays_max_sd_m``, that one looser than it and of at
    most ``arrays_typed_max`` reports, whose other part (if linked) it does not fit too: the
    arrays heard that report's sound."""
    G = len(role)
    has = np.isfinite(b.arr) & np.isfinite(b.ox) & np.isfinite(b.oy)
    n_a = np.bincount(labels, has, minlength=G)
    ok = fixes.located & np.isfinite(tr) & np.isfinite(lo) & np.isfinite(hi)
    arrays = np.flatnonzero(ok & (role == ROLE_ANY) & (partner < 0) & (n_a >= p.arrays_min)
                            & (n_a == np.bincount(labels, minlength=G)))
    typed = np.flatnonzero(ok & kinds & (role != ROLE_ANY) & (tr <= p.arrays_max_sd_m**2))
    small = np.bincount(labels, minlength=G) <= p.arrays_typed_max  # may take the arrivals
    if not len(arrays) or not len(typed):
        return []

    count, first = agree_typed(arrays, typed, lo, hi, p.gap_s, p.max_mahalanobis**2, fixes.x,
                               fixes.y, fixes.cov, ptr, val)
    out = []
    for u, k, g in zip(arrays.tolist(), count.tolist(), first.tolist(), strict=True):
        # every typed fix that fits is a rival, sharper or looser, of any size
        if k != 1 or not small[g] or tr[g] <= tr[u]:
            continue
        o = int(partner[g])
        if o >= 0 and fixes.located[o] and np.isfinite(tr[o]) and _m2(
                fixes, u, np.array([o]))[0] <= p.max_mahalanobis**2:
            continue  # it fits the shot's other sound too
        out.append((u, g))
    return out


class _LazySources(dict[int, set[int]]):
    """:func:`.group_join.group_sources`' sets, each made from the runs when first read."""

    def __init__(self, ptr: I64, val: I64) -> None:
        super().__init__()
        self.ptr, self.val = ptr, val

    def __missing__(self, g: int) -> set[int]:
        out = self[g] = set(self.val[self.ptr[g]:self.ptr[g + 1]].tolist())
        return out


def into_other_part(b: FireBatch, labels: I64, fixes: Fixes, role: NDArray[np.int8],
                    partner: I64, lo: F64, hi: F64, joined: I64, into: I64,
                    p: SameShotParams, src: Sources | None = None) -> tuple[I64, I64]:
    """``(u, g)``: each unlinked fix ``u`` of ``other_part_arrivals`` arrivals or more and one
    report, typed by that report, joined to the part ``g`` of the other type, linked, that its
    fix agrees with (within ``max_mahalanobis``, windows within ``gap_s``: a post's clock):
    the only linked fix of that type there, and no other fix there as sharp as ``g`` (another
    gun's shot, typed or not, linked or not; a looser one, which agrees with ``g`` too, cannot
    tell them apart; fixes looser than ``max_sd_m`` agree with anything and are left out); no
    source of ``u`` in ``g``, the report's source not in ``g``'s linked part, and the report's
    window within ``gap_s`` of that part's; ``u`` no looser than ``max_sd_m``. The arrivals' fix
    placed and timed the sound at ``g`` (the launch a post saw the burst of); the report is
    that shot's other part. ``joined`` into ``into``: :func:`same_shots`' joins
    (neither joins here; a ``joined`` group takes nothing)."""
    G = len(role)
    none = np.zeros(0, np.int64), np.zeros(0, np.int64)
    if not p.other_part_arrivals or not G:
        return none
    arrival = np.isfinite(b.arr) & np.isfinite(b.ox) & np.isfinite(b.oy)
    n_a = np.bincount(labels, arrival, minlength=G)
    n_r = np.bincount(labels, ~arrival, minlength=G)
    tr = np.trace(fixes.cov, axis1=1, axis2=2)
    ok = fixes.located & np.isfinite(tr) & np.isfinite(lo) & np.isfinite(hi)
    free = np.ones(G, bool)
    free[joined] = False
    us = np.flatnonzero(ok & free & ~np.isin(np.arange(G), into) & (partner < 0)
                        & (role != ROLE_ANY) & (n_r == 1) & (n_a >= p.other_part_arrivals)
                        & (fixes.method & M_ARRIVAL > 0) & (tr <= p.max_sd_m**2))
    if not len(us):
        return none
    cand = np.flatnonzero(ok & (tr <= p.max_sd_m**2))  # a wider fix agrees with anything
    rep = np.full(G, -1, np.int64)  # each group's one report
    r = np.flatnonzero(~arrival)
    rep[labels[r]] = r
    src = group_sources(labels, b.source) if src is None else src
    out_u, out_g = [], []
    for u in us.tolist():
        near = cand[(cand != u) & (lo[cand] <= hi[u] + p.gap_s) & (hi[cand] >= lo[u] - p.gap_s)]
        if not len(near):
            continue
        fit = near[_m2(fixes, u, near) <= p.max_mahalanobis**2]
        linked = fit[(partner[fit] >= 0) & (role[fit] != role[u]) & (role[fit] != ROLE_ANY)]
        if len(linked) != 1:  # none, or another shot's fix there too
            continue
        g = int(linked[0])
        if (tr[fit] <= tr[g]).sum() != 1:  # a rival as sharp: another gun there
            continue
        o = int(partner[g])
        k = int(rep[u])
        if (role[g] == role[u] or role[g] == ROLE_ANY or o < 0 or not free[g]
                or src[u] & src[g] or int(b.source[k]) in src[o]
                or not (b.t_lo[k] <= hi[o] + p.gap_s and b.t_hi[k] >= lo[o] - p.gap_s)):
            continue
        out_u.append(u)
        out_g.append(g)
    return np.asarray(out_u, np.int64), np.asarray(out_g, np.int64)


def loose_into_sharp(b: FireBatch, labels: I64, fixes: Fixes, role: NDArray[np.int8],
                     prob: F64, partner: I64, lo: F64, hi: F64, link: LinkParams,
                     joined: I64, into: I64, p: SameShotParams, cd: Candidates,
                     src: Sources | None = None) -> tuple[I64, I64]:
    """``(u, g)``: each fix ``u`` looser than ``max_sd_m``, linked to nothing, holding a report
    (not arrivals alone), joined to the one fix ``g`` of its part (as :func:`same_shots`: an
    origin of its side, or of either where it is on neither, an impact, a typed fix for an
    untyped one) no looser than ``max_sd_m``, within ``max_mahalanobis``, holding more
    reports with its linked part, no source of ``u`` in it, that each of ``u``'s reports fits
    on its own: every report's candidate in grouping's gate with ``g``'s fix
    (``report_chi2``) and its window within ``gap_s`` of ``g``'s; every arrival's time, less
    its travel from ``g``'s fix, within ``loose_arrival_s`` (plus 3 sd of ``g`` at 330 m/s) of
    ``g``'s emission window. Such a fix agrees with anything near it (all_conditions: sds of
    19-3,000 km beside their part's sharp fix); its own window, from that fix, is hours wide,
    so the reports' own times decide (tested on the fix alone it joined other shots' origins
    on other days). Such a fix linked to its shot's other part (``loose_linked``) joins so a
    fix linked to nothing, with more reports than its own, that the other part's flight to it
    fits (some class's range and speeds, ``max_mahalanobis`` sd of both fixes): ``g`` takes
    the link (all_conditions seed 3: a burst's post and arrays fixed 93 km wide, linked to the
    launch, beside the burst's 7-report fix). ``joined`` into ``into``: :func:`same_shots`'
    joins (neither takes part)."""
    G = len(role)
    none = np.zeros(0, np.int64), np.zeros(0, np.int64)
    if not p.loose_arrival_s or not G:
        return none
    tr = np.trace(fixes.cov, axis1=1, axis2=2)
    arrival = np.isfinite(b.arr) & np.isfinite(b.ox) & np.isfinite(b.oy)
    n_r = np.bincount(labels, ~arrival, minlength=G)
    ok = fixes.located & np.isfinite(tr) & np.isfinite(lo) & np.isfinite(hi)
    busy = np.zeros(G, bool)
    busy[joined], busy[into] = True, True
    us = np.flatnonzero(ok & ~busy & (tr > p.max_sd_m**2) & ((partner < 0) | p.loose_linked)
                        & (n_r >= 1))
    sharp = np.flatnonzero(ok & ~np.isin(np.arange(G), joined) & (tr <= p.max_sd_m**2))
    if not len(us) or not len(sharp):
        return none
    side = group_sides(prob, link.own_side_max)
    size, own = group_sizes(labels, partner, G)
    free = ~busy & (partner < 0) & (tr <= link.max_sigma_m**2)  # may take a loose fix's link
    classes = link.windows()

    def flight(u: int, g: int) -> bool:
        o, i = (int(partner[u]), g) if role[u] == ROLE_IMPACT else (g, int(partner[u]))
        d = float(np.hypot(fixes.x[o] - fixes.x[i], fixes.y[o] - fixes.y[i]))
        s = p.max_mahalanobis * float(np.sqrt(tr[o] + tr[i]))
        return any(bool(in_flight(d, s, lo[o], hi[o], lo[i], hi[i], *w)) for w in classes)
    src = group_sources(labels, b.source) if src is None else src
    rows = group_rows(labels, G)

    def timed(u: int, g: int) -> bool:
        r = rows[u]
        a, q = r[arrival[r]], r[~arrival[r]]
        tol = p.loose_arrival_s + 3.0 * np.sqrt(tr[g]) / 330.0
        te = b.arr[a] - np.hypot(b.ox[a] - fixes.x[g], b.oy[a] - fixes.y[g]) / b.c[a]
        return bool(np.all((te >= lo[g] - tol) & (te <= hi[g] + tol))
                    and np.all((b.t_lo[q] <= hi[g] + p.gap_s) & (b.t_hi[q] >= lo[g] - p.gap_s)))

    out_u, out_g = [], []
    taken: dict[int, set[int]] = {}
    for u in us.tolist():
        near = sharp[(lo[sharp] <= hi[u] + p.gap_s) & (hi[sharp] >= lo[u] - p.gap_s)]
        if role[u] == ROLE_ANY:
            same = role[near] != ROLE_ANY
        elif role[u] == ROLE_ORIGIN and side[u] < 0:
            same = role[near] == ROLE_ORIGIN
        else:
            same = (role[near] == role[u]) & (side[near] == side[u])
        near = near[same & ((own[near] > own[u]) if partner[u] < 0 else
                            ((size[near] > size[u]) & free[near]))]
        near = np.asarray([g for g in near.tolist() if not src[g] & src[u]], np.int64)
        if not len(near):
            continue
        near = near[_m2(fixes, u, near) <= p.max_mahalanobis**2]
        fit = [g for g in near[_reports_fit(u, near, rows, fixes, cd, p)].tolist()
               if timed(u, g)]
        if len(fit) != 1:  # none, or two shots its reports fit alike
            continue
        g = fit[0]
        if partner[u] >= 0 and (busy[partner[u]] or not free[g] or not flight(u, g)):
            continue
        free[g] &= partner[u] < 0  # one link per part
        if not take_apart(taken, src, u, g):
            continue
        out_u.append(u)
        out_g.append(g)
    return np.asarray(out_u, np.int64), np.asarray(out_g, np.int64)


def join_groups(labels: I64, fixes: Fixes, role: NDArray[np.int8], tg: F64, prob: F64,
                partner: I64, u: I64, g: I64
                ) -> tuple[I64, Fixes, NDArray[np.int8], F64, F64, I64]:
    """Join each group ``u`` into its ``g`` (:func:`same_shots`): ``g`` keeps its fix, time,
    role, probabilities and partner (``u``'s, where only ``u`` was linked); groups are
    renumbered in order of their first report (:func:`.group_join.joined_numbering`), every
    per-group array following. Residuals (per row, read by no later stage) are left out."""
    G = len(role)
    new, newg, back = joined_numbering(labels, u, g, G)

    def take(a: NDArray[T]) -> NDArray[T]:
        return a[back] if len(a) == G else a

    fx = replace(fixes, x=take(fixes.x), y=take(fixes.y), t0=take(fixes.t0),
                 cov=take(fixes.cov), located=take(fixes.located), method=take(fixes.method),
                 rms=take(fixes.rms), widen=take(fixes.widen), stated=take(fixes.stated),
                 residual=np.zeros(0))
    role, prob = role.copy(), prob.copy()  # an untyped fix takes a linked part's reading
    given = (role[g] == ROLE_ANY) & (role[u] != ROLE_ANY)
    role[g[given]], prob[g[given]] = role[u[given]], prob[u[given]]
    to = np.arange(G)
    to[u] = g
    pt = partner.copy()  # a linked group joined into one that is not: it takes the link
    moved = (pt[u] >= 0) & (pt[g] < 0)
    pt[g[moved]] = pt[u[moved]]
    pk = pt[back]
    part = np.where(pk >= 0, newg[to[np.maximum(pk, 0)]], -1).astype(np.int64)
    return new, fx, role[back], tg[back], prob[back], part
