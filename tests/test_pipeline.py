"""The durable pipeline: order across processes, dead letters, no loss."""

from __future__ import annotations

import asyncio

from bot import keys
from bot.testing import WebChat


async def test_messages_of_one_conversation_are_handled_in_order_by_two_app_instances(make_client):
    first, second = (
        await make_client(),
        await make_client(),
    )  # two apps, one Redis, two workers each
    person_a, person_b = WebChat(first), WebChat(second)
    person_b.session = person_a.session  # the same person, her messages landing on either instance
    await person_a.start()
    words = ["MENU", "LANGUAGE"] * 15
    for i, word in enumerate(words):
        await (person_a if i % 2 else person_b).send(word)
    replies = await person_a.replies(timeout=20, settle=1.0)
    expected = ["How can I help you?" if w == "MENU" else "Choose your language." for w in words]
    assert replies == expected


async def test_a_message_whose_processing_fails_is_kept_and_shown(make_client, redis, monkeypatch):
    client = await make_client()
    chat = WebChat(client)
    await chat.start()
    from bot.runtime import Runtime

    original = Runtime.handle

    async def broken(self, pid, inbound, commit):
        if inbound.text == "boom":
            raise RuntimeError("a bug")
        return await original(self, pid, inbound, commit)

    monkeypatch.setattr(Runtime, "handle", broken)
    await chat.send("boom")
    await chat.send("1")  # the conversation is not stuck behind it
    assert "How can I help you?" in await chat.replies()
    dead = await redis.lrange(keys.DEAD_LETTERS, 0, -1)
    assert len(dead) == 1 and b"boom" in dead[0]


async def test_healthz_and_metrics(client, chat):
    health = await client.get("/healthz")
    assert health.status == 200 and (await health.json())["status"] == "ok"
    await chat.start()
    await chat.say("1")
    metrics = await (await client.get("/metrics")).text()
    assert 'helpline_messages_in_total{channel="web"}' in metrics
    assert 'helpline_messages_out_total{channel="web"}' in metrics
    assert "helpline_queue_length" in metrics and "helpline_processing_seconds_bucket" in metrics


async def test_healthz_is_503_when_redis_is_down(make_client, tmp_path):
    from bot.redis_server import EmbeddedRedis

    server = EmbeddedRedis(tmp_path / "r", appendonly=False)
    url = server.start()
    client = await make_client(redis_url=url)
    assert (await client.get("/healthz")).status == 200
    server.stop()
    await asyncio.sleep(0.1)
    response = await client.get("/healthz")
    assert response.status == 503 and (await response.json())["status"] == "unavailable"
