"""Read an agreement YAML file and bundle the geometry files it references into the document.

The bundled document is what the store and the record keep: it carries every line and polygon
inline, so another machine can re-run the checks without the original files.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from truceline.core.agreements import Agreement, parse_agreement
from truceline.errors import AgreementError

EXAMPLES = {"minsk2": "minsk2.yaml", "march2025": "march2025.yaml", "new_start": "new_start.yaml",
            "inf2": "inf2.yaml"}


def example_path(name: str) -> Path:
    """Path of a shipped example agreement (``minsk2``, ``march2025``, ``new_start``, ``inf2``)."""
    return Path(str(resources.files("truceline") / "examples" / EXAMPLES[name]))


def _bundle_refs(node: Any, base: Path, path: str) -> Any:
    if isinstance(node, dict):
        if isinstance(node.get("file"), str):  # only a GeometryRef has `file`
            target = (base / node["file"]).resolve()
            try:
                gj = json.loads(target.read_text(encoding="utf-8"))
            except FileNotFoundError:
                raise AgreementError(
                    f"geometry file not found: {node['file']}", field=f"{path}.file"
                ) from None
            except json.JSONDecodeError as exc:
                raise AgreementError(
                    f"not valid GeoJSON ({exc.msg}, line {exc.lineno})", field=f"{path}.file"
                ) from None
            out = {k: _bundle_refs(v, base, f"{path}.{k}") for k, v in node.items() if k != "file"}
            out["geojson"] = gj
            return out
        return {k: _bundle_refs(v, base, f"{path}.{k}" if path else k) for k, v in node.items()}
    if isinstance(node, list):
        return [_bundle_refs(v, base, f"{path}[{i}]") for i, v in enumerate(node)]
    return node


def read_agreement_text(text: str, base: Path) -> tuple[Agreement, dict[str, Any]]:
    """Parse YAML text, bundle geometry relative to ``base`` and validate."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(document)"
        raise AgreementError(
            f"not valid YAML: {getattr(exc, 'problem', exc)}", field=where
        ) from None
    if not isinstance(doc, dict):
        raise AgreementError("an agreement must be a YAML mapping", field="(document)")
    parse_agreement(doc)  # fail on the document as written, before reading any file
    bundled = _bundle_refs(doc, base, "")
    bundled = json.loads(json.dumps(bundled, default=str))  # dates as ISO strings, plain JSON
    return parse_agreement(bundled), bundled


def load_agreement_file(path: str | Path) -> tuple[Agreement, dict[str, Any]]:
    """Load and bundle an agreement file; a bare example name (``march2025``) also works."""
    p = Path(path)
    if not p.exists() and str(path) in EXAMPLES:
        p = example_path(str(path))
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AgreementError(f"file not found: {path}", field="agreement") from None
    return read_agreement_text(text, p.parent)
