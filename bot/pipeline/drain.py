"""Per-conversation lists drained in order, one holder at a time across all
processes: the Python side of drain.lua (accept, take, apply, renew, release).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.clock import Clock, wall_clock
from bot.store import keys
from bot.store.scripts import load_script

log = logging.getLogger("helpline.pipeline")

DRAIN_LUA = Path(__file__).parent / "drain.lua"
LOCK_TTL_MS = 10_000  # a crashed holder's conversations are taken over after this
RENEW_EVERY_S = LOCK_TTL_MS / 3000  # live holders renew their locks this often
SWEEP_EVERY_S = 1.0  # how often each process looks for conversations left pending
STALE_AFTER_S = 2.0  # pending with no progress for this long: looked at by the sweep
SWEEP_BATCH = 500
APPLY_FIXED_ARGS = 10  # apply's arguments before the binary ones (drain.lua)
# A conversation remembers the ids of her last this many messages (a provider's
# retried webhook is a duplicate): a flood cannot grow the set without end.
DEDUP_KEEP = 1000


@dataclass(frozen=True)
class Head:
    """The oldest item of a list we hold, with the values read along with it."""

    item: bytes
    values: list


@dataclass(frozen=True)
class Applied:
    """What `apply` did: `kept` is False when our lock was lost (nothing written);
    `skipped` when the guard key was gone (the writes were skipped); `next` is the
    following item (None: the list is empty and released); `then` is the other
    list taken along, if asked and free."""

    kept: bool
    skipped: bool = False
    next: Head | None = None
    then: Head | None = None


class DrainScript:
    """The one Python interface to drain.lua for one kind of list (the inboxes,
    or one channel's outboxes): its steps accept, take, apply, renew and release,
    each atomic in Redis. Every lock taken here lives LOCK_TTL_MS."""

    def __init__(
        self,
        redis: Redis,
        list_key: Callable[[str], str],
        lock_key: Callable[[str], str],
        pending: str,
        read_along: tuple[Callable[[str], str], ...] = (),
        clock: Clock = wall_clock,
    ):
        self.script = load_script(redis, DRAIN_LUA)
        self.clock = clock
        self.redis = redis
        self.list_key = list_key
        self.lock_key = lock_key
        self.pending = pending  # sorted set: pid -> time of last progress
        self.read_along = read_along  # keys whose values come with each item

    def _keys(self, pid: str, read_along: bool = True) -> list[str]:
        reads = [key(pid) for key in self.read_along] if read_along else []
        return [self.lock_key(pid), self.list_key(pid), self.pending, *reads]

    def _args(self, step: str, pid: str, token: str, read_along: bool = True) -> list:
        reads = len(self.read_along) if read_along else 0
        return [step, pid, f"{self.clock():.3f}", LOCK_TTL_MS, reads, token]

    async def accept(
        self,
        pid: str,
        item: str | bytes,
        token: str,
        dedup_id: str,
        dedup_window_s: int,
        ttl_s: int,
        data_key: str,
    ) -> tuple[bool, Head | None] | bytes:
        """Append `item`, sealed with the data key `data_key` (wrapped), to `pid`'s
        list once (a second item with the same `dedup_id` within `dedup_window_s`,
        among her last DEDUP_KEEP, is a duplicate; '' for no check) and, with a
        `token`, take the list if it is free. Returns (stored, the head taken); or,
        when she already has another data key, that key (wrapped), and nothing is
        done."""
        result = await self.script(
            keys=[*self._keys(pid), keys.seen(pid) if dedup_id else "", keys.data_key(pid)],
            args=[
                *self._args("accept", pid, token),
                item,
                dedup_id,
                ttl_s,
                data_key,
                dedup_window_s,
                DEDUP_KEEP,
            ],
        )
        if result[0] == 3:
            return cast(bytes, result[1])
        return result[0] != 0, (Head(result[1], result[2]) if result[0] == 2 else None)

    async def take(self, pid: str, token: str) -> Head | None:
        """Take `pid`'s list with `token` if it is free and not empty."""
        result = await self.script(keys=self._keys(pid), args=self._args("take", pid, token))
        return Head(result[1], result[2]) if result[0] == 2 else None

    async def apply(
        self,
        pid: str,
        token: str,
        commands: list[list],
        guard: str = "",
        then: tuple[DrainScript, str] | None = None,
    ) -> Applied:
        """Apply `commands` (the writes of the item just handled: the first pops it)
        only while we hold the lock and `guard` exists (if given), then hand back
        the next item or release. With `then` = (other lists, token), also take
        that other list of `pid` (the outbox the writes filled)."""
        names, then_token, then_reads = self._keys(pid), "", 0
        if then is not None:
            other, then_token = then
            names += other._keys(pid)
            then_reads = len(other.read_along)
        # Sealed items are bytes, which JSON cannot carry: each travels as an
        # argument of its own, named in the JSON by {"b": its ARGV index}.
        binary: list[bytes] = []

        def part(value):
            if isinstance(value, bytes):
                binary.append(value)
                return {"b": APPLY_FIXED_ARGS + len(binary)}
            return value

        listed = json.dumps(
            [[part(v) for v in command] for command in commands], ensure_ascii=False
        )
        result = await self.script(
            keys=names,
            args=[*self._args("apply", pid, token), listed, guard, then_reads, then_token, *binary],
        )
        if result[0] == 0:
            return Applied(kept=False)
        other_taken = result[4]
        return Applied(
            kept=True,
            skipped=bool(result[3]),
            next=Head(result[1], result[2]) if result[0] == 2 else None,
            then=Head(other_taken[1], other_taken[2]) if other_taken[0] == 2 else None,
        )

    async def renew(self, pid: str, token: str) -> bool:
        """Extend our lock on `pid`'s list by LOCK_TTL_MS; False if it is not ours."""
        result = await self.script(
            keys=self._keys(pid, False), args=self._args("renew", pid, token, False)
        )
        return result[0] == 1

    async def release(self, pid: str, token: str) -> bool:
        """Let go of our lock before the list is empty; the conversation, if
        pending, is marked stale so that the next sweep takes it. False if not ours."""
        result = await self.script(
            keys=self._keys(pid, False), args=self._args("release", pid, token, False)
        )
        return result[0] == 1

    async def hold(self, pid: str, token: str) -> bool:
        """Take the lock alone, whatever the list holds (a console change made as a
        worker would): True if it was free."""
        return bool(await self.redis.set(self.lock_key(pid), token, nx=True, px=LOCK_TTL_MS))


# handle(pid, head, lock token) -> the next head (None: the list is done, or the lock lost)
Handler = Callable[[str, Head, str], Awaitable[Head | None]]


class OrderedDrain:
    """Drain per-conversation lists in order, one holder per conversation across
    all processes (drain.lua, through DrainScript). `start` drains a list whose lock we just
    took, `wake` tries to take one now, `sweep` takes over those left pending
    (their holder died, or another process stored them)."""

    def __init__(self, steps: DrainScript, handle: Handler, name: str, finish_lists: bool = False):
        self.steps = steps
        # Stopping: no new list is taken; a list being drained is finished
        # (`finish_lists`: an outbox, so that no send is cut off midway and sent
        # again after a restart) or left after its current item (an inbox).
        self.stopping = False
        self.finish_lists = finish_lists
        self.redis = steps.redis
        self.pending = steps.pending
        self.handle = handle
        self.name = name
        self.tasks: dict[str, asyncio.Task] = {}
        self._again: set[str] = set()
        self._given: dict[str, tuple[str, Head]] = {}
        self.held: dict[str, str] = {}  # pid -> token of the locks we hold, renewed
        self._releasing: set[asyncio.Task] = set()

    def start(self, pid: str, token: str, head: Head) -> None:
        """Drain `pid`'s list, whose lock we took with `token`, from `head`."""
        if self.stopping and not self.finish_lists:  # it stays pending, its lock freed
            release = asyncio.create_task(self._hand_over(pid, token))
            self._releasing.add(release)
            release.add_done_callback(self._releasing.discard)
            return
        self._given[pid] = (token, head)
        if pid not in self.tasks:
            self._spawn(pid)

    def wake(self, pid: str) -> None:
        """Drain `pid`'s list from this process (if another holds it, that one will)."""
        if self.stopping:
            return  # it stays pending: another process, or this one restarted, takes it
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
        head = await self.steps.take(pid, token)
        if head is not None:
            await self._drain_from(pid, token, head)

    async def _drain_from(self, pid: str, token: str, head: Head | None) -> None:
        self.held[pid] = token
        try:
            while head is not None:
                if self.stopping and not self.finish_lists:
                    await self._hand_over(pid, token)
                    return
                head = await self.handle(pid, head, token)
        except asyncio.CancelledError:
            # Shutting down mid-item: free the conversation for another process now.
            await asyncio.shield(self._hand_over(pid, token))
            raise
        finally:
            self.held.pop(pid, None)

    async def renew(self) -> None:
        """Keep the locks of the lists we are draining: however slow a step (a
        provider's timeout, a first search), only a dead holder's work is taken over."""
        await asyncio.gather(*(self.steps.renew(pid, token) for pid, token in self.held.items()))

    async def commit(
        self,
        pid: str,
        token: str,
        commands: list[list],
        guard: str = "",
        then: OrderedDrain | None = None,
    ) -> Applied:
        """Apply the writes of the item just handled (see DrainScript.apply); with
        `then`, also take that drain's list of `pid` (the outbox the writes
        filled) and start draining it."""
        then_token = uuid.uuid4().hex if then is not None else ""
        applied = await self.steps.apply(
            pid, token, commands, guard, (then.steps, then_token) if then is not None else None
        )
        if then is not None and applied.then is not None:
            then.start(pid, then_token, applied.then)
        return applied

    async def _hand_over(self, pid: str, token: str) -> None:
        with contextlib.suppress(RedisError):  # else the lock expires: swept then
            await self.steps.release(pid, token)

    async def sweep(self) -> None:
        """Wake the conversations pending with no progress for STALE_AFTER_S."""
        # Without withscores, ZRANGEBYSCORE answers the members only.
        stale = cast(
            list[bytes],
            await self.redis.zrangebyscore(
                self.pending, "-inf", self.steps.clock() - STALE_AFTER_S, start=0, num=SWEEP_BATCH
            ),
        )
        for raw in stale:
            pid = raw.decode()
            if pid not in self.tasks:
                self.wake(pid)

    async def stop(self, deadline: float | None = None) -> None:
        """Take no new list; let the lists being drained get as far as they may
        until `deadline` (loop time), then cancel what is left."""
        self.stopping = True
        loop = asyncio.get_running_loop()
        while self.tasks and deadline is not None and loop.time() < deadline:
            await asyncio.wait(list(self.tasks.values()), timeout=deadline - loop.time())
        tasks = list(self.tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, *self._releasing, return_exceptions=True)
