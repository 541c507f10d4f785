"""Fake Telegram Bot API and Twilio REST servers: small aiohttp apps on loopback,
driven by the real python-telegram-bot and twilio libraries. They record every
call, and can be told to fail (429 with retry_after, 500) a number of times."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass
class Call:
    method: str
    params: dict


@dataclass
class Failures:
    """The next `count` calls of `method` (or any method, '*') answer `status`."""

    plan: list[tuple[str, int, int, float | None]] = field(default_factory=list)

    def add(
        self, method: str, status: int, count: int = 1, retry_after: float | None = None
    ) -> None:
        self.plan.append((method, status, count, retry_after))

    def take(self, method: str) -> tuple[int, float | None] | None:
        for index, (m, status, count, retry_after) in enumerate(self.plan):
            if m in (method, "*") and count > 0:
                self.plan[index] = (m, status, count - 1, retry_after)
                return status, retry_after
        return None


class FakeTelegram:
    """The Bot API at http://127.0.0.1:PORT/bot<token>/<method>."""

    def __init__(self, token: str = "123456:TEST-token"):
        self.token = token
        self.calls: list[Call] = []
        self.failures = Failures()
        self.updates: list[dict] = []  # served to getUpdates
        self._ids = itertools.count(1000)
        self.changed = asyncio.Event()
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self.handle)
        app.router.add_get("/bot{token}/{method}", self.handle)
        self.server = TestServer(app)

    @property
    def base_url(self) -> str:
        return str(self.server.make_url("/bot"))

    async def start(self) -> FakeTelegram:
        await self.server.start_server()
        return self

    async def close(self) -> None:
        await self.server.close()

    def called(self, method: str) -> list[dict]:
        return [c.params for c in self.calls if c.method == method]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[dict]:
        async def enough():
            while len(self.called(method)) < count:
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(enough(), timeout)
        return self.called(method)

    async def handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        if request.content_type == "application/json":
            params = await request.json()
        else:
            params = {k: _maybe_json(v) for k, v in (await request.post()).items()}
        failure = self.failures.take(method)
        self.calls.append(Call(method, params))
        self.changed.set()
        if failure:
            status, retry_after = failure
            body = {
                "ok": False,
                "error_code": status,
                "description": "Too Many Requests" if status == 429 else "Internal Server Error",
            }
            if retry_after is not None:
                body["parameters"] = {"retry_after": retry_after}
            return web.json_response(body, status=status)
        return web.json_response({"ok": True, "result": await self.result(method, params)})

    async def result(self, method: str, params: dict):
        if method == "getMe":
            return {
                "id": 123456,
                "is_bot": True,
                "first_name": "Helpline",
                "username": "helpline_test_bot",
                "can_join_groups": False,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        if method == "sendMessage":
            return {
                "message_id": next(self._ids),
                "date": 1_700_000_000,
                "text": params.get("text", ""),
                "chat": {"id": int(params["chat_id"]), "type": "private"},
            }
        if method == "getUpdates":
            offset = int(params.get("offset") or 0)
            pending = [u for u in self.updates if u["update_id"] >= offset]
            if not pending:
                await asyncio.sleep(min(0.2, float(params.get("timeout") or 0)))
            return pending
        return True


def _maybe_json(value: str):
    try:
        return json.loads(value)
    except (ValueError, TypeError):
        return value


SMS_SENDER = "+15005550006"  # Twilio's magic test number
WHATSAPP_SENDER = "whatsapp:+14155238886"  # Twilio's WhatsApp sandbox sender


class FakeTwilio:
    """The Messages endpoint of Twilio's REST API."""

    def __init__(self, account_sid: str = "AC" + "0" * 32, auth_token: str = "test-auth-token"):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messages: list[dict] = []  # accepted (201) messages
        self.attempts = 0
        self.failures = Failures()
        self.delay = 0.0
        self.changed = asyncio.Event()
        self._ids = itertools.count(1)
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self.create_message)
        self.server = TestServer(app)

    @property
    def base_url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    def env(self) -> dict[str, str]:
        """The settings that send the helpline's SMS (from Twilio's magic test
        number) and WhatsApp messages (from Twilio's sandbox sender) to this fake."""
        return {
            "TWILIO_ACCOUNT_SID": self.account_sid,
            "TWILIO_AUTH_TOKEN": self.auth_token,
            "TWILIO_FROM_NUMBER": SMS_SENDER,
            "TWILIO_WHATSAPP_FROM": WHATSAPP_SENDER,
            "TWILIO_API_BASE_URL": self.base_url,
        }

    async def start(self) -> FakeTwilio:
        await self.server.start_server()
        return self

    async def close(self) -> None:
        await self.server.close()

    def to(self, number: str) -> list[str]:
        return [m["Body"] for m in self.messages if m["To"] == number]

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[dict]:
        async def enough():
            while len(self.messages) < count:
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(enough(), timeout)
        return self.messages

    async def create_message(self, request: web.Request) -> web.Response:
        self.attempts += 1
        credentials = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if (
            request.match_info["sid"] != self.account_sid
            or request.headers.get("Authorization") != f"Basic {credentials}"
        ):
            return web.json_response(
                {"code": 20003, "message": "Authenticate", "status": 401}, status=401
            )
        form = dict(await request.post())
        if self.delay:
            await asyncio.sleep(self.delay)
        failure = self.failures.take("Messages")
        if failure:
            status, _ = failure
            return web.json_response(
                {"code": 20429 if status == 429 else 20500, "message": "failure", "status": status},
                status=status,
            )
        sid = f"SM{next(self._ids):032d}"
        self.messages.append({**form, "sid": sid})
        self.changed.set()
        return web.json_response(
            {
                "sid": sid,
                "status": "queued",
                "to": form.get("To"),
                "from": form.get("From"),
                "body": form.get("Body"),
                "account_sid": self.account_sid,
                "num_segments": "1",
            },
            status=201,
        )
