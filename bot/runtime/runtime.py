"""The runtime around the pure engine: for one inbound message it loads the
conversation, watches the text for risk, routes the messages of people waiting
for or talking with a counsellor, performs the flows' actions, and gathers every
write into one atomic Commit.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, cast

from bot.channels import CAPABILITIES, flow_channel
from bot.channels.base import Inbound
from bot.conversation.engine import Engine
from bot.conversation.model import (
    MODE_ENDED,
    MODE_QUEUED,
    Context,
    Conversation,
    Event,
    Reading,
    Reply,
    StepResult,
)
from bot.flows.schema import ActionCall
from bot.risk.lexicons import Match
from bot.runtime.conversations import TRANSIENT_ANSWER, Conversations
from bot.store import keys, stats
from bot.store.commit import Commit
from bot.store.replies import decoded

log = logging.getLogger("helpline.runtime")


class RiskDetector(Protocol):
    def match(self, text: str) -> Match | None: ...


@dataclass
class ActionContext:
    """What an action implementation receives."""

    conversations: Conversations
    pid: str
    conversation: Conversation
    inbound: Inbound
    commit: Commit
    call: ActionCall
    risk: Match | None = None


# An action returns its outcome (None when it has none) and variables for the
# messages that follow.
ActionHandler = Callable[[ActionContext], Awaitable[tuple[str | None, dict[str, Any]]]]


# What she writes while a counsellor has her goes here, not to the flows: the
# texts to answer her with, or None to let the flows answer (nobody has claimed
# her yet, or the handoff is over; the relay sets the conversation's mode).
Relay = Callable[[ActionContext], Awaitable[list[str] | None]]


class Runtime:
    """Everything one inbound message causes, gathered into a Commit."""

    def __init__(
        self,
        conversations: Conversations,
        *,
        risk: RiskDetector | None = None,
        actions: Mapping[str, ActionHandler] | None = None,
        relay: Relay | None = None,
    ):
        self.conversations = conversations
        self.risk = risk
        self.actions: dict[str, ActionHandler] = {"safe_exit": _safe_exit, **(actions or {})}
        self.relay = relay

    @property
    def engine(self) -> Engine:
        return self.conversations.engine

    # ------------------------------------------------------------------ one message

    async def handle(
        self, pid: str, inbound: Inbound, commit: Commit, loaded: list | None = None
    ) -> None:
        """Everything one inbound message causes, gathered into `commit`. `loaded`:
        the conversation's state and block marker as the pipeline read them (raw),
        else they are read here."""
        engine = self.engine
        conversations = self.conversations
        now = conversations.clock()
        if loaded is None:
            conv, blocked = await conversations.load_with_block(pid)
        else:
            raw, blocked = loaded
            conv = Conversation.from_dict(json.loads(raw)) if raw else None
        caps = CAPABILITIES.get(inbound.channel)
        if caps is None or caps.needs_address:
            commit.set_address(inbound.user_id)
        if inbound.message_id and caps and caps.deletable_messages:
            commit.remember_deletable_message(inbound.message_id, now)

        event = _event_of(inbound)
        reading = engine.read(conv, event)
        if inbound.kind == "exit" or reading.keyword == "exit":
            if conv is not None and conv.mode == MODE_QUEUED:  # she left a handoff for safety
                self._count(commit, now, "left", channel=inbound.channel, language=conv.language)
            if conv is not None or inbound.kind == "exit":
                action = ActionContext(
                    conversations,
                    pid,
                    conv or engine.new_conversation(self._context(inbound, conv, now)),
                    inbound,
                    commit,
                    ActionCall("safe_exit"),
                )
                await _safe_exit(action)
            return  # EXIT from a stranger: nothing is sent, nothing kept

        context = self._context(inbound, conv, now)
        risk = self.risk.match(inbound.text) if (self.risk and inbound.text) else None
        if risk is not None:  # counted once, with the message's other writes
            commit.add(
                *keys.count_metric("helpline_risk_detections", risk.language or "-", risk.concept)
            )
        commit.log(
            "user", _recorded(inbound, reading, risk), inbound.received_at, **_risk_note(risk)
        )

        queued = conv is not None and conv.mode == MODE_QUEUED
        if conv is not None and queued and self.relay:
            # A counsellor has her: to the transcript and the console, not to the
            # flows. While she waits unclaimed, the flows answer her as usual (her
            # messages reach the transcript all the same).
            action_ctx = ActionContext(
                conversations, pid, conv, inbound, commit, ActionCall("relay"), risk
            )
            texts = await self.relay(action_ctx)
            queued = conv.mode == MODE_QUEUED
            if texts is not None:
                conv.updated_at = now
                conversations.say(commit, inbound.channel, conv, [Reply(text) for text in texts])
                commit.save_state(conv.to_dict())
                commit.publish({"type": "message", "id": pid})
                return

        if inbound.kind in ("unsupported", "too_long") or (risk is None and blocked):
            # A sticker, a photo, an over-long text, or a blocked sender: a polite
            # word, and the conversation stays where it was.
            conv = conv or engine.new_conversation(context)
            message = inbound.kind if inbound.kind in ("unsupported", "too_long") else "blocked"
            conversations.say(
                commit,
                inbound.channel,
                conv,
                [Reply(engine.render(engine.settings_message(message), conv))],
            )
            conv.updated_at = now
            commit.save_state(conv.to_dict())
            return

        if risk is not None:
            result = await self._risk_handoff(pid, conv, event, context, inbound, commit, risk)
        else:
            result = engine.step(conv, event, context)
            if queued:  # still waiting, whatever the step (the welcome after a long silence)
                result.conversation.mode = MODE_QUEUED
            result = await self._run(pid, result, context, inbound, commit)
        if result is None:
            return
        if conv is None or conv.mode == MODE_ENDED:  # a new contact (first, or after a close)
            language = result.conversation.language
            self._count(commit, now, "conversations", channel=inbound.channel, language=language)
        conversations.say(commit, inbound.channel, result.conversation, result.replies)
        commit.save_state(result.conversation.to_dict())

    def _count(self, commit: Commit, now: float, measure: str, **dimensions: str) -> None:
        """Count in the anonymous statistics, with the message's other writes (once)."""
        zone = stats.zone_of(self.engine.settings.opening_hours)
        for command in stats.counts(now, zone, measure, **dimensions):
            commit.add(*command)

    async def _risk_handoff(
        self, pid, conv, event, context, inbound, commit, risk: Match
    ) -> StepResult | None:
        """A risk match in any state. Critical and high: queue her at once with
        that priority and tell her so (she can withdraw); critical also gives the
        emergency number first. Medium: offer her a counsellor.

        At first contact the welcome's words (confidential, how to leave) still
        come, without its question: after the handoff for a critical message,
        before it otherwise."""
        engine = self.engine
        before: list[Reply] = []
        welcome: list[Reply] = []
        if conv is None:
            first = engine.step(None, event, context)
            conv = first.conversation
            welcome = [Reply(r.text) for r in first.replies if r.text and not r.options]
        conv.updated_at = context.now
        if risk.about_a_minor:
            conv.variables[MINOR_VARIABLE] = "yes"  # the flows offer a child's rights
        if risk.severity == "medium":
            target = engine.settings.offer
        else:
            target = engine.settings.human
            if risk.severity == "critical":
                before.append(Reply(engine.render(engine.settings_message("emergency"), conv)))
            before.append(Reply(engine.render(engine.settings_message("risk_queued"), conv)))
        entered = engine.enter(conv, target, context)
        if conv.mode == MODE_QUEUED:  # offered a counsellor while already waiting for one
            entered.conversation.mode = MODE_QUEUED
        result = await self._run(pid, entered, context, inbound, commit, risk)
        if result is not None:
            if risk.severity == "critical":  # how to leave at once: after the handoff's news
                result.effects[:0] = before
                at = next(
                    (i for i, e in enumerate(result.effects) if isinstance(e, Reply) and e.options),
                    len(result.effects),
                )
                result.effects[at:at] = welcome
            else:
                result.effects[:0] = welcome + before
        return result

    async def _run(
        self,
        pid,
        result: StepResult,
        context: Context,
        inbound: Inbound,
        commit: Commit,
        risk: Match | None = None,
    ) -> StepResult | None:
        """Perform the step's actions; resume the engine after each action with outcomes."""
        engine = self.engine
        effects: list = []
        while True:
            for effect in result.effects:
                if isinstance(effect, ActionCall):
                    outcome, _ = await self._perform(
                        pid, result.conversation, inbound, commit, effect, risk
                    )
                    if commit.erased:
                        return None
                else:
                    effects.append(effect)
            if result.pending is None:
                result.effects = effects
                return result
            outcome, variables = await self._perform(
                pid, result.conversation, inbound, commit, result.pending, risk
            )
            if commit.erased:
                return None
            result = engine.resume(result.conversation, outcome or "", context, variables)

    async def _perform(
        self, pid, conv, inbound, commit, call: ActionCall, risk
    ) -> tuple[str | None, dict]:
        handler = self.actions.get(call.name)
        if handler is None:
            log.error("no implementation for action %r", call.name)
            return None, {}
        return await handler(
            ActionContext(self.conversations, pid, conv, inbound, commit, call, risk)
        )

    # ------------------------------------------------------------------ helpers

    def _context(self, inbound: Inbound, conv: Conversation | None, now: float) -> Context:
        """The language: chosen, or kept from first contact; at first contact her
        app's (Telegram's language_code, the browser's), else the one her message
        is clearly written in, else her phone number's country's, else English
        (these last two are guesses: the welcome says how to change it)."""
        channel = flow_channel(inbound.channel)
        if conv is not None and (conv.language_chosen or not inbound.language_hint):
            return Context(channel, now, conv.language)
        caps = CAPABILITIES.get(inbound.channel)
        phone = inbound.user_id if caps and caps.phone_addresses else None
        text = inbound.text if conv is None and inbound.kind == "text" else None
        language, guessed = self.conversations.catalogs.first_language(
            inbound.language_hint, text, phone
        )
        return Context(channel, now, language, language_guessed=guessed)


