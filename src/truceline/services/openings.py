"""Openings of the record's committed fields: reading them back, handing them out, replaying.

The log holds entries in committed form (:mod:`truceline.core.record.commit`); the store keeps
each committed field's opening. Here: the full entry a store's row checks need
(:func:`open_stored`), a role's bundle of openings (:func:`bundle`, whatever decides which
fields a reader may open), reading a bundle back (:func:`parse_bundle`), and the part of a
replay a reader without every opening can still do (:func:`partial_findings`).
"""

from __future__ import annotations

import binascii
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from truceline.core.findings import Finding
from truceline.core.observations import Observation
from truceline.core.record.canonical import entry_bytes, parse_entry
from truceline.core.record.commit import (
    SALT_BYTES,
    Opening,
    committed_fields,
    full_entry_bytes,
    is_committed,
    open_body,
)
from truceline.errors import IntegrityError, TrucelineError, ValidationError
from truceline.services.ports import Store

#: Openings by entry index and field.
Openings = Mapping[int, Mapping[str, Opening]]
#: Which fields of an entry a reader may open: ``(index, type, full body) -> names`` (None:
#: every field).
MayOpen = Callable[[int, str, dict[str, Any]], frozenset[str] | None]
#: One problem as ``verify.Problem`` takes it: (kind, entry index, message).
Issue = tuple[str, int | None, str]

BUNDLE_FORMAT = "truceline-openings/v1"


def open_stored(
    index: int, entry_type: str, body: dict[str, Any], ops: Mapping[str, Opening], data: bytes
) -> tuple[dict[str, Any], bytes, Issue | None]:
    """A stored entry's full body and canonical bytes, from its committed form and openings.

    A store holds the opening of every committed field; a missing, changed or stray opening is
    an issue naming the entry (the full body then keeps the commitments it could not open).
    """
    try:
        committed = is_committed(entry_type, body)
        if not committed and ops:
            raise IntegrityError(
                "openings stored for an entry that commits to nothing", field=sorted(ops)[0]
            )
        full, left = open_body(entry_type, body, ops)
    except IntegrityError as e:
        return body, data, ("changed", index, e.message)
    if left:
        return full, data, ("missing", index, f"no opening of field(s) {', '.join(left)}")
    return full, (full_entry_bytes(entry_type, full) if committed else data), None


def plaintext(entry_type: str, body: Mapping[str, Any]) -> bool:
    """An entry stored before commitments existed, holding fields that would be committed."""
    try:
        return bool(committed_fields(entry_type, body)) and not is_committed(entry_type, body)
    except IntegrityError:  # half committed: open_stored reports it
        return False


def full_entries(
    store: Store, start: int = 0, end: int | None = None
) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """``(index, type, full body)`` of the stored entries (opened; for a reader's policy)."""
    ops = store.openings(start, end)
    for e in store.entries(start, end):
        t, body = parse_entry(e.data)
        yield e.index, t, open_body(t, body, ops.get(e.index, {}))[0]


def bundle(
    store: Store, may_open: MayOpen, start: int = 0, end: int | None = None
) -> dict[str, Any]:
    """The openings a reader may have, as a JSON document (``BUNDLE_FORMAT``): each entry's
    index, field, salt (hex) and value, for the fields ``may_open`` allows."""
    ops = store.openings(start, end)
    out = []
    for e in store.entries(start, end):
        mine = ops.get(e.index)
        if not mine:
            continue
        t, body = parse_entry(e.data)
        full = open_body(t, body, mine)[0]
        allowed = may_open(e.index, t, full)
        for name, (salt, value) in sorted(mine.items()):
            if allowed is None or name in allowed:
                out.append({"index": e.index, "field": name, "salt": salt.hex(), "value": value})
    return {"format": BUNDLE_FORMAT, "openings": out}


def parse_bundle(doc: Any) -> dict[int, dict[str, Opening]]:
    """Openings from a bundle document; ValidationError naming the first bad item."""
    if not isinstance(doc, dict) or doc.get("format") != BUNDLE_FORMAT:
        raise ValidationError(f"not an openings bundle (format {BUNDLE_FORMAT!r})", field="format")
    items = doc.get("openings")
    if not isinstance(items, list):
        raise ValidationError("openings must be a list", field="openings")
    out: dict[int, dict[str, Opening]] = {}
    for n, it in enumerate(items):
        where = f"openings[{n}]"
        if not isinstance(it, dict) or set(it) != {"index", "field", "salt", "value"}:
            raise ValidationError("each opening is {index, field, salt, value}", field=where)
        idx, name, salt = it["index"], it["field"], it["salt"]
        if type(idx) is not int or idx < 0 or not isinstance(name, str):
            raise ValidationError(
                "index must be an entry index and field a name", field=f"{where}.index"
            )
        try:
            raw = bytes.fromhex(salt) if isinstance(salt, str) else b""
        except (ValueError, binascii.Error):
            raw = b""
        if len(raw) != SALT_BYTES:
            raise ValidationError(f"salt must be {SALT_BYTES} bytes in hex", field=f"{where}.salt")
        out.setdefault(idx, {})[name] = (raw, it["value"])
    return out


