"""`truceline serve` (the HTTP service on loopback) and `truceline apikey create|revoke`."""

from __future__ import annotations

import os

import click

from truceline.adapters.cli.group import db_option, handle_errors
from truceline.adapters.http.auth import Role


@click.command()
@db_option
@click.option("--host", default=None, help="Address to bind (default: settings.host, loopback).")
@click.option("--port", type=int, default=None, help="Port (default: settings.port, 8765).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Worker processes (each validates in parallel; the store orders writes).")
@handle_errors
def serve(db: str, host: str | None, port: int | None, workers: int) -> None:
    """Run the HTTP API and OGC API - Features over the store (until Ctrl-C)."""
    import uvicorn

    from truceline.adapters.http.app import create_app
    from truceline.adapters.store import open_store
    from truceline.settings import Settings

    settings = Settings()
    open_store(db).close()  # fail here, with a clear error, if the store is missing
    host, port = host or settings.host, port or settings.port
    click.echo(f"truceline serving {db} on http://{host}:{port} (OGC API: /ogc)", err=True)
    if workers == 1:
        uvicorn.run(create_app(db, settings), host=host, port=port, log_level="warning")
    else:
        os.environ["TRUCELINE_DB"] = db
        uvicorn.run("truceline.adapters.http.app:app_from_env", factory=True, host=host,
                    port=port, workers=workers, log_level="warning")


@click.group()
def apikey() -> None:
    """Create and revoke API keys (the token is printed once; only its hash is stored)."""


@apikey.command("create")
@db_option
@click.option("--name", required=True,
              help="A unique name to revoke it by (e.g. 'post-7 tablet').")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--party", help="Party id (party keys).")
@click.option("--source", help="Source id (monitor keys).")
@click.option("--guarantor", help="Guarantor id (guarantor keys).")
@handle_errors
def apikey_create(db: str, name: str, role: str, party: str | None, source: str | None,
                  guarantor: str | None) -> None:
    """Create a key and print its token."""
    from truceline.adapters.http.auth import create_api_key
    from truceline.adapters.store import open_store
    from truceline.errors import ValidationError

    given = [v for v in (party, source, guarantor) if v]
    if len(given) > 1:
        raise ValidationError("give at most one of --party, --source, --guarantor", field="role")
    click.echo(create_api_key(open_store(db), name, role, given[0] if given else None))


@apikey.command("revoke")
@db_option
@click.option("--name", required=True)
@click.option("--all", "every", is_flag=True,
              help="Revoke every key of this name (names shared before names were unique).")
@handle_errors
def apikey_revoke(db: str, name: str, every: bool) -> None:
    """Revoke the key with this name (effective on the next request)."""
    from truceline.adapters.http.auth import revoke_api_key
    from truceline.adapters.store import open_store
    from truceline.errors import NotFoundError

    n = revoke_api_key(open_store(db), name, every)
    if n == 0:
        raise NotFoundError(f"no API key named {name!r}", field="name")
    click.echo(f"revoked {n} key(s) named {name!r}")
