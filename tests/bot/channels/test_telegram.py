"""Telegram through the real python-telegram-bot library against a fake Bot API."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from pathlib import Path

import pytest

from bot.channels import telegram as telegram_channel
from bot.store import keys
from bot.testing.settle import settled
from bot.testing.webchat import WebChat
from tests.conftest import ROOT
from tests.fakes import FakeTelegram

SECRET = "test-webhook-secret"
CHAT = 777001
_update_ids = itertools.count(1)
_message_ids = itertools.count(500)


def message_update(
    text: str | None = None,
    chat: int = CHAT,
    language: str = "en",
    update_id: int | None = None,
    **extra,
) -> dict:
    message = {
        "message_id": next(_message_ids),
        "date": 1_767_225_600,
        "chat": {"id": chat, "type": "private"},
        "from": {"id": chat, "is_bot": False, "first_name": "A", "language_code": language},
    }
    if text is not None:
        message["text"] = text
    message.update(extra)
    return {"update_id": update_id or next(_update_ids), "message": message}


def button_update(payload: str, chat: int = CHAT) -> dict:
    return {
        "update_id": next(_update_ids),
        "callback_query": {
            "id": str(next(_update_ids)),
            "data": payload,
            "chat_instance": "x",
            "from": {"id": chat, "is_bot": False, "first_name": "A", "language_code": "en"},
            "message": {
                "message_id": next(_message_ids),
                "date": 1_767_225_600,
                "chat": {"id": chat, "type": "private"},
                "text": "menu",
            },
        },
    }


def telegram_env(fake: FakeTelegram, token: str | None = None) -> dict[str, str]:
    """The channel's variables for the fake Bot API (with another token if given)."""
    return {
        "TELEGRAM_BOT_TOKEN": token or fake.token,
        "TELEGRAM_API_BASE_URL": fake.base_url,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
    }


@pytest.fixture
async def telegram():
    fake = await FakeTelegram().start()
    yield fake
    await fake.close()


@pytest.fixture
async def tg_client(make_client, telegram):
    return await make_client(
        channel_env=telegram_env(telegram),
        public_url="https://help.example.org",
        send_backoff_s=0.02,
        send_attempts=4,
    )


async def post(client, update, secret: str | None = SECRET, raw: bytes | None = None):
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    return await client.post(
        "/telegram/webhook", data=raw if raw is not None else json.dumps(update), headers=headers
    )


def texts(calls: list[dict]) -> list[str]:
    return [c["text"] for c in calls]


async def test_set_webhook_at_start_with_secret(tg_client, telegram):
    hooks = telegram.called("setWebhook")
    assert hooks and hooks[0]["url"] == "https://help.example.org/telegram/webhook"
    assert hooks[0]["secret_token"] == SECRET
    assert telegram.called("getMe")


async def test_start_welcome_with_inline_buttons_then_tap(tg_client, telegram):
    assert (await post(tg_client, message_update("/start"))).status == 200
    sent = await telegram.wait_for("sendMessage", 2)
    assert "confidential" in sent[0]["text"] and "EXIT" in sent[0]["text"]
    keyboard = sent[1]["reply_markup"]["inline_keyboard"]
    assert [row[0]["text"] for row in keyboard] == ["Yes, I can talk", "No, not now"]
    assert sent[1]["protect_content"] is True
    assert (await post(tg_client, button_update(keyboard[0][0]["callback_data"]))).status == 200
    sent = await telegram.wait_for("sendMessage", 3)
    assert sent[2]["text"] == "How can I help you?"
    await telegram.wait_for("answerCallbackQuery", 1)


async def test_duplicate_update_is_processed_once(tg_client, telegram, redis):
    update = message_update("hello")
    for _ in range(3):
        assert (await post(tg_client, update)).status == 200
    await telegram.wait_for("sendMessage", 2)
    await settled(redis)
    assert len(telegram.called("sendMessage")) == 2  # the welcome and the safety question, once


