"""The field form: generated, converted by pyxform, filled from its own fields, imported end to
end (init march2025, ingest, check) into findings; an edit is a new, linked version."""

from __future__ import annotations

import json
import sqlite3
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

import truceline.adapters.cli.commands  # noqa: F401  (registers the commands)
from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.cli.main import cli
from truceline.adapters.forms import SYSTEM_CHOICES, build_xlsform, form_fields, to_xform
from truceline.adapters.store import open_store
from truceline.core.catalogue import SYSTEMS
from truceline.core.taxonomy import RestrictionType, WeaponClass
from truceline.errors import ValidationError
from truceline.services.openings import full_entries

NS = {"x": "http://www.w3.org/2002/xforms"}


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def xform() -> str:
    ag, _ = load_agreement_file("march2025")
    return to_xform(build_xlsform(ag))


class FilledForm:
    """Reads an XForm's primary instance, binds and choice lists, and fills submissions from
    them: an answer the form has no field for, or a choice it does not offer, is an error."""

    def __init__(self, xml: str) -> None:
        root = ET.fromstring(xml)
        data = root.find(".//x:model/x:instance/x:data", NS)
        assert data is not None
        self.form_id, self.version = data.get("id"), data.get("version")
        self.paths: dict[str, str] = {}  # leaf name -> path below the root
        self._walk(data, "")
        self.types = {b.get("nodeset", "").removeprefix("/data/"): b.get("type")
                      for b in root.iterfind(".//x:model/x:bind", NS)}
        self.choices: dict[str, set[str]] = {}
        for inst in root.iterfind(".//x:model/x:instance", NS):
            if inst.get("id"):
                self.choices[inst.get("id", "")] = {
                    n.text or "" for n in inst.iterfind(".//x:item/x:name", NS)}
        self.select: dict[str, str] = {}  # path -> choice list
        for el in root.iter():
            if el.tag.endswith("}select1"):
                items = el.find("x:itemset", NS)
                assert items is not None
                self.select[el.get("ref", "").removeprefix("/data/")] = (
                    items.get("nodeset", "").split("'")[1])

    def _walk(self, el: ET.Element, prefix: str) -> None:
        for child in el:
            name = child.tag.split("}")[-1]
            path = f"{prefix}{name}"
            if len(child):
                self._walk(child, path + "/")
            else:
                self.paths.setdefault(name, path)

    def kobo(self, n: int, answers: dict[str, str], *, account: str = "monitor_alice",
             photos: tuple[str, ...] = (), edits: str | None = None) -> dict[str, Any]:
        """A submission as KoboToolbox's data API returns it (keys are group paths)."""
        u = str(uuid.UUID(int=n))
        out: dict[str, Any] = {"_id": n, "_uuid": u, "formhub/uuid": "f" * 32,
                               "__version__": self.version, "_submitted_by": account,
                               "_submission_time": "2025-03-28T10:00:00",
                               "_validation_status": {}, "_status": "submitted_via_web",
                               "meta/instanceID": f"uuid:{u}"}
        if edits is not None:
            out["meta/deprecatedID"] = f"uuid:{uuid.UUID(int=int(edits))}"
            out["meta/rootUuid"] = out["meta/deprecatedID"]
        for name, value in answers.items():
            path = self.paths[name]  # KeyError: not a field of the form
            if path in self.select:
                assert value in self.choices[self.select[path]], (name, value)
            if self.types.get(path) == "int":
                int(value)
            if self.types.get(path) == "geopoint":
                assert len(value.split()) == 4
            out[path] = value
        if photos:
            out[self.paths["photo"].split("/")[0]] = [
                {self.paths["photo"]: p} for p in photos]
            out["_attachments"] = [{"filename": f"monitor_alice/attachments/{p}",
                                    "mimetype": "image/jpeg"} for p in photos]
        return out


FIRE = {"start": "2025-03-27T20:16:02.101+02:00", "end": "2025-03-27T20:19:40.551+02:00",
        "deviceid": "collect:Xy12", "agreement": "march-2025", "post_id": "smm-post-1",
        "event_time": "2025-03-27T20:15:00.000+02:00", "time_precision": "minute",
        "observer_position": "48.37221 37.92758 131.2 4.0", "kind": "fire",
        "fire_type": "explosion", "explosion_type": "outgoing", "count": "4",
        "weapon_class": "tube_artillery", "affiliation": "unknown",
        "bearing_compass": "110", "bearing_deg": "110", "distance_band": "d4000_8000"}
