"""The durable pipeline: order across processes, dead letters, no loss."""

from __future__ import annotations

import asyncio
import base64
import json
import os

from redis.exceptions import ResponseError

from bot.channels.base import Inbound
from bot.clock import wall_clock
from bot.pipeline.drain import DrainScript
from bot.store import keys
from bot.testing.sealed import opened
from bot.testing.settle import settled
from bot.testing.webchat import WebChat
from helpline.app import PIPELINE, PRIVACY


async def test_messages_of_one_conversation_are_handled_in_order_by_two_app_instances(make_client):
    first, second = (  # two apps, one Redis; 31 messages in a minute, over the flood limit
        await make_client(web_chat_limits=False),
        await make_client(web_chat_limits=False),
    )
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
    from bot.runtime.runtime import Runtime

    original = Runtime.handle

    async def broken(self, pid, inbound, commit, loaded=None):
        if inbound.text == "boom":
            raise RuntimeError("a bug")
        return await original(self, pid, inbound, commit, loaded)

    monkeypatch.setattr(Runtime, "handle", broken)
    await chat.send("boom")
    await chat.send("1")  # the conversation is not stuck behind it
    assert "How can I help you?" in await chat.replies()
    pid = client.app[PRIVACY].pid("web", chat.session)
    assert await redis.zrange(keys.DEAD_LETTERS, 0, -1) == [pid.encode()]
    dead = await redis.lrange(keys.dead_letters(pid), 0, -1)
    assert len(dead) == 1 and b"boom" not in dead[0]  # sealed with her data key
    [letter] = await opened(redis, client.app[PRIVACY], pid, keys.dead_letters)
    key = await client.app[PIPELINE].vault.get(pid)
    sealed = base64.b64decode(letter["sealed"])
    assert key is not None and json.loads(key.open(sealed))["text"] == "boom"
    # kept with the conversation: it expires with her data, never later
    assert 0 < await redis.ttl(keys.dead_letters(pid)) <= await redis.ttl(keys.state(pid))


