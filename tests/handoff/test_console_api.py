"""The console JSON API of SPEC.md, against the whole app and a real Redis."""

from __future__ import annotations

import asyncio
import json
import time

from bot.store import keys
from bot.testing.settle import settled
from bot.testing.webchat import WebChat
from handoff.counsellors import Counsellors
from helpline.app import REDIS
from tests.browser import PASSWORD  # ana, bea (counsellors) and sue: the `team` fixture
from tests.conftest import ROOT


async def login(client, user: str, password: str = PASSWORD) -> str:
    response = await client.post(
        "/console/api/login", json={"username": user, "password": password}
    )
    assert response.status == 200, await response.text()
    body = await response.json()
    assert set(body) >= {"csrf_token", "user"}
    return body["csrf_token"]


async def queued_person(
    client, text: str = "he took my passport and locks me in"
) -> tuple[WebChat, str]:
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
    bad = await client.post(
        "/console/api/login", json={"username": "ana", "password": "wrong password"}
    )
    assert bad.status == 401 and "error" in await bad.json()
    csrf = await login(client, "ana")
    me = await (await client.get("/console/api/me")).json()
    assert me == {"user": "ana", "role": "counsellor", "csrf_token": csrf}
    assert (await client.post("/console/api/logout")).status == 403  # no CSRF header
    assert (await client.post("/console/api/logout", headers={"X-CSRF-Token": csrf})).status == 200
    assert (await client.get("/console/api/me")).status == 401


async def test_handoff_claim_reply_close(make_client, team, redis):
    person_side = await make_client()
    csrf = await login(person_side, "ana")
    chat, pid = await queued_person(person_side, "")
    queue = await (await person_side.get("/console/api/queue")).json()
    assert queue[0]["priority"] == "asked" and queue[0]["assigned_to"] is None
    claim = await person_side.post(
        f"/console/api/conversations/{pid}/claim", headers={"X-CSRF-Token": csrf}
    )
    assert claim.status == 200
    sent = await person_side.post(
        f"/console/api/conversations/{pid}/messages",
        json={"text": "Hello, I am here."},
        headers={"X-CSRF-Token": csrf},
    )
    assert sent.status == 200
    assert "Hello, I am here." in await chat.replies()
    await chat.send("thank you")
    await settled(redis)
    conversation = await (await person_side.get(f"/console/api/conversations/{pid}")).json()
    texts = [(m["from"], m["text"]) for m in conversation["messages"]]
    assert ("counsellor", "Hello, I am here.") in texts and ("user", "thank you") in texts
    # Sent, as every reply of the bot: a status the console reads without one kept
    # per message; the web chat reaches her mailbox without any address kept.
    statuses = {m["from"]: m.get("status") for m in conversation["messages"]}
    assert statuses == {"user": None, "bot": "sent", "counsellor": "sent"}
    assert not await redis.exists(keys.address(pid)) and not await redis.exists(keys.delivery(pid))
    close = await person_side.post(
        f"/console/api/conversations/{pid}/close",
        json={"outcome": "information", "notes": "", "return_to_bot": True},
        headers={"X-CSRF-Token": csrf},
    )
    assert close.status == 200
    assert any("How can I help you?" in r for r in await chat.replies())


async def test_every_error_code(make_client, team, redis):
    client = await make_client()
    # 401 without a session, on every route
    for method, path in [
        ("get", "/console/api/queue"),
        ("get", "/console/api/me"),
        ("get", "/console/api/conversations/x"),
        ("post", "/console/api/conversations/x/claim"),
        ("get", "/console/api/events"),
    ]:
        response = await getattr(client, method)(path)
        assert response.status == 401, path
        assert "sign in" in (await response.json())["error"]
    csrf = await login(client, "ana")
    # 403 without or with a wrong CSRF token
    for token in (None, "wrong"):
        headers = {"X-CSRF-Token": token} if token else {}
        assert (
            await client.post("/console/api/conversations/x/claim", headers=headers)
        ).status == 403
    # 404 unknown id
    for method, path in [
        ("get", "/console/api/conversations/nope"),
        ("post", "/console/api/conversations/nope/claim"),
        ("post", "/console/api/conversations/nope/close"),
    ]:
        response = await getattr(client, method)(
            path, headers={"X-CSRF-Token": csrf}, json={"outcome": "x"}
        )
        assert response.status == 404, path
    # 403 wrong role
    assert (await client.get("/console/api/overview")).status == 403
    # 400 bad bodies, nothing changed
    _, pid = await queued_person(client, "")
    for path, body in [
        ("messages", {}),
        ("messages", {"text": ""}),
        ("messages", {"text": "x" * 5000}),
        ("transfer", {"to": "nobody"}),
        ("close", {"notes": "no outcome"}),
        ("close", {"outcome": "x", "return_to_bot": "yes"}),
    ]:
        response = await client.post(
            f"/console/api/conversations/{pid}/{path}", json=body, headers={"X-CSRF-Token": csrf}
        )
        assert response.status == 400, (path, body, await response.text())
    bad_json = await client.post(
        f"/console/api/conversations/{pid}/messages",
        data=b"{oops",
        headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"},
    )
    assert bad_json.status == 400
    queue = await (await client.get("/console/api/queue")).json()
    assert queue[0]["assigned_to"] is None  # nothing claimed by the failed calls


