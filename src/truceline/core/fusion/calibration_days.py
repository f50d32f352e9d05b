"""Self-calibration causal per day: a later day never moves an earlier one.

:func:`~truceline.core.fusion.calibration.calibrate` estimates a source's bias from every
event it shares in the batch and the correction applies everywhere, so a new day moves every
earlier fix of that source, and a day fused again alone (issue 21's incremental check) is
corrected by another estimate than the month's. Here a report is corrected by the estimate
from the samples of the days (the batch's zone's, the agreement's local days in a check:
:meth:`~truceline.core.fusion.batch.FireBatch.days`) **up to its own**, but
for the day's first ``halo_s`` (an hour), corrected by the days **before** its own.

Why: a day is fused with a halo of the neighbouring days' reports (an event heard across
midnight belongs to the day of its first report and takes its later reports with it;
docs/partitions.md, item 3). The next day's halo reports must not take that day's estimate:
the batch holds only the first minutes of it, and the next day's arrival would move the day
before. Corrected by the days before, they read the samples of the days up to the one fused,
which that fusion makes itself (its own groups, whole). The day's other reports, and the
halo before it (the end of the day before), read the same: a day re-fused with the earlier
days' samples (:class:`Prior`) corrects every report it reads exactly as the whole run did,
if its halo is at most ``halo_s``. The run's first day (its earliest report's) has no day
before, and its first hour is corrected by its own samples too (no day fused again holds it
as a halo; :attr:`Prior.first` tells a day fused again which day that is). A late report on
a day before it makes that day the first, so every day from the new one is fused again, as
any report on an earlier day requires (its samples move every later day's corrections).
Corrected by the days before alone (session 18), the run's first day was never corrected and
each day's by one day less than this rule: on the simulated weeks, which start at 22:00 UTC,
their first 26 hours by two hours' samples at most (BENCHMARKS.md, session 19, helper hC).

A sample counts for the day of its group's first report (the day that owns the group, as
partitions own them), so a day alone makes the samples the whole run made of its groups.
The statistics a day keeps are its samples themselves (:class:`Samples`: source, group,
residual plus the correction applied, variance; a few per source and day), not sums: the
estimator's inlier test is against a median. Passes correct one source at a time, as the
whole-batch rule does, so a day's samples are kept per pass (a run that stopped early
repeats its last); stored, they would be rows keyed by (day, pass) beside the day's
incidents. The per-source report (``truceline sources``) pools the last pass's samples of
every day, and takes its counts and clock offsets from every day's other contributions
(:mod:`.source_days`: a day fused again is given the earlier days', :attr:`Prior.sources`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray

from truceline.core.fusion.batch import Candidates, FireBatch
from truceline.core.fusion.calibration import (
    CalibrationParams,
    SourceCalibration,
    SubFixes,
    estimate,
    flags,
    leave_one_out_kept,
    shown,
    strongest,
    weakest,
)
from truceline.core.fusion.locate import Fixes, LocateParams
from truceline.core.fusion.source_days import SourceDays, contributions, extended
from truceline.core.fusion.twin_samples import crossed_twins, differences, repeated, unpaired

__all__ = ["SAMPLE_FIELDS", "Prior", "Samples", "consistent", "day_corrections", "fuse_daily",
           "one_per_partner", "with_earlier_sources"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class Samples:
    """One pass's leave-one-out samples, in order of day (then of the batch's rows)."""

    source: NDArray[Any]  #: source id (text: the same in any batch)
    day: I64  #: day of the sample's group's first report
    group: I64  #: the group's label in its batch and pass (with ``day``: one group; kept: its rank)
    total: F64  #: residual plus the correction the bearing had (radians): the bias
    var: F64
    #: the correction the bearing had (degrees): what its group's other samples say the
    #: other sources were corrected by when it was made (:func:`consistent`); none: 0
    applied: F64 = field(default_factory=lambda: np.zeros(0))
    #: the source a twin sample is the difference against (:mod:`.twin_samples`: the report's
    #: flags only, never a correction); "": a leave-one-out sample
    #: (objects: one pointer a sample; as text as wide as a source id, a month's pools of
    #: passes and days held ~0.1 GB more at the 907k check's peak)
    partner: NDArray[Any] = field(default_factory=lambda: np.zeros(0, object))

    def __post_init__(self) -> None:
        if len(self.applied) != len(self.day):
            object.__setattr__(self, "applied", np.zeros(len(self.day)))
        if len(self.partner) != len(self.day):
            object.__setattr__(self, "partner", np.full(len(self.day), "", object))
        elif np.asarray(self.partner).dtype != object:
            object.__setattr__(self, "partner", np.asarray(self.partner, object))

    def __len__(self) -> int:
        return len(self.day)

    @property
    def twin(self) -> NDArray[np.bool_]:
        """Whether each sample is a twin sample (a difference against ``partner``)."""
        return np.asarray(self.partner != "")

    def take(self, m: NDArray[Any]) -> Samples:
        return Samples(self.source[m], self.day[m], self.group[m], self.total[m], self.var[m],
                       self.applied[m], self.partner[m])

    def before(self, day: int) -> Samples:
        """The samples of the days before ``day`` (what a re-fusion of ``day`` reads)."""
        return self.take(self.day < day)

    def __add__(self, other: Samples) -> Samples:
        return Samples(*(np.concatenate([getattr(self, k), getattr(other, k)])
                         for k in SAMPLE_FIELDS))


#: the fields of :class:`Samples`, in order
SAMPLE_FIELDS = ("source", "day", "group", "total", "var", "applied", "partner")


@dataclass(frozen=True, eq=False)
class Prior:
    """The samples of the days before ``day``, one :class:`Samples` per pass of the run that
    made them; a batch fused with it owns the samples of ``day`` on."""

    passes: tuple[Samples, ...]
    day: int
    #: The run's first day (its earliest report's): its first hour is corrected by its own
    #: samples, as the rest of it (no day before it holds that hour as its halo).
    first: int
    #: What the days before ``day`` contribute to the per-source report besides their
    #: samples (:mod:`.source_days`): the report is of every day, as a run of them all.
    sources: SourceDays = field(default_factory=SourceDays.empty)


def _report_days(b: FireBatch, halo_s: float) -> tuple[I64, NDArray[np.bool_]]:
    """Each report's day (one without a time: the batch's first), and whether it is in
    the day's first ``halo_s``."""
    t, fin = b.t, np.isfinite(b.t)
    t = np.where(fin, t, t[fin].min() if fin.any() else 0.0)
    day = b.days(t)
    return day, b.days(t - halo_s) < day


