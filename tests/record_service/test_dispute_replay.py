"""End to end on the March 2025 example: RU disputes a finding about it, the analyst answers,
RU withdraws, all through the API; every step is in the record, and `record replay` from the
exported tiles alone (another machine) rebuilds a store holding the same dispute states."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from fastapi.testclient import TestClient

from truceline.adapters.cli.main import cli
from truceline.adapters.http import create_app
from truceline.adapters.http.auth import create_api_key
from truceline.adapters.store.sqlite import SQLiteStore
from truceline.services import record, verify
from truceline.services.check import run_check
from truceline.services.ingest import ingest
from truceline.services.openings import full_entries
from truceline.settings import Settings

from .conftest import LOG_KEY, NOW, new_store, sample_rows


def test_dispute_answer_withdraw_replays_to_the_same_states(tmp_path: Path) -> None:
    db = tmp_path / "mission.db"
    store = new_store(db)
    ingest(store, list(enumerate(sample_rows(), 1)))
    run_check(store)
    analyst = {"Authorization": f"Bearer {create_api_key(store, 'a', 'analyst', None)}"}
    ru = {"Authorization": f"Bearer {create_api_key(store, 'ru', 'party', 'RU')}"}
    store.close()

    with TestClient(create_app(str(db), Settings())) as c:
        fs = c.get("/findings", headers=ru).json()["findings"]
        about_ru = [f for f in fs if f["party"] == "RU"]
        assert about_ru, "the sample holds findings about RU"
        f = about_ru[0]
        r = c.post(f"/findings/{f['id']}/disputes", headers=ru,
                   json={"text": "that battery was withdrawn on 20 March",
                         "evidence": f["evidence"][:1]})
        assert r.status_code == 201, r.text
        did = r.json()["id"]
        r = c.post(f"/disputes/{did}/answer", headers=analyst,
                   json={"text": "the crater analysis shows fire from the east"})
        assert r.status_code == 200 and r.json()["status"] == "answered", r.text
        r = c.post(f"/disputes/{did}/withdraw", headers=ru)
        assert r.status_code == 200 and r.json()["status"] == "withdrawn", r.text

    store = SQLiteStore(db)
    steps = [b for _, t, b in full_entries(store) if t == "status_change"]  # opened
    mine = [(b["action"], b["status"]) for b in steps if b.get("dispute_id") == did]
    assert mine == [("answer", "answered"), ("withdraw", "withdrawn")]
    assert [e.type for e in store.entries()].count("dispute") == 1
    assert verify.verify_record(store).ok
    record.publish_checkpoint(store, LOG_KEY, NOW)
    tiles = tmp_path / "tiles"
    for path, data in verify.export_tiles(store).items():
        (tiles / path).parent.mkdir(parents=True, exist_ok=True)
        (tiles / path).write_bytes(data)
    vkey = store.get_meta("log_vkey") or ""

    other = tmp_path / "elsewhere" / "replayed.db"
    other.parent.mkdir()
    every = tmp_path / "every.json"  # a database is rebuilt from every opening
    assert CliRunner().invoke(cli, ["record", "openings", "--db", str(db), "--for", "analyst",
                                    "--out", str(every)]).exit_code == 0
    res = CliRunner().invoke(cli, ["record", "replay", "--tiles", str(tiles), "--log-vkey", vkey,
                                   "--db", str(other), "--openings", str(every)])
    assert res.exit_code == 0, res.output
    copy = SQLiteStore(other)
    assert copy.disputes() == store.disputes()
    [state] = copy.disputes()
    assert state["status"] == "withdrawn"
    assert [h["action"] for h in state["history"]] == ["answer", "withdraw"]
    assert verify.verify_record(copy).ok
