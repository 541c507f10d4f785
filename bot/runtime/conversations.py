"""A conversation's state in Redis and what is said to her: shared by the
runtime, the handoff and the flows' actions, so that none of them needs the
others to load a conversation or to speak."""

from __future__ import annotations

import json
from dataclasses import replace

from redis.asyncio import Redis

from bot.channels import CAPABILITIES
from bot.channels.rendering import render_replies
from bot.clock import Clock, wall_clock
from bot.conversation.engine import Engine
from bot.conversation.model import Conversation, Reply
from bot.i18n.catalogs import Catalogs
from bot.runtime.live import Flows
from bot.store import keys
from bot.store.commit import Commit
from bot.store.privacy import Privacy
from bot.store.vault import Vault

# What the transcript keeps instead of what is never stored (conversations'
# `_` variables: the place she is in, the services near it).
TRANSIENT_ANSWER = "(an answer used for this step only, not kept)"
TRANSIENT_REPLY = "(a reply with her search results, sent but not kept)"


class Conversations:
    """Load a conversation, and queue what is said to her, rendered for her channel."""

    def __init__(
        self,
        redis: Redis,
        privacy: Privacy,
        flows: Flows,
        retention_seconds: int,
        clock: Clock = wall_clock,
    ):
        self.redis = redis
        self.privacy = privacy
        self.vault = Vault(redis, privacy, retention_seconds)
        self.flows = flows
        self.retention = retention_seconds
        self.clock = clock

    @property
    def engine(self) -> Engine:
        return self.flows.engine

    @property
    def catalogs(self) -> Catalogs:
        return self.flows.catalogs

    async def load(self, pid: str) -> Conversation | None:
        raw = await self.redis.get(keys.state(pid))
        return Conversation.from_dict(json.loads(raw)) if raw else None

    async def load_with_block(self, pid: str) -> tuple[Conversation | None, bool]:
        """The conversation and whether a supervisor blocked the sender, in one round trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(keys.state(pid))
            pipe.exists(keys.blocked(pid))
            raw, blocked = await pipe.execute()
        return (Conversation.from_dict(json.loads(raw)) if raw else None), bool(blocked)

    def say(self, commit: Commit, channel: str, conv: Conversation, replies: list[Reply]) -> None:
        """Queue replies for `channel`, rendered to what it can show, and record
        them in the transcript."""
        engine, language = self.engine, conv.language
        rendered = render_replies(
            replies,
            CAPABILITIES[channel],
            direction=lambda text: self.catalogs.directional(text, language),
            location_label=lambda: engine.render(engine.settings_message("send_location"), conv),
        )
        # Values of `_` variables (a place, search results) are sent but never
        # stored: a reply that shows one goes to the transcript as a note.
        transient = [
            v
            for k, v in conv.variables.items()
            if k.startswith("_") and isinstance(v, str) and len(v) >= 3
        ]
        # A step said in the flows' own words alone (no variable of hers) is the
        # same for everyone: kept once for all, her transcript refers to it.
        public = engine.texts.public
        shared = all(
            (not r.text or r.text in public) and all(label in public for label, _ in r.options)
            for r in replies
        )
        for outbound, shown in rendered:
            commit.send(replace(outbound, shared=shared).to_json())
            if any(value in shown for value in transient):
                # What was sent names her place: the note, not the text, is shared.
                commit.log("bot", TRANSIENT_REPLY, message_id=outbound.id, shared=True)
            else:
                commit.log("bot", shown, message_id=outbound.id, shared=shared)
