"""Self-calibration of sources: each one's bearing bias and clock offset from the events it
shares with others.

A compass that reads 8° off on every report is invisible in any one fix (the robust fix
down-weights the bearing, or is pulled by it), but it shows in the *sum* over the many events
the source shares with others. For every bearing of a located group of at least three
reports, the group is located again **without that report** (leave-one-out: the source's own
bearing cannot pull the reference it is measured against), and the signed, wrapped difference
``reported - azimuth to that fix`` is one sample of the source's bias, with the variance of
the bearing plus the fix's own uncertainty across the ray. A source's bias is the weighted
mean of its samples within ``inlier_sigma`` of their median (wild bearings, 20-90° off, do not
count), with a standard error widened where the samples scatter more than their sds say
beyond chance (chi-square test at 99 %, as a fix's covariance) and by the references' own
systematic error (``systematic_deg``), which no number of events averages out. It is
*flagged* when it has at least ``min_events`` samples and its bias exceeds both
``floor_deg`` and ``flag_se`` standard errors: under no bias, with the
samples' errors as stated, ``|bias| / se`` is about a standard normal or narrower, so a source is
flagged falsely with probability about 0.27 % per source and pass (a scatter above the
stated one that passes the 99 % test leaves it a little wider); the pipeline then subtracts
the bias from that source's bearings and fuses again
(:func:`~truceline.core.fusion.pipeline.fuse_batch`). The report also flags, without
correcting, the sources Benjamini-Hochberg's step-up test finds at 5 % false flags
(:func:`discoveries`): where a dozen posts show 4-30 se its cut falls to ~2.8 se, where none
does it is stricter than 3 se (with fewer than 19 sources tested it adds none: its first
cut would be looser than 3 se).

The clock offset is the median of ``report time - (emission time + sound travel)`` over the
groups whose emission time the acoustic arrays fixed (the time is not in the bearing fit, so
no report is left out); it includes the source's habitual reporting lag and the rounding of
its times (a monitor writes the minute), so a good clock shows as tens of seconds at most.

Pure and columnar: arrays in, arrays out, indexed by :attr:`FireBatch.source`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr

from truceline.core.fusion.batch import Candidates, FireBatch
from truceline.core.fusion.locate import (
    M_ARRIVAL,
    Fixes,
    LocateParams,
    locate,
    unit_variance_factor,
)
from truceline.core.fusion.twin_samples import TwinParams

__all__ = ["CalibrationParams", "SourceCalibration", "SubFixes", "calibrate", "clock_offsets",
           "corrected", "discoveries", "estimate", "flags", "leave_one_out",
           "leave_one_out_kept", "offsets_of", "shown", "strongest", "timed_delays", "weakest"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True)
class CalibrationParams:
    """When a source's bias counts as shown, and how much work the estimate may take."""

    #: Estimate the sources' biases and correct the flagged ones (fusing again).
    enabled: bool = True
    #: Fusion passes after the first, each with the bearings of the flagged sources corrected
    #: by the estimates of the pass before (stops early when the flagged set stays the same).
    passes: int = 3
    #: A bias is flagged only with at least this many samples (events shared with others;
    #: three, so that their median still rejects a wild one: with two, an unbiased post of a
    #: simulated week was flagged at -35° from two wild bearings, and even two that agree
    #: flagged three honest posts of the wind and wild-bearing weeks, 3-5 se from two
    #: references off by more than their covariance said) ...
    min_events: int = 3
    #: ... or, flagged in the report but not corrected, with two of two events (none set
    #: aside as wild) where each alone shows it:
    #: beyond this many of its own sds (with ``systematic_deg``) on the side of their mean.
    #: Under no bias, with the samples' errors as stated, both beyond 2.5 sds on one side
    #: has a chance of 2 x 0.0062² (8e-5) per source; one reference off by more than its
    #: covariance says (session 18's false flags from two samples: a camera's +13° and +2°)
    #: moves one sample, not both. Over the 27 simulated weeks the 544 honest sources with
    #: two samples showed at most 1.49 (the biased ones 2.0-3.5), and posts biased by 8-10°
    #: with two samples only (their other bearings in groups of one or two) were missed at
    #: 4.2-4.7 se. Not corrected: a day's pool of two samples corrected a source the whole
    #: week's did not flag, and moved the grouping (BENCHMARKS.md, session 27, helper hD).
    #: None: three samples at least.
    pair_z: float | None = 2.5
    #: ... only beyond this size (degrees: below it a compass is within its maker's spec) ...
    floor_deg: float = 2.0
    #: ... and only beyond this many standard errors ...
    flag_se: float = 3.0
    #: ... or, in the report only (never corrected), where Benjamini-Hochberg's step-up test
    #: over the sources with ``min_events`` samples shows it with at most this expected share
    #: of false flags (:func:`discoveries`): a fixed 3 se holds each honest source to 0.27 %
    #: whatever the others show, and missed biased posts at 2.5-2.9 se beside a dozen at
    #: 5-30. None: ``flag_se`` alone.
    flag_fdr: float | None = 0.05
    #: Error of a source's references that does not average out over its events (degrees,
    #: added in quadrature to the standard error): a post's fixes without it are made by the
    #: same few neighbours, whose own compasses (within ~0.5-1° by their makers' specs) and
    #: geometry err the same way every time. Without it, posts of the simulated weeks whose
    #: true bias was within 1.3° showed 2.3-3.5° at 3.3-5 standard errors (docs/fusion.md).
    systematic_deg: float = 1.0
    #: A sample further than this many sigmas from its source's median is a wild bearing.
    inlier_sigma: float = 3.5
    #: Groups of more reports than this are not used (their leave-one-out costs n²).
    max_group: int = 24
    #: A leave-one-out fix whose sd across the ray exceeds this (degrees) says too little.
    max_fix_sd_deg: float = 8.0
    #: Sound speed for the clock offsets' travel time (m/s).
    sound_speed_ms: float = 337.0
    #: Causal per day (:mod:`.calibration_days`): a report is corrected by what the
    #: days up to its own showed, so a later day never moves an earlier one; on by default
    #: (session 21: with ``LocateParams.stats_by_day`` the check is incremental, and each
    #: day keeps what it adds to the per-source report, :mod:`.source_days`, so an
    #: incremental check reports what a fusion of every day does). Off: one estimate from
    #: the whole batch, applied everywhere.
    daily: bool = True
    #: With ``daily``: a day's first this many seconds are corrected by the days before it
    #: alone, so that the day before, fused again with a halo of at most this, corrects
    #: them as the whole run does (a day is fused with a quarter of an hour's halo; tests
    #: use up to an hour).
    halo_s: float = 3600.0
    #: With ``daily``: the co-sited sources of crossed pairs give the report twin samples
    #: (:mod:`.twin_samples`; flags, never corrections).
    twins: TwinParams = field(default_factory=TwinParams)


