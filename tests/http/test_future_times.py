"""A time in the future over HTTP: 422 naming the field, nothing stored (issue 11.7)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from .conftest import World, new_fire


def test_future_time_is_a_422_naming_the_field(world: World,
                                                make_client: Callable[..., TestClient]) -> None:
    c = make_client()
    h = world.headers("monitor")
    far = world.signed({**new_fire(501), "time": "2099-01-01T00:00:00+02:00"})
    r = c.post("/observations", headers=h, json=far)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "invalid_observation" and body["field"] == "time"
    assert "later than the time of receipt" in body["message"]
    assert c.get(f"/observations/{far['id']}", headers=h).status_code == 404

    batch = [world.signed(new_fire(502)), far]
    r = c.post("/observations/batch", headers=h, json={"observations": batch})
    assert r.status_code == 422 and r.json()["field"] == "observations[1].time"
    assert c.get("/observations/http-fire-502", headers=h).status_code == 404  # all or nothing
    r = c.post("/observations/batch?on_invalid=skip", headers=h, json={"observations": batch})
    assert r.status_code == 200
    assert r.json()["added"] == 1
    assert [(x["index"], x["field"]) for x in r.json()["rejected"]] == [(1, "time")]


def test_tolerance_comes_from_the_settings(world: World,
                                           make_client: Callable[..., TestClient]) -> None:
    c = make_client(future_tolerance_minutes=60 * 24 * 365 * 100)
    rec = world.signed({**new_fire(503), "time": "2099-01-01T00:00:00+02:00"})
    r = c.post("/observations", headers=world.headers("monitor"), json=rec)
    assert r.status_code == 200 and r.json()["added"] == 1
