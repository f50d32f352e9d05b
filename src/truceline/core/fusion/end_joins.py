"""The joins at the end of the pipeline: one event's fragments left apart made one group.

After calibration (which must not read a fragment's reports against another group's fix)
each rule below proposes pairs ``(u, g)``: group ``u`` joins group ``g``. They run in this
order, each seeing the joins of those before it (a group joins once):

1. one shot's origins fixed twice (:func:`.same_shot.same_shots`);
2. a fix too loose for those tests joined to the one sharp fix its reports each fit
   (:func:`.same_shot.loose_into_sharp`);
3. an arrivals' fix typed by a report of the other part joined to the linked part it sits at
   (:func:`.same_shot.into_other_part`);
4. two linked pairs of one shot joined part by part (:func:`.same_pair.same_pairs`);
5. the arrival groups that heard a part's other sound (:func:`.heard_other.join_other_sound`),
   less those of three arrivals or more that place a burst's launch, made its linked origin
   instead (:func:`.heard_launch.place_heard_launches`);
6. those that no test places within their one event (:func:`.heard.join_untested`), less
   those that could be another event's other sound (:func:`.heard_other.other_sound_apart`);
7. an unlocated group of bearings alone joined to the one fix on its rays
   (:func:`.on_ray.join_on_ray`);
8. a lone bearing's fix to the one linked part its report admits, allowing for a wild
   bearing (:func:`.lone_bearing.lone_bearings`);
9. a lone fix of several bearings to the one linked part they fit, one of them wild at most
   (:func:`.lone_fix.lone_fixes`);
10. the arrival groups still apart that fit a part of one linked pair
    (:func:`.heard_linked.join_heard_linked`);
11. one array's arrivals still apart into the lone muzzle flash whose time they fit, the
    flash located by them (:func:`.flash_heard.flash_heard`).

The pairs are applied once, by :func:`.same_shot.join_groups`.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from truceline.core.classify import CompiledGeometry
from truceline.core.fusion.attribution import AttributionParams, attribute
from truceline.core.fusion.batch import ROLE_ANY, ROLE_ORIGIN, GroupingParams, candidates
from truceline.core.fusion.flash_heard import flash_heard
from truceline.core.fusion.group_join import emission_windows, group_sources
from truceline.core.fusion.heard import HeardParams, join_untested
from truceline.core.fusion.heard_after import heard_after
from truceline.core.fusion.heard_launch import place_heard_launches
from truceline.core.fusion.heard_linked import join_heard_linked
from truceline.core.fusion.heard_other import Fused, join_other_sound, other_sound_apart
from truceline.core.fusion.link import LinkParams
from truceline.core.fusion.locate import Fixes
from truceline.core.fusion.lone_bearing import lone_bearings
from truceline.core.fusion.lone_fix import lone_fixes
from truceline.core.fusion.on_ray import join_on_ray
from truceline.core.fusion.region import ArcParams
from truceline.core.fusion.same_pair import same_pairs
from truceline.core.fusion.same_shot import (
    SameShotParams,
    into_other_part,
    join_groups,
    loose_into_sharp,
    same_shots,
)

__all__ = ["end_joins"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
Joined = tuple[I64, Fixes, NDArray[np.int8], F64, F64, I64]


class Timed(Fused, Protocol):
    """What :func:`end_joins` reads of a fusion pass: :class:`.heard_other.Fused` and the
    groups' times and probabilities, which the joined groups keep."""

    @property
    def time_s(self) -> F64: ...
    @property
    def prob(self) -> F64: ...


