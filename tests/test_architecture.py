"""The shape of the code is a rule, not a wish: the core imports no adapter, store or web code."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold() -> None:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    proc = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


def test_modules_stay_small() -> None:
    """DESIGN.md: split a module that passes ~500 lines."""
    big = {str(p.relative_to(ROOT)): n for p in (ROOT / "src").rglob("*.py")
           if (n := len(p.read_text().splitlines())) > 560}
    assert not big, big


def _tool(name: str) -> str:
    return shutil.which(name) or str(Path(sys.executable).parent / name)


def test_ruff_is_clean() -> None:
    proc = subprocess.run([_tool("ruff"), "check", "src", "tests", "bench", "tools"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:]


def test_mypy_is_clean() -> None:
    proc = subprocess.run([_tool("mypy"), "src/truceline"], cwd=ROOT, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stdout[-3000:]


def _cycles(graph: grimp.ImportGraph, package: str) -> list[list[str]]:
    """The import circles among ``package``'s modules (strongly connected components, Tarjan)."""
    mods = sorted(graph.find_descendants(package) | {package})
    inside = set(mods)
    adj = {m: sorted(graph.find_modules_directly_imported_by(m) & inside) for m in mods}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in adj[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in adj[v]:
                out.append(sorted(comp))

    for m in mods:
        if m not in index:
            visit(m)
    return out


def test_no_import_circles() -> None:
    """DESIGN.md: no import circles anywhere. Module by module (a package's ``__init__`` is a
    module too), including imports made only for type checking or inside functions; the
    ``acyclic_siblings`` contract in pyproject says the same for sibling packages."""
    graph = grimp.build_graph("truceline", cache_dir=None)
    found = {p: c for p in ("truceline.core", "truceline.simulation", "truceline.adapters",
                            "truceline.services", "truceline")
             if (c := _cycles(graph, p))}
    assert not found, found
