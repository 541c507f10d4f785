"""Counsellor accounts (argon2 hashes in Redis), console sessions and presence."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from redis.asyncio import Redis

from bot.clock import Clock, wall_clock
from bot.store import keys
from bot.store.replies import decoded

ROLES = ("counsellor", "supervisor")
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
MIN_PASSWORD = 10
SESSION_IDLE_S = 8 * 3600  # a session ends after this long without use
SESSION_MAX_S = 12 * 3600  # and at most this long after login: one shift
PRESENCE_S = 45  # online while the console has called in within this many seconds
LOGIN_WINDOW_S = 15 * 60
LOGIN_MAX_FAILURES = 5

_hasher = PasswordHasher()


class AccountError(ValueError):
    pass


@dataclass(frozen=True)
class Session:
    id: str
    user: str
    role: str
    csrf_token: str
    created_at: float

    @property
    def is_supervisor(self) -> bool:
        return self.role == "supervisor"


def check_username(username: str) -> str:
    if not USERNAME_RE.match(username or ""):
        raise AccountError(
            "A username is 2 to 32 lower-case letters, digits, dots, - or _, starting with a letter or digit."
        )
    return username


class Counsellors:
    def __init__(self, redis: Redis, clock: Clock = wall_clock):
        self.redis = redis
        self.clock = clock

    async def add(self, username: str, password: str, role: str = "counsellor") -> bool:
        """Create or update an account; True when it is new."""
        check_username(username)
        if role not in ROLES:
            raise AccountError(f"The role must be one of: {', '.join(ROLES)}.")
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"The password must have at least {MIN_PASSWORD} characters.")
        new = not await self.redis.exists(keys.counsellor(username))
        await self.redis.hset(
            keys.counsellor(username),
            mapping={
                "password": _hasher.hash(password),
                "role": role,
                "created_at": str(self.clock()),
            },
        )
        await self.redis.sadd(keys.COUNSELLORS, username)
        return new

    async def count(self) -> int:
        return await self.redis.scard(keys.COUNSELLORS)

    async def exists(self, username: str) -> bool:
        return bool(await self.redis.sismember(keys.COUNSELLORS, username))

    async def role(self, username: str) -> str | None:
        role = await self.redis.hget(keys.counsellor(username), "role")
        return decoded(role) if role else None

    async def verify(self, username: str, password: str) -> str | None:
        """The account's role when the password is right, else None (same cost either way)."""
        stored = (
            await self.redis.hget(keys.counsellor(username), "password")
            if USERNAME_RE.match(username or "")
            else None
        )
        try:
            if stored is None:
                _hasher.verify(_DUMMY_HASH, password)
                return None
            _hasher.verify(decoded(stored), password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        return await self.role(username)

    # ---- login rate limiting (per client address and per username)

    async def login_blocked(self, client: str, username: str) -> bool:
        counts = await self.redis.mget(
            keys.login_attempts(client), keys.login_attempts(f"user:{username}")
        )
        return any(int(c or 0) >= LOGIN_MAX_FAILURES for c in counts)

    async def login_failed(self, client: str, username: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            for key in (keys.login_attempts(client), keys.login_attempts(f"user:{username}")):
                pipe.set(
                    key, 0, ex=LOGIN_WINDOW_S, nx=True
                )  # the window starts at the first failure
                pipe.incr(key)
            await pipe.execute()

    # ---- sessions

    async def open_session(self, username: str, role: str) -> Session:
        session = Session(
            secrets.token_urlsafe(32), username, role, secrets.token_urlsafe(24), self.clock()
        )
        await self.redis.hset(
            keys.session(session.id),
            mapping={
                "user": username,
                "role": role,
                "csrf": session.csrf_token,
                "created_at": str(session.created_at),
            },
        )
        await self.redis.expire(keys.session(session.id), SESSION_IDLE_S)
        await self.touch_presence(username)
        return session

    async def get_session(self, session_id: str) -> Session | None:
        raw = await self.redis.hgetall(keys.session(session_id))
        if not raw:
            return None
        data = {decoded(k): decoded(v) for k, v in raw.items()}
        created = float(data["created_at"])
        if self.clock() - created > SESSION_MAX_S:
            await self.redis.delete(keys.session(session_id))
            return None
        # The account may have been removed or its role changed since login.
        role = await self.role(data["user"])
        if role is None:
            await self.redis.delete(keys.session(session_id))
            return None
        await self.redis.expire(keys.session(session_id), SESSION_IDLE_S)
        return Session(session_id, data["user"], role, data["csrf"], created)

    async def close_session(self, session_id: str) -> None:
        await self.redis.delete(keys.session(session_id))

    # ---- presence

    async def touch_presence(self, username: str) -> None:
        await self.redis.zadd(keys.PRESENCE, {username: self.clock()})

    async def leave(self, username: str) -> None:
        await self.redis.zrem(keys.PRESENCE, username)

    async def online(self, now: float | None = None) -> list[str]:
        now = self.clock() if now is None else now
        # Without withscores, ZRANGEBYSCORE answers the members only.
        members = cast(
            list[bytes], await self.redis.zrangebyscore(keys.PRESENCE, now - PRESENCE_S, "+inf")
        )
        return [u.decode() for u in members]

    async def load(self, username: str) -> int:
        return await self.redis.scard(keys.assigned(username))


_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
