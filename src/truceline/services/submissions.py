"""Signed submissions: what a source signs, the submission policy and its check, and the
canonical bytes of many submissions computed once (the fast path under the check; the
signature verification itself is :mod:`truceline.services.verifiers`).

Submission policy (one rule everywhere, :func:`check_submissions`):

* a source that has registered a key (even one since revoked) must sign every submission, and
  the signature must verify under one of its *unrevoked* keys: a revoked or unknown key never
  gets data in, and a source cannot fall back to unsigned submissions;
* a signature from a source with no registered key is refused (nobody could check it, and the
  record must not carry a signature that looks verified but is not);
* an unsigned submission from a source with no key is accepted only when the caller allows it
  (``require_signatures=False``: the CLI's ``--allow-unsigned`` for imported public datasets);
  the HTTP API always requires signatures.

The signed message is ``canonical_bytes(record without "signature")`` where ``record`` is
``Observation.to_record()``: a source signs exactly the canonical form the log stores.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from truceline.core.observations import Observation, parse_observation
from truceline.core.record.canonical import canonical_bytes
from truceline.core.record.note import ALG_ED25519, Signer
from truceline.core.record.signing import sign
from truceline.errors import SignatureError, ValidationError
from truceline.services.ports import Store
from truceline.services.record import b64, unb64
from truceline.services.verifiers import start_verify


def submission_messages(records: Sequence[dict[str, Any]]) -> list[tuple[bytes, bytes]]:
    """``(record bytes, submission message)`` of many ``Observation.to_record()`` dicts.

    Both are canonical bytes, each computed once: the record's (the body of its entry and
    the stored row), and the message a source signs (the same object without
    ``signature``), cut out of the record's bytes rather than serialised a second time.
    """
    return [_record_and_message(r) for r in records]


#: The canonical encoder's settings (``truceline.core.record.canonical``), built once.
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                            allow_nan=False)


def _record_and_message(rec: dict[str, Any]) -> tuple[bytes, bytes]:
    try:
        # For a record of JSON values with string keys (what to_record returns) the
        # canonical form is exactly this encoding (as in doc_bytes); anything else (NaN,
        # lone surrogates) takes the full canonical path, which names the problem.
        data = _ENCODER.encode(rec).encode("utf-8")
    except (TypeError, ValueError):
        data = canonical_bytes(rec)
    return data, message_of(rec, data)


def message_of(rec: dict[str, Any], data: bytes) -> bytes:
    """The submission message of ``rec`` (an ``Observation.to_record()``) given ``data``, its
    canonical bytes: those bytes without the ``signature`` member."""
    sig = rec.get("signature")
    if sig is None:
        return data
    # Removing one member from a canonical object removes its text and one comma: keys
    # are sorted and no member nests. A raw '"signature":' can only be that key (inside
    # a JSON string every '"' is escaped), so exactly one match is required; the slow
    # path below is there for anything unexpected.
    member = b'"signature":' + _ENCODER.encode(sig).encode("utf-8")
    if type(sig) is str and data.count(member) == 1:
        if member + b"," in data:
            return data.replace(member + b",", b"", 1)
        if b"," + member + b"}" in data:
            return data.replace(b"," + member + b"}", b"}", 1)
    return canonical_bytes({k: v for k, v in rec.items() if k != "signature"})


def submission_message(obs: Observation) -> bytes:
    """What a source signs: the canonical bytes of its record without ``signature``."""
    rec = obs.to_record()
    rec.pop("signature", None)
    return canonical_bytes(rec)


def sign_observation(obs: Observation, signer: Signer) -> Observation:
    """``obs`` with its source's signature (what ``truceline sign`` does for a source)."""
    if signer.alg != ALG_ED25519:
        raise ValidationError("sign observations with a plain Ed25519 key", field="key")
    sig = sign(signer.seed, submission_message(obs))
    return obs.model_copy(update={"signature": b64(sig)})


def source_keys(store: Store, sources: Iterable[Any] | None = None
                ) -> dict[str, list[tuple[bytes, bool]]]:
    """Each source's registered keys, ``(public key, revoked)``, for :func:`apply_policy`
    (only those of ``sources`` when given)."""
    keys: dict[str, list[tuple[bytes, bool]]] = {}
    want = None if sources is None else set(sources)
    for row in store.keys():  # noqa: SIM118 (a store, not a dict)
        if row["role"] != "witness" and (want is None or row["owner"] in want):
            keys.setdefault(row["owner"], []).append((row["public_key"], bool(row["revoked"])))
    return keys


