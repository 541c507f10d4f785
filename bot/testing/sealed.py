"""Reading a conversation's sealed lists in tests, as the app reads them."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from bot.store import keys
from bot.store.privacy import Privacy
from bot.store.shared import fill_texts
from bot.store.vault import DataKey, Vault


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


async def transcript(redis: Any, privacy: Privacy, pid: str) -> list[dict]:
    """`pid`'s transcript as the console reads it: opened, the flows' shared
    texts put back (bot/store/shared.py)."""
    return await fill_texts(redis, await opened(redis, privacy, pid, keys.transcript))


async def stored_data_keys(redis: Any, privacy: Privacy) -> list[DataKey]:
    """Every conversation's data key in Redis, unwrapped with the secret key."""
    vault = Vault(redis, privacy, 0)
    found = []
    async for name in redis.scan_iter(match=keys.data_key("*"), count=1000):
        pid = name.decode().split("{", 1)[1].split("}", 1)[0]
        if (key := vault.unwrap(pid, await redis.get(name))) is not None:
            found.append(key)
    return found
