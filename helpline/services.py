"""The runtime's services: the implementations behind the flows' actions, the
risk detector and the handoff, installed the same way by the app, the terminal
chat and `helpline flows test`."""

from __future__ import annotations

import logging
from typing import Any

from bot.config import Settings
from bot.runtime.runtime import Runtime

log = logging.getLogger("helpline.services")


async def install_services(
    runtime: Runtime, settings: Settings, metrics: Any = None
) -> dict[str, Any]:
    """Register every action implementation and detector on `runtime`; return them by name."""
    from handoff.relay import Handoff

    installed: dict[str, Any] = {}
    install_risk(runtime, settings)
    await install_shelters(runtime, settings)
    handoff = Handoff(runtime, metrics)
    handoff.install()
    installed["handoff"] = handoff
    return installed


def install_risk(runtime: Runtime, settings: Settings) -> None:
    """The risk matcher over every lexicon in flows/risk, rebuilt when the flows reload."""
    from bot.risk.matcher import load_matcher

    risk_dir = settings.flows_dir / "risk"

    def rebuild(_engine=None) -> None:
        if not risk_dir.is_dir():
            runtime.risk = None
            return
        matcher, issues = load_matcher(risk_dir)
        if matcher is None:
            log.error(
                "risk lexicons have errors; keeping the previous ones:\n%s",
                "\n".join(map(str, issues)),
            )
            return
        runtime.risk = matcher

    rebuild()
    runtime.flows.listeners.append(rebuild)


async def install_shelters(runtime: Runtime, settings: Settings) -> None:
    """The shelter search: load HELPLINE_SHELTERS_FILE if it changed (warning
    while example data is in use), register find_shelters and send_address, and
    start building the gazetteer in a thread so that the first search is fast."""
    import asyncio

    from bot.shelters.actions import ShelterActions
    from bot.shelters.gazetteer import Gazetteer
    from bot.shelters.importer import load_at_start
    from bot.shelters.search import Directory

    await load_at_start(runtime.redis, settings.shelters_file)
    ShelterActions(runtime, Directory(runtime.redis)).install()
    if not Gazetteer.is_loaded():
        asyncio.get_running_loop().run_in_executor(None, _build_gazetteer)


def _build_gazetteer() -> None:
    import logging

    from bot.shelters.gazetteer import Gazetteer

    log = logging.getLogger("helpline.shelters")
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
