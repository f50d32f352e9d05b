"""A party's replay from the public tiles and its own openings (issue 13, commitments).

The mission exports the tiles (committed entries only) and writes each reader its bundle of
openings. A party replays with its bundle: every opening is checked against the signed log,
the findings it may see verify by commitment (or are re-derived, when its openings hold their
evidence), and nothing else is opened. A changed opening fails the replay; a database is
rebuilt only from every opening. A plaintext entry from an older store still verifies and is
counted by ``record verify``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import truceline.adapters.cli.commands  # noqa: F401  (registers the commands)
from truceline.adapters.cli.main import cli
from truceline.adapters.store.sql import SQLStore
from truceline.core.findings import Finding
from truceline.core.observations import Observation
from truceline.core.record.canonical import entry_bytes
from truceline.services import record
from truceline.services.check import run_check
from truceline.services.ingest import ingest
from truceline.services.openings import full_entries, parse_bundle, partial_findings
from truceline.services.verify import export_tiles, replay, verify_record
from truceline.services.verify_rows import PUBLISHED_KEY

from .conftest import LOG_KEY, NOW, new_store, sample_rows


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture()
def mission(tmp_path: Path) -> tuple[str, Path, str]:
    """A checked sample store with its checkpoint, exported as tiles; (db, tiles, vkey)."""
    db = tmp_path / "m.db"
    store = new_store(db)
    ingest(store, list(enumerate(sample_rows(), 1)))
    run_check(store)
    fid = store.findings()[0].id
    body = {"finding_id": fid, "status": "published", "by": "analyst-1", "time": "2025-03-29"}
    store.add_to_meta_set(
        PUBLISHED_KEY, fid, [("status_change", entry_bytes("status_change", body))]
    )
    record.publish_checkpoint(store, LOG_KEY, NOW)
    tiles = tmp_path / "tiles"
    for path, data in export_tiles(store).items():
        (tiles / path).parent.mkdir(parents=True, exist_ok=True)
        (tiles / path).write_bytes(data)
    vkey = record.log_verifier(store).to_vkey()
    store.close()
    return str(db), tiles, vkey


def _bundle(db: str, reader: str, out: Path) -> dict[str, Any]:
    res = run("record", "openings", "--db", db, "--for", reader, "--out", str(out))
    assert res.exit_code == 0, res.output
    assert out.stat().st_mode & 0o077 == 0  # private, like a key
    doc: dict[str, Any] = json.loads(out.read_text())
    return doc


def test_a_party_replays_with_its_openings(mission: tuple[str, Path, str], tmp_path: Path) -> None:
    db, tiles, vkey = mission
    ua = _bundle(db, "party:UA", tmp_path / "ua.json")
    store = new_store(Path(db))
    seen = {f.id for f in store.findings() if f.party == "UA"} | set(
        json.loads(store.get_meta(PUBLISHED_KEY) or "[]")
    )
    opened_ids = {o["value"] for o in ua["openings"] if o["field"] == "id"}
    assert opened_ids == seen  # exactly the findings UA may see (the sample has no UA report)
    assert not any(o["field"] in ("lon", "lat", "source_id") for o in ua["openings"])
    res = run(
        "record",
        "replay",
        "--tiles",
        str(tiles),
        "--log-vkey",
        vkey,
        "--openings",
        str(tmp_path / "ua.json"),
    )
    assert res.exit_code == 0, res.output
    assert f"0 of your findings re-derived, {len(seen)} verified by commitment only" in res.output
    # a changed opening fails against the signed log (exit 3), naming the entry
    bad = dict(ua)
    item = next(o for o in ua["openings"] if o["field"] == "verdict")
    bad["openings"] = [
        dict(o, value="compliant" if o["value"] != "compliant" else "violation") if o is item else o
        for o in ua["openings"]
    ]
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    res = run(
        "record",
        "replay",
        "--tiles",
        str(tiles),
        "--log-vkey",
        vkey,
        "--openings",
        str(tmp_path / "bad.json"),
    )
    assert res.exit_code == 3 and f"entry {item['index']}" in res.output, res.output
    # a database holds full rows: not from a party's openings (exit 65, field openings)
    res = run(
        "record",
        "replay",
        "--tiles",
        str(tiles),
        "--log-vkey",
        vkey,
        "--openings",
        str(tmp_path / "ua.json"),
        "--db",
        str(tmp_path / "mirror.db"),
    )
    assert res.exit_code == 65 and "openings" in res.output, res.output
    store.close()


def test_the_analyst_bundle_replays_everything(
    mission: tuple[str, Path, str], tmp_path: Path
) -> None:
    db, tiles, vkey = mission
    _bundle(db, "analyst", tmp_path / "all.json")
    res = run(
        "record",
        "replay",
        "--tiles",
        str(tiles),
        "--log-vkey",
        vkey,
        "--openings",
        str(tmp_path / "all.json"),
        "--db",
        str(tmp_path / "mirror.db"),
    )
    assert res.exit_code == 0 and "findings identical to the published ones" in res.output
    assert run("record", "verify", "--db", str(tmp_path / "mirror.db")).exit_code == 0
    assert (
        run(
            "record", "openings", "--db", db, "--for", "party", "--out", str(tmp_path / "x.json")
        ).exit_code
        == 65
    )  # a party names itself


def test_openings_of_the_evidence_re_derive_a_finding(mission: tuple[str, Path, str]) -> None:
    """What "re-derives the findings it is entitled to" means: given the openings of a
    finding's evidence, the checks over those observations give that finding again."""
    db, tiles, vkey = mission
    store = new_store(Path(db))
    every = store.openings()
    entries = list(full_entries(store))
    target = next(f for f in store.findings() if f.evidence and f.party)
    keep = {i for i, t, b in entries if t == "observation" and b["id"] in target.evidence}
    fid = {i for i, t, b in entries if t == "finding" and b["id"] == target.id}
    mine = {i: ops for i, ops in every.items() if i in keep | fid}
    res = replay(lambda p: (tiles / p).read_bytes(), vkey, mine)
    assert res.sealed and res.rederived == [target.id] and res.by_commitment == []
    assert res.differences == []
    # the rule itself, on the opened entries: the finding comes back from its evidence alone
    parsed = [(t, b) for _, t, b in entries]
    sealed = {i for i, _, _ in entries} - keep - fid

    def derive(obs: list[Observation]) -> list[Finding]:
        assert {o.id for o in obs} == set(target.evidence)
        return [target]

    part = partial_findings(parsed, sealed, len(parsed), derive)
    assert part.rederived == [target.id] and part.observations == len(target.evidence)
    store.close()