@dataclass
class Policy:
    """The policy applied to a batch: an error or None each, and the signature checks still
    to run (observation index, public key, message, signature; one per unrevoked key)."""

    errors: list[SignatureError | None]
    idx: list[int] = field(default_factory=list)
    pks: list[bytes] = field(default_factory=list)
    msgs: list[bytes] = field(default_factory=list)
    sigs: list[bytes] = field(default_factory=list)

    def finish(self, ok: Iterable[Any], observations: Sequence[Observation]
               ) -> list[SignatureError | None]:
        """The errors once the checks' results ``ok`` are in: a signature that verifies
        under none of its source's unrevoked keys is an error."""
        out = self.errors
        good = {i for i, g in zip(self.idx, ok, strict=True) if g}
        for i in sorted(set(self.idx) - good):
            o = observations[i]
            out[i] = SignatureError(
                f"the signature of {o.id!r} does not verify under any key of {o.source_id!r}",
                field="signature", id=o.id)
        return out


def apply_policy(
    observations: Sequence[Observation], keys: Mapping[str, Sequence[tuple[bytes, bool]]], *,
    require_signatures: bool, records: Sequence[dict[str, Any]] | None = None,
    messages: Sequence[bytes | None] | None = None,
) -> Policy:
    """The submission policy (module docstring) short of verifying the signatures: pure,
    given ``keys`` (:func:`source_keys`), so a worker process applies it as the server would."""
    pol = Policy([None] * len(observations))
    out, idx, pks, msgs, sigs = pol.errors, pol.idx, pol.pks, pol.msgs, pol.sigs
    live_of: dict[str, list[bytes]] = {}
    for i, o in enumerate(observations):
        mine = keys.get(o.source_id, [])
        live = live_of.get(o.source_id)
        if live is None:
            live = live_of[o.source_id] = [pk for pk, revoked in mine if not revoked]
        if o.signature is None:
            if mine or require_signatures:
                why = "its key is revoked" if mine and not live else "signatures are required"
                out[i] = SignatureError(
                    f"observation {o.id!r} is unsigned and {why} for source {o.source_id!r}",
                    field="signature", id=o.id)
            continue
        if not live:
            why = "only revoked keys" if mine else "no registered key"
            out[i] = SignatureError(
                f"source {o.source_id!r} of {o.id!r} has {why}: the signature cannot be accepted",
                field="signature", id=o.id)
            continue
        try:
            sig = unb64(o.signature, "signature")
        except ValidationError as e:
            out[i] = SignatureError(f"{o.id!r}: {e.message}", field="signature", id=o.id)
            continue
        msg = messages[i] if messages is not None else None
        if msg is None:
            if records is None:
                msg = submission_message(o)
            else:
                msg = canonical_bytes({k: v for k, v in records[i].items() if k != "signature"})
        for pk in live:
            idx.append(i)
            pks.append(pk)
            msgs.append(msg)
            sigs.append(sig)
    return pol


def check_submissions(
    store: Store, observations: Sequence[Observation], *, require_signatures: bool,
    records: Sequence[dict[str, Any]] | None = None,
    messages: Sequence[bytes | None] | None = None,
) -> list[SignatureError | None]:
    """Apply the submission policy (module docstring) to a batch; one error or None each.

    Signatures are checked with ``verify_many`` under the single Ed25519 rule, in worker
    processes (:mod:`truceline.services.verifiers`); an observation signed
    validly under any unrevoked key of its source passes. ``records`` are the observations'
    ``to_record()`` and ``messages`` their :func:`submission_message` bytes when the caller
    already has them (ingest does: it saves the work).
    """
    return start_submission_checks(store, observations, require_signatures=require_signatures,
                                   records=records, messages=messages)()


def start_submission_checks(
    store: Store, observations: Sequence[Observation], *, require_signatures: bool,
    records: Sequence[dict[str, Any]] | None = None,
    messages: Sequence[bytes | None] | None = None,
) -> Callable[[], list[SignatureError | None]]:
    """:func:`check_submissions` in two steps: the policy now (on this thread, reading the
    store's keys), the signature verification started in worker processes; call the returned
    function for the errors (it waits for the verification).

    Ingest uses this to verify one batch while it validates the next and stores the one
    before: the verifying processes never wait for this one's GIL.
    """
    pol = apply_policy(observations, source_keys(store), require_signatures=require_signatures,
                       records=records, messages=messages)
    out, idx = pol.errors, pol.idx
    wait = start_verify(pol.pks, pol.msgs, pol.sigs)

    def finish() -> list[SignatureError | None]:
        return out if not idx else pol.finish(wait(), observations)

    return finish


def verify_submission(store: Store,
                      observations: Observation | Sequence[Observation | Mapping[str, Any]],
                      *, require_signatures: bool = True) -> None:
    """Raise the first SignatureError (field ``signature``) the policy finds, else None.

    Takes one observation or a batch (raw records that do not validate are left to ingest,
    which reports them). Requires signatures by default: this is the HTTP API's gate.
    """
    batch = [observations] if isinstance(observations, Observation) else list(observations)
    obs = []
    for o in batch:
        if isinstance(o, Observation):
            obs.append(o)
        else:
            with contextlib.suppress(ValidationError):
                obs.append(parse_observation(dict(o)))
    for err in check_submissions(store, obs, require_signatures=require_signatures):
        if err is not None:
            raise err
