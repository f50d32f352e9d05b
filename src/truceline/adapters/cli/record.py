"""`truceline record ...` and `truceline sign`: the record's commands (parse, call, render).

Every check a party runs on its own machine is here: verify a store, check a printed proof
against a checkpoint, run a witness, replay the findings from exported tiles.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import time
from pathlib import Path

import click

from truceline.adapters.cli.group import db_option, handle_errors
from truceline.adapters.cli.log_keys import log_keygen, migrate_log_key
from truceline.adapters.store import open_store
from truceline.core.observations import parse_observation
from truceline.core.record.note import ALG_COSIGNATURE_V1, ALG_ED25519, Signer
from truceline.core.record.tiles import TileReader
from truceline.errors import IntegrityError, ValidationError
from truceline.services import keys, submissions, witnesses
from truceline.services import record as svc

ROLE = click.Choice(list(keys.ROLES))


def _read_dir(root: Path) -> svc.TileRead:
    def read(path: str) -> bytes:
        return (root / path).read_bytes()

    return read


def _write_private(path: Path, text: str) -> None:
    """Create a file only the owner can read; never overwrite a key."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ValidationError(f"{path} exists; not overwriting a key", field="out") from None
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def _write_atomic(path: Path, data: bytes) -> None:
    """Write via a synced temporary file and a rename: a crash leaves old or new, never half."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


@click.group()
def record() -> None:
    """The tamper-evident record: checkpoints, proofs, witnesses, verify, export, replay."""


record.add_command(log_keygen)
record.add_command(migrate_log_key)


@record.command()
@db_option
@handle_errors
def checkpoint(db: str) -> None:
    """Sign and store a checkpoint of the record with the log's key (TRUCELINE_LOG_KEY_FILE
    or TRUCELINE_LOG_SIGNER_COMMAND; the key's name is the origin)."""
    from truceline.adapters.log_key import load_log_signer
    from truceline.settings import Settings

    signer = load_log_signer(Settings())
    note = svc.publish_checkpoint(open_store(db), signer, int(time.time()))
    sys.stdout.write(note.decode("utf-8"))


@record.command()
@db_option
@handle_errors
def vkey(db: str) -> None:
    """Print the log's verifier key: what a party needs to check checkpoints and replay."""
    click.echo(svc.log_verifier(open_store(db)).to_vkey())


@record.command()
@db_option
@handle_errors
def verify(db: str) -> None:
    """Re-hash every entry and check tree, checkpoints and rows; non-zero on any problem."""
    from truceline.services import verify as audit  # re-derives: imports fusion (numba, scipy)

    store = open_store(db)
    rep = audit.verify_record(store)
    if rep.ok:
        final = witnesses.final_checkpoint(store) if store.checkpoints() else None
        trust = (f"; checkpoint {final[0].size} cosigned by the parties' quorum" if final
                 else "; no checkpoint cosigned by the parties' quorum yet (internal consistency"
                      " only)")
        click.echo(f"record ok: {rep.size} entries, {rep.checkpoints} checkpoints, "
                   f"root {rep.root.hex()}{trust}")
        if rep.plaintext:
            click.echo(f"note: {rep.plaintext} entries were stored in plaintext, before entries "
                       "committed to their private fields; exported tiles carry their content "
                       "(docs/record.md, 'Stores from before commitments')")
        from truceline.services.verify_access import withheld

        if held := withheld(store):
            click.echo(f"note: this store holds only the hash of: {', '.join(held)} (a mirror "
                       "rebuilt from the log: it delivers no webhooks and makes no pseudonyms)")
        return
    for p in rep.problems:
        click.echo(str(p), err=True)
    first = rep.first
    assert first is not None
    raise IntegrityError(f"the record does not verify ({len(rep.problems)} problems); first: "
                         f"{first}", field="entry", index=first.index)


@record.command("adopt-access")
@db_option
@handle_errors
def adopt_access(db: str) -> None:
    """Record, once, the API keys, endpoints, pseudonym secret and outbox state of a store made
    before they were recorded, each row as it stands (run `record verify` first)."""
    from truceline.services.verify_access import adopt

    done = adopt(open_store(db))
    click.echo(f"recorded {len(done.api_keys)} API keys, {len(done.endpoints)} endpoints, "
               f"{'the' if done.pseudonym_secret else 'no'} pseudonym secret and "
               f"{len(done.deliveries)} outbox rows")


