"""`truceline check` creates the notifications; `truceline notify endpoint|list|deliver`."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from truceline.adapters.cli.main import cli

from .conftest import Receiver


def run(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(cli, list(args))
    return res.exit_code, res.stdout, res.stderr


def test_check_notify_list_and_deliver(planted: Path, receiver: Receiver) -> None:
    db = str(planted)
    code, out, _ = run("check", "--db", db)
    assert code == 0 and out.rstrip().endswith("; 2 notifications"), out
    code, out, _ = run("notify", "endpoint", "--db", db, "--recipient", "FR", "--url",
                       f"{receiver.url}/hook/FR")
    assert code == 0 and out.startswith("whsec_")
    receiver.secrets["FR"] = out.strip()
    code, out, err = run("notify", "list", "--db", db)
    states = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [s["state"] for s in states] == ["open", "open"] and err == ""
    code, out, _ = run("notify", "deliver", "--db", db)
    assert code == 0 and "2 delivered" in out, out
    assert len(receiver.kept) == 2 and receiver.bad == []
    code, out, _ = run("notify", "deliver", "--db", db)
    assert "0 delivered" in out and len(receiver.requests) == 2  # nothing twice
    code, _, err = run("notify", "endpoint", "--db", db, "--recipient", "NATO", "--url",
                       "https://nato.example/hook")
    assert code == 65 and err.strip() == (
        "error: recipient: 'NATO' is not a guarantor, party or mediator of the agreement")
