"""The console JSON API of SPEC.md, against the whole app and a real Redis."""

from __future__ import annotations

import asyncio

import pytest

from bot.testing import WebChat
from handoff.counsellors import Counsellors

PASSWORD = "correct horse battery"


async def login(client, user: str, password: str = PASSWORD) -> str:
    response = await client.post("/console/api/login", json={"username": user, "password": password})
    assert response.status == 200, await response.text()
    body = await response.json()
    assert set(body) >= {"csrf_token", "user"}
    return body["csrf_token"]


@pytest.fixture
async def team(redis):
    counsellors = Counsellors(redis)
    await counsellors.add("ana", PASSWORD, "counsellor")
    await counsellors.add("bea", PASSWORD, "counsellor")
    await counsellors.add("sue", PASSWORD, "supervisor")
    return counsellors


async def queued_person(client, text: str = "he took my passport and locks me in") -> tuple[WebChat, str]:
    """A person on the web chat who asked for a counsellor; returns her chat and conversation id."""
    chat = WebChat(client)
    await chat.start()
    await chat.say(text if text else "COUNSELLOR")
    for _ in range(100):
        queue = await (await client.get("/console/api/queue")).json()
        if queue:
            return chat, queue[0]["id"]
        await asyncio.sleep(0.05)
    raise AssertionError("nobody reached the queue")


async def test_login_me_logout(make_client, team):
    client = await make_client()
    assert (await client.get("/console/api/me")).status == 401
    bad = await client.post("/console/api/login", json={"username": "ana", "password": "wrong password"})
    assert bad.status == 401 and "error" in await bad.json()
    csrf = await login(client, "ana")
    me = await (await client.get("/console/api/me")).json()
    assert me == {"user": "ana", "role": "counsellor", "csrf_token": csrf}
    assert (await client.post("/console/api/logout")).status == 403  # no CSRF header
    assert (await client.post("/console/api/logout", headers={"X-CSRF-Token": csrf})).status == 200
    assert (await client.get("/console/api/me")).status == 401


async def test_handoff_claim_reply_close(make_client, team):
    person_side = await make_client()
    csrf = await login(person_side, "ana")
    chat, pid = await queued_person(person_side, "")
    queue = await (await person_side.get("/console/api/queue")).json()
    assert queue[0]["priority"] == "asked" and queue[0]["assigned_to"] is None
    claim = await person_side.post(f"/console/api/conversations/{pid}/claim", headers={"X-CSRF-Token": csrf})
    assert claim.status == 200
    sent = await person_side.post(f"/console/api/conversations/{pid}/messages", json={"text": "Hello, I am here."},
                                  headers={"X-CSRF-Token": csrf})
    assert sent.status == 200
    assert "Hello, I am here." in await chat.replies()
    await chat.send("thank you")
    await asyncio.sleep(0.3)
    conversation = await (await person_side.get(f"/console/api/conversations/{pid}")).json()
    texts = [(m["from"], m["text"]) for m in conversation["messages"]]
    assert ("counsellor", "Hello, I am here.") in texts and ("user", "thank you") in texts
    close = await person_side.post(f"/console/api/conversations/{pid}/close",
                                   json={"outcome": "information", "notes": "", "return_to_bot": True},
                                   headers={"X-CSRF-Token": csrf})
    assert close.status == 200
    assert any("How can I help you?" in r for r in await chat.replies())
