"""The `truceline` command group and what its commands share: the ``--db`` option and the error
handler. The command modules (:mod:`~truceline.adapters.cli.commands`,
:mod:`~truceline.adapters.cli.record`, :mod:`~truceline.adapters.cli.serve`,
:mod:`~truceline.adapters.cli.simulate`) import this module and register their commands on
:data:`cli`; :mod:`~truceline.adapters.cli.main` imports them all and runs it.

Errors are one clear line on stderr (``error: <field>: <reason>``) and the exit code from
:data:`truceline.errors.ERROR_TABLE`.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from truceline.errors import TrucelineError, mapping_for

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
