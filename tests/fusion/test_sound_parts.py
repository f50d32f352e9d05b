"""One walk of the grid for all of a group's near parts (:mod:`truceline.core.fusion.sound_parts`)
answers, part by part, as the fitting points listed and tested one part at a time."""

from __future__ import annotations

import numpy as np

from tests.fusion.test_heard_other import _part_case, _search_case


def _one_sensor(args: tuple) -> tuple:
    """``args`` of :func:`_search_case` for its first sensor alone (every point fits)."""
    sx, sy = args[5][:1], args[6][:1]
    return (float(sx[0]), float(sy[0]), *args[2:5], sx, sy, args[7][:1], args[8][:1],
            *args[9:13], 0.0, args[14])


def test_the_parts_walk_answers_as_each_part_tested_on_the_listed_points():
    """:func:`sound_parts.fits_parts` gives each part the answer of :func:`fits_array` on the
    full grid's fitting points (:func:`fitting_array`) over its own classes, for one to seven
    arrivals and a dozen parts near and far, in time and out; stopped at ``most`` passes, it
    says whether ``most`` passed and, where fewer did, which."""
    from truceline.core.fusion import sound_grid as sg
    from truceline.core.fusion.link import LinkParams
    from truceline.core.fusion.sound_parts import fits_parts

    windows = np.array(LinkParams().windows(), np.float64)
    rng = np.random.default_rng(21)
    answers = []
    for n in range(90):
        args = _search_case(rng)
        if n % 3 == 0:
            args = _one_sensor(args)
        pts = sg.fitting_array(*args)
        parts = [_part_case(rng, args) for _ in range(int(rng.integers(1, 13)))]
        use = np.array([[any((w == row).all() for w in part[6]) for row in windows]
                        for part in parts])
        want = np.array([sg.fits_array(*pts, *part[:6], windows[u])
                         for part, u in zip(parts, use, strict=True)])
        cols = [np.array([part[i] for part in parts], np.float64) for i in range(5)]
        role = np.array([part[5] for part in parts], np.int64)
        for most in (len(parts), 2, 1):
            got = fits_parts(*args, *cols, role, windows, use, most)
            if want.sum() < most:
                assert (got == want).all()
            else:
                assert got.sum() == most and not (got & ~want).any()
        answers.extend(want.tolist())
    assert 0.05 < np.mean(answers) < 0.95
