"""Concurrent publications are never lost (issue 13, item 2), on SQLite and on PostgreSQL.

Forty analysts' requests publish forty different findings at once through the real app (its
thread pool runs them in parallel); every one must end up in the published set, each with
exactly one ``status_change`` entry in the record.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.http.conftest import new_fire, sample_records
from tests.store import conftest as store_conftest
from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.http import create_app
from truceline.adapters.http.auth import create_api_key
from truceline.adapters.store import open_store
from truceline.services.check import run_check
from truceline.services.ingest import ingest
from truceline.services.openings import full_entries
from truceline.services.record import initialize_store
from truceline.settings import Settings

# the PostgreSQL fixtures of the store tests (a fresh schema per test)
pg_server = store_conftest.pg_server
pg_url = store_conftest.pg_url

N = 40


def _fires() -> list[dict[str, Any]]:
    """Forty separate outgoing explosions (an unsigned source): forty more findings."""
    out = []
    for i in range(N):
        r = new_fire(i, "smm-post-9")
        r.update(id=f"conc-{i}", lon=37.9 + 0.01 * i,
                 time=f"2025-03-26T{i // 4 + 1:02d}:{i % 4 * 15:02d}:00+02:00")
        for k in ("observer_lon", "observer_lat", "bearing_deg"):
            del r[k]
        out.append(r)
    return out


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    url = (str(request.getfixturevalue("pg_url")) if request.param == "postgres"
           else str(tmp_path / "store.db"))
    _, doc = load_agreement_file("march2025")
    store = open_store(url, create=True)
    try:
        initialize_store(store, doc)
        ingest(store, list(enumerate(sample_records() + _fires())))
        run_check(store)
    finally:
        store.close()
    return url


def test_concurrent_publications_are_all_visible(store_url: str) -> None:
    store = open_store(store_url)
    try:
        token = create_api_key(store, "analyst", "analyst", None)
        before = store.entry_count()
    finally:
        store.close()
    auth = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(store_url, Settings(rate_limit_per_minute=10_000))) as c:
        ids = [f["id"] for f in c.get("/findings", headers=auth).json()["findings"]][:N]
        assert len(ids) == N
        start = threading.Barrier(N)

        def publish(fid: str) -> int:
            start.wait()
            return c.post(f"/findings/{fid}/publish", headers=auth).status_code

        with ThreadPoolExecutor(N) as pool:
            statuses = list(pool.map(publish, ids))
        assert statuses == [200] * N
        public = {f["id"] for f in c.get("/findings").json()["findings"]}
        assert public == set(ids)
        # publishing again changes nothing and appends nothing
        assert c.post(f"/findings/{ids[0]}/publish", headers=auth).status_code == 200
    store = open_store(store_url)
    try:
        new = [(t, b) for _, t, b in full_entries(store, before)]  # opened
        published = json.loads(store.get_meta("http.published_findings") or "[]")
    finally:
        store.close()
    assert sorted(published) == sorted(ids)
    assert [t for t, _ in new] == ["status_change"] * N
    assert sorted(body["finding_id"] for _, body in new) == sorted(ids)
