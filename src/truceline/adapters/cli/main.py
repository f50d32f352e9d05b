"""The `truceline` command: each command parses, calls a service, renders. Nothing more.

The group and the options its commands share are in :mod:`~truceline.adapters.cli.group`; each
command module registers its commands on it, and importing this module imports them all, so
:data:`cli` here is the whole command. :func:`main` is the entry point (``pyproject.toml``).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from truceline.adapters.cli import (  # noqa: F401  (each module registers its commands)
    commands,
    disputes,
    log_keys,
    notify,
    record,
    serve,
    simulate,
    sources,
)
from truceline.adapters.cli.group import cli
from truceline.errors import mapping_for

if TYPE_CHECKING:
    from truceline.settings import Settings

__all__ = ["cli", "main"]


def main() -> None:
    from truceline.adapters.runtime import retain_freed_memory

    retain_freed_memory(_settings().retain_memory_mb)
    cli()


def _settings() -> Settings:
    """The settings, or one clear line naming the bad environment variable and an exit."""
    import pydantic

    from truceline.errors import ValidationError
    from truceline.settings import Settings

    try:
        return Settings()
    except pydantic.ValidationError as exc:
        err = exc.errors()[0]
        bad = ValidationError(err["msg"], field=f"TRUCELINE_{str(err['loc'][0]).upper()}")
        click.echo(f"error: {bad}", err=True)
        sys.exit(mapping_for(bad).exit_code)
