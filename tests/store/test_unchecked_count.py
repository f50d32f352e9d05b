"""What a report says is unchecked, read from the observations stored since the last check
(an index range), on SQLite and PostgreSQL: the same number as the whole count less the
check's, and the same fallback for a store checked before the number was kept."""

from __future__ import annotations

from truceline.adapters.agreement_files import load_agreement_file
from truceline.services.check import run_check
from truceline.services.ingest import ingest
from truceline.services.ports import CHECKED_META, CHECKED_SEQ_META, Store
from truceline.services.record import initialize_store
from truceline.services.report import unchecked_observations

from ..record_service.conftest import sample_rows, synthetic


def _whole_count_less_checked(store: Store) -> int:
    return max(store.count_observations() - int(store.get_meta(CHECKED_META) or 0), 0)


def test_unchecked_by_seq_equals_the_whole_count_less_the_checks(store: Store) -> None:
    initialize_store(store, load_agreement_file("march2025")[1])
    ingest(store, list(enumerate(sample_rows())))
    assert store.get_meta(CHECKED_SEQ_META) is None
    assert unchecked_observations(store) == store.count_observations() > 0  # never checked
    run_check(store)
    assert store.get_meta(CHECKED_SEQ_META) == str(store.max_observation_seq())
    assert unchecked_observations(store) == 0 == _whole_count_less_checked(store)
    for k, n in enumerate((7, 1, 30)):  # arrivals after the check, then a check again
        ingest(store, list(enumerate(synthetic(n, start=100 * k, prefix=f"late{k}"))))
        assert unchecked_observations(store) == n == _whole_count_less_checked(store)
        assert store.count_observations_after(store.max_observation_seq() - n) == n
        run_check(store)
        assert unchecked_observations(store) == 0 == _whole_count_less_checked(store)
    # a store checked before the number was kept: the whole count less the check's
    ingest(store, list(enumerate(synthetic(5, start=900, prefix="old"))))
    with store.atomic():  # what a store written before this meta key existed holds
        store._execute("DELETE FROM meta WHERE key = ?",  # type: ignore[attr-defined]
                       (CHECKED_SEQ_META,))
    assert store.get_meta(CHECKED_SEQ_META) is None
    assert unchecked_observations(store) == 5 == _whole_count_less_checked(store)
