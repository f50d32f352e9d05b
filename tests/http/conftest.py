"""A real store for the HTTP tests: the March 2025 example, its sample observations, checked.

The base database is built once per session; a test that changes data gets its own copy of the
file (``fresh_db``), so the role table can run every request against the same starting state.
"""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import truceline.adapters.cli.serve  # noqa: F401  (registers `serve` and `apikey` until main() does)
from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.http import create_app
from truceline.adapters.http.auth import create_api_key, revoke_api_key
from truceline.adapters.http.state import PUBLISHED_KEY
from truceline.adapters.store import open_store
from truceline.core.observations import parse_observation
from truceline.core.record.note import Signer
from truceline.services.check import run_check
from truceline.services.ingest import ingest
from truceline.services.keys import register_source_key
from truceline.services.record import initialize_store, publish_checkpoint
from truceline.services.submissions import sign_observation
from truceline.settings import Settings

from ..log_keys import DEFAULT_ORIGIN, fixed_key, key_file, settings_for

#: The log's key: the base store's checkpoint is signed with it, clients read it from a file.
LOG_KEY = fixed_key(DEFAULT_ORIGIN)

SAMPLE = Path(__file__).resolve().parents[2] / "src/truceline/examples/march2025_sample.jsonl"

#: Findings of the sample with known subjects (ids are deterministic).
F_RU = "f-47d4bbeae06f05a830e3"  # ceasefire, attributed to RU, evidence m25-fire-ru-1
F_UA_FOREIGN = "f-052d534b607455016ee1"  # no-foreign-contingents (UK/FR do not guarantee), UA
F_UNATTRIBUTED = "f-31cd56b710865b57dfd4"  # ceasefire, no party
F_PUBLISHED = "f-17c90266db26db02717a"  # ceasefire, UA, published in the base store
OBS_RU = "m25-fire-ru-1"  # by smm-post-1, evidence of F_RU
OBS_FOREIGN = "m25-presence-foreign-ua"  # evidence of F_UA_FOREIGN

ROLES = ["anon", "public", "monitor", "analyst", "party_UA", "party_RU", "guarantor_UK",
         "guarantor_US", "revoked"]
KEYS = {"public": ("public", None), "monitor": ("monitor", "smm-post-1"),
        "analyst": ("analyst", None), "party_UA": ("party", "UA"), "party_RU": ("party", "RU"),
        "guarantor_UK": ("guarantor", "UK"), "guarantor_US": ("guarantor", "US"),
        "revoked": ("analyst", None)}


@dataclass(frozen=True)
class World:
    db: Path
    tokens: dict[str, str]
    seed: bytes  # the signing key of source smm-post-1

    def headers(self, role: str) -> dict[str, str]:
        token = self.tokens.get(role)
        return {"Authorization": f"Bearer {token}"} if token else {}

    def signed(self, rec: dict[str, Any]) -> dict[str, Any]:
        obs = parse_observation(rec)
        return sign_observation(obs, Signer(obs.source_id, self.seed)).to_record()


def sample_records() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SAMPLE.read_text().splitlines() if line.strip()]


def new_fire(i: int, source: str = "smm-post-1") -> dict[str, Any]:
    """A located outgoing explosion in Russian-held Donetsk oblast (a ceasefire violation)."""
    return {"id": f"http-fire-{i}", "kind": "fire", "fire_type": "explosion",
            "explosion_type": "outgoing", "time": "2025-03-27T20:40:00+02:00",
            "source_id": source, "lon": 38.0 + 0.001 * (i % 100), "lat": 48.35,
            "location_uncertainty_m": 300.0, "observer_lon": 37.93, "observer_lat": 48.37,
            "bearing_deg": 100.0, "weapon_class": "tube_artillery"}


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(tmp_path_factory.mktemp("http") / "base.db")


def ingest_and_check(db: Path, records: list[dict[str, Any]]) -> None:
    """Add ``records`` to the store at ``db`` and check it again, as an analyst would."""
    store = open_store(str(db))
    try:
        ingest(store, list(enumerate(records, 1)))
        run_check(store)
    finally:
        store.close()


def build_world(db: Path) -> World:
    """The base store: agreement, sample, findings, a source key, API keys, a checkpoint."""
    _, doc = load_agreement_file("march2025")
    store = open_store(str(db), create=True)
    initialize_store(store, doc)
    ingest(store, list(enumerate(sample_records())))
    run_check(store)
    seed = bytes(range(32))
    register_source_key(store, "smm-post-1", "monitor",
                        base64.b64encode(Signer("smm-post-1", seed).public_key).decode())
    tokens = {role: create_api_key(store, role, r, bound) for role, (r, bound) in KEYS.items()}
    revoke_api_key(store, "revoked")
    store.set_meta(PUBLISHED_KEY, json.dumps([F_PUBLISHED]))
    publish_checkpoint(store, LOG_KEY, 1_743_000_000)
    store.close()
    return World(db, tokens, seed)


@pytest.fixture(scope="session")
def client(world: World) -> Iterator[TestClient]:
    """A client over the base store (for requests that change nothing)."""
    with TestClient(create_app(str(world.db), Settings())) as c:
        yield c


@pytest.fixture()
def fresh_db(world: World, tmp_path: Path) -> Path:
    target = tmp_path / "copy.db"
    shutil.copyfile(world.db, target)
    return target


@pytest.fixture()
def make_client(world: World, fresh_db: Path) -> Iterator[Callable[..., TestClient]]:
    """Clients over a private copy of the base store, with optional settings (the log's key
    file by default, so that analysts can sign checkpoints)."""
    made: list[TestClient] = []
    signing = settings_for(key_file(world.db.parent, LOG_KEY))

    def make(**settings: Any) -> TestClient:
        c = TestClient(create_app(str(fresh_db), Settings(**{**signing, **settings})))
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()
