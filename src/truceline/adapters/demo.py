"""The demo: the whole path on a shipped example, from a fresh store to a report and a map."""

from __future__ import annotations

import os
import time as _time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.importers import read_records
from truceline.adapters.render.findings import render_findings
from truceline.adapters.render.report import write_report
from truceline.adapters.store import open_store
from truceline.errors import IntegrityError
from truceline.services.check import run_check
from truceline.services.ingest import ingest
from truceline.services.ports import Store
from truceline.services.record import initialize_store
from truceline.services.report import daily_report
from truceline.services.verify import verify_record

if TYPE_CHECKING:
    from truceline.core.record.note import Signer

DEMO_DAY = "2025-03-28"


@dataclass
class DemoResult:
    db: Path
    report_html: Path
    report_md: Path
    findings_path: Path
    witness_keys: dict[str, Path]


def run_demo(
    out: Path,
    agreement: Path,
    observations: Path,
    *,
    echo: Callable[[str], None] = print,
    day: str = DEMO_DAY,
    simulate_scale: float | None = None,
    seed: int = 1,
) -> DemoResult:
    """Init, ingest, check, report. With ``simulate_scale``, a simulated day of the scenario
    (monitors, sensors, cameras; seed fixed) is ingested beside the shipped sample."""
    out.mkdir(parents=True, exist_ok=True)
    db = out / "demo.db"
    ag, doc = load_agreement_file(agreement)
    store = open_store(str(db), create=True)
    version = initialize_store(store, doc)
    echo(f"agreement: {ag.title} (version {version}, {len(ag.provisions)} provisions)")
    sources = [observations]
    if simulate_scale is not None:
        from truceline.adapters.simulate_files import write_simulation

        first = date.fromisoformat(day) - timedelta(days=1)
        start = datetime.combine(first, time(0, 0), tzinfo=ag.tz)
        summary = write_simulation(agreement, out / "simulated", days=2, seed=seed,
                                   scale=simulate_scale, start=start)
        echo(f"simulated 2 days from {first} (seed {seed}): {summary.observations} observations "
             f"of {summary.events} true events, {summary.planted} planted checks")
        sources.append(out / "simulated" / "observations.jsonl")
    for src in sources:
        rep = ingest(store, read_records(str(src)), on_invalid="skip")
        echo(f"observations from {src.name}: {rep.added} added, {rep.duplicates} already "
             f"stored, {len(rep.rejected)} rejected")
    res = run_check(store)
    found = res.findings if res.complete else store.findings()
    echo(f"findings ({len(found)}); the first 25:")
    echo("\n".join(render_findings(found, "text").splitlines()[:25]))
    findings_path = out / "findings.json"
    findings_path.write_text(render_findings(found, "json"), encoding="utf-8")
    r = daily_report(store, day)
    html = write_report(r, out / f"report-{day}.html")[0]
    md = write_report(r, out / f"report-{day}.md")[0]
    keys = _cosigned_checkpoint(store, out, [p.id for p in ag.parties], f"truceline-demo/{ag.id}",
                                echo)
    store.close()
    return DemoResult(db, html, md, findings_path, keys)


def _cosigned_checkpoint(store: Store, out: Path, parties: list[str], origin: str,
                         echo: Callable[[str], None]) -> dict[str, Path]:
    """The whole trust chain on the demo's record: the mission signs a checkpoint and each
    party's demo witness checks it and cosigns; then the record is verified.

    Each party's witness key is new on every run and written to ``witnesses/PARTY.key`` (mode
    0600) beside its state file, so ``truceline record witness`` can go on from there. The
    mission's log key is in ``log.key`` (see :func:`_demo_log_key`).
    """
    from truceline.core.record.note import ALG_COSIGNATURE_V1, Signer
    from truceline.services.keys import register_source_key
    from truceline.services.record import log_verifier, publish_checkpoint
    from truceline.services.witnesses import (
        add_cosignature,
        final_checkpoint,
        run_witness,
        witness_state_to_json,
    )

    now = int(_time.time())
    wdir = out / "witnesses"
    wdir.mkdir(exist_ok=True)
    signers: dict[str, Signer] = {}
    paths: dict[str, Path] = {}
    for party in parties:
        signer = Signer(f"{party.lower()}-witness.demo", os.urandom(32), ALG_COSIGNATURE_V1)
        register_source_key(store, party, "witness", signer.verifier().to_vkey())
        paths[party] = wdir / f"{party}.key"
        paths[party].unlink(missing_ok=True)
        fd = os.open(paths[party], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(signer.to_skey() + "\n")
        signers[party] = signer
    note = publish_checkpoint(store, _demo_log_key(store, out, origin, echo), now)
    log_vkey = log_verifier(store).to_vkey()
    for party, signer in signers.items():
        sig, state = run_witness(None, note, store.get_node, log_vkey, signer, now)
        add_cosignature(store, state.size, sig.line().rstrip("\n"))
        (wdir / f"{party}.state").write_text(witness_state_to_json(state), encoding="utf-8")
    final = final_checkpoint(store)
    rep = verify_record(store)
    if final is None or not rep.ok:
        raise IntegrityError("the demo's record does not verify with a cosigned checkpoint",
                             field="record")
    echo(f"record: {rep.size} entries, checkpoint of size {final[0].size} signed by the "
         f"mission ({origin}) and cosigned by {', '.join(parties)}; verifies")
    return paths


#: The demo's log key passphrase. It is printed and published here: the demo's key protects
#: nothing, it shows how a real log keeps its key out of the store.
DEMO_PASSPHRASE = "truceline-demo-only"


def _demo_log_key(store: Store, out: Path, origin: str, echo: Callable[[str], None]) -> Signer:
    """The demo log's key, in ``log.key`` beside the store, sealed with
    :data:`DEMO_PASSPHRASE` (made on the first run; a key an older demo store still held in
    plaintext is moved there and deleted from the store)."""
    from truceline.adapters.log_key import read_key_file, write_key_file
    from truceline.core.record.note import Signer
    from truceline.services.record import forget_plaintext_log_key, plaintext_log_key

    path = out / "log.key"
    secret = DEMO_PASSPHRASE.encode()
    if path.exists():
        key = read_key_file(path, secret)
    else:
        key = plaintext_log_key(store) or Signer(origin, os.urandom(32))
        write_key_file(path, key, secret, "interactive")
    forget_plaintext_log_key(store, key.verifier())
    echo(f"log key: {path} (passphrase {DEMO_PASSPHRASE!r}, printed: for the demo only); sign "
         f"more checkpoints with TRUCELINE_LOG_KEY_FILE={path} "
         f"TRUCELINE_LOG_KEY_PASSPHRASE={DEMO_PASSPHRASE} truceline record checkpoint "
         f"--db {out / 'demo.db'}")
    return key
