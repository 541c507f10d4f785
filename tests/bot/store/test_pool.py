"""A saturated Redis connection pool makes calls wait, never lose a reply."""

from __future__ import annotations

import asyncio
import json

from bot.store import keys
from bot.testing.settle import settled
from bot.testing.webchat import WebChat
from helpline import app as helpline_app


async def test_many_people_at_once_through_a_tiny_pool_all_get_their_replies(
    make_client, redis, monkeypatch
):
    monkeypatch.setattr(helpline_app, "POOL_SIZE", 3)
    client = await make_client(web_chat_limits=False)  # 120 people from one address
    chats = [WebChat(client) for _ in range(120)]
    await asyncio.gather(*(chat._post({"start": True}) for chat in chats))
    await asyncio.gather(*(chat._post({"text": "1"}) for chat in chats))
    await settled(redis, timeout=120)
    replies = await asyncio.gather(*(chat.replies(timeout=30) for chat in chats))
    for texts in replies:
        assert any("confidential" in t for t in texts)
        assert any("How can I help you?" in t for t in texts)
    # nothing failed, nothing is left as a dead letter
    failed = 0
    async for key in redis.scan_iter(f"{keys.PREFIX}:c:*:delivery"):
        failed += sum(v == b"failed" for v in (await redis.hgetall(key)).values())
    assert failed == 0
    assert await redis.zcard(keys.DEAD_LETTERS) == 0
    statuses = [json.loads(s) for s in await redis.lrange(keys.LEGACY_DEAD_LETTERS, 0, -1)]
    assert statuses == []
