"""A bad row late in a large file stores nothing of that file (raise mode), on both stores:
the ingest pipeline commits every 1,000 rows, so without one transaction per file the
batches before the bad row would stay."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

import truceline.adapters.cli.commands  # noqa: F401  (registers the commands)
from tests.http.conftest import new_fire
from truceline.adapters.cli.main import cli
from truceline.adapters.store import open_store

ROWS = 2_500  # past two of the pipeline's 1,000-row commits


def _state(url: str) -> tuple[int, int]:
    store = open_store(url)
    try:
        return store.count_observations(), store.entry_count()
    finally:
        store.close()


def _file(tmp_path: Path, bad_at: int | None) -> Path:
    rows: list[dict[str, Any]] = [new_fire(i) for i in range(ROWS)]
    if bad_at is not None:
        rows[bad_at] = {**rows[bad_at], "bearing_deg": 400.0}
    path = tmp_path / "obs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_a_bad_row_after_two_thousand_stores_nothing_of_the_file(backend: Any,
                                                                 tmp_path: Path) -> None:
    run = CliRunner().invoke
    assert run(cli, ["init", "--db", backend.url, "--agreement", "march2025"]).exit_code == 0
    first = tmp_path / "first.jsonl"
    first.write_text(json.dumps(new_fire(10_000)) + "\n")
    assert run(cli, ["ingest", "--db", backend.url, str(first)]).exit_code == 0
    before = _state(backend.url)

    res = run(cli, ["ingest", "--db", backend.url, str(_file(tmp_path, bad_at=2_300))])
    assert res.exit_code == 65, res.output
    assert "line 2301" in res.output and "bearing_deg" in res.output
    assert _state(backend.url) == before  # neither observations nor record entries

    res = run(cli, ["ingest", "--db", backend.url, "--on-invalid", "skip",
                    str(_file(tmp_path, bad_at=2_300))])
    assert res.exit_code == 4, res.output  # skip mode: the good rows stored, the bad reported
    assert _state(backend.url)[0] == before[0] + ROWS - 1

    res = run(cli, ["ingest", "--db", backend.url, str(_file(tmp_path, bad_at=None))])
    assert res.exit_code == 0, res.output  # the one left out before, now good, is added
    assert _state(backend.url)[0] == before[0] + ROWS
