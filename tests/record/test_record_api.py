"""The curated public API of truceline.core.record is complete and importable."""

from __future__ import annotations

import importlib

import truceline.core.record as record

MODULES = ["canonical", "merkle", "note", "signing", "tiles", "witness"]


def test_all_names_resolve() -> None:
    for name in record.__all__:
        assert getattr(record, name) is not None, name
    assert sorted(record.__all__) == sorted(set(record.__all__))


def test_every_module_all_resolves_and_key_functions_are_reexported() -> None:
    for m in MODULES:
        mod = importlib.import_module(f"truceline.core.record.{m}")
        for name in mod.__all__:
            assert hasattr(mod, name), f"{m}.{name}"
    must = {
        "leaf_hash",
        "CompactRange",
        "inclusion_proof",
        "consistency_proof",
        "verify_inclusion",
        "verify_consistency",
        "entry_bytes",
        "parse_entry",
        "verify",
        "verify_many",
        "check_public_key",
        "open_checkpoint",
        "cosign",
        "build_tiles",
        "read_log",
        "TileReader",
        "witness_checkpoint",
        "quorum_reached",
    }
    assert must <= set(record.__all__)


def test_core_stays_pure() -> None:
    """No I/O, clock or environment modules are imported by the record core."""
    banned = ("sqlite3", "os", "time", "pathlib", "socket", "random", "datetime.now")
    for m in MODULES:
        src = importlib.import_module(f"truceline.core.record.{m}").__file__
        assert src is not None
        text = open(src, encoding="utf-8").read()  # noqa: SIM115 - test reads source only
        for b in banned:
            assert f"\nimport {b}\n" not in text and f"\nfrom {b} import" not in text, (m, b)
