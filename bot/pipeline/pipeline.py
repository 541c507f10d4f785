"""The durable, ordered message pipeline.

    webhook -> accept() -> inbox list + pending mark (one Lua call) -> HTTP 200
            -> this process drains the conversation's inbox at once, under its lock:
               runtime -> one atomic commit (state, transcript, outbox)
            -> and then its outbox, under another lock: channel.send, with retries

Why this shape:
- An inbound message is acknowledged only after Redis has it (append-only file
  on), and it leaves the inbox in the same atomic step that applies its effects
  (state, transcript, outbox): a crash at any moment either redoes the whole
  message or nothing.
- Order: each conversation has its own inbox and outbox list, drained by one
  holder of its lock at a time, in any process. The lock is released by a script
  that checks the list is empty, so a message pushed meanwhile is never stranded:
  a message stored by one process while another drains the conversation is
  handled by that other process.
- No message waits for a nudge: the process that stored a message starts on it
  at once. Sorted sets of conversations with pending work (pid -> time of last
  progress) are swept every second by every process: a conversation whose holder
  died (its lock expired after LOCK_TTL) or whose channel only another process
  delivers is taken over from there.
- Lua calls made in the same turn of the event loop go to Redis as one pipeline
  (bot/store/scripts.py): under load, hundreds of conversations cost a few round trips.
- Delivery is at least once: a crash between a provider accepting a message and
  our removing it from the outbox resends that one message.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import json
import os
import random
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import cast

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from bot.channels.base import (
    Channel,
    Inbound,
    NoWords,
    Outbound,
    PermanentSendError,
    RetryableSendError,
    Sent,
    Words,
)
from bot.clock import Clock, wall_clock
from bot.pipeline import drain as timing
from bot.pipeline.drain import (
    DrainScript,
    Head,
    OrderedDrain,
    log,
)
from bot.store import keys
from bot.store.commit import Commit, cap_transcript, transcript_entry
from bot.store.privacy import Privacy
from bot.store.vault import DataKey, Vault, is_sealed

MAX_SEND_ATTEMPTS = 6
BACKOFF_BASE_S = 0.5
BACKOFF_MAX_S = 30.0
ERASERS_GROUP = "erasers"
# With a Sentinel group: how long an acknowledgement waits for a replica to
# have the message (WAIT), before it is given on the primary's copy alone.
REPLICA_WAIT_MS = 500
ALONE_FOR_S = 10


def dedup_id(channel: str, provider_id: str) -> str:
    """What her conversation remembers of a provider's message id (a webhook
    retried is a duplicate): a short digest, so that the store does not keep the
    provider's own ids of her messages."""
    digest = hashlib.blake2b(f"{channel}:{provider_id}".encode(), digest_size=6).digest()
    return base64.urlsafe_b64encode(digest).decode()


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
    claim_idle_ms: int,
    block_ms: int = 1000,
    count: int = 10,
) -> list:
    """Entries for this consumer: first those another consumer took and left
    pending `claim_idle_ms` (it died), else new ones (waiting up to `block_ms`)."""
    # XAUTOCLAIM answers [next start id, entries, deleted ids]; XREADGROUP
    # [[stream, entries]] or nothing; an entry is (id, fields).
    claimed = cast(
        list,
        await redis.xautoclaim(
            stream, group, consumer, min_idle_time=claim_idle_ms, start_id="0-0", count=count
        ),
    )
    if claimed[1]:
        return claimed[1]
    response = cast(
        list, await redis.xreadgroup(group, consumer, {stream: ">"}, count=count, block=block_ms)
    )
    return response[0][1] if response else []


async def forget(redis: Redis, stream: str, group: str, entry_ids: list) -> None:
    """Acknowledge handled entries and drop them from the stream."""
    if entry_ids:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.xack(stream, group, *entry_ids)
            pipe.xdel(stream, *entry_ids)
            await pipe.execute()