@pytest.mark.parametrize(
    "case, body, secret, status",
    [
        ("missing secret", message_update("hi"), None, 403),
        ("wrong secret", message_update("hi"), "nope", 403),
        ("malformed JSON", None, SECRET, 400),
        ("not an object", [1, 2], SECRET, 400),
        ("no update_id", {"message": {"text": "hi"}}, SECRET, 400),
        ("unknown update type", {"update_id": 99, "channel_post": {}}, SECRET, 400),
        (
            "message without chat",
            {"update_id": 98, "message": {"message_id": 1, "date": 1, "text": "hi"}},
            SECRET,
            400,
        ),
    ],
)
async def test_bad_webhooks_get_4xx_and_change_nothing(
    tg_client, redis, telegram, case, body, secret, status
):
    raw = b"{not json" if body is None else None
    response = await post(tg_client, body, secret=secret, raw=raw)
    assert response.status == status, case
    assert "error" in await response.json()
    assert await redis.keys(f"{keys.PREFIX}:c:*") == []


async def test_invalid_utf8_and_oversized_bodies(tg_client, redis):
    assert (
        await post(tg_client, None, raw=b'{"update_id": 1, "message": "\xff\xfe"}')
    ).status == 400
    big = json.dumps(message_update("x" * 70_000))
    assert (await post(tg_client, None, raw=big.encode())).status == 413
    assert await redis.keys(f"{keys.PREFIX}:c:*") == []


async def test_stickers_edits_and_long_texts_get_a_polite_text_answer(tg_client, telegram):
    await post(tg_client, message_update("/start"))
    await telegram.wait_for("sendMessage", 2)
    await post(
        tg_client,
        message_update(
            None,
            sticker={
                "file_id": "x",
                "file_unique_id": "y",
                "width": 1,
                "height": 1,
                "is_animated": False,
                "is_video": False,
                "type": "regular",
            },
        ),
    )
    sent = await telegram.wait_for("sendMessage", 3)
    assert "only read text" in sent[2]["text"]
    edited = message_update("changed")
    edited["edited_message"] = edited.pop("message")
    await post(tg_client, edited)
    sent = await telegram.wait_for("sendMessage", 4)
    assert "only read text" in sent[3]["text"]


async def test_retry_on_429_and_500_then_delivered(tg_client, telegram):
    telegram.failures.add("sendMessage", 429, count=1, retry_after=0.2)
    telegram.failures.add("sendMessage", 500, count=1)
    await post(tg_client, message_update("/start"))
    await telegram.wait_for("sendMessage", 4)  # two failed attempts, then both messages
    ok = [c for c in telegram.calls if c.method == "sendMessage"]
    assert "confidential" in ok[2].params["text"]


async def test_final_failure_is_visible_to_counsellors(tg_client, telegram, redis):
    telegram.failures.add("sendMessage", 500, count=100)
    await post(tg_client, message_update("hello"))
    pid = None
    for _ in range(200):
        for found in await redis.keys(f"{keys.PREFIX}:c:*:delivery"):
            if b"failed" in await redis.hvals(found):
                pid = found.decode()
        if pid:
            break
        await asyncio.sleep(0.05)
    assert pid is not None, "a finally failed message must be recorded as failed"


async def test_safe_exit_deletes_every_recorded_message(tg_client, telegram, redis):
    await post(tg_client, message_update("/start"))
    await telegram.wait_for("sendMessage", 2)
    await post(tg_client, message_update("1"))
    await telegram.wait_for("sendMessage", 3)
    bot_ids = {json.loads(json.dumps(c.params)).get("chat_id") for c in telegram.calls}
    assert bot_ids == {CHAT} or bot_ids >= {CHAT}
    exit_update = message_update("EXIT")
    await post(tg_client, exit_update)
    deleted = await telegram.wait_for("deleteMessages", 1)
    ids = set(deleted[0]["message_ids"])
    # her three messages and the bot's three replies
    assert exit_update["message"]["message_id"] in ids
    assert len(ids) == 6
    assert len(telegram.called("sendMessage")) == 3  # nothing sent after EXIT
    assert await redis.keys(f"{keys.PREFIX}:c:*") == []


