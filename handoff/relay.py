"""The handoff between the bot and counsellors, both ways.

- the `handoff` action of the flows (and of a risk match): queue her, tell her
  honestly whether someone is online or the line is closed, and how long an
  answer usually takes; the `withdraw` action: she no longer wants to wait;
- her messages once a counsellor has her: to the transcript and the console,
  never to the flows (while she waits unclaimed the flows keep answering her);
- a counsellor's reply, transfer and close (with or without a return to the bot).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import tzinfo
from typing import Protocol

from bot.channels import CAPABILITIES, flow_channel
from bot.channels.base import Outbound
from bot.clock import Clock
from bot.conversation.model import MODE_BOT, MODE_ENDED, MODE_QUEUED, Context, Conversation
from bot.flows.wrapup import WrapupForm
from bot.pipeline.drain import DrainScript
from bot.runtime.conversations import Conversations
from bot.runtime.runtime import ActionContext
from bot.store import keys, stats
from bot.store.commit import Commit, new_id, queue_command, transcript_entry
from bot.store.replies import decoded_or_empty
from bot.store.scripts import load_script
from handoff.counsellors import Counsellors
from handoff.hours import OpeningHours
from handoff.queue import LUA, HandoffQueue

MAX_WRAPUPS = 50  # her earlier contacts' wrap-ups kept (the newest)


class Wake(Protocol):
    """Start on a conversation now, in this process (the pipeline; a sweep would
    find the work anyway, a second or two later)."""

    def wake_worker(self, pid: str) -> None: ...

    def wake_sender(self, channel: str, pid: str) -> None: ...


class NoWake:
    """For a runtime without a pipeline (the scenario runner)."""

    def wake_worker(self, pid: str) -> None:
        pass

    def wake_sender(self, channel: str, pid: str) -> None:
        pass


class Handoff:
    """The flows' `handoff` action and the relay of her messages while queued
    (give both to the Runtime), and the counsellor's side for the console."""

    def __init__(
        self,
        conversations: Conversations,
        wake: Wake,
        metrics=None,
        reply_window_s: float = 24 * 3600,
    ):
        self.conversations = conversations
        self.redis = conversations.redis
        self.wake = wake
        self.reply_window_s = reply_window_s
        settings = conversations.engine.settings
        self.queue = HandoffQueue(
            self.redis,
            settings.queue_aging_minutes,
            conversations.retention,
            conversations.clock,
            reply_window_s=reply_window_s,
        )
        self.counsellors = Counsellors(self.redis, conversations.clock)
        self.metrics = metrics
        self.queue.metrics = metrics
        self.queue.zone = self.zone
        self._relay = load_script(self.redis, LUA / "relay.lua")

    @property
    def hours(self) -> OpeningHours:
        return OpeningHours(self.conversations.engine.settings.opening_hours)

    @property
    def zone(self) -> tzinfo:
        """The helpline's time zone: its statistics count days there."""
        return stats.zone_of(self.conversations.engine.settings.opening_hours)

    @property
    def wrapup(self) -> WrapupForm:
        """The close dialog's form (flows/wrapup.yaml)."""
        return self.conversations.engine.flowset.wrapup or WrapupForm()

    # ------------------------------------------------------------------ person side

    async def handoff_action(self, ctx: ActionContext) -> tuple[str, dict]:
        level = ctx.risk.severity if ctx.risk else "asked"
        now = self.conversations.clock()
        new = await self.queue.enqueue(
            ctx.pid,
            level,
            category=ctx.risk.concept if ctx.risk else None,
            reason="risk" if ctx.risk else (ctx.call.arg("reason") or "asked"),
            channel=ctx.inbound.channel,
            language=ctx.conversation.language,
            now=now,
        )
        if new:
            await stats.count(
                self.redis,
                now,
                self.zone,
                "handoffs",
                channel=ctx.inbound.channel,
                language=ctx.conversation.language,
                severity=level,
                risk=ctx.risk.concept if ctx.risk else "none",
            )
        if new and self.metrics:
            self.metrics.inc("helpline_handoffs", level)
        ctx.conversation.mode = MODE_QUEUED
        ctx.commit.publish({"type": "queue"})
        position = await self.queue.position(ctx.pid) or 1
        minutes = await self.queue.usual_wait_minutes(now)
        engine = self.conversations.engine
        variables = {
            "queue_position": position,
            "opening_hours": self.hours.describe(ctx.conversation.language),
            "usual_wait": (
                engine.render(
                    engine.settings_message("usual_wait"), ctx.conversation, {"minutes": minutes}
                )
                if minutes is not None
                else ""
            ),
        }
        if not self.hours.is_open(now):
            return "closed", variables
        if not await self.counsellors.online(now):
            return "offline", variables
        return "queued", variables

    async def withdraw_action(self, ctx: ActionContext) -> tuple[None, dict]:
        """She no longer wants to wait: out of the queue, unless a counsellor
        claimed her meanwhile (then the counsellor's messages reach her anyway)."""
        if await self.queue.withdraw(ctx.pid):
            ctx.conversation.mode = MODE_BOT
            ctx.commit.publish({"type": "queue"})
        return None, {}

    async def while_queued(self, ctx: ActionContext) -> list[str] | None:
        """Her message while in a handoff: the replies once a counsellor has her;
        None while she waits unclaimed (the flows answer her, the conversation
        stays queued) or when the handoff is over (back to the flows, at the
        main menu if she was in the handoff's own states)."""
        status = await self.redis.hget(keys.handoff(ctx.pid), "status")
        conv = ctx.conversation
        if status in (b"waiting", b"assigned"):  # the reply window runs from her last message
            ctx.commit.add(
                "HSET", keys.handoff(ctx.pid), "last_message_at", self.conversations.clock()
            )
        if status == b"waiting":
            return None
        if status != b"assigned":
            conv.mode = MODE_BOT
            human = self.conversations.engine.settings.human
            if conv.flow == human.flow:  # "waiting for a counsellor" no longer holds
                menu = self.conversations.engine.settings.menu
                conv.flow, conv.state = menu.flow, menu.state
            return None
        if ctx.risk is not None:
            await self.queue.enqueue(
                ctx.pid,
                ctx.risk.severity,
                category=ctx.risk.concept,
                reason="risk",
                channel=ctx.inbound.channel,
                language=conv.language,
            )
        replies: list[str] = []
        engine = self.conversations.engine
        if ctx.risk is not None and ctx.risk.severity == "critical":
            replies.append(engine.render(engine.settings_message("emergency"), conv))
        return replies

    # ------------------------------------------------------------------ counsellor side

    async def send_message(
        self, pid: str, username: str, text: str, supervisor: bool
    ) -> tuple[int, str | None]:
        """A counsellor's reply; (status, message id)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hget(keys.handoff(pid), "channel")
            pipe.get(keys.data_key(pid))
            raw_channel, wrapped = await pipe.execute()
        channel = decoded_or_empty(raw_channel)
        key = self.conversations.vault.unwrap(pid, wrapped)
        if not channel or key is None:  # no handoff; or she left (a safe exit), or it expired
            return 404, None
        message_id = new_id()
        now = self.conversations.clock()
        caps = CAPABILITIES.get(channel)
        outbound = Outbound(
            text=text if caps is None or caps.max_text >= len(text) else text[: caps.max_text],
            id=message_id,
        )
        entry = key.seal(transcript_entry("counsellor", text, now, message_id, by=username))
        answer = await self._relay(
            keys=[
                keys.handoff(pid),
                keys.transcript(pid),
                keys.outbox(pid),
                keys.delivery(pid),
                keys.send_pending(channel),
            ],
            args=[
                username,
                entry,
                key.seal(json.dumps({**outbound.to_json(), "channel": channel})),
                message_id,
                pid,
                self.conversations.retention,
                "1" if supervisor else "0",
                f"{now:.3f}",
                self.queue.window_s(channel),
            ],
        )
        code, first, enqueued_at = answer if isinstance(answer, list) else (answer, 0, b"")
        if code == 200:
            if self.metrics and first and enqueued_at:
                waited = max(0.0, now - float(enqueued_at))
                self.metrics.observe("helpline_first_reply_seconds", waited)
            self.wake.wake_sender(channel, pid)
            await self.redis.publish(keys.EVENTS, json.dumps({"type": "message", "id": pid}))
        return int(code), message_id

    async def typing(self, pid: str) -> bool:
        """Show "typing..." to a Telegram user; skipped on channels without it."""
        record = await self.queue.record(pid)
        channel = record.get("channel", "")
        caps = CAPABILITIES.get(channel)
        if not caps or not caps.typing:
            return False
        if self.queue.silent_too_long(record, self.conversations.clock()):
            return False  # nothing reaches her outside the reply window, not even "typing..."
        if not await self.redis.set(f"{keys.handoff(pid)}:typing", "1", nx=True, ex=4):
            return True  # shown less than 4 s ago: Telegram keeps it for 5 s
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(
                keys.outbox(pid),
                json.dumps({**Outbound(kind="typing").to_json(), "channel": channel}),
            )
            pipe.zadd(keys.send_pending(channel), {pid: self.conversations.clock()}, nx=True)
            await pipe.execute()
        self.wake.wake_sender(channel, pid)
        return True

    async def close(
        self,
        pid: str,
        username: str,
        outcome: str,
        notes: str,
        return_to_bot: bool,
        wrapup: dict | None = None,
    ) -> int:
        """Close the handoff; with `return_to_bot` she is back at the main menu (and
        is shown it), else the conversation ends and her next message starts anew.
        The wrap-up (checked by the caller against `self.wrapup`) is kept with her
        conversation, sealed, for her next contact; the statistics count it."""
        async with conversation_lock(
            self.redis, pid, self.conversations.clock, self.wake.wake_worker
        ):
            record = await self.queue.record(pid)
            if record.get("status") not in ("waiting", "assigned"):
                return 404
            assigned, channel = record.get("assigned_to", ""), record.get("channel", "")
            conv = await self.conversations.load(pid)
            now = self.conversations.clock()
            key = await self.conversations.vault.ensure(pid)
            commit = Commit(pid, channel, self.conversations.retention, now, key)
            commit.add(
                "HSET",
                keys.handoff(pid),
                "status",
                "closed",
                "outcome",
                outcome,
                "notes",
                key.seal(notes) if notes else "",  # her counsellor's words about her: sealed
                "closed_by",
                username,
                "closed_at",
                now,
                "return_to_bot",
                int(return_to_bot),
            )
            commit.add("ZREM", keys.QUEUE, pid)
            commit.add("ZREM", keys.WAITING, pid)
            earlier = {
                "closed_at": now,
                "closed_by": username,
                "counsellor": assigned or username,
                "outcome": outcome,
                "notes": notes,
                "wrapup": wrapup or {},
                "severity": record.get("severity"),
                "risk": record.get("category") or None,
                "channel": channel,
            }
            commit.add("RPUSH", keys.wrapups(pid), key.seal(json.dumps(earlier)))
            commit.add("LTRIM", keys.wrapups(pid), -MAX_WRAPUPS, -1)
            form = self.wrapup
            for command in stats.counts(
                now,
                self.zone,
                "closed",
                outcome=form.outcome_group(outcome),
                counsellor=assigned or username,
                channel=channel,
                **{f"wrapup.{name}": value for name, value in (wrapup or {}).items()},
            ):
                commit.add(*command)
            if assigned:
                commit.add("SREM", keys.assigned(assigned), pid)
            if conv is not None:
                if return_to_bot:  # back at the main menu, rendered as every reply is
                    engine = self.conversations.engine
                    context = Context(flow_channel(channel), now, conv.language)
                    result = engine.enter(conv, engine.settings.menu, context)
                    conv = result.conversation
                    if not self.queue.silent_too_long(record, now):  # else she sees it next time
                        self.conversations.say(commit, channel, conv, result.replies)
                else:
                    conv.mode = MODE_ENDED
                commit.save_state(conv.to_dict())
            commit.publish({"type": "queue"})
            commit.publish({"type": "message", "id": pid})
            commands = commit.finish()
            async with self.redis.pipeline(transaction=True) as pipe:
                for command in commands:
                    queue_command(pipe, command)
                await pipe.execute()
        if commit.sends:
            self.wake.wake_sender(channel, pid)
        return 200


class conversation_lock:
    """Hold a conversation's work lock (as a worker would) for a change made from
    the console; afterwards, `wake` the worker if she wrote meanwhile."""

    def __init__(self, redis, pid: str, clock: Clock, wake=None, wait_s: float = 5.0):
        self.redis, self.pid, self.wake, self.wait_s = redis, pid, wake, wait_s
        self.token = uuid.uuid4().hex
        self.inboxes = DrainScript(
            redis, keys.inbox, keys.work_lock, keys.WORK_PENDING, clock=clock
        )

    async def __aenter__(self):
        deadline = time.monotonic() + self.wait_s
        while not await self.inboxes.hold(self.pid, self.token):
            if time.monotonic() > deadline:
                raise TimeoutError("the conversation is busy; try again")
            await asyncio.sleep(0.02)
        return self

    async def __aexit__(self, *exc):
        # As a worker lets go: a message she sent meanwhile is swept by some
        # process within a second, or by ours at once.
        await self.inboxes.release(self.pid, self.token)
        if self.wake is not None:
            self.wake(self.pid)


__all__ = ["Handoff", "Conversation", "conversation_lock"]
