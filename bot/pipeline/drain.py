"""Per-conversation lists drained in order, one holder at a time across all
processes: the Python side of drain.lua (accept, take, apply, renew, release).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from redis.exceptions import RedisError

from bot.store.scripts import Script

log = logging.getLogger("helpline.pipeline")

DRAIN_LUA = Path(__file__).parent / "drain.lua"
LOCK_TTL_MS = 10_000  # a crashed holder's conversations are taken over after this
RENEW_EVERY_S = LOCK_TTL_MS / 3000  # live holders renew their locks this often
SWEEP_EVERY_S = 1.0  # how often each process looks for conversations left pending
STALE_AFTER_S = 2.0  # pending with no progress for this long: looked at by the sweep
SWEEP_BATCH = 500


# handle(pid, item, values read along, lock token) -> (next item or None, its values)
Handler = Callable[[str, bytes, list, str], Awaitable[tuple[bytes | None, list]]]


def _now() -> str:
    return f"{time.time():.3f}"


class OrderedDrain:
    """Drain per-conversation lists in order, one holder per conversation across
    all processes (bot/lua/drain.lua). `start` drains a list whose lock we just
    took, `wake` tries to take one now, `sweep` takes over those left pending
    (their holder died, or another process stored them)."""

    def __init__(
        self,
        script: Script,
        list_key: Callable[[str], str],
        lock_key: Callable[[str], str],
        pending: str,
        read_along: tuple[Callable[[str], str], ...],
        handle: Handler,
        name: str,
    ):
        self.script = script
        self.redis = script.runner.redis
        self.list_key = list_key
        self.lock_key = lock_key
        self.pending = pending
        self.read_along = read_along  # keys whose values come with each item
        self.handle = handle
        self.name = name
        self.tasks: dict[str, asyncio.Task] = {}
        self._again: set[str] = set()
        self._given: dict[str, tuple[str, bytes, list]] = {}
        self.held: dict[str, str] = {}  # pid -> token of the locks we hold, renewed

    def keys(self, pid: str, read_along: bool = True) -> list[str]:
        """The script's keys for `pid`: lock, list, pending set, keys read along."""
        reads = [key(pid) for key in self.read_along] if read_along else []
        return [self.lock_key(pid), self.list_key(pid), self.pending, *reads]

    def args(self, step: str, pid: str, token: str, read_along: bool = True) -> list:
        """The script's first arguments for `step`."""
        return [step, pid, _now(), LOCK_TTL_MS, len(self.read_along) if read_along else 0, token]

    def start(self, pid: str, token: str, head: bytes, values: list) -> None:
        """Drain `pid`'s list, whose lock we took with `token`, from `head`."""
        self._given[pid] = (token, head, values)
        if pid not in self.tasks:
            self._spawn(pid)

    def wake(self, pid: str) -> None:
        """Drain `pid`'s list from this process (if another holds it, that one will)."""
        if pid in self.tasks:
            self._again.add(pid)  # our holder may be releasing: it looks once more
            return
        self._spawn(pid)

    def _spawn(self, pid: str) -> None:
        task = asyncio.create_task(self._run(pid))
        self.tasks[pid] = task
        task.add_done_callback(functools.partial(self._forget_task, pid))

    def _forget_task(self, pid: str, task: asyncio.Task) -> None:
        if self.tasks.get(pid) is task:  # cancelled before it started
            del self.tasks[pid]

    async def _run(self, pid: str) -> None:
        try:
            while True:
                self._again.discard(pid)
                given = self._given.pop(pid, None)
                if given is not None:
                    await self._drain_from(pid, *given)
                else:
                    await self.drain(pid)
                if pid not in self._again and pid not in self._given:
                    return
        except RedisError as exc:  # still pending: the sweep comes back to it
            log.warning("%s: Redis error (%s); will retry", self.name, type(exc).__name__)
        except Exception:
            log.exception("%s: unexpected error; will retry", self.name)
        finally:
            self.tasks.pop(pid, None)  # now, so that a wake from here on starts anew
            self._again.discard(pid)
            self._given.pop(pid, None)  # its lock expires; the sweep takes it over

    async def drain(self, pid: str) -> None:
        """Process every item of `pid`'s list, unless another holder has it."""
        token = uuid.uuid4().hex
        taken = await self.script(keys=self.keys(pid), args=self.args("take", pid, token))
        if taken[0] == 2:
            await self._drain_from(pid, token, taken[1], taken[2])

    async def _drain_from(self, pid: str, token: str, head: bytes | None, values: list) -> None:
        self.held[pid] = token
        try:
            while head is not None:
                head, values = await self.handle(pid, head, values, token)
        except asyncio.CancelledError:
            # Shutting down mid-item: free the conversation for another process now.
            await asyncio.shield(self._hand_over(pid, token))
            raise
        finally:
            self.held.pop(pid, None)

    async def renew(self) -> None:
        """Keep the locks of the lists we are draining: however slow a step (a
        provider's timeout, a first search), only a dead holder's work is taken over."""
        await asyncio.gather(*(self._step("renew", pid, token) for pid, token in self.held.items()))

    def _step(self, step: str, pid: str, token: str):
        """A step on our lock alone (renew, release): no keys read along."""
        return self.script(keys=self.keys(pid, False), args=self.args(step, pid, token, False))

    async def commit(
        self,
        pid: str,
        token: str,
        commands: list[list],
        guard: str = "",
        then: OrderedDrain | None = None,
    ) -> tuple[bytes | None, bool, list]:
        """Apply the writes of the item just handled (only while we hold the lock,
        and only while `guard` exists, if given); with `then`, also take that
        drain's list of `pid` (the outbox the writes filled) and start draining it.
        Returns the next item (None when the list is empty or the lock was lost),
        whether the guard skipped the writes, and the values read along with the
        next item."""
        keys, then_token, then_reads = self.keys(pid), "", 0
        if then is not None:
            keys += then.keys(pid)
            then_token, then_reads = uuid.uuid4().hex, len(then.read_along)
        result = await self.script(
            keys=keys,
            args=[
                *self.args("apply", pid, token),
                json.dumps(commands, ensure_ascii=False),
                guard,
                then_reads,
                then_token,
            ],
        )
        if result[0] == 0:
            return None, False, []
        other = result[4]
        if then is not None and other[0] == 2:
            then.start(pid, then_token, other[1], other[2])
        return (result[1] if result[0] == 2 else None), bool(result[3]), result[2]

    async def _hand_over(self, pid: str, token: str) -> None:
        with contextlib.suppress(RedisError):  # else the lock expires: swept then
            await self._step("release", pid, token)

    async def sweep(self) -> None:
        """Wake the conversations pending with no progress for STALE_AFTER_S."""
        stale = await self.redis.zrangebyscore(
            self.pending, "-inf", time.time() - STALE_AFTER_S, start=0, num=SWEEP_BATCH
        )
        for pid in stale:
            if pid.decode() not in self.tasks:
                self.wake(pid.decode())

    async def stop(self) -> None:
        tasks = list(self.tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