async def test_location_reaches_the_flow(tg_client, telegram):
    await post(tg_client, message_update("/start"))
    await telegram.wait_for("sendMessage", 2)
    await post(tg_client, message_update("1"))
    await post(tg_client, message_update("3"))  # a safe place to stay
    await post(tg_client, message_update("1"))  # a place to sleep tonight
    sent = await telegram.wait_for("sendMessage", 5)
    assert sent[4]["reply_markup"]["keyboard"][0][0]["request_location"] is True


async def test_long_polling_without_public_url(make_client, telegram):
    telegram.updates.append(message_update("/start", update_id=5000))
    await make_client(
        channel_env={
            "TELEGRAM_BOT_TOKEN": telegram.token,
            "TELEGRAM_API_BASE_URL": telegram.base_url,
        }
    )
    sent = await telegram.wait_for("sendMessage", 2)
    assert "confidential" in sent[0]["text"]
    assert telegram.called("deleteWebhook")


async def test_only_the_first_of_several_processes_polls(make_client, telegram):
    """Telegram serves getUpdates to one client at a time (409 Conflict otherwise)."""
    telegram.updates.append(message_update("/start", update_id=5001))
    for index in (1, 2):
        await make_client(
            channel_env={
                "TELEGRAM_BOT_TOKEN": telegram.token,
                "TELEGRAM_API_BASE_URL": telegram.base_url,
            },
            processes=3,
            process_index=index,
        )
    await asyncio.sleep(0.5)
    assert telegram.called("getUpdates") == [] and telegram.called("sendMessage") == []
    await make_client(
        channel_env={
            "TELEGRAM_BOT_TOKEN": telegram.token,
            "TELEGRAM_API_BASE_URL": telegram.base_url,
        },
        processes=3,
        process_index=0,
    )
    assert "confidential" in (await telegram.wait_for("sendMessage", 1))[0]["text"]


async def test_typing_is_shown_while_a_counsellor_writes(make_client, telegram, redis):
    from handoff.counsellors import Counsellors

    # Plain http here: behind https the console's cookie is Secure and a test client would not send it.
    tg_client = await make_client(
        channel_env=telegram_env(telegram),
        public_url="http://help.example.org",
    )
    await Counsellors(redis).add("ana", "a long enough password", "counsellor")
    login = await tg_client.post(
        "/console/api/login", json={"username": "ana", "password": "a long enough password"}
    )
    csrf = (await login.json())["csrf_token"]
    await post(tg_client, message_update("COUNSELLOR"))
    for _ in range(100):
        queue = await (await tg_client.get("/console/api/queue")).json()
        if queue:
            break
        await asyncio.sleep(0.05)
    pid = queue[0]["id"]
    headers = {"X-CSRF-Token": csrf}
    assert (
        await tg_client.post(f"/console/api/conversations/{pid}/claim", headers=headers)
    ).status == 200
    typing = await tg_client.post(f"/console/api/conversations/{pid}/typing", headers=headers)
    assert (await typing.json())["shown"] is True
    actions = await telegram.wait_for("sendChatAction", 1)
    assert actions[0]["chat_id"] == CHAT and actions[0]["action"] == "typing"


async def test_sends_are_paced_globally_and_per_chat():
    from bot.channels.telegram import Pacer

    pacer = Pacer(per_second=12)  # 3 a quarter second
    started = time.monotonic()
    for i in range(25):  # 25 chats: about two seconds
        await pacer.wait(f"chat{i}")
    assert 1.6 <= time.monotonic() - started < 3.0
    started = time.monotonic()
    for _ in range(4):  # one chat: a burst of 3, then about one a second
        await pacer.wait("one chat")
    assert 2.9 <= time.monotonic() - started < 4.5


async def test_processes_share_telegrams_global_rate(redis):
    """Two processes (two pacers on one Redis) together stay within the bot's rate."""
    from bot.channels.telegram import Pacer
    from bot.store.scripts import ScriptRunner

    runner = ScriptRunner(redis)
    pacers = [Pacer(per_second=20), Pacer(per_second=20)]
    for pacer in pacers:
        pacer.share(runner.load(Path(telegram_channel.__file__).parent / "rate.lua"))
    started = time.monotonic()
    await asyncio.gather(
        *(pacer.wait(f"chat{n}-{i}") for n, pacer in enumerate(pacers) for i in range(30))
    )
    # 60 sends, 5 a quarter-second window: 12 windows, the first one partly gone
    # when we start, so more than 11 * 0.25 = 2.75 s less that part: over 2.5 s
    # (each pacer counting alone would need 6 windows: at most 1.5 s).
    assert time.monotonic() - started > 2.45


