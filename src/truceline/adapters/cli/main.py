"""The `truceline` command: each command parses, calls a service, renders. Nothing more.

Errors are one clear line on stderr (``error: <field>: <reason>``) and the exit code from
:data:`truceline.errors.ERROR_TABLE`.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from truceline.errors import TrucelineError, mapping_for

if TYPE_CHECKING:
    from truceline.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(fn: F) -> F:
    """Turn a TrucelineError into one line on stderr and the table's exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except TrucelineError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(mapping_for(exc).exit_code)

    return wrapper  # type: ignore[return-value]


db_option = click.option(
    "--db",
    envvar="TRUCELINE_DB",
    default="truceline.db",
    show_default=True,
    help="SQLite file or postgresql:// URL (env TRUCELINE_DB).",
)


@click.group()
@click.version_option(package_name="truceline")
def cli() -> None:
    """Verify ceasefires: agreements as data, observations, findings, reports, the record."""


def main() -> None:
    from truceline.adapters.cli import (  # noqa: F401  (each module registers its commands)
        commands,
        record,
        serve,
        simulate,
    )
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
