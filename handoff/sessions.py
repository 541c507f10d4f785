"""Signing in and out of the console, and the guard every other call passes.

Sessions are server-side (Redis) behind a signed, HttpOnly, SameSite=Strict
cookie; every state-changing call needs the X-CSRF-Token header with the token
returned by login and by GET /console/api/me.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from functools import wraps

from aiohttp import web

from bot.channels.base import read_json
from bot.channels.clients import client_address
from bot.config import Network
from bot.store import keys
from bot.store.limits import Limit, Limits
from bot.store.privacy import Privacy
from handoff.audit import Audit
from handoff.counsellors import SESSION_IDLE_S, USERNAME_RE, Busy, Counsellors, Session
from handoff.pages import error

# Sign-in tries are counted before the password is checked. One client gets a
# few tries per account and more across accounts; an account itself is never
# locked, so whoever floods it slows only themselves (`helpline counsellor
# unlock` clears an account's counters early).
ACCOUNT_TRIES = Limit("login", 5, 15 * 60)  # subject: "user:client"
CLIENT_TRIES = Limit("login-client", 30, 15 * 60)  # subject: client
MAX_PASSWORD = 1024

COOKIE = "helpline_session"

SessionHandler = Callable[[web.Request, Session], Awaitable[web.StreamResponse]]


class SignIn:
    """Login, logout and `me`; `guard` wraps a handler that needs a session
    (and the supervisor role when asked)."""

    def __init__(
        self,
        counsellors: Counsellors,
        privacy: Privacy,
        secure_cookies: bool,
        trusted_proxies: tuple[Network, ...] = (),
        audit: Audit | None = None,
    ) -> None:
        self.counsellors = counsellors
        self.audit = audit
        self.privacy = privacy
        self.secure_cookies = secure_cookies
        self.trusted_proxies = trusted_proxies
        self.limits = Limits(counsellors.redis)

    def routes(self) -> list[web.AbstractRouteDef]:
        api = "/console/api"
        return [
            web.post(f"{api}/login", self.login),
            web.post(f"{api}/logout", self.guard(self.logout)),
            web.get(f"{api}/me", self.guard(self.me)),
        ]

    def guard(
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

    async def login(self, request: web.Request) -> web.Response:
        body = await read_json(request)
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
        if len(password) > MAX_PASSWORD:
            return error(400, f"A password has at most {MAX_PASSWORD} characters.")
        client = self.privacy.pid("client", client_address(request, self.trusted_proxies))
        account = username if USERNAME_RE.match(username) else "-"
        tries = ((ACCOUNT_TRIES, f"{account}:{client}"), (CLIENT_TRIES, client))
        if wait := await self.limits.take(*tries):
            return error(
                429,
                f"Too many sign-in attempts: try again in {-(-wait // 60)} minutes, or ask a supervisor.",
                retry_after=wait,
            )
        try:
            role = await self.counsellors.verify(username, password)
        except Busy:
            await self.limits.give_back(*tries)
            return error(503, "Many people are signing in: try again in a few seconds.", 5)
        if role is None:
            if self.audit and account != "-" and await self.counsellors.exists(account):
                await self.audit.record(account, "login_refused")
            return error(401, "Wrong username or password.")
        await self.limits.give_back(*tries)  # a right password is not an attack
        session = await self.counsellors.open_session(username, role)
        if self.audit:
            await self.audit.record(username, "login")
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
        if self.audit:
            await self.audit.record(session.user, "logout")
        response = web.json_response({"ok": True})
        response.del_cookie(COOKIE, path="/console")
        return response

    async def me(self, request: web.Request, session: Session) -> web.Response:
        return web.json_response(
            {"user": session.user, "role": session.role, "csrf_token": session.csrf_token}
        )


async def create_first_admin(counsellors: Counsellors) -> str | None:
    """With no accounts at all, create supervisor `admin` and return its one-time password."""
    if await counsellors.count():
        return None
    # Several processes may start together on a new Redis: one of them creates it.
    if not await counsellors.redis.set(keys.FIRST_ADMIN, "1", nx=True, ex=60):
        return None
    password = secrets.token_urlsafe(12)
    await counsellors.add("admin", password, "supervisor")
    return password
