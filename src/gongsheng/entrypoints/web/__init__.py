"""The web pages (server-rendered, Chinese and English) over the same platform as the API.

:func:`mount_web` adds the pages to an app made by
:func:`gongsheng.entrypoints.api.app.create_app`, which holds the platform, the settings and the
token signing key in ``app.state``: the pages sign the same tokens as the API and keep them in an
HttpOnly cookie. Pages: ``/login``, ``/admin``, ``/consumer/{id}``, ``/merchant/{id}``,
``/bm/{id}``, ``/partner/{id}``, ``/promoter/{id}``; static files under ``/static``, with
plotly.js served from the installed ``plotly`` package.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from gongsheng.entrypoints.web import (
    routes_cases,
    routes_integrity,
    routes_network,
    routes_public,
    routes_trade,
)
from gongsheng.entrypoints.web.routes import HERE, router


def mount_web(app: FastAPI) -> None:
    """Add the pages and their static files to ``app`` (after the API's routers)."""
    app.include_router(router)
    for actions in (routes_public.router, routes_trade.router, routes_network.router,
                    routes_integrity.router, routes_cases.router):
        app.include_router(actions)  # the pages where parties act (joining, paying, signing, ...)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")


__all__ = ["mount_web", "router"]