def _samples(b: FireBatch, labels: I64, fixes: Fixes, cd: Candidates, p: CalibrationParams,
             lp: LocateParams, names: NDArray[Any], applied_deg: F64, rday: I64,
             known: SubFixes | None = None) -> tuple[Samples, SubFixes | None]:
    """The pass's samples, each with its group's day (of its first report), and its
    leave-one-out fixes for the next pass (``known``: the pass before's)."""
    G = len(fixes.x)
    gday = np.full(G, np.iinfo(np.int64).max)
    np.minimum.at(gday, labels, rday)
    rows, res, var, kept = leave_one_out_kept(b, labels, fixes, cd, p, lp, known)
    s = Samples(names[b.source[rows]], gday[labels[rows]], labels[rows],
                res + np.radians(applied_deg[rows]), var, applied_deg[rows])
    s = s + _twins(b, labels, fixes, gday, p, names, applied_deg)
    return s.take(np.argsort(s.day, kind="stable")), kept


def _twins(b: FireBatch, labels: I64, fixes: Fixes, gday: I64, p: CalibrationParams,
           names: NDArray[Any], applied_deg: F64) -> Samples:
    """The pass's twin samples (:mod:`.twin_samples`), both ways, where both groups are
    located (their mean is the event the parallax is taken to): a couple's samples share
    their match's group (its first's label: two groups of two bearings have no
    leave-one-out sample) and day (the earlier of the two groups')."""
    a0, c0 = crossed_twins(b, labels, p.twins)
    ga, gc = labels[a0], labels[c0]
    ok = fixes.located[ga] & fixes.located[gc]
    a0, c0, ga, gc = a0[ok], c0[ok], ga[ok], gc[ok]
    x, y = (fixes.x[ga] + fixes.x[gc]) / 2, (fixes.y[ga] + fixes.y[gc]) / 2
    grp = np.tile(ga, 2)  # a0: the match's first group, at both points
    day = np.tile(np.minimum(gday[ga], gday[gc]), 2)
    a, c = np.concatenate([a0, c0]), np.concatenate([c0, a0])
    res = differences(b, a, c, np.tile(x, 2), np.tile(y, 2))
    return Samples(names[b.source[a]], day, grp, res + np.radians(applied_deg[a]),
                   b.brg_sd[a] ** 2 + b.brg_sd[c] ** 2, applied_deg[a],
                   names[b.source[c]].astype(str).astype(object))


