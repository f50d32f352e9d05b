"""The daily report as PDF, and every format's bytes across runs.

A real SQLite store holds the March 2025 example and its shipped sample (fire, restrictions,
weapon sightings, a foreign contingent), checked. The PDF is printed by the real headless
Chromium (Debian's), turned into PNG pages by pdftoppm and into text by pdftotext (Debian
poppler-utils); its figures are compared with the HTML's visible text.

Byte identity: HTML, Markdown, the map's PNG and the PDF are the same bytes when the same
store is reported twice (the PDF's dates are the period's end, not the time of printing).
"""

from __future__ import annotations

import collections
import html
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from truceline.adapters.cli.commands import report as report_cmd
from truceline.adapters.render.pdf import fix_dates
from truceline.adapters.render.report import write_report
from truceline.adapters.store import open_store
from truceline.errors import ConfigError
from truceline.services.report import daily_report

DAY = "2025-03-28"
CHROMIUM = "/usr/bin/chromium"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found (apt-get install poppler-utils)")
    return path


@pytest.fixture(scope="module")
def db(sample_db: Path) -> Path:
    return sample_db


def _write(db: Path, out: Path) -> list[Path]:
    """One run: read the store, build the report, write it."""
    store = open_store(str(db))
    try:
        return write_report(daily_report(store, DAY), out, chromium=CHROMIUM)
    finally:
        store.close()


def _numbers(text: str) -> collections.Counter[str]:
    return collections.Counter(re.findall(r"\d+(?:[.,:]\d+)*", text))


def _visible(page: str) -> str:
    """The HTML's printed text: the body without tags (the title is not printed)."""
    body = page[page.index("<body>"):]
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


@pytest.fixture(scope="module")
def printed(db: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("printed")
    (h,) = _write(db, d / "r.html")
    (p,) = _write(db, d / "r.pdf")
    return {"html": h, "pdf": p, "dir": d}


def test_the_pdf_renders_to_pages(printed: dict[str, Path]) -> None:
    subprocess.run([_tool("pdftoppm"), "-r", "30", "-png", str(printed["pdf"]),
                    str(printed["dir"] / "page")], check=True, capture_output=True)
    pages = sorted(printed["dir"].glob("page-*.png"))
    assert len(pages) >= 2  # summary, map, tables
    for p in pages:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 1_000


def test_the_pdfs_numbers_are_the_htmls(printed: dict[str, Path]) -> None:
    text = subprocess.run([_tool("pdftotext"), "-layout", str(printed["pdf"]), "-"],
                          check=True, capture_output=True).stdout.decode()
    page = printed["html"].read_text(encoding="utf-8")
    total = re.search(r'<b id="violations-total">(\d+)</b>', page)
    assert total is not None and int(total.group(1)) > 0
    assert f"{total.group(1)} ceasefire violations recorded" in " ".join(text.split())
    want, got = _numbers(_visible(page)), _numbers(text)
    assert sum(want.values()) > 100
    assert got == want, (want - got, got - want)


def _difference(name: str, x: bytes, y: bytes) -> str:
    """Where two prints part, in a few lines (not the files' whole bytes)."""
    pairs = enumerate(zip(x, y, strict=False))
    at = next((i for i, (u, v) in pairs if u != v), min(len(x), len(y)))
    return (f"{name}: {len(x)} vs {len(y)} bytes, first difference at {at}: "
            f"{x[max(0, at - 60):at + 60]!r} vs {y[max(0, at - 60):at + 60]!r}")


def test_every_format_is_the_same_bytes_on_a_second_run(db: Path, tmp_path: Path) -> None:
    for name in ("r.html", "r.md", "r.pdf"):
        first = _write(db, tmp_path / "a" / name)
        second = _write(db, tmp_path / "b" / name)
        assert [p.name for p in first] == [p.name for p in second]
        for a, b in zip(first, second, strict=True):
            x, y = a.read_bytes(), b.read_bytes()
            assert x == y, _difference(a.name, x, y)
    assert (tmp_path / "a" / "r.png").exists()  # the Markdown report's map


def test_the_report_speaks_in_words(printed: dict[str, Path]) -> None:
    text = _visible(printed["html"].read_text(encoding="utf-8"))
    for internal in ("denial_of_access", "uav_jamming", "tube_artillery", "insufficient_evidence",
                     " x unit", "Zaporizhia", "Kiev", "other (", "T05:14:00Z"):
        assert internal not in text, internal
    assert "All times in this report: local time, Europe/Kyiv (EET, UTC+02:00)." in text
    # restrictions say who is responsible and where, as the monitors write it
    assert re.search(r"checkpoint\s+Russian Federation\s+\d+ km [a-z-]+ of [A-Z]", text)
    # weapons in violation of the withdrawal lines, as a table
    assert "Weapons in violation of withdrawal lines" in text


def test_the_pdf_is_untagged(printed: dict[str, Path]) -> None:
    """Tags come from Chromium's asynchronous accessibility tree: left out so that prints
    repeat (pdf.py)."""
    pdf = printed["pdf"].read_bytes()
    assert pdf.startswith(b"%PDF-") and b"/StructTreeRoot" not in pdf


def test_pdf_dates_are_set_in_place() -> None:
    raw = b"<</CreationDate (D:20261203071346+00'00')\n/ModDate (D:20261203071346+00'00')>>"
    from datetime import UTC, datetime

    fixed = fix_dates(raw, datetime(2025, 3, 28, 17, 30, tzinfo=UTC))
    assert len(fixed) == len(raw)
    assert fixed.count(b"D:20250328173000+00'00'") == 2


def test_a_missing_chromium_is_named(db: Path, tmp_path: Path) -> None:
    store = open_store(str(db))
    try:
        rep = daily_report(store, DAY)
    finally:
        store.close()
    with pytest.raises(ConfigError) as e:
        write_report(rep, tmp_path / "r.pdf", chromium=str(tmp_path / "no-chromium"))
    assert e.value.field == "chromium"
    assert not (tmp_path / "r.pdf").exists()


def test_a_format_that_contradicts_the_file_name_is_refused(db: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(report_cmd, ["--db", str(db), "--date", DAY, "--out",
                                          str(tmp_path / "r.md"), "--format", "pdf"])
    assert res.exit_code == 65
    assert "out: --format pdf but the file name ends in .md" in res.output
    assert not list(tmp_path.iterdir())
