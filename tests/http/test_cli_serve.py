"""`truceline apikey create|revoke`: the token works once printed, and stops when revoked."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner
from fastapi.testclient import TestClient

from truceline.adapters.cli.main import cli


def test_apikey_create_use_revoke(fresh_db: Path, make_client: Callable[..., TestClient]) -> None:
    run = CliRunner()
    made = run.invoke(cli, ["apikey", "create", "--db", str(fresh_db), "--name", "liaison",
                            "--role", "party", "--party", "UA"])
    assert made.exit_code == 0, made.output
    token = made.output.strip()
    c = make_client()
    h = {"Authorization": f"Bearer {token}"}
    assert c.get("/disputes", headers=h).status_code == 200
    gone = run.invoke(cli, ["apikey", "revoke", "--db", str(fresh_db), "--name", "liaison"])
    assert gone.exit_code == 0 and "revoked 1" in gone.output
    assert c.get("/disputes", headers=h).status_code == 401


def test_apikey_create_names_the_missing_binding(fresh_db: Path) -> None:
    r = CliRunner().invoke(cli, ["apikey", "create", "--db", str(fresh_db), "--name", "m",
                                 "--role", "monitor"])
    assert r.exit_code == 65 and "source" in r.output
    r = CliRunner().invoke(cli, ["apikey", "revoke", "--db", str(fresh_db), "--name", "none"])
    assert r.exit_code == 66
