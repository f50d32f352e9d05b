"""Partitions by tile and period, each with a halo, so fusion can run one partition per worker."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from truceline.core.classify import CompiledGeometry
from truceline.core.fusion.batch import FireBatch, GroupingParams, candidates
from truceline.core.fusion.grouping import group
from truceline.core.fusion.pipeline import FusionParams, FusionResult, _last, _locate_attribute

__all__ = ["fuse_partitioned", "partitions"]

I64 = NDArray[np.int64]


def partitions(b: FireBatch, params: FusionParams | None = None) -> list[tuple[I64, I64]]:
    """``(core, halo)`` rows of every partition (tile x period) that has reports.

    Every report is in exactly one core; a partition also reads the reports within
    ``halo_m`` / ``halo_s`` of its box, so that events on a border are grouped whole.
    """
    p = params or FusionParams()
    cd = candidates(b, p.grouping)
    x = np.where(cd.ok, cd.mx, 0.0)
    y = np.where(cd.ok, cd.my, 0.0)
    # days counted from a fixed instant (not the batch's first report): a day's batch
    # cuts where the month's does
    t = b.since_origin(np.where(np.isfinite(b.t_lo + b.t_hi), (b.t_lo + b.t_hi) / 2, 0.0))
    ix, iy = np.floor(x / p.tile_m), np.floor(y / p.tile_m)
    it = np.floor(t / p.period_s)
    keys = np.stack([ix, iy, it], axis=1)
    uniq, key = np.unique(keys, axis=0, return_inverse=True)
    out = []
    for k, (kx, ky, kt) in enumerate(uniq):
        core = np.flatnonzero(key == k)
        near = ((x >= kx * p.tile_m - p.halo_m) & (x < (kx + 1) * p.tile_m + p.halo_m)
                & (y >= ky * p.tile_m - p.halo_m) & (y < (ky + 1) * p.tile_m + p.halo_m)
                & (t >= kt * p.period_s - p.halo_s) & (t < (kt + 1) * p.period_s + p.halo_s))
        near[core] = False
        out.append((core, np.flatnonzero(near)))
    return out


def _group_part(args: tuple[FireBatch, I64, I64, GroupingParams]) -> list[I64]:
    """One partition's groups (global rows) whose first row is one of its own reports."""
    b, core, halo, gp = args
    rows = np.concatenate([core, halo])
    lab = group(b.take(rows), gp)
    order = np.lexsort((rows, lab))
    starts = np.flatnonzero(np.r_[True, lab[order][1:] != lab[order][:-1]])
    own = set(core.tolist())
    groups = np.split(rows[order], starts[1:])
    return [g for g in groups if int(g[0]) in own]  # g is sorted: g[0] is its first row


def fuse_partitioned(
    b: FireBatch,
    geometry: CompiledGeometry | None,
    params: FusionParams | None = None,
    *,
    map_fn: Callable[..., Iterable[Any]] = map,
) -> FusionResult:
    """:func:`fuse_batch` by partition: ``map_fn`` may be a process pool's ``map``.

    A group belongs to the partition holding its first report. Where two partitions disagree
    about a border report (rare: only when their halos see different neighbours), the
    partition owning the report keeps it and the other group goes on without it.
    """
    p = params or FusionParams()
    parts = partitions(b, p)
    owner = np.empty(len(b), np.int64)
    for k, (core, _) in enumerate(parts):
        owner[core] = k
    labels = np.full(len(b), -1, np.int64)
    claimed_by_owner = np.zeros(len(b), bool)
    next_id = 0
    for k, groups in enumerate(map_fn(_group_part, [(b, c, h, p.grouping) for c, h in parts])):
        for g in groups:
            mine = owner[g] == k
            take = np.where(labels[g] < 0, True, mine & ~claimed_by_owner[g])
            if not take.any():
                continue
            labels[g[take]] = next_id
            claimed_by_owner[g[take & mine]] = True
            next_id += 1
    lone = np.flatnonzero(labels < 0)
    labels[lone] = next_id + np.arange(len(lone))
    _, labels = np.unique(labels, return_inverse=True)  # dense after any emptied group
    return _last(_locate_attribute(b, labels.astype(np.int64), geometry, p, finish=False),
                 geometry, p, True)
