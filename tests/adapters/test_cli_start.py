"""The command line starts fast because it imports a command only when that command runs: so
``--help`` must still list every command with its own short help, and ``--help``/``--version``
must not import the heavy libraries (a behaviour check on ``sys.modules``, not a timing)."""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

import truceline.adapters.cli as cli_package
from truceline.adapters.cli.group import COMMANDS
from truceline.adapters.cli.main import cli

HEAVY = ("numba", "scipy", "fastapi", "matplotlib")


def _defined_top_level_commands() -> dict[str, click.Command]:
    """Every click command the CLI modules define that is not a subcommand of a group."""
    found: dict[int, click.Command] = {}
    for info in pkgutil.iter_modules(cli_package.__path__):
        module = importlib.import_module(f"{cli_package.__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, click.Command) and value is not cli:
                found[id(value)] = value
    nested = {id(sub) for cmd in found.values() if isinstance(cmd, click.Group)
              for sub in cmd.commands.values()}
    return {c.name: c for k, c in found.items() if k not in nested and c.name}


def _listed(help_text: str) -> list[str]:
    """The command names in the ``Commands:`` section of a help page."""
    section = help_text.split("Commands:\n", 1)[1]
    return [line.split()[0] for line in section.splitlines() if line.startswith("  ")
            and not line.startswith("   ")]


def test_help_lists_every_command_the_modules_define() -> None:
    proc = subprocess.run([sys.executable, "-m", "truceline", "--help"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    defined = _defined_top_level_commands()
    assert sorted(_listed(proc.stdout)) == sorted(defined)
    assert sorted(COMMANDS) == sorted(defined)


def test_registry_points_at_each_command_with_its_own_short_help() -> None:
    defined = _defined_top_level_commands()
    for name, (path, short) in COMMANDS.items():
        module, attr = path.split(":")
        assert getattr(importlib.import_module(module), attr) is defined[name], name
        assert short == defined[name].get_short_help_str(10_000), name


_HELP = """
import sys
import click
from truceline.adapters.cli.group import COMMANDS
from truceline.adapters.cli.main import cli
if sys.argv[1:] == ["loaded"]:
    for name in COMMANDS:
        assert cli.get_command(click.Context(cli), name) is not None
assert len(cli.commands) == (len(COMMANDS) if sys.argv[1:] == ["loaded"] else 0)
cli(["--help"], prog_name="truceline")
"""


def test_help_before_and_after_loading_is_the_same_page() -> None:
    """The page described from the registry equals the one from the loaded commands."""
    env = {**os.environ, "COLUMNS": "80"}
    lazy, loaded = (subprocess.run([sys.executable, "-c", _HELP, how], capture_output=True,
                                   text=True, timeout=60, env=env) for how in ("lazy", "loaded"))
    assert lazy.returncode == 0 and loaded.returncode == 0, lazy.stderr + loaded.stderr
    assert "Commands:" in lazy.stdout
    assert lazy.stdout == loaded.stdout


def test_every_command_runs_its_help() -> None:
    for name in COMMANDS:
        res = CliRunner().invoke(cli, [name, "--help"])
        assert res.exit_code == 0, (name, res.output)
        assert f"Usage: cli {name}" in res.output


_PROBE = """
import json, sys
sys.argv = ["truceline", *sys.argv[1:]]
from truceline.adapters.cli.main import main
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(%r)))
print(json.dumps({"code": code, "heavy": heavy}), file=sys.stderr)
"""


def _probe(*args: str) -> dict[str, object]:
    """Run the entry point with ``args`` in a fresh interpreter: its exit code and which of
    :data:`HEAVY` it imported."""
    proc = subprocess.run([sys.executable, "-c", _PROBE % json.dumps(HEAVY), *args],
                          capture_output=True, text=True, timeout=60)
    out: dict[str, object] = json.loads(proc.stderr.strip().splitlines()[-1])
    return out


@pytest.mark.parametrize(("args", "code"), [(["--version"], 0), (["--help"], 0), ([], 2),
                                            (["serve", "--help"], 0)])
def test_start_imports_no_heavy_library(args: list[str], code: int) -> None:
    got = _probe(*args)
    assert got["code"] in ((0, None) if code == 0 else (code,)), got
    assert got["heavy"] == []


def test_probe_sees_a_heavy_import_when_a_command_needs_it() -> None:
    """The probe above can fail: the dispute commands load the check service (fusion)."""
    got = _probe("dispute", "--help")
    assert got["code"] in (0, None) and "scipy" in got["heavy"]


def test_the_report_command_reads_no_yaml() -> None:
    """Only ``init`` and ``demo`` read agreement files (YAML): the report command's module, its
    service and its rendering import no YAML parser (20-50 ms of every report's start)."""
    code = ("import sys, truceline.adapters.cli.commands, truceline.services.report, "
            "truceline.adapters.render.report; print('yaml' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"
