"""The password policy and the username rules (normal form, look-alike key)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gongsheng.domain.errors import InvalidInput
from gongsheng.services.passwords import (
    check_password,
    common_passwords,
    hash_password,
    verify_password,
)
from gongsheng.services.usernames import normalise, username_key


@pytest.mark.parametrize(("password", "rule"), [
    (" " * 8, "at least 12 characters"),
    (" " * 12, "different characters"),
    ("password", "at least 12 characters"),
    ("qwerty123456", "common passwords"),
    ("QWERTY123456", "common passwords"),  # compared case-insensitively
    ("aaaabbbbaaaabbbb", "different characters"),
    ("x" * 201, "at most 200"),
])
def test_weak_passwords_are_refused(password: str, rule: str) -> None:
    with pytest.raises(InvalidInput, match=rule):
        check_password(password, "someone")


def test_the_username_is_not_a_password() -> None:
    with pytest.raises(InvalidInput, match="username"):
        check_password("merchant-0042", "merchant-0042")
    with pytest.raises(InvalidInput, match="username"):
        check_password("MyNameIsAlice!!", "alice")
    check_password("correct-horse-battery", "alice")  # a good one passes


def test_the_common_list_is_shipped_and_large() -> None:
    words = common_passwords()
    assert len(words) > 10_000
    assert {"password", "123456", "qwerty"} <= words


def test_hashes_verify_only_their_password() -> None:
    hashed = hash_password("correct-horse-battery")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "correct-horse-battery")
    assert not verify_password(hashed, "correct-horse-batterY")
    assert not verify_password(None, "correct-horse-battery")  # unknown user: no match, same work
    assert not verify_password("not a hash", "x")


@pytest.mark.parametrize("name", ["Admin", "ADMIN", "ａdmin", "ＡＤＭＩＮ", " admin "])
def test_case_and_width_variants_share_the_key_of_admin(name: str) -> None:
    assert username_key(normalise(name)) == username_key(normalise("admin")) == "admin"


def test_nfkc_is_what_is_stored() -> None:
    assert normalise("ａdmin") == "admin"
    assert normalise("  Bob ") == "bob"  # stored case folded: no capital I to pass for an l
    assert normalise("张三2024") == "张三2024"


@pytest.mark.parametrize(("name", "rule"), [
    ("аdmin", "mix alphabets"),            # Cyrillic а, then Latin
    ("pаypal", "mix alphabets"),
    ("a\u200bdmin", "ZERO WIDTH SPACE"),
    ("a\u200ddmin", "ZERO WIDTH JOINER"),
    ("adm\u202ein", "RIGHT-TO-LEFT OVERRIDE"),
    ("ad min", "SPACE"),
    ("admin\u20dd", "COMBINING ENCLOSING CIRCLE"),
    (".admin", "start with a letter or a digit"),
    ("", "1 to 100"),
    ("a" * 101, "1 to 100"),
])
def test_invisible_mixed_and_malformed_names_are_refused(name: str, rule: str) -> None:
    with pytest.raises(InvalidInput, match=rule):
        normalise(name)


def test_look_alikes_share_a_key_and_different_names_do_not() -> None:
    assert username_key("сор") == username_key("cop")  # all Cyrillic against all Latin
    assert username_key("bob1") == username_key("bobl")
    assert username_key("ＳＨＯＰ") == username_key("shop")
    assert len({username_key(n) for n in ["alice", "bob", "mia", "hank", "pat", "kim", "admin"]}) == 7
    assert username_key("admin") != username_key("adm1n")  # i and 1 do not look alike


@given(st.text(alphabet=st.characters(categories=["Lu", "Ll", "Nd"]), min_size=1, max_size=30))
def test_the_key_ignores_case(name: str) -> None:
    assert username_key(name.upper()) == username_key(name.lower()) == username_key(name.casefold())
