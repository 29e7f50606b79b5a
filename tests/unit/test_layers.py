"""SQL text and database differences live in the adapters: the services and views hold neither.

Read from the source (import-linter cannot name ``sqlalchemy.dialects``): no service or view imports a
dialect or the driver, calls ``text()`` or ``exec_driver_sql``, reads ``.dialect``, calls a
PostgreSQL function, or asks a unit of work whether it is on PostgreSQL (the order path's fused
statements and locks included: they are the order store's, ``adapters/order_start.py`` and
``adapters/order_store.py``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import gongsheng.services
import gongsheng.views

SERVICES = Path(gongsheng.services.__file__).parent
VIEWS = Path(gongsheng.views.__file__).parent


def _findings(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and (
                node.module.startswith(("sqlalchemy.dialects", "psycopg"))
                or (node.module == "sqlalchemy" and any(a.name == "text" for a in node.names))):
            found.append(f"line {node.lineno}: imports from {node.module}")
        elif isinstance(node, ast.Import) and any(
                a.name.startswith(("sqlalchemy.dialects", "psycopg")) for a in node.names):
            found.append(f"line {node.lineno}: imports a dialect or the driver")
        elif isinstance(node, ast.Attribute):
            if node.attr in ("dialect", "exec_driver_sql"):
                found.append(f"line {node.lineno}: .{node.attr}")
            elif node.attr.startswith("pg_"):
                found.append(f"line {node.lineno}: PostgreSQL function {node.attr}")
            elif node.attr == "postgres" and not (isinstance(node.value, ast.Name)
                                                  and node.value.id == "locks"):
                found.append(f"line {node.lineno}: asks whether it is on PostgreSQL")
    return found


@pytest.mark.parametrize("path", sorted([*SERVICES.rglob("*.py"), *VIEWS.glob("*.py")]),
                         ids=lambda p: f"{p.parent.name}.{p.stem}")
def test_services_hold_no_sql_text_and_no_dialect_checks(path: Path) -> None:
    found = _findings(ast.parse(path.read_text("utf-8")))
    assert not found, f"{path.stem}: " + "; ".join(found)


def test_the_check_finds_what_it_looks_for() -> None:
    source = ("from sqlalchemy import text\nfrom sqlalchemy.dialects import postgresql\n"
              "def f(uow, conn):\n    conn.exec_driver_sql('SELECT 1')\n"
              "    return uow.postgres or conn.dialect.name or func.pg_advisory_lock(1)\n")
    assert len(_findings(ast.parse(source))) == 6
