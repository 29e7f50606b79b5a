"""Adapters: the database (tables, migrations, repositories) and files (policy, scenarios)."""
