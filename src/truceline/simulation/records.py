"""A simulated day's observation records as JSON text, built column-wise.

The simulator writes a million records in seconds, so it never builds a dict (let alone an
:class:`~truceline.core.observations.Observation`) per fire report: each source kind has a
template whose keys are in ``Observation.to_record()`` order and whose values come straight from
numpy columns (``tolist()`` then ``%r``, which is ``float.__repr__``, exactly what ``json``
writes, so a line parses back to the same floats). The few one-off records (planted evidence,
restrictions) are dicts, encoded once. :meth:`ObsBatch.finish` sorts by (time, source id),
numbers the records and returns their lines; ``write_simulation(validate=True)`` checks every
line against ``json`` and the model.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

I64 = NDArray[np.int64]
S_NS = 10**9

_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_HMS = [f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)]
_EMPTY_ID = '{"id":""'


def json_str(s: str) -> str:
    """``s`` as a JSON string literal (what ``json`` writes, quotes included)."""
    return _encode(s)


def iso_ns(ns: Any, unit: str = "s") -> list[str]:
    """RFC 3339 UTC strings as ``Observation.to_record()`` writes them: ``unit`` "s" (no
    fraction), "ms" (always three digits) or "us" (six digits, none if zero)."""
    a = np.asarray(ns, np.int64).reshape(-1)
    sec = a // S_NS
    usec, inv = np.unique(sec, return_inverse=True)  # reports share seconds and minutes
    day = usec // 86_400
    dates = np.datetime_as_string(day.astype("datetime64[D]")).tolist()
    hms = _HMS
    ubase = [f"{v}T{hms[s]}" for v, s in zip(dates, (usec - day * 86_400).tolist(), strict=True)]
    base = [ubase[k] for k in inv.reshape(-1).tolist()]
    if unit == "s":
        return [b + "Z" for b in base]
    frac = a - sec * S_NS
    if unit == "ms":
        return [f"{b}.{f:03d}Z" for b, f in zip(base, (frac // 10**6).tolist(), strict=True)]
    if unit == "us":
        return [f"{b}.{f:06d}Z" if f else b + "Z"
                for b, f in zip(base, (frac // 1000).tolist(), strict=True)]
    raise ValueError(f"unit {unit!r}")


class ObsBatch:
    """Observation records of one day, in the order they were made, until :meth:`finish`.

    Each record is its sort time (ns), its source id, its JSON text after the ``id`` (``body``,
    starting with ``,"kind":`` and ending with ``}\\n``) and a link to the true thing it reports
    (any hashable: the simulator uses ints for fire reports, truth ids for planted items).
    """

    def __init__(self) -> None:
        self._t: list[I64] = []
        self._sid: list[str] = []
        self._body: list[str] = []
        self._link: list[Hashable] = []
        self.counts: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self._body)

    def add(self, kind: str, source_type: str, t_ns: I64, sids: Sequence[str],
            bodies: Sequence[str], links: Sequence[Hashable]) -> None:
        if not len(bodies):
            return
        assert len(t_ns) == len(sids) == len(bodies) == len(links)
        self._t.append(np.asarray(t_ns, np.int64))
        self._sid.extend(sids)
        self._body.extend(bodies)
        self._link.extend(links)
        self.counts[f"{kind}.{source_type}"] += len(bodies)

    def add_record(self, t_ns: int, rec: dict[str, Any], link: Hashable) -> None:
        """One record as a dict whose first key is ``"id"`` (any value: it is numbered later)."""
        text = _encode({"id": "", **rec} if next(iter(rec)) != "id" else {**rec, "id": ""})
        assert text.startswith(_EMPTY_ID)
        self.add(rec["kind"], rec["source_type"], np.array([t_ns], np.int64),
                 [rec["source_id"]], [text[len(_EMPTY_ID):] + "\n"], [link])

    def finish(self, prefix: str) -> tuple[list[str], list[str], list[Hashable]]:
        """(ids, lines, links) sorted by (time, source id), stably; ids are ``prefix`` and a
        six-digit number in that order."""
        n = len(self._body)
        if not n:
            return [], [], []
        t = np.concatenate(self._t)
        rank = {s: i for i, s in enumerate(sorted(set(self._sid)))}
        r = np.fromiter(map(rank.__getitem__, self._sid), np.int64, n)
        order = np.lexsort((r, t)).tolist()
        ids = [f"{prefix}{i:06d}" for i in range(n)]
        body, link = self._body, self._link
        lines = [f'{{"id":"{oid}"{body[j]}' for oid, j in zip(ids, order, strict=True)]
        return ids, lines, [link[j] for j in order]
