"""The runtime's services: the implementations behind the flows' actions and
the risk detector, installed the same way by the app, the terminal chat and
`helpline flows test`."""

from __future__ import annotations

from bot.config import Settings
from bot.runtime import Runtime


async def install_services(runtime: Runtime, settings: Settings) -> None:
    """Register every action implementation and detector on `runtime`."""
    await install_shelters(runtime, settings)


async def install_shelters(runtime: Runtime, settings: Settings) -> None:
    """The shelter search: load HELPLINE_SHELTERS_FILE if it changed (warning
    while example data is in use), register find_shelters and send_address, and
    start building the gazetteer in a thread so that the first search is fast."""
    import asyncio

    from bot.gazetteer import Gazetteer
    from bot.shelter_flow import ShelterActions
    from bot.shelters import Directory, load_at_start

    await load_at_start(runtime.redis, settings.shelters_file)
    ShelterActions(runtime, Directory(runtime.redis)).install()
    if not Gazetteer.is_loaded():
        asyncio.get_running_loop().run_in_executor(None, _build_gazetteer)


def _build_gazetteer() -> None:
    import logging

    from bot.gazetteer import Gazetteer

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