@dataclass(frozen=True, eq=False)
class SourceCalibration:
    """Per source (index of :attr:`FireBatch.source`): what the shared events say about it.

    Angles in degrees (bias: reported minus true, so the correction subtracts it); NaN where
    there was nothing to estimate from.
    """

    bearings: I64  #: bearing reports of the source in the batch
    used: I64  #: of them, with a leave-one-out reference (events shared)
    bias_deg: F64
    bias_se_deg: F64
    flagged: NDArray[np.bool_]
    wild_rate: F64  #: share of the used bearings beyond ``inlier_sigma`` of the bias
    timed: I64  #: reports in groups whose emission time arrival times fixed
    clock_offset_s: F64
    clock_se_s: F64
    correction_deg: F64  #: what the pipeline subtracted from the source's bearings
    #: the bias still shown after that correction shows, and is the strongest among the
    #: sources it shares events with: the next pass corrects it by ``bias - correction``
    pick: NDArray[np.bool_]
    #: the source ids it is indexed by where they are not the batch's alone (per day: the
    #: batch's first, then the earlier days' others; :mod:`.source_days`)
    names: NDArray[np.str_] | None = None

    def __len__(self) -> int:
        return len(self.bearings)


def _wrap(a: F64) -> F64:
    return np.asarray((a + np.pi) % (2 * np.pi) - np.pi, float)


