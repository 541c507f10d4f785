"""The console's page, its static files, the channels' labels and the API
description; and the JSON error every console call answers with."""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web

from bot.channels import LABELS
from bot.channels.web import serve_file

STATIC_DIR = Path(__file__).resolve().parent / "static"
OPENAPI = Path(__file__).resolve().parent / "openapi.json"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "media-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def error(status: int, message: str, retry_after: int | None = None) -> web.Response:
    """`{"error": message}`; with Retry-After (seconds) for 429 and 503."""
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return web.json_response({"error": message}, status=status, headers=headers)


def routes() -> list[web.AbstractRouteDef]:
    return [
        web.get("/console", page),
        web.get("/console/", page),
        web.get("/console/static/channels.js", channel_labels),
        web.get("/console/static/{name}", static),
        web.get("/console/api/openapi.json", openapi),
    ]


async def page(request: web.Request) -> web.StreamResponse:
    return serve_file(STATIC_DIR / "index.html", CSP, "no-cache")


async def channel_labels(request: web.Request) -> web.Response:
    """The channels' labels, from the registry (bot/channels): a new channel
    needs no change to the console."""
    body = f"export const CHANNEL_LABELS = {json.dumps(LABELS, ensure_ascii=False)};\n"
    return web.Response(
        text=body,
        content_type="text/javascript",
        headers={
            "Content-Security-Policy": CSP,
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Cache-Control": "no-cache",
        },
    )


async def static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    path = STATIC_DIR / name
    if "/" in name or name.startswith(".") or not path.is_file():
        raise web.HTTPNotFound()
    return serve_file(path, CSP, "no-cache")


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(json.loads(OPENAPI.read_text()))