MINOR_VARIABLE = "minor"  # "yes" once a message said the person at risk is under 18


def _recorded(inbound: Inbound, reading: Reading, risk: Match | None) -> str:
    """What the transcript keeps of her message."""
    if inbound.kind == "location":
        return "(shared a location)"  # used for the search, never stored
    if inbound.kind == "text" and reading.transient and risk is None:
        return TRANSIENT_ANSWER  # e.g. the place she is in: used for this step, never stored
    if inbound.kind == "button":
        return reading.label or inbound.payload
    if inbound.kind == "unsupported":
        return "(a message that is not text)"
    return inbound.text


def _risk_note(risk: Match | None) -> dict[str, Any]:
    return {"risk": risk.severity, "category": risk.concept, "why": risk.why} if risk else {}


def _event_of(inbound: Inbound) -> Event:
    if inbound.kind == "button":
        return Event("button", payload=inbound.payload)
    if inbound.kind == "location":
        return Event("location", location=inbound.location)
    if inbound.kind == "start":
        return Event("start")
    return Event("text", text=inbound.text)


async def _safe_exit(ctx: ActionContext) -> tuple[None, dict]:
    """Erase the conversation at once; on Telegram delete every message the bot
    still can; tell a counsellor who had her that she left for safety. Nothing is
    sent to her."""
    conversations, pid = ctx.conversations, ctx.pid
    redis = conversations.redis
    caps = CAPABILITIES.get(ctx.inbound.channel)
    if caps and caps.deletable_messages:
        # Telegram deletes only messages under 48 h old
        cutoff = conversations.clock() - 47.5 * 3600
        # Without withscores, ZRANGEBYSCORE answers the members only.
        members = cast(
            list[bytes], await redis.zrangebyscore(keys.deletable_messages(pid), cutoff, "+inf")
        )
        ids = [int(i) for i in members]
        if ctx.inbound.message_id:
            ids.append(int(ctx.inbound.message_id))
        sealed = conversations.privacy.encrypt(ctx.inbound.user_id, "erase")
        ctx.commit.delete_messages(ctx.inbound.channel, sealed, sorted(set(ids)))
    handoff = await redis.hgetall(keys.handoff(pid))
    ctx.commit.erase()
    if handoff.get(b"status") == b"waiting":  # she left the queue before anyone took her
        ctx.commit.add(*keys.count_metric("helpline_queue_abandoned", "exit"))
    if handoff:
        assigned = decoded(handoff.get(b"assigned_to", b""))
        # Tells the console she left; no longer than conversations are kept.
        ttl = keys.trace_ttl(conversations.retention)
        ctx.commit.add("SET", keys.left(pid), assigned or "-", "EX", ttl)
        if assigned:
            ctx.commit.add("SREM", keys.assigned(assigned), pid)
        ctx.commit.publish({"type": "left", "id": pid})
        ctx.commit.publish({"type": "queue"})
    return None, {}
