"""Alembic environment: runs migrations on the connection handed over in ``config.attributes``."""

from __future__ import annotations

import warnings

from alembic import context
from sqlalchemy.exc import SAWarning

from gongsheng.adapters.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with warnings.catch_warnings():
    # migrations that look for an index by name reflect a table's indexes; SQLite's reflection
    # leaves out the expression indexes of ``parties`` (0023) with this warning, and none of
    # those migrations looks for them
    warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index",
                            SAWarning)
    with context.begin_transaction():
        context.run_migrations()
