"""The durable, ordered message pipeline.

    webhook -> accept() -> inbox list + nudge (one Lua call) -> HTTP 200
    worker  -> drains one conversation's inbox under its lock -> runtime -> one atomic commit
    sender  -> drains one conversation's outbox under its lock -> channel.send, with retries

Why this shape:
- An inbound message is acknowledged only after Redis has it (append-only file
  on), and it leaves the inbox in the same atomic step that applies its effects
  (state, transcript, outbox): a crash at any moment either redoes the whole
  message or nothing.
- Order: each conversation has its own inbox and outbox list, drained by one
  holder of its lock at a time, in any process. The lock is released by a script
  that checks the list is empty, so a message pushed meanwhile is never stranded.
- Nudges go through Redis Streams with consumer groups; a nudge taken by a
  process that died stays pending and is claimed by another after LOCK_TTL.
- Delivery is at least once: a crash between a provider accepting a message and
  our removing it from the outbox resends that one message.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from bot import keys
from bot.channels.base import (
    Channel,
    Inbound,
    Outbound,
    PermanentSendError,
    RetryableSendError,
    Sent,
)
from bot.privacy import Privacy
from bot.store import load_script, transcript_entry

log = logging.getLogger("helpline.pipeline")

LOCK_TTL_MS = 10_000  # a crashed holder's conversations are taken over after this
DEDUP_TTL_S = 7 * 86400
MAX_SEND_ATTEMPTS = 6
BACKOFF_BASE_S = 0.5
BACKOFF_MAX_S = 30.0


def consumer_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


async def ensure_group(redis: Redis, stream: str, group: str) -> None:
    try:
        await redis.xgroup_create(stream, group, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


async def read_entries(
    redis: Redis,
    stream: str,
    group: str,
    consumer: str,
    *,
    claim_idle_ms: int | None,
    block_ms: int = 1000,
    count: int = 10,
) -> list:
    """Entries for this consumer: with `claim_idle_ms`, first those another consumer
    took and left pending that long (it died), else new ones (waiting up to `block_ms`)."""
    if claim_idle_ms is not None:
        claimed = await redis.xautoclaim(
            stream, group, consumer, min_idle_time=claim_idle_ms, start_id="0-0", count=2 * count
        )
        if claimed[1]:
            return claimed[1]
    response = await redis.xreadgroup(group, consumer, {stream: ">"}, count=count, block=block_ms)
    return response[0][1] if response else []


async def forget(redis: Redis, stream: str, group: str, entry_ids: list) -> None:
    """Acknowledge handled entries and drop them from the stream."""
    if entry_ids:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.xack(stream, group, *entry_ids)
            pipe.xdel(stream, *entry_ids)
            await pipe.execute()


class OrderedDrain:
    """Drain per-conversation lists in order, one holder per conversation across
    all processes, woken by nudges on a stream."""

    def __init__(
        self,
        redis: Redis,
        stream: str,
        group: str,
        list_key: Callable[[str], str],
        lock_key: Callable[[str], str],
        handle: Callable[[str, bytes, str], Awaitable[None]],
        name: str,
    ):
        self.redis = redis
        self.stream = stream
        self.group = group
        self.list_key = list_key
        self.lock_key = lock_key
        self.handle = handle
        self.name = name
        self.take = load_script(redis, "take")
        self.apply = load_script(redis, "apply")
        self.consumer = consumer_name()

    async def ensure_group(self) -> None:
        await ensure_group(self.redis, self.stream, self.group)

    async def drain(self, pid: str) -> bool:
        """Process every item of `pid`'s list. False when another holder has the
        conversation: the nudge then stays pending, and is looked at again after
        LOCK_TTL_MS in case that holder died."""
        token = uuid.uuid4().hex
        lock = self.lock_key(pid)
        taken = await self.take(keys=[lock, self.list_key(pid)], args=[token, LOCK_TTL_MS])
        if taken[0] == 0:
            return False
        head = taken[1] if taken[0] == 2 else None
        try:
            while head is not None:
                head = await self.handle(pid, head, token)
            return True
        except asyncio.CancelledError:
            # Shutting down mid-item: free the conversation and nudge it again so
            # that another process (or our next start) takes it over at once.
            await asyncio.shield(self._hand_over(pid, lock, token))
            raise

    async def commit(
        self, pid: str, token: str, commands: list[list], guard: str = ""
    ) -> tuple[bytes | None, bool]:
        """Apply the writes of the item just handled (only while we hold the lock,
        and only while `guard` exists, if given). Returns (the next item, or None
        when the list is empty or the lock was lost; whether the guard skipped the
        writes)."""
        result = await self.apply(
            keys=[self.lock_key(pid), self.list_key(pid)],
            args=[token, json.dumps(commands, ensure_ascii=False), LOCK_TTL_MS, guard],
        )
        if result[0] == 0:
            return None, False
        return (result[1] if result[0] == 2 else None), bool(result[2])

    async def _hand_over(self, pid: str, lock: str, token: str) -> None:
        try:
            if await self.redis.get(lock) == token.encode():
                await self.redis.delete(lock)
            await self.redis.xadd(self.stream, {"c": pid})
        except RedisError:
            pass

    async def run(self, stop: asyncio.Event, block_ms: int = 1000) -> None:
        await self.ensure_group()
        last_claim = 0.0
        while not stop.is_set():
            try:
                claim = time.monotonic() - last_claim > 5
                if claim:
                    last_claim = time.monotonic()
                entries = await read_entries(
                    self.redis,
                    self.stream,
                    self.group,
                    self.consumer,
                    claim_idle_ms=LOCK_TTL_MS if claim else None,
                    block_ms=block_ms,
                )
                # Different conversations of a batch are drained side by side (their
                # sends wait on the network); a conversation's own items stay in order.
                first: dict[str, list] = {}
                done = []
                for entry_id, fields in entries:
                    if not fields:  # a claimed entry that was deleted meanwhile
                        done.append(entry_id)
                    else:
                        first.setdefault(fields[b"c"].decode(), []).append(entry_id)
                pids = list(first)
                drained = await asyncio.gather(*(self.drain(pid) for pid in pids))
                for pid, ok in zip(pids, drained, strict=True):
                    if ok:
                        done.extend(first[pid])
                await forget(self.redis, self.stream, self.group, done)
            except asyncio.CancelledError:
                raise
            except RedisError as exc:
                log.warning("%s: Redis error, retrying in 1 s: %s", self.name, type(exc).__name__)
                await asyncio.sleep(1)
            except Exception:
                log.exception("%s: unexpected error; continuing", self.name)
                await asyncio.sleep(0.2)


class Pipeline:
    """Accepts inbound messages, runs workers and senders."""

    def __init__(self, redis: Redis, privacy: Privacy, retention_seconds: int):
        self.redis = redis
        self.privacy = privacy
        self.retention = retention_seconds
        self.channels: dict[str, Channel] = {}
        self.process: Callable[[str, Inbound], Awaitable[list[list]]] | None = None
        self.on_delivery: (
            Callable[[str, Outbound, str, Exception | None], Awaitable[None]] | None
        ) = None
        self.on_accept: Callable[[Inbound, bool], None] | None = None
        self._accept = load_script(redis, "accept")
        self.workers = OrderedDrain(
            redis,
            keys.WORK_STREAM,
            keys.WORKERS_GROUP,
            keys.inbox,
            keys.work_lock,
            self._process_head,
            "worker",
        )
        self.senders: dict[str, OrderedDrain] = {}
        self._tasks: list[asyncio.Task] = []
        self._stop = asyncio.Event()
        self.max_attempts = MAX_SEND_ATTEMPTS
        self.backoff_base = BACKOFF_BASE_S

    def add_channel(self, channel: Channel) -> None:
        """Deliver `channel`'s outbound messages from this process."""
        self.channels[channel.name] = channel
        self.senders[channel.name] = OrderedDrain(
            self.redis,
            keys.send_stream(channel.name),
            keys.SENDERS_GROUP,
            keys.outbox,
            keys.send_lock,
            functools.partial(self._send_head, channel.name),
            f"sender:{channel.name}",
        )

    # ------------------------------------------------------------------ inbound

    async def accept(self, inbound: Inbound) -> bool:
        """Store `inbound` durably, once. True if stored, False for a duplicate delivery.
        Return only after Redis has it: the caller may then acknowledge."""
        pid = self.privacy.pid(inbound.channel, inbound.user_id)
        data = inbound.to_json()
        data["user_id"] = self.privacy.encrypt(inbound.user_id, pid)
        dedup = keys.seen(inbound.channel, inbound.dedup_id) if inbound.dedup_id else ""
        stored = await self._accept(
            keys=[dedup, keys.inbox(pid), keys.WORK_STREAM],
            args=[json.dumps(data, ensure_ascii=False), pid, DEDUP_TTL_S, self.retention],
        )
        if self.on_accept:
            self.on_accept(inbound, stored == 1)
        return stored == 1

    async def _process_head(self, pid: str, raw: bytes, token: str) -> bytes | None:
        data = json.loads(raw)
        data["user_id"] = self.privacy.decrypt(data["user_id"], pid) or ""
        inbound = Inbound.from_json(data)
        try:
            commands = await self.process(pid, inbound)
        except Exception:
            # Never lose it, never loop on it: keep it for operators, tell the counsellors.
            log.exception("processing a message failed; kept in %s", keys.DEAD_LETTERS)
            commands = [
                ["LPOP", keys.inbox(pid)],
                [
                    "RPUSH",
                    keys.DEAD_LETTERS,
                    json.dumps({"pid": pid, "message": raw.decode(), "at": time.time()}),
                ],
                [
                    "RPUSH",
                    keys.transcript(pid),
                    transcript_entry(
                        "user", inbound.text, inbound.received_at, status="unprocessed"
                    ),
                ],
            ]
        following, _ = await self.workers.commit(pid, token, commands)
        return following

    # ------------------------------------------------------------------ outbound

    async def _send_head(self, channel_name: str, pid: str, raw: bytes, token: str) -> bytes | None:
        item = json.loads(raw)
        outbound = Outbound.from_json(item)
        sealed = item.get("to") or (await self.redis.get(keys.address(pid)) or b"").decode()
        address = self.privacy.decrypt(sealed, pid) if sealed else None
        channel = self.channels[channel_name]
        sent, error = None, None
        if address is None:
            error = PermanentSendError("no address for this conversation")
        else:
            lock = keys.send_lock(pid)
            sent, error = await self.send_with_retries(
                channel, address, outbound, lambda delay: self._sleep_holding(lock, token, delay)
            )
        commands = [["LPOP", keys.outbox(pid)]]
        if outbound.kind == "text" and outbound.id:
            status = "failed" if error else "sent"
            commands.append(["HSET", keys.delivery(pid), outbound.id, status])
            if error:
                commands.append(
                    ["PUBLISH", keys.EVENTS, json.dumps({"type": "message", "id": pid})]
                )
        if sent and sent.message_ids and channel.capabilities.delete_messages:
            now = str(time.time())
            for message_id in sent.message_ids:
                commands.append(["ZADD", keys.telegram_messages(pid), now, message_id])
        if sent:
            commands.extend(channel.after_send(pid, outbound, sent))
        # Guarded by the outbox: if a safe exit erased the conversation while this
        # message was on its way, nothing is recorded, and the message is deleted too.
        following, erased = await self.senders[channel_name].commit(
            pid, token, commands, guard=keys.outbox(pid)
        )
        if erased and sent and sent.message_ids and channel.capabilities.delete_messages:
            # The conversation was erased while this message was on its way: delete it too.
            await self.schedule_deletion(channel_name, address, [int(m) for m in sent.message_ids])
        if self.on_delivery:
            await self.on_delivery(channel_name, outbound, pid, error)
        return following

    async def send_with_retries(
        self,
        channel: Channel,
        address: str,
        outbound: Outbound,
        wait: Callable[[float], Awaitable[None]],
    ) -> tuple[Sent | None, Exception | None]:
        """Send, retrying with exponential backoff (or the provider's retry_after) on
        retryable errors; (what was sent, None) or (None, the final error)."""
        error: Exception | None = None
        for attempt in range(self.max_attempts):
            try:
                return await channel.send(address, outbound), None
            except RetryableSendError as exc:
                error = exc
                if attempt < self.max_attempts - 1:
                    backoff = min(BACKOFF_MAX_S, self.backoff_base * 2**attempt) * random.uniform(
                        0.8, 1.2
                    )
                    await wait(exc.retry_after if exc.retry_after is not None else backoff)
            except PermanentSendError as exc:
                return None, exc
            except Exception as exc:  # a bug in a channel must not stop the outbox
                log.exception("channel %s failed to send", channel.name)
                return None, PermanentSendError(type(exc).__name__)
        return None, error

    async def _sleep_holding(self, lock: str, token: str, delay: float) -> None:
        """Wait before a retry, keeping the conversation's send lock alive (a crash
        meanwhile lets it expire within LOCK_TTL_MS)."""
        deadline = time.monotonic() + delay
        while (left := deadline - time.monotonic()) > 0:
            if await self.redis.get(lock) == token.encode():
                await self.redis.pexpire(lock, LOCK_TTL_MS)
            await asyncio.sleep(min(left, LOCK_TTL_MS / 3000))

    async def schedule_deletion(self, channel: str, address: str, message_ids: list[int]) -> None:
        """Queue deletion of a chat's messages (after safe exit), done by `_erase_loop`."""
        if not message_ids:
            return
        sealed = self.privacy.encrypt(address, "erase")
        await self.redis.xadd(
            keys.ERASE_STREAM, {"channel": channel, "to": sealed, "ids": json.dumps(message_ids)}
        )

    async def _erase_loop(self, stop: asyncio.Event) -> None:
        group = "erasers"
        await ensure_group(self.redis, keys.ERASE_STREAM, group)
        consumer = consumer_name()
        while not stop.is_set():
            try:
                entries = await read_entries(
                    self.redis, keys.ERASE_STREAM, group, consumer, claim_idle_ms=60_000
                )
                for _, fields in entries:
                    channel = self.channels.get(fields[b"channel"].decode()) if fields else None
                    address = (
                        self.privacy.decrypt(fields[b"to"].decode(), "erase") if fields else None
                    )
                    if channel and address:
                        deletion = Outbound(
                            kind="delete", message_ids=tuple(json.loads(fields[b"ids"]))
                        )
                        await self.send_with_retries(channel, address, deletion, asyncio.sleep)
                await forget(
                    self.redis, keys.ERASE_STREAM, group, [entry_id for entry_id, _ in entries]
                )
            except asyncio.CancelledError:
                raise
            except RedisError:
                await asyncio.sleep(1)
            except Exception:
                log.exception("eraser: unexpected error; continuing")
                await asyncio.sleep(0.5)

    # ------------------------------------------------------------------ lifecycle

    async def start(self, workers: int = 4, senders: int = 8) -> None:
        self._stop.clear()
        for drain, count in [
            (self.workers, workers),
            *((d, senders) for d in self.senders.values()),
        ]:
            await drain.ensure_group()
            for _ in range(count):
                self._tasks.append(asyncio.create_task(drain.run(self._stop)))
        self._tasks.append(asyncio.create_task(self._erase_loop(self._stop)))

    async def stop(self) -> None:
        self._stop.set()
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
