"""The dashboard's coverage box for a day whose reporting period is still filling.

Outside the mission a period's coverage comes once it has ended in the record (``GET
/coverage`` refuses the day with a 403). The box then shows the last period that has ended,
saying so, rather than the refusal; the mission sees the day itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.browser.dashboard_world import build
from tests.http.conftest import World
from tests.http.test_coverage import FILLING, NEXT_DAY
from tests.served import serve
from truceline.adapters.store import open_store
from truceline.services.ingest import ingest


@pytest.fixture(scope="module")
def filling(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, World]]:
    """The dashboard's store with the mission's posts, one of them on into the next period."""
    db = tmp_path_factory.mktemp("dashboard-coverage") / "filling.db"
    world = build(db)
    store = open_store(str(db))
    try:
        assert not ingest(store, list(enumerate(FILLING))).rejected
    finally:
        store.close()
    with serve(db) as url:
        yield url, world


def _box(browser: Any, url: str, token: str | None) -> str:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(f"{url}/?day={NEXT_DAY}")
    page.wait_for_selector("body[data-ready]")
    if token:
        page.fill("#apikey", token)
        page.click("#signin-btn")
        page.wait_for_selector(f"body[data-ready='{NEXT_DAY}']")
    text = str(page.inner_text("#coverage"))
    page.close()
    return text


@pytest.mark.parametrize("role", ["anon", "public", "party_RU", "guarantor_UK"])
def test_outsiders_see_the_last_ended_period_for_a_day_still_filling(
        browser: Any, filling: tuple[str, World], role: str) -> None:
    url, world = filling
    refused = httpx.get(f"{url}/coverage?day={NEXT_DAY}", headers=world.headers(role))
    assert refused.status_code == 403  # the rule the page must live with
    last = httpx.get(f"{url}/coverage", headers=world.headers(role)).json()
    assert last["end"] == "2025-03-28T17:30:00Z" and last["assessed"]
    text = _box(browser, url, world.tokens.get(role))
    assert refused.json()["message"] not in text and "forbidden" not in text.lower()
    assert text.startswith("Observed (the last reporting period that has ended, to "
                           "2025-03-28T17:30:00Z;"), text
    assert f"line {100 * last['line_share']:.0f} %" in text, text


def test_the_mission_sees_the_day_itself(browser: Any, filling: tuple[str, World]) -> None:
    url, world = filling
    day = httpx.get(f"{url}/coverage?day={NEXT_DAY}", headers=world.headers("analyst")).json()
    text = _box(browser, url, world.tokens["analyst"])
    assert text.startswith("Observed: line "), text
    assert f"line {100 * day['line_share']:.0f} %" in text, text
