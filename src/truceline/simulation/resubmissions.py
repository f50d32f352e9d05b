"""Resubmissions under new ids (issue 14): a share of a day's reports sent a second time.

A source whose acknowledgement was lost sends its report again, or the same report reaches the
mission by a second channel (radio and app, a re-export of the same forms): same source, same
content, a new id. :func:`resubmit` adds such copies to a simulated day, each at a random place
in the day's stream (so as often before its original as after it), and returns a truth record
per copy (``type`` resubmission, ``id`` the copy, ``copy_of`` the original, ``channel``). The
pipeline must count each copy once: no incident, no finding of its own.

Two variants, both within the tolerances of :mod:`truceline.core.resubmissions`:

* ``retry`` — the very same record under the id ``<original>-r``;
* ``channel`` — the second channel's id ``<original>-c2``, which writes coordinates to 4
  decimals (under 7 m) and arrival times to the millisecond.

Pure: the choices come from the generator passed in (the scenario gives it a stream of its own,
so the day's other records are the same with and without copies).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from truceline.simulation.records import iso_ns

__all__ = ["resubmit"]

_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_COORDS = ("observer_lon", "observer_lat", "lon", "lat")


def _second_channel(rec: dict[str, Any]) -> dict[str, Any]:
    """The record as the second channel writes it (keys in the same order)."""
    out = dict(rec)
    for k in _COORDS:
        if isinstance(out.get(k), float):
            out[k] = round(out[k], 4)
    if "arrival_time" in out:
        ns = np.datetime64(out["arrival_time"].rstrip("Z"), "ns").astype(np.int64)
        ms = (int(ns) + 500_000) // 1_000_000 * 1_000_000
        out["arrival_time"] = iso_ns([ms], "us")[0]
    return out


def resubmit(
    rng: np.random.Generator, lines: list[str], share: float, channel: bool
) -> tuple[list[str], list[dict[str, Any]]]:
    """The day's ``lines`` with a ``share`` of them sent again, and the copies' truth."""
    if share <= 0 or not lines:
        return lines, []
    n = len(lines)
    picked = np.flatnonzero(rng.random(n) < share)
    where = rng.integers(0, n + 1, len(picked))  # arrival: before the k-th original line
    suffix, name = ("-c2", "channel") if channel else ("-r", "retry")
    copies: list[tuple[int, int, str]] = []
    truth = []
    for j, (k, at) in enumerate(zip(picked.tolist(), where.tolist(), strict=True)):
        rec = json.loads(lines[k])
        copy = {**rec, "id": rec["id"] + suffix}
        if channel:
            copy = _second_channel(copy)
        copies.append((at, j, _encode(copy) + "\n"))
        truth.append(
            {"type": "resubmission", "id": copy["id"], "copy_of": rec["id"], "channel": name}
        )
    copies.sort()
    out: list[str] = []
    c = 0
    for i, line in enumerate(lines):
        while c < len(copies) and copies[c][0] == i:
            out.append(copies[c][2])
            c += 1
        out.append(line)
    out += [text for _, _, text in copies[c:]]
    return out, truth
