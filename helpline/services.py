"""The runtime and the services behind the flows' actions (risk, shelters, the
handoff), wired the same way by the app, the terminal chat and `helpline flows test`."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from bot.config import Settings
from bot.risk.detector import LiveRisk
from bot.runtime.conversations import Conversations
from bot.runtime.runtime import Runtime
from bot.shelters.actions import ShelterActions
from bot.shelters.gazetteer import Gazetteer
from bot.shelters.importer import load_at_start
from bot.shelters.search import Directory
from handoff.relay import Handoff, NoWake, Wake

log = logging.getLogger("helpline.services")


@dataclass(frozen=True)
class Services:
    runtime: Runtime
    handoff: Handoff
    risk: LiveRisk


def build_services(
    conversations: Conversations, settings: Settings, wake: Wake | None = None, metrics: Any = None
) -> Services:
    """The runtime with every action and the risk detector. The risk lexicons in
    flows/risk are read again whenever the flows reload."""
    handoff = Handoff(
        conversations, wake or NoWake(), metrics, reply_window_s=settings.reply_window_hours * 3600
    )
    shelters = ShelterActions(conversations, Directory(conversations.redis))
    risk = LiveRisk(settings.flows_dir / "risk")
    conversations.flows.listeners.append(lambda _engine: risk.reload())
    runtime = Runtime(
        conversations,
        risk=risk,
        actions={
            "handoff": handoff.handoff_action,
            "withdraw": handoff.withdraw_action,
            **shelters.actions(),
        },
        relay=handoff.while_queued,
    )
    return Services(runtime, handoff, risk)


async def start_shelters(conversations: Conversations, settings: Settings) -> None:
    """Load HELPLINE_SHELTERS_FILE if it changed (warning while example data is in
    use), and start building the gazetteer in a thread so that the first search is fast."""
    await load_at_start(conversations.redis, settings.shelters_file, conversations.clock)
    if not Gazetteer.is_loaded():
        asyncio.get_running_loop().run_in_executor(None, _build_gazetteer)


async def scenario_runtime(conversations: Conversations, settings: Settings) -> Runtime:
    """The runtime `helpline flows test` runs scenarios on (no pipeline to wake)."""
    services = build_services(conversations, settings)
    await start_shelters(conversations, settings)
    return services.runtime


def _build_gazetteer() -> None:
    try:
        gazetteer = Gazetteer.shared()
    except Exception as exc:  # searches will say they cannot search now
        log.error("the gazetteer could not be built (%s): place names cannot be looked up", exc)
        return
    cities, names = gazetteer.size
    log.info(
        "gazetteer ready: %d towns, %d names, built in %.1f s",
        cities,
        names,
        gazetteer.load_seconds,
    )
