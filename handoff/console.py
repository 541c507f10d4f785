"""The counsellor console's JSON API (SPEC.md), its live events, and the page.

Sessions are server-side (Redis) behind a signed, HttpOnly, SameSite=Strict
cookie; every state-changing call needs the X-CSRF-Token header with the token
returned by login and by GET /console/api/me. Errors are JSON {"error": "..."}
sentences: 400 bad input, 401 no session, 403 wrong role or not yours,
404 unknown id, 409 taken by someone else, 429 too many logins.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from functools import wraps
from pathlib import Path

from aiohttp import web

from bot.channels import CAPABILITIES, LABELS
from bot.channels.base import read_json
from bot.channels.web import serve_file
from bot.store import keys
from bot.store.privacy import Privacy
from handoff.counsellors import SESSION_IDLE_S, Counsellors, Session
from handoff.events import EventHub
from handoff.relay import Handoff

STATIC_DIR = Path(__file__).resolve().parent / "static"
OPENAPI = Path(__file__).resolve().parent / "openapi.json"
COOKIE = "helpline_session"
MAX_MESSAGE = 4096
MAX_NOTES = 5000
HEARTBEAT_S = 15
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "media-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

SessionHandler = Callable[[web.Request, Session], Awaitable[web.StreamResponse]]


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _text(raw: bytes | str) -> str:
    """A Redis reply as text. redis-py types replies as bytes | str (str with
    decode_responses); this app's clients answer bytes."""
    return raw.decode() if isinstance(raw, bytes) else raw