def apply(
    parsed: Sequence[tuple[str, dict[str, Any]]], openings: Openings
) -> tuple[list[tuple[str, dict[str, Any]]], set[int]]:
    """Open a log's entries with ``openings`` (each checked against the signed commitment:
    IntegrityError naming the entry otherwise); returns them and the indexes left sealed."""
    out: list[tuple[str, dict[str, Any]]] = []
    sealed: set[int] = set()
    for i, (t, body) in enumerate(parsed):
        try:
            full, left = open_body(t, body, openings.get(i, {}))
        except IntegrityError as e:
            raise IntegrityError(f"entry {i}: {e.message}", field="openings", index=i) from None
        if left:
            sealed.add(i)
        out.append((t, full))
    extra = sorted(set(openings) - set(range(len(parsed))))
    if extra:
        raise IntegrityError(
            f"openings of entry {extra[0]}, which the log does not hold",
            field="openings",
            index=extra[0],
        )
    return out, sealed


@dataclass(frozen=True)
class Partial:
    """A replay by a reader without every opening: what it re-derived, what it could only
    check against the commitments, and the observations it could open."""

    derived: list[Finding]
    rederived: list[str]  # finding ids re-derived from opened observations, field for field
    by_commitment: list[str]  # finding ids whose opened fields match the signed log only
    observations: int
    differences: list[str]


def partial_findings(
    parsed: Sequence[tuple[str, dict[str, Any]]],
    sealed: set[int],
    judged: int,
    derive: Callable[[list[Observation]], list[Finding]],
) -> Partial:
    """Re-derive what the opened observations allow; the rest verifies by commitment.

    ``derive`` runs the checks (agreement in force) over observations; as in a full replay,
    only observations before entry ``judged`` (those the last check read) are judged. A
    finding the reader opened (its id at least) is *re-derived* when the checks over the
    observations it could open give a finding of that id whose every opened field is
    equal; otherwise it is verified by commitment only: each opened field matches the signed
    log, nothing more. A re-derived finding that differs in an opened field is a difference.
    """
    obs: list[Observation] = []
    current: dict[str, dict[str, Any]] = {}
    for i, (t, body) in enumerate(parsed):
        try:
            if t == "observation" and i not in sealed and i < judged:
                obs.append(Observation.model_validate(body))
            elif t == "finding" and isinstance(body.get("id"), str):
                current[body["id"]] = body
            elif (
                t == "status_change"
                and body.get("status") == "withdrawn"
                and isinstance(body.get("finding_id"), str)
            ):
                current.pop(body["finding_id"], None)
        except (ValueError, TrucelineError) as e:
            raise IntegrityError(
                f"entry {i} is not a valid {t} entry: {e}", field="entry", index=i
            ) from None
    obs.sort(key=lambda o: (o.time, o.id))
    derived = derive(obs) if obs else []
    got = {f.id: f.to_record() for f in derived}
    rederived, by_commitment, diffs = [], [], []
    for fid, body in sorted(current.items()):
        rec = got.get(fid)
        opened = {k: v for k, v in body.items() if not (isinstance(v, dict) and set(v) == {"c"})}
        if rec is None:
            by_commitment.append(fid)
            continue
        differ = sorted(k for k, v in opened.items() if rec.get(k) != v)
        if differ:
            diffs.append(f"{fid}: differs in {', '.join(differ)}")
        else:
            rederived.append(fid)
    return Partial(derived, rederived, by_commitment, len(obs), diffs)


def preset(store: Store, entries: Sequence[bytes], bundle: Openings) -> list[bytes]:
    """The full bytes of a log's entries, every committed field opened from ``bundle`` (else
    ValidationError naming ``openings``); the store is told to append them as the log's
    committed bytes with these openings (:meth:`Store.preset_openings`)."""
    parsed = [parse_entry(e) for e in entries]
    opened, sealed = apply(parsed, bundle)
    if sealed:
        first = min(sealed)
        raise ValidationError(
            f"entry {first} stays committed: a database is rebuilt from every opening (an "
            "analyst's bundle); a party replays without --db",
            field="openings",
        )
    full = [entry_bytes(t, b) if bundle.get(i) else entries[i] for i, (t, b) in enumerate(opened)]
    store.preset_openings(
        [
            (f, c, bundle[i])
            for i, (f, c) in enumerate(zip(full, entries, strict=True))
            if bundle.get(i)
        ]
    )
    return full
