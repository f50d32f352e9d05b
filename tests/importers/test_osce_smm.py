"""The OSCE SMM's own counts as aggregates: imported whole, and the daily report for a day in
the file gives the SMM's totals for that day by region and category (read here independently,
with Python's csv, from the same file)."""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.http.redaction import redact_report
from truceline.adapters.http.routes_reports import report_json
from truceline.adapters.importers import detect_format, iter_observations, read_records
from truceline.adapters.render.report import render_report
from truceline.adapters.store import open_store
from truceline.core.observations import Observation, Rejection
from truceline.services.check import run_check
from truceline.services.ingest import ingest
from truceline.services.record import initialize_store
from truceline.services.report import daily_report

SMM = Path(__file__).parents[1] / "data" / "osce_smm" / "smm_reported_counts_sourced.csv"
FIGURES = {"ceasefire_violations": "ceasefire_violation", "explosions": "explosion",
           "projectiles_in_flight": "projectile_in_flight", "muzzle_flashes": "muzzle_flash",
           "illumination_flares": "illumination_flare", "bursts_and_shots": "burst_or_shot"}


def _rows() -> list[dict[str, str]]:
    with SMM.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _daily(rows: list[dict[str, str]]) -> dict[date, dict[str, dict[str, int]]]:
    """Report day → area → category → figure, for the rows whose period is one report period
    (19:30 the day before to 19:30 on the day, local)."""
    out: dict[date, dict[str, dict[str, int]]] = {}
    for r in rows:
        t0 = datetime.fromisoformat(r["period_start_local"])
        t1 = datetime.fromisoformat(r["period_end_local"])
        if t1 - t0 != timedelta(days=1) or t1.time().isoformat() != "19:30:00":
            continue
        figures = {FIGURES[c]: int(r[c]) for c in FIGURES if r[c].strip()}
        out.setdefault(t1.date(), {})[r["region"]] = figures
    return out


def test_every_figure_is_one_aggregate() -> None:
    assert detect_format(SMM) == "osce-smm"
    items = list(iter_observations(SMM, on_invalid="skip"))
    assert not [i for i in items if isinstance(i, Rejection)]
    obs = [i for i in items if isinstance(i, Observation)]
    expected = sum(1 for r in _rows() for c in FIGURES if r[c].strip())
    assert len(obs) == expected
    assert len({o.id for o in obs}) == expected
    assert all(o.kind.value == "aggregate" and o.lon is None for o in obs)
    total = {(o.area, o.category): o.quantity for o in obs
             if o.dataset_ref == "Daily Report 295/2020"}
    assert total == {("Donetsk", "ceasefire_violation"): 284,
                     ("Luhansk", "ceasefire_violation"): 6}


def test_daily_report_reproduces_the_smm_totals(tmp_path: Path) -> None:
    rows = _rows()
    days = _daily(rows)
    assert len(days) >= 8  # the file's one-period rows, across 2016-2022
    store = open_store(str(tmp_path / "t.db"), create=True)
    initialize_store(store, load_agreement_file("minsk2")[1])
    rep = ingest(store, read_records(str(SMM)))
    assert rep.rejected == [] and rep.added == sum(
        1 for r in rows for c in FIGURES if r[c].strip())
    checked = run_check(store)
    # counted, not located: no aggregate becomes an incident or a finding's evidence
    assert checked.incidents == 0
    assert not [f for f in checked.findings if any(e.startswith("smm-") for e in f.evidence)]
    ceasefire = [f for f in checked.findings if f.provision_id == "MII-1"]
    assert ceasefire and all(f.verdict.value == "insufficient_evidence" and
                             f"{rep.added} counts over areas (osce-smm) overlap the window"
                             in f.explanation for f in ceasefire)
    for day, want in sorted(days.items()):
        r = daily_report(store, day)
        got = {a["area"]: a["counts"] for a in r.aggregates}
        assert got == want, day
        assert r.violations_total == 0  # counted over areas, never located into the table
    r = daily_report(store, date(2020, 12, 28))
    text = render_report(r, "md", None)
    assert ("| Donetsk | 2020-12-27 19:30 EET to 2020-12-28 19:30 EET | 299 | 46 |  |  |  |  "
            "| osce-smm (Daily 2020-12-29) |") in text
    doc = report_json(r)["aggregates"]
    assert doc[0] == {"area": "Donetsk", "period_start": "2020-12-27T17:30:00Z",
                      "period_end": "2020-12-28T17:30:00Z", "source": "osce-smm",
                      "ref": "Daily 2020-12-29",
                      "counts": {"ceasefire_violation": 299, "explosion": 46}}
    # an outsider's report keeps the counts, drops the source's own reference
    public = report_json(redact_report(r, [], 0.05))["aggregates"]
    assert public[0] == {**doc[0], "ref": ""}


@pytest.mark.parametrize(("column", "value", "reason"), [
    ("explosions", "about 40", "not a count: 'about 40'"),
    ("period_end_local", "2020-12-09T19:30", "is not after the start"),
    ("period_start_local", "2020-12-09T19:30+02:00", "without an offset"),
    ("region", "", "missing"),
])
def test_bad_rows_name_the_column(tmp_path: Path, column: str, value: str, reason: str) -> None:
    rows = _rows()
    rows[14][column] = value
    path = tmp_path / "smm.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    rej = [i for i in iter_observations(path, on_invalid="skip") if isinstance(i, Rejection)]
    assert [(r.line, r.field) for r in rej] == [(16, column)]
    assert reason in rej[0].reason
