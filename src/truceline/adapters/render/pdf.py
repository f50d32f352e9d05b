"""A report as PDF: the HTML report printed by headless Chromium (its own print engine, so
the PDF shows what the HTML shows, figure for figure).

Chromium writes the time of printing into the PDF's information dictionary (``/CreationDate``
and ``/ModDate``); both are replaced by the report's period end, written in the same number of
bytes so that the cross-reference offsets stay valid. With that, the same report printed by
the same Chromium gives the same bytes (a different Chromium version writes a different
``/Creator`` and lays text out its own way).

The PDF is printed untagged (``--disable-pdf-tagging``): Chromium builds a tagged PDF's
structure tree from the page's accessibility tree, which it builds asynchronously, and one
print in CI came out with other bytes than the next print of the same page. The HTML report
is the accessible form (headings, tables, the map's text alternative).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from truceline.errors import ConfigError

#: Flags for a headless print with no network, profile or first-run work.
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--no-pdf-header-footer", "--hide-scrollbars",
    "--disable-pdf-tagging",
)
_DATES = re.compile(rb"/(CreationDate|ModDate) \(D:\d{14}[+\-Z][0-9']*\)")


def pdf_date(t: datetime) -> bytes:
    """A PDF date string for ``t`` in UTC: ``D:YYYYMMDDHHMMSS+00'00'``."""
    return t.astimezone(UTC).strftime("D:%Y%m%d%H%M%S+00'00'").encode()


def fix_dates(pdf: bytes, at: datetime) -> bytes:
    """``pdf`` with its creation and modification dates set to ``at``, same length (a date
    of another length is left alone rather than shifting every offset after it)."""
    stamp = pdf_date(at)

    def sub(m: re.Match[bytes]) -> bytes:
        new = b"/" + m.group(1) + b" (" + stamp + b")"
        return new if len(new) == len(m.group(0)) else m.group(0)

    return _DATES.sub(sub, pdf)


def html_to_pdf(html: str, chromium: str, at: datetime, *, timeout_s: float = 120.0) -> bytes:
    """Print ``html`` (self-contained: images as data URIs) to PDF with Chromium at path
    ``chromium``; ``at`` is the date written into the PDF. ConfigError (field ``chromium``)
    when the browser is missing or fails."""
    exe = shutil.which(chromium) or (chromium if Path(chromium).is_file() else None)
    if exe is None:
        raise ConfigError(f"Chromium not found at {chromium!r}: install it (Debian: apt-get "
                          "install chromium) or set TRUCELINE_CHROMIUM", field="chromium")
    with tempfile.TemporaryDirectory(prefix="truceline-pdf-") as tmp:
        src, out = Path(tmp) / "report.html", Path(tmp) / "report.pdf"
        src.write_text(html, encoding="utf-8")
        cmd = [exe, *CHROMIUM_FLAGS, f"--user-data-dir={Path(tmp) / 'profile'}",
               f"--print-to-pdf={out}", src.as_uri()]
        try:
            run = subprocess.run(cmd, capture_output=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired:
            raise ConfigError(f"Chromium did not print the report within {timeout_s:g} s",
                              field="chromium") from None
        if run.returncode != 0 or not out.is_file():
            tail = run.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
            raise ConfigError(f"Chromium failed to print the report (exit {run.returncode}): "
                              f"{tail[0][:200]}", field="chromium")
        return fix_dates(out.read_bytes(), at)
