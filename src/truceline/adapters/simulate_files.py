"""Write a simulated scenario to a directory, streamed day by day, and read it back.

``observations.jsonl`` (truceline's ingest format, one ``Observation.to_record()`` per line),
``truth.jsonl`` (sources, sectors, escalation episodes, every true event with the observation
ids that report it, every planted item with the provisions it truly violates) and
``manifest.json`` (seed, parameters, counts, agreement id/version, file digests). Same seed,
same bytes: nothing here depends on the clock, the machine or dict ordering of a set.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from truceline.adapters.agreement_files import load_agreement_file
from truceline.core.observations import Observation
from truceline.errors import ValidationError
from truceline.services.context import context_for_doc
from truceline.simulation.presets import scenario_params
from truceline.simulation.scenario import Scenario, SimulationParams

OBSERVATIONS, TRUTH, MANIFEST = "observations.jsonl", "truth.jsonl", "manifest.json"
FORMAT = "truceline-simulation/1"


@dataclass
class SimulationSummary:
    out: Path
    observations: int
    events: int
    planted: int
    manifest: dict[str, Any]


_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _line(rec: dict[str, Any]) -> str:
    return _encode(rec) + "\n"


def write_simulation(
    agreement: str | Path, out: str | Path, *, days: int, seed: int, scale: float = 1.0,
    params: SimulationParams | None = None, start: datetime | None = None,
    validate: bool = False, progress: Callable[[int, int], None] | None = None,
    scenario: str = "baseline",
) -> SimulationSummary:
    """Simulate ``days`` days of ``agreement`` (a file or an example name) into ``out``.

    ``scenario`` names a preset (:data:`truceline.simulation.presets.SCENARIOS`: baseline,
    restrictions, cameras_down, uncovered) applied to ``params`` (default the defaults).

    ``start`` is the first day's start (default: the agreement's entry into force).
    ``validate`` passes every record through :class:`Observation` and checks that
    ``to_record()`` gives it back unchanged, and that its line is exactly what ``json`` writes
    for it (the simulator formats lines column-wise; several times slower; the tests do it
    always).
    """
    ag, doc = load_agreement_file(agreement)
    geom = context_for_doc(doc).geometry  # compiled once per process (cached by content)
    params = scenario_params(scenario, params)
    scn = Scenario(ag, geom, days=days, seed=seed, scale=scale, params=params, start=start)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    counts: Counter[str] = Counter()
    digests = {OBSERVATIONS: hashlib.sha256(), TRUTH: hashlib.sha256()}
    with open(out / OBSERVATIONS, "w", encoding="utf-8", newline="\n") as fo, \
            open(out / TRUTH, "w", encoding="utf-8", newline="\n") as ft:

        def put(f: Any, name: str, text: str) -> None:
            f.write(text)
            digests[name].update(text.encode("utf-8"))

        put(ft, TRUTH, "".join(_line(r) for r in scn.setup_truth()))
        for day in scn:
            if validate:
                for line, rec in zip(day.lines, day.observations, strict=True):
                    back = Observation.model_validate(rec).to_record()
                    if back != rec or list(back) != list(rec) or _line(rec) != line:
                        raise ValidationError("does not round-trip through Observation",
                                              field=f"observation {rec.get('id')}")
            put(fo, OBSERVATIONS, "".join(day.lines))
            put(ft, TRUTH, "".join(_line(r) for r in day.truth))
            for k, v in day.counts.items():
                counts[f"observations.{k}"] += v
            counts["observations"] += len(day.lines)
            for r in day.truth:
                if r["type"] == "event":
                    counts["events"] += 1
                    counts["events.observable"] += bool(r["observable"])
                    counts["events.violating"] += bool(r["violates"])
                    counts["reports"] += len(r["reports"]["origin"]) + len(r["reports"]["impact"])
                elif r["type"] == "resubmission":
                    counts["resubmissions"] += 1
                elif r["type"] == "planted":
                    counts[f"planted.{r['kind']}"] += 1
                    counts["planted"] += 1
                    counts["planted.violating"] += bool(r["violates"])
            if progress is not None:
                progress(day.day + 1, len(day.lines))
    manifest = {
        "format": FORMAT, "scenario": scenario, "seed": seed, "days": days, "scale": scale,
        "start": scn.start.isoformat().replace("+00:00", "Z"),
        "agreement": {"id": ag.id, "version": ag.version, "title": ag.title,
                      "sha256": hashlib.sha256(json.dumps(doc, sort_keys=True).encode())
                      .hexdigest()},
        "parties": scn.parties,
        "params": asdict(params),
        "counts": dict(sorted(counts.items())),
        "files": {k: {"sha256": v.hexdigest()} for k, v in digests.items()},
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n",
                                encoding="utf-8")
    return SimulationSummary(out, counts["observations"], counts["events"], counts["planted"],
                             manifest)


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def read_truth(directory: str | Path) -> tuple[dict[str, Any], list[dict[str, Any]],
                                                dict[str, dict[str, Any]]]:
    """(manifest, truth records, fire observation records by id) of a simulation directory."""
    d = Path(directory)
    for name in (MANIFEST, TRUTH, OBSERVATIONS):
        if not (d / name).is_file():
            raise ValidationError(f"{name} not found in {d}", field="truth")
    manifest = json.loads((d / MANIFEST).read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise ValidationError(f"not a {FORMAT} directory", field="truth")
    truth = list(read_jsonl(d / TRUTH))
    obs = {r["id"]: r for r in read_jsonl(d / OBSERVATIONS) if r["kind"] == "fire"}
    return manifest, truth, obs
