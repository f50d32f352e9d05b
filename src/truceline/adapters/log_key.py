"""The log's private key outside the store: an encrypted key file, or an outside signer.

A key file is JSON (``format`` ``truceline-log-key/v1``): the public key (``vkey``, so a
wrong key is told apart from a wrong passphrase), the Argon2id parameters and salt, and the
C2SP private key string sealed with libsodium's secretbox (XSalsa20-Poly1305) under the key
Argon2id derives from the passphrase. The file is created with mode 0600 and never
overwritten; one that the group or others may read is refused before anything is decrypted.

An outside signer is a command (an HSM's or KMS's client, a signing host over ssh) that reads
a checkpoint's text on stdin and writes the Ed25519 signature, base64, on stdout. Its answer
is checked against its public key here and against the store's registered key by
:func:`truceline.services.record.publish_checkpoint` before anything is stored.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import shlex
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import nacl.exceptions
import nacl.pwhash
import nacl.secret
import nacl.utils

from truceline.core.record import signing
from truceline.core.record.note import ALG_ED25519, Signer, Verifier
from truceline.errors import ConfigError, SignatureError, TrucelineError, ValidationError
from truceline.services.record import KeySigner, LogSigner
from truceline.settings import Settings

FORMAT = "truceline-log-key/v1"
_KDF = nacl.pwhash.argon2id
#: Argon2id cost levels (libsodium's): ``moderate`` (256 MiB) is the default; the demo, whose
#: passphrase is printed anyway, uses ``interactive`` (64 MiB).
LEVELS = {
    "interactive": (_KDF.OPSLIMIT_INTERACTIVE, _KDF.MEMLIMIT_INTERACTIVE),
    "moderate": (_KDF.OPSLIMIT_MODERATE, _KDF.MEMLIMIT_MODERATE),
    "sensitive": (_KDF.OPSLIMIT_SENSITIVE, _KDF.MEMLIMIT_SENSITIVE),
}
#: How long an outside signer may take before it is given up on (a hang guard).
SIGNER_TIMEOUT_S = 60


def check_private(path: Path, field: str) -> None:
    """Refuse a secret file that is not a regular file or that others may read."""
    try:
        st = path.stat()
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror}", field=field) from None
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError(f"{path} is not a regular file", field=field)
    if st.st_mode & 0o077:
        raise ConfigError(
            f"{path} has mode {stat.S_IMODE(st.st_mode):04o}: the group or others "
            f"may read it; make it 0600 (chmod 600 {path})",
            field=field,
        )


def _derive(passphrase: bytes, salt: bytes, ops: int, mem: int) -> bytes:
    return _KDF.kdf(nacl.secret.SecretBox.KEY_SIZE, passphrase, salt, opslimit=ops, memlimit=mem)


def write_key_file(path: Path, key: Signer, passphrase: bytes, level: str = "moderate") -> None:
    """Seal ``key`` under ``passphrase`` into a new file (mode 0600, never overwritten)."""
    if not passphrase:
        raise ConfigError("the log key's passphrase is empty", field="log_key_passphrase")
    ops, mem = LEVELS[level]
    salt = nacl.utils.random(_KDF.SALTBYTES)
    box = nacl.secret.SecretBox(_derive(passphrase, salt, ops, mem))
    doc = {
        "format": FORMAT,
        "vkey": key.verifier().to_vkey(),
        "kdf": "argon2id",
        "opslimit": ops,
        "memlimit": mem,
        "salt": base64.b64encode(salt).decode(),
        "secretbox": base64.b64encode(bytes(box.encrypt(key.to_skey().encode()))).decode(),
    }
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ValidationError(f"{path} exists; not overwriting a key", field="out") from None
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(json.dumps(doc, indent=1) + "\n")


def key_file_vkey(path: Path) -> str:
    """The public key a key file is for (no passphrase needed)."""
    return _parse(path)["vkey"]


def _parse(path: Path) -> dict[str, str]:
    check_private(path, "log_key_file")
    bad = ConfigError(f"{path} is not a truceline log key file ({FORMAT})", field="log_key_file")
    try:
        doc = json.loads(path.read_bytes())
    except (ValueError, RecursionError):
        raise bad from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("kdf") != "argon2id":
        raise bad
    for k in ("vkey", "salt", "secretbox"):
        if not isinstance(doc.get(k), str):
            raise bad
    for k in ("opslimit", "memlimit"):
        if type(doc.get(k)) is not int:
            raise bad
    return doc


def read_key_file(path: Path, passphrase: bytes) -> Signer:
    """Open a key file: the log's private key, checked against the public key it names."""
    doc = _parse(path)
    ops, mem = int(doc["opslimit"]), int(doc["memlimit"])
    lo_ops, lo_mem = LEVELS["interactive"]
    hi_ops, hi_mem = LEVELS["sensitive"]
    if not (lo_ops <= ops <= hi_ops and lo_mem <= mem <= hi_mem):
        raise ConfigError(
            f"{path}: Argon2id parameters outside libsodium's interactive..sensitive levels",
            field="log_key_file",
        )
    try:
        salt = base64.b64decode(doc["salt"], validate=True)
        sealed = base64.b64decode(doc["secretbox"], validate=True)
        skey = nacl.secret.SecretBox(_derive(passphrase, salt, ops, mem)).decrypt(sealed)
    except (binascii.Error, ValueError, nacl.exceptions.CryptoError):
        raise ConfigError(
            f"cannot open {path}: wrong passphrase, or the file is damaged",
            field="log_key_passphrase",
        ) from None
    try:
        key = Signer.from_skey(skey.decode("ascii"))
    except (UnicodeDecodeError, TrucelineError):
        raise ConfigError(f"{path} holds no valid key", field="log_key_file") from None
    if key.alg != ALG_ED25519 or key.verifier().to_vkey() != doc["vkey"]:
        raise ConfigError(
            f"{path}: the sealed key is not the key its vkey names", field="log_key_file"
        )
    return key