def _per_source_median(src: I64, v: F64, S: int) -> F64:
    out = np.full(S, np.nan)
    if not len(v):
        return out
    # np.lexsort((v, src))'s order, by two stable sorts: the sources' (a few hundred) as
    # 16-bit keys, which numpy radix-sorts (2.3x faster over the 907k month's pooled
    # samples, pooled again at every pass of one more day's check)
    order = np.argsort(v, kind="stable")
    key = src[order]
    if int(key.max()) <= np.iinfo(np.uint16).max:
        key = key.astype(np.uint16)
    order = order[np.argsort(key, kind="stable")]
    s_sorted = src[order]
    starts = np.searchsorted(s_sorted, np.arange(S))
    n = np.bincount(src, minlength=S)
    has = n > 0
    lo = starts[has] + (n[has] - 1) // 2
    hi = starts[has] + n[has] // 2
    out[has] = (v[order][lo] + v[order][hi]) / 2
    return out


#: Rows copied into one leave-one-out solve at most: the copies of a month's groups, one
#: sub-group per bearing, are several times the batch, and the solve's working arrays a
#: multiple of them (~0.9 GB at once at 907k reports).
LEAVE_OUT_ROWS = 100_000


def _sub_fixes(b: FireBatch, cd: Candidates, lp: LocateParams, rows: I64, sub: I64, n: int
               ) -> tuple[F64, F64, F64, NDArray[np.bool_]]:
    """Position, covariance and whether located of the ``n`` sub-groups ``sub`` (sorted:
    each sub-group's copied ``rows`` together), solved :data:`LEAVE_OUT_ROWS` rows at a
    time. Each group's fix reads only its own rows, in the same order, so the parts give
    the numbers one solve over all of them gives."""
    x, y = np.full(n, np.nan), np.full(n, np.nan)
    cov, located = np.full((n, 2, 2), np.nan), np.zeros(n, bool)
    at = 0
    while at < n:
        lo = int(np.searchsorted(sub, at, "left"))
        cut = min(lo + LEAVE_OUT_ROWS, len(sub))
        end = n if cut == len(sub) else max(at + 1, int(sub[cut]))
        hi = int(np.searchsorted(sub, end, "left"))
        part = rows[lo:hi]
        sf = locate(b.take(part, numbers_only=True), sub[lo:hi] - at, cd.take(part), lp)
        x[at:end], y[at:end], cov[at:end], located[at:end] = sf.x, sf.y, sf.cov, sf.located
        at = end
    return x, y, cov, located


@dataclass(frozen=True, eq=False)
class SubFixes:
    """One pass's leave-one-out fixes (:func:`leave_one_out`), for the next pass of the same
    batch to take where a group holds the same rows with the same bearings: a fix reads only
    its own rows (:func:`_sub_fixes`), and a calibration pass changes only the corrected
    sources' bearings (the 907k month's days fuse twice or more once a source is corrected,
    and most groups hold none of them)."""

    labels: I64  #: each row's group in that pass
    brg: F64  #: each row's bearing in that pass
    lead: I64  #: the rows left out, ascending
    x: F64
    y: F64
    cov: F64
    located: NDArray[np.bool_]


