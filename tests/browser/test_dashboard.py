"""The dashboard at ``/`` in headless Chromium, one role at a time, over a served real store.

Each test drives the page as a person would (sign in with an API key, pick a day, click a
finding) and checks the outcome against the API or the sample itself. Screenshots go to
``$TRUCELINE_SCREENSHOTS`` (docs/img when refreshing docs/dashboard.md), else the test's
temporary directory.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.dashboard_world import build
from tests.http.conftest import F_PUBLISHED, F_RU, SAMPLE, World
from tests.served import serve
from truceline.adapters.store import open_store
from truceline.services.guarantees import notify
from truceline.settings import Settings

DAY = "2025-03-28"
GRID = 0.05
#: Payloads of shipped, public geometry (outline, oblasts, places; the agreement's lines and
#: areas): exact by nature, not evidence.
PUBLIC_GEOMETRY = ("/dashboard/basemap", "/dashboard/layers", "/dashboard/static/")


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build(tmp_path_factory.mktemp("dashboard") / "base.db")


@pytest.fixture()
def site(base: World, tmp_path: Path) -> Iterator[tuple[str, World]]:
    """The base store copied for this test (tests publish and dispute), served."""
    db = tmp_path / "mission.db"
    shutil.copy(base.db, db)
    world = World(db, base.tokens, base.seed)
    with serve(db) as url:
        yield url, world


def shots(tmp_path: Path) -> Path:
    out = Path(os.environ.get("TRUCELINE_SCREENSHOTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    return out


def open_page(browser: Any, url: str, token: str | None, day: str = DAY) -> Any:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(f"{url}/?day={day}")
    page.wait_for_selector("body[data-ready]")
    if token:
        page.fill("#apikey", token)
        page.click("#signin-btn")
        page.wait_for_selector(f"body[data-ready='{day}']")
    page.wait_for_selector("body[data-timeline]")  # every day's counts are in
    return page


def open_finding(page: Any, finding_id: str) -> str:
    page.click(f"#findings .finding[data-id='{finding_id}']")
    page.wait_for_selector("#proof.proof-ok, #proof.proof-failed")
    return str(page.inner_text("#proof"))


def counted_in_period() -> int:
    """Every fire report's count in the 2025-03-28 period (19:30-19:30 EET), from the sample."""
    lo, hi = datetime(2025, 3, 27, 17, 30, tzinfo=UTC), datetime(2025, 3, 28, 17, 30, tzinfo=UTC)
    n = 0
    for line in SAMPLE.read_text().splitlines():
        rec = json.loads(line)
        if rec["kind"] == "fire" and lo <= datetime.fromisoformat(rec["time"]) < hi:
            n += rec.get("count", 1)
    return n


def test_public_browses_a_day(browser: Any, site: tuple[str, World], tmp_path: Path) -> None:
    url, _ = site
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    page.goto(f"{url}/?day={DAY}")
    page.wait_for_selector(f"body[data-ready='{DAY}']")
    page.wait_for_selector("body[data-timeline]")
    assert page.inner_text("#whoami") == "public"
    assert page.inner_text("#day-label") == DAY
    want = counted_in_period()
    assert want > 20
    assert page.inner_text("#day-summary").startswith(f"{want} counted")
    # the public sees the published finding only, coloured as a violation
    items = page.locator("#findings .finding")
    assert [items.nth(i).get_attribute("data-id") for i in range(items.count())] == [F_PUBLISHED]
    assert "v-violation" in (items.first.get_attribute("class") or "")
    # the base map: towns labelled, the scale bar, the line drawn
    labels = page.locator(".place-label").all_inner_texts()
    assert {"Kyiv", "Donetsk", "Kharkiv"} <= set(labels)
    assert "km" in page.inner_text(".leaflet-control-scale")
    assert page.locator("path.leaflet-interactive").count() > 10
    # the timeline shows this day's categories, the same as the daily report's totals
    report = httpx.get(f"{url}/reports/daily/{DAY}").json()
    page.wait_for_selector("body[data-timeline]")
    bars = page.locator("#timeline-svg rect title").evaluate_all(
        "els => els.map(e => e.textContent)")
    for cat, n in report["totals"].items():
        assert f"{DAY} {cat}: {n}" in bars
    page.screenshot(path=str(shots(tmp_path) / "dashboard-public.png"))
    # another day through the slider: its own report
    page.eval_on_selector("#day", "(s) => { s.value = String(Number(s.value) - 1); "
                                  "s.dispatchEvent(new Event('change')); }")
    page.wait_for_selector("body[data-ready='2025-03-27']")
    assert page.inner_text("#day-label") == "2025-03-27"
    # offline: nothing but this server was asked for anything (no tiles, fonts or CDNs)
    assert asked and all(u.startswith(url + "/") for u in asked), \
        [u for u in asked if not u.startswith(url + "/")]


