"""Helpers of the pages where parties act: form keys, QR codes, amounts typed in yuan, pagers.

- A form that moves value carries a random key rendered with the page; its POST uses it as the
  Idempotency-Key, so a double click (or a reload of the POST) posts once.
- QR codes are drawn by ``segno`` as inline SVG on the server (no network, no script).
"""

from __future__ import annotations

import io
import secrets
from typing import Any
from urllib.parse import urlencode

import segno
from fastapi import Request
from markupsafe import Markup

from gongsheng.domain.errors import InvalidInput
from gongsheng.domain.money import parse_yuan

PAGE = 20


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


def pager(page: dict[str, Any], path: str, **query: Any) -> dict[str, Any]:
    """Previous and next links of a page of results (``directory.page``)."""
    params = {k: v for k, v in query.items() if v not in (None, "")}
    offset, limit = int(page["offset"]), int(page["limit"])

    def link(at: int) -> str:
        return path + "?" + urlencode({**params, "offset": at})

    return {"total": page["total"], "first": offset + 1 if page["items"] else 0,
            "last": offset + len(page["items"]),
            "prev": link(max(0, offset - limit)) if offset > 0 else None,
            "next": link(page["next_offset"]) if page.get("next_offset") is not None else None}
