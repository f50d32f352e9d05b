"""``truceline form``: the field form (XLSForm) for an agreement, checked by pyxform."""

from __future__ import annotations

from pathlib import Path

import click

from truceline.adapters.cli.group import handle_errors


@click.command()
@click.option("--agreement", required=True,
              help="Agreement YAML file, or an example name (march2025, minsk2, ...).")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Where to write the XLSForm (.xlsx) to upload to ODK Central or KoboToolbox.")
@click.option("--xform", type=click.Path(dir_okay=False),
              help="Also write the XForm XML pyxform made of it.")
@handle_errors
def form(agreement: str, out: str, xform: str | None) -> None:
    """Write the field form (XLSForm) for an agreement, validated by pyxform.

    Its questions are the observation's fields and its choices the taxonomy's, the weapon
    catalogue's and the agreement's parties; `ingest` reads its ODK Central and KoboToolbox
    exports (docs/importers.md). The file is written only if pyxform accepts it.
    """
    from truceline.adapters.agreement_files import load_agreement_file
    from truceline.adapters.forms import build_xlsform, form_id, form_version, to_xform

    ag, _ = load_agreement_file(agreement)
    data = build_xlsform(ag)
    xml = to_xform(data)  # refuses before anything is written
    Path(out).write_bytes(data)
    if xform:
        Path(xform).write_text(xml, encoding="utf-8")
    click.echo(f"{out}: form {form_id(ag)} version {form_version(ag)} for agreement {ag.id} "
               "(pyxform: converts without errors)")