def test_a_tile_server_when_the_mission_has_one(browser: Any, base: World,
                                                tmp_path: Path) -> None:
    db = tmp_path / "mission.db"
    shutil.copy(base.db, db)
    tiles: list[str] = []
    png = (Path(__file__).parents[2] / "src/truceline/adapters/http/static/vendor/"
           "leaflet-1.9.4/images/marker-icon.png").read_bytes()
    with serve(db, Settings(dashboard_tile_url="https://tiles.mission.invalid/{z}/{x}/{y}.png")
               ) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.route("https://tiles.mission.invalid/**",
                   lambda r: (tiles.append(r.request.url),
                              r.fulfill(body=png, content_type="image/png")))
        page.goto(f"{url}/?day={DAY}")
        page.wait_for_selector(f"body[data-ready='{DAY}']")
        page.wait_for_load_state("networkidle")
    assert tiles and all(re.search(r"/6/\d+/\d+\.png$", t) for t in tiles), tiles[:3]


def test_party_opens_its_finding_and_files_a_dispute(browser: Any, site: tuple[str, World],
                                                     tmp_path: Path) -> None:
    url, world = site
    page = open_page(browser, url, world.tokens["party_RU"])
    assert page.inner_text("#whoami") == "party RU"
    ids = page.locator("#findings .finding").evaluate_all("els => els.map(e => e.dataset.id)")
    assert F_RU in ids
    size = _checkpoint_size(url)
    got = open_finding(page, F_RU)
    assert re.match(rf"verified against checkpoint {size} cosigned by UA \(key [0-9a-f]{{8}}\), "
                    r"RU \(key [0-9a-f]{8}\); log key \S+ as served, not pinned", got), got
    assert "violation (RU)" in page.inner_text("#detail")
    page.fill("#dispute-text", "Our battery was not at that position on 27 March.")
    page.click("#dispute-btn")
    page.wait_for_selector("#disputes .dispute")
    assert "open" in page.inner_text("#disputes .dispute")
    page.wait_for_selector("#proof.proof-ok")
    page.screenshot(path=str(shots(tmp_path) / "dashboard-party-dispute.png"))
    got = httpx.get(f"{url}/findings/{F_RU}/disputes", headers=world.headers("party_RU")).json()
    assert [d["text"] for d in got] == ["Our battery was not at that position on 27 March."]
    assert got[0]["party"] == "RU"


def _checkpoint_size(url: str) -> int:
    return int(httpx.get(f"{url}/record/checkpoints").json()[-1]["size"])


def test_party_cannot_dispute_another_partys_finding(browser: Any, site: tuple[str, World]
                                                     ) -> None:
    url, world = site
    page = open_page(browser, url, world.tokens["party_UA"])
    ids = page.locator("#findings .finding").evaluate_all("els => els.map(e => e.dataset.id)")
    assert F_RU not in ids  # RU's unpublished finding is not UA's to see
    open_finding(page, F_PUBLISHED)  # UA's own: disputable; published: everyone sees it
    assert page.locator("#dispute-btn").count() == 1


def test_analyst_publishes_a_finding(browser: Any, site: tuple[str, World],
                                     tmp_path: Path) -> None:
    url, world = site
    public = {f["id"] for f in httpx.get(f"{url}/findings").json()["findings"]}
    assert F_RU not in public
    page = open_page(browser, url, world.tokens["analyst"])
    assert page.inner_text("#whoami") == "analyst"
    # the filters narrow the day's findings as the report lists them
    day = httpx.get(f"{url}/reports/daily/{DAY}", headers=world.headers("analyst")).json()
    for field, value in (("verdict", "insufficient_evidence"), ("party", "UA"),
                         ("provision", "M25-pullback")):
        page.select_option(f"#f-{field}", value)
        key = "provision_id" if field == "provision" else field
        want = sorted(f["id"] for f in day["findings"] if f[key] == value)
        got = page.locator("#findings .finding").evaluate_all("els => els.map(e => e.dataset.id)")
        assert sorted(got) == want and want, field
        page.select_option(f"#f-{field}", "")
    assert open_finding(page, F_RU).startswith("verified against checkpoint")
    assert "not published" in page.inner_text("#detail")
    page.click("#publish-btn")
    page.wait_for_selector("#publish-btn", state="detached")
    page.wait_for_selector("#proof.proof-ok")
    assert "\npublished" in page.inner_text("#detail")
    page.screenshot(path=str(shots(tmp_path) / "dashboard-analyst-publish.png"))
    public = {f["id"] for f in httpx.get(f"{url}/findings").json()["findings"]}
    assert F_RU in public


