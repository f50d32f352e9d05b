"""The demo: the whole path on a shipped example, from a fresh store to a report and a map."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.importers import read_records
from truceline.adapters.render.findings import render_findings
from truceline.adapters.render.report import write_report
from truceline.adapters.store import open_store
from truceline.services.check import run_check
from truceline.services.ingest import ingest
from truceline.services.record import initialize_store
from truceline.services.report import daily_report

DEMO_DAY = "2025-03-28"


@dataclass
class DemoResult:
    db: Path
    report_html: Path
    report_md: Path
    findings_path: Path


def run_demo(
    out: Path,
    agreement: Path,
    observations: Path,
    *,
    echo: Callable[[str], None] = print,
    day: str = DEMO_DAY,
    simulate_scale: float | None = None,
    seed: int = 1,
) -> DemoResult:
    """Init, ingest, check, report. With ``simulate_scale``, a simulated day of the scenario
    (monitors, sensors, cameras; seed fixed) is ingested beside the shipped sample."""
    out.mkdir(parents=True, exist_ok=True)
    db = out / "demo.db"
    ag, doc = load_agreement_file(agreement)
    store = open_store(str(db), create=True)
    version = initialize_store(store, doc)
    echo(f"agreement: {ag.title} (version {version}, {len(ag.provisions)} provisions)")
    sources = [observations]
    if simulate_scale is not None:
        from truceline.adapters.simulate_files import write_simulation

        first = date.fromisoformat(day) - timedelta(days=1)
        start = datetime.combine(first, time(0, 0), tzinfo=ag.tz)
        summary = write_simulation(agreement, out / "simulated", days=2, seed=seed,
                                   scale=simulate_scale, start=start)
        echo(f"simulated 2 days from {first} (seed {seed}): {summary.observations} observations "
             f"of {summary.events} true events, {summary.planted} planted checks")
        sources.append(out / "simulated" / "observations.jsonl")
    for src in sources:
        rep = ingest(store, read_records(str(src)), on_invalid="skip")
        echo(f"observations from {src.name}: {rep.added} added, {rep.duplicates} already "
             f"stored, {len(rep.rejected)} rejected")
    res = run_check(store)
    echo(f"findings ({len(res.findings)}); the first 25:")
    echo("\n".join(render_findings(res.findings, "text").splitlines()[:25]))
    findings_path = out / "findings.json"
    findings_path.write_text(render_findings(res.findings, "json"), encoding="utf-8")
    r = daily_report(store, day)
    html = write_report(r, out / f"report-{day}.html")[0]
    md = write_report(r, out / f"report-{day}.md")[0]
    store.close()
    return DemoResult(db, html, md, findings_path)