@record.command()
@db_option
@click.option("--index", type=int, help="Entry to prove included.")
@click.option("--size", type=int, help="Tree size (default: the latest checkpoint's).")
@click.option("--consistency", nargs=2, type=int, metavar="A B",
              help="Prove the tree of size B extends the tree of size A.")
@handle_errors
def proof(db: str, index: int | None, size: int | None,
          consistency: tuple[int, int] | None) -> None:
    """Print an inclusion or consistency proof as JSON (check it with `record check-proof`)."""
    store = open_store(db)
    if consistency:
        doc = svc.consistency_document(store, *consistency)
    elif index is not None:
        doc = svc.inclusion_document(
            store, index, size if size is not None else svc.latest_checkpoint(store)[0].size)
    else:
        raise ValidationError("give --index or --consistency A B", field="index")
    click.echo(json.dumps(doc, indent=1))


@record.command("check-proof")
@click.argument("proof_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--checkpoint", "checkpoints", multiple=True, required=True,
              type=click.Path(exists=True, dir_okay=False),
              help="A signed checkpoint you trust (twice for a consistency proof).")
@click.option("--log-vkey", required=True, help="The log's verifier key (its name is the origin).")
@handle_errors
def check_proof(proof_file: str, checkpoints: tuple[str, ...], log_vkey: str) -> None:
    """Verify a printed proof offline against signed checkpoints."""
    try:
        doc = json.loads(Path(proof_file).read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValidationError(f"not JSON: {e.msg}", field="proof") from None
    notes = [Path(c).read_bytes() for c in checkpoints]
    click.echo("ok: " + svc.check_proof(doc, notes, log_vkey))


@record.command()
@click.option("--state", required=True, type=click.Path(dir_okay=False),
              help="This witness's state file (created on first run).")
@click.option("--key", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The witness's private key (from `record keygen --witness`).")
@click.option("--log-vkey", required=True, help="The log's verifier key.")
@click.option("--db", help="Witness the log in this store and store the cosignature there.")
@click.option("--tiles", type=click.Path(exists=True, file_okay=False),
              help="Witness an exported (mirrored) log; the cosignature is printed.")
@click.option("--submit", metavar="URL",
              help="With --tiles: POST the cosignature to the log's API at URL.")
@handle_errors
def witness(state: str, key: str, log_vkey: str, db: str | None, tiles: str | None,
            submit: str | None) -> None:
    """Check the latest checkpoint extends the last one seen, cosign it, keep the state.

    The state file is a regular file (or absent): anything else (a device, a directory, a
    symlink) is refused before any work. The state advances only once the cosignature
    exists: with --db, after the store accepted it (a key the store has not registered as a
    witness key is refused first); with --submit, after the API accepted it."""
    if (db is None) == (tiles is None):
        raise ValidationError("give exactly one of --db and --tiles", field="db")
    if submit is not None and tiles is None:
        raise ValidationError("--submit sends what --tiles witnessed; give --tiles",
                              field="submit")
    signer = Signer.from_skey(Path(key).read_text(encoding="utf-8").strip())
    state_path = Path(state)
    exists = _regular_or_absent(state_path, "state")
    old = witnesses.witness_state_from_json(  # undecodable bytes: refused as not a state
        state_path.read_bytes().decode("utf-8", "replace") if exists else None)
    if db is not None:
        store = open_store(db)
        witnesses.check_registered(store, signer.verifier())
        _, note = svc.latest_checkpoint(store)
        sig, new = witnesses.run_witness(old, note, store.get_node, log_vkey, signer,
                                         int(time.time()))
        witnesses.add_cosignature(store, new.size, sig.line().rstrip("\n"))
        click.echo(f"cosigned checkpoint {new.size} and stored the cosignature", err=True)
    else:
        read = _read_dir(Path(tiles or "."))
        note = read("checkpoint")
        cp = svc.open_log_checkpoint(note, log_vkey)
        reader = TileReader(read, cp.size).get_node
        sig, new = witnesses.run_witness(old, note, reader, log_vkey, signer, int(time.time()))
        if submit is not None:
            from truceline.adapters.cli.submit import post_cosignature

            click.echo(post_cosignature(submit, new.size, sig.line().rstrip("\n")), err=True)
    _write_atomic(state_path, witnesses.witness_state_to_json(new).encode())
    click.echo(sig.line().rstrip("\n"))


def _regular_or_absent(path: Path, field: str) -> bool:
    """Whether ``path`` exists as a regular file; ValidationError if it is anything else
    (renaming a temporary file over a device or a symlink would replace it)."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return False
    except OSError as e:
        raise ValidationError(f"cannot read {path}: {e.strerror}", field=field) from None
    if not stat.S_ISREG(mode):
        raise ValidationError(f"{path} is not a regular file (nothing was cosigned)",
                              field=field)
    return True


@record.command()
@click.option("--name", required=True, help="Key name (no spaces or '+'), e.g. the source id.")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Where to write the private key (mode 0600, never overwritten).")
@click.option("--witness", is_flag=True, help="A witness's cosignature/v1 key.")
@handle_errors
def keygen(name: str, out: str, witness: bool) -> None:
    """Make an Ed25519 key: writes the private key, prints the public vkey to register."""
    signer = Signer(name, os.urandom(32), ALG_COSIGNATURE_V1 if witness else ALG_ED25519)
    _write_private(Path(out), signer.to_skey() + "\n")
    click.echo(signer.verifier().to_vkey())


@record.command("register-key")
@db_option
@click.option("--owner", required=True, help="Source id (monitor, sensor) or party id.")
@click.option("--role", required=True, type=ROLE)
@click.option("--public-key", required=True, help="The vkey from `record keygen`, or base64.")
@handle_errors
def register_key(db: str, owner: str, role: str, public_key: str) -> None:
    """Register a public key (weak keys are refused); it is recorded as an entry."""
    click.echo(keys.register_source_key(open_store(db), owner, role, public_key))


@record.command("revoke-key")
@db_option
@click.option("--key-id", required=True, help="The key id printed at registration.")
@handle_errors
def revoke_key(db: str, key_id: str) -> None:
    """Revoke a key: its signatures are refused from now on (recorded as an entry)."""
    keys.revoke_source_key(open_store(db), key_id)
    click.echo(f"revoked {key_id}")


@record.command()
@db_option
@click.option("--quorum", type=int, help="Parties needed (default: the agreement's quorum).")
@handle_errors
def final(db: str, quorum: int | None) -> None:
    """Print the latest checkpoint cosigned by the quorum of parties (non-zero if none)."""
    hit = witnesses.final_checkpoint(open_store(db), quorum)
    if hit is None:
        raise IntegrityError("no checkpoint has the quorum of cosignatures yet",
                             field="cosignatures")
    sys.stdout.write(hit[1].decode("utf-8"))


@record.command()
@db_option
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Directory for the tiles (serve it with any web server).")
@handle_errors
def export(db: str, out: str) -> None:
    """Write the log at its latest checkpoint as C2SP tlog-tiles."""
    from truceline.services import verify as audit

    files = audit.export_tiles(open_store(db))
    root = Path(out)
    for path, data in sorted(files.items(), key=lambda kv: kv[0] == "checkpoint"):
        p = root / path  # the checkpoint goes last: a mirror never sees it before its tiles
        p.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(p, data)
    click.echo(f"wrote {len(files)} files to {out}")


@record.command()
@db_option
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Where to write the bundle (mode 0600, never overwritten).")
@click.option("--for", "reader", required=True, metavar="ROLE[:ID]",
              help="Whose openings: analyst (every one), public, party:UA, guarantor:G, "
                   "monitor:SOURCE.")
@handle_errors
def openings(db: str, out: str, reader: str) -> None:
    """Write the openings of the record's committed fields that a reader may have (the same
    rule as GET /record/openings), for `record replay --openings`."""
    from truceline.adapters.http.auth import Principal, Role
    from truceline.adapters.http.disclosure import may_open
    from truceline.services.openings import bundle

    role_name, _, bound = reader.partition(":")
    try:
        role = Role(role_name)
    except ValueError:
        raise ValidationError(f"unknown role {role_name!r}; one of "
                              f"{', '.join(r.value for r in Role)}", field="for") from None
    if (role in (Role.ANALYST, Role.PUBLIC)) != (not bound):
        raise ValidationError("party, guarantor and monitor take an id (party:UA); analyst "
                              "and public none", field="for")
    store = open_store(db)
    doc = bundle(store, may_open(store, Principal(role, name=reader, bound=bound or None)))
    _write_private(Path(out), json.dumps(doc, ensure_ascii=False, indent=0) + "\n")
    click.echo(f"wrote {len(doc['openings'])} openings for {reader} to {out}")


@record.command()
@click.option("--tiles", "tiles_dir", required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--log-vkey", required=True, help="The log's verifier key.")
@click.option("--openings", "openings_files", multiple=True,
              type=click.Path(exists=True, dir_okay=False),
              help="Your openings bundle (`record openings`, or the pages of GET "
                   "/record/openings, each saved as a file: repeat the option); without it "
                   "only what is in clear is checked.")
@click.option("--db", help="Also rebuild a new database here (needs every opening).")
@click.option("--checkpoint", "kept", type=click.Path(exists=True, dir_okay=False),
              help="A signed checkpoint you kept earlier: refuse a log that does not extend it.")
@handle_errors
def replay(tiles_dir: str, log_vkey: str, openings_files: tuple[str, ...], db: str | None,
           kept: str | None) -> None:
    """Verify the tiles and the openings, re-derive the findings, compare with the published
    ones (with a partial bundle: those the openings allow; the rest by commitment)."""
    from truceline.services import verify as audit
    from truceline.services.openings import parse_bundle

    read = _read_dir(Path(tiles_dir))
    bundle: dict[int, dict[str, tuple[bytes, object]]] = {}
    for name in openings_files:
        try:
            page = parse_bundle(json.loads(Path(name).read_text(encoding="utf-8")))
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
            raise ValidationError(f"{name} is not JSON", field="openings") from None
        for i, ops in page.items():
            bundle.setdefault(i, {}).update(ops)
    res = audit.replay(read, log_vkey, bundle)
    if kept is not None:  # a rollback or a fork against what this party saw before
        size = res.checkpoint.size
        old = svc.check_extends(Path(kept).read_bytes(), res.checkpoint,
                                TileReader(read, size).get_node, log_vkey)
        click.echo(f"checkpoint {size} extends the checkpoint {old.size} you kept")
    click.echo(f"checkpoint {res.checkpoint.size} verified; {res.observations} observations; "
               f"{len(res.derived)} findings derived, {len(res.published)} published")
    if res.sealed:
        click.echo(f"{res.sealed} entries stay committed; {len(res.rederived)} of your findings "
                   f"re-derived, {len(res.by_commitment)} verified by commitment only")
    if db is not None:
        audit.rebuild(open_store(db, create=True), res.entries, read("checkpoint"), log_vkey,
                      res.documents, bundle)
        click.echo(f"rebuilt {db}: same root as the checkpoint")
    if not res.identical:
        for d in res.differences:
            click.echo(f"differs: {d}", err=True)
        raise IntegrityError(f"{len(res.differences)} findings differ from the published ones",
                             field="findings")
    click.echo("findings identical to the published ones" if not res.sealed else
               "no difference in what your openings show")


@click.command()
@click.option("--key", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The source's private key (from `record keygen`).")
@click.argument("infile", type=click.Path(exists=True, dir_okay=False))
@click.argument("outfile", type=click.Path(dir_okay=False))
@handle_errors
def sign(key: str, infile: str, outfile: str) -> None:
    """Sign observations (JSON lines) as their source, for `ingest --require-signatures`."""
    signer = Signer.from_skey(Path(key).read_text(encoding="utf-8").strip())
    out = []
    with open(infile, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if line.strip():
                obs = parse_observation(json.loads(line), line=n)
                out.append(json.dumps(submissions.sign_observation(obs, signer).to_record(),
                                      ensure_ascii=False) + "\n")
    _write_atomic(Path(outfile), "".join(out).encode("utf-8"))
    click.echo(f"signed {len(out)} observations into {outfile}")
