"""Waiting until the helpline has nothing left to do, instead of sleeping.

A test that asserts that nothing (more) happened must first know that
everything that could happen has: every accepted message processed and every
reply delivered or given up. A fixed sleep passes vacuously on a slow machine.
"""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from bot.channels import REGISTRY
from bot.store import keys


class NotSettled(AssertionError):
    pass


async def settled(redis: Redis, timeout: float = 15.0) -> None:
    """Return once no conversation has messages waiting to be processed and no
    channel has replies waiting to be sent; raise NotSettled after `timeout`
    seconds. Works across processes: it reads the shared Redis."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.zcard(keys.WORK_PENDING)
            for name in REGISTRY:
                pipe.zcard(keys.send_pending(name))
            work, *sends = await pipe.execute()
        if work == 0 and not any(sends):
            return
        if loop.time() > deadline:
            raise NotSettled(
                f"not settled after {timeout} s: {work} conversations with messages to process, "
                f"{sum(sends)} with replies to send"
            )
        await asyncio.sleep(0.01)
