"""The sector chart of the service: one CUSUM over a sector's categories, the alarm naming the
category that drove it; and the dispersion it is designed with."""

from __future__ import annotations

import numpy as np
import pytest

from truceline.core.alarm_bound import joint_arl, joint_threshold
from truceline.core.alarm_model import Baseline, nb_draw, pooled_dispersion, sector_dispersion
from truceline.core.alarm_sector import chart_dispersion, detect_sector
from truceline.core.early_warning import Series, detect
from truceline.errors import ValidationError

DAYS = tuple(f"d{i:03d}" for i in range(80))
# (category, rate at full coverage, NB size): a quiet sector, as zaporizhzhia_dnipro's fit
QUIET = (("fire incidents", 4.4, 1.4), ("explosion: impact", 3.9, 0.4),
         ("explosion: outgoing", 3.9, 0.4), ("explosion: undetermined", 6.4, 0.4))


def _sector(rng: np.random.Generator, factors: dict[str, float], start: int = 60
            ) -> list[Series]:
    cov = rng.uniform(0.5, 0.8, len(DAYS))
    after = np.arange(len(DAYS)) >= start
    return [
        Series("z", cat, DAYS, nb_draw(rng, rate * cov * np.where(after, factors.get(cat, 1.0),
                                                                     1.0), size), cov)
        for cat, rate, size in QUIET
    ]


def _design(series: list[Series], rng: np.random.Generator) -> tuple[list[float], list[float]]:
    """Each series' chart dispersion against a pool of itself and four sectors like it."""
    out = []
    for s in series:
        rate, size = next((r, z) for c, r, z in QUIET if c == s.category)
        pool = [(nb_draw(rng, rate * s.coverage[:28], size), s.coverage[:28]) for _ in range(4)]
        out.append(chart_dispersion(s.counts[:28], s.coverage[:28],
                                    [*pool, (s.counts[:28], s.coverage[:28])]))
    return [d for d, _ in out], [se for _, se in out]


def test_the_alarm_names_the_category_that_rose_and_shows_every_category() -> None:
    hits = 0
    for seed in range(6):
        rng = np.random.default_rng(seed)
        series = _sector(rng, {"fire incidents": 3.0})
        disp, ses = _design(series, rng)
        _, h, alarms = detect_sector(series, dispersions=disp, dispersion_ses=ses)
        late = [a for a in alarms if a.day >= "d060"]
        if not late:
            continue
        hits += 1
        a = late[0]
        assert a.category == "fire incidents"
        assert max(a.contributions, key=lambda c: a.contributions[c]) == a.category
        assert set(a.contributions) == {c for c, _, _ in QUIET}
        assert a.statistic >= h == a.threshold
        row = a.evidence[-1]
        assert row["count"] == row["categories"][a.category]["count"]
        # the day's step of the statistic is the sum of the categories' llrs
        assert set(row["categories"]) == set(a.contributions)
    assert hits >= 5


def test_same_series_same_threshold_and_alarms() -> None:
    rng = np.random.default_rng(7)
    series = _sector(rng, {c: 2.0 for c, _, _ in QUIET})
    disp, ses = _design(series, rng)
    a = detect_sector(series, dispersions=disp, dispersion_ses=ses)
    b = detect_sector(series, dispersions=disp, dispersion_ses=ses)
    assert a[1] == b[1] and [x.to_record() for x in a[2]] == [x.to_record() for x in b[2]]


def test_one_chart_sees_a_quiet_sectors_doubling_sooner_than_separate_charts() -> None:
    """A doubling of every category of a quiet sector: the sector chart at ARL0 456 against
    one chart per category at 4 x 456 (the service before), on the same counts."""
    joint, separate = [], []
    for seed in range(8):
        rng = np.random.default_rng(50 + seed)
        series = _sector(rng, {c: 2.0 for c, _, _ in QUIET})
        disp, ses = _design(series, rng)
        _, _, alarms = detect_sector(series, dispersions=disp, dispersion_ses=ses)
        late = [int(a.day[1:]) - 60 for a in alarms if a.day >= "d060"]
        joint.append(min(late, default=99))
        each = [
            int(a.day[1:]) - 60
            for s, d, se in zip(series, disp, ses, strict=True)
            for a in detect(s, arl0=4 * 456.0, dispersion=d, dispersion_se=se)[2]
            if a.day >= "d060"
        ]
        separate.append(min(each, default=99))
    assert np.median(joint) < np.median(separate)
    assert np.median(joint) <= 12


