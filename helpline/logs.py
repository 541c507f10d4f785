"""Log lines: text (the default) or JSON lines (HELPLINE_LOG_FORMAT=json), each
JSON line with the process index and, within a request, its id.

A request's id comes from its X-Request-Id header when that is a plain token
(a reverse proxy's), else is made here; the response carries it back. Work that
a request starts (the message it stored, processed in a task) logs under the
same id. Nothing personal is added: messages already never carry text, numbers
or chat ids.
"""

from __future__ import annotations

import json
import logging
import os
import re
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

from aiohttp import web

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
_PLAIN_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class JsonLines(logging.Formatter):
    def __init__(self, process_index: int = 0) -> None:
        super().__init__()
        self.process_index = process_index

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": self.process_index,
            "pid": os.getpid(),
        }
        if request_id := REQUEST_ID.get():
            line["request_id"] = request_id
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


@web.middleware
async def request_ids(request: web.Request, handler) -> web.StreamResponse:
    sent = request.headers.get("X-Request-Id", "")
    request_id = sent if _PLAIN_ID.match(sent) else uuid.uuid4().hex[:16]
    token = REQUEST_ID.set(request_id)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers["X-Request-Id"] = request_id
        raise
    finally:
        REQUEST_ID.reset(token)
    if not response.prepared:  # a stream (server-sent events) has sent its headers
        response.headers["X-Request-Id"] = request_id
    return response