def test_a_plaintext_entry_from_before_still_verifies(tmp_path: Path) -> None:
    """An older store's entries are plaintext: they verify, and verify counts them."""
    store = new_store(tmp_path / "old.db")
    ingest(store, list(enumerate(sample_rows()[:3], 1)))
    assert verify_record(store).plaintext == 0
    old = entry_bytes(
        "status_change", {"subject": "observation", "observation_id": "m25-x", "status": "note"}
    )
    with store._tx():  # appended as an older version did: no commitments, no openings
        SQLStore._append(store, [("status_change", old)])
    rep = verify_record(store)
    assert rep.ok and rep.plaintext == 1, rep.problems
    assert parse_bundle({"format": "truceline-openings/v1", "openings": []}) == {}
    store.close()


def test_pages_of_openings_replay_as_one_bundle(mission: tuple[str, Path, str],
                                               tmp_path: Path) -> None:
    """The pages of GET /record/openings, each saved as a file, are one bundle together."""
    db, tiles, vkey = mission
    every = _bundle(db, "analyst", tmp_path / "all.json")
    half = len(every["openings"]) // 2
    for name, part in (("a", every["openings"][:half]), ("b", every["openings"][half:])):
        (tmp_path / f"{name}.json").write_text(json.dumps({**every, "openings": part}))
    args = ["record", "replay", "--tiles", str(tiles), "--log-vkey", vkey]
    res = run(*args, "--openings", str(tmp_path / "a.json"), "--openings",
              str(tmp_path / "b.json"))
    assert res.exit_code == 0 and "findings identical to the published ones" in res.output
    res = run(*args, "--openings", str(tmp_path / "a.json"))  # half: verified, not re-derived
    assert res.exit_code == 0 and "entries stay committed" in res.output, res.output
    (tmp_path / "c.json").write_text("{not json")
    res = run(*args, "--openings", str(tmp_path / "c.json"))
    assert res.exit_code == 65 and "openings" in res.output
