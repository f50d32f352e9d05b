"""Render a daily report as HTML (map embedded) or Markdown (map as a PNG beside it)."""

from __future__ import annotations

import base64
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from truceline.core.findings import Finding
from truceline.core.reporting import CATEGORIES, DailyReport
from truceline.core.wording import local_times, place_words, tz_label, words
from truceline.errors import ValidationError

_env = Environment(
    loader=PackageLoader("truceline.adapters.render", "templates"),
    autoescape=select_autoescape(["html"]),
    keep_trailing_newline=True,
)
_env.filters["words"] = words


def weapons_of(explanation: str) -> str:
    """The weapons a withdrawal finding names ("3 x 220 mm MLRS (9A52-4 Tornado-U)"): its
    explanation, after its provision's prefix, up to the verb the rule writes after them."""
    explanation = explanation.split("]: ", 1)[-1] if "]: " in explanation[:80] else explanation
    for verb in (" sighted", " reported", " seen"):
        if verb in explanation:
            return explanation.split(verb, 1)[0]
    return explanation


_env.filters["weapons_of"] = weapons_of


def render_report(r: DailyReport, fmt: str, map_ref: str | None,
                  trend_ref: str | None = None) -> str:
    tz = r.agreement.tz

    def local(t: datetime) -> str:
        return t.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")

    def local_iso(t: str | None) -> str:
        return local(datetime.fromisoformat(t)) if t else ""

    def place(f: Finding) -> str:
        return place_words(f.lon, f.lat) if f.lon is not None and f.lat is not None else ""

    tpl = _env.get_template(f"report.{fmt}.j2")
    return tpl.render(r=r, categories=CATEGORIES, local=local, local_iso=local_iso,
                      place=place, map_png=map_ref, trend_png=trend_ref,
                      tz_label=tz_label(tz, r.period_end),
                      local_times=lambda text: local_times(text, tz),
                      finding_lines=finding_lines(r) if fmt == "md" else "")


def finding_lines(r: DailyReport) -> str:
    """The Markdown list of the report's findings, each on a line after a newline: verdict,
    party, explanation in local time, evidence. Written here rather than as a loop in the
    template: a dense day lists ~10,000 findings, and the loop's ~10 template steps a line
    took ~0.4 s of a one-day report for this text."""
    tz = r.agreement.tz
    out = []
    for f in r.findings:
        ev = f" Evidence: {', '.join(f.evidence)}." if f.evidence else ""
        out.append(f"\n- **{words(f.verdict.value)}** ({r.party_name(f.party)}) — "
                   f"{local_times(f.explanation, tz)}{ev}")
    return "".join(out)


FORMATS = {".html": "html", ".htm": "html", ".md": "md", ".pdf": "pdf"}


def check_out(out: Path, fmt: str | None = None) -> str:
    """The report's format (html, md or pdf): ``fmt`` if given, else ``out``'s extension;
    ValidationError (field ``out`` or ``format``) if neither names one, or they disagree.
    Checked before a report is built, so a bad name costs nothing."""
    by_ext = FORMATS.get(out.suffix.lower())
    if fmt is not None and fmt not in ("html", "md", "pdf"):
        raise ValidationError(f"must be html, md or pdf, not {fmt!r}", field="format")
    if by_ext is None:
        raise ValidationError("must end in .html, .md or .pdf", field="out")
    if fmt is not None and fmt != by_ext:
        raise ValidationError(f"--format {fmt} but the file name ends in {out.suffix}",
                              field="out")
    return by_ext


def _png_ref(png: bytes | None) -> str | None:
    return "data:image/png;base64," + base64.b64encode(png).decode() if png else None


def write_report(r: DailyReport, out: Path, *, chromium: str = "/usr/bin/chromium"
                 ) -> list[Path]:
    """Write ``out`` (.html, .md or .pdf); Markdown gets its map as ``<stem>.png`` beside
    it; a PDF is the HTML report printed by Chromium (``chromium``: its path)."""
    from truceline.adapters.render.mapfig import render_map_png

    fmt = check_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    png = render_map_png(r) if r.agreement.geography is not None else None
    trend = None
    if len(r.days) > 1:
        from truceline.adapters.render.trend import render_trend_png

        trend = render_trend_png(r)
    if fmt == "md":
        paths = [out]
        ref = trend_ref = None
        if png is not None:
            png_path = out.with_suffix(".png")
            png_path.write_bytes(png)
            paths.append(png_path)
            ref = png_path.name
        if trend is not None:
            trend_path = out.with_name(f"{out.stem}-trend.png")
            trend_path.write_bytes(trend)
            paths.append(trend_path)
            trend_ref = trend_path.name
        out.write_text(render_report(r, "md", ref, trend_ref), encoding="utf-8")
        return paths
    html = render_report(r, "html", _png_ref(png), _png_ref(trend))
    if fmt == "pdf":
        from truceline.adapters.render.pdf import html_to_pdf

        out.write_bytes(html_to_pdf(html, chromium, r.period_end))
    else:
        out.write_text(html, encoding="utf-8")
    return [out]
