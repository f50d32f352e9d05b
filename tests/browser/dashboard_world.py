"""The mission the dashboard's browser tests serve (:func:`tests.served.serve`): the HTTP tests'
base store (the March 2025 example and its sample, checked; API keys per role; one published
finding), plus both parties' witness keys and a checkpoint they cosigned."""

from __future__ import annotations

from pathlib import Path

from tests.http.conftest import LOG_KEY, World, build_world
from truceline.adapters.store import open_store
from truceline.core.record.note import ALG_COSIGNATURE_V1, Signer, cosign, parse_note
from truceline.services import keys, record, witnesses

WITNESSES = {"UA": Signer("ua-witness", b"\x11" * 32, ALG_COSIGNATURE_V1),
             "RU": Signer("ru-witness", b"\x22" * 32, ALG_COSIGNATURE_V1)}
NOW = 1_743_100_000


def build(db: Path) -> World:
    """The base store, then witness keys and a checkpoint cosigned by UA and RU."""
    w = build_world(db)
    store = open_store(str(db))
    try:
        for party, s in WITNESSES.items():
            keys.register_source_key(store, party, "witness", s.verifier().to_vkey())
        note = record.publish_checkpoint(store, LOG_KEY, NOW)
        size = int(note.decode().split("\n")[1])
        text = parse_note(note).text
        for s in WITNESSES.values():
            witnesses.add_cosignature(store, size, cosign(text, s, NOW + 60).line())
    finally:
        store.close()
    return w