def end_joins(res: Timed, geometry: CompiledGeometry, grouping: GroupingParams,
              link: LinkParams, same: SameShotParams, heard: HeardParams,
              attribution: AttributionParams, arc: ArcParams | None,
              wild_rate: float) -> Joined | None:
    """The pass's labels, fixes, roles, times, probabilities and partners after the joins
    (module doc), or ``None`` where no rule joins anything (nor places a launch). ``arc``:
    the regions' grid, where the launches heard are placed and the flashes the arrivals
    time (``None``: neither is); ``wild_rate``: the share of bearings that are gross errors."""
    b, labels, fixes, role, prob, partner = (res.batch, res.labels, res.fixes, res.role,
                                             res.prob, res.partner)
    with np.errstate(invalid="ignore"):  # a report without a time has no window
        lo, hi = emission_windows(b, labels, fixes, len(role))
    cd = candidates(b, grouping)
    src = group_sources(labels, b.source)  # the labels stay until join_groups: made once
    u, g = same_shots(b, labels, fixes, role, prob, partner, lo, hi, link.own_side_max, same,
                      cd, src)
    lu, lg = loose_into_sharp(b, labels, fixes, role, prob, partner, lo, hi, link, u, g, same,
                              cd, src)
    u, g = np.concatenate([u, lu]), np.concatenate([g, lg])
    ou, og = into_other_part(b, labels, fixes, role, partner, lo, hi, u, g, same, src)
    u, g = np.concatenate([u, ou]), np.concatenate([g, og])
    pu, pg = same_pairs(b, labels, fixes, role, prob, partner, lo, hi, link.own_side_max, u,
                        g, same, src)
    u, g = np.concatenate([u, pu]), np.concatenate([g, pg])
    n0 = len(u)
    u, g = join_other_sound(res, lo, hi, u, g, heard, link)
    # (heard_after reads joins into untyped fixes, place_heard_launches takes joins into
    # typed bursts: the two see disjoint joins, in either order)
    after = heard_after(res, lo, hi, u[n0:], g[n0:], heard, link)
    placed = len(u)
    if arc is not None:
        u, g = place_heard_launches(b, labels, fixes, role, prob, partner, res.time_s, lo, hi,
                                    u, g, n0, geometry, link, arc, attribution)
    placed -= len(u)
    n0 = len(u)
    u, g = join_untested(b, labels, fixes, role, partner, lo, hi, u, g, heard)
    u, g = other_sound_apart(res, lo, hi, u, g, n0, heard, link)
    ru, rg = join_on_ray(b, labels, fixes, role, partner, lo, hi, u, g, same.ray_sigmas,
                         same.gap_s, same.ray_reach_m, same.max_sd_m, src)
    u, g = np.concatenate([u, ru]), np.concatenate([g, rg])
    wu, wg = lone_bearings(b, labels, fixes, role, prob, partner, lo, hi, link.own_side_max,
                           u, g, same, src)
    u, g = np.concatenate([u, wu]), np.concatenate([g, wg])
    fu, fg = lone_fixes(b, labels, fixes, role, prob, partner, lo, hi, link.own_side_max,
                        u, g, same, src)
    u, g = np.concatenate([u, fu]), np.concatenate([g, fg])
    hu, hg = join_heard_linked(b, labels, fixes, role, partner, lo, hi, u, g, heard)
    u, g = np.concatenate([u, hu]), np.concatenate([g, hg])
    if arc is not None and arc.flash_heard:
        u, g = flash_heard(b, labels, fixes, role, prob, partner, res.time_s, lo, hi, u, g,
                           geometry, link, arc, heard, attribution, wild_rate)
    if not len(u) and not placed:
        return None
    nl, nf, nr, tg, nprob, npartner = join_groups(labels, fixes, role, res.time_s, prob,
                                                  partner, u, g)
    first = np.unique(labels, return_index=True)[1]  # each old group's first report

    def at_fix(old: I64) -> tuple[I64, F64]:
        """The joined groups of the old groups ``old``, attributed at their own fixes."""
        w = np.unique(nl[first[old]])
        when = b.epoch + np.round(tg[w] * 1e6).astype("timedelta64[us]")
        return w, attribute(geometry, nf.x[w], nf.y[w], nf.cov[w],
                            when.astype("datetime64[ns]"), attribution)

    if len(after) and nprob.shape[1]:  # an untyped fix whose burst an array heard after it
        w, pw = at_fix(after)  # the launch, where that puts it on a side
        sure = (nr[w] == ROLE_ANY) & (pw.max(axis=1) >= link.own_side_max)
        nr[w[sure]] = ROLE_ORIGIN
        nprob[w[sure]] = pw[sure]
    # an untyped fix that took a linked launch's reading is attributed at its own fix
    took = g[(role[g] == ROLE_ANY) & (role[u] == ROLE_ORIGIN)]
    if len(took):
        w, pw = at_fix(took)
        nprob[w] = pw
    return nl, nf, nr, tg, nprob, npartner
