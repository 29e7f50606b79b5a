"""Usernames: one normal form to store, one key that confusable names share.

- :func:`normalise` is what is stored: NFKC (so full-width ``ａdmin`` becomes ``admin``), case
  folded (``Bob`` is stored as ``bob``, so no stored name has an ``I`` to pass for an ``l``), with
  surrounding spaces removed; it must then be 1 to :data:`MAX_LENGTH` characters of letters,
  digits and ``. _ - @ +``, starting with a letter or digit. Invisible characters (zero-width
  joiners, bidirectional overrides), spaces, controls and combining marks are refused, and so is
  a name mixing scripts other than the combinations of Unicode's "highly restrictive" level
  (Latin with Han and Japanese kana, Bopomofo or Hangul): ``аdmin`` with a Cyrillic ``а`` is refused.
- :func:`username_key` is the name normalised and case-folded with every character replaced by one
  representative of its class of look-alikes (Unicode's confusables data, as shipped by the
  ``confusable-homoglyphs`` package; classes joined transitively, so ``l``, ``1`` and ``I`` share
  one, as do ``0`` and ``O``). The accounts table keeps it unique: ``Admin`` and ``ADMIN`` have
  the key of ``admin``, the all-Cyrillic ``сор`` that of the Latin ``cop``, ``bob1`` that of
  ``bobl``, so none can be registered beside the other. Sign-in finds an account by this key
  too. (Look-alikes of several characters, such as ``rn`` for ``m``, are not folded.)
"""

from __future__ import annotations

import unicodedata
from functools import cache

from confusable_homoglyphs import categories
from confusable_homoglyphs.utils import load

from gongsheng.domain.errors import InvalidInput

MAX_LENGTH = 100
PUNCTUATION = frozenset("._-@+")
_MIXABLE = (frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}), frozenset({"LATIN", "HAN", "BOPOMOFO"}),
            frozenset({"LATIN", "HAN", "HANGUL"}))


def normalise(username: str | None) -> str:
    """The stored form of ``username``; :class:`InvalidInput` naming the rule it breaks."""
    name = _fold(username or "").strip()
    if not 1 <= len(name) <= MAX_LENGTH:
        raise InvalidInput(f"username must be 1 to {MAX_LENGTH} characters")
    for char in name:
        kind = unicodedata.category(char)
        if char not in PUNCTUATION and not (kind.startswith("L") or kind == "Nd"):
            raise InvalidInput("username may hold only letters, digits and . _ - @ + "
                               f"(not {unicodedata.name(char, hex(ord(char)))})")
    if name[0] in PUNCTUATION:
        raise InvalidInput("username must start with a letter or a digit")
    scripts = categories.unique_aliases(name) - {"COMMON"}
    if len(scripts) > 1 and not any(scripts <= allowed for allowed in _MIXABLE):
        raise InvalidInput("username must not mix alphabets (" + ", ".join(sorted(scripts)).lower() + ")")
    return name


def username_key(username: str) -> str:
    """The key shared by every name that reads the same (see the module docstring)."""
    table = _representatives()
    return "".join(table.get(char, char) for char in _fold(username))


def _fold(text: str) -> str:
    """NFKC, case folded, NFKC again (folding may undo the normal form)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


@cache
def _representatives() -> dict[str, str]:
    """Each confusable character's class representative (ASCII first, then the lowest code
    point), from single-character pairs of the confusables data; built once."""
    parent: dict[str, str] = {}

    def root(char: str) -> str:
        while parent.get(char, char) != char:
            char = parent[char]
        return char

    def rank(char: str) -> tuple[bool, str]:
        return (not char.isascii(), char)

    def join(one: str, other: str) -> None:
        a, b = root(one), root(other)
        if a != b:
            low, high = sorted((a, b), key=rank)
            parent[high] = low

    for char, glyphs in load("confusables.json").items():
        if len(char) != 1:
            continue
        for glyph in glyphs:
            if len(glyph["c"]) == 1:
                join(char, glyph["c"])
    return {char: root(char) for char in parent}