CHECKPOINT = {"post_id": "smm-patrol-3", "event_time": "2025-03-28T08:15:00.000+02:00",
              "time_precision": "minute", "observer_position": "48.517774 38.138957 0 5",
              "kind": "restriction", "restriction_type": "checkpoint",
              "description": "Patrol denied passage at a checkpoint"}


def test_form_converts_with_every_choice(xform: str) -> None:
    form = FilledForm(xform)
    assert form.form_id == "truceline_march_2025"
    assert set(form_fields()) - {"end_group", "end_repeat", ""} <= set(form.paths)
    assert form.choices["party"] == {"UA", "RU", "unknown"}  # the agreement's parties
    assert form.choices["weapon_class"] == {w.value for w in WeaponClass}
    assert form.choices["restriction_type"] == {r.value for r in RestrictionType}
    assert len(form.choices["system"]) == len(SYSTEMS) + 1
    assert set(SYSTEM_CHOICES.values()) == {s.name for s in SYSTEMS}
    assert form.types["observer_position"] == "geopoint"
    assert form.types["event_time"] == "dateTime"
    assert form.types["photos/photo"] == "binary"
    assert 'appearance="bearing"' in xform


@pytest.mark.parametrize("agreement", ["march2025", "minsk2", "new_start", "inf2"])
def test_every_example_agreement_gives_a_form_without_warnings(agreement: str) -> None:
    from io import BytesIO

    from pyxform.xls2xform import convert

    warnings: list[str] = []
    ag, _ = load_agreement_file(agreement)
    convert(xlsform=BytesIO(build_xlsform(ag)), file_type=".xlsx", warnings=warnings)
    assert warnings == []


def test_cli_writes_a_form_pyxform_accepts(tmp_path: Path) -> None:
    out, xml = tmp_path / "form.xlsx", tmp_path / "form.xml"
    res = run("form", "--agreement", "march2025", "--out", str(out), "--xform", str(xml))
    assert res.exit_code == 0, res.output
    wb = load_workbook(out)
    assert wb.sheetnames == ["survey", "choices", "settings"]
    assert to_xform(out.read_bytes()) == xml.read_text(encoding="utf-8")


def test_a_broken_form_is_refused_naming_pyxform() -> None:
    ag, _ = load_agreement_file("march2025")
    data = build_xlsform(ag)
    from io import BytesIO

    wb = load_workbook(BytesIO(data))
    wb["survey"].append(["select_one nowhere", "broken", "Broken"])
    buf = BytesIO()
    wb.save(buf)
    with pytest.raises(ValidationError) as exc:
        to_xform(buf.getvalue())
    assert exc.value.field == "form" and "nowhere" in str(exc.value)


def _ids(db: str) -> dict[str, str | None]:
    with sqlite3.connect(db) as c:
        return {r[0]: json.loads(r[1]).get("supersedes")
                for r in c.execute("SELECT id, record FROM observations")}


def test_filled_form_imports_end_to_end_and_an_edit_is_a_linked_version(
    xform: str, tmp_path: Path
) -> None:
    form = FilledForm(xform)
    db = str(tmp_path / "t.db")
    assert run("init", "--db", db, "--agreement", "march2025").exit_code == 0
    export = tmp_path / "kobo.json"
    subs = [form.kobo(1, FIRE, photos=("1743099300.jpg",)), form.kobo(2, CHECKPOINT)]
    export.write_text(json.dumps({"count": 2, "next": None, "previous": None,
                                  "results": subs}))
    res = run("ingest", "--db", db, str(export))
    assert res.exit_code == 0 and "2 added, 0 already stored, 0 rejected" in res.output
    res = run("check", "--db", db)
    assert res.exit_code == 0, res.output
    found = run("findings", "--db", db).output
    fire = next(x for x in found.splitlines() if "M25-ceasefire" in x and "violation" in x)
    assert "4 x explosion (outgoing)" in fire and "origin at 48.35" in fire
    assert any("M25-movement" in x and "checkpoint" in x and x.startswith("violation")
               for x in found.splitlines())

    # the same export again: nothing new; an edit (count 4 -> 7): a new version linked
    assert "0 added, 2 already stored" in run("ingest", "--db", db, str(export)).output
    edited = form.kobo(3, {**FIRE, "count": "7"}, edits="1")
    export.write_text(json.dumps({"results": [edited, subs[1]]}))
    res = run("ingest", "--db", db, str(export))
    assert res.exit_code == 0 and "1 added, 1 already stored, 0 rejected" in res.output
    ids = _ids(db)
    old, new = f"kobo-{uuid.UUID(int=1)}", f"kobo-{uuid.UUID(int=3)}"
    assert ids[old] is None and ids[new] == old  # both kept, the new one names the old
    run("check", "--db", db)
    found = run("findings", "--db", db).output
    fire = next(x for x in found.splitlines() if "M25-ceasefire" in x and "violation" in x)
    assert "7 x explosion (outgoing)" in fire  # counted through the latest version only


