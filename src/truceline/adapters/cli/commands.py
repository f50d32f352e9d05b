"""The core commands: init, ingest, check, findings, report, demo, settings."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

import click

from truceline.adapters.cli.group import db_option, handle_errors
from truceline.adapters.store import open_store
from truceline.errors import EXIT_PARTIAL, ValidationError


@click.command()
@db_option
@click.option(
    "--agreement",
    required=True,
    help="Agreement YAML file, or an example name (march2025, minsk2, new_start, inf2).",
)
@click.option(
    "--amend",
    is_flag=True,
    help="Load a new version of the agreement the store holds (a higher `version` in the "
    "file) as an amendment; needs --effective. Another agreement is always refused.",
)
@click.option(
    "--effective",
    metavar="YYYY-MM-DD",
    help="With --amend: the date the amendment is effective from (recorded in its entry).",
)
@handle_errors
def init(db: str, agreement: str, amend: bool, effective: str | None) -> None:
    """Create the store (if needed) and load an agreement version into it.

    A store holds one agreement: loading another is refused (exit 73) and changes nothing;
    a new version of the same agreement needs --amend --effective YYYY-MM-DD.
    """
    from datetime import date

    from truceline.adapters.agreement_files import load_agreement_file  # YAML: init only
    from truceline.services.record import initialize_store  # here: only init needs it

    try:
        eff = None if effective is None else date.fromisoformat(effective)
    except ValueError:
        raise ValidationError("not a date (YYYY-MM-DD)", field="effective") from None
    ag, doc = load_agreement_file(agreement)
    store = open_store(db, create=True)

    version = initialize_store(store, doc, amend=amend, effective=eff)
    what = f"document version {ag.version}, amendment effective {eff}; " if amend else ""
    click.echo(f"{db}: agreement {ag.id} version {version} ({what}{len(ag.provisions)} provisions)")


@click.command()
@db_option
@click.argument("files", nargs=-1, required=True)
@click.option(
    "--format",
    "fmt",
    default="auto",
    show_default=True,
    type=click.Choice(["auto", "jsonl", "csv", "geojson", "ucdp", "cir", "newstart", "odk-csv",
                       "odk-json", "kobo-csv", "kobo-json", "acled", "osce-smm"]),
    help="Input format; auto goes by the file extension.",
)
@click.option(
    "--on-invalid",
    type=click.Choice(["raise", "skip"]),
    default="raise",
    show_default=True,
    help="raise: stop at the first bad record (exit 65). skip: report each bad record, store "
    "the rest, and exit 4 if any was rejected (0 if none; rows an importer skips on purpose, "
    "e.g. a blank New START value, are listed as skipped and are not rejections).",
)
@click.option(
    "--actors",
    type=click.Path(exists=True, dir_okay=False),
    help="ACLED: a CSV table (columns actor, party) saying which party each ACLED actor is.",
)
@click.option(
    "--sign-for-accounts",
    "key_dir",
    type=click.Path(file_okay=False),
    help="ODK/Kobo exports: sign each unsigned submission as its account with a key the "
    "server holds in this directory (created and registered on first use; the key's record "
    "entry says the server holds it).",
)
@click.option(
    "--require-signatures/--allow-unsigned",
    default=False,
    show_default=True,
    help="Refuse unsigned observations even from sources without a registered key "
    "(a source with a registered key must always sign).",
)
@handle_errors
def ingest(
    db: str, files: tuple[str, ...], fmt: str, on_invalid: str, require_signatures: bool,
    actors: str | None = None, key_dir: str | None = None,
) -> None:
    """Validate observations and store them (idempotent by observation id).

    Files are UTF-8 (a byte-order mark is dropped), or UTF-16/UTF-32 with a byte-order mark;
    UCDP and CIR files may also be cp1252. Any other file is refused whole (exit 65).
    Exit 0: everything stored or already stored; 4: --on-invalid skip rejected some records
    and stored the rest; 65 and up: an error (see docs/observations.md).
    """
    from datetime import timedelta

    from rich.console import Console  # here: ~0.1 s to import, which only ingest needs
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from truceline.adapters.importers import read_records
    from truceline.services.ingest import ingest as run_ingest
    from truceline.settings import Settings

    acled = None
    if actors is not None:  # read (and checked) before anything is stored
        from truceline.adapters.importers.acled import read_actor_table, reader
        acled = reader(read_actor_table(actors))
    store = open_store(db)
    err = Console(stderr=True)
    tolerance = timedelta(minutes=Settings().future_tolerance_minutes)
    total_added = total_dup = total_rej = total_skip = total_copies = 0
    for path in files:
        if not Path(path).exists() and path != "-":
            raise ValidationError(f"file not found: {path}", field="files")
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed} records"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
            disable=not err.is_terminal,
        ) as bar:
            task = bar.add_task(f"ingest {Path(path).name}", total=None)

            def advance(n: int, t: Any = task) -> None:
                bar.advance(t, n)

            # raise mode: the file in one transaction, so a bad row anywhere stores nothing
            # of it (skip mode stores the good rows and reports the rest)
            with store.atomic() if on_invalid == "raise" else contextlib.nullcontext():
                records = read_records(path, None if fmt == "auto" else fmt, acled=acled)
                if key_dir is not None:
                    from truceline.services.account_keys import sign_for_accounts
                    records = sign_for_accounts(store, records, Path(key_dir),
                                                on_invalid=on_invalid)  # type: ignore[arg-type]
                rep = run_ingest(
                    store,
                    records,
                    on_invalid=on_invalid,  # type: ignore[arg-type]
                    progress=advance,
                    require_signatures=require_signatures,
                    future_tolerance=tolerance,
                )
        rejected = [r for r in rep.rejected if not r.deliberate]
        skipped = [r for r in rep.rejected if r.deliberate]
        for r in rep.rejected:  # in file order; a skipped row is reported, never an error
            if r.deliberate:
                where = f"line {r.line}" if r.line is not None else "record"
                reason = r.reason.removeprefix("skipped: ")
                click.echo(f"skipped {path}: {where}: {r.field or '(record)'}: {reason}", err=True)
            else:
                click.echo(f"rejected {path}: {r}", err=True)
        counts = _counts(rep.added, rep.duplicates, len(rejected), len(skipped), rep.copies)
        click.echo(f"{path}: {counts}")
        total_copies += rep.copies
        total_added += rep.added
        total_dup += rep.duplicates
        total_rej += len(rejected)
        total_skip += len(skipped)
    if len(files) > 1:
        counts = _counts(total_added, total_dup, total_rej, total_skip, total_copies)
        click.echo(f"total: {counts}")
    if total_rej:
        sys.exit(EXIT_PARTIAL)


def _counts(added: int, duplicates: int, rejected: int, skipped: int, copies: int = 0) -> str:
    """``N added, N already stored, N rejected`` (and ``, N skipped`` when an importer did,
    ``, N linked as resubmitted copies`` when ingest linked any)."""
    out = f"{added} added, {duplicates} already stored, {rejected} rejected"
    out += f", {skipped} skipped" if skipped else ""
    return out + (f", {copies} linked as resubmitted copies" if copies else "")


@click.command()
@db_option
@handle_errors
def check(db: str) -> None:
    """Evaluate every provision against the stored evidence and store the findings; then
    the notifications the guarantee clauses call for (delivered by `notify deliver`)."""
    from truceline.adapters.kernels import compiled_apart
    from truceline.adapters.runtime import paused_collection, skip_exit_collection
    from truceline.services.check import run_check
    from truceline.services.guarantees import notify
    from truceline.services.ports import system_clock

    # without the cyclic collector: a month's check makes millions of objects (columns'
    # pages, incidents, findings, their records), freed by reference counting or kept to
    # the end, and each full pass walked all of them (BENCHMARKS.md, session 17, hE)
    with paused_collection():
        compiled_apart()  # a first check's compiling, in a process apart (see the module)
        store = open_store(db)
        try:
            res = run_check(store)
            # the incremental check gives the findings it judged again, a check by day
            # parts their heads (what notifications read); the store holds all
            found = res.findings if res.complete else \
                res.heads if res.heads is not None else store.findings()
            made = notify(store, system_clock(), found)
        finally:
            # closed, so that the check copies its write-ahead log into the file and
            # removes it: left behind, the next process to open the store (the first
            # report after a check) read all of it and copied it back (BENCHMARKS.md,
            # session 34, hC)
            store.close()
    skip_exit_collection()
    counts: dict[str, int] = {}
    for f in found:
        counts[f.verdict.value] = counts.get(f.verdict.value, 0) + 1
    summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
    click.echo(
        f"{len(found)} findings ({summary}); {res.incidents} incidents; "
        f"{res.new_entries} new record entries"
        + (f"; {len(made.created)} notifications" if made.created else "")
    )


@click.command()
@db_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "csv", "geojson", "text"]),
    default="text",
    show_default=True,
)
@click.option("--out", type=click.Path(dir_okay=False), help="Write here instead of stdout.")
@handle_errors
def findings(db: str, fmt: str, out: str | None) -> None:
    """Print the stored findings (deterministic: same data, same bytes)."""
    from truceline.adapters.render.findings import render_findings

    text = render_findings(open_store(db).findings(), fmt)
    if out:
        Path(out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


@click.command()
@db_option
@click.option(
    "--date",
    "day",
    required=True,
    help="Reporting date YYYY-MM-DD (local): the period ends at the reporting time on this date.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    help="report.html, report.md or report.pdf.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["html", "md", "pdf"]), default=None,
    help="html (map embedded), md (map as a PNG beside it) or pdf (the HTML printed by "
    "headless Chromium, TRUCELINE_CHROMIUM); default: by --out's extension, which must agree.",
)
@click.option(
    "--period", type=click.Choice(["day", "weekend", "week", "custom"]), default="day",
    show_default=True,
    help="The reporting periods covered, ending on --date: one, two (a weekend report), "
    "seven (a weekly report), or from --from (custom).",
)
@click.option("--from", "first", metavar="YYYY-MM-DD",
              help="With --period custom: the first reporting date.")
@click.option("--sector", help="A thematic report on one sector (its id or name).")
@click.option("--provision", help="A thematic report on one provision's findings (its id).")
@click.option("--party", help="A thematic report on one party's findings (its id).")
@handle_errors
def report(db: str, day: str, out: str, fmt: str | None, period: str, first: str | None,
           sector: str | None, provision: str | None, party: str | None) -> None:
    """Write a report (HTML with a map, Markdown or PDF) for a day, a weekend, a week or any
    run of reporting periods.

    On everything, or on one sector, provision or party (a thematic report)."""
    from truceline.adapters.runtime import paused_collection, skip_exit_collection

    with paused_collection():  # its objects are freed by reference counting or kept to the end
        from truceline.adapters.render.report import check_out, write_report
        from truceline.services.report import period_report
        from truceline.settings import Settings

        check_out(Path(out), fmt)
        store = open_store(db)
        try:
            rep = period_report(store, period, day, first, sector=sector, provision=provision,
                                party=party)
        finally:
            store.close()
        paths = write_report(rep, Path(out), chromium=Settings().chromium)
    skip_exit_collection()
    for p in paths:
        click.echo(f"wrote {p}")


@click.command()
@click.option(
    "--out",
    default="truceline-demo",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Directory for the demo's database and report.",
)
@click.option("--scale", default=0.3, show_default=True,
              help="Size of the simulated day (1.0 = a busy day on the whole line).")
@click.option("--sample-only", is_flag=True, help="Only the 23 shipped sample observations.")
@handle_errors
def demo(out: str, scale: float, sample_only: bool) -> None:
    """The whole path on the March 2025 example: a simulated day plus the shipped sample."""
    from truceline.adapters.agreement_files import example_path
    from truceline.adapters.demo import run_demo

    result = run_demo(
        Path(out),
        example_path("march2025"),
        example_path("march2025").parent / "march2025_sample.jsonl",
        echo=click.echo,
        simulate_scale=None if sample_only else scale,
    )
    click.echo(f"\nreport: {result.report_html}\nfindings: {result.findings_path}")


@click.command()
def settings() -> None:
    """List every setting, its environment variable, default and meaning."""
    from truceline.settings import settings_table

    for name, env, default, help_ in settings_table():
        click.echo(f"{name:24} {env:34} {default:28} {help_}")
