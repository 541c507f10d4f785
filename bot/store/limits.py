"""Fixed-window counters in Redis, shared by every process: sign-in attempts
and web chat floods.

A check takes one from several counters at once, or from none: a client over
any of its limits is told how long to wait (Retry-After), and its refused tries
are not counted, so it slows only itself. Counters are keyed by pseudonymous
subjects (an HMAC of the client address, never the address itself) and expire
with their window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from redis.asyncio import Redis

from bot.store import keys
from bot.store.scripts import load_script

LUA = Path(__file__).parent / "lua"


@dataclass(frozen=True)
class Limit:
    name: str
    most: int  # tries allowed per window
    window_s: int


class Limits:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._take = load_script(redis, LUA / "take.lua")
        self._give_back = load_script(redis, LUA / "give_back.lua")

    async def take(self, *checks: tuple[Limit, str]) -> int:
        """Count one try against each (limit, subject); 0 when allowed, else the
        whole seconds to wait (nothing counted)."""
        args: list[int] = []
        for limit, _ in checks:
            args += [limit.most, limit.window_s * 1000]
        wait_ms = await self._take(
            keys=[keys.limit(limit.name, subject) for limit, subject in checks], args=args
        )
        return math.ceil(int(wait_ms) / 1000)

    async def give_back(self, *checks: tuple[Limit, str]) -> None:
        """Undo the try `take` counted on each (limit, subject): it was legitimate
        (a right password), or refused for our own reasons (busy)."""
        await self._give_back(
            keys=[keys.limit(limit.name, subject) for limit, subject in checks], args=[]
        )

    async def clear(self, limit: Limit, subject_prefix: str) -> int:
        """Forget every counter of `limit` whose subject starts with `subject_prefix`;
        how many were there."""
        found = [
            k async for k in self.redis.scan_iter(keys.limit(limit.name, subject_prefix) + "*")
        ]
        if found:
            await self.redis.delete(*found)
        return len(found)

    async def blocked(self, limit: Limit, subject_prefix: str) -> int:
        """How many counters of `limit` under `subject_prefix` are full now."""
        full = 0
        async for key in self.redis.scan_iter(keys.limit(limit.name, subject_prefix) + "*"):
            if int(await self.redis.get(key) or 0) >= limit.most:
                full += 1
        return full
