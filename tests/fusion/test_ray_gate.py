"""A distance band is a stretch of its ray: the gate tests the ray, not an ellipse about the
band's middle (docs/fusion.md, grouping step 3)."""

from __future__ import annotations

import math

import numpy as np

from tests.fusion.synth import Reports, bearing_report, offset, posts_around
from truceline.core.fusion.grouping import group
from truceline.core.fusion.ray_gate import joint_m2

A = (37.4, 48.2)


def _seen_near(r: Reports, event: int, target: tuple[float, float], t: float, seed: int,
               n: int = 3) -> None:
    """``n`` posts 3-4 km from ``target`` reporting it "2-5 km", their bearings 1 degree off
    at most."""
    rng = np.random.default_rng(seed)
    for k, post in enumerate(posts_around(target, n, rng, dist=(3_000, 4_000))):
        bearing_report(r, event, post, target, t + k, 2.0, rng, source=f"e{event}p{k}",
                       band=(2_000, 5_000), error_deg=float(rng.uniform(-1.0, 1.0)))


def test_a_band_judged_short_joins_its_event():
    """A post 18 km off reports "5-10 km" (its judgement 0.55 times the truth: 2.4 of its
    sds). The band's ellipse about 7.5 km (sd 2.4 km along) leaves the event 10.5 km past
    its middle, outside the gate with the near posts' reports (Mahalanobis 16-19); on its
    ray the event lies a factor 1.8 past the band's far edge, inside (4-6). Previously a
    group of its own."""
    for seed in (1, 2, 3):
        r = Reports()
        _seen_near(r, 0, A, 600.0, seed)
        far = offset(*A, 80.0, 18_000.0)
        bearing_report(r, 0, far, A, 630.0, 2.0, np.random.default_rng(seed), source="far",
                       band=(5_000, 10_000), error_deg=0.5)
        labels = group(r.batch())
        assert len(set(labels.tolist())) == 1, seed


def test_a_band_stays_off_another_event_beside_its_near_edge():
    """A lone "20-50 km" report of event 0 from a post 22 km off, and event 1 at the same
    minute 4 km beside its ray at 20 km, located by three monitors (300 m). About the band's
    middle (35 km) the ellipse is 1.5 km wide across the ray (2.5 degrees at 35 km), so
    event 1 lies inside the gate and the lone report joined it; at 20 km the ray is 0.9 km
    wide and event 1 lies 4.6 of its sds off. It stays alone."""
    for seed in (1, 2, 3):
        rng = np.random.default_rng(seed)
        r = Reports()
        post = offset(*A, 270.0, 22_000.0)
        bearing_report(r, 0, post, A, 600.0, 2.5, rng, source="far", band=(20_000, 50_000),
                       error_deg=0.0)
        beside = offset(*offset(*post, 90.0, 20_000.0), 0.0, 4_000.0)
        for k in range(3):
            at = offset(*beside, rng.uniform(0, 360), rng.uniform(0, 300))
            r.add(1, id=f"e1-m{k}", source_id=f"m{k}", source_type="monitor",
                  time_s=610.0 + k, time_precision_s=60.0, fire_type="explosion",
                  explosion_type="outgoing", lon=at[0], lat=at[1], location_sd_m=300.0)
        labels = group(r.batch())
        assert (labels == labels[0]).sum() == 1, seed
        assert len(set(labels[1:].tolist())) == 1, seed


def test_the_ray_test_of_two_gaussians_is_their_mahalanobis_distance():
    """Two ellipses (no band): the least squares over a common point is the Mahalanobis
    distance under the summed covariances, the Gaussian gate's own number."""
    rng = np.random.default_rng(7)
    nan = math.nan
    for _ in range(50):
        s1, s2 = rng.uniform(100, 3_000, 2), rng.uniform(100, 3_000, 2)
        c1, c2 = rng.uniform(-0.8, 0.8) * s1[0] * s1[1], rng.uniform(-0.8, 0.8) * s2[0] * s2[1]
        m1, m2 = rng.uniform(-5_000, 5_000, 2), rng.uniform(-5_000, 5_000, 2)
        a, b, c = s1[0] ** 2 + s2[0] ** 2, c1 + c2, s1[1] ** 2 + s2[1] ** 2
        d = m1 - m2
        want = (c * d[0] ** 2 - 2 * b * d[0] * d[1] + a * d[1] ** 2) / (a * c - b * b)
        got = joint_m2(m1[0], m1[1], s1[0] ** 2, c1, s1[1] ** 2, 0.0, 0.0, nan, nan, nan, nan,
                       m2[0], m2[1], s2[0] ** 2, c2, s2[1] ** 2, 0.0, 0.0, nan, nan, nan, nan,
                       0.0)
        assert math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9)


def test_a_band_passes_anywhere_on_its_stretch_and_fails_off_its_ray():
    """One band (observer at the origin, looking north, "5-10 km", 2 degrees, judgement
    0.25) against a point fix of 100 m: inside the band on the ray ~0; 4 km across the ray
    at 8 km (14 of the bearing's sds) far over the gate; 12 km along (a factor 1.2 past the
    far edge) under it."""
    sd, lo, hi, jd = math.radians(2.0), math.log(5_000.0), math.log(10_000.0), 0.25
    mid, s_al, s_cr = 7_500.0, 2_400.0, 260.0
    band = (0.0, mid, s_cr ** 2, 0.0, s_al ** 2, 0.0, 0.0, sd, lo, hi, jd)
    nan = math.nan

    def m2(x: float, y: float) -> float:
        return joint_m2(*band, x, y, 1e4, 0.0, 1e4, 0.0, 0.0, nan, nan, nan, nan, 0.0)

    assert m2(0.0, 5_500.0) < 0.5 and m2(0.0, 9_500.0) < 0.5
    assert m2(4_000.0, 8_000.0) > 100.0
    assert m2(0.0, 12_000.0) < 13.82
