"""Property-based tests of the published OpenAPI document (schemathesis), bounded in time.

Every operation is called with generated valid and invalid input, as an analyst (who may do
most), anonymously, and as every other role (public, monitor, party, guarantor, revoked key):
no 5xx, every response matches its documented status, content type
and schema, and invalid input is refused with a 4xx.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

from tests.http.conftest import LOG_KEY, build_world
from tests.log_keys import key_file, settings_for
from truceline.adapters.http import create_app
from truceline.settings import Settings

# built at import: schemathesis parametrizes at collection time, before fixtures exist
_WORLD = build_world(Path(tempfile.mkdtemp(prefix="truceline-fuzz-")) / "fuzz.db")
_SIGNING = settings_for(key_file(_WORLD.db.parent, LOG_KEY))  # analysts sign checkpoints
schema = schemathesis.openapi.from_asgi("/openapi.json",
                                        create_app(str(_WORLD.db), Settings(**_SIGNING)))
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                                max_examples=5, deterministic=True, no_shrink=True)


def _call(case: schemathesis.Case, role: str) -> None:
    # cross-field rules (a fire needs fire_type) and the area of interest are not expressible
    # in JSON Schema, so schema-valid bodies may still be refused: that check does not apply
    case.call_and_validate(headers=_WORLD.headers(role),
                           excluded_checks=[positive_data_acceptance])


@schema.parametrize()
@settings(max_examples=5, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api_as_analyst(case: schemathesis.Case) -> None:
    _call(case, "analyst")


@schema.parametrize()
@settings(max_examples=5, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api_anonymously(case: schemathesis.Case) -> None:
    _call(case, "anon")


# Every other role, each against every operation: what a party, a guarantor, a monitor or a
# public key may send must never cost a 5xx either, and what it may not do is a 4xx.
@schema.parametrize()
@settings(max_examples=2, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api_as_every_other_role(case: schemathesis.Case) -> None:
    for role in ("public", "monitor", "party_UA", "guarantor_UK", "revoked"):
        _call(case, role)
