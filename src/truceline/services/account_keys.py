"""Server-held keys for form accounts: the server signs a submission as its account when the
phone cannot.

ODK Collect and KoboToolbox do not sign submissions with a key of the monitor's own, so a form
export arrives unsigned. With a key directory (``truceline ingest --sign-for-accounts DIR``),
each account that submitted (``odk:<name>``, ``kobo:<name>``) gets an Ed25519 key the server
holds (created on first use, one file per account, mode 0600), registered for the account in
the record with ``custody`` saying the server holds it. Each unsigned submission from a form
export is then signed with its account's key before ingest: the record shows which account
it came from, that the signature is the server's on the account's behalf (the key's
registration entry says so), and from then on every submission of that account must be signed
(:mod:`truceline.services.submissions`): no unsigned copy gets in beside the signed ones.

A bad file changes nothing here either: the records are read and validated whole first, and
in ``raise`` mode a file with a bad record registers no key (ingest then reports the record).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

from truceline.core.observations import Observation, Rejection, parse_observation
from truceline.core.record.note import Signer
from truceline.errors import ObservationError
from truceline.services.keys import register_source_key
from truceline.services.ports import Store
from truceline.services.submissions import sign_observation

#: What a server-held key's registration entry says about who holds it.
CUSTODY = ("server: held by the server for a form account whose phone cannot sign; the server "
           "signs the account's submissions on its behalf")
#: The datasets whose submissions come from form accounts (the ODK and Kobo importers).
FORM_DATASETS = frozenset({"odk-central", "kobotoolbox"})
_NAME = re.compile(r"[^A-Za-z0-9._-]")
#: One importer output: where it was, and a raw record or the reason it is not one.
RawItem = tuple[int, dict[str, Any] | Rejection]


def _key_path(key_dir: Path, account: str) -> Path:
    return key_dir / f"{hashlib.sha256(account.encode()).hexdigest()[:24]}.skey"


def account_signer(store: Store, key_dir: Path, account: str) -> Signer:
    """The account's server-held signer: read from ``key_dir``, else created; registered in
    the store (with its custody) unless it already is."""
    path = _key_path(key_dir, account)
    if path.exists():
        signer = Signer.from_skey(path.read_text(encoding="utf-8").strip())
    else:
        signer = Signer(_NAME.sub("-", account)[:60] or "account", secrets.token_bytes(32))
        key_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(signer.to_skey() + "\n")
        os.replace(tmp, path)
    vkey = signer.verifier().to_vkey()
    if not any(k["key_id"] == vkey for k in store.keys(account)):
        register_source_key(store, account, "monitor", vkey, custody=CUSTODY)
    return signer


def sign_for_accounts(
    store: Store,
    items: Iterable[RawItem],
    key_dir: Path,
    *,
    on_invalid: Literal["raise", "skip"] = "raise",
) -> Iterator[RawItem]:
    """``items`` with each unsigned form submission signed by its account's server-held key.

    Everything else (other datasets, already signed records, rejections) passes unchanged;
    an invalid record passes unchanged too, for ingest to report as it would without signing.
    """
    read = list(items)
    parsed: dict[int, Observation] = {}
    bad = False
    for k, (line, rec) in enumerate(read):
        if isinstance(rec, Rejection):
            bad = bad or not rec.deliberate
            continue
        if rec.get("signature") or rec.get("dataset") not in FORM_DATASETS:
            continue
        try:
            parsed[k] = parse_observation(rec, line=line)
        except ObservationError:
            bad = True
    if bad and on_invalid == "raise":  # ingest stops at the bad record: register nothing
        yield from read
        return
    signers: dict[str, Signer] = {}
    for k, (line, rec) in enumerate(read):
        obs = parsed.get(k)
        if obs is None:
            yield line, rec
            continue
        signer = signers.get(obs.source_id)
        if signer is None:
            signer = signers[obs.source_id] = account_signer(store, key_dir, obs.source_id)
        yield line, sign_observation(obs, signer).to_record()
