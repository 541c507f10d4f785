"""Erasure that reaches the disk.

Redis keeps its data in an append-only file: a DEL (a safe exit) or an expiry is
one more line at its end, and the words it erased stay in the lines before it
until the file is rewritten, which Redis does by itself only when the file has
doubled: on a quiet line, months later. So every conversation is also listed in
`keys.COMPACT` with the time its data goes: now for a safe exit, the end of the
retention otherwise (every commit pushes it). Every few seconds one process (a
lock in Redis) looks for conversations whose time has come and whose keys are
really gone, and then has Redis rewrite its append-only file (BGREWRITEAOF): the
new file holds only what is still alive, and the old files are deleted. Many
erasures in the same minute share one rewrite.

A rewrite copies the whole dataset (a fork, then ~1 s per 100 MB written); it
runs at most once per `MIN_GAP_S`, and only after an erasure or an expiry.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from redis.exceptions import RedisError, ResponseError

from bot.store import keys

log = logging.getLogger("helpline.compaction")

LOOK_EVERY_S = 5.0
MIN_GAP_S = 30  # two rewrites at least this far apart, over every process
BATCH = 1000


def data_goes_at(pid: str, at: float) -> list:
    """The command that says when `pid`'s data goes: now for a safe exit, the end
    of the retention if nothing more happens."""
    return ["ZADD", keys.COMPACT, f"{at:.3f}", pid]


async def compact_once(redis: Any, now: float) -> bool:
    """Rewrite the append-only file if a conversation's data went since the last
    rewrite; True if a rewrite was started. One process at a time."""
    due = await redis.zrangebyscore(keys.COMPACT, "-inf", f"{now:.3f}", start=0, num=BATCH)
    if not due or not await redis.set(keys.COMPACT_LOCK, "1", nx=True, ex=MIN_GAP_S):
        return False
    gone, later = [], {}
    async with redis.pipeline(transaction=False) as pipe:
        for raw in due:
            for key in keys.conversation_keys(raw.decode()):
                pipe.pttl(key)
        ttls = await pipe.execute()  # PTTL also expires a key whose time has passed
    per = len(keys.conversation_keys("x"))
    for i, raw in enumerate(due):
        alive = max(ttls[i * per : (i + 1) * per])
        if alive > 0:
            later[raw] = now + alive / 1000  # written to since: look again when it goes
        elif alive == -1:
            later[raw] = now + MIN_GAP_S  # a key without expiry: not ours to judge yet
        else:
            gone.append(raw)
    if later:
        await redis.zadd(keys.COMPACT, {k: f"{t:.3f}" for k, t in later.items()})
    if not gone:
        await redis.delete(keys.COMPACT_LOCK)  # nothing rewritten: the next look may
        return False
    persistence = await redis.info("persistence")
    if int(persistence.get("aof_enabled", 0)):
        try:
            await redis.bgrewriteaof()
        except ResponseError as exc:
            if "already in progress" not in str(exc):
                raise
            # one is running, begun before these went: try again after the gap
            await redis.zadd(keys.COMPACT, {k: f"{now + MIN_GAP_S:.3f}" for k in gone})
            return False
    await redis.zrem(keys.COMPACT, *gone)
    return True


async def compact_forever(redis: Any, clock: Callable[[], float]) -> None:
    """`compact_once` every few seconds, for the app's lifetime."""
    refused = False
    while True:
        await asyncio.sleep(LOOK_EVERY_S)
        try:
            if await compact_once(redis, clock()):
                log.info("erased conversations: the append-only file is being rewritten")
            refused = False
        except ResponseError as exc:
            # A managed Redis may forbid BGREWRITEAOF: say so once, keep serving.
            if not refused:
                log.error(
                    "Redis refused to rewrite its append-only file (%s): erased words "
                    "stay in it until Redis rewrites it by itself",
                    exc,
                )
            refused = True
        except (RedisError, OSError):
            pass  # Redis is down or restarting: the next look tries again
