"""``truceline plan`` and the planning service on the real March 2025 line: the files it
writes, bad input named, and a changed assumption moving the answer the right way."""

from __future__ import annotations

import copy
import csv
import json
from importlib.resources import files
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from truceline.adapters.cli.main import cli
from truceline.core.planning.force import default_force_model, parse_force_model
from truceline.services.context import AgreementContext
from truceline.services.planning import PlanOptions, plan

DOC = yaml.safe_load((files("truceline.core") / "data" / "force_model.yaml")
                     .read_text(encoding="utf-8"))


def _run(*args: str) -> object:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_plan_writes_table_plot_maps_and_json(tmp_path: Path) -> None:
    out = tmp_path / "plan"
    res = _run("plan", "--agreement", "march2025", "--personnel", "2000,6000", "--days", "0",
               "--mission", "armed", "--out", str(out), "--time-limit", "10")
    assert res.exit_code == 0, res.output
    names = {p.name for p in out.iterdir()}
    assert names == {"plan.json", "plan.md", "plan.csv", "plan.png", "map_2000.png",
                     "map_6000.png"}
    body = json.loads((out / "plan.json").read_text())
    assert body["line_km"] > 1_250 and body["mission"] == "armed"
    small, big = body["layouts"]
    assert big["placed"]["posts"] > small["placed"]["posts"]
    assert big["covered"]["line_share"] >= small["covered"]["line_share"]
    for r in body["layouts"]:
        ex, gr = r["placement"]["exact"], r["placement"]["greedy"]
        # HiGHS may stop at the time limit (then "optimal" is false, the gap says how far):
        # neither its incumbent nor greedy can beat its proven bound
        assert gr["value"] <= ex["bound"] + 1e-9 and ex["value"] <= ex["bound"] + 1e-9
        assert not ex["optimal"] or ex["gap"] <= 1e-4  # optimal means a closed gap
    rows = list(csv.DictReader((out / "plan.csv").open()))
    assert [int(r["personnel"]) for r in rows] == [2000, 6000]
    md = (out / "plan.md").read_text()
    assert "roster.shift_hours" in md and "not measured" in md
    assert (out / "plan.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(("args", "message"), [
    (["--personnel", "10k"], "error: personnel: '10k' is not a whole number"),
    (["--personnel", "0"], "error: personnel:"),
    (["--personnel", "1000", "--sector-priority", "crimea=2"], "error: sector_priority:"),
])
def test_bad_input_is_named(tmp_path: Path, args: list[str], message: str) -> None:
    res = _run("plan", "--agreement", "march2025", "--days", "0", "--out",
               str(tmp_path / "p"), *args)
    assert res.exit_code == 65 and message in res.output, res.output


def test_an_edited_force_model_with_a_bad_value_is_named(tmp_path: Path) -> None:
    d = copy.deepcopy(DOC)
    d["roster"]["leave_share"] = 1.2
    f = tmp_path / "force.yaml"
    f.write_text(yaml.safe_dump(d))
    res = _run("plan", "--agreement", "march2025", "--personnel", "1000", "--days", "0",
               "--force-model", str(f), "--out", str(tmp_path / "p"))
    assert res.exit_code == 65 and "error: roster.leave_share:" in res.output


def test_longer_shifts_buy_more_posts_and_coverage(march: AgreementContext) -> None:
    """One assumption changed in the YAML (shifts of 10 h instead of 8): the same 3,000 people
    staff more posts, and the planned coverage does not fall."""
    d = copy.deepcopy(DOC)
    d["roster"]["shift_hours"] = 10
    opts = PlanOptions(mission="unarmed", time_limit_s=30)
    base = plan(march, default_force_model(), [3000], opts)["layouts"][0]
    longer = plan(march, parse_force_model(d), [3000], opts)["layouts"][0]
    assert longer["layout"]["posts"] > base["layout"]["posts"]
    assert longer["placed"]["posts"] > base["placed"]["posts"]
    assert (longer["placement"]["exact"]["value"]
            >= base["placement"]["exact"]["value"] - 1e-9)