async def test_login_is_rate_limited(make_client, team):
    client = await make_client()
    for _ in range(5):
        assert (
            await client.post(
                "/console/api/login", json={"username": "ana", "password": "nope nope nope"}
            )
        ).status == 401
    blocked = await client.post(
        "/console/api/login", json={"username": "ana", "password": PASSWORD}
    )
    assert blocked.status == 429 and "Too many" in (await blocked.json())["error"]


async def test_session_cookie_is_httponly_and_strict(make_client, team):
    client = await make_client()
    response = await client.post(
        "/console/api/login", json={"username": "ana", "password": PASSWORD}
    )
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie


async def test_concurrent_claims_have_exactly_one_winner(make_client, team, redis):
    client = await make_client()
    await login(client, "sue")
    _, pid = await queued_person(client, "")
    from handoff.queue import HandoffQueue

    queue = HandoffQueue(redis)
    names = [f"c{i}" for i in range(50)]
    results = await asyncio.gather(*(queue.claim(pid, name) for name in names))
    winners = [name for name, (code, _, _) in zip(names, results, strict=True) if code == 200]
    assert len(winners) == 1
    assert sorted(code for code, _, _ in results) == [200] + [409] * 49
    assert (await redis.hget(f"hl:c:{{{pid}}}:handoff", "assigned_to")).decode() == winners[0]


async def test_two_counsellors_claim_over_http_one_gets_409(make_client, team):
    person = await make_client()
    ana, bea = await make_client(), await make_client()
    ana_csrf, bea_csrf = await login(ana, "ana"), await login(bea, "bea")
    _, pid = await queued_person(ana, "")
    first, second = await asyncio.gather(
        ana.post(f"/console/api/conversations/{pid}/claim", headers={"X-CSRF-Token": ana_csrf}),
        bea.post(f"/console/api/conversations/{pid}/claim", headers={"X-CSRF-Token": bea_csrf}),
    )
    assert sorted([first.status, second.status]) == [200, 409]
    loser = bea if first.status == 200 else ana
    assert (await loser.get(f"/console/api/conversations/{pid}")).status == 403
    del person


async def test_priority_order_and_aging(redis):
    from handoff.queue import HandoffQueue

    queue = HandoffQueue(redis, aging_minutes=5)
    t0 = 1_000_000.0
    await queue.enqueue(
        "asked-early", "asked", category=None, reason="asked", channel="sms", language="en", now=t0
    )
    await queue.enqueue(
        "medium",
        "medium",
        category="confinement",
        reason="risk",
        channel="sms",
        language="en",
        now=t0 + 10,
    )
    await queue.enqueue(
        "high",
        "high",
        category="trafficking_control",
        reason="risk",
        channel="sms",
        language="en",
        now=t0 + 20,
    )
    await queue.enqueue(
        "critical",
        "critical",
        category="imminent_violence",
        reason="risk",
        channel="web",
        language="ro",
        now=t0 + 30,
    )
    await queue.enqueue(
        "high-later",
        "high",
        category="sexual_violence",
        reason="risk",
        channel="sms",
        language="en",
        now=t0 + 40,
    )
    order = [e.id for e in await queue.entries(now=t0 + 60)]
    assert order == ["critical", "high", "high-later", "medium", "asked-early"]
    # After 16 minutes the asked-for conversation has risen three levels: it now
    # comes before a critical one that arrives then.
    await queue.enqueue(
        "critical-late",
        "critical",
        category="self_harm",
        reason="risk",
        channel="sms",
        language="en",
        now=t0 + 960,
    )
    entries = await queue.entries(now=t0 + 960)
    order = [e.id for e in entries]
    assert order.index("asked-early") < order.index("critical-late")
    assert entries[order.index("asked-early")].effective_priority == "critical"
    # A conversation never loses urgency: a later, milder match does not lower it
    await queue.enqueue(
        "critical",
        "medium",
        category=None,
        reason="risk",
        channel="web",
        language="ro",
        now=t0 + 970,
    )
    assert [e.priority for e in await queue.entries(now=t0 + 970) if e.id == "critical"] == [
        "critical"
    ]
    assert await queue.position("critical") == 1


