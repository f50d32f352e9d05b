"""New START aggregate data exchanges → declarations; blanks are skipped, not zero."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from truceline.adapters.importers import Skipped, iter_observations
from truceline.adapters.importers.arms_control import CATEGORIES
from truceline.core.observations import Observation, Rejection
from truceline.core.taxonomy import Kind, SourceType

from .conftest import NEW_START


@pytest.fixture(scope="module")
def imported(data_dir: Path) -> tuple[dict[str, Observation], list[Rejection]]:
    obs: dict[str, Observation] = {}
    skipped: list[Rejection] = []
    for o in iter_observations(data_dir / NEW_START):  # raise mode: skips are not errors
        if isinstance(o, Rejection):
            skipped.append(o)
        else:
            obs[o.id] = o
    return obs, skipped


def test_counts(
    imported: tuple[dict[str, Observation], list[Rejection]], data_dir: Path
) -> None:
    obs, skipped = imported
    with (data_dir / NEW_START).open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    cells = [r[c] for r in rows for c in CATEGORIES]
    assert (len(rows), len(cells)) == (26, 78)
    assert len(obs) == sum(bool(c) for c in cells) == 74
    assert len(skipped) == 4 and all(isinstance(s, Skipped) for s in skipped)
    assert {o.kind for o in obs.values()} == {Kind.DECLARATION}


def test_known_row(imported: tuple[dict[str, Observation], list[Rejection]]) -> None:
    o = imported[0]["newstart-RUS-2018-02-05-warheads_on_deployed"]
    assert (o.party, o.category, o.quantity) == ("RUS", "warheads_on_deployed", 1444)
    assert o.as_of == date(2018, 2, 5)
    assert o.time == datetime(2018, 2, 5, tzinfo=UTC)
    assert (o.source_id, o.source_type) == ("RUS", SourceType.PARTY)
    assert o.description is not None and "newsweek.com" in o.description
    assert "central limits take effect" in o.description
    usa = imported[0]["newstart-USA-2023-03-01-deployed_and_nondeployed_launchers"]
    assert usa.quantity == 800


def test_blank_values_are_reported(
    imported: tuple[dict[str, Observation], list[Rejection]],
) -> None:
    skipped = {(s.line, s.field): s for s in imported[1]}
    assert sorted(skipped) == [
        (19, "deployed_and_nondeployed_launchers"),
        (27, "deployed_and_nondeployed_launchers"),
        (27, "deployed_icbm_slbm_hb"),
        (27, "warheads_on_deployed"),
    ]
    russia_2023 = skipped[(27, "warheads_on_deployed")]
    assert russia_2023.reason == "skipped: no value given (Not provided)"
    assert russia_2023.id == "newstart-RUS-2023-03-01-warheads_on_deployed"
    assert "newstart-RUS-2023-03-01-warheads_on_deployed" not in imported[0]