def passphrase(settings: Settings) -> bytes:
    """The key file's passphrase: ``TRUCELINE_LOG_KEY_PASSPHRASE``, or the first line of
    ``TRUCELINE_LOG_KEY_PASSPHRASE_FILE`` (mode 0600); exactly one of them."""
    given, path = settings.log_key_passphrase, settings.log_key_passphrase_file
    if (given is None) == (path is None):
        raise ConfigError(
            "give the log key's passphrase in exactly one of "
            "TRUCELINE_LOG_KEY_PASSPHRASE and TRUCELINE_LOG_KEY_PASSPHRASE_FILE",
            field="log_key_passphrase",
        )
    if given is not None:
        text = given.get_secret_value()
    else:
        p = Path(str(path))
        check_private(p, "log_key_passphrase_file")
        lines = p.read_text(encoding="utf-8").splitlines()
        text = lines[0] if lines else ""
    if not text:
        raise ConfigError("the log key's passphrase is empty", field="log_key_passphrase")
    return text.encode("utf-8")


@dataclass(frozen=True)
class CommandSigner:
    """A :class:`~truceline.services.record.LogSigner` that asks a command for signatures."""

    argv: tuple[str, ...]
    vkey: str

    def verifier(self) -> Verifier:
        try:
            return Verifier.from_vkey(self.vkey)
        except ValidationError as e:
            raise ConfigError(f"not a vkey: {e.message}", field="log_signer_vkey") from None

    def sign(self, message: bytes) -> bytes:
        try:
            done = subprocess.run(
                self.argv, input=message, capture_output=True, timeout=SIGNER_TIMEOUT_S, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            raise ConfigError(
                f"the log signer command failed: {e}", field="log_signer_command"
            ) from None
        if done.returncode != 0:
            why = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise ConfigError(
                f"the log signer command exited {done.returncode}" + (f": {why[0]}" if why else ""),
                field="log_signer_command",
            )
        try:
            sig = base64.b64decode(done.stdout.strip(), validate=True)
            signing.verify(self.verifier().public_key, message, sig)
        except (binascii.Error, ValueError, SignatureError):
            raise SignatureError(
                "the log signer command's answer is not a valid signature "
                "by TRUCELINE_LOG_SIGNER_VKEY; nothing was signed",
                field="log_signer_command",
            ) from None
        return sig


def load_log_signer(settings: Settings) -> LogSigner:
    """The log's signer as the settings say: an outside command, else the key file."""
    if settings.log_signer_command:
        if not settings.log_signer_vkey:
            raise ConfigError(
                "an outside signer needs its public key in TRUCELINE_LOG_SIGNER_VKEY",
                field="log_signer_vkey",
            )
        argv = tuple(shlex.split(settings.log_signer_command))
        if not argv:
            raise ConfigError("is empty", field="log_signer_command")
        return CommandSigner(argv, settings.log_signer_vkey)
    if not settings.log_key_file:
        raise ConfigError(
            "no log key: set TRUCELINE_LOG_KEY_FILE (make one with `truceline "
            "record log-keygen`) or TRUCELINE_LOG_SIGNER_COMMAND",
            field="log_key_file",
        )
    return KeySigner(read_key_file(Path(settings.log_key_file), passphrase(settings)))
