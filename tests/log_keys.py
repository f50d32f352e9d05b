"""The log's key for tests: a fixed key for services, and encrypted key files for the CLI and
the HTTP app (the store never holds the private key; see truceline.adapters.log_key).

Key files here use libsodium's ``interactive`` Argon2id level (64 MiB) so that each command
that opens one stays quick; the code path is the one production uses.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from truceline.adapters.log_key import write_key_file
from truceline.core.record.note import Signer

#: The origin `truceline record log-keygen` names a key after by default.
DEFAULT_ORIGIN = "truceline.example/log"
PASSPHRASE = "correct horse battery staple"


def fixed_key(origin: str) -> Signer:
    """A log key that is the same on every run (so session-built stores agree)."""
    return Signer(origin, hashlib.sha256(b"truceline test log key " + origin.encode()).digest())


def key_file(directory: Path, key: Signer | None = None) -> Path:
    """An encrypted key file (mode 0600) holding ``key`` (a new random one if None)."""
    key = key or Signer(DEFAULT_ORIGIN, os.urandom(32))
    path = directory / f"log-{key.verifier().key_id.hex()}.key"
    if not path.exists():
        write_key_file(path, key, PASSPHRASE.encode(), "interactive")
    return path


def settings_for(path: Path) -> dict[str, str]:
    """Settings (as keyword arguments) that sign with the key file at ``path``."""
    return {"log_key_file": str(path), "log_key_passphrase": PASSPHRASE}


def use_key_file(
    monkeypatch: pytest.MonkeyPatch, directory: Path, key: Signer | None = None
) -> Path:
    """Point the environment (TRUCELINE_LOG_KEY_FILE and its passphrase) at a key file."""
    path = key_file(directory, key)
    for name, value in settings_for(path).items():
        monkeypatch.setenv(f"TRUCELINE_{name.upper()}", value)
    monkeypatch.delenv("TRUCELINE_LOG_KEY_PASSPHRASE_FILE", raising=False)
    monkeypatch.delenv("TRUCELINE_LOG_SIGNER_COMMAND", raising=False)
    return path
