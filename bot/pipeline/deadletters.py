"""Dead letters: her messages whose processing raised, kept for operators.

Each conversation keeps its own in `keys.dead_letters(pid)`, so they expire with
the conversation (HELPLINE_RETENTION_DAYS) and go with it on safe exit; the
sorted set `keys.DEAD_LETTERS` only says which conversations have some. What an
operator can do (`helpline deadletters`): list them (counts and times, never the
text), retry them (back into the conversation's inbox, processed again by the
running app), or purge them.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import cast

from redis.asyncio import Redis

from bot.store import keys


@dataclass(frozen=True)
class DeadLetters:
    pid: str
    count: int
    first_at: float
    last_at: float


async def conversations(redis: Redis, pids: list[str] | None = None) -> list[str]:
    """The conversations named (all when None) that still have dead letters; the
    index forgets those whose letters expired with their conversation."""
    members = cast(list[bytes], await redis.zrange(keys.DEAD_LETTERS, 0, -1))
    indexed = [raw.decode() for raw in members]
    if pids is not None:
        wanted = set(pids)
        indexed = [pid for pid in indexed if pid in wanted]
    found = []
    for pid in indexed:
        if await redis.exists(keys.dead_letters(pid)):
            found.append(pid)
        else:
            await redis.zrem(keys.DEAD_LETTERS, pid)
    return found


async def list_dead_letters(redis: Redis) -> list[DeadLetters]:
    listed = []
    for pid in await conversations(redis):
        entries = [json.loads(raw) for raw in await redis.lrange(keys.dead_letters(pid), 0, -1)]
        if entries:
            times = [float(entry.get("at", 0)) for entry in entries]
            listed.append(DeadLetters(pid, len(entries), min(times), max(times)))
    return listed


async def legacy_count(redis: Redis) -> int:
    """Messages in the one list of versions before 2026-12 (no expiry: purge them)."""
    if await redis.type(keys.LEGACY_DEAD_LETTERS) != b"list":
        return 0
    return int(await redis.llen(keys.LEGACY_DEAD_LETTERS))


async def retry(redis: Redis, pids: list[str] | None, retention_s: int) -> int:
    """Put the dead letters back at the end of their inboxes (never before a
    message a worker holds) and mark the conversations pending, due at once:
    the running app's next sweep processes them. Returns how many went back."""
    moved = 0
    for pid in await conversations(redis, pids):
        async with redis.pipeline(transaction=True) as tx:
            # WATCH: a letter added between reading and deleting aborts the move
            # (WatchError, nothing changed) rather than being deleted unread.
            await tx.watch(keys.dead_letters(pid))
            entries = await tx.lrange(keys.dead_letters(pid), 0, -1)
            if not entries:
                continue
            tx.multi()
            for raw in entries:
                tx.rpush(keys.inbox(pid), _message(json.loads(raw)))
            tx.expire(keys.inbox(pid), retention_s)
            tx.delete(keys.dead_letters(pid))
            tx.zrem(keys.DEAD_LETTERS, pid)
            tx.zadd(keys.WORK_PENDING, {pid: 0})  # stale: the next sweep takes it
            await tx.execute()
            moved += len(entries)
    return moved


def _message(entry: dict) -> bytes:
    """The inbox item a dead letter keeps: sealed (bytes, in base64), or a JSON
    text from before data keys (2026-12)."""
    if "sealed" in entry:
        return base64.b64decode(entry["sealed"])
    return entry["message"].encode()


async def purge(redis: Redis, pids: list[str] | None) -> int:
    """Delete the dead letters of the conversations named (all when None)."""
    purged = 0
    for pid in await conversations(redis, pids):
        async with redis.pipeline(transaction=True) as tx:
            tx.llen(keys.dead_letters(pid))
            tx.delete(keys.dead_letters(pid))
            tx.zrem(keys.DEAD_LETTERS, pid)
            count, *_ = await tx.execute()
            purged += int(count)
    if pids is None:
        purged += await legacy_count(redis)
        await redis.delete(keys.LEGACY_DEAD_LETTERS)
    return purged