def _indexed(s: Samples, names: NDArray[Any]) -> tuple[I64, int]:
    """Each sample's source as an index of ``names`` (the last of a name given twice), the
    others after them in sorted order; and how many. By a dict of the few hundred names,
    not a sort of every sample's text (a month's pool: ~0.2 s a call, several a check)."""
    at = {n: k for k, n in enumerate(np.asarray(names).astype(str).tolist())}
    S = len(names)
    src = np.asarray(s.source).astype(str).tolist()
    other = sorted(set(src) - at.keys())
    at.update((n, S + k) for k, n in enumerate(other))
    return np.fromiter(map(at.__getitem__, src), np.int64, len(src)), S + len(other)


def _groups(s: Samples) -> I64:
    """Each sample's group (its day and label) as an index, in (day, label) order: what
    ``np.unique`` over the pairs gives, from one integer key (~40x faster on a month)."""
    if not len(s):
        return np.zeros(0, np.int64)
    lo = int(s.group.min())
    key = (s.day - int(s.day.min())) * (int(s.group.max()) - lo + 1) + (s.group - lo)
    return np.unique(key, return_inverse=True)[1].reshape(-1).astype(np.int64)


def consistent(src: I64, grp: I64, applied: F64, now: F64, p: CalibrationParams
               ) -> NDArray[np.bool_]:
    """Whether each sample was made with the other sources of its group corrected as ``now``
    (per source index, degrees) says, within ``p.floor_deg``.

    A sample is its source's residual against a fix of the others: made while another
    source of the group was corrected otherwise (an earlier day that picked the other of
    two posts fixing an event together, or had not yet corrected it), it holds that
    source's error, not its own. Pooled with samples made after, it shows a bias the later
    days' fixes do not have, and the pool corrects or flags the wrong source (a run whose
    first day, 21 events, picked the honest post of a pair: BENCHMARKS.md, session 20,
    helper hD). The whole-batch rule makes every sample again each pass; a day cannot make
    the earlier days' again, so it leaves out theirs that disagree. Within the floor, a
    correction is one calibration would not change."""
    off = (np.abs(applied - now[src]) > p.floor_deg).astype(np.int64)
    G = int(grp.max()) + 1 if len(grp) else 0
    return np.asarray(np.bincount(grp, off, minlength=G)[grp] - off == 0)


def day_corrections(s: Samples, names: NDArray[Any], days: I64, old: F64,
                    p: CalibrationParams) -> F64:
    """Per source (``names``) and day (``days``): the correction (degrees) from the samples
    of the days before that are :func:`consistent` with the day's corrections in ``old``,
    where what is left of a bias over ``old`` is shown and the strongest among the sources
    it shares groups with (as :func:`.calibration.calibrate` picks), else ``old``'s."""
    s = s.take(~s.twin)  # twin samples flag, never correct (:mod:`.twin_samples`)
    if not len(s):
        return old.copy()
    src, S_all = _indexed(s, names)
    S = len(names)
    grp = _groups(s)
    new = old.copy()
    for j, e in enumerate(days.tolist()):
        now = np.concatenate([old[:, j], np.zeros(S_all - S)])
        m = (s.day < e) & consistent(src, grp, s.applied, now, p)
        if not m.any():
            continue
        n_in, mean, se_deg = estimate(src[m], s.total[m], s.var[m], S_all, p)
        left = mean - now
        pick = strongest(shown(left, n_in, se_deg, p), np.abs(left) / se_deg, src[m], grp[m])
        new[:, j] = np.where(pick[:S], np.nan_to_num(mean[:S]), old[:, j])
    return new


