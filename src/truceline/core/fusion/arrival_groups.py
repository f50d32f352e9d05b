"""The acoustic arrays' arrival groups, between their clustering and their units.

:func:`.grouping.group` clusters the bare arrival times by the TDOA limit and locates the
groups of three or more as units; here are the fit they are located by
(:func:`arrival_fit_params`), the split of a group that mixes two arrays' sounds into its
arrays (:func:`split_mixed`), and the test that keeps a vague group (too few arrivals to be
located) from joining a group whose array fix heard another sound (:func:`same_sound`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

from truceline.core.fusion import kernels
from truceline.core.fusion import locate_kernels as lk
from truceline.core.fusion.batch import FireBatch, GroupingParams, sensor_candidates
from truceline.core.fusion.graph import _Units, near_pairs
from truceline.core.fusion.locate import Fixes, LocateParams, locate, measurement_rows

__all__ = ["FIT_COLUMNS", "arrival_fit_params", "max_at", "rank", "same_sound", "split_mixed"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: The columns of the bare arrivals that their grouping and fits read (:func:`split_mixed`,
#: :func:`.locate.locate`): a batch of them takes only these (:meth:`.FireBatch.take`). A bare
#: arrival has no bearing and no location (``brg``, ``ex`` not finite: the placeholders' NaN
#: is read alike, by ``isfinite`` only), so no bearing's or location's column is read.
FIT_COLUMNS = ("source", "ox", "oy", "arr", "c", "wu", "wv", "k", "wind_known", "wind_sd")


def arrival_fit_params(p: GroupingParams) -> LocateParams:
    """How an array's arrival group is fitted, by the split and by the arrival units alike
    (the units keep the split's fits, which holds only while both fit the same way); linking
    needs the fix to metres, not millimetres."""
    return LocateParams(max_semi_major_m=p.max_arrival_fix_m, converged_m=0.5, converged_s=5e-4,
                        two_roots=False, compiled_air=True)

def split_mixed(b: FireBatch, p: GroupingParams, lab: I64
                ) -> tuple[I64, tuple[I64, I64, Fixes] | None]:
    """Arrival groups (``lab``, one per report of ``b``: the bare arrival rows alone, at least
    their :data:`FIT_COLUMNS`) that span two
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
    fit rests on its rows alone, so :func:`.grouping._arrival_units` takes these instead of fitting
    the same rows again.
    """
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
    far = max_at(np.zeros(G), lab[cand], np.hypot(ox - mx[lab[cand]], oy - my[lab[cand]]))
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
    g = rank(lab[sel], G)
    lp = arrival_fit_params(p)
    sb = b.take(sel, numbers_only=True, columns=FIT_COLUMNS)
    measured = measurement_rows(sb, g)
    fx = locate(sb, g, sensor_candidates(sb, p), lp, measured, fits_only=True)
    rw, r = measured[0], fx.residual
    K = len(fx.located)
    worst = max_at(np.zeros(K), rw.g, np.abs(r))
    # the unknown wind's share (s): a wind up to ~7 m/s moves an arrival by ``wind_frac`` of
    # its travel time, hundreds of the jitter's sds; another sound misses by seconds
    arr_rows = rw.typ == lk.ARR
    travel = np.hypot(fx.x[rw.g] - rw.ox, fx.y[rw.g] - rw.oy) / rw.c
    excess = max_at(np.zeros(K), rw.g[arr_rows], (np.abs(r[arr_rows]) * lp.arrival_sd_s
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
    max_at(excess, rw.g[ka], de)
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
    new = rank(out, G + n)
    whole = np.flatnonzero(~mixed)
    first = np.empty(K, np.int64)
    first[g[::-1]] = sel[::-1]
    return new, (new[first[whole]], whole, fx)


def _expand(lo: I64, n: I64) -> tuple[I64, I64]:
    """``(owner, index)`` of every element of the ranges ``[lo[k], lo[k] + n[k])``."""
    owner = np.repeat(np.arange(len(n)), n)
    return owner, np.repeat(lo, n) + np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)


def same_sound(b: FireBatch, arows: I64, alab: I64, srt: I64, st: I64, vague: I64,
                fx_ids: I64, fu: _Units, fgroup: I64, qi: I64, qj: I64, p: GroupingParams
                ) -> NDArray[np.bool_]:
    """Whether vague arrival group ``vague[qi]`` may join group ``qj``: yes where ``qj``
    holds no array's fix, else where every arrival of it comes when one of those fixes says
    its sound reaches that sensor (``srt``: the arrival rows by group, group ``g``'s from
    ``st[g]`` to ``st[g + 1]``: :func:`.grouping._bounds`).

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


def rank(x: I64, size: int) -> I64:
    """Each of ``x`` (integers in ``[0, size)``) as its rank among the distinct values of
    ``x``: ``np.unique(x, return_inverse=True)[1]``, by a count instead of a sort."""
    seen = np.zeros(size, bool)
    seen[x] = True
    return (np.cumsum(seen) - 1)[x]


@njit(cache=True, error_model="numpy")
def max_at(out: F64, at: I64, v: F64) -> F64:
    """``np.maximum.at(out, at, v)`` (NaN wins, as there) in one compiled pass, returning
    ``out``: numpy's ``ufunc.at`` took several times longer on the arrival rows."""
    for q in range(len(at)):
        k = at[q]
        if not (out[k] > v[q] or math.isnan(out[k])):  # numpy's rule: ties take ``v``
            out[k] = v[q]
    return out
