"""The arrays' fits in grouping read a batch of the bare arrivals' own columns
(:data:`.arrival_groups.FIT_COLUMNS`), their sensors as candidates and only the fixes'
numbers they use: each gives what the whole batch, :func:`.batch.candidates` and the full
:func:`.locate.locate` give, to the bit."""

from __future__ import annotations

import numpy as np

from tests.fusion.test_grouping_shortcuts import _arrays_hearing
from truceline.core.fusion.arrival_groups import FIT_COLUMNS, arrival_fit_params
from truceline.core.fusion.batch import GroupingParams, candidates, sensor_candidates
from truceline.core.fusion.locate import locate


def _bare() -> tuple:  # type: ignore[type-arg]
    b = _arrays_hearing(6).batch()
    assert np.isfinite(b.arr).all() and not np.isfinite(b.brg).any()
    assert not np.isfinite(b.ex).any()
    return b, GroupingParams()


def test_a_bare_arrivals_candidate_is_its_sensor_as_candidates_places_it():
    b, p = _bare()
    want, got = candidates(b, p), sensor_candidates(b, p)
    for name in ("mx", "my", "sxx", "sxy", "syy", "ok"):
        assert getattr(got, name).tobytes() == getattr(want, name).tobytes(), name


def test_take_gathers_the_columns_named_and_writes_placeholders_for_the_rest():
    b, _ = _bare()
    rows = np.array([7, 2, 2, 11])
    t = b.take(rows, numbers_only=True, columns=("ox", "source", "wind_known"))
    assert np.array_equal(t.ox, b.ox[rows]) and np.array_equal(t.source, b.source[rows])
    assert np.array_equal(t.wind_known, b.wind_known[rows])
    assert np.isnan(t.oy).all() and np.isnan(t.t_lo).all() and len(t.oy) == 4
    assert t.role.dtype == b.role.dtype and not t.role.any()
    assert t.ids[0] is None and len(t) == 4
    # without ``numbers_only`` every column is gathered
    assert np.array_equal(b.take(rows, columns=("ox",)).oy, b.oy[rows])


def test_the_arrays_fit_on_their_columns_alone_is_the_whole_batchs_to_the_bit():
    """A fit of the arrival groups on the batch of :data:`FIT_COLUMNS` and the sensors'
    candidates, with ``fits_only``, gives the fixes, covariances, located flags and residuals
    of the full fit on every column with :func:`candidates`."""
    b, p = _bare()
    lab = np.arange(len(b)) // 5
    lp = arrival_fit_params(p)
    want = locate(b, lab, candidates(b, p), lp)
    rows = np.arange(len(b))
    few = b.take(rows, numbers_only=True, columns=FIT_COLUMNS)
    got = locate(few, lab, sensor_candidates(few, p), lp, fits_only=True)
    assert want.located.any()
    for name in ("x", "y", "t0", "cov", "located", "residual"):
        assert getattr(got, name).tobytes() == getattr(want, name).tobytes(), name
    assert len(got.method) == len(got.rms) == len(got.outlier) == 0


def test_without_bands_the_covariances_residuals_are_the_fits_own():
    """:func:`.locate.covariance_rows` reads the fit's residuals from the covariance's pass
    where no row is a band (only a band's row differs between them): the same numbers as the
    residuals computed on their own, with bands and without."""
    from tests.fusion.test_far_reach import _coarse_band_scene
    from truceline.core.fusion.locate import (
        LocateParams,
        covariance_rows,
        measurement_rows,
        residuals,
    )

    lp = LocateParams()
    for b in (_bare()[0], _coarse_band_scene(1).batch()):
        lab = np.arange(len(b)) // 5
        G = int(lab.max()) + 1
        rw, _ = measurement_rows(b, lab)
        fx = locate(b, lab, candidates(b, GroupingParams()), lp)
        has_t = np.bincount(rw.g, rw.typ == 4, minlength=G) > 0
        r = covariance_rows(rw, lp, fx.x, fx.y, fx.t0, has_t, G)[0]
        assert r.tobytes() == residuals(rw, lp, fx.x, fx.y, fx.t0, jac=False)[0].tobytes()
