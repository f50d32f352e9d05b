"""``GET /plan`` (issue 16): the force plan of the stored agreement, for analysts only.

A plan names where every post, camera and array would stand, so every other role is refused
(401 without a key, 403 with one) and bad figures get a 422 naming the field.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.http.conftest import ROLES, World


def test_analyst_gets_the_plan(client: TestClient, world: World) -> None:
    r = client.get("/plan?personnel=3000&mission=armed", headers=world.headers("analyst"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["mission"] == "armed" and body["line"] == "front_2025"
    (row,) = body["layouts"]
    assert row["personnel"] == 3000 and row["measured"] is None
    assert row["layout"]["posts"] > 0 and len(row["sites"]) == sum(
        row["placed"][k] for k in ("posts", "cameras", "arrays"))
    assert 0.0 < row["covered"]["line_share"] <= 1.0
    # the served plan has no DEM, and says so
    assert body["coverage_model"]["terrain"] == "visibility: range only (no elevation model given)"
    keys = {a["key"] for a in body["assumptions"]}
    assert "roster.shift_hours" in keys and all(a["source"] for a in body["assumptions"])


@pytest.mark.parametrize("role", [r for r in ROLES if r not in ("analyst",)])
def test_other_roles_are_refused(client: TestClient, world: World, role: str) -> None:
    r = client.get("/plan?personnel=3000", headers=world.headers(role))
    assert r.status_code in (401, 403), (role, r.status_code)
    assert "sites" not in r.text


@pytest.mark.parametrize("q", ["personnel=ten", "personnel=0", "personnel=1,2,3,4,5,6,7",
                               "personnel=99999999"])
def test_bad_figures_name_the_field(client: TestClient, world: World, q: str) -> None:
    r = client.get(f"/plan?{q}", headers=world.headers("analyst"))
    assert r.status_code == 422, r.text  # ValidationError's status (errors.ERROR_TABLE)
    assert r.json()["field"] == "personnel"
