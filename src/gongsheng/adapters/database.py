"""Engines and schema: SQLite (embedded default) and PostgreSQL (production), one code path.

- :func:`database_url` resolves ``--db`` / ``GONGSHENG_DB`` / the default SQLite file.
- :func:`make_engine` builds engines with ``hide_parameters=True``: an error or a log line shows
  the SQL, never the values bound to it (idempotency keys, amounts, password hashes).
  It configures each dialect for the engine's write pattern: SQLite in WAL mode
  with ``BEGIN IMMEDIATE`` for writes (one writer at a time, no upgrade deadlocks), a plain
  ``BEGIN`` for connections marked :func:`read_only` (readers never block each other), foreign
  keys on;
  PostgreSQL through psycopg 3, every Python ``int`` sent as ``bigint`` (psycopg would otherwise
  pick int2/int4/int8 by value, so the same statement would come with ever new parameter types
  and never be prepared), no ping per checkout (connections are recycled after
  :data:`POOL_RECYCLE_SECONDS` instead).
- :func:`migrate` brings a database to the newest schema with Alembic (idempotent);
  :func:`schema_revisions` tells whether a database is at the head of the shipped scripts.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from psycopg.types.numeric import Int8BinaryDumper, Int8Dumper
from sqlalchemy import Connection, Engine, create_engine, event

from gongsheng.adapters.storage_errors import translate_storage_errors

R = TypeVar("R")

DEFAULT_SQLITE_FILE = "gongsheng.db"
POOL_RECYCLE_SECONDS = 1800
READ_ONLY = "gongsheng_read_only"
"""Execution option of a connection whose transactions only read (:func:`read_only`)."""
MIGRATIONS = str(Path(__file__).parent.parent / "migrations")
"""Where the Alembic environment and revision scripts are shipped."""


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


SESSION_SETTINGS = ("SET jit = off",)
"""PostgreSQL settings of every gongsheng session, made once as it connects (after whatever the
URL, ``PGOPTIONS`` or the server set; a pooled connection keeps them).

JIT compilation is off: gongsheng's statements are short, and PostgreSQL compiles a plan's JIT
code again at every execution. On a journal of millions of postings whose statistics were not
yet gathered (a bulk load, before autovacuum's analyse), the planner costed the deferred check
of each entry's balance (``gs_entry_balanced``, a few index rows) above ``jit_above_cost``, and
compiling it took about 8 ms per entry: 6 s to commit a batch of 2,000 orders, against 0.5 ms an
entry without. ``docs/operations.md`` recommends ``jit = off`` for the server as well (and for
the role behind a transaction-pooling PgBouncer, whose server connections a client's ``SET``
does not follow)."""


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
            read_only = bool(conn.get_execution_options().get(READ_ONLY))
            if conn.info.get(READ_ONLY, False) != read_only:  # toggled only when it changes
                conn.exec_driver_sql(f"PRAGMA query_only = {'ON' if read_only else 'OFF'}")
                conn.info[READ_ONLY] = read_only
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        translate_storage_errors(engine)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_recycle", POOL_RECYCLE_SECONDS)
    engine = create_engine(resolved, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_pg_connect(dbapi_conn: Any, _record: Any) -> None:
        for dumper in (Int8Dumper, Int8BinaryDumper):
            dbapi_conn.adapters.register_dumper(int, dumper)
        autocommit = dbapi_conn.autocommit
        dbapi_conn.autocommit = True
        for statement in SESSION_SETTINGS:
            dbapi_conn.execute(statement)
        dbapi_conn.autocommit = autocommit

    translate_storage_errors(engine)
    return engine


def read_only(conn: Connection) -> Connection:
    """Mark a connection, before it begins, as one whose transactions only read.

    SQLite then begins with a plain (deferred) ``BEGIN``: a read takes no lock, and in WAL mode
    readers never wait for each other or for the writer (a write transaction keeps ``BEGIN
    IMMEDIATE``: it holds the one write lock from its start, so it never fails to upgrade a read
    lock halfway). ``PRAGMA query_only`` makes SQLite refuse a write in such a transaction;
    PostgreSQL's transactions are ``READ ONLY`` likewise, which costs no round trip.
    """
    options: dict[str, Any] = {READ_ONLY: True}
    if conn.dialect.name == "postgresql":
        options["postgresql_readonly"] = True
    return conn.execution_options(**options)


def one_snapshot(conn: Connection) -> Connection:
    """Mark a connection, before it begins, as one whose transaction reads one snapshot.

    PostgreSQL's default isolation (read committed) gives each statement its own snapshot, so
    two reads of one transaction may see different commits; ``REPEATABLE READ`` makes every
    statement read the state as of the transaction's first. SQLite's transactions read one
    snapshot already (WAL mode: from the first read to the end). For a read of many statements
    that must agree with each other while writers commit (``verify``)."""
    if conn.dialect.name == "postgresql":
        return conn.execution_options(isolation_level="REPEATABLE READ")
    return conn


def read_once(engine: Engine, read: Callable[[Connection], R]) -> R:
    """Run ``read`` (a read of one statement) as cheaply as the database allows.

    PostgreSQL: outside any transaction (``AUTOCOMMIT``: one round trip, no ``BEGIN`` or
    ``ROLLBACK``), which is exact for one statement. SQLite: in a read-only transaction
    (:func:`read_only`), which takes no lock. For the reads every request pays (its session,
    its API key).
    """
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            return read(conn.execution_options(isolation_level="AUTOCOMMIT"))
        read_only(conn)
        with conn.begin():
            return read(conn)


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS)
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Upgrade the database to the newest schema (creates it when empty); safe to repeat."""
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def migrated_engine(url: str | None = None) -> Engine:
    """An engine (:func:`make_engine`) on a database migrated to the head revision."""
    engine = make_engine(url)
    migrate(engine)
    return engine


@cache
def head_revisions() -> tuple[str, ...]:
    """The head revision(s) of the migration scripts shipped with this version."""
    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS)
    return tuple(sorted(ScriptDirectory.from_config(cfg).get_heads()))


def schema_revisions(engine: Engine) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the database's current revision(s), the shipped head(s)); equal when it is migrated.

    Raises the driver's error (wrapped by SQLAlchemy) when the database cannot be reached.
    """
    with engine.connect() as conn:
        current = tuple(sorted(MigrationContext.configure(conn).get_current_heads()))
    return current, head_revisions()
