"""The repository root holds only what the README names, and a test run adds nothing there.

Ten 25 MB SQLite databases named after the letters of ``postgresql:`` were once committed at
the root: a URL had been iterated character by character, one store per character.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from truceline.adapters.store import open_store
from truceline.errors import StoreError

ROOT = Path(__file__).resolve().parents[1]


def _named_in_readme() -> set[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## What is where", 1)[1].split("\n## ", 1)[0]
    return {name.rstrip("/") for name in re.findall(r"`([^`/ ]+/?)`", section)}


def _root_entries() -> set[str]:
    """Top-level names git tracks or would add (untracked, not ignored)."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--deduplicate"],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return {line.split("/", 1)[0] for line in out.splitlines() if line}


def test_root_holds_only_what_the_readme_names() -> None:
    named = _named_in_readme()
    assert {"src", "tests", "README.md", "pyproject.toml"} <= named
    extra = _root_entries() - named
    assert not extra, f"files at the repository root that the README does not name: {extra}"


@pytest.mark.parametrize("bad", [
    "postgresql:", "p", ["postgresql://postgres@127.0.0.1/x"], b"x.db", "",
])
def test_a_value_that_is_not_a_store_path_creates_nothing(
    bad: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreError) as err:
        open_store(bad, create=True)  # type: ignore[arg-type]
    assert err.value.field == "db"
    assert list(tmp_path.iterdir()) == []


def test_other_schemes_are_refused_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreError, match="unknown store scheme 'mysql'"):
        open_store("mysql://root@127.0.0.1/test", create=True)
    assert list(tmp_path.iterdir()) == []
