"""WhatsApp through Twilio: what differs from SMS (the tests WhatsApp shares with
SMS run for both in test_sms.py). The real twilio library against a fake Twilio
REST API, with real X-Twilio-Signature signatures."""

from __future__ import annotations

import logging

import pytest
from twilio.request_validator import RequestValidator

from bot.channels.whatsapp import MAX_BODY, WhatsAppChannel
from bot.store import keys
from bot.testing.settle import settled
from handoff.counsellors import Counsellors
from tests.bot.channels.test_sms import PHONE, PUBLIC, form, post
from tests.fakes import SMS_SENDER, WHATSAPP_SENDER, FakeTwilio
from tests.handoff.test_console_api import PASSWORD, MovableClock, login

WHATSAPP = "whatsapp:" + PHONE


@pytest.fixture
async def twilio():
    fake = await FakeTwilio().start()
    yield fake
    await fake.close()


@pytest.fixture
async def both(make_client, twilio):
    """The app with an SMS number and a WhatsApp sender, as Twilio calls it."""
    return await make_client(channel_env=twilio.env(), public_url=PUBLIC)


async def test_each_reply_leaves_from_the_sender_she_wrote_to(both, twilio):
    await post(both, form("hi", WHATSAPP))
    await post(both, form("hi", "+447700900456"))
    await twilio.wait_for(2)
    await post(both, form("1", WHATSAPP))
    await post(both, form("1", "+447700900456"))
    messages = await twilio.wait_for(4)
    senders = {(m["To"], m["From"]) for m in messages}
    assert senders == {(WHATSAPP, WHATSAPP_SENDER), ("+447700900456", SMS_SENDER)}
    [welcome, menu] = twilio.to(WHATSAPP)
    # The short welcome of SMS (a WhatsApp message, too, only she can delete),
    # one message per step, menus numbered.
    assert "confidential" in welcome and "then delete these texts" in welcome
    assert welcome.endswith("\n1 Yes, I can talk\n2 No, not now")
    assert menu.startswith("How can I help you?\n1 Leave safely")


async def test_phone_safety_and_privacy_name_whatsapp(both, twilio):
    for text in ("hi", "1", "1", "2"):  # talk now > Leave safely > Phone safety
        await post(both, form(text, WHATSAPP))
    messages = await twilio.wait_for(4)
    assert messages[3]["Body"].startswith("Delete this chat after you read it.")
    assert "chat backup" in messages[3]["Body"]
    for text in ("menu", "6"):  # Privacy
        await post(both, form(text, WHATSAPP))
    messages = await twilio.wait_for(6)
    assert "WhatsApp chat backup" in messages[5]["Body"]


@pytest.mark.parametrize(
    "configured, sender, refused",
    [
        ("sms", WHATSAPP, "'whatsapp:' address"),
        ("whatsapp", PHONE, "'phone number' address"),
        ("both", "messenger:1234567890", "'messenger:' address"),
    ],
)
async def test_an_address_no_sender_answers_is_refused_at_the_webhook(
    make_client, twilio, redis, caplog, configured, sender, refused
):
    """Refused now with a sentence (Twilio shows the 4xx to the operator), not
    accepted and failed at the first reply."""
    env = twilio.env()
    if configured == "sms":
        del env["TWILIO_WHATSAPP_FROM"]
    elif configured == "whatsapp":
        del env["TWILIO_FROM_NUMBER"]
    client = await make_client(channel_env=env, public_url=PUBLIC)
    with caplog.at_level(logging.WARNING, logger="helpline.sms"):
        response = await post(client, form("he has my passport", sender))
    assert response.status == 422
    assert refused in await response.text()
    [logged] = [r.getMessage() for r in caplog.records if r.name == "helpline.sms"]
    assert refused in logged and "1234567890" not in logged and PHONE not in logged
    await settled(redis)
    assert await redis.keys(f"{keys.PREFIX}:c:*") == [] and twilio.attempts == 0


