"""The web chat at `/`, over HTTP: the same flows and Redis state as every channel."""

from __future__ import annotations

import asyncio

from bot.store import keys
from bot.testing.webchat import WebChat
from tests.conftest import ROOT


async def test_page_is_served_with_a_strict_csp(client):
    response = await client.get("/")
    assert response.status == 200
    html = await response.text()
    assert "Quick exit" in html and 'src="/chat/static/chat.js"' in html
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "http" not in html.replace('rel="stylesheet" href="/chat', "")  # no third-party assets


async def test_a_whole_conversation_with_buttons(chat):
    replies = await chat.start()
    assert "confidential" in replies[0]
    assert [o["label"] for o in chat.last_options] == ["Yes, I can talk", "No, not now"]
    await chat.tap(1)
    assert "How can I help you?" in await chat.replies()
    await chat.tap(2)
    assert "you have rights" in "\n".join(await chat.replies())
    await chat.tap(5)  # Papers, asylum, time to rest
    await chat.replies()
    await chat.tap(2)  # A permit to stay
    text = "\n".join(await chat.replies())
    assert "Directive 2004/81/EC" in text and "Romania or Bulgaria" in text


async def test_quick_exit_erases_everything(client, redis):
    chat = WebChat(client)
    await chat.start()
    await chat.say("1")
    assert await redis.keys(f"{keys.PREFIX}:c:*")
    response = await client.post("/chat/api/exit", json={"session": chat.session})
    assert response.status == 200
    for _ in range(100):
        if not await redis.keys(f"{keys.PREFIX}:c:*"):
            break
        await asyncio.sleep(0.02)
    assert await redis.keys(f"{keys.PREFIX}:c:*") == []
    messages = await (
        await client.get("/chat/api/messages", params={"session": chat.session, "wait": "0"})
    ).json()
    assert messages == {"messages": [], "next": 0}


async def test_state_survives_an_app_restart(make_client, redis):
    first = await make_client()
    chat = WebChat(first)
    await chat.start()
    await chat.say("1")
    await chat.say("2")  # in the rights menu
    await first.close()
    second = await make_client()
    chat.client = second
    text = await chat.say("8")
    assert "legal advice without delay" in text  # answered from the rights menu it was in


async def test_bad_requests_are_refused(client, redis):
    cases = [
        ({"session": "short", "text": "hi"}, 400),
        ({"session": "a" * 24}, 400),
        ({"session": "a" * 24, "text": "x" * 5000}, 413),
        ({"session": "a" * 24, "payload": 5}, 400),
    ]
    for body, status in cases:
        assert (await client.post("/chat/api/messages", json=body)).status == status, body
    raw = await client.post(
        "/chat/api/messages", data=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert raw.status == 400
    utf = await client.post(
        "/chat/api/messages", data=b'{"text": "\xff"}', headers={"Content-Type": "application/json"}
    )
    assert utf.status == 400
    big = await client.post(
        "/chat/api/messages", data=b"x" * 70_000, headers={"Content-Type": "application/json"}
    )
    assert big.status == 413
    assert (await client.get("/chat/api/messages", params={"session": "../etc"})).status == 400
    assert await redis.keys(f"{keys.PREFIX}:c:*") == []


async def test_web_chat_welcome(chat):
    replies = await chat.start()
    assert any("confidential" in r for r in replies), replies
    text = await chat.say("1")
    assert "How can I help you?" in text


async def test_typing_the_exit_word_erases_and_tells_the_page_to_clear(client, redis):
    chat = WebChat(client)
    await chat.start()
    await chat.say("1")
    assert await redis.keys(f"{keys.PREFIX}:c:*")
    response = await client.post(
        "/chat/api/messages", json={"session": chat.session, "text": " exit "}
    )
    assert response.status == 200 and await response.json() == {"ok": True, "exit": True}
    for _ in range(100):
        if not await redis.keys(f"{keys.PREFIX}:c:*"):
            break
        await asyncio.sleep(0.02)
    assert await redis.keys(f"{keys.PREFIX}:c:*") == []
    # another language's exit word does the same; a sentence with it in is a message
    french = await client.post(
        "/chat/api/messages", json={"session": WebChat(client).session, "text": "Sortie"}
    )
    assert await french.json() == {"ok": True, "exit": True}
    other = WebChat(client)
    await other.start()
    said = await client.post(
        "/chat/api/messages", json={"session": other.session, "text": "how do I exit?"}
    )
    assert await said.json() == {"ok": True}


async def test_the_page_speaks_the_browsers_language(client):
    from bot.i18n.catalogs import Catalogs

    catalogs = Catalogs(ROOT / "locales")
    response = await client.get("/", headers={"Accept-Language": "tr-TR, ro;q=0.9, en;q=0.5"})
    html = await response.text()
    assert response.headers["Content-Language"] == "ro"
    assert '<html lang="ro" dir="ltr">' in html
    for msgid in ("Quick exit", "Send", "Write a message"):
        assert f">{catalogs.text('ro', msgid)}<" in html or catalogs.text("ro", msgid) in html
        assert catalogs.text("ro", msgid) != msgid  # translated, not English
    arabic = await (await client.get("/", headers={"Accept-Language": "ar"})).text()
    assert '<html lang="ar" dir="rtl">' in arabic and catalogs.text("ar", "Quick exit") in arabic
    english = await (await client.get("/")).text()
    assert '<html lang="en" dir="ltr">' in english and ">Quick exit<" in english
    assert "Test chat" not in english and "30 days" in english


async def test_the_first_message_takes_the_browsers_language(client):
    chat = WebChat(client)
    response = await client.post(
        "/chat/api/messages",
        json={"session": chat.session, "start": True},
        headers={"Accept-Language": "ro-RO,ro;q=0.9"},
    )
    assert response.status == 200
    [welcome, *_] = await chat.replies()
    assert "confidențial" in welcome
    body = await (
        await client.get("/chat/api/messages", params={"session": chat.session, "wait": "0"})
    ).json()
    assert body["page"]["lang"] == "ro" and body["page"]["dir"] == "ltr"


async def test_reading_messages_is_a_long_poll_unless_she_asks_for_what_is_there(client, chat):
    await chat.start()
    query = {"session": chat.session, "after": str(chat.next)}
    now = await client.get("/chat/api/messages", params={**query, "wait": "0"})
    assert await now.json() == {"messages": [], "next": chat.next}  # nothing new: at once
    poll = asyncio.ensure_future(client.get("/chat/api/messages", params=query))
    await asyncio.sleep(0.5)
    assert not poll.done()  # held open while there is nothing to read
    await client.post("/chat/api/messages", json={"session": chat.session, "payload": "yes"})
    response = await asyncio.wait_for(poll, 10)
    body = await response.json()
    assert body["messages"] and body["next"] > chat.next  # the reply, as soon as it is there


async def test_an_empty_after_reads_from_the_start_as_an_absent_one(client, chat):
    await chat.start()
    everything = {"session": chat.session, "wait": "0"}
    absent = await (await client.get("/chat/api/messages", params=everything)).json()
    empty = await (
        await client.get("/chat/api/messages", params={**everything, "after": ""})
    ).json()
    assert empty == absent and "confidential" in empty["messages"][0]["text"]
