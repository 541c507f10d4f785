"""The counsellor queue in Redis: most urgent first, older first within a level,
and nobody starves.

Each open handoff has one fixed score: the time it entered the queue plus its
level times the aging period (critical 0, high 1, medium 2, asked-for 3). A
sorted set ordered by that score serves critical before high before medium
before asked-for among people who arrived together, older before newer within a
level, and a waiting conversation overtakes every newer one of one level more
urgent for each aging period it has waited: it "rises one level" per period,
without any rescoring job.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass
from datetime import UTC, tzinfo
from pathlib import Path
from typing import Any, cast

from redis.asyncio import Redis

from bot.channels import CAPABILITIES
from bot.clock import Clock, wall_clock
from bot.store import keys, stats
from bot.store.replies import decoded
from bot.store.scripts import load_script

LUA = Path(__file__).parent / "lua"
LEVELS = ("critical", "high", "medium", "asked")
LEVEL_INDEX = {name: i for i, name in enumerate(LEVELS)}
# What the queue reads of each handoff (not the sealed notes, not the outcome).
ENTRY_FIELDS = (
    "status", "severity", "category", "channel", "language", "enqueued_at",
    "assigned_to", "score", "last_message_at",
)  # fmt: skip


def as_text(row: dict) -> dict[str, str]:
    """A handoff hash's fields as text; the close notes are sealed with her data
    key (bytes: the console opens them), so they are not among them."""
    return {decoded(k): decoded(v) for k, v in row.items() if k != b"notes"}


@dataclass(frozen=True)
class QueueEntry:
    id: str
    channel: str
    language: str
    priority: str  # the level it entered with
    risk: str | None  # risk category, if a risk phrase put it here
    waiting_seconds: int
    assigned_to: str | None
    effective_priority: str  # the level it stands at now, after aging
    status: str

    def to_json(self) -> dict:
        return self.__dict__.copy()


@dataclass(frozen=True)
class QueuePage:
    """A page of the queue, and the counts of the whole queue from the same read."""

    entries: list[QueueEntry]
    matching: int  # entries the filter matches, on every page
    waiting: int  # waiting, in all
    assigned: int  # with a counsellor, in all


class HandoffQueue:
    def __init__(
        self,
        redis: Redis,
        aging_minutes: float = 5.0,
        retention_seconds: int = 30 * 86400,
        clock: Clock = wall_clock,
        *,
        reply_window_s: float = 24 * 3600,
    ):
        self.redis = redis
        self.reply_window_s = reply_window_s
        self.clock = clock
        self.aging_seconds = aging_minutes * 60
        self.retention = retention_seconds
        self._enqueue = load_script(redis, LUA / "enqueue.lua")
        self._claim = load_script(redis, LUA / "claim.lua")
        self._leave = load_script(redis, LUA / "leave.lua")
        self._longest_wait = load_script(redis, LUA / "longest_wait.lua")
        self.metrics: Any = None  # helpline.metrics.Metrics, set by the app
        self.zone: tzinfo = UTC  # the statistics' days (the opening hours' time zone)

    def score(self, level: str, enqueued_at: float) -> float:
        return enqueued_at + LEVEL_INDEX[level] * self.aging_seconds

    def effective_level(self, level: str, waited: float) -> str:
        risen = int(waited // self.aging_seconds) if self.aging_seconds else 0
        return LEVELS[max(0, LEVEL_INDEX[level] - risen)]

    async def enqueue(
        self,
        pid: str,
        level: str,
        *,
        category: str | None,
        reason: str,
        channel: str,
        language: str,
        now: float | None = None,
    ) -> bool:
        """Queue `pid` at `level`; if it is queued already, only ever raise its urgency.
        True when it entered the queue now."""
        now = self.clock() if now is None else now
        new, _ = await self._enqueue(
            keys=[keys.handoff(pid), keys.QUEUE, keys.WAITING],
            args=[
                self.score(level, now),
                level,
                category or "",
                reason,
                channel,
                language,
                now,
                self.retention,
                pid,
            ],
        )
        if new:
            await self.redis.publish(keys.EVENTS, json.dumps({"type": "queue"}))
        return bool(new)

    async def position(self, pid: str) -> int | None:
        """1 for the next to be served among those waiting; None when not waiting."""
        # Without withscore, ZRANK answers the rank alone.
        rank = cast(int | None, await self.redis.zrank(keys.WAITING, pid))
        return None if rank is None else rank + 1

    async def claim(
        self, pid: str, username: str, *, take_over: bool = False, now: float | None = None
    ) -> tuple[int, str, float | None]:
        """(200, previous assignee, enqueued_at) | (404, '', None) | (409, current assignee, None)."""
        now = self.clock() if now is None else now
        code, previous, enqueued_at, first = await self._claim(
            keys=[keys.handoff(pid), keys.WAITING, keys.assigned(username), keys.WAITS],
            args=[pid, username, now, "1" if take_over else "0", keys.ASSIGNED_PREFIX],
        )
        if first == b"1":  # she waited until now: the wait and who took her, for the statistics
            waited = max(0.0, now - float(enqueued_at or now))
            await stats.count(
                self.redis,
                now,
                self.zone,
                "claimed",
                counsellor=username,
                wait=stats.wait_bucket(waited),
            )
        return (
            int(code),
            (previous.decode() if isinstance(previous, bytes) else previous or ""),
            (float(enqueued_at) if enqueued_at else None),
        )

    async def entries(self, now: float | None = None) -> list[QueueEntry]:
        """Every open handoff: those waiting, most urgent first; then those with a
        counsellor. The console's filters by channel and language read this;
        its plain pages read `page` (only the page, whatever the queue's size)."""
        now = self.clock() if now is None else now
        # Without withscores, ZRANGE answers the members only.
        members = cast(list[bytes], await self.redis.zrange(keys.WAITING, 0, -1))
        waiting_ids = [p.decode() for p in members]
        assigned = await self._assigned(now, set(waiting_ids))
        waiting, _ = await self._read(waiting_ids, now)
        return waiting + assigned

    async def page(
        self, offset: int, limit: int, level: str | None = None, now: float | None = None
    ) -> QueuePage:
        """`limit` open handoffs from `offset` on, in the order of `entries`, of
        those at urgency `level` now (after aging) if given; with the counts. It
        reads the page only: the waiting set's order is the queue's, and since a
        score is enqueued_at + level × aging, the urgency a waiting entry stands
        at now is a range of scores."""
        now = self.clock() if now is None else now
        low, high = self.score_range(level, now)
        assigned = await self._assigned(now)
        if level is not None:
            assigned = [e for e in assigned if e.effective_priority == level]
        for _ in range(5):  # again when the page held entries that had just left
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.zcard(keys.WAITING)
                pipe.zcount(keys.WAITING, low, high)
                pipe.zrangebyscore(keys.WAITING, low, high, start=offset, num=limit)
                waiting_all, matching, members = await pipe.execute()
            page, removed = await self._read([m.decode() for m in members], now)
            if not removed:
                break
        room = limit - len(page)
        start = max(0, offset - matching)
        page += assigned[start : start + room] if room > 0 else []
        return QueuePage(page, matching + len(assigned), waiting_all, len(assigned))

    async def longest_wait(self, now: float | None = None) -> int:
        """Seconds the longest-waiting person has waited (0 when nobody waits)."""
        now = self.clock() if now is None else now
        before, after = keys.handoff("\x00").split("\x00")
        oldest = await self._longest_wait(keys=[keys.WAITING], args=[before, after])
        return int(max(0.0, now - float(oldest))) if oldest else 0

    def score_range(self, level: str | None, now: float) -> tuple[str, str]:
        """The waiting set's scores of the entries at `level` now (all for None).
        A score s stands at level max(0, ceil((s - now) / aging))."""
        if level is None:
            return "-inf", "+inf"
        index, step = LEVEL_INDEX[level], self.aging_seconds
        if not step:  # no aging: the level is the score's order of entry
            raise ValueError("without aging, filter the entries instead")
        low = "-inf" if index == 0 else f"({now + (index - 1) * step!r}"
        high = "+inf" if index == len(LEVELS) - 1 else repr(now + index * step)
        return low, high

    async def _assigned(self, now: float, waiting: set[str] | None = None) -> list[QueueEntry]:
        """Open handoffs with a counsellor (a handful each), in the order they came."""
        names = [decoded(u) for u in await self.redis.smembers(keys.COUNSELLORS)]
        async with self.redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.smembers(keys.assigned(name))
            sets = await pipe.execute() if names else []
        pids = sorted({p.decode() for members in sets for p in members})
        if waiting is None and pids:  # not also waiting (mid-transfer)
            scores = await self.redis.zmscore(keys.WAITING, pids)
            waiting = {pid for pid, score in zip(pids, scores, strict=True) if score is not None}
        entries, _ = await self._read([p for p in pids if p not in (waiting or set())], now)
        return entries

    async def _read(self, pids: list[str], now: float) -> tuple[list[QueueEntry], bool]:
        """The entries of `pids`, in score order; those closed, expired or silent
        past the reply window are taken out of the queue (True when any was)."""
        if not pids:
            return [], False
        async with self.redis.pipeline(transaction=False) as pipe:
            for pid in pids:
                pipe.hmget(keys.handoff(pid), ENTRY_FIELDS)
            rows = await pipe.execute()
        found: list[tuple[float, QueueEntry]] = []
        stale: list[str] = []
        removed = False
        for pid, row in zip(pids, rows, strict=True):
            data = {f: v.decode() for f, v in zip(ENTRY_FIELDS, row, strict=True) if v is not None}
            if data.get("status") not in ("waiting", "assigned"):
                stale.append(pid)  # expired with the conversation, or closed
                continue
            if data["status"] == "waiting" and self.silent_too_long(data, now):
                # Nobody could write to her any more: she left the queue unanswered.
                left = await self._leave(
                    keys=[keys.handoff(pid), keys.QUEUE, keys.WAITING],
                    args=[pid, "waiting", "abandoned", now],
                )
                if left:
                    await self._count_left("abandoned", data, now)
                if left and self.metrics:
                    self.metrics.inc("helpline_queue_abandoned", "silent")
                removed = True
                continue
            level = data.get("severity", "asked")
            waited = max(0.0, now - float(data.get("enqueued_at", now)))
            entry = QueueEntry(
                id=pid,
                channel=data.get("channel", ""),
                language=data.get("language", ""),
                priority=level,
                risk=data.get("category") or None,
                waiting_seconds=int(waited),
                assigned_to=data.get("assigned_to") or None,
                effective_priority=self.effective_level(level, waited),
                status=data["status"],
            )
            found.append((float(data.get("score", 0)), entry))
        if stale:
            removed = True
            names = [decoded(u) for u in await self.redis.smembers(keys.COUNSELLORS)]
            await self.redis.zrem(keys.QUEUE, *stale)
            await self.redis.zrem(keys.WAITING, *stale)
            for name in names:
                await self.redis.srem(keys.assigned(name), *stale)
        found.sort(key=lambda item: item[0])
        return [entry for _, entry in found], removed

    def window_s(self, channel: str) -> float:
        """How long after her last message she may be written to on `channel`:
        HELPLINE_REPLY_WINDOW_HOURS, or less where the provider allows less
        (WhatsApp: 24 hours)."""
        caps = CAPABILITIES.get(channel)
        if caps is None or caps.reply_window_hours is None:
            return self.reply_window_s
        return min(self.reply_window_s, caps.reply_window_hours * 3600)

    def reply_window_ends(self, record: dict[str, str]) -> float:
        """When nobody may write to her any more, from a handoff record: the reply
        window after her last message (relay.lua checks the same inside its write)."""
        last = float(record.get("last_message_at") or record.get("enqueued_at") or 0)
        return last + self.window_s(record.get("channel", ""))

    def silent_too_long(self, record: dict[str, str], now: float) -> bool:
        """Her last message is older than the reply window: nobody may write to her."""
        return now > self.reply_window_ends(record)

    async def record(self, pid: str) -> dict[str, str]:
        """The conversation's handoff record, as text ({} when there is none)."""
        return as_text(await self.redis.hgetall(keys.handoff(pid)))

    async def usual_wait_minutes(self, now: float | None = None) -> int | None:
        """The median wait until a counsellor claimed someone, over the last
        claims of the past week, in whole minutes (at least 1); None with fewer
        than 3 such claims (too few to promise anything)."""
        now = self.clock() if now is None else now
        waits = []
        for raw in await self.redis.lrange(keys.WAITS, 0, -1):
            claimed_at, _, seconds = decoded(raw).partition(":")
            if now - float(claimed_at) <= 7 * 86400:
                waits.append(float(seconds))
        if len(waits) < 3:
            return None
        return max(1, math.ceil(statistics.median(waits) / 60))

    async def withdraw(self, pid: str, now: float | None = None) -> bool:
        """She no longer waits: the entry leaves the queue as withdrawn. False when
        a counsellor has her already (or she was not waiting)."""
        now = self.clock() if now is None else now
        done = await self._leave(
            keys=[keys.handoff(pid), keys.QUEUE, keys.WAITING],
            args=[pid, "waiting", "withdrawn", now],
        )
        if done:
            await self._count_left("withdrawn", await self.record(pid), now)
            if self.metrics:
                self.metrics.inc("helpline_queue_abandoned", "withdrawn")
            await self.redis.publish(keys.EVENTS, json.dumps({"type": "queue"}))
        return bool(done)

    async def _count_left(self, measure: str, record: dict[str, str], now: float) -> None:
        await stats.count(
            self.redis,
            now,
            self.zone,
            measure,
            channel=record.get("channel"),
            language=record.get("language"),
            severity=record.get("severity"),
        )

    async def waiting_count(self) -> int:
        return await self.redis.zcard(keys.WAITING)
