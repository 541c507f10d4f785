"""Lua scripts whose calls are coalesced into pipelines.

Most of a redis-py round trip's cost is Python (packing the command, the
connection pool, waking the waiting task), not Redis. Calls made during one turn
of the event loop (many conversations at once, under load) are sent together as
one pipeline: one write, one read. Each script stays atomic on its own and the
calls of one batch are independent; a lone call is an ordinary EVALSHA.

Measured on our 2-core machine with redis-py 8 and hiredis: about 80 us of CPU
for a lone EVALSHA, 25 us per call in a batch of 100.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import weakref
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError


class Script:
    """One Lua script; `await script(keys=[...], args=[...])` runs it."""

    def __init__(self, runner: ScriptRunner, source: str):
        self.runner = runner
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    def __call__(self, keys: list[str], args: list[Any]) -> asyncio.Future:
        return self.runner.call(self, keys, args)


class ScriptRunner:
    def __init__(self, redis: Redis):
        self.redis = redis
        self._batch: list[tuple[Script, list[str], list[Any], asyncio.Future]] = []
        self._running: set[asyncio.Task] = set()

    def load(self, path: Path) -> Script:
        """The script in the file `path`."""
        return Script(self, _source(path))

    def call(self, script: Script, keys: list[str], args: list[Any]) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        if not self._batch:
            # Runs on the next turn of the loop, with every call made until then.
            task = asyncio.create_task(self._flush())
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        self._batch.append((script, keys, args, future))
        return future

    async def _flush(self) -> None:
        batch, self._batch = self._batch, []
        try:
            results = await self._execute(batch)
        except Exception as exc:  # the connection failed: every caller hears it
            for *_, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        except BaseException:  # shutting down
            for *_, future in batch:
                future.cancel()
            raise
        for (*_, future), result in zip(batch, results, strict=True):
            if future.done():  # the caller was cancelled
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)

    async def _execute(self, batch: list) -> list:
        async with self.redis.pipeline(transaction=False) as pipe:
            for script, keys, args, _ in batch:
                pipe.evalsha(script.sha, len(keys), *keys, *args)
            results = await pipe.execute(raise_on_error=False)
        missing = [i for i, result in enumerate(results) if isinstance(result, NoScriptError)]
        if missing:  # a new or restarted Redis: load the scripts, run those calls again
            for source in {batch[i][0].source for i in missing}:
                await self.redis.script_load(source)
            for i in missing:
                script, keys, args, _ = batch[i]
                try:
                    results[i] = await self.redis.evalsha(script.sha, len(keys), *keys, *args)
                except Exception as exc:  # noqa: BLE001 - handed to the caller
                    results[i] = exc
        return results


@functools.cache
def _source(path: Path) -> str:
    return path.read_text()


_runners: weakref.WeakKeyDictionary[Redis, ScriptRunner] = weakref.WeakKeyDictionary()


def load_script(redis: Redis, path: Path) -> Script:
    """The Lua script in the file `path` (beside the code that uses it), called through `redis`'s one ScriptRunner,
    so that every script of a process shares its batches."""
    runner = _runners.get(redis)
    if runner is None:
        runner = _runners[redis] = ScriptRunner(redis)
    return runner.load(path)
