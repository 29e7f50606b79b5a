"""Every PostgreSQL session gongsheng opens runs with its session options, the URL's kept."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from gongsheng.adapters.database import make_engine


@pytest.mark.postgres
def test_sessions_run_without_jit_and_keep_the_urls_own_options(pg_url: str) -> None:
    plain = make_engine(pg_url)
    tuned = make_engine(pg_url + ("&" if "?" in pg_url else "?")
                        + "options=" + quote("-c statement_timeout=7000"))
    try:
        with plain.connect() as conn:
            default_timeout = conn.exec_driver_sql("SHOW statement_timeout").scalar()
            assert conn.exec_driver_sql("SHOW jit").scalar() == "off"
        with tuned.connect() as conn:
            assert conn.exec_driver_sql("SHOW jit").scalar() == "off"
            assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "7s" != default_timeout
    finally:
        plain.dispose()
        tuned.dispose()
