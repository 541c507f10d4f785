"""The runtime around the pure engine: it loads a conversation's state from
Redis, watches every message for risk, routes messages of people waiting for or
talking with a counsellor, performs the flows' actions, and gathers every write
into one atomic Commit.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from redis.asyncio import Redis

from bot.channels import CAPABILITIES, flow_channel
from bot.channels.base import Inbound, Outbound, render_text
from bot.conversation.engine import Engine
from bot.conversation.model import MODE_QUEUED, Context, Conversation, Event, Reply, StepResult
from bot.flows.load import load_flowset
from bot.flows.schema import ActionCall, FlowSet
from bot.i18n.catalogs import Catalogs
from bot.sources import Issue
from bot.store import keys
from bot.store.commit import Commit, new_id
from bot.store.privacy import Privacy

log = logging.getLogger("helpline.runtime")

# What the transcript keeps instead of what is never stored (conversations'
# `_` variables: the place she is in, the services near it).
TRANSIENT_ANSWER = "(an answer used for this step only, not kept)"
TRANSIENT_REPLY = "(a reply with her search results, sent but not kept)"


class FlowsInvalid(Exception):
    def __init__(self, issues: list[Issue]):
        super().__init__("\n".join(map(str, issues)))
        self.issues = issues


class Flows:
    """The current Engine, rebuilt when the flows or the catalogs change on disk.
    An edit with errors is refused (logged with file:line) and the last good set
    keeps running."""

    def __init__(self, flows_dir: Path, locales_dir: Path):
        self.flows_dir = Path(flows_dir)
        self.locales_dir = Path(locales_dir)
        self._stamp: tuple = ()
        self.engine: Engine = self._build()
        self.listeners: list[Callable[[Engine], None]] = []

    def _fingerprint(self) -> tuple:
        files = [*self.flows_dir.rglob("*.y*ml"), *self.locales_dir.rglob("*.po")]
        return tuple(
            sorted((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files if p.is_file())
        )

    def _build(self) -> Engine:
        self._stamp = self._fingerprint()
        flowset, issues = load_flowset(self.flows_dir)
        if flowset is None:
            raise FlowsInvalid([i for i in issues if i.severity == "error"])
        self.catalogs = Catalogs(self.locales_dir)
        self.flowset: FlowSet = flowset
        return Engine(flowset, self.catalogs)

    def reload_if_changed(self) -> bool:
        """Rebuild when a file changed; True when a new engine is in use."""
        if self._fingerprint() == self._stamp:
            return False
        try:
            self.engine = self._build()
        except FlowsInvalid as exc:
            log.error("flows changed but have errors; still using the previous ones:\n%s", exc)
            return False
        log.info("flows reloaded (version %s)", self.flowset.version)
        for listener in self.listeners:
            listener(self.engine)
        return True


@dataclass(frozen=True)
class RiskMatch:
    severity: str  # critical, high, medium
    category: str
    phrase: str
    language: str


class RiskDetector(Protocol):
    def match(self, text: str) -> RiskMatch | None: ...


@dataclass
class ActionContext:
    """What an action implementation receives."""

    runtime: Runtime
    pid: str
    conversation: Conversation
    inbound: Inbound
    commit: Commit
    call: ActionCall
    risk: RiskMatch | None = None


# An action returns its outcome (None when it has none) and variables for the
# messages that follow.
ActionHandler = Callable[[ActionContext], Awaitable[tuple[str | None, dict[str, Any]]]]


class Runtime:
    def __init__(self, redis: Redis, privacy: Privacy, flows: Flows, retention_seconds: int):
        self.redis = redis
        self.privacy = privacy
        self.flows = flows
        self.retention = retention_seconds
        self.risk: RiskDetector | None = None
        self.actions: dict[str, ActionHandler] = {"safe_exit": _safe_exit}
        self.schedule_deletion: Callable[[str, str, list[int]], Awaitable[None]] | None = None
        # Start on a conversation's inbox / outbox now (the pipeline's; a sweep
        # would find them anyway, seconds later).
        self.wake_worker: Callable[[str], None] = lambda pid: None
        self.wake_sender: Callable[[str, str], None] = lambda channel, pid: None
        self.on_processed: Callable[[Inbound, float], None] | None = None
        self.queued_handler: Callable[[ActionContext], Awaitable[list[str]]] | None = None
        self.clock: Callable[[], float] = time.time

    @property
    def engine(self) -> Engine:
        return self.flows.engine

    async def load(self, pid: str) -> Conversation | None:
        raw = await self.redis.get(keys.state(pid))
        return Conversation.from_dict(json.loads(raw)) if raw else None

    async def _load_with_block(self, pid: str) -> tuple[Conversation | None, bool]:
        """The conversation and whether a supervisor blocked the sender, in one round trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(keys.state(pid))
            pipe.exists(keys.blocked(pid))
            raw, blocked = await pipe.execute()
        return (Conversation.from_dict(json.loads(raw)) if raw else None), bool(blocked)

    # ------------------------------------------------------------------ one message

    async def handle(
        self, pid: str, inbound: Inbound, commit: Commit, loaded: list | None = None
    ) -> None:
        """Everything one inbound message causes, gathered into `commit`. `loaded`:
        the conversation's state and block marker as the pipeline read them (raw),
        else they are read here."""
        engine = self.engine
        now = self.clock()
        if loaded is None:
            conv, blocked = await self._load_with_block(pid)
        else:
            raw, blocked = loaded
            conv = Conversation.from_dict(json.loads(raw)) if raw else None
        commit.set_address(self.privacy.encrypt(inbound.user_id, pid))
        caps = CAPABILITIES.get(inbound.channel)
        if inbound.message_id and caps and caps.delete_messages:
            commit.remember_telegram_message(inbound.message_id, now)

        if inbound.kind == "exit" or (
            inbound.kind == "text" and engine.global_keyword(inbound.text) == "exit"
        ):
            if conv is not None or inbound.kind == "exit":
                ctx = ActionContext(
                    self,
                    pid,
                    conv or engine.new_conversation(self._context(inbound, conv, now)),
                    inbound,
                    commit,
                    ActionCall("safe_exit"),
                )
                await _safe_exit(ctx)
            return  # EXIT from a stranger: nothing is sent, nothing kept

        ctx = Context(flow_channel(inbound.channel), now, self._language(inbound, conv))
        risk = self.risk.match(inbound.text) if (self.risk and inbound.text) else None
        self._log_user(commit, inbound, conv, risk)

        if conv is not None and conv.mode == MODE_QUEUED and self.queued_handler:
            # Waiting for or talking with a counsellor: to the transcript and the
            # console, not to the flows.
            action_ctx = ActionContext(self, pid, conv, inbound, commit, ActionCall("relay"), risk)
            texts = await self.queued_handler(action_ctx)
            if texts is not None:
                conv.updated_at = now
                self.say(commit, inbound.channel, conv, [Reply(text) for text in texts])
                commit.save_state(conv.to_dict())
                commit.publish({"type": "message", "id": pid})
                return

        if inbound.kind in ("unsupported", "too_long") or (risk is None and blocked):
            # A sticker, a photo, an over-long text, or a blocked sender: a polite
            # word, and the conversation stays where it was.
            conv = conv or engine.new_conversation(ctx)
            message = inbound.kind if inbound.kind in ("unsupported", "too_long") else "blocked"
            self.say(
                commit,
                inbound.channel,
                conv,
                [Reply(engine.render(engine.settings_message(message), conv))],
            )
            conv.updated_at = now
            commit.save_state(conv.to_dict())
            return

        event = _event_of(inbound)
        if risk is not None:
            result = await self._risk_handoff(pid, conv, event, ctx, inbound, commit, risk)
        else:
            result = engine.step(conv, event, ctx)
            result = await self._run(pid, result, ctx, inbound, commit)
        if result is None:
            return
        self.say(commit, inbound.channel, result.conversation, result.replies)
        commit.save_state(result.conversation.to_dict())

    async def _risk_handoff(
        self, pid, conv, event, ctx, inbound, commit, risk: RiskMatch
    ) -> StepResult | None:
        """A risk match in any state: queue her at once with that priority; a
        critical one also gives the emergency number first."""
        engine = self.engine
        replies: list[Reply] = []
        if conv is None:  # first contact: the welcome still says it is confidential, how to leave
            first = engine.step(None, event, ctx)
            conv = first.conversation
            replies.extend(Reply(r.text) for r in first.replies if r.text)
        conv.updated_at = ctx.now
        if risk.severity == "critical":
            replies.append(Reply(engine.render(engine.settings_message("emergency"), conv)))
        result = engine.enter(conv, engine.settings.human, ctx)
        result = await self._run(pid, result, ctx, inbound, commit, risk)
        if result is None:
            return None
        result.effects[:0] = replies
        return result

    async def _run(
        self,
        pid,
        result: StepResult,
        ctx: Context,
        inbound: Inbound,
        commit: Commit,
        risk: RiskMatch | None = None,
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
            result = engine.resume(result.conversation, outcome or "", ctx, variables)

    async def _perform(
        self, pid, conv, inbound, commit, call: ActionCall, risk
    ) -> tuple[str | None, dict]:
        handler = self.actions.get(call.name)
        if handler is None:
            log.error("no implementation for action %r", call.name)
            return None, {}
        return await handler(ActionContext(self, pid, conv, inbound, commit, call, risk))

    # ------------------------------------------------------------------ helpers

    def _language(self, inbound: Inbound, conv: Conversation | None) -> str:
        if conv is not None and (conv.language_chosen or not inbound.language_hint):
            return conv.language  # chosen, or negotiated at first contact from the same facts
        phone = (
            inbound.user_id
            if flow_channel(inbound.channel) == "sms" and inbound.channel == "sms"
            else None
        )
        return self.flows.catalogs.negotiate(inbound.language_hint, phone)

    def _context(self, inbound: Inbound, conv: Conversation | None, now: float) -> Context:
        return Context(flow_channel(inbound.channel), now, self._language(inbound, conv))

    def _log_user(
        self,
        commit: Commit,
        inbound: Inbound,
        conv: Conversation | None,
        risk: RiskMatch | None = None,
    ) -> None:
        if inbound.kind == "location":
            text = "(shared a location)"  # used for the search, never stored
        elif (
            risk is None
            and inbound.kind == "text"
            and self._answers_transient_input(inbound.text, conv)
        ):
            text = TRANSIENT_ANSWER  # e.g. the place she is in: used for this step, never stored
        elif inbound.kind == "button":
            text = self._button_label(inbound.payload, conv) or inbound.payload
        elif inbound.kind == "unsupported":
            text = "(a message that is not text)"
        else:
            text = inbound.text
        extra = {"risk": risk.severity, "category": risk.category} if risk else {}
        commit.log("user", text, inbound.received_at, **extra)

    def _answers_transient_input(self, text: str, conv: Conversation | None) -> bool:
        """True when `text` answers a state whose input is saved to a `_` variable."""
        if conv is None or self.engine.global_keyword(text):
            return False
        state = self.engine.flowset.state(conv.flow, conv.state)
        return bool(
            state and state.input and state.input.save_as and state.input.save_as.startswith("_")
        )

    def _button_label(self, payload: str, conv: Conversation | None) -> str | None:
        key, _, choice = payload.rpartition("#")
        flow, _, state_name = key.partition(".")
        state = self.engine.flowset.state(flow, state_name)
        if state is None:
            return None
        if choice.startswith("lang:"):
            return self.flows.catalogs.language_name(choice[5:])
        if choice.isdigit() and 1 <= int(choice) <= len(state.options):
            label = state.options[int(choice) - 1].label
            return self.engine.translator.text(conv.language if conv else "en", label)
        return None

    def say(self, commit: Commit, channel: str, conv: Conversation, replies: list[Reply]) -> None:
        """Queue replies for `channel`, rendered to what it can show: buttons, or
        numbered lines; for SMS, one message per step (fewest segments)."""
        caps = CAPABILITIES[channel]
        replies = [r for r in replies if r.text or r.options]
        if not replies:
            return
        if caps.sms_segments:
            text = "\n".join(render_text(r.text, r.options) for r in replies)
            replies = [Reply(text)]
        catalogs = self.flows.catalogs
        # Values of `_` variables (a place, search results) are sent but never
        # stored: a reply that shows one goes to the transcript as a note.
        transient = [
            v
            for k, v in conv.variables.items()
            if k.startswith("_") and isinstance(v, str) and len(v) >= 3
        ]
        for reply in replies:
            wants_location = reply.request_location and caps.location
            text = reply.text if caps.buttons else render_text(reply.text, reply.options)
            outbound = Outbound(
                text=catalogs.directional(text, conv.language),
                options=tuple(
                    (catalogs.directional(label, conv.language), payload)
                    for label, payload in reply.options
                )
                if caps.buttons
                else (),
                request_location=wants_location,
                location_label=self.engine.render(
                    self.engine.settings_message("send_location"), conv
                )
                if wants_location
                else "",
                id=new_id(),
            )
            commit.send(outbound.to_json())
            shown = render_text(reply.text, reply.options)
            if any(value in reply.text for value in transient):
                shown = TRANSIENT_REPLY
            commit.log("bot", shown, message_id=outbound.id)


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
    runtime, pid = ctx.runtime, ctx.pid
    caps = CAPABILITIES.get(ctx.inbound.channel)
    if caps and caps.delete_messages and runtime.schedule_deletion:
        cutoff = time.time() - 47.5 * 3600  # Telegram deletes only messages under 48 h old
        ids = await runtime.redis.zrangebyscore(keys.telegram_messages(pid), cutoff, "+inf")
        ids = [int(i) for i in ids]
        if ctx.inbound.message_id:
            ids.append(int(ctx.inbound.message_id))
        await runtime.schedule_deletion(ctx.inbound.channel, ctx.inbound.user_id, sorted(set(ids)))
    handoff = await runtime.redis.hgetall(keys.handoff(pid))
    ctx.commit.erase()
    if handoff:
        assigned = handoff.get(b"assigned_to", b"").decode()
        ctx.commit.add("SET", keys.left(pid), assigned or "-", "EX", 7 * 86400)
        if assigned:
            ctx.commit.add("SREM", keys.assigned(assigned), pid)
        ctx.commit.publish({"type": "left", "id": pid})
        ctx.commit.publish({"type": "queue"})
    return None, {}