async def test_while_she_waits_the_menus_answer_and_once_claimed_the_counsellor_does(
    make_client, team, redis
):
    client = await make_client()
    csrf = await login(client, "ana")
    chat, pid = await queued_person(client, "")
    # Unclaimed: the flows answer her, she stays in line, the counsellor sees it all.
    assert "The counsellor will read this." in await chat.say("are you there? it is Mia")
    assert "How can I help you?" in await chat.say("MENU")
    [entry] = await (await client.get("/console/api/queue")).json()
    assert entry["id"] == pid and entry["assigned_to"] is None
    claimed = await client.post(
        f"/console/api/conversations/{pid}/claim", headers={"X-CSRF-Token": csrf}
    )
    assert claimed.status == 200
    body = await (await client.get(f"/console/api/conversations/{pid}")).json()
    mine = [m["text"] for m in body["messages"] if m["from"] == "user"]
    assert mine[-2:] == ["are you there? it is Mia", "MENU"]
    # Claimed: what she writes goes to the counsellor, and the bot stays silent.
    await chat.send("MENU")
    await settled(redis)
    assert await chat.replies(expect_none=True) == []
    body = await (await client.get(f"/console/api/conversations/{pid}")).json()
    assert body["messages"][-1] == {**body["messages"][-1], "from": "user", "text": "MENU"}


async def test_she_can_withdraw_until_a_counsellor_has_her(make_client, team, redis):
    client = await make_client()
    await login(client, "ana")
    chat, pid = await queued_person(client, "")
    reply = await chat.say("2")  # "I no longer need a counsellor"
    assert "You are no longer waiting for a counsellor" in reply
    assert await (await client.get("/console/api/queue")).json() == []
    assert await redis.hget(f"hl:c:{{{pid}}}:handoff", "status") == b"withdrawn"
    # asking again queues her again
    assert "in line" in await chat.say("COUNSELLOR")
    assert len(await (await client.get("/console/api/queue")).json()) == 1


async def test_safe_exit_while_queued_and_while_with_a_counsellor(make_client, team, redis):
    client = await make_client()
    csrf = await login(client, "ana")
    waiting, waiting_pid = await queued_person(client, "")
    await waiting.send("EXIT")
    for _ in range(50):
        if await (await client.get("/console/api/queue")).json() == []:
            break
        await asyncio.sleep(0.05)
    assert await (await client.get("/console/api/queue")).json() == []
    assert await redis.keys(f"hl:c:{{{waiting_pid}}}:*") == []

    talking, pid = await queued_person(client, "")
    await client.post(f"/console/api/conversations/{pid}/claim", headers={"X-CSRF-Token": csrf})
    await talking.send("EXIT")
    for _ in range(50):
        body = await (await client.get(f"/console/api/conversations/{pid}")).json()
        if body.get("left"):
            break
        await asyncio.sleep(0.05)
    assert body["state"] == "left" and body["left"] is True and body["messages"] == []
    sent = await client.post(
        f"/console/api/conversations/{pid}/messages",
        json={"text": "are you ok?"},
        headers={"X-CSRF-Token": csrf},
    )
    assert sent.status == 409  # nothing is ever sent after a safe exit
    assert await talking.replies(expect_none=True) == []


async def test_transfer_and_supervisor_reassign(make_client, team, redis):
    client = await make_client()
    csrf = await login(client, "ana")
    _, pid = await queued_person(client, "")
    await client.post(f"/console/api/conversations/{pid}/claim", headers={"X-CSRF-Token": csrf})
    moved = await client.post(
        f"/console/api/conversations/{pid}/transfer",
        json={"to": "bea"},
        headers={"X-CSRF-Token": csrf},
    )
    assert moved.status == 200
    assert (await client.get(f"/console/api/conversations/{pid}")).status == 403  # now bea's
    supervisor = await make_client()
    sue = await login(supervisor, "sue")
    assert (await supervisor.get(f"/console/api/conversations/{pid}")).status == 200
    back = await supervisor.post(
        f"/console/api/conversations/{pid}/transfer",
        json={"to": "ana"},
        headers={"X-CSRF-Token": sue},
    )
    assert back.status == 200
    assert (await client.get(f"/console/api/conversations/{pid}")).status == 200
    overview = await (await supervisor.get("/console/api/overview")).json()
    assert overview["conversations_by_state"]["assigned"] == 1
    team_rows = {
        row["user"]: row for row in await (await supervisor.get("/console/api/counsellors")).json()
    }
    assert team_rows["ana"]["load"] == 1 and team_rows["bea"]["load"] == 0