def test_the_dispersion_is_never_below_the_series_own() -> None:
    """A burstier sector than its pool keeps its own variance-to-mean ratio (shrinking it
    toward a calmer pool made it alarm too often); the error allowed is at least the
    chi-square's twice over, at most the excess itself."""
    rng = np.random.default_rng(1)
    cov = np.full(28, 0.7)
    calm = [(nb_draw(rng, 30 * cov, 20.0), cov) for _ in range(4)]
    bursty = nb_draw(rng, 30 * cov, 3.0)
    pool = [*calm, (bursty, cov)]
    own = pooled_dispersion([(bursty, cov)])
    shrunk, _ = sector_dispersion(bursty, cov, pool)
    d, se = chart_dispersion(bursty, cov, pool)
    assert own > shrunk and d == pytest.approx(own)
    assert se >= min(2 * d * np.sqrt(2 / 27), d - 1) - 1e-12


def test_a_calm_series_error_adds_its_own_evidence_to_the_pools() -> None:
    """A series calmer than its pool keeps the shrunk (higher) dispersion; the error its
    threshold allows is the posterior's of two sources, the pool with the sectors' spread and
    its own baseline (WIDTH times the chi-square's), narrower than either: until 2026-12-05
    it was the larger of the two, and a calm sector's threshold allowed for dispersions its
    own evidence rules out."""
    rng = np.random.default_rng(1)
    cov = np.full(28, 0.7)
    bursty = [(nb_draw(rng, 30 * cov, 3.0), cov) for _ in range(4)]
    calm = nb_draw(rng, 30 * cov, 60.0)
    pool = [*bursty, (calm, cov)]
    own = pooled_dispersion([(calm, cov)])
    shrunk, prior = sector_dispersion(calm, cov, pool)
    d, se = chart_dispersion(calm, cov, pool)
    assert own < d == pytest.approx(shrunk)
    chi = min(2 * d * np.sqrt(2 / 27), d - 1)
    assert 0 < se < min(prior, chi)
    assert se == pytest.approx(1 / np.sqrt(1 / prior**2 + 1 / chi**2))


def test_a_calm_sectors_threshold_keeps_its_promise_nearer_the_known_parameters() -> None:
    """A sector calmer than its four neighbours (dispersions six times lower): its own 28
    days narrow the margin its threshold keeps over the threshold of known parameters (before
    2026-12-05: 2.3-3.9, the quiet sector's delay 5-7 days where 2-3 were possible), and its
    chart still sees fewer than one false alarm per 456 days at its true model (the chain)."""
    days = DAYS[:40]
    calm = (("fire incidents", 10.0, 40.0), ("explosion: impact", 6.0, 8.0))
    for seed in range(4):
        rng = np.random.default_rng(seed)
        cov = rng.uniform(0.5, 0.8, len(days))
        series = [Series("calm", c, days, nb_draw(rng, r * cov, z), cov) for c, r, z in calm]
        design = []
        for s, (_, rate, size) in zip(series, calm, strict=True):
            pool = [(nb_draw(rng, rate * cov[:28], size / 6), cov[:28]) for _ in range(4)]
            design.append(chart_dispersion(s.counts[:28], cov[:28],
                                           [*pool, (s.counts[:28], cov[:28])]))
        bases, h, _ = detect_sector(series, dispersions=[d for d, _ in design],
                                    dispersion_ses=[se for _, se in design])
        truths = [Baseline(r, z, b.days, b.coverage)
                  for (_, r, z), b in zip(calm, bases, strict=True)]
        assert h - joint_threshold(bases, 456.0) < 1.8
        assert joint_arl(bases, truths, h) >= 456.0


def test_series_of_different_sectors_or_days_are_refused() -> None:
    rng = np.random.default_rng(2)
    series = _sector(rng, {})
    other = Series("y", *(series[1].category, series[1].days, series[1].counts,
                          series[1].coverage))
    with pytest.raises(ValidationError) as e:
        detect_sector([series[0], other], dispersions=[2.0, 2.0], dispersion_ses=[0.5, 0.5])
    assert e.value.field == "series"
    with pytest.raises(ValidationError) as e:
        detect_sector([], dispersions=[], dispersion_ses=[])
    assert e.value.field == "series"


def test_a_sector_of_rare_categories_still_has_its_fire_watched() -> None:
    """No category reaches once a day: the rest is all the sector's fire and is watched, since
    the sector chart leaves all fire out (found in review: such a sector's rounds were watched
    by no series)."""
    import numpy as np

    from truceline.services.early_warning import other_fire

    total = np.array([1.0, 2.0, 1.0, 0.0, 2.0, 1.0, 1.0, 30.0])  # 1.14 a day, then a surge
    got = other_fire(total, [], baseline=7)
    assert got is not None and list(got) == list(total)
    kept = [np.array([1.0, 2.0, 1.0, 0.0, 2.0, 0.0, 1.0, 1.0])]  # one kept category
    assert other_fire(total, kept, baseline=7) is None  # the rest: 1 in 7 days, rare
    kept = [np.zeros(8)]
    assert list(other_fire(total, kept, baseline=7)) == list(total)  # type: ignore[arg-type]
    assert other_fire(np.zeros(8), [], baseline=7) is None
