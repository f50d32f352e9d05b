"""The `truceline` command: each command parses, calls a service, renders. Nothing more.

:data:`cli` is the whole command: the group in :mod:`~truceline.adapters.cli.group` knows every
command by name and imports a command's module when that command runs. :func:`main` is the
entry point (``pyproject.toml``).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from truceline.adapters.cli.group import cli
from truceline.errors import mapping_for

if TYPE_CHECKING:
    from truceline.settings import Settings

__all__ = ["cli", "main"]


def main() -> None:
    """Run the command line. The settings are read (and a bad one refused) only when a command
    runs: the group's own options (``--help``, ``--version``) read none, so they start fast.

    A command's start (the settings, its module's imports: objects that live to the end) runs
    without the cyclic collector, which walked them ~120 times for no garbage (0.14 s of a
    one-day report); what it imported is then left out of later walks."""
    if _runs_a_command(sys.argv[1:]):
        from truceline.adapters.runtime import paused_collection

        with paused_collection():
            from truceline.services.memory import retain_freed_memory

            retain_freed_memory(_settings().retain_memory_mb)
            cli.preload(sys.argv[1])
    cli()


def _runs_a_command(args: list[str]) -> bool:
    """Whether ``args`` name a command: the group itself takes only options (``--help``,
    ``--version``), so arguments that start with one run none."""
    return bool(args) and not args[0].startswith("-")


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