async def test_a_critical_first_message_gets_112_and_the_handoff_first_in_her_language(
    tg_client, telegram, redis
):
    """No welcome question before the emergency number; she is told she is in
    line and can leave the line with a button."""
    from bot.i18n.catalogs import Catalogs

    spanish = Catalogs(ROOT / "locales")
    await post(tg_client, message_update("tiene un cuchillo, me va a matar", language="es"))
    await settled(redis)
    sent = telegram.called("sendMessage")
    texts = [m["text"] for m in sent]
    assert "112" in texts[0]
    assert texts[0].startswith(
        spanish.text(
            "es",
            "If you are in danger now, call {emergency_number}. It is free from any phone in the EU.",
        )[:20]
    )
    assert spanish.text("es", "Is it safe for you to talk now?") not in " ".join(texts)
    buttons = [
        b["text"]
        for m in sent
        for row in m.get("reply_markup", {}).get("inline_keyboard", [])
        for b in row
    ]
    withdraw = spanish.text("es", "I no longer need a counsellor")
    assert withdraw in buttons and await redis.zcard("hl:queue:waiting") == 1
    [payload] = [
        b["callback_data"]
        for m in sent
        for row in m.get("reply_markup", {}).get("inline_keyboard", [])
        for b in row
        if b["text"] == withdraw
    ]
    await post(tg_client, button_update(payload))
    await settled(redis)
    assert await redis.zcard("hl:queue:waiting") == 0


async def test_after_a_search_from_her_location_she_is_told_the_pin_stays(
    tg_client, telegram, redis
):
    await post(tg_client, message_update("/start"))
    await post(tg_client, message_update("1"))
    await post(tg_client, message_update("3"))  # a safe place to stay
    await post(tg_client, message_update("1"))  # a place to sleep tonight
    await post(tg_client, message_update(location={"latitude": 45.4642, "longitude": 9.19}))
    await settled(redis)
    last = telegram.called("sendMessage")[-2:]
    assert any("The location you shared stays in this chat" in m["text"] for m in last), last


async def test_telegram_down_at_start_leaves_web_and_sms_serving_then_comes_on(
    make_client, telegram, monkeypatch, caplog
):
    monkeypatch.setattr(telegram_channel, "START_RETRY_S", 0.1)
    telegram.failures.add("getMe", 502, count=3)  # down at start, back after three tries
    client = await make_client(
        channel_env=telegram_env(telegram),
        public_url="https://help.example.org",
    )
    assert "Telegram is unreachable at start" in caplog.text
    assert telegram.token not in caplog.text
    chat = WebChat(client)
    assert "confidential" in (await chat.start())[0]  # the web chat serves meanwhile
    hooks = await telegram.wait_for("setWebhook", timeout=10)
    assert hooks[0]["url"] == "https://help.example.org/telegram/webhook"
    for _ in range(100):  # said just after the webhook is set
        if "Telegram answers now" in caplog.text:
            break
        await asyncio.sleep(0.02)
    assert "Telegram answers now" in caplog.text
    response = await post(client, message_update("hello"))
    assert response.status == 200
    assert "confidential" in texts(await telegram.wait_for("sendMessage"))[0]


async def test_a_rejected_token_is_said_without_the_token(make_client, telegram, caplog):
    client = await make_client(
        channel_env=telegram_env(telegram, token="999:a-wrong-token-that-must-not-be-logged"),
        public_url="https://help.example.org",
    )
    assert "Telegram rejected TELEGRAM_BOT_TOKEN" in caplog.text
    assert "a-wrong-token" not in caplog.text
    assert (await client.get("/healthz")).status == 200
    assert "confidential" in (await WebChat(client).start())[0]
