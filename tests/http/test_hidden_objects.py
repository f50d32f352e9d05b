"""What a key may not see must not show through a side door: an error that tells a hidden
object from a missing one, or a filter that selects by what the key may not read.

Each test asks one question two ways (an object that exists but is hidden, one that does
not exist; a report narrowed by party against the report's own party column) and requires
the same answer.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.http.conftest import OBS_FOREIGN, World

MISSING = "no-such-observation-anywhere"


def _answer(r: Any) -> tuple[int, Any]:
    return r.status_code, r.json()


def test_a_hidden_observation_reads_as_a_missing_one(world: World, client: TestClient) -> None:
    # OBS_FOREIGN exists (evidence of a UA finding) but the monitor and RU may not see it
    for role in ("monitor", "party_RU", "guarantor_UK"):
        h = world.headers(role)
        hidden = _answer(client.get(f"/observations/{OBS_FOREIGN}", headers=h))
        missing = _answer(client.get(f"/observations/{MISSING}", headers=h))
        assert hidden[0] == 404 and hidden == missing, (role, hidden, missing)


def test_a_hidden_observation_feature_reads_as_a_missing_one(world: World,
                                                             client: TestClient) -> None:
    base = "/ogc/collections/observations/items"
    for role in ("monitor", "party_RU"):
        h = world.headers(role)
        hidden = _answer(client.get(f"{base}/{OBS_FOREIGN}", headers=h))
        missing = _answer(client.get(f"{base}/{MISSING}", headers=h))
        assert hidden[0] == 404 and hidden == missing, (role, hidden, missing)
