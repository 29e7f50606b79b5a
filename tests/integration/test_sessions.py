"""Every PostgreSQL session gongsheng opens makes its own settings, the URL's options kept."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from gongsheng.adapters.database import make_engine

_SETTING = "SELECT setting, source FROM pg_settings WHERE name = %(name)s"


@pytest.mark.postgres
def test_sessions_turn_jit_off_themselves_and_keep_the_urls_own_options(pg_url: str) -> None:
    tuned = make_engine(pg_url + ("&" if "?" in pg_url else "?")
                        + "options=" + quote("-c statement_timeout=7000"))
    try:
        with tuned.connect() as conn:
            # set by the session itself, whatever the server's default
            assert tuple(conn.exec_driver_sql(_SETTING, {"name": "jit"}).one()) == ("off", "session")
            timeout = conn.exec_driver_sql(_SETTING, {"name": "statement_timeout"}).one()
            assert tuple(timeout) == ("7000", "client")
        with tuned.connect() as conn:  # a pooled connection again: still set
            assert conn.exec_driver_sql("SHOW jit").scalar() == "off"
    finally:
        tuned.dispose()
