"""Statements converted once to numbered parameters say what the named ones said."""

from __future__ import annotations

import pytest

from gongsheng.adapters.pg_raw import numbered


def test_names_are_numbered_in_order_of_first_use_and_repeats_share_a_number() -> None:
    text, names = numbered("SELECT %(b)s, %(a)s::bigint[], %(b)s WHERE x LIKE 'a%%'")
    assert text == "SELECT $1, $2::bigint[], $1 WHERE x LIKE 'a%'"
    assert names == ("b", "a")


def test_a_statement_without_parameters_is_unchanged() -> None:
    assert numbered("SELECT 1") == ("SELECT 1", ())


def test_a_lone_percent_is_refused() -> None:
    with pytest.raises(ValueError, match="lone %"):
        numbered("SELECT 5 % 2, %(a)s")
