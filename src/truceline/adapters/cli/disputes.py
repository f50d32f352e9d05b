"""`truceline dispute ...`: a dispute's steps from the command line (parse, call, render).

The CLI works on the mission's store directly, so it acts for whoever runs it: ``--party``
says which party files, withdraws or adds counter-evidence (the service checks that party is
the one the finding is about, or the one that filed), and the mission's steps (answer,
uphold, reject) take ``--by``, the analyst's name for the record. Each prints the dispute as
JSON; a step out of order is one line naming the field and the table's exit code.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click

from truceline.adapters.cli.group import db_option, handle_errors
from truceline.adapters.store import open_store
from truceline.core import disputes as life
from truceline.errors import NotFoundError
from truceline.services import disputes as svc


def _now() -> datetime:
    return datetime.now(UTC)


def _show(state: dict[str, Any]) -> None:
    click.echo(json.dumps({**state, "status": life.status_of(state)}, ensure_ascii=False, indent=1))


@click.group()
def dispute() -> None:
    """Disputes of findings: file, answer, uphold, reject, withdraw, counter-evidence."""


@dispute.command("file")
@db_option
@click.option("--finding", "finding_id", required=True, help="The finding disputed.")
@click.option("--party", required=True, help="The party filing (the finding is about it).")
@click.option("--text", required=True, help="Why the finding is wrong.")
@click.option("--evidence", multiple=True, help="Id of a stored observation (repeatable).")
@handle_errors
def file_(db: str, finding_id: str, party: str, text: str, evidence: tuple[str, ...]) -> None:
    """File a party's dispute of a finding about it (recorded as a dispute entry)."""
    store = open_store(db)
    f = next((f for f in store.findings() if f.id == finding_id), None)
    if f is None:
        raise NotFoundError("no such finding", field="finding")
    rec, _ = svc.file_dispute(store, f, party, text, list(evidence), _now())
    _show(rec)


@dispute.command("list")
@db_option
@click.option("--party", help="Only this party's disputes.")
@handle_errors
def list_(db: str, party: str | None) -> None:
    """Every dispute with its status, as JSON lines."""
    for d in open_store(db).disputes(party):
        click.echo(json.dumps({**d, "status": life.status_of(d)}, ensure_ascii=False))


@dispute.command()
@db_option
@click.argument("dispute_id")
@click.option("--text", required=True, help="The mission's reply.")
@click.option("--by", required=True, help="The analyst answering (for the record).")
@handle_errors
def answer(db: str, dispute_id: str, text: str, by: str) -> None:
    """Answer an open dispute, with the finding's evidence and rule (the mission)."""
    _show(svc.answer(open_store(db), dispute_id, text, by, _now()))


@dispute.command()
@db_option
@click.argument("dispute_id")
@click.option(
    "--outcome",
    required=True,
    type=click.Choice(list(life.OUTCOMES)),
    help="What becomes of the finding.",
)
@click.option("--text", required=True, help="How the finding is withdrawn or amended.")
@click.option("--by", required=True, help="The analyst (for the record).")
@handle_errors
def uphold(db: str, dispute_id: str, outcome: str, text: str, by: str) -> None:
    """Uphold an answered dispute: the finding is withdrawn or amended (the mission)."""
    _show(svc.uphold(open_store(db), dispute_id, outcome, text, by, _now()))


@dispute.command()
@db_option
@click.argument("dispute_id")
@click.option("--reasons", required=True, help="Why the finding stands.")
@click.option("--by", required=True, help="The analyst (for the record).")
@handle_errors
def reject(db: str, dispute_id: str, reasons: str, by: str) -> None:
    """Reject an answered dispute, with reasons (the mission)."""
    _show(svc.reject(open_store(db), dispute_id, reasons, by, _now()))


@dispute.command()
@db_option
@click.argument("dispute_id")
@click.option("--party", required=True, help="The party withdrawing (the one that filed).")
@handle_errors
def withdraw(db: str, dispute_id: str, party: str) -> None:
    """Withdraw a dispute (only the party that filed it)."""
    _show(svc.withdraw(open_store(db), dispute_id, party, _now()))


@dispute.command()
@db_option
@click.argument("dispute_id")
@click.option("--party", required=True, help="The party that filed the dispute.")
@click.option(
    "--observation",
    "observations",
    multiple=True,
    required=True,
    help="Id of the party's own signed, ingested observation (repeatable).",
)
@handle_errors
def evidence(db: str, dispute_id: str, party: str, observations: tuple[str, ...]) -> None:
    """Attach the party's own signed observations (ingest them first) as counter-evidence."""
    _show(svc.attach_evidence(open_store(db), dispute_id, party, list(observations), _now()))
