"""Log records as JSON lines, each carrying the id of the request it was written for.

One object per line: ``time`` (ISO 8601, UTC), ``level``, ``logger``, ``message``, ``request_id``
(``null`` outside a request), any ``extra`` fields, and ``exc_info`` for an exception. An access
line of uvicorn also carries ``client``, ``method``, ``path`` and ``status``. :func:`log_config`
is the ``logging.config.dictConfig`` that ``serve`` hands to uvicorn, which applies it in every
worker process.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from gongsheng.entrypoints.api.observability.context import current_request_id

_HERE = __name__
_ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")


class RequestIdFilter(logging.Filter):
    """Stamps each record with the current request's id (at the time it is logged)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


class JsonLines(JsonFormatter):
    """python-json-logger's formatter with the project's field names and uvicorn's access fields."""

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            reserved_attrs=[*RESERVED_ATTRS, "color_message"],  # uvicorn's coloured copy
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord,
                   message_dict: dict[str, Any]) -> None:
        super().add_fields(log_data, record, message_dict)
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            log_data.update(zip(_ACCESS_FIELDS, record.args, strict=True))


def log_config(level: str = "info") -> dict[str, Any]:
    """Every logger (the app's, uvicorn's server and access loggers) as JSON lines on stderr."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": f"{_HERE}.RequestIdFilter"}},
        "formatters": {"json": {"()": f"{_HERE}.JsonLines"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json",
                                "filters": ["request_id"], "stream": "ext://sys.stderr"}},
        "loggers": {name: {"handlers": [], "propagate": True}
                    for name in ("uvicorn", "uvicorn.error", "uvicorn.access")},
        "root": {"handlers": ["stderr"], "level": level.upper()},
    }