def with_earlier_sources(names: NDArray[Any], passes: tuple[Samples, ...]) -> NDArray[Any]:
    """``names``, then the earlier days' sources that report nothing in the batch: they hold
    corrections too (the whole run's), and without them their corrected bias would count as
    unexplained and, the strongest among the sources they share groups with, stop those
    being corrected (:func:`day_corrections`)."""
    own = np.asarray(names).astype(str)
    # a set of the few hundred names, not a sort of every sample's text (the month's pool,
    # each pass's, at every day: ~0.8 % of the 907k check); passes repeated once each
    seen: set[str] = set()
    cols = [np.asarray(s.source) for s in {id(s): s for s in passes}.values()]
    for c in cols:
        seen.update(map(str, c.tolist()))
    # the text width the passes' texts joined had (a unique keeps it)
    if not cols:
        return np.concatenate([own, np.zeros(0, str)])
    width = (max(c.dtype.itemsize // 4 for c in cols) if all(c.dtype.kind == "U" for c in cols)
             else max(map(len, seen), default=1))
    dtype = np.dtype(f"<U{max(width, 1)}")
    return np.concatenate([own, np.setdiff1d(np.asarray(sorted(seen), dtype), own)])


def _report(s: Samples, everyone: NDArray[Any], days: SourceDays, p: CalibrationParams,
            last: F64) -> SourceCalibration:
    """The per-source report of every day: the estimator over every day's samples
    :func:`consistent` with the last day's corrections ``last`` (of ``everyone``:
    :func:`with_earlier_sources`, the batch's sources first), the counts and clock offsets
    from every day's contributions ``days`` (:mod:`.source_days`). Indexed by ``everyone``,
    then the sources only ``days`` names: a day fused again with the earlier days' samples
    and contributions reports what a run of every day does, and of the same sources. Twin
    samples count as :mod:`.twin_samples` says (``repeated``, ``unpaired``, one per partner)."""
    ids = extended(everyone, days.ids())
    S = len(ids)
    src, _ = _indexed(s, ids)
    now = np.concatenate([last, np.zeros(S - len(last))])
    grp = _groups(s)
    keep = consistent(src, grp, s.applied, now, p)
    s, src, grp = s.take(keep), src[keep], grp[keep]
    keep = ~repeated(s.source, s.partner, grp)
    s, src, grp = one_per_partner(s.take(keep), src[keep], grp[keep])
    bearings, timed, offset, offset_se = days.estimates(ids, p)
    used = np.bincount(src, minlength=S).astype(np.int64)
    n_in, mean, se_deg = estimate(src, s.total, s.var, S, p)
    bias = np.where(n_in > 0, mean, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        wild = np.where(used > 0, (used - n_in) / np.maximum(used, 1), np.nan)
    least = unpaired(weakest(src, s.total, s.var, bias, S, p, grp), src, s.twin)
    flagged = flags(bias, n_in, se_deg, p, least, src, grp)
    return SourceCalibration(bearings, used, bias, se_deg, flagged, wild,
                             timed, offset, offset_se, now, np.zeros(S, bool), ids)


def one_per_partner(s: Samples, src: I64, grp: I64) -> tuple[Samples, I64, I64]:
    """``s`` (with each sample's source index ``src`` and group ``grp``) with a source's twin
    samples against one partner as one: their inverse-variance mean (the first's group and
    day). Repeated against one partner, a difference repeats the partner's bias too: a
    camera beside a biased post would reach ``min_events`` on its partner's error alone."""
    tw = np.flatnonzero(s.twin)
    if not len(tw):
        return s, src, grp
    key = np.char.add(np.char.add(np.asarray(s.source[tw]).astype(str), "\0"),
                      np.asarray(s.partner[tw]).astype(str))
    _, first, inv = np.unique(key, return_index=True, return_inverse=True)
    inv = inv.reshape(-1)
    w = np.bincount(inv, 1.0 / s.var[tw])
    total = np.bincount(inv, s.total[tw] / s.var[tw]) / w
    keep = np.concatenate([np.flatnonzero(~s.twin), tw[first]])
    out = s.take(keep)
    n = len(keep) - len(first)
    out.total[n:], out.var[n:] = total, 1.0 / w
    order = np.argsort(keep, kind="stable")
    return out.take(order), src[keep][order], grp[keep][order]


class _Fused(Protocol):
    @property
    def labels(self) -> I64: ...
    @property
    def fixes(self) -> Fixes: ...


R = TypeVar("R", bound=_Fused)


def fuse_daily(b: FireBatch, fuse_pass: Callable[[FireBatch, int], R],
               cands: Callable[[FireBatch], Candidates], p: CalibrationParams,
               lp: LocateParams, names: NDArray[Any], prior: Prior | None = None,
               settle: Callable[[], object] | None = None, moved: set[int] | None = None,
               report: bool = True,
               ) -> tuple[R, SourceCalibration | None, tuple[Samples, ...], SourceDays]:
    """Fuse ``b`` (``fuse_pass``); then, up to ``p.passes`` times, correct each report by
    :func:`day_corrections` of the pass before (the days up to its own; in a day's first
    ``p.halo_s``, but for the run's first day, before it) and fuse again; stops when no correction
    moves (and ``prior`` has no later pass), and takes the pass before where no bearing of
    ``b`` moves. Returns the last pass, the report (of every
    day: ``prior``'s and the batch's), each pass's samples of the days from ``prior.day``
    (all days without ``prior``) and those days' other contributions to it. A pass is
    let go, and ``settle`` called, before the next one (as :func:`.pipeline.fuse_batch`).
    ``fuse_pass`` is given the pass's index; ``moved``: the passes that read another input
    than the pass before besides the corrections (the earlier days' winds), fused again
    though no correction moves. ``report`` False: no report (None; a check by day parts
    keeps only its last part's, each made over every day's pooled samples: ~1.6 % of the
    907k check)."""
    rday, head = _report_days(b, p.halo_s)
    own = -np.inf if prior is None else prior.day
    day0 = (int(rday.min()) if len(b) else 0) if prior is None else prior.first
    if len(b) and rday.min() < day0:
        raise ValueError(f"reports before the run's first day ({day0}): fuse the days from "
                         f"{int(rday.min())} again")
    # each report is corrected by the samples of the days before this one
    upto, col = np.unique(np.where(head & (rday > day0), rday, rday + 1), return_inverse=True)
    earlier_passes = prior.passes if prior is not None else ()
    everyone = with_earlier_sources(names, earlier_passes)
    c = np.zeros((len(everyone), len(upto)))
    applied = np.zeros(len(b))
    live = ~np.isnan(b.brg)  # the rows a correction moves (a sample's among them)
    nb, res = b, fuse_pass(b, 0)

    known: list[SubFixes | None] = [None]  # the pass before's leave-one-out fixes

    def made_by(fb: FireBatch, r: R) -> Samples:
        s, known[0] = _samples(fb, r.labels, r.fixes, cands(fb), p, lp, names, applied, rday,
                               known[0])
        return s.take(s.day >= own)

    made = [made_by(nb, res)]
    for k in range(1, p.passes + 1):
        earlier = (earlier_passes[min(k - 1, len(earlier_passes) - 1)] if earlier_passes
                   else None)
        pool = made[-1] if earlier is None else earlier + made[-1]
        new = day_corrections(pool, everyone, upto, c, p)
        if np.array_equal(new, c) and k not in (moved or set()):
            if k > len(earlier_passes) - 1:
                break
            made.append(made[-1])  # the same corrections fuse to the same
            continue
        c = new
        was, applied = applied, c[b.source, col.reshape(-1)]
        if k not in (moved or set()) and np.array_equal(applied[live], was[live]):
            # only sources without a bearing here were corrected anew (a day part's earlier
            # days' sources): the same bearings fuse to the same and make the same samples
            made.append(made[-1])
            continue
        nb = FireBatch(**{**{f: getattr(b, f) for f in b.__dataclass_fields__},
                          "brg": b.brg - np.radians(applied)})
        del res
        if settle is not None:
            settle()
        res = fuse_pass(nb, k)
        made.append(made_by(nb, res))
    pool = made[-1] if not earlier_passes else earlier_passes[-1] + made[-1]
    days = contributions(nb, res.labels, res.fixes, p, names, rday, own)
    earlier_days = prior.sources if prior is not None else SourceDays.empty()
    if not report:
        return res, None, tuple(made), days
    cal = _report(pool, everyone, earlier_days + days, p, c[:, -1])
    return res, cal, tuple(made), days