def test_guarantor_acknowledges_a_notification(browser: Any, base: World, tmp_path: Path
                                               ) -> None:
    """Notifications as `truceline serve`'s delivery loop makes them after a check (the day
    after the sample); the guarantor acknowledges one of its own on the page."""
    db = tmp_path / "mission.db"
    shutil.copy(base.db, db)
    store = open_store(str(db))
    try:
        notify(store, datetime(2025, 3, 29, tzinfo=UTC))
    finally:
        store.close()
    world = World(db, base.tokens, base.seed)
    with serve(db) as url:
        mine = [n for n in httpx.get(f"{url}/notifications", headers=world.headers(
            "guarantor_UK")).json()["notifications"] if n["guarantor"] == "UK"]
        assert mine and all(n["acknowledgement"] is None for n in mine)
        page = open_page(browser, url, world.tokens["guarantor_UK"])
        assert page.inner_text("#whoami") == "guarantor UK"
        target = mine[0]["id"]
        page.click(f"#notifications li[data-id='{target}'] button")
        page.wait_for_selector(f"#notifications li[data-id='{target}']:not(:has(button))")
        assert "acknowledged" in page.inner_text(f"#notifications li[data-id='{target}']")
        page.screenshot(path=str(shots(tmp_path) / "dashboard-guarantor.png"))
        after = {n["id"]: n for n in httpx.get(f"{url}/notifications", headers=world.headers(
            "guarantor_UK")).json()["notifications"]}
        assert after[target]["acknowledgement"] is not None
        assert all(after[n["id"]]["acknowledgement"] is None for n in mine[1:])


def _flip_first_hash(body: dict[str, Any]) -> dict[str, Any]:
    raw = bytearray(base64.b64decode(body["proof"][0]))
    raw[0] ^= 1
    return {**body, "proof": [base64.b64encode(bytes(raw)).decode(), *body["proof"][1:]]}


def _flip_root(body: dict[str, Any]) -> dict[str, Any]:
    lines = body["note"].split("\n")
    raw = bytearray(base64.b64decode(lines[2]))
    raw[-1] ^= 1
    lines[2] = base64.b64encode(bytes(raw)).decode()
    return {**body, "note": "\n".join(lines)}


@pytest.mark.parametrize(("pattern", "tamper", "why"), [
    ("**/record/proof/inclusion**", _flip_first_hash, "does not lead to the checkpoint's root"),
    ("**/dashboard/checkpoint?**", _flip_root, "does not lead to the checkpoint's root"),
])
def test_proof_check_fails_on_a_tampered_answer(browser: Any, site: tuple[str, World],
                                                tmp_path: Path, pattern: str, tamper: Any,
                                                why: str) -> None:
    url, _ = site
    page = open_page(browser, url, None)
    assert open_finding(page, F_PUBLISHED).startswith("verified against checkpoint")

    def handle(route: Any) -> None:
        real = route.fetch()
        route.fulfill(response=real, body=json.dumps(tamper(real.json())))

    page.route(pattern, handle)
    page.click(f"#findings .finding[data-id='{F_PUBLISHED}']")
    page.wait_for_selector("#proof.proof-failed")
    assert page.inner_text("#proof") == f"failed: the inclusion proof {why}"
    if tamper is _flip_first_hash:
        page.screenshot(path=str(shots(tmp_path) / "dashboard-proof-failed.png"))


