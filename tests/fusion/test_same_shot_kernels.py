"""The compiled loops of :mod:`truceline.core.fusion.same_shot_kernels` answer as the numpy
tests they replace (session 38: the same output, a dense check's 8 % cut): the reference
below is :func:`.same_shot.same_shots`' former loop, run on random fixes crowded enough that
every branch is taken (the rings, rivals, shared sources, linked fixes, singular sums)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from truceline.core.fusion.batch import ROLE_ANY, ROLE_ORIGIN
from truceline.core.fusion.group_join import group_sources
from truceline.core.fusion.same_shot import _m2
from truceline.core.fusion.same_shot_kernels import agree_sharper, agree_typed, source_runs

F = np.array([60.0, 60.0, 0.0, 9.0, 25.0, 0.0625, 9_000.0, 0.0, 0.25, 2.0])


def _world(seed: int, G: int = 300) -> dict:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, G, 3 * G)
    labels[:G] = np.arange(G)  # every group holds a report
    source = rng.integers(0, 40, len(labels))
    sd = rng.uniform(50.0, 6_000.0, G)
    cov = np.zeros((G, 2, 2))
    cov[:, 0, 0], cov[:, 1, 1] = sd**2, (sd * rng.uniform(0.3, 1.5, G)) ** 2
    cov[:, 0, 1] = cov[:, 1, 0] = rng.uniform(-0.5, 0.5, G) * sd**2
    cov[::37] = 0.0  # a singular pair sum agrees with none
    lo = rng.uniform(0.0, 600.0, G)
    hi = lo + rng.choice([0.0, 1.0, 60.0], G)
    part = rng.integers(-1, G, G)
    return dict(labels=labels, source=source, x=rng.normal(0.0, 8_000.0, G),
                y=rng.normal(0.0, 8_000.0, G), cov=cov, lo=lo, hi=hi,
                role=rng.integers(0, 3, G).astype(np.int8), side=rng.integers(-1, 2, G),
                unsure=rng.random(G) < 0.1, reports=rng.random(G) < 0.5,
                partner=np.where(rng.random(G) < 0.3, part, -1),
                size=np.bincount(labels, minlength=G))


def _reference(w: dict, us: np.ndarray, linked: bool) -> dict[int, list[int]]:
    """The former loop (each group's ``ok`` list; a linked fix's one sharper fix)."""
    margin, gap, lgap, m3, m5, ls2, reach, lone_gap, lk2, lmin = F.tolist()
    fx = SimpleNamespace(x=w["x"], y=w["y"], cov=w["cov"])
    role, side, unsure, partner, size = (w[k] for k in ("role", "side", "unsure", "partner",
                                                        "size"))
    lo, hi, tr = w["lo"], w["hi"], np.trace(w["cov"], axis1=1, axis2=2)
    own = size + np.where(partner >= 0, size[np.maximum(partner, 0)], 0)
    sources = group_sources(w["labels"], w["source"])
    out = {}
    for u in us.tolist():
        near = np.arange(len(role))[hi >= lo[u] - margin]
        if role[u] == ROLE_ANY:
            same = (role[near] != ROLE_ANY) & ~unsure[near]
        elif unsure[u]:
            same = role[near] == ROLE_ORIGIN
        else:
            same = (role[near] == role[u]) & (side[near] == side[u])
        if partner[u] >= 0 and not linked:
            if role[u] == ROLE_ANY:
                continue
            same = same | ((role[near] == ROLE_ANY) & w["reports"][near])
            near = near[(near != u) & same & (tr[near] < tr[u]) & (lo[near] <= hi[u] + lgap)
                        & (hi[near] >= lo[u] - lgap)]
            near = np.asarray([g for g in near.tolist() if not sources[g] & sources[u]],
                              np.int64)
            if not len(near):
                continue
            m2 = _m2(fx, u, near)  # type: ignore[arg-type]
            fit = np.flatnonzero(m2 <= (m5 if size[u] == 1 else m3))
            if len(fit) != 1:
                continue
            g = int(near[fit[0]])
            if partner[g] >= 0 or size[g] < lmin or tr[g] > lk2 * tr[u]:
                continue
            if float(m2[fit[0]]) > m3 and (tr[g] > ls2 * tr[u] or np.hypot(
                    w["x"][g] - w["x"][u], w["y"][g] - w["y"][u]) > reach):
                continue
            out[u] = [g]
            continue
        near = near[(near != u) & same & (tr[near] < tr[u]) & (own[near] > own[u])
                    & ((partner[u] < 0) | (partner[near] < 0))
                    & (lo[near] <= hi[u] + gap) & (hi[near] >= lo[u] - gap)]
        if not len(near):
            continue
        m2 = _m2(fx, u, near)  # type: ignore[arg-type]
        ok = [g for g in near[m2 <= m3].tolist() if not sources[g] & sources[u]]
        if not ok and size[u] == 1 and partner[u] < 0:
            ok = [g for g in near[m2 <= m5].tolist() if not sources[g] & sources[u]]
            if len(ok) == 1 and (tr[ok[0]] > ls2 * tr[u] or np.hypot(
                    w["x"][ok[0]] - w["x"][u], w["y"][ok[0]] - w["y"][u]) > reach
                    or lo[ok[0]] > hi[u] + lone_gap or hi[ok[0]] < lo[u] - lone_gap):
                ok = []
        if ok:
            out[u] = ok
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("linked", [False, True])
def test_agree_sharper_answers_as_the_numpy_tests(seed: int, linked: bool) -> None:
    w = _world(seed)
    G = len(w["role"])
    tr = np.trace(w["cov"], axis1=1, axis2=2)
    order = np.argsort(w["lo"], kind="stable")
    us = np.arange(G)
    own = w["size"] + np.where(w["partner"] >= 0, w["size"][np.maximum(w["partner"], 0)], 0)
    ptr, val = source_runs(w["labels"], w["source"], G)
    count, first = agree_sharper(
        us, np.zeros(G, np.int64), np.full(G, G, np.int64), order, w["hi"][order], w["lo"],
        w["hi"], w["role"], w["side"], w["unsure"], w["reports"], w["partner"], tr, own,
        w["size"], w["x"], w["y"], w["cov"], ptr, val, F, linked, True)
    ref = _reference(w, us, linked)
    # (the reference walks the groups in their numbering, the kernel in window order)
    got = {u: (k, g) for u, k, g in zip(us.tolist(), count.tolist(), first.tolist(),
                                        strict=True) if k}
    assert set(got) == set(ref)
    assert len(ref) > 20 and sum(len(v) > 1 for v in ref.values()) > 0
    for u, ok in ref.items():
        k, g = got[u]
        assert k == min(len(ok), 2)
        in_order = sorted(ok, key=lambda q: list(order).index(q))
        assert g == in_order[0]


@pytest.mark.parametrize("seed", [1, 2])
def test_agree_typed_and_source_runs_answer_as_the_sets(seed: int) -> None:
    w = _world(seed)
    G = len(w["role"])
    ptr, val = source_runs(w["labels"], w["source"], G)
    sources = group_sources(w["labels"], w["source"])
    assert all(set(val[ptr[g]:ptr[g + 1]].tolist()) == sources[g] for g in range(G))
    assert all(np.all(np.diff(val[ptr[g]:ptr[g + 1]]) > 0) for g in range(G))
    arrays, typed = np.arange(0, G, 3), np.arange(1, G, 3)
    count, first = agree_typed(arrays, typed, w["lo"], w["hi"], 60.0, 9.0, w["x"], w["y"],
                               w["cov"], ptr, val)
    fx = SimpleNamespace(x=w["x"], y=w["y"], cov=w["cov"])
    lo, hi = w["lo"], w["hi"]
    for u, k, g in zip(arrays.tolist(), count.tolist(), first.tolist(), strict=True):
        near = typed[(lo[typed] <= hi[u] + 60.0) & (hi[typed] >= lo[u] - 60.0)]
        fit = [q for q in near[_m2(fx, u, near) <= 9.0].tolist()  # type: ignore[arg-type]
               if not sources[q] & sources[u]] if len(near) else []
        assert k == min(len(fit), 2) and (g == fit[0] if fit else g == -1)
