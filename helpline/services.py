"""The runtime and the services behind the flows' actions (risk, shelters, the
handoff), wired the same way by the app, the terminal chat and `helpline flows test`."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.risk.detector import LiveRisk
from bot.runtime.conversations import Conversations
from bot.runtime.live import fingerprint
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
    conversations: Conversations,
    settings: Settings,
    wake: Wake | None = None,
    metrics: Any = None,
    risk: LiveRisk | None = None,
) -> Services:
    """The runtime with every action and the risk detector (`risk`, or one read
    from flows/risk). The risk lexicons are read again whenever the flows reload."""
    handoff = Handoff(
        conversations, wake or NoWake(), metrics, reply_window_s=settings.reply_window_hours * 3600
    )
    shelters = ShelterActions(conversations, Directory(conversations.redis))
    risk = risk or LiveRisk(settings.flows_dir / "risk")
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
    """The runtime `helpline flows test` runs scenarios on (no pipeline to wake).
    Every scenario starts on a fresh runtime, but the risk lexicons and model are
    read once per run, not once per scenario (4 s each: a minute for 15)."""
    services = build_services(conversations, settings, risk=scenario_risk(settings.flows_dir))
    await start_shelters(conversations, settings)
    return services.runtime


_SCENARIO_RISK: dict[Path, tuple[tuple, LiveRisk]] = {}


def scenario_risk(flows_dir: Path) -> LiveRisk:
    """The detector over flows_dir/risk, read again only when a file there changed."""
    directory = flows_dir / "risk"
    signature = fingerprint(directory.glob("*"))
    cached = _SCENARIO_RISK.get(directory)
    if cached is None or cached[0] != signature:
        cached = _SCENARIO_RISK[directory] = (signature, LiveRisk(directory))
    return cached[1]


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
