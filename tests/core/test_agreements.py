"""Agreements as data: the shipped examples parse, errors name the path and the reason."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import jsonschema
import pytest
import yaml

from truceline.adapters.agreement_files import load_agreement_file, read_agreement_text
from truceline.core.agreements import agreement_json_schema, parse_agreement
from truceline.errors import AgreementError

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["minsk2", "march2025", "new_start", "inf2"])
def test_examples_load_and_match_published_schema(name: str) -> None:
    ag, doc = load_agreement_file(name)
    published = json.loads((ROOT / "docs/schemas/agreement.schema.json").read_text())
    assert published == json.loads(json.dumps(agreement_json_schema()))
    jsonschema.validate(doc, published)
    assert ag.provisions and ag.parties


def test_minsk_windows_are_local_time_and_deadline_is_14_days() -> None:
    ag, _ = load_agreement_file("minsk2")
    start, end = ag.window(ag.provision("MII-1"))
    assert start.isoformat() == "2015-02-15T00:00:00+02:00"  # EET, as the text says
    assert end is None
    wstart, _ = ag.window(ag.provision("MII-2-artillery"))
    assert (wstart - start).days == 14
    assert ag.thresholds_km() == [15.0, 25.0, 35.0, 70.0]


def test_march2025_window_crosses_dst_on_wall_clock() -> None:
    ag, _ = load_agreement_file("march2025")
    start, end = ag.window(ag.provision("M25-ceasefire"))
    assert start.utcoffset().total_seconds() == 2 * 3600  # EET on 20 March
    assert end is not None and end.utcoffset().total_seconds() == 3 * 3600  # EEST by 19 April
    assert end.replace(tzinfo=None) == datetime(2025, 4, 19)


def _doc(name: str) -> dict:
    return yaml.safe_load((ROOT / "src/truceline/examples" / f"{name}.yaml").read_text())


@pytest.mark.parametrize(
    ("mutate", "field", "reason"),
    [
        (lambda d: d["provisions"][0]["rule"].update(kind="curfew"), "provisions[0].rule", "tag"),
        (
            lambda d: d["provisions"][1]["rule"].update(within_km=-5),
            "provisions[1].rule.within_km",
            "greater than 0",
        ),
        (
            lambda d: d["provisions"][0].update(obligated=["XX"]),
            "provisions[0].obligated",
            "unknown party 'XX'",
        ),
        (
            lambda d: d["provisions"][3]["rule"]["weapons"].update(systems=["Katyusha-9000"]),
            "provisions[3].rule.weapons",
            "unknown weapon system",
        ),
        (lambda d: d.pop("entry_into_force"), "entry_into_force", "required"),
        (lambda d: d.update(timezone="Mars/Olympus"), "timezone", "unknown IANA zone"),
    ],
)
def test_errors_name_the_path_and_reason(mutate, field: str, reason: str) -> None:
    doc = _doc("minsk2")
    mutate(doc)
    with pytest.raises(AgreementError) as exc:
        parse_agreement(doc)
    assert exc.value.field == field
    assert reason in exc.value.message


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(AgreementError) as exc:
        read_agreement_text("id: x\nparties: [a\n", tmp_path)
    assert exc.value.field is not None and exc.value.field.startswith("line ")


def test_missing_geometry_file_is_named(tmp_path: Path) -> None:
    text = (ROOT / "src/truceline/examples/minsk2.yaml").read_text()
    with pytest.raises(AgreementError) as exc:
        read_agreement_text(text, tmp_path)  # geometry/ is not there
    assert exc.value.field.endswith(".file")
    assert "not found" in exc.value.message
