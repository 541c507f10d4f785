"""Reading a conversation's sealed lists in tests, as the app reads them."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from bot.store.privacy import Privacy
from bot.store.vault import Vault


async def opened(
    redis: Any, privacy: Privacy, pid: str, list_key: Callable[[str], str]
) -> list[dict]:
    """The items of `pid`'s list `list_key(pid)`, opened with her data key."""
    key = await Vault(redis, privacy, 0).get(pid)
    assert key is not None, "she has no data key"
    items = []
    for raw in await redis.lrange(list_key(pid), 0, -1):
        text = key.open(raw)
        assert text is not None, "an item does not open with her data key"
        items.append(json.loads(text))
    return items
