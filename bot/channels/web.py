"""The web chat at `/`: anyone can talk to the flows as a texting person would.

The page keeps a random session id in sessionStorage (gone when the tab closes)
and posts messages to /chat/api/messages; replies are delivered into the
session's mailbox in Redis, which the page reads by long polling. The quick-exit
button erases the conversation at once and replaces the page with a neutral
site, so that Back does not return to it.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Mapping
from html import escape
from pathlib import Path

from aiohttp import web
from redis.asyncio import Redis

from bot.channels import CAPABILITIES
from bot.channels.base import Channel, Inbound, Outbound, Sent, bad_request, read_json
from bot.channels.clients import client_address
from bot.clock import Clock
from bot.config import Settings
from bot.store import keys
from bot.store.limits import Limit, Limits
from bot.store.privacy import Privacy
from bot.store.scripts import load_script
from bot.store.shared import MISSING, keep_command, shared_texts, text_ref
from bot.store.vault import Vault

STATIC_DIR = Path(__file__).resolve().parent / "static"
SESSION_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_TEXT = 4096
MAILBOX_KEEP = 500  # the newest replies a session's mailbox keeps (older ones dropped, counted)
LONG_POLL_S = 20.0
LONG_POLLS_PER_CLIENT = 8  # open long polls one client may hold in one process
MAX_AFTER = 2**53  # beyond any mailbox: `after` larger than this reads nothing

# Floods from one client (its address, see bot.channels.clients) are refused with
# 429 and Retry-After. A person types a few messages a minute; each new
# conversation is one page (its session), and enters the counsellors' queue at
# most once, so NEW_CONVERSATIONS also caps the queue entries one client can
# make. Safe exit is never limited.
CLIENT_MESSAGES = Limit("chat-client", 60, 60)
SESSION_MESSAGES = Limit("chat-session", 20, 60)
NEW_CONVERSATIONS = Limit("chat-new", 5, 10 * 60)
NEW_CONVERSATIONS_DAY = Limit("chat-new-day", 30, 24 * 3600)

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


PAGE_MARK = re.compile(r"\{\{(\w+)\}\}")


def page_headers(csp: str, cache_control: str = "no-store") -> dict[str, str]:
    """The headers every page of the app carries."""
    return {
        "Content-Security-Policy": csp,
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Cache-Control": cache_control,
    }


def serve_file(path: Path, csp: str, cache_control: str = "no-store") -> web.StreamResponse:
    """A static file of ours, with the headers every page of the app carries."""
    response = web.FileResponse(path)
    for name, value in page_headers(csp, cache_control).items():
        response.headers[name] = value
    return response


class WebChannel(Channel):
    name = "web"
    capabilities = CAPABILITIES["web"]

    def __init__(
        self, settings: Settings | None = None, env: Mapping[str, str | None] | None = None
    ) -> None:
        super().__init__()
        self.template = (STATIC_DIR / "chat.html").read_text(encoding="utf-8")
        self._waiters: dict[str, asyncio.Event] = {}
        self._polls: dict[str, int] = {}  # open long polls by client
        self.closing = False  # shutting down: long polls answer at once
        self.trusted_proxies = settings.trusted_proxies if settings else ()
        self.limits_on = settings.web_chat_limits if settings else True

    async def connect(self, pipeline) -> None:
        await super().connect(pipeline)
        self.redis: Redis = pipeline.redis
        self.privacy: Privacy = pipeline.privacy
        self.vault: Vault = pipeline.vault
        self.retention: int = pipeline.retention
        self.clock: Clock = pipeline.clock
        self.limits = Limits(self.redis)
        self._mailbox = load_script(self.redis, Path(__file__).parent / "web_mailbox.lua")

    def _client(self, request: web.Request) -> str:
        """The client's pseudonym: an HMAC of its address, never the address."""
        return self.privacy.pid("client", client_address(request, self.trusted_proxies))

    async def _flooding(self, request: web.Request, session: str) -> web.Response | None:
        """429 with Retry-After when the client or the session is over a limit
        (nothing counted then), else None with this message counted."""
        if not self.limits_on:
            return None
        client, pid = self._client(request), await self.privacy.find_pid(self.redis, "web", session)
        # keyed by her pseudonymous id: the session id is her address, never stored plain
        checks = [(CLIENT_MESSAGES, client), (SESSION_MESSAGES, pid)]
        if not await self.redis.exists(keys.state(pid)):
            checks += [(NEW_CONVERSATIONS, client), (NEW_CONVERSATIONS_DAY, client)]
        wait = await self.limits.take(*checks)
        if not wait:
            return None
        return web.json_response(
            {"error": f"Too many messages at once: wait {wait} seconds, then send again."},
            status=429,
            headers={"Retry-After": str(wait)},
        )

    def listen(self) -> list[web.AbstractRouteDef]:
        return [
            web.get("/", self.page),
            web.get("/chat/static/{name}", self.static),
            web.post("/chat/api/messages", self.post_message),
            web.get("/chat/api/messages", self.get_messages),
            web.post("/chat/api/exit", self.quick_exit),
        ]

    async def page(self, request: web.Request) -> web.StreamResponse:
        """The chat page in the browser's language (Accept-Language), right to
        left for Arabic; it follows the conversation's language afterwards."""
        page = self.inlet.words.page_texts(
            "web_", None, request.headers.get("Accept-Language", "")[:200] or None
        )
        values = {
            "lang": page.language,
            "dir": page.direction,
            **page.texts,
            "footer_hidden": "" if page.texts.get("web_footer") else "hidden",
            "texts_json": json.dumps(page.to_json(), ensure_ascii=False),
        }
        html = PAGE_MARK.sub(lambda m: escape(values.get(m.group(1), "")), self.template)
        response = web.Response(text=html, content_type="text/html", charset="utf-8")
        for name, value in page_headers(CSP).items():
            response.headers[name] = value
        response.headers["Content-Language"] = page.language
        response.headers["Vary"] = "Accept-Language"
        return response

    async def static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in ("chat.js", "chat.css"):
            raise web.HTTPNotFound()
        return serve_file(STATIC_DIR / name, CSP)

    @staticmethod
    def _session(value) -> str | None:
        return value if isinstance(value, str) and SESSION_RE.match(value) else None

    async def _session_and_body(self, request: web.Request) -> tuple[str, dict] | web.Response:
        """The page's session id and the JSON body, or the 4xx to give."""
        data = await read_json(request)
        if isinstance(data, web.Response):
            return data
        session = self._session(data.get("session"))
        if session is None:
            return bad_request("`session` must be 16 to 64 letters, digits, - or _")
        return session, data

    async def post_message(self, request: web.Request) -> web.Response:
        found = await self._session_and_body(request)
        if isinstance(found, web.Response):
            return found
        session, data = found
        if (refused := await self._flooding(request, session)) is not None:
            return refused
        text, payload = data.get("text"), data.get("payload")
        # The browser's languages, as her app's language (Telegram's language_code)
        hint = request.headers.get("Accept-Language", "")[:200] or None
        inbound: Inbound
        if payload is not None:
            if not isinstance(payload, str) or not payload or len(payload) > 128:
                return bad_request("`payload` must be a button's payload")
            inbound = Inbound("web", session, kind="button", payload=payload, language_hint=hint)
        elif isinstance(text, str) and text.strip():
            if len(text) > MAX_TEXT:
                return bad_request(f"`text` is longer than {MAX_TEXT} characters", 413)
            if self.inlet.words.global_keyword(text) == "exit":
                # Typed like the Quick exit button is pressed: the page clears itself.
                await self.inlet.accept(Inbound("web", session, kind="exit"))
                return web.json_response({"ok": True, "exit": True})
            inbound = Inbound("web", session, kind="text", text=text, language_hint=hint)
        elif data.get("start") is True:
            inbound = Inbound("web", session, kind="start", language_hint=hint)
        else:
            return bad_request("send `text` (a non-empty string) or `payload`")
        await self.inlet.accept(inbound)
        return web.json_response({"ok": True})

    async def get_messages(self, request: web.Request) -> web.Response:
        session = self._session(request.query.get("session"))
        if session is None:
            return bad_request("`session` must be 16 to 64 letters, digits, - or _")
        after_text = request.query.get("after") or "0"  # "after=" (empty) is the start, as absent
        if not (after_text.isascii() and after_text.isdigit()):
            return bad_request("`after` must be a whole number, 0 or more")
        after = min(int(after_text[:20]), MAX_AFTER)
        # a long poll, as the contract says, unless `wait=0` asks for what is there now
        wait = request.query.get("wait") != "0"
        client = self._client(request) if wait else ""
        if wait and self._polls.get(client, 0) >= LONG_POLLS_PER_CLIENT:
            return web.json_response(
                {"error": "Too many open requests from here: wait a moment."},
                status=429,
                headers={"Retry-After": "1"},
            )
        pid = await self.privacy.find_pid(self.redis, "web", session)
        deadline = time.monotonic() + LONG_POLL_S
        if wait:
            self._polls[client] = self._polls.get(client, 0) + 1
        try:
            while True:
                dropped, raw, wrapped = await self._mailbox(
                    keys=[keys.web_mailbox(pid), keys.web_mailbox_dropped(pid), keys.data_key(pid)],
                    args=["read", after],
                )
                if raw or not wait or self.closing or time.monotonic() > deadline:
                    break
                event = self._waiters.setdefault(pid, asyncio.Event())
                try:  # another process may deliver: poll too
                    await asyncio.wait_for(event.wait(), 0.5)
                except TimeoutError:
                    pass
                finally:
                    self._waiters.pop(pid, None)
        finally:
            if wait:
                self._polls[client] -= 1
                if not self._polls[client]:
                    del self._polls[client]
        key = self.vault.unwrap(pid, wrapped)
        opened = [key.open(item) if key else None for item in raw]
        messages = [json.loads(item) for item in opened if item is not None]
        said = await shared_texts(self.redis, {m["ref"] for m in messages if "ref" in m})
        for message in messages:
            if "ref" in message:
                found = said[message.pop("ref")]
                message.update(json.loads(found) if found else {"text": MISSING, "options": []})
        body: dict = {"messages": messages, "next": max(after, int(dropped)) + len(messages)}
        if messages:  # the page's own words follow the conversation's language
            state = await self.redis.get(keys.state(pid))
            language = json.loads(state).get("language") if state else None
            body["page"] = self.inlet.words.page_texts("web_", language, None).to_json()
        return web.json_response(body)

    def close_requests(self) -> None:
        """Shutting down: open long polls answer now (the page polls again)."""
        self.closing = True
        for event in self._waiters.values():
            event.set()

    async def quick_exit(self, request: web.Request) -> web.Response:
        found = await self._session_and_body(request)
        if isinstance(found, web.Response):
            return found
        session, _ = found
        await self.inlet.accept(Inbound("web", session, kind="exit"))
        return web.json_response({"ok": True})

    async def send(self, address: str, outbound: Outbound) -> Sent:
        if outbound.kind != "text":
            return Sent()
        # her conversation, told by the sender (an address: a session, from before 2026-12)
        pid = outbound.conversation or await self.privacy.find_pid(self.redis, "web", address)
        key = await self.vault.get(pid)
        if key is None:  # she left (a safe exit) while this was on its way
            return Sent()
        said = {
            "text": outbound.text,
            "options": [
                {"label": label, "payload": payload} for label, payload in outbound.options
            ],
        }
        item: dict = {"id": outbound.id}  # the page shows no time: none is kept
        if outbound.shared:  # the flows' own words: kept once for everyone
            text = json.dumps(said, ensure_ascii=False, separators=(",", ":"))
            item["ref"] = text_ref(text)
            await self.redis.execute_command(*keep_command(item["ref"], text))
        else:
            item.update(said)
        await self._mailbox(
            keys=[keys.web_mailbox(pid), keys.web_mailbox_dropped(pid), keys.data_key(pid)],
            args=[
                "push",
                key.seal(json.dumps(item, ensure_ascii=False)),
                MAILBOX_KEEP,
                self.retention,
            ],
        )
        if (event := self._waiters.get(pid)) is not None:
            event.set()
        return Sent()
