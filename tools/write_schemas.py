"""Write the published JSON Schemas (docs/schemas/) from the models: `python tools/write_schemas.py`."""

from __future__ import annotations

import json
from pathlib import Path

from truceline.core.agreements import agreement_json_schema
from truceline.core.observations import observation_json_schema

OUT = Path(__file__).resolve().parents[1] / "docs" / "schemas"

if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for name, schema in (
        ("agreement", agreement_json_schema()),
        ("observation", observation_json_schema()),
    ):
        (OUT / f"{name}.schema.json").write_text(
            json.dumps(schema, indent=2, sort_keys=True) + "\n"
        )
        print(f"wrote docs/schemas/{name}.schema.json")
