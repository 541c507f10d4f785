"""The runtime's services: the implementations behind the flows' actions and
the risk detector, installed the same way by the app, the terminal chat and
`helpline flows test`."""

from __future__ import annotations

from bot.config import Settings
from bot.runtime import Runtime


async def install_services(runtime: Runtime, settings: Settings) -> None:
    """Register every action implementation and detector on `runtime`."""
