"""Settings of the entry points (API, serve, demo), read from ``GONGSHENG_*`` environment variables.

The token signing key comes from ``GONGSHENG_SECRET_KEY``. Outside production mode, when it is
not set, a random key is generated once and stored beside the SQLite database (``<db>.secret``,
mode 0600; for a server database, ``.gongsheng-secret`` in the working folder), so that every
worker and every restart signs with the same key. In production mode (``GONGSHENG_MODE=production``)
a missing key is refused: no default secret ever signs a production token.

The configured key is never used as is: each database signs with a key derived from it and the
database's own random id (:func:`gongsheng.entrypoints.api.auth.database_key`), so databases
sharing a working folder (and so a key file) do not accept one another's tokens.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from gongsheng.adapters.database import database_url, sqlite_path
from gongsheng.domain.errors import InvalidInput

DEMO_DB_FILE = "gongsheng-demo.db"
"""The database ``gongsheng demo`` makes in the working folder, and ``serve`` prefers."""

MIN_SECRET = 32


class Settings(BaseSettings):
    """Everything the entry points read from the environment."""

    model_config = SettingsConfigDict(env_prefix="GONGSHENG_", extra="ignore")

    db: str | None = None
    mode: Literal["dev", "demo", "production"] = "dev"
    secret_key: SecretStr | None = None
    token_minutes: int = Field(default=8 * 60, ge=1, le=30 * 24 * 60)
    pay_code_minutes: int = Field(default=5, ge=1, le=60)  # how long a consumer's pay code lives
    demo_password: SecretStr | None = None
    """The demo admin's password (every other demo login gets its own random one)."""
    sign_in_limit_per_address: str = "30/minute"
    """Sign-in attempts one address may make (``limits`` notation: ``N/minute``, ``N per 15 minutes``)."""
    sign_in_failures_per_username: str = "10 per 15 minutes"
    """Failed sign-ins one username may take before it is refused until the window moves on."""
    sign_up_limit_per_address: str = "10/hour"
    """Anonymous sign-ups one address may make."""
    api_key_rate_limit: str = "600/minute"
    """Requests one integration key may make (a key's own ``rate_limit``, set when it is issued,
    replaces it: a busy payment gateway may need more, a terminal far less)."""
    rate_limit_storage: str = "memory://"
    """Where rate limits count (``memory://``: per process; a ``limits`` URI such as ``redis://``
    shares them between worker processes)."""

    attestation_key_file: Path = Path("gongsheng-attestation.key")
    """The Ed25519 key signing compliance attestations (made on first use, mode 0600; the public
    key is published beside it as ``<file>.pub``)."""

    # --- integration: webhooks (GONGSHENG_WEBHOOKS_*) ---
    webhooks_allow_private: bool = False  # allow targets in private / loopback ranges
    webhooks_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    webhooks_lease_seconds: float = Field(default=60.0, gt=0, le=3600)
    webhooks_retry_base_seconds: float = Field(default=5.0, gt=0, le=3600)
    webhooks_retry_cap_seconds: float = Field(default=4 * 3600.0, gt=0, le=7 * 86400)
    webhooks_retry_window_seconds: float = Field(default=86400.0, gt=0, le=30 * 86400)
    webhooks_secret_grace_seconds: float = Field(default=86400.0, ge=0, le=30 * 86400)
    webhooks_poll_seconds: float = Field(default=0.5, gt=0, le=60)
    # --- end integration ---

    @property
    def production(self) -> bool:
        return self.mode == "production"

    def secret(self, url: str | None = None) -> str:
        """The token signing key for the database at ``url`` (see the module docstring)."""
        if self.secret_key is not None:
            value = self.secret_key.get_secret_value()
            if len(value) < MIN_SECRET:
                raise InvalidInput(f"GONGSHENG_SECRET_KEY must have at least {MIN_SECRET} characters")
            return value
        if self.production:
            raise InvalidInput("production mode needs GONGSHENG_SECRET_KEY (at least "
                               f"{MIN_SECRET} characters); refusing to sign tokens without it")
        return stored_secret(secret_file(database_url(url or self.db)))


def secret_file(url: str) -> Path:
    """Where a generated key for the database at ``url`` is kept."""
    path = sqlite_path(url)
    if path is None:
        return Path.cwd() / ".gongsheng-secret"
    return path.with_name(path.name + ".secret")


def stored_secret(path: Path) -> str:
    """The key in ``path``, generated (atomically, mode 0600) when the file does not exist yet."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        value = path.read_text("utf-8").strip()
        if len(value) >= MIN_SECRET:
            return value
        raise InvalidInput(f"the key file {path} is damaged; delete it to generate a new key") from None
    value = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(value + "\n")
    return value


def serve_database(db: str | None, settings: Settings | None = None) -> str:
    """The database ``serve`` uses: ``--db``, else ``GONGSHENG_DB``, else the demo file if present."""
    chosen = db or (settings or Settings()).db
    if chosen:
        return database_url(chosen)
    if Path(DEMO_DB_FILE).exists():
        return f"sqlite:///{DEMO_DB_FILE}"
    return database_url(None)