def _same_groups(labels: I64, G: int, brg: F64, known: SubFixes) -> NDArray[np.bool_]:
    """Per group: whether ``known``'s pass had a group of exactly its rows, each with the
    same bearing (NaN as NaN)."""
    ref = np.zeros(G, np.int64)
    ref[labels] = known.labels  # one row's group then, per group now
    ok = (known.labels == ref[labels]) & ((brg == known.brg) | (np.isnan(brg)
                                                               & np.isnan(known.brg)))
    size = np.bincount(labels, minlength=G)
    then = np.bincount(known.labels)
    return np.asarray((np.bincount(labels, ok, minlength=G) == size) & (then[ref] == size))


def leave_one_out(
    b: FireBatch, labels: I64, fixes: Fixes, cd: Candidates, p: CalibrationParams, lp: LocateParams
) -> tuple[I64, F64, F64]:
    """Each usable bearing row, its residual against the fix without it (radians, wrapped),
    and that residual's variance (the bearing's own plus the fix's across the ray)."""
    return leave_one_out_kept(b, labels, fixes, cd, p, lp)[:3]


def leave_one_out_kept(
    b: FireBatch, labels: I64, fixes: Fixes, cd: Candidates, p: CalibrationParams,
    lp: LocateParams, known: SubFixes | None = None,
) -> tuple[I64, F64, F64, SubFixes | None]:
    """:func:`leave_one_out`, and its fixes for the next pass; ``known``: the pass before's
    (of the same batch's rows, only bearings changed): its fixes of the groups whose rows
    and bearings are the same are taken, not solved again (the same numbers)."""
    G = len(fixes.x)
    if not G:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0), None
    size = np.bincount(labels, minlength=G)
    has_brg = np.isfinite(b.brg) & np.isfinite(b.ox)
    good = fixes.located & (size >= 3) & (size <= p.max_group)
    lead = np.flatnonzero(has_brg & good[labels])  # the rows left out, one sub-group each
    if not len(lead):
        return lead, np.zeros(0), np.zeros(0), None
    n = len(lead)
    sx, sy = np.full(n, np.nan), np.full(n, np.nan)
    c, located = np.full((n, 2, 2), np.nan), np.zeros(n, bool)
    todo = np.ones(n, bool)
    if known is not None and len(known.labels) == len(labels) and len(known.lead):
        at = np.minimum(np.searchsorted(known.lead, lead), len(known.lead) - 1)
        hit = (known.lead[at] == lead) & _same_groups(labels, G, b.brg, known)[labels[lead]]
        sx[hit], sy[hit], c[hit] = known.x[at[hit]], known.y[at[hit]], known.cov[at[hit]]
        located[hit] = known.located[at[hit]]
        todo = ~hit
    solve = lead[todo]
    order = np.argsort(labels, kind="stable")
    starts = np.searchsorted(labels[order], np.arange(G))
    n_of = size[labels[solve]]
    reps = np.repeat(np.arange(len(solve)), n_of)  # sub-group of each copied row
    within = np.arange(len(reps)) - np.repeat(np.cumsum(n_of) - n_of, n_of)
    rows = order[starts[labels[solve]][reps] + within]
    keep = rows != solve[reps]
    rows, sub = rows[keep], reps[keep]
    sx[todo], sy[todo], c[todo], located[todo] = _sub_fixes(b, cd, lp, rows, sub, len(solve))
    dx, dy = sx - b.ox[lead], sy - b.oy[lead]
    r2 = np.maximum(dx * dx + dy * dy, 1.0)
    pred = np.arctan2(dx, dy)
    # the fix's variance across the ray (unit vector (dy, -dx) / r), as an angle
    across = (c[:, 0, 0] * dy * dy - 2 * c[:, 0, 1] * dx * dy + c[:, 1, 1] * dx * dx) / r2
    var_fix = across / r2
    ok = located & np.isfinite(var_fix) & (var_fix <= np.radians(p.max_fix_sd_deg) ** 2)
    res = _wrap(b.brg[lead] - pred)
    kept = SubFixes(labels.copy(), b.brg.copy(), lead, sx, sy, c, located)
    return lead[ok], res[ok], (b.brg_sd[lead] ** 2 + var_fix)[ok], kept


