"""The demo's files: the logins CSV (username, role, party id, password) and where files go.

Every party of the demo city gets a login of its own (``<kind>-<party id>``) and ``admin``, each
with its own random password, kept in the file across runs (mode 0600); the admin's may be given.
"""

from __future__ import annotations

import csv
from pathlib import Path

from gongsheng.adapters.database import sqlite_path
from gongsheng.services import accounts
from gongsheng.services.platform import Platform


def demo_files(url: str) -> tuple[Path, Path]:
    """``(logins CSV, HTML report)`` beside the SQLite database (or in the working folder)."""
    path = sqlite_path(url)
    if path is None:
        name = url.rsplit("/", 1)[-1].split("?")[0] or "gongsheng"
        return Path.cwd() / f"{name}-demo-logins.csv", Path.cwd() / f"{name}-demo-report.html"
    stem = path.with_suffix("")
    return stem.with_name(stem.name + "-logins.csv"), stem.with_name(stem.name + "-report.html")


def known_passwords(logins_file: Path) -> dict[str, str]:
    """``username -> password`` of an existing logins file (empty when there is none)."""
    if not logins_file.exists():
        return {}
    with logins_file.open(newline="", encoding="utf-8") as f:
        return {r["username"]: r.get("password") or "" for r in csv.DictReader(f) if r.get("username")}


def write_logins(platform: Platform, admin_password: str | None, logins_file: Path) -> int:
    """Create a demo login for every party without one (and ``admin``), each with its own
    password; write the logins file.

    The admin's password is ``admin_password`` if given, else the one in the file, else a new
    random one; every other login gets a new random one (kept in the file across runs). Demo
    logins that share a password (made by an earlier version, which gave all one password) get
    new ones, which ends their sessions.
    """
    known = known_passwords(logins_file)
    missing = platform.read(accounts.parties_without_login)
    has_admin = platform.read(accounts.has_login, "admin")
    fresh: dict[str, str] = {}
    rows: list[tuple[str, str, int | None, str]] = []
    for pid, kind in missing:
        name = f"{kind}-{pid}"
        fresh[name] = accounts.new_demo_password()
        rows.append((name, kind, pid, fresh[name]))
    admin = admin_password or known.get("admin") or accounts.new_demo_password()
    rows.append(("admin", "admin", None, admin))
    if not has_admin:
        fresh["admin"] = admin
    created = platform.run(accounts.create_demo_accounts, rows)
    shared = platform.read(accounts.demo_logins_sharing_a_password)
    if shared:
        renewed = {name: admin if name == "admin" else accounts.new_demo_password() for name in shared}
        platform.run(accounts.reset_demo_passwords, renewed)
        fresh.update(renewed)
    users = platform.read(accounts.demo_logins)
    with logins_file.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["username", "role", "party_id", "password"])
        for name, role, party in users:
            writer.writerow([name, role, "" if party is None else party,
                             fresh.get(name) or known.get(name) or ""])
    logins_file.chmod(0o600)
    return created


__all__ = ["demo_files", "known_passwords", "write_logins"]
