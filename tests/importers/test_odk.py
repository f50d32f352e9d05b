"""ODK Central and KoboToolbox exports (constructed in their documented shapes, see
exports/README.md): 0 rejected rows, ids per version, edits linked, the account as source."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import truceline.adapters.cli.commands  # noqa: F401  (registers the commands)
from truceline.adapters.cli.main import cli
from truceline.adapters.importers import detect_format, iter_observations
from truceline.adapters.importers.formats import Skipped
from truceline.core.observations import Observation, Rejection
from truceline.core.resubmissions import counted, superseded
from truceline.errors import ObservationError

EXPORTS = Path(__file__).parent / "exports"
CENTRAL_CSV = EXPORTS / "truceline_march_2025.csv"
CENTRAL_JSON = EXPORTS / "central_odata.json"
KOBO_CSV = EXPORTS / "kobo_export.csv"
FIRE = "odk-6b1f7c2e-1d0a-4c1e-9c55-3f1f9c6a0001"
SIGHTING = "odk-9e8d7c6b-5a49-4837-a625-14f3e2d10003"


def _read(path: Path) -> tuple[dict[str, Observation], list[Rejection]]:
    obs: dict[str, Observation] = {}
    other: list[Rejection] = []
    for item in iter_observations(path, on_invalid="skip"):
        if isinstance(item, Observation):
            obs[item.id] = item
        else:
            other.append(item)
    return obs, other


@pytest.mark.parametrize(("path", "fmt"), [(CENTRAL_CSV, "odk-csv"), (CENTRAL_JSON, "odk-json"),
                                           (KOBO_CSV, "kobo-csv")])
def test_detected(path: Path, fmt: str) -> None:
    assert detect_format(path) == fmt


def test_central_csv_maps_every_row() -> None:
    rows = list(csv.DictReader(CENTRAL_CSV.open(encoding="utf-8")))
    obs, other = _read(CENTRAL_CSV)
    assert [r for r in other if not isinstance(r, Skipped)] == []
    # the row rejected on review is skipped, deliberately and said so
    assert [(s.line, s.field) for s in other] == [(5, "ReviewState")]
    assert len(obs) == len(rows) - 1
    fire = obs[FIRE]
    row = rows[0]
    assert fire.source_id == "odk:monitor.alice"  # the account, not the post
    assert (fire.observer_lat, fire.observer_lon) == (float(row["observer_position-Latitude"]),
                                                      float(row["observer_position-Longitude"]))
    assert fire.time.isoformat() == "2025-03-27T18:15:00+00:00"  # the offset the phone gave
    assert (fire.fire_type.value, fire.explosion_type.value, fire.count) == (  # type: ignore[union-attr]
        "explosion", "outgoing", 4)
    assert (fire.bearing_deg, fire.distance_min_m, fire.distance_max_m) == (110.0, 4000, 8000)
    assert fire.affiliation is None  # "unknown": not assessed
    assert fire.description is not None
    assert "post/patrol smm-post-1" in fire.description
    # the repeat table's two photos, matched by PARENT_KEY
    assert "photos: 1743099301021.jpg, 1743099322870.jpg" in fire.description
    assert obs["odk-0c3f1e9a-77aa-4d2b-8a0e-5b2d6c7e0002"].restriction_type.value == (  # type: ignore[union-attr]
        "checkpoint")


def test_central_edit_is_a_new_version_linked_to_the_first() -> None:
    obs, _ = _read(CENTRAL_CSV)
    edited = obs[f"{SIGHTING}-edit1"]
    assert edited.supersedes == SIGHTING
    assert edited.dataset_ref == "uuid:a4d0c1b2-5e6f-4a7b-8c9d-0e1f2a3b0004"  # this version
    assert edited.system == "2S19 Msta-S" and edited.affiliation == "RU"
    # the first version, imported earlier, is kept but no longer counted
    first = edited.model_copy(update={"id": SIGHTING, "supersedes": None, "count": 2})
    assert superseded([first, edited]) == {SIGHTING: edited.id}
    assert [o.id for o in counted([first, edited])] == [edited.id]
    # no one retracts another source's report by naming it
    other = first.model_copy(update={"source_id": "odk:someone.else"})
    assert {o.id for o in counted([other, edited])} == {SIGHTING, edited.id}


def test_central_json_gives_the_same_observations_as_its_csv() -> None:
    from_csv, _ = _read(CENTRAL_CSV)
    from_json, other = _read(CENTRAL_JSON)
    assert other == []
    assert set(from_json) == {FIRE, f"{SIGHTING}-edit1"}
    for oid, o in from_json.items():  # photos: expanded in the feed, a repeat table in the CSV
        assert o == from_csv[oid]


def test_kobo_csv_semicolons_groups_and_an_edit() -> None:
    obs, other = _read(KOBO_CSV)
    assert other == []
    assert len(obs) == 3
    edit = obs["kobo-77e1c9d0-aa11-4b22-8c33-d44e55f60013"]
    assert edit.supersedes == "kobo-77e1c9d0-aa11-4b22-8c33-d44e55f60012"
    assert edit.source_id == "kobo:monitor_bogdan"
    harm = obs["kobo-c0ffee00-1234-4abc-9def-00000000a014"]
    assert (harm.killed, harm.injured, harm.time_precision.value) == (0, 2, "hour")
    fire = obs["kobo-5d0c7e1a-3b2f-4c8d-9e0a-1b2c3d4e0011"]
    assert fire.count == 4 and fire.bearing_deg == 110.0


def test_cli_ingests_the_exports_with_none_rejected(tmp_path: Path) -> None:
    run = CliRunner().invoke
    db = str(tmp_path / "t.db")
    assert run(cli, ["init", "--db", db, "--agreement", "march2025"]).exit_code == 0
    for name in ("truceline_march_2025.csv", "truceline_march_2025-photos.csv",
                 "central_odata.json", "kobo_export.csv"):
        shutil.copy(EXPORTS / name, tmp_path / name)
    res = run(cli, ["ingest", "--db", db, str(tmp_path / "truceline_march_2025.csv"),
                    str(tmp_path / "central_odata.json"), str(tmp_path / "kobo_export.csv")])
    assert res.exit_code == 0, res.output
    assert "truceline_march_2025.csv: 3 added, 0 already stored, 0 rejected, 1 skipped" in (
        res.output)
    assert "central_odata.json: 0 added, 2 already stored, 0 rejected" in res.output
    assert "kobo_export.csv: 3 added, 0 already stored, 0 rejected" in res.output


def _bad(tmp_path: Path, text: str, name: str = "bad.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_bad_rows_name_line_and_field(tmp_path: Path) -> None:
    lines = CENTRAL_CSV.read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].split(",")
    row = lines[1].split(",")
    row[header.index("observer_position-Latitude")] = "north"
    row2 = lines[2].split(",")
    row2[header.index("Edits")] = "one"
    path = _bad(tmp_path, lines[0] + ",".join(row) + ",".join(row2))
    _, other = _read(path)
    assert [(r.line, r.field) for r in other] == [(2, "observer_position"), (3, "Edits")]
    assert "not 'lat lon alt accuracy'" in other[0].reason
    with pytest.raises(ObservationError) as exc:
        list(iter_observations(path))
    assert exc.value.line == 2 and exc.value.field == "observer_position"


def test_a_json_file_that_is_not_an_export_is_refused_whole(tmp_path: Path) -> None:
    path = _bad(tmp_path, '{"value": {"__system": 1}}', "odata.json")
    with pytest.raises(ObservationError) as exc:
        list(iter_observations(path))
    assert exc.value.field == "value"
    doc: dict[str, Any] = json.loads(CENTRAL_JSON.read_text(encoding="utf-8"))
    del doc["value"][0]["__system"]["submitterName"], doc["value"][0]["__system"]["submitterId"]
    path = _bad(tmp_path, json.dumps(doc), "odata2.json")
    _, other = _read(path)
    assert [(r.line, r.field) for r in other] == [(1, "__system.submitterName")]