def timed_delays(b: FireBatch, labels: I64, fixes: Fixes, p: CalibrationParams
                 ) -> tuple[I64, F64]:
    """The rows of reports in groups an arrival fix timed (but the arrivals themselves), and
    each one's delay: report time less emission time and the sound's travel (seconds)."""
    timed_g = fixes.located & (fixes.method & M_ARRIVAL > 0)
    rows = np.flatnonzero(
        timed_g[labels] & ~np.isfinite(b.arr) & np.isfinite(b.t) & np.isfinite(b.ox)
    )
    g = labels[rows]
    rng = np.hypot(fixes.x[g] - b.ox[rows], fixes.y[g] - b.oy[rows])
    sound = b.fire_type[rows] != "muzzle_flash"
    return rows, b.t[rows] - fixes.t0[g] - np.where(sound, rng / p.sound_speed_ms, 0.0)


def offsets_of(src: I64, delay: F64, S: int) -> tuple[I64, F64, F64]:
    """Per source (index ``src`` of each delay): delays, their median, and its standard
    error (from the MAD). Medians of the values: the order they come in does not matter."""
    n = np.bincount(src, minlength=S)
    med = _per_source_median(src, delay, S)
    mad = _per_source_median(src, np.abs(delay - med[src]), S)
    se = 1.4826 * 1.2533 * mad / np.sqrt(np.maximum(n, 1))  # the median's se, from the MAD
    return n.astype(np.int64), np.where(n > 0, med, np.nan), np.where(n > 1, se, np.nan)


def clock_offsets(
    b: FireBatch, labels: I64, fixes: Fixes, p: CalibrationParams, S: int
) -> tuple[I64, F64, F64]:
    """Per source: reports timed by an arrival fix, median delay, and its standard error."""
    rows, delay = timed_delays(b, labels, fixes, p)
    return offsets_of(b.source[rows], delay, S)


def calibrate(
    b: FireBatch,
    labels: I64,
    fixes: Fixes,
    cd: Candidates,
    params: CalibrationParams | None = None,
    locate_params: LocateParams | None = None,
    applied_deg: F64 | None = None,
) -> SourceCalibration:
    """Every source's bias and clock offset from one fusion pass (see the module docstring).

    ``applied_deg`` is the correction already subtracted from each source's bearings in ``b``;
    the estimates returned are totals (applied plus what is left).
    """
    p = params or CalibrationParams()
    lp = locate_params or LocateParams()
    S = int(b.source.max()) + 1 if len(b) else 0
    applied = np.zeros(S) if applied_deg is None else np.asarray(applied_deg, float)
    has_brg = np.isfinite(b.brg) & np.isfinite(b.ox)
    bearings = np.bincount(b.source[has_brg], minlength=S).astype(np.int64)
    rows, res, var = leave_one_out(b, labels, fixes, cd, p, lp)
    src = b.source[rows]
    n_in, left, se_deg = estimate(src, res, var, S, p)
    used = np.bincount(src, minlength=S).astype(np.int64)
    bias = applied + np.where(n_in > 0, left, 0.0)
    bias = np.where((n_in > 0) | (applied != 0), bias, np.nan)
    flagged = flags(bias, n_in, se_deg, p,
                    weakest(src, res + np.radians(applied)[src], var, bias, S, p, labels[rows]),
                    src, labels[rows])
    pick = strongest(shown(left, n_in, se_deg, p), np.abs(left) / se_deg, src, labels[rows])
    with np.errstate(invalid="ignore", divide="ignore"):
        wild = np.where(used > 0, (used - n_in) / np.maximum(used, 1), np.nan)
    timed, offset, offset_se = clock_offsets(b, labels, fixes, p, S)
    return SourceCalibration(
        bearings, used, bias, se_deg, flagged, wild, timed, offset, offset_se, applied, pick
    )


