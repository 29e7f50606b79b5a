"""Database-side guards of the journal, per dialect.

The database itself refuses what must never be stored, whatever client writes to it:

- **balance**: every journal entry's postings sum to zero per asset, and there are exactly
  ``leg_count`` of them. PostgreSQL: a deferred constraint trigger on ``journal_entries`` checks
  each new entry at commit; a statement trigger on ``postings`` refuses legs outside an entry's
  ``leg_count`` (so nothing can be added to an entry later). SQLite (no deferred triggers): the
  legs are numbered, and inserting an entry's last leg checks the whole entry, aborting otherwise.
  The statement trigger also refuses a leg whose entry does not exist: ``postings`` has no
  foreign key to ``journal_entries`` (one RI trigger call per leg saved, see ``tables.py``).
- **append-only**: updates and deletes of entries and postings are refused, and so are those of
  the audit trail (``audit_log``, :func:`install_audit_guards`, also run by migration 0015 on
  databases made before it).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

POSTGRES = [
    """
    CREATE OR REPLACE FUNCTION gs_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        legs bigint;
        off_asset text;
        off_total numeric;
    BEGIN
        -- one pass over the entry's legs (the postings primary key): their count and the
        -- first asset that does not sum to zero
        SELECT coalesce(sum(n), 0), (array_agg(asset) FILTER (WHERE total <> 0))[1],
               (array_agg(total) FILTER (WHERE total <> 0))[1]
            INTO legs, off_asset, off_total
            FROM (SELECT asset, count(*) AS n, sum(amount) AS total FROM postings
                  WHERE entry_id = NEW.id GROUP BY asset) AS per_asset;
        IF legs <> NEW.leg_count THEN
            RAISE EXCEPTION 'journal entry % has % postings, declares %', NEW.id, legs, NEW.leg_count
                USING ERRCODE = '23514';
        END IF;
        IF off_asset IS NOT NULL THEN
            RAISE EXCEPTION 'journal entry % does not balance in %: off by %',
                NEW.id, off_asset, off_total USING ERRCODE = '23514';
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE CONSTRAINT TRIGGER journal_entry_balanced AFTER INSERT ON journal_entries
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gs_entry_balanced()
    """,
    """
    CREATE OR REPLACE FUNCTION gs_legs_in_range() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM new_legs n LEFT JOIN journal_entries e ON e.id = n.entry_id
                   WHERE e.id IS NULL OR n.leg >= e.leg_count) THEN
            RAISE EXCEPTION 'posting outside its journal entry''s declared legs'
                USING ERRCODE = '23514';
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER postings_legs_in_range AFTER INSERT ON postings
        REFERENCING NEW TABLE AS new_legs FOR EACH STATEMENT EXECUTE FUNCTION gs_legs_in_range()
    """,
    """
    CREATE OR REPLACE FUNCTION gs_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'the journal is append-only: % on % refused', TG_OP, TG_TABLE_NAME
            USING ERRCODE = '23514';
    END $$
    """,
    """
    CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON postings
        FOR EACH STATEMENT EXECUTE FUNCTION gs_append_only()
    """,
    """
    CREATE TRIGGER journal_entries_append_only BEFORE UPDATE OR DELETE OR TRUNCATE
        ON journal_entries FOR EACH STATEMENT EXECUTE FUNCTION gs_append_only()
    """,
]

SQLITE = [
    """
    CREATE TRIGGER postings_legs_in_range BEFORE INSERT ON postings
    WHEN NEW.leg >= coalesce((SELECT leg_count FROM journal_entries WHERE id = NEW.entry_id), 0)
    BEGIN
        SELECT RAISE(ABORT, 'posting outside its journal entry''s declared legs');
    END
    """,
    """
    CREATE TRIGGER postings_entry_balanced AFTER INSERT ON postings
    WHEN NEW.leg = (SELECT leg_count - 1 FROM journal_entries WHERE id = NEW.entry_id)
    BEGIN
        SELECT RAISE(ABORT, 'journal entry does not balance or misses legs')
        WHERE EXISTS (SELECT 1 FROM postings WHERE entry_id = NEW.entry_id
                      GROUP BY asset HAVING sum(amount) <> 0)
           OR (SELECT count(*) FROM postings WHERE entry_id = NEW.entry_id)
              <> (SELECT leg_count FROM journal_entries WHERE id = NEW.entry_id);
    END
    """,
    """
    CREATE TRIGGER postings_no_update BEFORE UPDATE ON postings
    BEGIN SELECT RAISE(ABORT, 'the journal is append-only: UPDATE on postings refused'); END
    """,
    """
    CREATE TRIGGER postings_no_delete BEFORE DELETE ON postings
    BEGIN SELECT RAISE(ABORT, 'the journal is append-only: DELETE on postings refused'); END
    """,
    """
    CREATE TRIGGER journal_entries_no_update BEFORE UPDATE ON journal_entries
    BEGIN SELECT RAISE(ABORT, 'the journal is append-only: UPDATE on journal_entries refused'); END
    """,
    """
    CREATE TRIGGER journal_entries_no_delete BEFORE DELETE ON journal_entries
    BEGIN SELECT RAISE(ABORT, 'the journal is append-only: DELETE on journal_entries refused'); END
    """,
]


def append_only_guards(function: str, what: str,
                       tables: Sequence[str]) -> tuple[list[str], list[str]]:
    """``(PostgreSQL, SQLite)`` DDL that refuses UPDATE and DELETE (and TRUNCATE on PostgreSQL)
    on ``tables``, each refusal saying "``what`` is (are) append-only"; safe to run again."""
    postgres = [f"""
    CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{what}: % on % refused', TG_OP, TG_TABLE_NAME USING ERRCODE = '23514';
    END $$
    """]
    postgres += [f"""
    CREATE OR REPLACE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {table}
        FOR EACH STATEMENT EXECUTE FUNCTION {function}()
    """ for table in tables]
    sqlite = [f"""
    CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table}
    BEGIN SELECT RAISE(ABORT, '{what}: {op} on {table} refused'); END
    """ for table in tables for op in ("UPDATE", "DELETE")]
    return postgres, sqlite


AUDIT_POSTGRES, AUDIT_SQLITE = append_only_guards(
    "gs_audit_append_only", "the audit log is append-only", ["audit_log"])


def run_for_dialect(conn: Connection, postgres: Sequence[str], sqlite: Sequence[str]) -> None:
    """Run the statements written for the connection's dialect (guards' DDL, say)."""
    if conn.dialect.name == "postgresql":
        for sql in postgres:  # psycopg takes '%' as a placeholder mark unless doubled
            conn.exec_driver_sql(sql.replace("%", "%%"))
    else:
        for sql in sqlite:
            conn.exec_driver_sql(sql)


def install_audit_guards(conn: Connection) -> None:
    """Create (or re-create) the audit log's append-only triggers; safe to repeat."""
    run_for_dialect(conn, AUDIT_POSTGRES, AUDIT_SQLITE)


def replace_guard_functions(conn: Connection) -> None:
    """PostgreSQL: (re)define the guards' functions only (the triggers calling them stay)."""
    if conn.dialect.name == "postgresql":
        for sql in POSTGRES:
            if sql.lstrip().startswith("CREATE OR REPLACE FUNCTION"):
                conn.exec_driver_sql(sql.replace("%", "%%"))


def install_guards(conn: Connection) -> None:
    """Create the journal's and the audit log's triggers for the connection's dialect."""
    run_for_dialect(conn, POSTGRES, SQLITE)
    install_audit_guards(conn)
