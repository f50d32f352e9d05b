"""``truceline sources``: a week in which one post's compass reads 7° off, end to end."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from truceline.adapters.cli.main import cli
from truceline.core.geo import GEOD

CENTRE = (37.95, 48.36)  # on the line of contact in Donetsk oblast
START = datetime.fromisoformat("2025-03-27T19:00:00+02:00")


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def biased_week(n_events: int, seed: int) -> list[dict]:
    """Outgoing fire near the centre every 20 minutes, each seen by four posts 7 km away
    (bearing sd 2°); post ``op-0``'s compass adds 7° to each of its bearings."""
    rng = np.random.default_rng(seed)
    posts = [GEOD.fwd(*CENTRE, az, 7_000.0)[:2] for az in (0, 80, 170, 260)]
    out = []
    for e in range(n_events):
        lon, lat, _ = GEOD.fwd(*CENTRE, rng.uniform(0, 360), rng.uniform(0, 2_000.0))
        t = (START + timedelta(minutes=20 * e)).isoformat()
        for k, (plon, plat) in enumerate(posts):
            az, _, _ = GEOD.inv(plon, plat, lon, lat)
            brg = (az + rng.normal(0, 2.0) + (7.0 if k == 0 else 0.0)) % 360.0
            out.append(
                {
                    "id": f"w-{e:03d}-{k}",
                    "kind": "fire",
                    "fire_type": "explosion",
                    "explosion_type": "outgoing",
                    "time": t,
                    "source_id": f"op-{k}",
                    "source_type": "monitor",
                    "observer_lon": round(float(plon), 6),
                    "observer_lat": round(float(plat), 6),
                    "bearing_deg": round(float(brg), 1),
                    "bearing_sd_deg": 2.0,
                }
            )
    return out


@pytest.fixture()
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "t.db")
    assert run("init", "--db", path, "--agreement", "march2025").exit_code == 0
    obs = tmp_path / "obs.jsonl"
    obs.write_text("".join(json.dumps(r) + "\n" for r in biased_week(40, seed=2)))
    res = run("ingest", "--db", path, str(obs))
    assert res.exit_code == 0, res.output
    return path


def test_before_any_check_it_says_so_in_one_line(db: str) -> None:
    res = CliRunner().invoke(cli, ["sources", "--db", db])
    assert res.exit_code != 0
    assert "no check has run" in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_the_biased_post_is_flagged_with_its_bias(db: str) -> None:
    assert run("check", "--db", db).exit_code == 0
    rows = json.loads(run("sources", "--db", db, "--format", "json").output)
    by_id = {r["source_id"]: r for r in rows}
    assert set(by_id) == {"op-0", "op-1", "op-2", "op-3"}
    biased = by_id["op-0"]
    assert biased["flagged"] and biased["bearings"] == 40
    assert abs(biased["bias_deg"] - 7.0) < 1.0 and biased["bias_se_deg"] < 1.5
    assert biased["corrected_deg"] == pytest.approx(biased["bias_deg"], abs=1.0)
    assert not any(by_id[k]["flagged"] for k in ("op-1", "op-2", "op-3"))
    table = run("sources", "--db", db, "--flagged").output.splitlines()
    assert table[0].split()[:3] == ["source_id", "bearings", "reports_used"]
    assert [line.split()[0] for line in table[1:-1]] == ["op-0"]
    assert table[-1] == "1 source; 1 with a bearing bias"


def test_a_bad_format_names_the_option(db: str) -> None:
    res = CliRunner().invoke(cli, ["sources", "--db", db, "--format", "xml"])
    assert res.exit_code == 2 and "--format" in res.output