class Console:
    """The console's pages and JSON API over the handoff; `hub` carries live events."""

    def __init__(
        self, handoff: Handoff, privacy: Privacy, hub: EventHub, secure_cookies: bool
    ) -> None:
        self.handoff = handoff
        self.redis = handoff.redis
        self.counsellors: Counsellors = handoff.counsellors
        self.privacy = privacy
        self.hub = hub
        self.secure_cookies = secure_cookies

    # ------------------------------------------------------------------ plumbing

    def routes(self) -> list[web.AbstractRouteDef]:
        api = "/console/api"
        return [
            web.get("/console", self.page),
            web.get("/console/", self.page),
            web.get("/console/static/channels.js", self.channel_labels),
            web.get("/console/static/{name}", self.static),
            web.get(f"{api}/openapi.json", self.openapi),
            web.post(f"{api}/login", self.login),
            web.post(f"{api}/logout", self.auth(self.logout)),
            web.get(f"{api}/me", self.auth(self.me)),
            web.get(f"{api}/queue", self.auth(self.queue)),
            web.get(f"{api}/events", self.auth(self.events)),
            web.get(f"{api}/conversations/{{id}}", self.auth(self.conversation)),
            web.post(f"{api}/conversations/{{id}}/claim", self.auth(self.claim)),
            web.post(f"{api}/conversations/{{id}}/messages", self.auth(self.message)),
            web.post(f"{api}/conversations/{{id}}/typing", self.auth(self.typing)),
            web.post(f"{api}/conversations/{{id}}/transfer", self.auth(self.transfer)),
            web.post(f"{api}/conversations/{{id}}/close", self.auth(self.close)),
            web.post(f"{api}/conversations/{{id}}/block", self.auth(self.block, supervisor=True)),
            web.get(f"{api}/counsellors", self.auth(self.team)),
            web.get(f"{api}/overview", self.auth(self.overview, supervisor=True)),
        ]

    def auth(
        self, handler: SessionHandler, supervisor: bool = False
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        @wraps(handler)
        async def wrapped(request: web.Request) -> web.StreamResponse:
            signed = request.cookies.get(COOKIE)
            session_id = self.privacy.unsign(signed) if signed else None
            session = await self.counsellors.get_session(session_id) if session_id else None
            if session is None:
                return error(
                    401, "You are not signed in, or your session has ended: please sign in."
                )
            if request.method != "GET":
                sent = request.headers.get("X-CSRF-Token", "")
                if not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
                    return error(403, "Missing or wrong X-CSRF-Token header: reload the console.")
            if supervisor and not session.is_supervisor:
                return error(403, "Only supervisors can do this.")
            await self.counsellors.touch_presence(session.user)
            return await handler(request, session)

        return wrapped

    async def _body(self, request: web.Request) -> dict | web.Response:
        return await read_json(request)

    # ------------------------------------------------------------------ page

    async def page(self, request: web.Request) -> web.StreamResponse:
        return self._file(STATIC_DIR / "index.html")

    async def channel_labels(self, request: web.Request) -> web.Response:
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

    async def static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        path = STATIC_DIR / name
        if "/" in name or name.startswith(".") or not path.is_file():
            raise web.HTTPNotFound()
        return self._file(path)

    @staticmethod
    def _file(path: Path) -> web.StreamResponse:
        return serve_file(path, CSP, "no-cache")

    async def openapi(self, request: web.Request) -> web.Response:
        return web.json_response(json.loads(OPENAPI.read_text()))

    # ------------------------------------------------------------------ session

    async def login(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        username, password = body.get("username"), body.get("password")
        if (
            not isinstance(username, str)
            or not isinstance(password, str)
            or not username
            or not password
        ):
            return error(400, "Send a JSON object with `username` and `password`.")
        client = request.remote or "unknown"
        if await self.counsellors.login_blocked(client, username):
            return error(429, "Too many failed sign-ins: wait 15 minutes, or ask a supervisor.")
        role = await self.counsellors.verify(username, password)
        if role is None:
            await self.counsellors.login_failed(client, username)
            return error(401, "Wrong username or password.")
        session = await self.counsellors.open_session(username, role)
        response = web.json_response(
            {"csrf_token": session.csrf_token, "user": username, "role": role}
        )
        response.set_cookie(
            COOKIE,
            self.privacy.sign(session.id),
            httponly=True,
            samesite="Strict",
            secure=self.secure_cookies,
            path="/console",
            max_age=SESSION_IDLE_S,
        )
        return response

    async def logout(self, request: web.Request, session: Session) -> web.Response:
        await self.counsellors.close_session(session.id)
        await self.counsellors.leave(session.user)
        response = web.json_response({"ok": True})
        response.del_cookie(COOKIE, path="/console")
        return response

    async def me(self, request: web.Request, session: Session) -> web.Response:
        return web.json_response(
            {"user": session.user, "role": session.role, "csrf_token": session.csrf_token}
        )

    # ------------------------------------------------------------------ queue

    async def queue(self, request: web.Request, session: Session) -> web.Response:
        entries = await self.handoff.queue.entries()
        return web.json_response([e.to_json() for e in entries])

    async def team(self, request: web.Request, session: Session) -> web.Response:
        """Counsellors (for transfer), who is online, and each one's load."""
        names = sorted(_text(u) for u in await self.redis.smembers(keys.COUNSELLORS))
        online = set(await self.counsellors.online())
        rows = []
        for name in names:
            rows.append(
                {
                    "user": name,
                    "role": await self.counsellors.role(name),
                    "online": name in online,
                    "load": await self.counsellors.load(name),
                }
            )
        return web.json_response(rows)

    async def overview(self, request: web.Request, session: Session) -> web.Response:
        entries = await self.handoff.queue.entries()
        waiting = [e for e in entries if e.assigned_to is None]
        queue_length = await self.handoff.queue.waiting_count()
        by_state: dict[str, int] = {
            "waiting": queue_length,
            "assigned": len(entries) - len(waiting),
        }
        return web.json_response(
            {
                "queue_length": queue_length,
                "longest_wait_seconds": max((e.waiting_seconds for e in waiting), default=0),
                "conversations_by_state": by_state,
                "online": await self.counsellors.online(),
            }
        )

    # ------------------------------------------------------------------ one conversation

    async def _open_with_body(
        self, request: web.Request, session: Session
    ) -> tuple[str, dict, dict] | web.Response:
        """The conversation id, its handoff record and the JSON body, or the error to give."""
        pid = request.match_info["id"]
        record, problem = await self._access(pid, session)
        if problem:
            return problem
        assert record is not None  # _access gives a record whenever it gives no error
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        return pid, record, body

    async def _access(self, pid: str, session: Session) -> tuple[dict | None, web.Response | None]:
        """The handoff record if `session` may see `pid`, else the error to return."""
        if not pid or len(pid) > 64:
            return None, error(404, "No such conversation.")
        raw = await self.redis.hgetall(keys.handoff(pid))
        record = {_text(k): _text(v) for k, v in raw.items()}
        if not record:
            left_with = await self.redis.get(keys.left(pid))
            if left_with is None:
                if await self.redis.exists(keys.state(pid)):
                    record = {"status": "bot"}
                else:
                    return None, error(404, "No such conversation.")
            else:
                record = {
                    "status": "left",
                    "assigned_to": "" if left_with == b"-" else _text(left_with),
                }
        assigned = record.get("assigned_to") or ""
        if assigned and assigned != session.user and not session.is_supervisor:
            return None, error(
                403, f"This conversation is with {assigned}: only they and supervisors can open it."
            )
        if record.get("status") == "bot" and not session.is_supervisor:
            return None, error(403, "This conversation is with the bot, not handed to counsellors.")
        return record, None

    async def conversation(self, request: web.Request, session: Session) -> web.Response:
        pid = request.match_info["id"]
        record, problem = await self._access(pid, session)
        if problem:
            return problem
        assert record is not None  # _access gives a record whenever it gives no error
        status = record.get("status", "bot")
        body = {
            "id": pid,
            "channel": record.get("channel"),
            "language": record.get("language"),
            "state": status,
            "risk": record.get("category") or None,
            "priority": record.get("severity"),
            "assigned_to": record.get("assigned_to") or None,
            "left": status == "left",
            "messages": [],
        }
        if status == "left":
            return web.json_response(body)
        caps = CAPABILITIES.get(body["channel"] or "")
        if caps is not None:
            body["max_text"] = caps.max_text  # a longer reply would be cut: the page says so first
        conv = await self.handoff.conversations.load(pid)
        if conv is not None:
            body["language"] = body["language"] or conv.language
            body["flow_state"] = f"{conv.flow}.{conv.state}"
        language = body["language"] or "en"
        catalogs = self.handoff.conversations.catalogs
        body["language_name"] = catalogs.language_name(language)
        body["direction"] = "rtl" if catalogs.is_rtl(language) else "ltr"
        if "enqueued_at" in record:
            body["waiting_seconds"] = int(time.time() - float(record["enqueued_at"]))
        for key in ("outcome", "notes", "closed_by"):
            if record.get(key):
                body[key] = record[key]
        raw = await self.redis.lrange(keys.transcript(pid), 0, -1)
        delivery = {
            _text(k): _text(v) for k, v in (await self.redis.hgetall(keys.delivery(pid))).items()
        }
        for item in raw:
            message = json.loads(item)
            if message.get("id") in delivery:
                message["status"] = delivery[message["id"]]
            body["messages"].append(message)
        engine = self.handoff.conversations.engine
        if conv is not None:
            body["canned"] = [
                {"id": key, "text": engine.render(text, conv)}
                for key, text in engine.settings.canned.items()
            ]
        return web.json_response(body)

    async def claim(self, request: web.Request, session: Session) -> web.Response:
        pid = request.match_info["id"]
        record, problem = await self._access(pid, session)
        if problem and problem.status != 403:
            return problem
        if problem and not session.is_supervisor:
            return error(409, "Another counsellor has already claimed this conversation.")
        if record is not None and record.get("status") in ("left", "bot", "closed"):
            return (
                error(409, "This conversation is not waiting for a counsellor.")
                if record["status"] != "left"
                else error(409, "The person left for safety: the conversation has ended.")
            )
        code, other, enqueued_at = await self.handoff.queue.claim(pid, session.user)
        if code == 404:
            return error(404, "No such conversation.")
        if code == 409:
            return error(409, f"{other} has already claimed this conversation.")
        if enqueued_at and not other and self.handoff.metrics:
            self.handoff.metrics.wait_seconds.observe(max(0.0, time.time() - enqueued_at))
        await self._publish({"type": "queue"}, {"type": "message", "id": pid})
        return web.json_response({"ok": True, "assigned_to": session.user})

    async def message(self, request: web.Request, session: Session) -> web.Response:
        opened = await self._open_with_body(request, session)
        if isinstance(opened, web.Response):
            return opened
        pid, record, body = opened
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            return error(400, "Send a JSON object with a non-empty `text`.")
        if len(text) > MAX_MESSAGE:
            return error(400, f"The message is longer than {MAX_MESSAGE} characters: split it.")
        if record.get("status") == "left":
            return error(409, "The person left for safety: nothing can be sent to her.")
        if record.get("status") not in ("waiting", "assigned"):
            return error(
                409, "This conversation is closed: nothing can be sent until she writes again."
            )
        code, message_id = await self.handoff.send_message(
            pid, session.user, text.strip(), session.is_supervisor
        )
        if code == 409:  # not claimed yet: replying claims it
            claimed, other, _ = await self.handoff.queue.claim(pid, session.user)
            if claimed != 200:
                return error(409, f"{other or 'Someone'} has already claimed this conversation.")
            await self._publish({"type": "queue"})
            code, message_id = await self.handoff.send_message(
                pid, session.user, text.strip(), session.is_supervisor
            )
        if code != 200:
            return error(
                code,
                {
                    403: "This conversation is with another counsellor.",
                    404: "This conversation has ended.",
                }.get(code, "The message was not sent."),
            )
        return web.json_response({"ok": True, "id": message_id})

    async def typing(self, request: web.Request, session: Session) -> web.Response:
        pid = request.match_info["id"]
        record, problem = await self._access(pid, session)
        if problem:
            return problem
        assert record is not None  # _access gives a record whenever it gives no error
        shown = record.get("status") == "assigned" and await self.handoff.typing(pid)
        return web.json_response({"ok": True, "shown": bool(shown)})

    async def transfer(self, request: web.Request, session: Session) -> web.Response:
        opened = await self._open_with_body(request, session)
        if isinstance(opened, web.Response):
            return opened
        pid, record, body = opened
        target = body.get("to")
        if not isinstance(target, str) or not target:
            return error(400, "Send a JSON object with `to`: the username to transfer to.")
        if not await self.counsellors.exists(target):
            return error(400, f"There is no counsellor named {target!r}.")
        if record.get("status") not in ("waiting", "assigned"):
            return error(409, "This conversation is not open: it cannot be transferred.")
        if record.get("assigned_to") != session.user and not session.is_supervisor:
            return error(403, "Claim the conversation before transferring it.")
        code, _, _ = await self.handoff.queue.claim(pid, target, take_over=True)
        if code != 200:
            return error(404, "No such conversation.")
        await self._publish({"type": "queue"}, {"type": "message", "id": pid})
        return web.json_response({"ok": True, "assigned_to": target})

    async def close(self, request: web.Request, session: Session) -> web.Response:
        opened = await self._open_with_body(request, session)
        if isinstance(opened, web.Response):
            return opened
        pid, record, body = opened
        outcome, notes, back = (
            body.get("outcome"),
            body.get("notes", ""),
            body.get("return_to_bot", False),
        )
        if not isinstance(outcome, str) or not outcome.strip() or len(outcome) > 100:
            return error(400, "`outcome` is required: a short text of at most 100 characters.")
        if not isinstance(notes, str) or len(notes) > MAX_NOTES:
            return error(400, f"`notes` must be a text of at most {MAX_NOTES} characters.")
        if not isinstance(back, bool):
            return error(400, "`return_to_bot` must be true or false.")
        if record.get("status") not in ("waiting", "assigned"):
            return error(409, "This conversation is already closed.")
        if record.get("assigned_to") not in (session.user, "", None) and not session.is_supervisor:
            return error(403, "This conversation is with another counsellor.")
        try:
            code = await self.handoff.close(pid, session.user, outcome.strip(), notes, back)
        except TimeoutError:
            return error(503, "The conversation is busy: try again in a moment.")
        if code != 200:
            return error(404, "No such conversation.")
        return web.json_response({"ok": True})

    async def block(self, request: web.Request, session: Session) -> web.Response:
        opened = await self._open_with_body(request, session)
        if isinstance(opened, web.Response):
            return opened
        pid, record, body = opened
        minutes = body.get("minutes")
        if (
            not isinstance(minutes, int)
            or isinstance(minutes, bool)
            or not 0 <= minutes <= 30 * 24 * 60
        ):
            return error(
                400, "`minutes` must be a whole number from 0 (unblock) to 43200 (30 days)."
            )
        if minutes == 0:
            await self.redis.delete(keys.blocked(pid))
        else:
            await self.redis.set(keys.blocked(pid), session.user, ex=minutes * 60)
        return web.json_response({"ok": True, "blocked_minutes": minutes})

    # ------------------------------------------------------------------ live events

    async def events(self, request: web.Request, session: Session) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        queue = self.hub.subscribe()
        try:
            await response.write(b"retry: 2000\nevent: ready\ndata: {}\n\n")
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), HEARTBEAT_S)
                except TimeoutError:
                    if await self.counsellors.get_session(session.id) is None:
                        break  # signed out elsewhere, or the session ended
                    await self.counsellors.touch_presence(session.user)
                    await response.write(b": heartbeat\n\n")
                    continue
                if not await self._may_see(event, session):
                    continue
                payload = json.dumps(event)
                await response.write(
                    f"event: {event.get('type', 'message')}\ndata: {payload}\n\n".encode()
                )
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.hub.unsubscribe(queue)
        return response

    async def _may_see(self, event: dict, session: Session) -> bool:
        if event.get("type") == "queue" or session.is_supervisor or "id" not in event:
            return True
        assigned = await self.redis.hget(keys.handoff(event["id"]), "assigned_to")
        if assigned is None:
            left = await self.redis.get(keys.left(event["id"]))
            return left is not None and _text(left) in ("-", session.user)
        return _text(assigned) in ("", session.user)

    async def _publish(self, *events: dict) -> None:
        for event in events:
            await self.redis.publish(keys.EVENTS, json.dumps(event))


async def create_first_admin(counsellors: Counsellors) -> str | None:
    """With no accounts at all, create supervisor `admin` and return its one-time password."""
    import secrets

    if await counsellors.count():
        return None
    # Several processes may start together on a new Redis: one of them creates it.
    if not await counsellors.redis.set(keys.FIRST_ADMIN, "1", nx=True, ex=60):
        return None
    password = secrets.token_urlsafe(12)
    await counsellors.add("admin", password, "supervisor")
    return password
