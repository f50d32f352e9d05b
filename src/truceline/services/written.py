"""What a check by day parts keeps of each finding it writes until the end, in arrays.

The check (:mod:`~truceline.services.check_parts`) writes a part's findings' rows as the
part is judged, and appends their entries at the end, in the canonical order; so it keeps,
of each finding, its place in that order, the day that owns its incident, what the guarantee
clauses read of it (:class:`~truceline.core.findings.FindingHead`), and, where its entry is
due, where the entry's fields lie in the row's text
(:func:`~truceline.core.record.canonical.prepared_from`). Kept as a few Python objects per
finding through the parts, they were made among each part's transient objects and pinned the
allocator's arenas those let go (the 907k month's check grew ~0.1 GB a part); kept as
arrays, a part's findings are a dozen allocations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from truceline.core.findings import Finding, FindingHead, Verdict
from truceline.core.record.canonical import PreparedEntry

__all__ = ["Key", "Written"]

#: A finding's place in the canonical order (provision, time, party, id), its incident's
#: owning day (None: a summary or another rule's finding) and its head.
Key = tuple[str, str, str, str, int | None, FindingHead]


class Written:
    """The findings written so far (see the module)."""

    def __init__(self) -> None:
        self._words: dict[str | None, int] = {}
        self._names: dict[tuple[str, ...], int] = {}
        self._parts: list[tuple[dict[str, NDArray[Any]], bytes]] = []

    def _code(self, v: str | None) -> int:
        return self._words.setdefault(v, len(self._words))

    def add(self, found: Sequence[Finding], prepared: Sequence[PreparedEntry],
            due: Sequence[bool], owner: Mapping[str, int]) -> None:
        """Keep ``found`` (``prepared``: their entries; ``due``: whether each is appended;
        ``owner``: each incident's owning day)."""
        n, code = len(found), self._code
        spans = [p.spans.tobytes() if d else b"" for p, d in zip(prepared, due, strict=True)]
        cols: dict[str, NDArray[Any]] = {
            "id": np.array([f.id for f in found], "S"),  # "f-" and hex: ASCII
            "time": np.array([f.time or "" for f in found], "S"),  # RFC 3339: ASCII
            "provision": np.fromiter((code(f.provision_id) for f in found), np.int32, n),
            "party": np.fromiter((code(f.party) for f in found), np.int32, n),
            "verdict": np.fromiter((code(f.verdict.value) for f in found), np.int32, n),
            "weapon": np.fromiter((code(f.weapon_class) for f in found), np.int32, n),
            "has_confidence": np.fromiter((f.confidence is not None for f in found), bool, n),
            "confidence": np.fromiter((f.confidence or 0.0 for f in found), np.float64, n),
            "owner": np.fromiter((-1 if f.incident_id is None else owner[f.incident_id]
                                  for f in found), np.int64, n),
            "names": np.fromiter((self._names.setdefault(p.names, len(self._names)) if d
                                  else -1 for p, d in zip(prepared, due, strict=True)),
                                 np.int32, n),
            "span_end": np.cumsum(np.fromiter(map(len, spans), np.int64, n)),
        }
        self._parts.append((cols, b"".join(spans)))

    def keys(self) -> tuple[list[Key], dict[str, tuple[tuple[str, ...], bytes]]]:
        """Every finding's :data:`Key`, in the canonical order, and, by id, where the
        fields of each due entry lie (its names and spans)."""
        words = list(self._words)
        names = list(self._names)
        out: list[Key] = []
        due: dict[str, tuple[tuple[str, ...], bytes]] = {}
        for cols, blob in self._parts:
            ends = cols["span_end"].tolist()
            rows = zip(cols["id"].tolist(), cols["time"].tolist(), cols["provision"].tolist(),
                       cols["party"].tolist(), cols["verdict"].tolist(),
                       cols["weapon"].tolist(), cols["has_confidence"].tolist(),
                       cols["confidence"].tolist(), cols["owner"].tolist(),
                       cols["names"].tolist(), strict=True)
            for k, (i, t, p, who, v, w, has, c, d, nm) in enumerate(rows):
                fid, time, party = i.decode("ascii"), t.decode("ascii"), words[who]
                head = FindingHead(fid, str(words[p]), Verdict(words[v]), party, time or None,
                                   c if has else None, words[w])
                out.append((head.provision_id, time, party or "", fid,
                            None if d < 0 else d, head))
                if nm >= 0:
                    due[fid] = (names[nm], blob[ends[k - 1] if k else 0 : ends[k]])
        out.sort(key=lambda k: k[:4])
        return out, due