def estimate(src: I64, res: F64, var: F64, S: int, p: CalibrationParams
             ) -> tuple[I64, F64, F64]:
    """Per source: inlying samples, their weighted mean and its standard error (degrees;
    the mean NaN where none inlies, the error where fewer than two do), from residual
    samples ``res`` (radians) of variance ``var`` (the module docstring's estimator)."""
    inl = _inliers(src, res, var, S, p)
    w = np.where(inl, 1.0 / var, 0.0)
    sw = np.bincount(src, w, minlength=S)
    n_in = np.bincount(src, inl, minlength=S)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(src, w * res, minlength=S) / sw
        chi = np.bincount(src, w * (res - np.nan_to_num(mean)[src]) ** 2, minlength=S)
        # widened only where the samples disagree beyond chance (99 %), as a fix's covariance
        # is: widened by every sample's scatter above 1, a post 5.8° off was missed at 2.99
        # se, its one sample at 3.3 sigma (chi-square 15.4 on 7 degrees of freedom) taken as
        # everyone's spread
        scatter = unit_variance_factor(chi, n_in - 1)
        se = np.sqrt(scatter / sw)
    se_deg = np.where(n_in > 1, np.hypot(np.degrees(se), p.systematic_deg), np.nan)
    return n_in.astype(np.int64), np.degrees(mean), se_deg


def _inliers(src: I64, res: F64, var: F64, S: int, p: CalibrationParams) -> NDArray[np.bool_]:
    """Whether each sample lies within ``inlier_sigma`` of its source's median (else wild)."""
    med = _per_source_median(src, res, S)
    return np.asarray(np.abs(res - med[src]) <= p.inlier_sigma * np.sqrt(var))


def weakest(src: I64, res: F64, var: F64, v: F64, S: int, p: CalibrationParams, grp: I64
            ) -> F64:
    """Per source: the least of its samples' ``res`` (radians), each over its own sd with
    ``systematic_deg``, on the side of ``v`` (degrees; what :func:`shown` tests): the sample
    that shows the bias least. ``-inf`` where a sample is not an inlier (a third one set
    aside says the others may be wild) or two come from one group ``grp`` (one reference,
    not two: a camera's two wild bearings of one event showed -28° at 6 se)."""
    inl = _inliers(src, res, var, S, p)
    sd = np.sqrt(var + np.radians(p.systematic_deg) ** 2)
    z = np.sign(np.nan_to_num(v))[src] * res / sd
    out = np.full(S, np.inf)
    np.minimum.at(out, src, z)
    apart = np.bincount(_pair_sources(src, grp), minlength=S) == np.bincount(src, minlength=S)
    kept = np.bincount(src, ~inl, minlength=S) == 0
    return np.where(np.isfinite(out) & apart & kept, out, -np.inf)


def _pair_sources(src: I64, grp: I64) -> I64:
    """The source of each distinct (source, group) pair, sorted: what
    ``np.unique(np.stack([src, grp]), axis=1)[0]`` gives, from one integer key sorted (a
    month's pool: ~1 % of the 907k check by the columns' unique)."""
    if not len(src):
        return src
    lo = int(grp.min())
    span = int(grp.max()) - lo + 1
    key = np.sort(src.astype(np.int64) * span + (grp - lo))
    return key[np.concatenate([[True], key[1:] != key[:-1]])] // span


def shown(v: F64, n_in: I64, se_deg: F64, p: CalibrationParams, least: F64 | None = None
          ) -> NDArray[np.bool_]:
    """Whether a bias (or what is left of one) ``v`` is shown: enough samples (``min_events``,
    or two each beyond ``pair_z`` sds, ``least``: :func:`weakest`), beyond the floor and
    beyond ``flag_se`` standard errors."""
    enough = n_in >= p.min_events
    if p.pair_z is not None and least is not None:
        enough = enough | ((n_in == 2) & (least >= p.pair_z))
    return np.asarray(enough & (np.abs(v) >= p.floor_deg) & (np.abs(v) >= p.flag_se * se_deg))


