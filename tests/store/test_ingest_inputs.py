"""`truceline ingest` on input a new user gets wrong, against both stores (issue 11, item 7).

The encoding check and the exit rule live before and after the store, so SQLite and PostgreSQL
must behave alike: one line and exit 65 for a file that is not text (nothing stored), a
byte-order mark read, ``--on-invalid skip`` exiting 4 when anything was rejected.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import truceline.adapters.cli.commands  # noqa: F401  (registers the commands)
from tests.encoded import DATASETS, encoded
from truceline.adapters.cli.main import cli
from truceline.errors import EXIT_PARTIAL

from .conftest import Backend


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture()
def url(backend: Backend) -> str:
    res = run("init", "--db", backend.url, "--agreement", "march2025")
    assert res.exit_code == 0, res.output
    return backend.url


def _stored(backend: Backend) -> int:
    store = backend.open(create=False)
    try:
        return store.count_observations()
    finally:
        store.close()


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "ucdp"])
@pytest.mark.parametrize("encoding", ["utf-16-le", "random"])
def test_not_text_is_one_line_exit_65_nothing_stored(
    url: str, backend: Backend, tmp_path: Path, fmt: str, encoding: str
) -> None:
    path = encoded(fmt, encoding, tmp_path)
    res = run("ingest", "--db", url, "--format", fmt, str(path))
    assert res.exit_code == 65, res.output
    (line,) = res.stderr.splitlines()
    assert line.startswith(f"error: {path}: line 1") and "not decodable as" in line
    assert _stored(backend) == 0


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "newstart"])
def test_byte_order_marks_are_read(url: str, tmp_path: Path, fmt: str) -> None:
    first = run("ingest", "--db", url, str(encoded(fmt, "utf-16", tmp_path)))
    assert first.exit_code == 0, first.output
    added = first.stdout.split(": ", 1)[1].split(" added")[0]
    assert int(added) > 0
    again = run("ingest", "--db", url, str(encoded(fmt, "utf-8-sig", tmp_path)))
    assert again.exit_code == 0, again.output
    assert f"0 added, {added} already stored, 0 rejected" in again.stdout


def test_skip_exits_partial(url: str, backend: Backend) -> None:
    res = run("ingest", "--db", url, "--on-invalid", "skip", str(DATASETS["cir"]))
    assert res.exit_code == EXIT_PARTIAL
    added = int(res.stdout.split(": ", 1)[1].split(" added")[0])
    assert added == _stored(backend) > 0
    assert "entry: missing, so the row has no stable id" in res.stderr