async def test_a_message_she_sends_may_be_4096_characters(both, twilio):
    await post(both, form("please help " * 341, WHATSAPP))  # 4,092 characters
    [welcome] = await twilio.wait_for(1)
    assert "too long" not in welcome["Body"]
    await post(both, form("x" * 4097, WHATSAPP))
    messages = await twilio.wait_for(2)
    assert "too long" in messages[1]["Body"]


def test_a_long_reply_is_split_into_bodies_twilio_takes():
    channel = WhatsAppChannel.__new__(WhatsAppChannel)
    text = "\n".join(f"Line {i}: " + "word " * 30 for i in range(40)).strip()  # 6,000+ chars
    parts = channel.parts(text)
    assert len(parts) == 4
    assert all(len(p.encode("utf-16-le")) // 2 <= MAX_BODY for p in parts)
    assert " ".join(" ".join(parts).split()) == " ".join(text.split())  # nothing lost
    emoji = "🆘" * 900  # two UTF-16 units each, as Twilio counts them
    assert [len(p) for p in channel.parts(emoji)] == [800, 100]


async def test_a_counsellor_writes_on_whatsapp_only_within_24_hours(make_client, twilio, redis):
    """WhatsApp's own rule: a business answers only within 24 hours of her last
    message, and Helpline sends no templates; a longer HELPLINE_REPLY_WINDOW_HOURS
    holds for SMS but never for WhatsApp."""
    await Counsellors(redis).add("ana", PASSWORD, "counsellor")
    clock = MovableClock()
    # Over http: the console's session cookie is Secure behind an https address.
    public = "http://help.example.org"
    client = await make_client(
        clock=clock, channel_env=twilio.env(), public_url=public, reply_window_hours=48
    )

    async def she_writes(text: str, sender: str) -> None:
        fields = form(text, sender)
        signature = RequestValidator(twilio.auth_token).compute_signature(
            public + "/sms/twilio", fields
        )
        assert (await post(client, fields, signature=signature)).status == 200

    await she_writes("he has my passport", WHATSAPP)
    await she_writes("he has my passport", "+447700900456")
    await twilio.wait_for(2)
    await settled(redis)
    csrf = await login(client, "ana")
    queue = await (await client.get("/console/api/queue")).json()
    assert isinstance(queue, list), queue
    ids = {entry["channel"]: entry["id"] for entry in queue}
    assert set(ids) == {"whatsapp", "sms"}

    clock.now += 25 * 3600
    csrf = await login(client, "ana")
    whatsapp = await (await client.get(f"/console/api/conversations/{ids['whatsapp']}")).json()
    sms = await (await client.get(f"/console/api/conversations/{ids['sms']}")).json()
    assert whatsapp["reply_window_open"] is False and sms["reply_window_open"] is True
    sent = twilio.attempts
    late = await client.post(
        f"/console/api/conversations/{ids['whatsapp']}/messages",
        json={"text": "Hello, I am Ana."},
        headers={"X-CSRF-Token": csrf},
    )
    assert late.status == 409 and "within 24 hours" in (await late.json())["error"]
    fine = await client.post(
        f"/console/api/conversations/{ids['sms']}/messages",
        json={"text": "Hello, I am Ana."},
        headers={"X-CSRF-Token": csrf},
    )
    assert fine.status == 200
    await twilio.wait_for(3)
    await settled(redis)
    assert twilio.attempts == sent + 1 and twilio.to(WHATSAPP)[-1] != "Hello, I am Ana."

    # A long counsellor message reaches her on WhatsApp as bodies Twilio takes.
    await she_writes("are you there?", WHATSAPP)
    await settled(redis)
    before = len(twilio.to(WHATSAPP))
    long = " ".join(["Here is what you can do."] * 120)  # 2,999 characters
    again = await client.post(
        f"/console/api/conversations/{ids['whatsapp']}/messages",
        json={"text": long},
        headers={"X-CSRF-Token": csrf},
    )
    assert again.status == 200
    await settled(redis)
    bodies = twilio.to(WHATSAPP)[before:]
    assert len(bodies) == 2 and all(len(b) <= MAX_BODY for b in bodies)
    assert " ".join(bodies) == long
