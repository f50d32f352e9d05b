"""Findings as JSON, CSV, GeoJSON or text: deterministic bytes for the same findings."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from truceline.core.findings import Finding

CSV_COLUMNS = (
    "id",
    "provision_id",
    "rule_kind",
    "verdict",
    "party",
    "time",
    "lon",
    "lat",
    "distance_m",
    "threshold_m",
    "weapon_class",
    "confidence",
    "incident_id",
    "window_start",
    "window_end",
    "evidence",
    "explanation",
)


def _json(obj: object) -> str:
    return json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def render_findings(findings: Sequence[Finding], fmt: str) -> str:
    if fmt == "json":
        return _json([f.to_record() for f in findings])
    if fmt == "geojson":
        feats = []
        for f in findings:
            rec = f.to_record()
            geom = None
            if f.lon is not None and f.lat is not None:
                geom = {"type": "Point", "coordinates": [f.lon, f.lat]}
            props = {k: v for k, v in rec.items() if k not in ("lon", "lat")}
            feats.append({"type": "Feature", "id": f.id, "geometry": geom, "properties": props})
        return _json({"type": "FeatureCollection", "features": feats})
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(CSV_COLUMNS)
        for f in findings:
            rec = f.to_record()
            rec["evidence"] = ";".join(f.evidence)
            w.writerow(["" if rec.get(c) is None else rec[c] for c in CSV_COLUMNS])
        return buf.getvalue()
    lines = []
    for f in findings:
        who = f.party or "unattributed"
        lines.append(f"{f.verdict.value:22} {who:12} {f.explanation}")
    return "\n".join(lines) + ("\n" if lines else "")
