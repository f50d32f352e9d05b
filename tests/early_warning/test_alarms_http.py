"""``GET /alarms``: sector-level for everyone, incident ids only where the reader may see them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from truceline.adapters.http import create_app
from truceline.settings import Settings

from .conftest import ROLES, Mission
from .records import BASELINE, ESCALATED


@pytest.fixture(scope="module")
def client(mission: Mission) -> Iterator[TestClient]:
    with TestClient(create_app(str(mission.db), Settings())) as c:
        yield c


def _get(client: TestClient, mission: Mission, role: str | None, **params: str):
    headers = {"Authorization": f"Bearer {mission.tokens[role]}"} if role else {}
    return client.get("/alarms", params={"baseline_days": str(BASELINE), **params},
                      headers=headers)


def _ids(body: dict) -> set[str]:
    return {i for a in body["alarms"] for r in a["evidence"] for i in r["incidents"]}


def test_every_role_gets_the_same_alarms_and_only_its_incidents(client: TestClient,
                                                                 mission: Mission) -> None:
    full = _get(client, mission, "analyst").json()
    assert {a["sector"] for a in full["alarms"]} == {ESCALATED}
    everything = _ids(full)
    assert mission.published_incident in everything and len(everything) > 10

    def level(body: dict) -> list[tuple]:
        return [(a["sector"], a["category"], a["start"], a["day"],
                 [(r["day"], r["count"], r["coverage"]) for r in a["evidence"]])
                for a in body["alarms"]]

    for role in [None, *ROLES]:
        res = _get(client, mission, role)
        assert res.status_code == 200, (role, res.text)
        body = res.json()
        assert level(body) == level(full), role
        assert _ids(body) <= everything
        if role in (None, "public", "monitor"):  # published findings' incidents only
            assert _ids(body) == {mission.published_incident}, role


def test_since_filters_and_a_bad_day_names_the_field(client: TestClient,
                                                     mission: Mission) -> None:
    full = _get(client, mission, "analyst").json()["alarms"]
    last = max(a["day"] for a in full)
    late = _get(client, mission, "analyst", since=last).json()["alarms"]
    assert late and all(a["day"] == last for a in late) and len(late) < len(full)
    res = _get(client, mission, "public", since="2025-13-01")
    assert res.status_code in (400, 422)
    assert res.json()["field"] == "since"
