"""The `truceline` command: each command parses, calls a service, renders. Nothing more."""

from __future__ import annotations

import click


@click.group()
@click.version_option(package_name="truceline")
def cli() -> None:
    """Verify ceasefires: agreements as data, observations, findings, reports, the record."""


def main() -> None:
    cli()
