"""Counsellor accounts (argon2 hashes in Redis), console sessions and presence."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
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
# argon2 costs ~100 ms of CPU (on 4 threads of its own) and 64 MiB per check: run
# off the event loop, a few at a time, with a short queue; beyond it a sign-in is
# told to retry. The checking threads run at a lower priority (nice 10, inherited
# by argon2's own threads), so that messages and the console keep their CPU
# during a flood of sign-ins.
VERIFY_AT_ONCE = 2
VERIFY_QUEUE = 32
CHECK_NICENESS = 10

_hasher = PasswordHasher()


def _lower_priority() -> None:
    with contextlib.suppress(OSError, AttributeError):  # Linux: per-thread niceness
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), CHECK_NICENESS)


_checkers = ThreadPoolExecutor(
    max_workers=VERIFY_AT_ONCE, thread_name_prefix="password-check", initializer=_lower_priority
)


class AccountError(ValueError):
    pass


class Busy(Exception):
    """Too many password checks waiting: try again in a moment."""


@dataclass(frozen=True)
class Account:
    username: str
    role: str
    disabled: bool
    created_at: float


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
        self._waiting = 0  # checks waiting or running in this process

    async def add(self, username: str, password: str, role: str | None = None) -> bool:
        """Create an account (a counsellor unless `role` says otherwise), or set an
        existing one's password, and its role only when `role` is given; True when new.
        A new password ends the account's open sessions."""
        check_username(username)
        if role is not None and role not in ROLES:
            raise AccountError(f"The role must be one of: {', '.join(ROLES)}.")
        check_password(password)
        new = not await self.redis.exists(keys.counsellor(username))
        if not new and role == "counsellor":
            await self._keep_a_supervisor(username)
        fields: dict[str | bytes | bytearray | memoryview | int | float, str] = {
            "password": await asyncio.to_thread(_hasher.hash, password)
        }
        if new:
            fields |= {"role": role or "counsellor", "created_at": str(self.clock())}
        else:
            fields["sessions_from"] = str(self.clock())
            if role is not None:
                fields["role"] = role
        await self.redis.hset(keys.counsellor(username), mapping=fields)
        await self.redis.sadd(keys.COUNSELLORS, username)
        return new

    async def set_password(self, username: str, password: str) -> None:
        """A new password for an existing account; its open sessions end."""
        if not await self.exists(username):
            raise AccountError(f"There is no account {username!r}.")
        await self.add(username, password)

    async def set_disabled(self, username: str, disabled: bool) -> None:
        """Disable (sign-in refused, open sessions ended) or enable an account."""
        if not await self.exists(username):
            raise AccountError(f"There is no account {username!r}.")
        if disabled:
            await self._keep_a_supervisor(username)
            await self.redis.hset(
                keys.counsellor(username),
                mapping={"disabled": "1", "sessions_from": str(self.clock())},
            )
            await self.leave(username)
        else:
            await self.redis.hdel(keys.counsellor(username), "disabled")

    async def _keep_a_supervisor(self, username: str) -> None:
        """Refuse to demote or disable the last enabled supervisor."""
        supervisors = {
            a.username for a in await self.accounts() if a.role == "supervisor" and not a.disabled
        }
        if supervisors == {username}:
            raise AccountError(
                f"{username} is the only enabled supervisor: make another supervisor first."
            )

    async def account(self, username: str) -> Account | None:
        return _account(username, await self.redis.hmget(keys.counsellor(username), ACCOUNT_FIELDS))

    async def accounts(self) -> list[Account]:
        names = sorted(decoded(n) for n in await self.redis.smembers(keys.COUNSELLORS))
        async with self.redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.hmget(keys.counsellor(name), ACCOUNT_FIELDS)
            rows = await pipe.execute() if names else []
        found = [_account(name, row) for name, row in zip(names, rows, strict=True)]
        return [a for a in found if a is not None]

    async def count(self) -> int:
        return await self.redis.scard(keys.COUNSELLORS)

    async def exists(self, username: str) -> bool:
        return bool(await self.redis.sismember(keys.COUNSELLORS, username))

    async def role(self, username: str) -> str | None:
        role = await self.redis.hget(keys.counsellor(username), "role")
        return decoded(role) if role else None

    async def verify(self, username: str, password: str) -> str | None:
        """The account's role when the password is right and the account enabled,
        else None (same cost either way). Raises Busy when too many checks wait."""
        stored, role, disabled = (
            await self.redis.hmget(keys.counsellor(username), ["password", "role", "disabled"])
            if USERNAME_RE.match(username or "")
            else (None, None, None)
        )
        right = await self._check(decoded(stored) if stored else _DUMMY_HASH, password)
        if stored is None or not right or disabled is not None or role is None:
            return None
        return decoded(role)

    async def _check(self, hashed: str, password: str) -> bool:
        if self._waiting >= VERIFY_QUEUE:
            raise Busy
        self._waiting += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(
                _checkers, _matches, hashed, password
            )
        finally:
            self._waiting -= 1

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
        # The account may have been removed, disabled, given a new password or
        # another role since login.
        role, disabled, sessions_from = await self.redis.hmget(
            keys.counsellor(data["user"]), ["role", "disabled", "sessions_from"]
        )
        if (
            self.clock() - created > SESSION_MAX_S
            or role is None
            or disabled is not None
            or created < float(sessions_from or 0)
        ):
            await self.redis.delete(keys.session(session_id))
            return None
        role = decoded(role)
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


ACCOUNT_FIELDS = ["role", "disabled", "created_at"]


def _account(username: str, fields: list) -> Account | None:
    """An Account from the ACCOUNT_FIELDS of its hash (None: no such account)."""
    role, disabled, created = fields
    if role is None:
        return None
    return Account(username, decoded(role), disabled is not None, float(created or 0))


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"The password must have at least {MIN_PASSWORD} characters.")
    return password


def _matches(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