async def test_close_without_return_ends_the_conversation(make_client, team):
    client = await make_client()
    csrf = await login(client, "ana")
    chat, pid = await queued_person(client, "")
    await client.post(f"/console/api/conversations/{pid}/claim", headers={"X-CSRF-Token": csrf})
    closed = await client.post(
        f"/console/api/conversations/{pid}/close",
        json={
            "outcome": "referred",
            "notes": "Sees the Zebraquartz lawyer",
            "return_to_bot": False,
        },
        headers={"X-CSRF-Token": csrf},
    )
    assert closed.status == 200
    # her counsellor's words about her are sealed with her data key, as hers are
    stored = await client.app[REDIS].hget(keys.handoff(pid), "notes")
    assert stored and b"Zebraquartz" not in stored
    shown = await (await client.get(f"/console/api/conversations/{pid}")).json()
    assert shown["notes"] == "Sees the Zebraquartz lawyer" and shown["outcome"] == "referred"
    assert await chat.replies(expect_none=True) == []  # nothing is sent on close without return
    text = await chat.say("hello")
    assert "confidential" in text  # she starts again at the welcome
    again = await client.post(
        f"/console/api/conversations/{pid}/close",
        json={"outcome": "x"},
        headers={"X-CSRF-Token": csrf},
    )
    assert again.status == 409


async def test_block_a_sender(make_client, team):
    client = await make_client()
    sue = await login(client, "sue")
    chat, pid = await queued_person(client, "")
    await client.post(
        f"/console/api/conversations/{pid}/close",
        json={"outcome": "abuse", "return_to_bot": True},
        headers={"X-CSRF-Token": sue},
    )
    await chat.replies()
    blocked = await client.post(
        f"/console/api/conversations/{pid}/block",
        json={"minutes": 60},
        headers={"X-CSRF-Token": sue},
    )
    assert blocked.status == 200
    assert await chat.say("1") == "Thank you for your message."
    ana = await make_client()
    ana_csrf = await login(ana, "ana")
    assert (
        await ana.post(
            f"/console/api/conversations/{pid}/block",
            json={"minutes": 5},
            headers={"X-CSRF-Token": ana_csrf},
        )
    ).status == 403


async def test_events_stream_announces_queue_changes(make_client, team):
    client = await make_client()
    await login(client, "ana")
    response = await client.get("/console/api/events")
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert (await response.content.readline()).startswith(b"retry:")
    chat = WebChat(client)
    await chat.start()
    await chat.send("COUNSELLOR")
    seen = b""
    while b"event: queue" not in seen:
        seen += await asyncio.wait_for(response.content.readline(), 5)
    response.close()


async def test_openapi_matches_the_routes(client):
    document = await (await client.get("/console/api/openapi.json")).json()
    assert document["openapi"].startswith("3.")
    documented = {
        (method.upper(), "/console/api" + path)
        for path, item in document["paths"].items()
        for method in item
    }
    routes = set()
    for resource in client.app.router.resources():
        info = resource.get_info()
        path = info.get("path") or info.get("formatter")
        if path and path.startswith("/console/api"):
            for route in resource:
                if route.method != "HEAD":
                    routes.add((route.method, path))
    assert documented == routes
    spec = ROOT / "handoff" / "openapi.json"
    assert json.loads(spec.read_text()) == document


class MovableClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def test_a_counsellor_writes_only_within_the_reply_window(make_client, team, redis):
    clock = MovableClock()
    client = await make_client(clock=clock, reply_window_hours=24)
    csrf = await login(client, "ana")
    chat, pid = await queued_person(client, "")
    await chat.replies(expect_none=True)
    sent = await client.post(
        f"/console/api/conversations/{pid}/messages",
        json={"text": "Hello, I am Ana."},
        headers={"X-CSRF-Token": csrf},
    )
    assert sent.status == 200
    assert await chat.replies() == ["Hello, I am Ana."]

    clock.now += 25 * 3600  # she has been silent for a day and an hour
    csrf = await login(client, "ana")
    body = await (await client.get(f"/console/api/conversations/{pid}")).json()
    assert body["reply_window_open"] is False
    before = await redis.llen(f"hl:c:{{{pid}}}:transcript")
    late = await client.post(
        f"/console/api/conversations/{pid}/messages",
        json={"text": "Are you still there?"},
        headers={"X-CSRF-Token": csrf},
    )
    assert late.status == 409
    assert "She must write first" in (await late.json())["error"]
    await settled(redis)
    assert await chat.replies(expect_none=True) == []
    assert await redis.llen(f"hl:c:{{{pid}}}:transcript") == before

    await chat.send("yes, I am here")  # she writes: the window opens again
    await settled(redis)
    body = await (await client.get(f"/console/api/conversations/{pid}")).json()
    assert body["reply_window_open"] is True
    again = await client.post(
        f"/console/api/conversations/{pid}/messages",
        json={"text": "Good. How can I help?"},
        headers={"X-CSRF-Token": csrf},
    )
    assert again.status == 200
    assert await chat.replies() == ["Good. How can I help?"]


async def test_a_queue_entry_silent_past_the_reply_window_leaves_as_abandoned(
    make_client, team, redis
):
    clock = MovableClock()
    client = await make_client(clock=clock, reply_window_hours=2)
    await login(client, "ana")
    _, pid = await queued_person(client, "")
    clock.now += 3600
    assert [e["id"] for e in await (await client.get("/console/api/queue")).json()] == [pid]
    clock.now += 3601
    await login(client, "ana")
    assert await (await client.get("/console/api/queue")).json() == []
    assert await redis.hget(f"hl:c:{{{pid}}}:handoff", "status") == b"abandoned"


async def test_a_child_is_offered_her_rights_and_the_counsellor_sees_under_18(
    make_client, team, redis
):
    client = await make_client()
    await login(client, "ana")
    chat = WebChat(client)
    await chat.start()
    replies = await chat.say("he will kill me, I am 14")
    # Critical leads: the emergency number first; then a child's rights offered.
    assert replies.index("call 112") < replies.index(
        "If you are under 18, you have a child's rights"
    )
    [entry] = await (await client.get("/console/api/queue")).json()
    assert entry["priority"] == "critical" and entry["risk"] == "threat_to_kill"
    body = await (await client.get(f"/console/api/conversations/{entry['id']}")).json()
    [said] = [m for m in body["messages"] if m["text"] == "he will kill me, I am 14"]
    assert said["why"] == '"kill ~ me" (en); also under 18'
    # One tap, and the rights of a child; she is still in line.
    assert chat.last_options[0]["label"] == "Rights under 18"
    await chat.tap(1)
    assert "treated as a child" in "\n".join(await chat.replies())
    [still] = await (await client.get("/console/api/queue")).json()
    assert still["id"] == entry["id"]


async def ana_and_a_person_waiting(make_client) -> tuple:
    """Ana signed in (her client and CSRF header) and the id of a person in the queue."""
    client = await make_client()
    headers = {"X-CSRF-Token": await login(client, "ana")}
    _, pid = await queued_person(client, "")
    return client, headers, pid


async def test_a_conversation_is_never_transferred_to_a_disabled_counsellor(
    make_client, team, redis
):
    client, headers, pid = await ana_and_a_person_waiting(make_client)
    await client.post(f"/console/api/conversations/{pid}/claim", headers=headers)
    await Counsellors(redis).set_disabled("bea", True)
    moved = await client.post(
        f"/console/api/conversations/{pid}/transfer", json={"to": "bea"}, headers=headers
    )
    assert moved.status == 409
    assert "bea is disabled" in (await moved.json())["error"]
    shown = await client.get(f"/console/api/conversations/{pid}")
    assert shown.status == 200 and (await shown.json())["assigned_to"] == "ana"  # still hers


async def test_claiming_her_own_conversation_again_changes_and_audits_nothing(
    make_client, team, redis
):
    client, headers, pid = await ana_and_a_person_waiting(make_client)
    for _ in range(2):
        claimed = await client.post(f"/console/api/conversations/{pid}/claim", headers=headers)
        assert claimed.status == 200 and (await claimed.json())["assigned_to"] == "ana"
    claims = [e for _, e in await redis.xrange(keys.AUDIT) if e[b"action"] == b"claim"]
    assert len(claims) == 1 and b"detail" not in claims[0]  # not "taken over from ana"
