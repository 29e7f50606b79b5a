"""Engines and schema: SQLite (embedded default) and PostgreSQL (production), one code path.

- :func:`database_url` resolves ``--db`` / ``GONGSHENG_DB`` / the default SQLite file.
- :func:`make_engine` builds engines with ``hide_parameters=True``: an error or a log line shows
  the SQL, never the values bound to it (idempotency keys, amounts, password hashes).
  It configures each dialect for the engine's write pattern: SQLite in WAL mode
  with ``BEGIN IMMEDIATE`` (one writer at a time, no upgrade deadlocks) and foreign keys on;
  PostgreSQL through psycopg 3, every Python ``int`` sent as ``bigint`` (psycopg would otherwise
  pick int2/int4/int8 by value, so the same statement would come with ever new parameter types
  and never be prepared), no ping per checkout (connections are recycled after
  :data:`POOL_RECYCLE_SECONDS` instead).
- :func:`migrate` brings a database to the newest schema with Alembic (idempotent).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from psycopg.types.numeric import Int8BinaryDumper, Int8Dumper
from sqlalchemy import Engine, create_engine, event

DEFAULT_SQLITE_FILE = "gongsheng.db"
POOL_RECYCLE_SECONDS = 1800


def database_url(url: str | None = None) -> str:
    """The URL to use: the argument, else ``GONGSHENG_DB``, else ``sqlite:///gongsheng.db``."""
    chosen = url or os.environ.get("GONGSHENG_DB") or f"sqlite:///{DEFAULT_SQLITE_FILE}"
    if chosen.startswith("postgresql://"):
        chosen = "postgresql+psycopg://" + chosen.removeprefix("postgresql://")
    return chosen


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases or an in-memory one)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[1] if "///" in url else ""
    return Path(path) if path and path != ":memory:" else None


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine for the URL, configured for gongsheng's transactions."""
    resolved = database_url(url)
    kwargs.setdefault("hide_parameters", True)
    if resolved.startswith("sqlite"):
        engine = create_engine(resolved, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # let SQLAlchemy's begin event control transactions
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_recycle", POOL_RECYCLE_SECONDS)
    engine = create_engine(resolved, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_pg_connect(dbapi_conn: Any, _record: Any) -> None:
        for dumper in (Int8Dumper, Int8BinaryDumper):
            dbapi_conn.adapters.register_dumper(int, dumper)

    return engine


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent.parent / "migrations"))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Upgrade the database to the newest schema (creates it when empty); safe to repeat."""
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