def test_an_answer_the_form_cannot_give_is_rejected_naming_the_field(
    xform: str, tmp_path: Path
) -> None:
    form = FilledForm(xform)
    db = str(tmp_path / "t.db")
    run("init", "--db", db, "--agreement", "march2025")
    bad = form.kobo(5, CHECKPOINT)
    bad["restriction_type"] = "roadblock"
    anon = form.kobo(6, CHECKPOINT, account="")
    export = tmp_path / "kobo.json"
    export.write_text(json.dumps([form.kobo(4, FIRE), bad, anon]))
    res = run("ingest", "--db", db, str(export))
    assert res.exit_code == 65
    assert "line 2: restriction_type: not a choice of the form: 'roadblock'" in res.output
    assert _ids(db) == {}  # nothing of a bad file is stored
    res = run("ingest", "--db", db, "--on-invalid", "skip", str(export))
    assert res.exit_code == 4
    assert "line 3: _submitted_by: missing" in res.output
    assert "1 added, 0 already stored, 2 rejected" in res.output


def test_server_signs_for_accounts_and_says_so(xform: str, tmp_path: Path) -> None:
    """--sign-for-accounts: each account gets a server-held key whose registration entry says
    so; its submissions are stored signed, idempotently; an unsigned one is then refused."""
    form = FilledForm(xform)
    db, keys = str(tmp_path / "t.db"), tmp_path / "keys"
    run("init", "--db", db, "--agreement", "march2025")
    export = tmp_path / "kobo.json"
    args = ["ingest", "--db", db, "--sign-for-accounts", str(keys), str(export)]
    # a bad file registers no key and stores nothing
    export.write_text(json.dumps([form.kobo(1, FIRE), {**form.kobo(2, CHECKPOINT),
                                                        "distance_band": "far"}]))
    assert run(*args).exit_code == 65
    assert not keys.exists() and open_store(db).keys() == [] and _ids(db) == {}
    export.write_text(json.dumps([form.kobo(1, FIRE), form.kobo(2, CHECKPOINT),
                                  form.kobo(3, CHECKPOINT, account="monitor_bogdan")]))
    res = run(*args)
    assert res.exit_code == 0 and "3 added, 0 already stored, 0 rejected" in res.output
    regs = [b for _, t, b in full_entries(open_store(db)) if t == "key_registration"]
    with sqlite3.connect(db) as c:
        signed = [json.loads(r).get("signature") for (r,) in c.execute(
            "SELECT record FROM observations")]
    assert sorted(r["owner"] for r in regs) == ["kobo:monitor_alice", "kobo:monitor_bogdan"]
    assert all(r["custody"].startswith("server: held by the server") for r in regs)
    assert all(signed) and len(set(signed)) == 3
    assert sorted(p.stat().st_mode & 0o777 for p in keys.iterdir()) == [0o600, 0o600]
    # the same export again: the same keys, the same signatures, nothing new
    assert "0 added, 3 already stored, 0 rejected" in run(*args).output
    assert run("record", "verify", "--db", db).exit_code == 0
    # the account now has a key: an unsigned submission of it is refused
    export.write_text(json.dumps([form.kobo(4, CHECKPOINT)]))
    res = run("ingest", "--db", db, "--on-invalid", "skip", str(export))
    assert res.exit_code == 4 and "signature" in res.output
