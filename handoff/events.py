"""Live events for consoles: one Redis pub/sub subscription per process, fanned
out to every open server-sent-events stream of that process.

Pub/sub is at-most-once, so events carry no state: a console that hears
"queue" or "message" re-reads the queue or the conversation through the API.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.store import keys

log = logging.getLogger("helpline.events")


CLOSED: dict = {"type": "closed"}  # put in a stream's queue: the stream ends


class EventHub:
    def __init__(self, redis: Redis):
        self.redis = redis
        self.closing = False
        self.listeners: set[asyncio.Queue] = set()
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def subscribe(self) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(maxsize=1000)
        self.listeners.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        self.listeners.discard(queue)

    def close_streams(self) -> None:
        """Shutting down: every open event stream ends now (the console reconnects
        to another process, or to this one once it is back)."""
        self.closing = True
        for queue in list(self.listeners):
            while not queue.empty():  # the end goes first
                queue.get_nowait()
            queue.put_nowait(CLOSED)

    async def _run(self) -> None:
        while True:
            pubsub = self.redis.pubsub()
            try:
                await pubsub.subscribe(keys.EVENTS)
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    try:
                        event = json.loads(message["data"])
                    except (ValueError, TypeError):
                        continue
                    for queue in list(self.listeners):
                        with contextlib.suppress(asyncio.QueueFull):
                            queue.put_nowait(event)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                log.warning("event subscription lost (%s); resubscribing", type(exc).__name__)
                await asyncio.sleep(1)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
