"""The web chat under floods: 429 with Retry-After per client and session, a cap
on the conversations (and so queue entries) one client makes, capped mailboxes
and transcripts, long polls bounded per client. Safe exit is never limited."""

from __future__ import annotations

import asyncio
import ipaddress
import secrets

import pytest

from bot.channels import web
from bot.store import commit, keys
from bot.testing.sealed import transcript
from bot.testing.settle import settled
from bot.testing.webchat import WebChat
from handoff.counsellors import Counsellors

PROXY = (ipaddress.ip_network("127.0.0.0/8"),)
RISKY = "he says he will kill me tonight"


async def post(client, session: str, text: str = "hello", forwarded_for: str | None = None):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return await client.post(
        "/chat/api/messages", json={"session": session, "text": text}, headers=headers
    )


def new_session() -> str:
    return secrets.token_hex(12)


async def test_a_flood_of_new_risky_conversations_reaches_the_queue_only_a_few_times(
    make_client, redis
):
    client = await make_client(trusted_proxies=PROXY)
    answers = await asyncio.gather(
        *(post(client, new_session(), RISKY, "203.0.113.9") for _ in range(60))
    )
    statuses = [a.status for a in answers]
    assert statuses.count(200) == web.NEW_CONVERSATIONS.most
    refused = [a for a in answers if a.status == 429]
    assert len(refused) == 60 - web.NEW_CONVERSATIONS.most
    assert 0 < int(refused[0].headers["Retry-After"]) <= web.NEW_CONVERSATIONS.window_s
    assert "wait" in (await refused[0].json())["error"]
    await settled(redis)
    assert await redis.zcard(keys.QUEUE) == web.NEW_CONVERSATIONS.most
    # somebody else, at another address, starts a conversation and is heard at once
    other = await post(client, new_session(), RISKY, "198.51.100.7")
    assert other.status == 200
    await settled(redis)
    assert await redis.zcard(keys.QUEUE) == web.NEW_CONVERSATIONS.most + 1


async def test_one_session_sending_too_fast_is_told_to_wait(make_client, redis):
    client = await make_client()
    session = new_session()
    statuses = [(await post(client, session, f"message {i}")).status for i in range(25)]
    assert statuses == [200] * web.SESSION_MESSAGES.most + [429] * 5
    # safe exit is never limited: the conversation is erased at once
    exit_ = await client.post("/chat/api/exit", json={"session": session})
    assert exit_.status == 200
    await settled(redis)
    assert not await redis.keys(f"{keys.PREFIX}:c:*")


async def test_the_page_waits_and_sends_again_without_losing_her_message(make_client, redis):
    """What chat.js does on a 429: wait Retry-After, send the same message again."""
    client = await make_client()
    chat = WebChat(client)
    await chat.start()
    for i in range(web.SESSION_MESSAGES.most - 1):
        assert (await post(client, chat.session, f"m{i}")).status == 200
    refused = await post(client, chat.session, "the message that matters")
    assert refused.status == 429
    window = keys.limit(web.SESSION_MESSAGES.name, chat_pid(client, chat.session))
    await redis.delete(window)  # as the window's end would (no sleeping a minute in a test)
    assert (await post(client, chat.session, "the message that matters")).status == 200
    await settled(redis)
    pid = chat_pid(client, chat.session)
    texts = [e["text"] for e in await transcript(redis, privacy(client), pid)]
    assert texts.count("the message that matters") == 1


def privacy(client):
    from helpline.app import PRIVACY

    return client.app[PRIVACY]


def chat_pid(client, session: str) -> str:
    return privacy(client).pid("web", session)


async def test_the_mailbox_keeps_its_newest_replies_and_the_page_keeps_its_place(
    make_client, redis
):
    from helpline.app import CHANNELS, PIPELINE

    client = await make_client()
    channel = client.app[CHANNELS]["web"]
    session = new_session()
    await client.app[PIPELINE].vault.ensure(chat_pid(client, session))  # her conversation's
    for i in range(web.MAILBOX_KEEP + 100):
        await channel.send(session, web.Outbound(text=f"reply {i}", id=str(i)))

    async def read(after: int) -> dict:
        response = await client.get(
            "/chat/api/messages", params={"session": session, "after": after, "wait": "0"}
        )
        assert response.status == 200
        return await response.json()

    everything = await read(0)
    assert len(everything["messages"]) == web.MAILBOX_KEEP
    assert everything["messages"][0]["text"] == "reply 100"  # the oldest hundred dropped
    assert everything["next"] == web.MAILBOX_KEEP + 100
    tail = await read(590)
    assert [m["text"] for m in tail["messages"]] == [f"reply {i}" for i in range(590, 600)]
    assert tail["next"] == 600
    assert (await read(600))["messages"] == [] and (await read(600))["next"] == 600
    pid = chat_pid(client, session)
    assert int(await redis.get(keys.web_mailbox_dropped(pid))) == 100


async def test_a_transcript_keeps_its_newest_entries_and_counts_the_rest(
    make_client, redis, monkeypatch
):
    monkeypatch.setattr(commit, "TRANSCRIPT_KEEP", 10)
    client = await make_client()
    chat = WebChat(client)
    await chat.start()
    await chat.say("1")
    for i in range(6):
        await chat.say(f"note {i}")
    pid = chat_pid(client, chat.session)
    entries = await transcript(redis, privacy(client), pid)
    assert len(entries) == 10 and entries[-2]["text"] == "note 5"
    dropped = int(await redis.get(keys.transcript_dropped(pid)))
    assert dropped > 0
    # the console tells the counsellor
    await Counsellors(redis).add("sue", "a long enough password", "supervisor")
    await chat.say("COUNSELLOR")
    login = await client.post(
        "/console/api/login", json={"username": "sue", "password": "a long enough password"}
    )
    assert login.status == 200
    body = await (await client.get(f"/console/api/conversations/{pid}")).json()
    assert body["earlier_dropped"] >= dropped and len(body["messages"]) == 10


@pytest.mark.parametrize("after", ["99999999999999999999999", "9" * 5000])
async def test_a_huge_after_reads_nothing(client, after):
    response = await client.get(
        "/chat/api/messages", params={"session": new_session(), "after": after, "wait": "0"}
    )
    assert response.status == 200
    assert (await response.json())["messages"] == []


@pytest.mark.parametrize("after", ["-1", "abc", "1e3", "١٢"])
async def test_an_after_that_is_not_a_whole_number_is_refused(client, after):
    response = await client.get(
        "/chat/api/messages", params={"session": new_session(), "after": after}
    )
    assert response.status == 400 and "`after`" in (await response.json())["error"]


async def test_long_polls_are_bounded_per_client(client):
    sessions = [new_session() for _ in range(web.LONG_POLLS_PER_CLIENT + 1)]
    polls = [
        asyncio.ensure_future(
            client.get("/chat/api/messages", params={"session": s, "after": 0, "wait": "1"})
        )
        for s in sessions[:-1]
    ]
    await asyncio.sleep(0.3)  # they are all waiting now
    extra = await client.get(
        "/chat/api/messages", params={"session": sessions[-1], "after": 0, "wait": "1"}
    )
    assert extra.status == 429 and extra.headers["Retry-After"] == "1"
    for poll in polls:
        poll.cancel()
    await asyncio.gather(*polls, return_exceptions=True)
