"""The `truceline` command group and what its commands share: the ``--db`` option and the error
handler.

The group knows its commands by name (:data:`COMMANDS`: where each lives and its short help)
and imports a command's module only when that command runs, so ``--help``, ``--version`` and a
light command do not pay for numba, scipy, FastAPI or matplotlib (click's lazy-group pattern).
The command modules import this module for the shared options; they never register
themselves. :mod:`~truceline.adapters.cli.main` is the entry point.

Errors are one clear line on stderr (``error: <field>: <reason>``) and the exit code from
:data:`truceline.errors.ERROR_TABLE`.
"""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Callable, Mapping
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


_CLI = "truceline.adapters.cli"

#: Every command: its name, ``module:attribute`` and its short help (the first sentence of its
#: docstring, kept here so that ``--help`` imports no command module; a test holds them equal).
COMMANDS: dict[str, tuple[str, str]] = {
    "alarms": (f"{_CLI}.alarms:alarms", "Escalation alarms per sector from the stored "
               "incidents and coverage, each naming the category that drove it (same store, "
               "same bytes)."),
    "apikey": (f"{_CLI}.serve:apikey", "Create and revoke API keys (the token is printed once; "
               "only its hash is stored)."),
    "check": (f"{_CLI}.commands:check", "Evaluate every provision against the stored evidence "
              "and store the findings; then the notifications the guarantee clauses call for "
              "(delivered by `notify deliver`)."),
    "demo": (f"{_CLI}.commands:demo", "The whole path on the March 2025 example: a simulated "
             "day plus the shipped sample."),
    "dispute": (f"{_CLI}.disputes:dispute", "Disputes of findings: file, answer, uphold, reject, "
                "withdraw, counter-evidence."),
    "evaluate": (f"{_CLI}.simulate:evaluate", "Score the processed store against the simulated "
                 "truth (grouping, location, attribution, findings, detection) and print the "
                 "tables."),
    "findings": (f"{_CLI}.commands:findings", "Print the stored findings (deterministic: same "
                 "data, same bytes)."),
    "form": (f"{_CLI}.form:form", "Write the field form (XLSForm) for an agreement, validated "
             "by pyxform."),
    "ingest": (f"{_CLI}.commands:ingest", "Validate observations and store them (idempotent by "
               "observation id)."),
    "init": (f"{_CLI}.commands:init", "Create the store (if needed) and load an agreement "
             "version into it."),
    "notify": (f"{_CLI}.notify:notify", "Notifications to guarantors: endpoints, delivery, "
               "states."),
    "plan": (f"{_CLI}.plan:plan", "Plan a monitoring force: what each force size staffs, "
             "where, and what it buys."),
    "record": (f"{_CLI}.record:record", "The tamper-evident record: checkpoints, proofs, "
               "witnesses, verify, export, replay."),
    "report": (f"{_CLI}.commands:report", "Write a report (HTML with a map, Markdown or PDF) "
               "for a day, a weekend, a week or any run of reporting periods."),
    "serve": (f"{_CLI}.serve:serve", "Run the HTTP API and OGC API - Features over the store "
              "(until Ctrl-C)."),
    "settings": (f"{_CLI}.commands:settings", "List every setting, its environment variable, "
                 "default and meaning."),
    "sign": (f"{_CLI}.record:sign", "Sign observations (JSON lines) as their source, for "
             "`ingest --require-signatures`."),
    "simulate": (f"{_CLI}.simulate:simulate", "Simulate a monitoring mission's observations "
                 "along the agreement's line, with the truth."),
    "sources": (f"{_CLI}.sources:sources", "Each source's estimated bearing bias (± its "
                "standard error, flagged when shown), clock offset, wild-bearing rate and the "
                "reports used, from the events it shared with others in the last `truceline "
                "check`."),
}


class LazyGroup(click.Group):
    """A group that imports a command's module on first use and lists every command, with its
    short help, from a registry without importing any."""

    def __init__(self, *args: Any, lazy: Mapping[str, tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self.preload(cmd_name)
        return super().get_command(ctx, cmd_name)

    def preload(self, name: str) -> None:
        """Import the command ``name`` now if the registry has it (any other name is left
        to click, which names it in its error)."""
        if name not in self.commands and name in self.lazy:
            self.add_command(self.load(name), name)

    def load(self, name: str) -> click.Command:
        """Import the command ``name`` from where the registry says it lives."""
        module, attr = self.lazy[name][0].split(":")
        cmd = getattr(importlib.import_module(module), attr)
        if not isinstance(cmd, click.Command):
            raise TypeError(f"{module}:{attr} is not a click command")
        return cmd

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """As click's, but a command not yet imported is described from the registry."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows: list[tuple[str, str]] = []
        for name in names:
            # a stand-in with the registry's help shortens it exactly as the command would
            cmd = self.commands.get(name) or click.Command(name, help=self.lazy[name][1])
            if not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, lazy=COMMANDS)
@click.version_option(package_name="truceline")
def cli() -> None:
    """Verify ceasefires: agreements as data, observations, findings, reports, the record."""
