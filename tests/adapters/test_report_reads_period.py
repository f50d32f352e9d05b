"""A daily report reads what the last check stored for its period; it never fuses the store.

A real SQLite store holds the March 2025 example: its shipped sample, a mission of posts
(``tests/partial_mission.py``) and three simulated days with resubmitted copies along the
whole line, checked once. The report of each day is compared, field by field, as Markdown and
HTML and as its map, with the report the way it was built before (computed here: every stored
observation fused again). Observations stored after the check are not in the report, and it
says how many.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from tests.http.conftest import sample_records
from tests.partial_mission import mission_records
from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.http.routes_reports import report_json
from truceline.adapters.importers import read_records
from truceline.adapters.render.mapfig import render_map_png
from truceline.adapters.render.report import render_report
from truceline.adapters.simulate_files import write_simulation
from truceline.adapters.store import open_store
from truceline.core.agreement_geometry import regions
from truceline.core.evidence import Evidence, gather
from truceline.core.observations import Observation
from truceline.core.recognition import status_of_areas
from truceline.core.report_sections import cameras_down
from truceline.core.reporting import DailyReport, build_daily_report
from truceline.core.resubmissions import counted
from truceline.services.check import derive_coverage, derive_incidents, run_check
from truceline.services.context import AgreementContext, load_context
from truceline.services.guarantees import awaiting_lines
from truceline.services.ingest import ingest
from truceline.services.ports import Store
from truceline.services.record import initialize_store
from truceline.services.report import daily_report, parse_day

DAYS = ("2025-03-26", "2025-03-27", "2025-03-28", "2025-03-29", "2025-04-02")


class Fused(NamedTuple):
    """Every stored observation fused again, with the context they were fused in."""

    ctx: AgreementContext
    obs: list[Observation]
    ev: Evidence


def fuse_everything(store: Store) -> Fused:
    """What every report below is compared with: the same for every day (it reads no day),
    so fused once per store, not twice per day."""
    ctx = load_context(store)
    obs = counted(store.observations())
    ev = gather(ctx.geometry, obs, derive_incidents(ctx, obs), derive_coverage(ctx, obs))
    return Fused(ctx, obs, ev)


def fused_again(store: Store, day: str, fused: Fused, *, previous: bool = True) -> DailyReport:
    """The report as it was built before issue 21: every stored observation fused again
    (the previous period's totals too: the day before's report, from the same fusion)."""
    d = parse_day(day)
    ctx, obs, ev = fused
    g = ctx.agreement.geography
    sectors = [s.name or s.id for s in g.sectors] if g else []
    rep = build_daily_report(ctx.agreement, ev, store.findings(), regions(ctx.agreement),
                             sectors, d, geom=ctx.geometry)
    rep.awaiting = awaiting_lines(store, rep.period_end)
    rep.areas = status_of_areas(ctx.agreement, d)
    rep.cameras_down = cameras_down(obs, rep.period_start, rep.period_end, ctx.agreement.tz)
    if previous:
        before = (d - timedelta(days=1)).isoformat()
        rep.previous = fused_again(store, before, fused, previous=False).category_totals
    return rep


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("period")
    _, doc = load_agreement_file("march2025")
    store = open_store(str(tmp / "mission.db"), create=True)
    initialize_store(store, doc)
    ag = load_context(store).agreement
    start = datetime.combine(parse_day("2025-03-26"), time(0, 0), tzinfo=ag.tz)
    write_simulation("march2025", tmp / "sim", days=3, seed=7, scale=0.15, start=start,
                     scenario="resubmissions")
    shipped = ingest(store, list(enumerate(sample_records() + mission_records())))
    simulated = ingest(store, read_records(str(tmp / "sim" / "observations.jsonl")))
    assert not shipped.rejected and not simulated.rejected
    run_check(store)
    store.close()
    return tmp / "mission.db"


def _fields(r: DailyReport) -> dict[str, Any]:
    return {"counts": r.counts, "findings": [f.to_record() for f in r.findings],
            "previous": r.previous, "cameras_down": r.cameras_down, "daily": r.daily,
            "civilian_harm": r.civilian_harm,
            "restrictions": r.restrictions, "coverage": r.coverage, "events": r.events,
            "uncovered": r.uncovered, "awaiting": r.awaiting, "areas": r.areas,
            "period": (r.period_start, r.period_end)}


@pytest.fixture(scope="module")
def fused(store_path: Path) -> Fused:
    store = open_store(str(store_path))
    try:
        return fuse_everything(store)
    finally:
        store.close()


@pytest.mark.parametrize("day", DAYS)
def test_the_report_is_the_one_fusing_everything_gave(store_path: Path, fused: Fused,
                                                       day: str) -> None:
    store = open_store(str(store_path))
    try:
        old, new = fused_again(store, day, fused), daily_report(store, day)
    finally:
        store.close()
    assert new.unchecked == 0
    assert _fields(new) == _fields(old)
    assert render_report(new, "md", "map.png") == render_report(old, "md", "map.png")
    assert render_report(new, "html", None) == render_report(old, "html", None)
    assert render_map_png(new) == render_map_png(old)


#: The Markdown template's loop over the findings before the lines were written in Python.
_FINDINGS_LOOP = (
    "{% for f in r.findings %}\n"
    "- **{{ f.verdict.value | words }}** ({{ r.party_name(f.party) }}) — "
    "{{ local_times(f.explanation) }}"
    '{% if f.evidence %} Evidence: {{ f.evidence | join(", ") }}.{% endif %}\n'
    "{%- endfor %}")


def test_the_findings_are_listed_as_the_template_listed_them(store_path: Path) -> None:
    """``finding_lines`` writes each day's findings as the template's loop wrote them (the
    same text, byte for byte), and the Markdown holds them where the loop was."""
    from truceline.adapters.render.report import _env, finding_lines
    from truceline.core.wording import local_times

    store = open_store(str(store_path))
    try:
        reps = [daily_report(store, d) for d in DAYS]
    finally:
        store.close()
    assert sum(len(r.findings) for r in reps) > 50
    for r in reps:
        tz = r.agreement.tz
        loop = _env.overlay(autoescape=False).from_string(_FINDINGS_LOOP).render(
            r=r, local_times=lambda text, tz=tz: local_times(text, tz))
        assert finding_lines(r) == loop
        md = render_report(r, "md", "map.png")
        assert "\n## Findings by provision and party\n" in md and loop in md


def test_the_example_has_what_the_comparison_needs(store_path: Path) -> None:
    """The comparison above is not between empty reports: the days have fused incidents,
    findings, coverage and resubmitted copies."""
    store = open_store(str(store_path))
    try:
        reps = [daily_report(store, d) for d in DAYS[:4]]
        copies = len(store.observations()) - len(counted(store.observations()))
    finally:
        store.close()
    assert all(r.violations_total > 0 and r.findings and r.coverage.get("observed")
               for r in reps)
    assert any(len(e.get("id", "")) and e["located"] for r in reps for e in r.events)
    assert copies > 0


def test_observations_after_the_check_are_named_not_fused(store_path: Path,
                                                          tmp_path: Path) -> None:
    path = tmp_path / "copy.db"
    path.write_bytes(store_path.read_bytes())
    store = open_store(str(path))
    try:
        before = daily_report(store, "2025-03-28")
        late = [{"id": f"late-{k}", "kind": "fire", "time": "2025-03-28T12:00:00+02:00",
                 "source_id": "smm-post-late", "source_type": "monitor",
                 "fire_type": "explosion", "explosion_type": "impact",
                 "lon": 37.75 + k / 100, "lat": 48.28} for k in range(3)]
        assert ingest(store, list(enumerate(late))).added == len(late)
        after = daily_report(store, "2025-03-28")
        assert after.unchecked == 3
        # the stored incidents and findings, as before; the period's observations are counted
        assert (after.counts, after.findings, after.events) == \
            (before.counts, before.findings, before.events)
        assert after.coverage["observations"] == before.coverage["observations"] + 3
        note = "3 observations since the last check are not in this report; run " \
               "`truceline check`."
        assert note in render_report(after, "md", None)
        assert "3 observations since the last check are not in this report" in \
            render_report(after, "html", None)
        assert "since the last check" not in render_report(before, "md", None)
        assert (report_json(after)["unchecked"], report_json(before)["unchecked"]) == (3, 0)
        run_check(store)
        checked = daily_report(store, "2025-03-28")
        assert checked.unchecked == 0
        assert checked.violations_total > before.violations_total
    finally:
        store.close()


def test_a_bad_output_name_is_refused_before_the_store_is_read(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from truceline.adapters.cli.main import cli

    res = CliRunner().invoke(cli, ["report", "--db", str(tmp_path / "none.db"), "--date",
                                   "2025-03-28", "--out", str(tmp_path / "r.txt")])
    assert res.exit_code == 65 and "error: out: must end in .html, .md or .pdf" in res.output
    assert not (tmp_path / "none.db").exists() and not (tmp_path / "r.txt").exists()


def test_the_command_writes_the_same_report_each_time(store_path: Path, tmp_path: Path) -> None:
    """`truceline report` in fresh processes (which leave their objects out of the collector's
    walks and skip its last walk at exit): the files are whole and the same bytes each time,
    they are the report built in this process, and the store closes cleanly behind it."""
    import subprocess
    import sys

    def run(out: Path) -> None:
        subprocess.run([sys.executable, "-m", "truceline", "report", "--db", str(store_path),
                        "--date", "2025-03-28", "--out", str(out)], check=True,
                       capture_output=True)

    for name in ("a", "b"):
        run(tmp_path / f"{name}.md")
        run(tmp_path / f"{name}.html")
    md = [(tmp_path / f"{n}.md").read_text(encoding="utf-8") for n in "ab"]
    assert md[0].replace("a.png", "x.png") == md[1].replace("b.png", "x.png")
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    assert (tmp_path / "a.html").read_bytes() == (tmp_path / "b.html").read_bytes()
    assert not store_path.with_name(store_path.name + "-wal").exists()
    store = open_store(str(store_path))
    try:
        here = daily_report(store, "2025-03-28")
    finally:
        store.close()
    assert md[0] == render_report(here, "md", "a.png")
    assert (tmp_path / "a.png").read_bytes() == render_map_png(here)
    assert (tmp_path / "a.html").read_text(encoding="utf-8").endswith("</html>\n")
