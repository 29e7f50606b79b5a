"""Helpers of the pages where parties act: form keys, QR codes, amounts typed in yuan, pagers.

- A form that moves value carries a random key rendered with the page; its POST uses it as the
  Idempotency-Key, so a double click (or a reload of the POST) posts once.
- QR codes are drawn by ``segno`` as inline SVG on the server (no network, no script).
- A list shows a page at a time by key, newest first, with links to the newer and older pages
  (:func:`pager`): a page costs the same however deep, and no list is counted.
"""

from __future__ import annotations

import io
import secrets
from typing import Annotated, Any
from urllib.parse import urlencode

import segno
from fastapi import Query, Request
from markupsafe import Markup

from gongsheng.adapters.paging import MAX_KEY, KeyedPage
from gongsheng.domain.errors import InvalidInput
from gongsheng.domain.money import parse_yuan

PAGE = 20
"""Rows on a page of a list."""
Before = Annotated[int | None, Query(ge=1, le=MAX_KEY)]
"""A list's older page: the rows with a key below this one (the pager's ``older`` link)."""
After = Annotated[int | None, Query(ge=0, le=MAX_KEY)]
"""A list's newer page: the nearest rows with a key above this one (the pager's ``newer`` link)."""


def form_key() -> str:
    """A fresh key for one form (an Idempotency-Key once submitted)."""
    return secrets.token_urlsafe(18)


def qr_svg(data: str, scale: int = 4) -> Markup:
    """``data`` as a QR code, an inline SVG element (error correction M, quiet zone kept)."""
    buffer = io.BytesIO()
    segno.make(data, error="m").save(buffer, kind="svg", scale=scale, xmldecl=False, svgns=True,
                                     svgclass="qr", lineclass=None, title=None)
    return Markup(buffer.getvalue().decode("ascii"))  # segno's own SVG: no markup of the caller's


def fen_of(text: str, what: str = "amount") -> int:
    """An amount typed in yuan (``12.30``) as positive fen; a clear error otherwise."""
    fen = parse_yuan(text or "")
    if fen <= 0:
        raise InvalidInput(f"the {what} must be more than zero")
    return fen


def absolute(request: Request, path: str, **query: Any) -> str:
    """A link to ``path`` on this site, as a person would open it from a QR code."""
    params = {k: v for k, v in query.items() if v is not None}
    return str(request.base_url).rstrip("/") + path + (f"?{urlencode(params)}" if params else "")


def pager(page: KeyedPage[Any], path: str, **query: Any) -> dict[str, str | None]:
    """The links of a page of a list paged by key (``adapters/paging.py``): to the newer page
    (``after`` its first key), the older one (``before`` its last key) and the newest, each
    keeping ``query`` (the list's filters); None where there is no such page."""
    params = {k: v for k, v in query.items() if v not in (None, "")}

    def link(**cursor: int) -> str:
        return path + ("?" + urlencode({**params, **cursor}) if params or cursor else "")

    return {"newest": link() if page.newer is not None else None,
            "newer": link(after=page.newer) if page.newer is not None else None,
            "older": link(before=page.older) if page.older is not None else None}
