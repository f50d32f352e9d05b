"""Settings, declared once, typed and documented. Read only in entry points (CLI, HTTP app).

Every setting can be given as an environment variable ``TRUCELINE_<NAME>``; the CLI's flags win
over the environment. ``truceline settings`` prints them all with their help text.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRUCELINE_", extra="ignore")

    db: str = Field(
        "truceline.db",
        description="Where the store lives: a SQLite file path, or a postgresql:// URL.",
    )
    timezone: str = Field(
        "Europe/Kyiv",
        description="IANA zone of local time in reports (EET/EEST for Ukraine, DST applied).",
    )
    reporting_period_start: str = Field(
        "19:30",
        description="Local clock time at which a daily reporting period starts and ends (HH:MM).",
    )
    on_invalid: str = Field(
        "raise",
        description="Ingest's policy for a bad record: 'raise' stops, 'skip' reports it, goes on.",
    )
    host: str = Field("127.0.0.1", description="Address `truceline serve` binds to (loopback).")
    port: int = Field(8765, description="Port `truceline serve` listens on.")
    max_request_bytes: int = Field(
        16 * 1024 * 1024, description="Largest HTTP request body accepted, in bytes."
    )
    rate_limit_per_minute: int = Field(
        600_000, description="Requests per minute allowed per API key before 429."
    )
    dashboard_tile_url: str | None = Field(
        None,
        description="Optional raster tile URL template ({z}/{x}/{y}) for the dashboard's base "
        "map, for a mission with its own tile server; without it the map is drawn offline "
        "from the shipped outline, oblasts and places.",
    )
    redaction_grid_deg: float = Field(
        0.05, gt=0, le=1,
        description="Cell size (degrees) to which event locations are coarsened for everyone "
        "outside the mission.",
    )
    retain_memory_mb: int = Field(
        32, ge=0,
        description="Freed blocks up to this size (MiB, at most 32) stay in the process for the "
        "next batch instead of going back to the kernel (glibc only; 0 leaves the allocator "
        "alone). Costs resident memory, saves re-faulting pages (~15 % of grouping).",
    )
    future_tolerance_minutes: int = Field(
        60, ge=0,
        description="How far (minutes) an observation's time may lie after the time it is "
        "received (clock drift between a source and the server); a later time is refused at "
        "ingest (field time), since the record keeps what it accepts for good.",
    )
    chromium: str = Field(
        "/usr/bin/chromium",
        description="Headless Chromium that prints reports to PDF (`truceline report --format "
        "pdf`): a path or a command name.",
    )
    log_origin: str = Field(
        "truceline.example/log",
        description="Origin line of the record's signed checkpoints (C2SP checkpoint).",
    )
    log_key_file: str | None = Field(
        None,
        description="The log's private key: a file from `truceline record log-keygen` (mode "
        "0600, encrypted with a passphrase; never kept in the store). Signs checkpoints.",
    )
    log_key_passphrase: SecretStr | None = Field(
        None,
        description="Passphrase of the log key file (prefer an environment variable or "
        "log_key_passphrase_file over a flag).",
    )
    log_key_passphrase_file: str | None = Field(
        None,
        description="File holding the passphrase of the log key file (first line; mode 0600).",
    )
    log_signer_command: str | None = Field(
        None,
        description="Instead of a key file: a command (HSM, KMS, another host) that reads a "
        "checkpoint's text on stdin and prints its Ed25519 signature (base64) on stdout.",
    )
    log_signer_vkey: str | None = Field(
        None,
        description="The public key (C2SP vkey) of log_signer_command; every signature it "
        "returns is checked against it and against the store's registered key before use.",
    )

    notify_in_serve: bool = Field(
        False,
        description="Deliver guarantee notifications from inside `truceline serve` (a "
        "background pass every notify_interval_s, the first at start); off (the default): "
        "run `truceline notify deliver` from cron.",
    )
    notify_interval_s: float = Field(
        30.0, gt=0, le=86_400,
        description="Seconds between delivery passes inside `truceline serve`.",
    )


def settings_table() -> list[tuple[str, str, str, str]]:
    """(name, env var, default, help) for every setting: what docs and `truceline settings` show."""
    rows = []
    for name, f in Settings.model_fields.items():
        rows.append((name, f"TRUCELINE_{name.upper()}", repr(f.default), f.description or ""))
    return rows
