"""Adversarial checks of the dashboard in the browser: the record check ties the proof to the
finding and the log's key to something other than the answer being checked, and text from
submitted reports is never parsed as HTML in a reader's page."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.dashboard_world import build
from tests.browser.test_dashboard import DAY, open_finding, open_page
from tests.http.conftest import F_PUBLISHED, LOG_KEY, World, ingest_and_check, new_fire
from tests.served import serve
from truceline.core.record.note import Signer, parse_note, sign_note


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build(tmp_path_factory.mktemp("dashboard-review") / "base.db")


@pytest.fixture()
def site(base: World, tmp_path: Path) -> Iterator[tuple[str, World]]:
    db = tmp_path / "mission.db"
    shutil.copy(base.db, db)
    with serve(db) as url:
        yield url, World(db, base.tokens, base.seed)


def _tampered(page: Any, pattern: str, change: Any) -> None:
    def handle(route: Any) -> None:
        real = route.fetch()
        route.fulfill(response=real, body=json.dumps(change(real.json())))

    page.route(pattern, handle)


def _other_leaf(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "index": body["index"] - 1, "opening": None}


def _no_entry(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "entry"}


def test_a_proof_of_another_leaf_does_not_verify(browser: Any, site: tuple[str, World]) -> None:
    """The server points at another entry and withholds what would tie the leaf to the
    finding: the proof is valid, but not for this finding."""
    url, _ = site
    page = open_page(browser, url, None)
    _tampered(page, "**/dashboard/record/**", _other_leaf)
    _tampered(page, "**/record/proof/inclusion**", _no_entry)
    assert open_finding(page, F_PUBLISHED).startswith("failed: the entry is not served")
    page.close()
    page = open_page(browser, url, None)  # this finding's entry, but no opening of its id
    _tampered(page, "**/dashboard/record/**", lambda b: {**b, "opening": None})
    assert open_finding(page, F_PUBLISHED).startswith("failed: no opening of the entry's id")


def test_a_checkpoint_of_another_size_does_not_verify(browser: Any,
                                                      site: tuple[str, World]) -> None:
    url, _ = site
    sizes = [c["size"] for c in httpx.get(f"{url}/record/checkpoints").json()]
    assert len(sizes) >= 2
    page = open_page(browser, url, None)

    def older(route: Any) -> None:
        route.fulfill(response=route.fetch(url=f"{url}/dashboard/checkpoint?size={sizes[0]}"))

    page.route("**/dashboard/checkpoint?**", older)
    assert open_finding(page, F_PUBLISHED) == \
        "failed: the checkpoint is not of the proof's size"


#: A key with the log's name that is not the log's key.
FORGER = Signer(LOG_KEY.name, b"\x33" * 32)


def _forged(body: dict[str, Any]) -> dict[str, Any]:
    text = parse_note(body["note"]).text
    return {**body, "note": sign_note(text, [FORGER]).decode(),
            "log_vkey": FORGER.verifier().to_vkey()}


def test_a_checkpoint_signed_by_another_key_does_not_verify(
        browser: Any, site: tuple[str, World]) -> None:
    url, _ = site
    page = open_page(browser, url, None)
    honest = open_finding(page, F_PUBLISHED)
    assert honest.startswith("verified against checkpoint")
    name_id = "+".join(LOG_KEY.verifier().to_vkey().split("+")[:2])
    assert honest.endswith(f"log key {name_id} as served, not pinned: compare it out of band")
    _tampered(page, "**/dashboard/checkpoint?**", _forged)
    assert open_finding(page, F_PUBLISHED) == \
        "failed: the checkpoint's log key is not the log's key"
    page.close()
    # pinned: the real key; even when every answer brings the forger's key, it fails
    page = open_page(browser, url, None)
    page.fill("#logkey", LOG_KEY.verifier().to_vkey())
    page.click("#pin-btn")
    assert open_finding(page, F_PUBLISHED).endswith("; log key pinned")
    _tampered(page, "**/dashboard/checkpoint?**", _forged)
    _tampered(page, "**/record/log-key", lambda b: {"vkey": FORGER.verifier().to_vkey()})
    assert open_finding(page, F_PUBLISHED) == \
        "failed: the checkpoint's log key is not the pinned one"
    page.close()


HOSTILE = '<img src=x onerror="window.__pwned=1">'


def test_submitted_text_is_not_html_in_the_analysts_page(browser: Any, base: World,
                                                         tmp_path: Path) -> None:
    """A party's report with markup in its id: the analyst's tooltip shows it as text (as
    HTML it would run in the analyst's page, which holds the analyst's key)."""
    db = tmp_path / "mission.db"
    shutil.copy(base.db, db)
    fire = {**new_fire(1, source="UA"), "id": HOSTILE, "source_type": "party"}
    for k in ("observer_lon", "observer_lat", "bearing_deg"):
        fire.pop(k)
    ingest_and_check(db, [fire])
    with serve(db) as url:
        h = {"Authorization": f"Bearer {base.tokens['analyst']}"}
        fs = httpx.get(f"{url}/findings", headers=h).json()["findings"]
        (fid,) = [f["id"] for f in fs if HOSTILE in f["evidence"]]
        page = open_page(browser, url, base.tokens["analyst"], DAY)
        open_finding(page, fid)
        page.wait_for_load_state("networkidle")
        page.evaluate("""() => { for (const p of document.querySelectorAll(
            '.leaflet-overlay-pane path.leaflet-interactive, .leaflet-marker-icon'))
            p.dispatchEvent(new MouseEvent('mouseover', {bubbles: true})); }""")
        # either the markup ran, or the tooltip shows it as text
        page.wait_for_function("""() => window.__pwned || [...document.querySelectorAll(
            '.leaflet-tooltip')].some((t) => t.textContent.includes('i-<img'))""")
        assert page.evaluate("() => window.__pwned") is None
        assert page.locator(".leaflet-tooltip img").count() == 0
