"""`truceline notify ...`: guarantee notifications (docs/guarantees.md).

``notify deliver`` is one pass, for cron: bring the notifications in line with the findings
(new, withdrawn, escalated), then POST every due delivery once. ``truceline serve`` runs the
same pass in the background (setting ``notify_in_serve``).
"""

from __future__ import annotations

import json

import click

from truceline.adapters.cli.group import db_option, handle_errors
from truceline.adapters.store import open_store


@click.group()
def notify() -> None:
    """Notifications to guarantors: endpoints, delivery, states."""


def deliver_pass(db: str) -> str:
    """One pass (notify, then deliver) over the store at ``db``; a one-line summary."""
    from truceline.adapters.webhooks import HttpxTransport
    from truceline.services.delivery import deliver
    from truceline.services.guarantees import notify as raise_notifications
    from truceline.services.ports import system_clock

    store = open_store(db)
    try:
        made = raise_notifications(store, system_clock())
        with HttpxTransport() as transport:
            sent = deliver(store, transport)
    finally:
        store.close()
    return (f"{len(made.created)} notifications created, {len(made.withdrawn)} withdrawn, "
            f"{len(made.escalated)} escalations; {len(sent.delivered)} delivered, "
            f"{len(sent.retrying)} to retry, {len(sent.failed)} failed"
            + (f"; {len(sent.held)} held: their endpoint holds no secret (see record verify)"
               if sent.held else ""))


@notify.command("deliver")
@db_option
@handle_errors
def deliver_cmd(db: str) -> None:
    """One delivery pass (for cron): new notifications, then every due webhook once."""
    click.echo(deliver_pass(db))


@notify.command("endpoint")
@db_option
@click.option("--recipient", required=True, help="A guarantor's, party's or the mediator's id.")
@click.option("--url", required=True, help="Its webhook URL (https://; http:// on loopback only).")
@handle_errors
def endpoint(db: str, recipient: str, url: str) -> None:
    """Register (or replace) a recipient's endpoint; prints its signing secret once."""
    from truceline.services.guarantees import register_endpoint
    from truceline.services.ports import system_clock

    click.echo(register_endpoint(open_store(db), recipient, url, system_clock()))


@notify.command("list")
@db_option
@handle_errors
def list_cmd(db: str) -> None:
    """Every notification with its state now (JSON lines), then the overdue summary."""
    from truceline.services.guarantees import awaiting_lines, states
    from truceline.services.ports import system_clock

    store = open_store(db)
    now = system_clock()
    for s in states(store, now):
        click.echo(json.dumps(s, sort_keys=True, ensure_ascii=False))
    for line in awaiting_lines(store, now):
        click.echo(line, err=True)
