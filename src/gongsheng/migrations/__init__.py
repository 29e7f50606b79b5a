"""Alembic migrations of the gongsheng schema (run by :func:`gongsheng.adapters.database.migrate`)."""
