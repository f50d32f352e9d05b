"""The demo leaves the whole trust chain: a checkpoint the mission signed, cosigned by each
party's demo witness, and a record that verifies against it."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from truceline.adapters.cli.main import cli
from truceline.adapters.demo import DEMO_PASSPHRASE
from truceline.adapters.log_key import read_key_file
from truceline.adapters.store import open_store
from truceline.core.record.note import Signer, parse_note
from truceline.services import witnesses
from truceline.services.verify import verify_record


def test_demo_store_verifies_with_a_cosigned_checkpoint(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    res = CliRunner().invoke(cli, ["demo", "--out", str(out), "--sample-only"],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "cosigned by UA, RU" in res.output
    store = open_store(str(out / "demo.db"))
    rep = verify_record(store)
    assert rep.ok and rep.checkpoints == 1
    final = witnesses.final_checkpoint(store)
    assert final is not None
    cp, note = final
    assert cp.size == rep.size and cp.root_hash == rep.root  # the checkpoint covers everything
    # each party's cosignature is by the key whose private half the demo wrote for it
    names = {s.name for s in parse_note(note).signatures}
    for party in ("UA", "RU"):
        key = out / "witnesses" / f"{party}.key"
        assert key.stat().st_mode & 0o077 == 0
        assert Signer.from_skey(key.read_text().strip()).name in names
    # the log's key is in the encrypted key file beside the store, never in the store
    key = read_key_file(out / "log.key", DEMO_PASSPHRASE.encode())
    assert (out / "log.key").stat().st_mode & 0o077 == 0
    assert store.get_meta("log_skey") is None
    assert store.get_meta("log_vkey") == key.verifier().to_vkey()
    assert key.to_skey().encode() not in (out / "demo.db").read_bytes()
    store.close()
    # a finding names its sources apart from the weapon: "from monitor, sensor; weapon: mortar"
    named = 0
    for f in json.loads((out / "findings.json").read_text()):
        m = re.search(r" from ([a-z_\-, ]+?)(?:;| at )", f["explanation"])
        if m and f.get("weapon_class"):
            named += 1
            assert f["weapon_class"] not in m.group(1).split(", "), f["explanation"]
    assert named > 0
    verified = CliRunner().invoke(cli, ["record", "verify", "--db", str(out / "demo.db")])
    assert verified.exit_code == 0 and "cosigned by the parties' quorum" in verified.output
