"""The force model against history: fed the OSCE SMM's, UNFICYP's and UNDOF's published
strength and concept, it reproduces their published patrols and posts within the stated
tolerance (core/data/missions_history.yaml; the table in docs/planning.md)."""

from __future__ import annotations

import copy
from importlib.resources import files

import pytest
import yaml

from truceline.core.planning.calibration import calibrate, load_history
from truceline.core.planning.force import default_force_model, parse_force_model

FORCE = yaml.safe_load((files("truceline.core") / "data" / "force_model.yaml")
                       .read_text(encoding="utf-8"))


def test_every_historical_figure_names_its_source() -> None:
    h = load_history()
    assert 0 < h["tolerance"] <= 0.5
    for m in h["missions"]:
        for key in ("strength_source", "line_source", "concept_source", "published_source"):
            assert len(m[key]) > 20, (m["id"], key)
        assert sum(m["concept"].values()) == pytest.approx(1.0)


@pytest.mark.parametrize("row", calibrate(default_force_model()),
                         ids=lambda r: f"{r.mission}-{r.kind}")
def test_the_model_reproduces_published_densities(row) -> None:  # type: ignore[no-untyped-def]
    assert row.ok, (f"{row.mission}: {row.kind} {row.predicted:g} predicted, "
                    f"{row.published:g} published ({row.error:+.0%}, tolerance "
                    f"{row.tolerance:.0%})")


def test_the_tolerance_binds() -> None:
    """Not a test that cannot fail: two more people on duty at every armed post (a platoon
    position, not a section's) takes UNDOF outside the tolerance."""
    d = copy.deepcopy(FORCE)
    d["missions"]["armed"]["post_guards_on_duty"] = 4
    rows = {r.mission: r for r in calibrate(parse_force_model(d))}
    assert not rows["undof_1999"].ok
    assert rows["smm_2015"].ok  # the unarmed mission is untouched