def flags(v: F64, n_in: I64, se_deg: F64, p: CalibrationParams, least: F64, src: I64, grp: I64
          ) -> NDArray[np.bool_]:
    """The sources the report flags: :func:`shown` or :func:`discoveries` with ``min_events``
    samples (the corrections take :func:`shown` alone: a flag corrects nothing), and with two
    (``least``: :func:`weakest`) only the :func:`strongest` among the shown sources they share
    a group with (``src``, ``grp``: each sample's): never corrected, a biased post's error
    shows in the samples of the post facing it across their events too."""
    full = shown(v, n_in, se_deg, p) | discoveries(v, n_in, se_deg, p)
    pair = shown(v, n_in, se_deg, p, least) & ~full
    if not pair.any():
        return full
    return np.asarray(full | (pair & strongest(full | pair, np.abs(v) / se_deg, src, grp)))


def discoveries(v: F64, n_in: I64, se_deg: F64, p: CalibrationParams) -> NDArray[np.bool_]:
    """The sources with ``min_events`` samples whose bias ``v`` is beyond the floor and among
    the discoveries of Benjamini-Hochberg's step-up test at ``p.flag_fdr`` (two-sided normal
    p-values of ``|v| / se``): the expected share of honest sources among them is at most
    ``flag_fdr`` (the p-values independent or positively dependent). Where many sources show
    a bias strongly the cut falls below 3 se (a dozen over ~130 tested: ~2.8); where none
    does, it is stricter than 3 se (``flag_fdr / m``: ~3.5 at 130), so it adds no flag to a
    week a fixed 3 se flags nothing in unless ``k`` sources reach the k-th cut together.
    With few sources tested (``flag_fdr / m`` above the 3-se test's level: m < 19 at 5 %)
    its first cut would be looser than 3 se (1.96 se at m = 1): no flag is added there."""
    out = np.zeros(len(v), bool)
    tested = (n_in >= p.min_events) & np.isfinite(v) & np.isfinite(se_deg) & (se_deg > 0)
    m = int(tested.sum())
    if p.flag_fdr is None or not m or p.flag_fdr / m > 2.0 * ndtr(-p.flag_se):
        return out
    pv = 2.0 * ndtr(-np.abs(v[tested]) / se_deg[tested])
    ps = np.sort(pv)
    step = np.flatnonzero(ps <= np.arange(1, m + 1) * p.flag_fdr / m)
    if len(step):
        out[tested] = pv <= ps[step[-1]]
    return np.asarray(out & (np.abs(np.nan_to_num(v)) >= p.floor_deg))


def strongest(cand: NDArray[np.bool_], z: F64, src: I64, grp: I64) -> NDArray[np.bool_]:
    """The candidates whose ``z`` is the largest among the candidates they share a group with.

    Two observers facing each other across an event fix its position along one axis together,
    so a bias of either shows in the leave-one-out residuals of both; correcting both would
    swing the fix the other way. One at a time, strongest first, the other's residuals
    shrink once the first is corrected (and where the geometry cannot tell them apart, only
    one of them is corrected)."""
    zc = np.where(cand, np.nan_to_num(z), -1.0)
    if not len(grp):
        return np.zeros(len(cand), bool)
    top = np.full(int(grp.max()) + 1, -1.0)
    np.maximum.at(top, grp, zc[src])
    beaten = np.zeros(len(cand), bool)
    np.logical_or.at(beaten, src, zc[src] < top[grp])
    return cand & ~beaten


def corrected(b: FireBatch, correction_deg: F64) -> FireBatch:
    """``b`` with each source's bearings less its correction (degrees, per source)."""
    brg = b.brg - np.radians(np.asarray(correction_deg, float))[b.source]
    kw = {name: getattr(b, name) for name in b.__dataclass_fields__}
    kw["brg"] = brg
    return FireBatch(**kw)
