"""Hostile client input is answered with a 4xx envelope naming the field, never a 5xx
(issue 13, item 5), on SQLite and on PostgreSQL alike.

Deeply nested JSON, lone surrogates and NUL characters in strings, dates whose reporting
period or UTC form falls outside the years 1 to 9999, and bodies declared as something other
than JSON. NUL and lone surrogates are refused when an observation is validated, so both
stores answer the same (PostgreSQL text cannot hold a NUL; no UTF-8 holds a lone surrogate).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.http.conftest import new_fire, sample_records
from tests.store import conftest as store_conftest
from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.http import create_app
from truceline.adapters.http.auth import create_api_key
from truceline.adapters.store import open_store
from truceline.services.check import run_check
from truceline.services.ingest import ingest
from truceline.services.record import initialize_store
from truceline.settings import Settings

# the PostgreSQL server of the store tests (a schema of this module's own in its database)
pg_server = store_conftest.pg_server
PG_URL, with_database = store_conftest.PG_URL, store_conftest.with_database

JSON = {"Content-Type": "application/json"}
DEEP = 100_000  # far past the JSON parser's recursion limit


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


class Api:
    """The real app over a real store, with an analyst's key (submits for any source)."""

    def __init__(self, client: TestClient, token: str) -> None:
        self.client = client
        self.auth = {"Authorization": f"Bearer {token}"}

    def post(self, path: str, body: bytes, **headers: str) -> Any:
        return self.client.post(path, headers={**self.auth, **JSON, **headers}, content=body)

    def get(self, path: str, **params: str) -> Any:
        return self.client.get(path, headers=self.auth, params=params)


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def api(request: pytest.FixtureRequest,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """One app and store per backend for the module: building them (the sample ingested and
    checked) cost ~6 s a test, and every write below is refused (the tests that could store
    count the observations before and after)."""
    schema = None
    if request.param == "postgres":
        server = request.getfixturevalue("pg_server")
        schema = "t_" + secrets.token_hex(6)
        with server.connect() as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        url = with_database(PG_URL, server.dbname, f"{schema},public")
    else:
        url = str(tmp_path_factory.mktemp("hostile") / "store.db")
    _, doc = load_agreement_file("march2025")
    store = open_store(url, create=True)
    try:
        initialize_store(store, doc)
        ingest(store, list(enumerate(sample_records())))
        run_check(store)
        token = create_api_key(store, "analyst", "analyst", None)
    finally:
        store.close()
    with TestClient(create_app(url, Settings()), raise_server_exceptions=False) as c:
        yield Api(c, token)
    if schema is not None:
        with server.connect() as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def _refused(r: Any, status: int, field: str) -> dict[str, Any]:
    """A 4xx JSON envelope ``{"code", "message", "field"}`` naming ``field``."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = r.json()
    assert body["code"] and body["message"] and body["field"] == field, body
    return body


def _count(api: Api) -> int:
    r = api.get("/observations", limit="10000")
    assert r.status_code == 200, r.text
    return int(r.json()["numberReturned"])


def test_deeply_nested_json_is_422_naming_the_body(api: Api) -> None:
    deep = _nested(DEEP).encode()
    _refused(api.post("/observations", deep), 422, "body")
    _refused(api.post("/observations/batch", b'{"observations":[' + deep + b"]}"), 422, "body")
    obj = b'{"a":' * DEEP + b"1" + b"}" * DEEP
    _refused(api.post("/observations", obj), 422, "body")
    # nested less deeply than the parser's limit, in a field: refused by the field's type
    rec = {**new_fire(1), "description": json.loads(_nested(900))}
    _refused(api.post("/observations", json.dumps(rec).encode()), 422, "description")
    r = api.post("/observations/batch?on_invalid=skip",
                 json.dumps({"observations": [{**new_fire(2), "id": json.loads(_nested(900))}]})
                 .encode())
    assert r.status_code == 200, r.text
    assert r.json()["added"] == 0 and r.json()["rejected"][0]["field"] == "id"


@pytest.mark.parametrize(("field", "value"), [
    ("id", "\ud800"), ("id", "fire-\udfff"), ("source_id", "\ud800"), ("id", "a\x00b"),
    ("source_id", "smm-post-1\x00"), ("description", "seen\x00"), ("system", "\udbff"),
])
def test_nul_and_lone_surrogates_are_refused_naming_the_field(api: Api, field: str,
                                                              value: str) -> None:
    before = _count(api)
    rec = {**new_fire(3), field: value}
    body = _refused(api.post("/observations", json.dumps(rec).encode()), 422, field)
    assert body["code"] == "invalid_observation"
    _refused(api.post("/observations/batch", json.dumps({"observations": [rec]}).encode()),
             422, f"observations[0].{field}")
    r = api.post("/observations/batch?on_invalid=skip",
                 json.dumps({"observations": [rec, new_fire(4)]}).encode())
    assert r.status_code in (200, 400), r.text  # 400: the good one is unsigned
    if r.status_code == 200:
        assert [x["field"] for x in r.json()["rejected"]][:1] == [field]
    assert _count(api) == before  # nothing of the refused record was stored


def test_a_lone_surrogate_as_a_field_name_is_refused(api: Api) -> None:
    rec = {**new_fire(5), "\ud800": 1}
    _refused(api.post("/observations", json.dumps(rec).encode()), 422, "\\ud800")


def test_reads_with_nul_or_surrogates_are_4xx(api: Api) -> None:
    _refused(api.get("/observations", source_id="a\x00b"), 422, "source_id")
    r = api.client.get("/observations?source_id=a%ED%A0%80", headers=api.auth)
    assert r.status_code == 200, r.text  # not UTF-8: read with replacement characters
    _refused(api.get("/observations/a%00b"), 404, "id")
    _refused(api.get("/observations/a%ED%A0%80"), 404, "id")


@pytest.mark.parametrize(("day", "ok"), [
    ("0001-01-01", False), ("0001-01-02", True), ("9999-12-31", True)])
def test_report_days_at_the_ends_of_the_calendar(api: Api, day: str, ok: bool) -> None:
    r = api.get(f"/reports/daily/{day}")
    if ok:
        assert r.status_code == 200, r.text
    else:
        assert "0001-01-01" in _refused(r, 422, "day")["message"]


@pytest.mark.parametrize(("param", "value"), [
    ("start", "0001-01-01T00:00:00+05:00"), ("end", "0001-01-01T00:00:00+14:00"),
    ("end", "9999-12-31T23:00:00-05:00"), ("start", "9999-12-31T23:59:59-00:01"),
])
def test_times_outside_the_utc_calendar_are_422(api: Api, param: str, value: str) -> None:
    _refused(api.get("/observations", **{param: value}), 422, param)


def test_times_at_the_ends_of_the_utc_calendar_are_read(api: Api) -> None:
    r = api.get("/observations", start="0001-01-01T00:00:00Z", end="9999-12-31T23:59:59Z")
    assert r.status_code == 200 and r.json()["numberReturned"] > 0, r.text


@pytest.mark.parametrize("ctype", [
    "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
    "application/xml", "application/octet-stream", "text/json"])
def test_bodies_not_declared_as_json_are_415(api: Api, ctype: str) -> None:
    before = _count(api)
    rec = json.dumps(new_fire(6)).encode()
    body = _refused(api.post("/observations", rec, **{"Content-Type": ctype}), 415,
                    "content-type")
    assert body["code"] == "unsupported_media_type"
    batch = json.dumps({"observations": [new_fire(7)]}).encode()
    _refused(api.post("/observations/batch", batch, **{"Content-Type": ctype}), 415,
             "content-type")
    assert _count(api) == before


@pytest.mark.parametrize("ctype", [
    "application/json", "application/json; charset=utf-8", "Application/JSON",
    "application/merge-patch+json"])
def test_json_media_types_are_read(api: Api, ctype: str) -> None:
    """Declared as JSON, the body is read (and refused here for its content, not its type)."""
    r = api.post("/observations", b'{"id": ""}', **{"Content-Type": ctype})
    assert r.status_code == 422 and r.json()["code"] == "invalid_observation", r.text
