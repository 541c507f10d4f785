"""The runtime's services: the implementations behind the flows' actions, the
risk detector and the handoff, installed the same way by the app, the terminal
chat and `helpline flows test`."""

from __future__ import annotations

import logging
from typing import Any

from bot.config import Settings
from bot.runtime import Runtime

log = logging.getLogger("helpline.services")


async def install_services(runtime: Runtime, settings: Settings, metrics: Any = None) -> dict[str, Any]:
    """Register every action implementation and detector on `runtime`; return them by name."""
    from handoff.relay import Handoff

    installed: dict[str, Any] = {}
    install_risk(runtime, settings)
    handoff = Handoff(runtime, metrics)
    handoff.install()
    installed["handoff"] = handoff
    return installed


def install_risk(runtime: Runtime, settings: Settings) -> None:
    """The risk matcher over every lexicon in flows/risk, rebuilt when the flows reload."""
    from bot.risk import load_matcher

    risk_dir = settings.flows_dir / "risk"

    def rebuild(_engine=None) -> None:
        if not risk_dir.is_dir():
            runtime.risk = None
            return
        matcher, issues = load_matcher(risk_dir)
        if matcher is None:
            log.error("risk lexicons have errors; keeping the previous ones:\n%s", "\n".join(map(str, issues)))
            return
        runtime.risk = matcher

    rebuild()
    runtime.flows.listeners.append(rebuild)
