"""API keys, endpoints, the outbox and the pseudonym secret are recorded, on SQLite and
PostgreSQL: each change is an entry in its row's transaction, `record verify` checks the rows,
a store made before these entries gets a message saying what to run (and verifies once it
ran), and a mirror rebuilt from the log holds no secret, so it neither delivers nor makes
pseudonyms."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner

import truceline.adapters.cli.commands  # noqa: F401  (registers the commands)
from truceline.adapters.cli.main import cli
from truceline.adapters.store.sqlite import SQLiteStore
from truceline.errors import ConflictError, StoreError
from truceline.services import access, delivery, guarantees, verify
from truceline.services.ports import Store
from truceline.services.verify_access import Adopted, adopt, withheld

from .conftest import Backend
from .test_guarantee_rows import T0, _setup

ADOPT = "truceline record adopt-access"


class Answers:
    """A fake of the delivery Transport port: the UK endpoint accepts, any other fails."""

    def __init__(self) -> None:
        self.posted: list[str] = []

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        self.posted.append(url)
        return 200 if "uk." in url else 503


def _problems(store: Store) -> list[str]:
    return [p.message for p in verify.verify_record(store).problems]


def _sql(store: Store, q: str, args: tuple[Any, ...] = ()) -> None:
    s: Any = store
    with s._tx():
        s._execute(q, args)


def test_each_change_is_an_entry_with_its_row(store: Store) -> None:
    _setup(store)
    guarantees.notify(store, T0)
    n0 = store.entry_count()
    access.register_api_key(store, "h1", "ua-1", "party", "UA")
    with pytest.raises(ConflictError):  # a refused key writes neither row nor entry
        access.register_api_key(store, "h2", "ua-1", "party", "UA")
    access.revoke_api_keys(store, "ua-1")
    for who in ("UK", "FR"):
        guarantees.register_endpoint(store, who, f"https://{who.lower()}.example/hook", T0)
    secret = access.pseudonym_secret(store)
    assert access.pseudonym_secret(store) == secret  # made once
    sent = delivery.deliver(store, Answers(), lambda: T0 + timedelta(minutes=1))
    assert sent.delivered and sent.retrying
    types = [e.type for e in store.entries(n0)]
    assert types == ["api_key"] * 2 + ["endpoint"] * 2 + ["pseudonym_secret"] + [
        "status_change"] * (len(sent.delivered) + len(sent.retrying))
    assert _problems(store) == []
    # the secrets themselves are in no entry and no opening
    every = b"".join(e.data for e in store.entries()) + repr(store.openings()).encode()
    assert secret.hex().encode() not in every
    assert not any(r["secret"].encode() in every for r in store.table_rows("endpoints"))


def test_tampered_rows_are_named(store: Store) -> None:
    _setup(store)
    guarantees.notify(store, T0)
    guarantees.register_endpoint(store, "FR", "https://fr.example/hook", T0)
    access.register_api_key(store, "h1", "ua-1", "party", "UA")
    access.pseudonym_secret(store)
    delivery.deliver(store, Answers(), lambda: T0 + timedelta(minutes=1))
    assert _problems(store) == []
    _sql(store, "UPDATE api_keys SET role = 'analyst' WHERE token_hash = 'h1'")
    _sql(store, "UPDATE endpoints SET url = 'https://evil.example/' WHERE recipient = 'FR'")
    _sql(store, "UPDATE deliveries SET next_at = '9999-01-01T00:00:00.000000Z' "
                "WHERE recipient = 'FR' AND attempts = 1")
    _sql(store, "UPDATE meta SET value = ? WHERE key = ?", ("00" * 32, access.PSEUDONYM_KEY))
    _sql(store, "INSERT INTO api_keys(token_hash, name, role, party) VALUES "
                "('h9', 'forged', 'analyst', NULL)")
    msgs = _problems(store)
    assert any("'ua-1': column role is 'analyst'" in m for m in msgs)
    assert any("endpoint of 'FR': column url" in m for m in msgs)
    assert any(".FR" in m and "column next_at is '9999" in m for m in msgs)
    assert any("pseudonym" in m and "not the pseudonym secret" in m for m in msgs)
    forged = [m for m in msgs if "'forged' has no entry" in m]
    assert forged and "adopt-access" not in forged[0]  # never invited to launder a forgery


def test_a_store_from_before_is_told_what_to_run_and_then_verifies(
        backend: Backend, store: Store) -> None:
    """Rows written as the code before these entries wrote them: no entry at all."""
    _setup(store)
    guarantees.notify(store, T0)
    did = guarantee_rows_for(store, "FR")
    _sql(store, "INSERT INTO api_keys(token_hash, name, role, party) VALUES "
                "('h1', 'old analyst', 'analyst', NULL)")
    _sql(store, "INSERT INTO endpoints(recipient, url, secret, registered) VALUES "
                "('FR', 'https://fr.example/hook', 'whsec_old', '2025-03-01T00:00:00Z')")
    _sql(store, "INSERT INTO meta(key, value) VALUES (?, ?)", (access.PSEUDONYM_KEY, "ab" * 32))
    _sql(store, "UPDATE deliveries SET attempts = 3, last_error = 'HTTP 503', "
                "next_at = '2025-03-28T07:00:00.000000Z' WHERE id = ?", (did,))
    msgs = _problems(store)
    assert len(msgs) == 6 and all(ADOPT in m for m in msgs), msgs
    res = CliRunner().invoke(cli, ["record", "verify", "--db", backend.url])
    assert res.exit_code == 3 and ADOPT in res.stderr
    res = CliRunner().invoke(cli, ["record", "adopt-access", "--db", backend.url])
    assert res.exit_code == 0, res.output
    assert "1 API keys, 1 endpoints, the pseudonym secret and 1 outbox rows" in res.stdout
    assert _problems(store) == []
    n = store.entry_count()
    assert adopt(store) == Adopted() and store.entry_count() == n  # once


def guarantee_rows_for(store: Store, recipient: str) -> str:
    return next(d["id"] for d in guarantees.guarantee_store(store).deliveries()
                if d["recipient"] == recipient)


def test_a_mirror_holds_no_secret_and_sends_nothing(store: Store, tmp_path: Any) -> None:
    from truceline.services import record

    from ..log_keys import fixed_key

    _setup(store)
    guarantees.notify(store, T0)
    for who in ("UK", "FR"):
        guarantees.register_endpoint(store, who, f"https://{who.lower()}.example/hook", T0)
    access.pseudonym_secret(store)
    delivery.deliver(store, Answers(), lambda: T0 + timedelta(minutes=1))
    record.publish_checkpoint(store, fixed_key("truceline.test/access"), 1_743_000_000)
    files = verify.export_tiles(store)
    vkey = record.log_verifier(store).to_vkey()
    every = store.openings()
    res = verify.replay(files.__getitem__, vkey, every)
    mirror = SQLiteStore(tmp_path / "mirror.db", create=True)
    verify.rebuild(mirror, res.entries, files["checkpoint"], vkey, res.documents, every)
    assert _problems(mirror) == []
    gs, gm = guarantees.guarantee_store(store), guarantees.guarantee_store(mirror)
    assert gm.deliveries() == gs.deliveries()  # the outbox, every column, from the log
    assert sorted(withheld(mirror)) == ["endpoint FR", "endpoint UK", "pseudonym secret"]
    out = CliRunner().invoke(cli, ["record", "verify", "--db", str(tmp_path / "mirror.db")])
    assert out.exit_code == 0 and "holds only the hash of: endpoint" in out.stdout, out.output
    later = T0 + timedelta(days=1)
    assert gm.due_deliveries(guarantees.iso_text(later), 10) == []
    answers = Answers()
    held = delivery.deliver(mirror, answers, lambda: later)
    assert answers.posted == [] and held.retrying == [] and held.delivered == []
    assert held.held and all(d.endswith(".FR") for d in held.held)  # said, not silent
    with pytest.raises(StoreError):
        access.pseudonym_secret(mirror)
    mirror.close()


def test_failed_attempts_give_up_with_an_entry_each(store: Store) -> None:
    _setup(store)
    guarantees.notify(store, T0)
    guarantees.register_endpoint(store, "FR", "https://fr.example/hook", T0)
    t = T0
    for _ in range(delivery.MAX_ATTEMPTS):
        t += timedelta(hours=7)
        delivery.deliver(store, Answers(), lambda t=t: t)
    rows = [d for d in guarantees.guarantee_store(store).deliveries() if d["recipient"] == "FR"]
    assert rows and {d["state"] for d in rows} == {"failed"}
    assert {d["attempts"] for d in rows} == {delivery.MAX_ATTEMPTS}
    assert _problems(store) == []
    _sql(store, "UPDATE deliveries SET state = 'pending' WHERE id = ?", (rows[0]["id"],))
    assert any("column state is 'pending', the record says 'failed'" in m
               for m in _problems(store))
