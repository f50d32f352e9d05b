"""ACLED: a test file built from the public codebook's columns (ACLED's data is licensed: no
ACLED rows are shipped; every row below is invented)."""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

import truceline.adapters.cli.commands  # noqa: F401  (registers the commands)
from truceline.adapters.cli.main import cli
from truceline.adapters.importers import detect_format, iter_observations
from truceline.adapters.importers.acled import read_actor_table, reader
from truceline.adapters.importers.formats import Skipped
from truceline.core.observations import Observation, Rejection, parse_observation
from truceline.errors import ObservationError

#: The codebook's columns, in the export's order.
COLUMNS = ["event_id_cnty", "event_date", "year", "time_precision", "disorder_type",
           "event_type", "sub_event_type", "actor1", "assoc_actor_1", "inter1", "actor2",
           "assoc_actor_2", "inter2", "interaction", "civilian_targeting", "iso", "region",
           "country", "admin1", "admin2", "admin3", "location", "latitude", "longitude",
           "geo_precision", "source", "source_scale", "notes", "fatalities", "tags",
           "timestamp"]
RU, UA = "Military Forces of Russia (2000-)", "Military Forces of Ukraine (2019-)"


def row(eid: str, day: str, etype: str, sub: str, actor1: str, actor2: str = "", *,
        tp: str = "1", gp: str = "1", lat: str = "48.3050", lon: str = "37.9900",
        fatalities: str = "0", notes: str = "") -> dict[str, str]:
    return {"event_id_cnty": eid, "event_date": day, "year": day[-4:] if " " in day else day[:4],
            "time_precision": tp, "disorder_type": "Political violence", "event_type": etype,
            "sub_event_type": sub, "actor1": actor1, "assoc_actor_1": "", "inter1": "8",
            "actor2": actor2, "assoc_actor_2": "", "inter2": "", "interaction": "80",
            "civilian_targeting": "", "iso": "804", "region": "Europe", "country": "Ukraine",
            "admin1": "Donetsk", "admin2": "Pokrovskyi", "admin3": "", "location": "Placeholder",
            "latitude": lat, "longitude": lon, "geo_precision": gp, "source": "Invented",
            "source_scale": "National", "notes": notes, "fatalities": fatalities, "tags": "",
            "timestamp": "1743400000"}


ROWS = [
    row("UKR900001", "2025-03-28", "Explosions/Remote violence",
        "Shelling/artillery/missile attack", RU, "Civilians (Ukraine)", fatalities="1",
        notes="Invented: shelling of a village."),
    row("UKR900002", "28 March 2025", "Explosions/Remote violence", "Air/drone strike", UA,
        tp="2", gp="2", lat="48.0100", lon="38.3000"),
    row("UKR900003", "2025-03-28", "Battles", "Armed clash", RU, UA, gp="3", fatalities="3"),
    row("UKR900004", "2025-03-28", "Violence against civilians", "Attack", RU,
        "Civilians (Ukraine)", fatalities="2"),
    row("UKR900005", "2025-03-28", "Protests", "Peaceful protest", "Protesters (Ukraine)"),
    row("UKR900006", "2025-03-28", "Strategic developments", "Headquarters or base established",
        "Wagner Group", tp="3"),
]


def _csv(rows: list[dict[str, str]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


@pytest.fixture()
def export(tmp_path: Path) -> Path:
    p = tmp_path / "acled.csv"
    p.write_text(_csv(ROWS), encoding="utf-8")
    return p


@pytest.fixture()
def actors(tmp_path: Path) -> Path:
    p = tmp_path / "actors.csv"
    p.write_text(f'actor,party\n"{RU}",RU\n"{UA}",UA\n', encoding="utf-8")
    return p


def test_maps_the_codebook_columns(export: Path, actors: Path) -> None:
    assert detect_format(export) == "acled"
    items = [(line, it) for line, it in reader(read_actor_table(actors))(export)]
    skipped = [it for _, it in items if isinstance(it, Skipped)]
    assert [(s.line, s.field) for s in skipped] == [(6, "sub_event_type")]  # the protest
    obs = {o.id: o for o in (parse_observation(it) for _, it in items if isinstance(it, dict))}
    assert len(obs) == 5
    shelling = obs["acled-UKR900001"]
    assert (shelling.kind.value, shelling.fire_type.value, shelling.explosion_type.value) == (  # type: ignore[union-attr]
        "fire", "explosion", "impact")
    assert shelling.affiliation == "RU" and shelling.killed == 1
    assert shelling.count_unit is not None and shelling.count_unit.value == "event"
    assert (shelling.location_uncertainty_m, shelling.location_precision) == (
        2000.0, "ACLED geo_precision 1")
    drone = obs["acled-UKR900002"]  # the older date spelling, a week's precision
    assert drone.time.date().isoformat() == "2025-03-28" and drone.time_precision.value == "week"
    assert drone.affiliation == "UA" and drone.location_uncertainty_m == 12500.0
    clash = obs["acled-UKR900003"]
    assert clash.fire_type.value == "burst_or_shot" and clash.affiliation is None  # type: ignore[union-attr]
    assert clash.killed == 3 and clash.location_uncertainty_m == 75000.0
    harm = obs["acled-UKR900004"]
    assert harm.kind.value == "civilian_harm" and harm.affiliation == "RU" and harm.killed == 2
    base = obs["acled-UKR900006"]
    assert base.kind.value == "presence" and base.unit_label == "Wagner Group"
    assert base.affiliation is None and base.time_precision.value == "month"
    assert base.description is not None and "not in the table: Wagner Group" in base.description


def test_without_a_table_nothing_is_attributed(export: Path) -> None:
    obs = [o for o in iter_observations(export) if isinstance(o, Observation)]
    assert len(obs) == 5 and all(o.affiliation is None for o in obs)


def test_bad_rows_name_line_and_column(tmp_path: Path) -> None:
    p = tmp_path / "bad.csv"
    p.write_text(_csv([ROWS[0], {**ROWS[1], "geo_precision": "4"},
                       {**ROWS[2], "event_date": "28/03/25"},
                       {**ROWS[3], "event_type": "Shelling"}]), encoding="utf-8")
    rej = [it for it in iter_observations(p, on_invalid="skip") if isinstance(it, Rejection)]
    assert [(r.line, r.field) for r in rej] == [(3, "geo_precision"), (4, "event_date"),
                                                (5, "event_type")]
    with pytest.raises(ObservationError) as exc:
        list(iter_observations(p))
    assert (exc.value.line, exc.value.field) == (3, "geo_precision")


def test_cli_with_actor_table(tmp_path: Path, export: Path, actors: Path) -> None:
    db = str(tmp_path / "t.db")
    run = CliRunner().invoke
    assert run(cli, ["init", "--db", db, "--agreement", "march2025"]).exit_code == 0
    bad = tmp_path / "bad_actors.csv"
    bad.write_text(f'actor,party\n"{RU}",RU\n"{RU}",UA\n', encoding="utf-8")
    res = run(cli, ["ingest", "--db", db, "--actors", str(bad), str(export)])
    assert res.exit_code == 65 and "line 3: party" in res.output
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT count(*) FROM observations").fetchone() == (0,)
    res = run(cli, ["ingest", "--db", db, "--actors", str(actors), str(export)])
    assert res.exit_code == 0, res.output
    assert "5 added, 0 already stored, 0 rejected, 1 skipped" in res.output
    with sqlite3.connect(db) as c:
        got = dict(c.execute("SELECT id, json_extract(record, '$.affiliation') "
                             "FROM observations"))
    assert got["acled-UKR900001"] == "RU" and got["acled-UKR900002"] == "UA"