async def test_dead_letters_are_retried_once_fixed_and_erased_with_her_conversation(
    make_client, redis, redis_url, monkeypatch
):
    from bot.runtime.runtime import Runtime
    from tests.conftest import helpline

    client = await make_client()
    chat = WebChat(client)
    await chat.start()
    original = Runtime.handle
    broken = {"MENU"}

    async def handle(self, pid, inbound, commit, loaded=None):
        if inbound.text in broken:
            raise RuntimeError("a bug")
        return await original(self, pid, inbound, commit, loaded)

    monkeypatch.setattr(Runtime, "handle", handle)
    await chat.send("MENU")
    assert await chat.replies(settle=0.5) == []
    pid = client.app[PRIVACY].pid("web", chat.session)
    env = {**os.environ, "REDIS_URL": redis_url}
    listed = helpline("deadletters", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    assert pid in listed.stdout and "1 message" in listed.stdout and "MENU" not in listed.stdout

    unknown = helpline("deadletters", "retry", "no-such-conversation", env=env)
    assert unknown.returncode == 1 and "Nothing changed" in unknown.stderr
    assert await redis.llen(keys.dead_letters(pid)) == 1

    broken.clear()  # the bug is fixed: retried, she gets her answer
    retried = helpline("deadletters", "retry", pid, env=env)
    assert retried.returncode == 0 and "1 message put back" in retried.stdout
    assert await chat.replies(timeout=10) == ["How can I help you?"]
    assert not await redis.exists(keys.dead_letters(pid))
    assert await redis.zcard(keys.DEAD_LETTERS) == 0

    broken.add("MENU")  # a new failure, then she leaves by the exit word
    await chat.send("MENU")
    await chat.replies(settle=0.5)
    assert await redis.exists(keys.dead_letters(pid))
    await chat.send("exit")
    await chat.replies(settle=0.5)
    assert not await redis.exists(keys.dead_letters(pid))
    assert await redis.zcard(keys.DEAD_LETTERS) == 0
    purged = helpline("deadletters", "purge", env=env)
    assert purged.returncode == 0 and "0 dead letters deleted" in purged.stdout


async def test_healthz_and_metrics(client, chat):
    health = await client.get("/healthz")
    assert health.status == 200 and (await health.json())["status"] == "ok"
    await chat.start()
    await chat.say("1")
    metrics = await (await client.get("/metrics")).text()
    assert 'helpline_messages_in_total{channel="web"}' in metrics
    assert 'helpline_messages_out_total{channel="web"}' in metrics
    assert "helpline_queue_length" in metrics and "helpline_processing_seconds_bucket" in metrics


async def test_metrics_need_the_token_when_one_is_set(make_client):
    client = await make_client(metrics_token="metrics-token-0123456789")
    for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"}):
        refused = await client.get("/metrics", headers=headers)
        assert refused.status == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
        assert "helpline_" not in await refused.text()
    allowed = await client.get(
        "/metrics", headers={"Authorization": "Bearer metrics-token-0123456789"}
    )
    assert allowed.status == 200 and "helpline_queue_length" in await allowed.text()


async def test_healthz_reports_the_backlog_and_turns_503_when_it_is_stuck(client, redis):
    from helpline.app import BACKLOG_STUCK_S

    body = await (await client.get("/healthz")).json()
    assert body["backlog"] == {"conversations": 0, "oldest_seconds": 0.0}
    assert body["channel_state"] == {"web": "on"} and body["flows_reload_error"] is None
    # a conversation whose stored message nobody has progressed for too long
    stale = wall_clock() - BACKLOG_STUCK_S - 5
    await redis.zadd(keys.WORK_PENDING, {"stuck-conversation": stale})
    stuck = await client.get("/healthz")
    assert stuck.status == 503
    body = await stuck.json()
    assert body["status"] == "stuck" and body["backlog"]["conversations"] == 1
    assert body["backlog"]["oldest_seconds"] > BACKLOG_STUCK_S


async def test_healthz_names_an_edit_of_the_flows_that_was_refused(make_client, tmp_path):
    import shutil

    from helpline.app import FLOWS as FLOWS_KEY
    from tests.conftest import FLOWS

    flows = tmp_path / "flows"
    shutil.copytree(FLOWS, flows)
    client = await make_client(flows_dir=flows)
    settings_file = flows / "settings.yaml"
    settings_file.write_text(settings_file.read_text() + "\nnot: [valid\n")
    assert not client.app[FLOWS_KEY].reload_if_changed()  # refused: the last good set runs
    body = await (await client.get("/healthz")).json()
    assert body["status"] == "ok" and "settings.yaml" in body["flows_reload_error"]


async def test_healthz_is_503_when_redis_is_down(make_client, tmp_path):
    from bot.store.embedded import EmbeddedRedis

    server = EmbeddedRedis(tmp_path / "r", appendonly=False)
    url = server.start()
    client = await make_client(redis_url=url)
    assert (await client.get("/healthz")).status == 200
    server.stop()
    await asyncio.sleep(0.1)
    response = await client.get("/healthz")
    assert response.status == 503 and (await response.json())["status"] == "unavailable"
    # A message arriving meanwhile is refused clearly (not acknowledged: sent again later).
    chat = WebChat(client)
    response = await client.post("/chat/api/messages", json={"session": chat.session, "text": "hi"})
    assert response.status == 503 and "retry" in (await response.json())["error"]


async def test_a_conversation_left_by_a_dead_process_is_taken_over(make_client, redis):
    """A process stored her message, took the conversation and died: its lock
    expires, and the sweep of a live process handles the message."""
    client = await make_client()
    chat = WebChat(client)
    await chat.start()
    await settled(redis)
    # What the dead process left: her message in the inbox, the conversation
    # pending since long ago, and its lock (expiring in 1.5 s).
    app = client.server.app
    pid = app[PRIVACY].pid("web", chat.session)
    pipeline = app[PIPELINE]
    await redis.set(keys.work_lock(pid), "dead-process-token", px=1500)
    message = Inbound("web", chat.session, text="MENU")
    data = message.to_json()
    data["user_id"] = app[PRIVACY].encrypt(chat.session, pid)
    await redis.rpush(keys.inbox(pid), json.dumps(data))
    await redis.zadd(keys.WORK_PENDING, {pid: 1.0})
    pipeline.workers.wake(pid)  # busy: the dead holder's lock
    assert await chat.replies(timeout=1.0, expect_none=True) == []
    assert await chat.replies(timeout=6) == ["How can I help you?"]
    assert await redis.llen(keys.inbox(pid)) == 0
    assert await redis.zscore(keys.WORK_PENDING, pid) is None


async def test_replies_go_out_from_a_process_that_has_the_channel(make_client, settings, redis):
    """A process without the web channel (as the terminal chat is) stores and
    processes her message; a process that has the channel delivers the reply."""
    from aiohttp.test_utils import TestClient, TestServer

    from helpline.app import create_app

    web_app = await make_client()
    chat = WebChat(web_app)
    await chat.start()
    elsewhere = TestClient(TestServer(create_app(settings, channels={})))
    await elsewhere.start_server()
    try:
        app = elsewhere.server.app
        assert "web" not in app[PIPELINE].senders
        await app[PIPELINE].accept(Inbound("web", chat.session, text="MENU"))
        assert await chat.replies(timeout=8) == ["How can I help you?"]
        pid = app[PRIVACY].pid("web", chat.session)
        assert await redis.zscore(keys.send_pending("web"), pid) is None
    finally:
        await elsewhere.close()


async def test_scripts_are_loaded_again_after_redis_forgets_them(client, chat, redis):
    await chat.start()
    await redis.script_flush()  # as after a Redis restart
    assert await chat.say("MENU") == "How can I help you?"


async def test_coalesced_script_calls_fail_alone(redis):
    """Calls batched in one pipeline: an error reaches only its own caller."""
    await redis.set("not-a-list", "x")
    lists = {
        key: DrainScript(redis, lambda pid, key=key: key, lambda pid: "hl:test:lock", "hl:test:p")
        for key in ["hl:test:a", "not-a-list", "hl:test:b"]
    }
    results = await asyncio.gather(
        *(steps.accept("p", "m", "", "", 60, 60, "k") for steps in lists.values()),
        return_exceptions=True,
    )
    assert results[0] == (True, None) and results[2] == (True, None)
    assert isinstance(results[1], ResponseError) and "WRONGTYPE" in str(results[1])
    assert await redis.lrange("hl:test:a", 0, -1) == [b"m"]


async def test_a_slow_step_keeps_its_conversation(make_client, redis, monkeypatch):
    """A step slower than the lock's lifetime (a provider's timeout, a first
    search): its holder renews the lock, so no other process takes the
    conversation over and handles the message a second time."""
    from bot.pipeline import drain
    from bot.runtime.runtime import Runtime

    # Short enough for a test, long enough that a loaded machine's pauses (a
    # gazetteer built in a thread at start holds the GIL) do not expire it.
    monkeypatch.setattr(drain, "LOCK_TTL_MS", 1500)
    monkeypatch.setattr(drain, "RENEW_EVERY_S", 0.3)
    monkeypatch.setattr(drain, "STALE_AFTER_S", 0.3)
    monkeypatch.setattr(drain, "SWEEP_EVERY_S", 0.2)
    first = await make_client()
    await make_client()  # a second process, whose sweep would take the conversation over
    handled = []
    original = Runtime.handle

    async def slow(self, pid, inbound, commit, loaded=None):
        if inbound.text == "slow":
            handled.append(inbound.received_at)
            await asyncio.sleep(4.0)  # over two lock lifetimes
        return await original(self, pid, inbound, commit, loaded)

    monkeypatch.setattr(Runtime, "handle", slow)
    chat = WebChat(first)
    await chat.start()
    await chat.send("slow")
    replies = await chat.replies(timeout=10, settle=1.5)
    assert len(handled) == 1
    assert len(replies) == 1
