"""The flows' own words are kept once for everyone (bot/store/shared.py): her
transcript and her web mailbox refer to them. Nothing of hers is ever shared:
not her words, not the place she searched, not the services found near it."""

from __future__ import annotations

from bot.store import keys
from bot.store.shared import fill_texts
from bot.testing.sealed import opened
from bot.testing.webchat import WebChat
from helpline.app import PRIVACY, REDIS


async def shared_values(redis) -> list[str]:
    return [v.decode() for v in await redis.hvals(keys.TEXTS)]


async def test_two_people_share_the_menus_never_their_words_or_places(make_client):
    client = await make_client()
    privacy, redis = client.app[PRIVACY], client.app[REDIS]
    people = [WebChat(client), WebChat(client)]
    for chat in people:
        welcome = await chat.start()
        await chat.tap(1)  # yes, I can talk: the main menu
        await chat.replies()
        await chat.tap(3)  # a safe place to stay
        await chat.replies()
        await chat.tap(1)  # a place to sleep tonight
        await chat.replies()
        results = await chat.say("Bologna")
        assert "Bologna" in results  # the services near her place, on her page
    assert "confidential" in welcome[0]

    shared = await shared_values(redis)
    assert shared and not any("Bologna" in text or "bologna" in text for text in shared)
    everything = b"".join([b"".join(await redis.hkeys(keys.TEXTS)), *[v.encode() for v in shared]])
    assert b"Bologna" not in everything
    # The two pages saw the same menus; they are kept once.
    assert len(shared) == len(set(shared))
    shown = [m["text"] for m in people[0].history]
    assert shown == [m["text"] for m in people[1].history]

    # Her transcript refers to the menus; the console reads them back.
    pid = privacy.pid("web", people[0].session)
    entries = await opened(redis, privacy, pid, keys.transcript)
    bot = [e for e in entries if e["from"] == "bot"]
    assert bot and all("ref" in e and "text" not in e for e in bot[:3])
    assert not any("ref" in e for e in entries if e["from"] == "user")
    texts = [e["text"] for e in await fill_texts(redis, bot)]
    assert texts[0].startswith(welcome[0].split("\n")[0][:20])
    assert "(a reply with her search results, sent but not kept)" in texts