def test_a_forged_log_signature_fails(browser: Any, site: tuple[str, World]) -> None:
    """The note's root and proof agree but its signature line is not the log's."""
    url, _ = site
    page = open_page(browser, url, None)

    def handle(route: Any) -> None:
        real = route.fetch()
        body = real.json()
        text, _, sigs = body["note"].partition("\n\n")
        first, *rest = sigs.split("\n")
        name, b64 = first.rsplit(" ", 1)
        raw = bytearray(base64.b64decode(b64))
        raw[10] ^= 1
        body["note"] = text + "\n\n" + "\n".join([f"{name} {base64.b64encode(raw).decode()}",
                                                  *rest])
        route.fulfill(response=real, body=json.dumps(body))

    page.route("**/dashboard/checkpoint?**", handle)
    assert open_finding(page, F_PUBLISHED) == "failed: no valid log signature"


# -- what the public's browser receives --------------------------------------------------------

_TEXT_COORDS = re.compile(r"(-?\d{1,2}\.\d+)N (-?\d{1,3}\.\d+)E")


def _on_grid(v: float) -> bool:
    k = v / GRID - 0.5
    return math.isclose(k, round(k), abs_tol=1e-6)


def _walk(x: Any, key: str, bad: list[str], ids: set[str]) -> None:
    if isinstance(x, dict):
        for k, v in x.items():
            _walk(v, k, bad, ids)
    elif isinstance(x, list):
        for v in x:
            _walk(v, key, bad, ids)
    elif isinstance(x, str):
        bad += [f"monitor id {i} in {key}" for i in ids if i in x]
        for lat, lon in _TEXT_COORDS.findall(x):
            if not (_on_grid(float(lat)) and _on_grid(float(lon))):
                bad.append(f"fine coordinate in text: {lat}N {lon}E")
        if key == "entry":  # a record entry (committed form): its bytes too
            try:
                _walk(json.loads(base64.b64decode(x)), key, bad, ids)
            except (binascii.Error, ValueError):
                bad.append("entry is not base64 JSON")
    elif (isinstance(x, float | int) and not isinstance(x, bool) and key in ("lon", "lat")
          and not _on_grid(float(x))):
        bad.append(f"{key}={x} is finer than the {GRID} degree grid")


def test_public_payloads_hold_no_monitor_id_and_no_fine_coordinate(
        browser: Any, site: tuple[str, World]) -> None:
    url, world = site
    sources = {json.loads(line)["source_id"] for line in SAMPLE.read_text().splitlines()}
    assert "smm-post-1" in sources
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    seen: list[Any] = []
    page.on("response", lambda r: seen.append(r))
    page.goto(f"{url}/?day={DAY}")
    page.wait_for_selector(f"body[data-ready='{DAY}']")
    open_finding(page, F_PUBLISHED)
    page.wait_for_load_state("networkidle")  # opening it zoomed in on it
    page.eval_on_selector("#day", "(s) => { s.value = String(Number(s.value) - 1); "
                                  "s.dispatchEvent(new Event('change')); }")
    page.wait_for_selector("body[data-ready='2025-03-27']")
    page.wait_for_load_state("networkidle")
    checked, bad = [], []
    for r in seen:
        path = r.url[len(url):]
        if not r.ok or any(path.startswith(p) for p in PUBLIC_GEOMETRY):
            continue
        if "json" not in (r.header_value("content-type") or ""):
            assert path.startswith("/?"), path  # the page itself; everything else is JSON
            continue
        body = r.json()
        checked.append(path.split("?")[0])
        _walk(body, "", bad, sources)
    assert not bad, bad[:5]
    # every kind of payload the page reads was looked at
    for want in ("/dashboard/config", "/reports/daily/2025-03-28", "/dashboard/incidents",
                 "/coverage", "/dashboard/record/", "/record/proof/inclusion",
                 "/dashboard/checkpoint", "/dashboard/published"):
        assert any(p.startswith(want) for p in checked), want
    zoomed = [r.json() for r in seen if "/dashboard/incidents" in r.url]
    assert any(m.get("incident") for z in zoomed for m in z["marks"])  # singles were sent too
    # the check bites: the analyst's answers hold exact positions and monitor ids
    h = world.headers("analyst")
    control: list[str] = []
    _walk(httpx.get(f"{url}/dashboard/incidents?zoom=13", headers=h).json(), "", control, sources)
    assert any("finer than" in b for b in control)
    control = []
    _walk(httpx.get(f"{url}/observations", headers=h).json(), "", control, sources)
    assert any(b.startswith("monitor id") for b in control)
