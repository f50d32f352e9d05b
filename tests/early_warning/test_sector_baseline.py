"""A sector's baseline grows while its counts are too thin to show a doubling in time
(:func:`~truceline.core.alarm_sector.design_sector`); an ordinary sector's stays 28 days."""

from __future__ import annotations

import numpy as np

from truceline.core.alarm_model import nb_draw
from truceline.core.alarm_sector import chart_dispersion, design_sector, detect_sector
from truceline.core.early_warning import Series
from truceline.simulation.alarms import SectorModel, evaluate_procedure

# (category, rate at full coverage, NB size) as fitted at scale 1 on the pooled models
# (bench/results/alarms_models_scale1.json): the quiet sector and an ordinary one
QUIET = (
    ("fire incidents", 9.83, 2.12),
    ("explosion: impact", 3.02, 0.30),
    ("explosion: outgoing", 7.19, 0.58),
    ("explosion: undetermined", 22.1, 1.01),
)
KHARKIV = (
    ("fire incidents", 29.9, 7.23),
    ("explosion: impact", 6.83, 0.77),
    ("explosion: outgoing", 16.4, 1.47),
    ("explosion: undetermined", 71.4, 3.65),
)
DAYS = 70


def _draw(rng: np.random.Generator, model: tuple, cov: float) -> tuple[list, np.ndarray]:
    c = rng.uniform(cov - 0.05, cov + 0.05, DAYS)
    return [nb_draw(rng, rate * c, size) for _, rate, size in model], c


def _pools(rng: np.random.Generator, model: tuple, c: np.ndarray) -> list[list]:
    """Per series, its category's 28-day baselines in five sectors like it."""
    return [
        [(nb_draw(rng, rate * c[:28], size), c[:28]) for _ in range(5)] for _, rate, size in model
    ]


def test_a_thin_sectors_baseline_grows_until_a_doubling_shows_in_time() -> None:
    grown = 0
    for seed in range(3):
        rng = np.random.default_rng(seed)
        ys, c = _draw(rng, QUIET, 0.6)
        pools = _pools(rng, QUIET, c)
        short = design_sector(ys, c, pools, available=DAYS, longest=28)
        design = design_sector(ys, c, pools, available=DAYS)
        assert short.baseline_days == 28
        assert 28 <= design.baseline_days <= 56 and design.ready
        assert (design.within >= 0.5) or design.baseline_days == 56
        if design.baseline_days > 28:
            grown += 1
            assert short.within < 0.5  # grown only because 28 days did not do
            assert design.within > short.within and design.h < short.h
    assert grown >= 2  # ~1 nat a day: 28 days leave the rates too uncertain


def test_an_ordinary_sector_keeps_its_28_days_and_its_threshold() -> None:
    rng = np.random.default_rng(4)
    ys, c = _draw(rng, KHARKIV, 0.7)
    pools = _pools(rng, KHARKIV, c)
    cats = [cat for cat, _, _ in KHARKIV]
    design = design_sector(ys, c, pools, available=DAYS, categories=cats)
    assert design.baseline_days == 28 and design.within >= 0.5
    series = [
        Series("k", cat, tuple(f"d{i:03d}" for i in range(DAYS)), y, c)
        for cat, y in zip(cats, ys, strict=True)
    ]
    disp = [chart_dispersion(y[:28], c[:28], p) for y, p in zip(ys, pools, strict=True)]
    _, h, _ = detect_sector(
        series, dispersions=[d for d, _ in disp], dispersion_ses=[se for _, se in disp]
    )
    assert design.h == h  # the same chart as before the baseline could grow


def test_growth_is_decided_on_the_days_up_to_it() -> None:
    rng = np.random.default_rng(0)
    ys, c = _draw(rng, QUIET, 0.6)
    pools = _pools(rng, QUIET, c)
    full = design_sector(ys, c, pools, available=DAYS)
    assert full.baseline_days > 28
    # the same data cut one day after the chosen baseline: the same chart
    n = full.baseline_days
    cut = design_sector([y[: n + 1] for y in ys], c[: n + 1], pools, available=n + 1)
    assert (cut.baseline_days, cut.h, cut.ready) == (n, full.h, True)
    # fewer days than the next step needs: not ready, nothing watched yet
    early = design_sector([y[:30] for y in ys], c[:30], pools, available=30)
    assert not early.ready and early.baseline_days == 35


def test_the_evaluator_scores_one_sector_on_a_full_runs_draws() -> None:
    """``only``: a paired rerun of the sectors a change touches gives their full-run figures."""
    cov = tuple(np.linspace(0.55, 0.65, 28).tolist())
    sectors = [SectorModel("quiet", QUIET, cov), SectorModel("kharkiv", KHARKIV, cov)]
    kw = {"reps": 1, "seed": 3, "watch_days": 120, "methods": ("sector",), "horizon": 15}
    full = evaluate_procedure(sectors, **kw)["sector"]
    alone = evaluate_procedure(sectors, only=("quiet",), **kw)["sector"]
    assert set(alone) == {"quiet"}
    assert alone["quiet"] == full["quiet"]
    assert full["kharkiv"]["baseline"] == [28]