def read_backlog(pipe) -> None:
    """Queue on a redis-py pipeline the two reads `backlog` takes."""
    pipe.zcard(keys.WORK_PENDING)
    pipe.zrange(keys.WORK_PENDING, 0, 0, withscores=True)


def backlog(count: int, oldest: list, now: float) -> tuple[int, float]:
    """Her messages stored but not yet processed: (conversations with some, how
    long the oldest has waited in seconds), from `read_backlog`'s two answers."""
    return count, max(0.0, now - float(oldest[0][1])) if oldest else 0.0


# process(pid, inbound, [raw state, blocked] as read along, her data key) -> the message's writes
Process = Callable[[str, Inbound, list, DataKey], Awaitable[Commit]]
OnAccept = Callable[[Inbound, bool], None]  # (inbound, new: not a duplicate)
# (channel, outbound, pid, the final error or None)
OnDelivery = Callable[[str, Outbound, str, Exception | None], Awaitable[None]]
OnSendError = Callable[[str, Exception], None]  # (channel, each refusal or failure)


class Pipeline:
    """Accepts inbound messages; drains inboxes (processing) and outboxes (sending)."""

    def __init__(
        self,
        redis: Redis,
        vault: Vault,
        retention_seconds: int,
        *,
        process: Process,
        on_accept: OnAccept | None = None,
        on_delivery: OnDelivery | None = None,
        on_send_error: OnSendError | None = None,
        max_attempts: int = MAX_SEND_ATTEMPTS,
        backoff_base: float = BACKOFF_BASE_S,
        clock: Clock = wall_clock,
        words: Words | None = None,
        replicas: int = 0,
    ):
        """`process` turns one inbound message into a Commit (the runtime);
        `on_accept` and `on_delivery` are told of each message in and out, and
        `on_send_error` of each refusal or failure of a provider (metrics);
        `words` are the live flows' keywords and texts, for the channels;
        `replicas`: how many replicas must hold a message before it is
        acknowledged (WAIT), waiting at most REPLICA_WAIT_MS."""
        self.redis = redis
        self.vault = vault
        self.privacy: Privacy = vault.privacy
        self.retention = retention_seconds
        self.process = process
        self.on_accept = on_accept
        self.on_delivery = on_delivery
        self.on_send_error = on_send_error
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.clock = clock
        self.words: Words = words or NoWords()
        self.replicas = replicas
        self._alone_until = 0.0  # (monotonic) no replica answered: acknowledge without one
        self.channels: dict[str, Channel] = {}
        self.workers = OrderedDrain(
            DrainScript(
                redis,
                keys.inbox,
                keys.work_lock,
                keys.WORK_PENDING,
                (keys.state, keys.blocked, keys.data_key),
                clock,
            ),
            self._process_head,
            "worker",
        )
        self.senders: dict[str, OrderedDrain] = {}
        self._tasks: list[asyncio.Task] = []
        self._stop = asyncio.Event()

    def add_channel(self, channel: Channel) -> None:
        """Deliver `channel`'s outbound messages from this process."""
        self.channels[channel.name] = channel
        self.senders[channel.name] = OrderedDrain(
            DrainScript(
                self.redis,
                keys.outbox,
                keys.send_lock,
                keys.send_pending(channel.name),
                (keys.address, keys.data_key),
                self.clock,
            ),
            functools.partial(self._send_head, channel.name),
            f"sender:{channel.name}",
            finish_lists=True,
        )

    def wake_worker(self, pid: str) -> None:
        """Process `pid`'s inbox now (after a change made under its work lock)."""
        self.workers.wake(pid)

    def wake_sender(self, channel: str, pid: str) -> None:
        """Deliver `pid`'s outbox now, if this process has `channel` (else the
        sweep of a process that has it will)."""
        if channel in self.senders:
            self.senders[channel].wake(pid)

    # ------------------------------------------------------------------ inbound

    async def accept(self, inbound: Inbound) -> bool:
        """Store `inbound` durably, once. True if stored, False for a duplicate delivery.
        Return only after Redis has it: the caller may then acknowledge."""
        pid = await self.privacy.find_pid(self.redis, inbound.channel, inbound.user_id)
        data = inbound.to_json()
        data["received_at"] = inbound.received_at or self.clock()
        data["user_id"] = self.privacy.encrypt(inbound.user_id, pid)
        dedup = dedup_id(inbound.channel, inbound.dedup_id) if inbound.dedup_id else ""
        item = json.dumps(data, ensure_ascii=False)
        workers = self.workers
        # Take the conversation at once, unless our own holder has it (it is told
        # to look again instead).
        ours = pid in workers.tasks
        token = "" if ours else uuid.uuid4().hex
        key = self.vault.cached(pid)  # checked by the script: one round trip
        while True:
            accepted = await workers.steps.accept(
                pid,
                key.seal(item),
                token,
                dedup,
                keys.trace_ttl(self.retention),
                self.retention,
                key.wrapped,
            )
            if not isinstance(accepted, bytes):
                break
            stored_key = self.vault.unwrap(pid, accepted)
            if stored_key is None:
                raise RuntimeError("her data key does not open with the secret key")
            key = stored_key
        stored, head = accepted
        if stored and self.replicas:
            await self._replicated()
        if self.on_accept:
            self.on_accept(inbound, stored)
        if head is not None:
            workers.start(pid, token, head)
        elif stored and ours:
            workers.wake(pid)
        return stored

    async def _replicated(self) -> None:
        """Wait until a replica has the message too (a failover to it keeps it).
        If none confirms within REPLICA_WAIT_MS (no replica left: after a
        failover, until the old primary comes back as one), the primary's copy is
        enough for ALONE_FOR_S: nobody waits a second per message meanwhile."""
        if time.monotonic() < self._alone_until:
            return
        copies = int(await self.redis.execute_command("WAIT", self.replicas, REPLICA_WAIT_MS))
        if copies < self.replicas:
            self._alone_until = time.monotonic() + ALONE_FOR_S
            log.warning(
                "no replica confirmed a message within %d ms: messages are acknowledged "
                "on the primary alone for the next %d s",
                REPLICA_WAIT_MS,
                ALONE_FOR_S,
            )

    async def _process_head(self, pid: str, head: Head, token: str) -> Head | None:
        raw, (state, blocked, wrapped) = head.item, head.values
        key = self.vault.unwrap(pid, wrapped) or await self.vault.ensure(pid)
        opened = key.open(raw)
        if opened is None:  # never: the key stays while her inbox has messages
            raise RuntimeError("an inbound message does not open with her data key")
        data = json.loads(opened)
        data["user_id"] = self.privacy.decrypt(data["user_id"], pid) or ""
        inbound = Inbound.from_json(data)
        sends = 0
        try:
            commit = await self.process(pid, inbound, [state, blocked], key)
            commands, sends = commit.finish(), commit.sends
        except Exception:
            # Never lose it, never loop on it: keep it for operators, tell the counsellors.
            log.exception(
                "processing a message failed; kept as a dead letter (helpline deadletters)"
            )
            now = self.clock()
            commands = [
                ["LPOP", keys.inbox(pid)],
                [  # as stored: sealed with her data key
                    "RPUSH",
                    keys.dead_letters(pid),
                    json.dumps({"sealed": base64.b64encode(raw).decode(), "at": now}),
                ],
                ["EXPIRE", keys.dead_letters(pid), str(self.retention)],
                ["ZADD", keys.DEAD_LETTERS, f"{now:.3f}", pid],
                [
                    "RPUSH",
                    keys.transcript(pid),
                    key.seal(
                        transcript_entry(
                            "user", inbound.text, inbound.received_at, status="unprocessed"
                        )
                    ),
                ],
                cap_transcript(pid),
            ]
        # Replies go out from here at once: the commit takes the outbox too, unless
        # our own sender has it (told to look again) or the channel is delivered
        # by other processes (their sweep).
        sender = self.senders.get(inbound.channel) if sends else None
        then = sender if sender is not None and pid not in sender.tasks else None
        applied = await self.workers.commit(pid, token, commands, then=then)
        if sender is not None and then is None:
            sender.wake(pid)
        return applied.next

    # ------------------------------------------------------------------ outbound

    async def _send_head(self, channel_name: str, pid: str, head: Head, token: str) -> Head | None:
        raw, (stored_address, wrapped) = head.item, head.values
        key = self.vault.unwrap(pid, wrapped)
        opened = key.open(raw) if key is not None else None if is_sealed(raw) else raw.decode()
        item = json.loads(opened) if opened is not None else {}  # None: never (read with it)
        outbound = replace(Outbound.from_json(item), conversation=pid)
        if is_sealed(raw) and item.get("to"):  # her address, sealed with the item
            address = item["to"]
        elif item.get("to"):  # an item from before data keys (2026-12)
            address = self._open_address(pid, item["to"].encode(), key)
        else:  # an item with nothing of hers (typing...)
            address = self._open_address(pid, stored_address, key)
        channel = self.channels[channel_name]
        sent: Sent | None = None
        error: Exception | None = None
        if address is None and not channel.capabilities.needs_address:
            address = ""  # the web chat: her mailbox is found by her conversation
        if address is None:
            error = PermanentSendError("no address for this conversation")
        else:
            sent, error = await self.send_with_retries(channel, address, outbound)
        commands = [["LPOP", keys.outbox(pid)]]
        if outbound.kind == "text" and outbound.id:
            if error:
                commands.append(["HSET", keys.delivery(pid), outbound.id, "failed"])
            else:  # sent: no field (keys.delivery_status)
                commands.append(["HDEL", keys.delivery(pid), outbound.id])
            if error:
                commands.append(
                    ["PUBLISH", keys.EVENTS, json.dumps({"type": "message", "id": pid})]
                )
        if sent and sent.message_ids and channel.capabilities.deletable_messages:
            now = str(int(self.clock()))  # whole seconds: the smallest encoding
            for message_id in sent.message_ids:
                commands.append(["ZADD", keys.deletable_messages(pid), now, message_id])
        if sent:
            commands.extend(channel.after_send(pid, outbound, sent, self.retention))
        # Guarded by the outbox: if a safe exit erased the conversation while this
        # message was on its way, nothing is recorded, and the message is deleted too.
        applied = await self.senders[channel_name].commit(
            pid, token, commands, guard=keys.outbox(pid)
        )
        if (
            applied.skipped
            and sent
            and address is not None
            and sent.message_ids
            and channel.capabilities.deletable_messages
        ):
            # The conversation was erased while this message was on its way: delete it too.
            await self.schedule_deletion(channel_name, address, [int(m) for m in sent.message_ids])
        if self.on_delivery:
            await self.on_delivery(channel_name, outbound, pid, error)
        return applied.next

    def _open_address(self, pid: str, sealed: bytes | None, key: DataKey | None) -> str | None:
        if not sealed:
            return None
        if is_sealed(sealed):
            return key.open(sealed) if key is not None else None
        return self.privacy.decrypt(sealed.decode(), pid)  # sealed before data keys (2026-12)

    async def send_with_retries(
        self,
        channel: Channel,
        address: str,
        outbound: Outbound,
    ) -> tuple[Sent | None, Exception | None]:
        """Send, retrying with exponential backoff (or the provider's retry_after) on
        retryable errors; (what was sent, None) or (None, the final error)."""
        error: Exception | None = None
        attempt = local_errors = 0
        while attempt < self.max_attempts:
            try:
                return await channel.send(address, outbound), None
            except RetryableSendError as exc:
                error = exc
                attempt += 1
                if self.on_send_error:
                    self.on_send_error(channel.name, exc)
                if attempt < self.max_attempts:
                    await asyncio.sleep(
                        exc.retry_after
                        if exc.retry_after is not None
                        else self._backoff(attempt - 1)
                    )
            except RedisError:
                # Our own storage (the web mailbox; a pool with no free connection):
                # not the provider's answer. Retried until it works; the outbox
                # stays pending meanwhile, so a shutdown loses nothing either.
                local_errors += 1
                log.warning("channel %s: Redis error while sending; retrying", channel.name)
                await asyncio.sleep(self._backoff(min(local_errors - 1, 6)))
            except PermanentSendError as exc:
                if self.on_send_error:
                    self.on_send_error(channel.name, exc)
                return None, exc
            except Exception as exc:  # a bug in a channel must not stop the outbox
                log.exception("channel %s failed to send", channel.name)
                return None, PermanentSendError(type(exc).__name__)
        return None, error

    def _backoff(self, attempt: int) -> float:
        return min(BACKOFF_MAX_S, self.backoff_base * 2**attempt) * random.uniform(0.8, 1.2)

    async def schedule_deletion(self, channel: str, address: str, message_ids: list[int]) -> None:
        """Queue deletion of a chat's messages (after safe exit), done by `_erase_loop`."""
        if not message_ids:
            return
        sealed = self.privacy.encrypt(address, "erase")
        await self.redis.xadd(
            keys.erase_stream(channel), {"to": sealed, "ids": json.dumps(message_ids)}
        )

    async def _erase_loop(self, channel: Channel, stop: asyncio.Event) -> None:
        stream, consumer = keys.erase_stream(channel.name), consumer_name()
        while not stop.is_set():
            try:
                entries = await read_entries(
                    self.redis, stream, ERASERS_GROUP, consumer, claim_idle_ms=60_000
                )
                for _, fields in entries:
                    address = (
                        self.privacy.decrypt(fields[b"to"].decode(), "erase") if fields else None
                    )
                    if address:
                        deletion = Outbound(
                            kind="delete", message_ids=tuple(json.loads(fields[b"ids"]))
                        )
                        await self.send_with_retries(channel, address, deletion)
                await forget(
                    self.redis, stream, ERASERS_GROUP, [entry_id for entry_id, _ in entries]
                )
            except asyncio.CancelledError:
                raise
            except RedisError:
                await asyncio.sleep(1)
            except Exception:
                log.exception("eraser: unexpected error; continuing")
                await asyncio.sleep(0.5)

    # ------------------------------------------------------------------ lifecycle

    async def _sweep_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                for drain in (self.workers, *self.senders.values()):
                    await drain.sweep()
            except asyncio.CancelledError:
                raise
            except RedisError as exc:
                log.warning("sweep: Redis error (%s); retrying", type(exc).__name__)
            except Exception:
                log.exception("sweep: unexpected error; continuing")
            await asyncio.sleep(timing.SWEEP_EVERY_S)

    async def _renew_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.sleep(timing.RENEW_EVERY_S)
            try:
                for drain in (self.workers, *self.senders.values()):
                    await drain.renew()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a lock not renewed expires: another process takes over
                log.warning("renewing locks failed (%s); retrying", type(exc).__name__)

    async def start(self) -> None:
        self._stop.clear()
        self._tasks.append(asyncio.create_task(self._sweep_loop(self._stop)))
        self._tasks.append(asyncio.create_task(self._renew_loop(self._stop)))
        for channel in self.channels.values():
            if channel.capabilities.deletable_messages:
                await ensure_group(self.redis, keys.erase_stream(channel.name), ERASERS_GROUP)
                self._tasks.append(asyncio.create_task(self._erase_loop(channel, self._stop)))

    async def stop(self, grace_s: float = 0.0) -> None:
        """Stop: no new work; the message being processed is finished, and so are
        the replies being sent (all of their conversation's outbox), for up to
        `grace_s` seconds; what is left stays pending for the next start (or
        another process). A send is never cut off midway, unless the grace ends."""
        self._stop.set()
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        deadline = asyncio.get_running_loop().time() + grace_s
        for drain in (self.workers, *self.senders.values()):
            await drain.stop(deadline)
