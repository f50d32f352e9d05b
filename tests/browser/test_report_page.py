"""The daily report as a person sees it: opened in headless Chromium, counts, findings and map."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from truceline.adapters.agreement_files import example_path
from truceline.adapters.demo import run_demo


def test_demo_report_renders_in_a_browser(browser, tmp_path: Path) -> None:
    agreement = example_path("march2025")
    res = run_demo(tmp_path, agreement, agreement.parent / "march2025_sample.jsonl",
                   echo=lambda s: None)
    page = browser.new_page()
    page.goto(res.report_html.as_uri())
    assert "Daily report 2025-03-28" in page.inner_text("body")
    # independently: every fire report's count in the 19:30-19:30 EET period (+02:00)
    lo, hi = datetime(2025, 3, 27, 17, 30, tzinfo=UTC), datetime(2025, 3, 28, 17, 30, tzinfo=UTC)
    want = 0
    for line in (agreement.parent / "march2025_sample.jsonl").read_text().splitlines():
        rec = json.loads(line)
        t = datetime.fromisoformat(rec["time"])
        if rec["kind"] == "fire" and lo <= t < hi:
            want += rec.get("count", 1)
    assert want > 20
    assert page.inner_text("#violations-total") == str(want)
    rows = page.locator("#counts tr").count()
    assert rows >= 3
    verdicts = page.locator("#findings .finding").all_inner_texts()
    assert any("M25-pullback" in v and "violation" in v and "(Russian Federation)" in v
               for v in verdicts)
    assert any("checkpoint" in v for v in page.locator("#restrictions tr").all_inner_texts())
    # the map is a real decoded image, not a broken link
    width = page.eval_on_selector("#map", "img => img.naturalWidth")
    assert width > 400
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert (tmp_path / "report.png").stat().st_size > 10_000
