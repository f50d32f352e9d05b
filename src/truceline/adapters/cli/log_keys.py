"""`truceline record log-keygen` and `record migrate-log-key`: the log's private key in an
encrypted key file, never in the store (see :mod:`truceline.adapters.log_key`). The
`record` group (:mod:`~truceline.adapters.cli.record`) adds them."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import click

from truceline.adapters import log_key
from truceline.adapters.cli.group import db_option, handle_errors
from truceline.adapters.store import open_store
from truceline.core.record.note import ALG_ED25519, Signer
from truceline.errors import NotFoundError
from truceline.services import record as svc
from truceline.settings import Settings

LEVEL = click.Choice(list(log_key.LEVELS))


def _key_file_options(f: Callable[..., None]) -> Callable[..., None]:
    """``--out`` and ``--kdf-level``: where and how hard a new key file is sealed."""
    f = click.option(
        "--kdf-level",
        type=LEVEL,
        default="moderate",
        show_default=True,
        help="Argon2id cost (libsodium's levels: 64 MiB, 256 MiB, 1 GiB of memory).",
    )(f)
    return click.option(
        "--out",
        required=True,
        type=click.Path(dir_okay=False),
        help="Where to write the encrypted key file (mode 0600, never overwritten).",
    )(f)


@click.command("log-keygen")
@_key_file_options
@handle_errors
def log_keygen(out: str, kdf_level: str) -> None:
    """Make the log's key, named after TRUCELINE_LOG_ORIGIN, sealed with the passphrase from
    TRUCELINE_LOG_KEY_PASSPHRASE(_FILE); prints the public vkey. The first checkpoint signed
    with it (TRUCELINE_LOG_KEY_FILE) registers the vkey in the store."""
    settings = Settings()
    key = Signer(settings.log_origin, os.urandom(32), ALG_ED25519)
    log_key.write_key_file(Path(out), key, log_key.passphrase(settings), kdf_level)
    click.echo(key.verifier().to_vkey())


@click.command("migrate-log-key")
@db_option
@_key_file_options
@handle_errors
def migrate_log_key(db: str, out: str, kdf_level: str) -> None:
    """Move the plaintext log key an older store holds (meta log_skey) into an encrypted key
    file, then delete it from the store. Until then the store refuses to sign checkpoints."""
    settings = Settings()
    store = open_store(db)
    try:
        key = svc.plaintext_log_key(store)
        if key is None:
            raise NotFoundError(
                "this store holds no plaintext log key; nothing to move", field="log_skey"
            )
        path = Path(out)
        secret = log_key.passphrase(settings)
        log_key.write_key_file(path, key, secret, kdf_level)
        back = log_key.read_key_file(path, secret)  # the file opens before the store forgets
        svc.forget_plaintext_log_key(store, back.verifier())
    finally:
        store.close()
    if "://" not in db:  # SQLite keeps deleted rows in free pages and the WAL until rebuilt
        c = sqlite3.connect(db, isolation_level=None)
        try:
            c.execute("VACUUM")
            c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            c.close()
    click.echo(f"moved the log key to {out}; the store keeps only {back.verifier().to_vkey()}")
    click.echo(
        "older copies and backups of the store still hold the key: keep them as secret "
        "as the key file",
        err=True,
    )
