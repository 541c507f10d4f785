"""SMS (and, where the test takes `her` address, WhatsApp) through the real twilio library against a fake Twilio REST API, with real
X-Twilio-Signature signatures."""

from __future__ import annotations

import itertools
import json
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from twilio.request_validator import RequestValidator

from bot.store import keys
from bot.testing.settle import settled
from bot.text.segments import plan, segments
from tests.fakes import SMS_SENDER, WHATSAPP_SENDER, FakeTwilio

PUBLIC = "https://help.example.org"
PHONE = "+447700900123"  # a UK number (Ofcom's drama range): replies in English
_sids = itertools.count(1)


@pytest.fixture
async def twilio():
    fake = await FakeTwilio().start()
    yield fake
    await fake.close()


@pytest.fixture
async def sms_client(make_client, twilio):
    return await make_client(
        channel_env=twilio.env(),
        public_url=PUBLIC,
        send_backoff_s=0.02,
        send_attempts=4,
    )


@pytest.fixture(params=["sms", "whatsapp"])
def her(request) -> str:
    """Her address on each of the two Twilio channels: these tests hold for both."""
    return PHONE if request.param == "sms" else "whatsapp:" + PHONE


def scheme(address: str) -> str:
    """`whatsapp:` for a WhatsApp address, else nothing: for another number of hers."""
    return address.partition("+")[0]


def channel_of(address: str) -> str:
    return "whatsapp" if address.startswith("whatsapp:") else "sms"


def form(body: str, sender: str = PHONE, sid: str | None = None, **extra) -> dict:
    return {
        "From": sender,
        "To": WHATSAPP_SENDER if sender.startswith("whatsapp:") else SMS_SENDER,
        "Body": body,
        "MessageSid": sid or f"SM{next(_sids):032x}",
        "NumMedia": "0",
        **extra,
    }


def query_of(url: str) -> tuple[str, str]:
    """The conversation and the message a StatusCallback URL of ours names."""
    query = dict(parse_qsl(urlsplit(url).query))
    return query["c"], query["m"]


def signature_of(path: str, fields: dict, token: str = "test-auth-token") -> str:
    """What Twilio sends in X-Twilio-Signature for this URL and form."""
    return RequestValidator(token).compute_signature(PUBLIC + path, fields)


async def post(
    client,
    fields: dict,
    path: str = "/sms/twilio",
    token: str = "test-auth-token",
    signature: str | None = None,
    raw: bytes | None = None,
):
    signature = signature if signature is not None else signature_of(path, fields, token)
    body = raw if raw is not None else urlencode(fields).encode()
    return await client.post(
        path,
        data=body,
        headers={
            "X-Twilio-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )


async def test_welcome_is_one_gsm7_segment_with_numbered_menu(sms_client, twilio):
    response = await post(sms_client, form("good evening, I need some help please"))
    assert response.status == 200
    assert "<Response/>" in await response.text()
    messages = await twilio.wait_for(1)
    body = messages[0]["Body"]
    assert messages[0]["To"] == PHONE
    assert (
        "confidential" in body and "EXIT" in body and "\n1 Yes, I can talk\n2 No, not now" in body
    )
    assert segments(body) == ("GSM-7", 1), (len(body), body)
    for word in ("traffick", "abuse", "shelter"):
        assert word not in body.lower()
    assert messages[0]["StatusCallback"].startswith(PUBLIC + "/sms/twilio/status?c=")


async def test_a_guessed_language_names_the_language_keyword(sms_client, twilio):
    """ "hi" says nothing of her language: English is a guess (from the number), so
    the first SMS says how to change it, in two GSM-7 segments at most."""
    await post(sms_client, form("hi"))
    [welcome] = await twilio.wait_for(1)
    assert "Another language? Send LANGUAGE." in welcome["Body"]
    assert segments(welcome["Body"]) == ("GSM-7", 2)


async def test_numbers_answer_menus(sms_client, her, twilio):
    await post(sms_client, form("hi", her))
    await twilio.wait_for(1)
    await post(sms_client, form("1", her))
    messages = await twilio.wait_for(2)
    assert messages[1]["Body"].startswith("How can I help you?\n1 Leave safely")


async def test_exit_sends_nothing_back_and_erases(sms_client, her, twilio, redis):
    await post(sms_client, form("hi", her))
    await twilio.wait_for(1)
    await post(sms_client, form("exit", her))
    await settled(redis)
    assert len(twilio.messages) == 1
    assert await redis.keys(f"{keys.PREFIX}:c:*") == []


@pytest.mark.parametrize("word", ["STOP", "stop", " Unsubscribe ", "QUIT", "OPTOUT"])
async def test_an_opt_out_word_is_a_silent_safe_exit(sms_client, her, twilio, redis, word):
    """Twilio blocks her number and answers her itself: the helpline erases
    everything and sends nothing, even to a person who wrote before."""
    await post(sms_client, form("hi", her))
    await post(sms_client, form("he has my passport", her))  # queued for a counsellor
    await twilio.wait_for(2)
    assert await redis.keys(f"{keys.PREFIX}:c:*")
    await post(sms_client, form(word, her))
    await settled(redis)
    assert len(twilio.messages) == 2
    assert await redis.keys(f"{keys.PREFIX}:c:*") == []
    assert await redis.zcard(keys.QUEUE) == 0


async def test_exit_from_a_stranger_sends_nothing(sms_client, her, twilio, redis):
    await post(sms_client, form("EXIT", scheme(her) + "+447700900999"))
    await settled(redis)
    assert twilio.messages == [] and twilio.attempts == 0


async def test_duplicate_message_sid_is_processed_once(sms_client, her, twilio, redis):
    fields = form("hi", her)
    for _ in range(3):
        assert (await post(sms_client, fields)).status == 200
    await twilio.wait_for(1)
    await settled(redis)
    assert len(twilio.messages) == 1


@pytest.mark.parametrize("case", ["wrong token", "no signature", "other URL", "tampered body"])
async def test_bad_signatures_are_refused(sms_client, her, twilio, redis, case):
    fields = form("hi", her)
    if case == "wrong token":
        response = await post(sms_client, fields, token="not-the-token")
    elif case == "no signature":
        response = await post(sms_client, fields, signature="")
    elif case == "other URL":
        signature = RequestValidator("test-auth-token").compute_signature(
            "http://127.0.0.1/sms/twilio", fields
        )
        response = await post(sms_client, fields, signature=signature)
    else:
        signature = RequestValidator("test-auth-token").compute_signature(
            PUBLIC + "/sms/twilio", fields
        )
        response = await post(sms_client, {**fields, "Body": "changed"}, signature=signature)
    assert response.status == 403
    assert await redis.keys(f"{keys.PREFIX}:c:*") == []


@pytest.mark.parametrize(
    "case, fields, raw, status",
    [
        ("missing From", {"Body": "hi", "MessageSid": "SM1"}, None, 400),
        ("missing Body", {"From": PHONE, "MessageSid": "SM2"}, None, 400),
        ("invalid UTF-8", None, b"From=%2B40712345678&Body=\xff\xfe&MessageSid=SM3", 400),
        ("malformed form", None, b"From&&==Body", 400),
        ("too large", None, b"Body=" + b"x" * 70_000, 413),
    ],
)
async def test_bad_forms_get_4xx_and_change_nothing(sms_client, redis, case, fields, raw, status):
    fields = fields or {}
    signature = RequestValidator("test-auth-token").compute_signature(
        PUBLIC + "/sms/twilio", fields
    )
    response = await post(sms_client, fields, signature=signature, raw=raw)
    assert response.status == status, case
    assert await redis.keys(f"{keys.PREFIX}:c:*") == []


@pytest.mark.parametrize("raw", [b"Body=\xff\xfe", b"From&&==Body", b'{"Body": "hi"}'])
async def test_an_unsigned_body_is_refused_as_unsigned_whatever_it_holds(sms_client, redis, raw):
    response = await post(sms_client, {}, signature="", raw=raw)
    assert response.status == 403
    assert await redis.keys(f"{keys.PREFIX}:c:*") == []


async def test_retry_on_429_and_500(sms_client, her, twilio):
    twilio.failures.add("Messages", 429, count=1)
    twilio.failures.add("Messages", 503, count=1)
    await post(sms_client, form("hi", her))
    await twilio.wait_for(1)
    assert twilio.attempts == 3
    metrics = await (await sms_client.get("/metrics")).text()  # what operators see
    assert (
        f'helpline_provider_errors_total{{channel="{channel_of(her)}",kind="rate_limited"}} 1.0'
        in metrics
    )
    assert (
        f'helpline_provider_errors_total{{channel="{channel_of(her)}",kind="unavailable"}} 1.0'
        in metrics
    )


async def test_status_callback_marks_failed_delivery(sms_client, her, twilio, redis):
    """Twilio calls the StatusCallback URL we gave with the message: it names the
    conversation and the message, signed with the rest, so nothing is kept per sid."""
    await post(sms_client, form("hi", her))
    messages = await twilio.wait_for(1)
    path = messages[0]["StatusCallback"].removeprefix(PUBLIC)
    assert path.startswith("/sms/twilio/status?c=")
    callback = {
        "MessageSid": messages[0]["sid"],
        "MessageStatus": "undelivered",
        "ErrorCode": "30003",
    }
    forged = path.replace("c=", "c=x")  # another conversation: not what Twilio signed
    assert (
        await post(sms_client, callback, path=forged, signature=signature_of(path, callback))
    ).status == 403
    assert (await post(sms_client, callback, path=path, signature="bad")).status == 403
    pid, message_id = query_of(path)
    assert await redis.hgetall(keys.delivery(pid)) == {}  # sent: nothing kept
    assert (await post(sms_client, callback, path=path)).status == 200
    assert await redis.hgetall(keys.delivery(pid)) == {message_id.encode(): b"failed"}
    assert 0 < await redis.ttl(keys.delivery(pid)) <= await redis.ttl(keys.state(pid))
    assert not await redis.keys(f"{keys.PREFIX}:smsstatus:*")


async def test_a_failure_reported_after_her_exit_leaves_no_trace(sms_client, her, twilio, redis):
    await post(sms_client, form("hi", her))
    [message] = await twilio.wait_for(1)
    await post(sms_client, form("EXIT", her))
    await settled(redis)
    path = message["StatusCallback"].removeprefix(PUBLIC)
    callback = {"MessageSid": message["sid"], "MessageStatus": "failed"}
    assert (await post(sms_client, callback, path=path)).status == 200
    assert await redis.keys(f"{keys.PREFIX}:c:*") == []


async def test_a_status_callback_of_a_message_sent_before_the_upgrade_still_counts(
    sms_client, twilio, redis
):
    """Before 2026-12 the URL named nothing and a key mapped the sid: read until it expires."""
    await post(sms_client, form("hi"))
    messages = await twilio.wait_for(1)
    pid, message_id = query_of(messages[0]["StatusCallback"])
    await redis.set(keys.sms_status(messages[0]["sid"]), json.dumps([pid, message_id]))
    callback = {"MessageSid": messages[0]["sid"], "MessageStatus": "undelivered"}
    assert (await post(sms_client, callback, path="/sms/twilio/status")).status == 200
    assert await redis.hgetall(keys.delivery(pid)) == {message_id.encode(): b"failed"}


async def test_long_text_gets_a_polite_reply(sms_client, her, twilio):
    await post(sms_client, form("x" * 5000, her))
    messages = await twilio.wait_for(1)
    assert "too long" in messages[0]["Body"]


def test_segment_planning():
    assert segments("a" * 160) == ("GSM-7", 1)
    assert segments("a" * 161) == ("GSM-7", 2)
    assert segments("€" * 80) == ("GSM-7", 1)  # extension characters count twice
    assert segments("ă" * 70) == ("UCS-2", 1)
    assert segments("ă" * 71) == ("UCS-2", 2)
    assert plan("It’s “safe” – really…").encoding == "GSM-7"  # typography made plain
    assert plan("Привет – да").encoding == "UCS-2"
    long = " ".join(["word"] * 2000)
    planned = plan(long)
    assert len(planned.parts) > 1 and all(segments(p)[1] <= 10 for p in planned.parts)
    assert " ".join(planned.parts) == long  # split on word boundaries, nothing lost


async def test_language_from_the_phone_numbers_country(sms_client, her, twilio):
    await post(sms_client, form("salut", scheme(her) + "+40712345678"))  # Romania
    messages = await twilio.wait_for(1)
    assert "confidențial" in messages[0]["Body"] and "IEȘIRE" in messages[0]["Body"]


@pytest.mark.parametrize(
    "text, language, word",
    [
        ("please help me, he took my documents", "en", "EXIT"),
        ("per favore aiutatemi, non so dove sono", "it", "ESCI"),
        ("proszę, pomóżcie mi, nie wiem gdzie jestem", "pl", None),
        ("ساعدوني من فضلكم لا أعرف أين أنا", "ar", None),
    ],
)
async def test_language_from_what_she_writes_beats_her_sim_card(
    sms_client, twilio, redis, text, language, word
):
    """A woman from elsewhere with a Romanian SIM card: the language she writes in."""
    await post(sms_client, form(text, sender="+40712345678"))
    [welcome] = await twilio.wait_for(1)
    assert "confidențial" not in welcome["Body"] and "Another language?" not in welcome["Body"]
    if word:
        assert word in welcome["Body"]
    states = [await redis.get(k) for k in await redis.keys("hl:c:*:state")]
    assert [json.loads(s)["language"] for s in states] == [language]


async def test_a_picture_without_text_gets_a_polite_answer(sms_client, her, twilio):
    await post(sms_client, form("", her, NumMedia="1", MediaUrl0="https://api.twilio.com/media/x"))
    messages = await twilio.wait_for(1)
    assert "only read text" in messages[0]["Body"]


async def test_settled_waits_for_every_reply_of_a_slow_provider(sms_client, twilio, redis):
    """What the tests that assert 'nothing more was sent' rely on."""
    twilio.delay = 0.4
    await post(sms_client, form("hi"))
    await post(sms_client, form("1"))
    await settled(redis)
    assert len(twilio.messages) == 2


async def test_after_an_exit_no_key_named_by_twilio_ids_is_left(sms_client, her, twilio, redis):
    """A seized disk must not tell that her number wrote: the dedup markers of her
    messages and the status mappings of our replies go with her conversation; the
    marker that tells the console she left lives no longer than conversations."""
    sids = [f"SM{next(_sids):032x}" for _ in range(3)]
    await post(sms_client, form("hi", her, sid=sids[0]))
    await post(
        sms_client, form("he has my passport", her, sid=sids[1])
    )  # queued: she is "left" after
    await twilio.wait_for(2)
    before = {k.decode() for k in await redis.keys("*")}
    assert any(k.endswith(":seen") for k in before)  # her dedup ids: in her conversation
    await post(sms_client, form("EXIT", her, sid=sids[2]))
    await settled(redis)
    after = {k.decode() for k in await redis.keys("*")}
    assert [k for k in after if ":seen" in k or ":smsstatus:" in k or ":c:" in k] == []
    [left] = [k for k in after if ":left:" in k]
    assert 0 < await redis.ttl(left) <= 30 * 86400  # the test retention, never 7 days more


async def test_a_webhook_retried_within_the_retention_is_still_a_duplicate(
    sms_client, her, twilio, redis
):
    await post(sms_client, form("hi", her, sid="SM" + "d" * 32))
    await twilio.wait_for(1)
    await post(sms_client, form("hi", her, sid="SM" + "d" * 32))
    await settled(redis)
    assert len(twilio.messages) == 1
    [seen] = await redis.keys(keys.seen("*"))
    assert 0 < await redis.ttl(seen) <= 30 * 86400
    assert b"SM" + b"d" * 32 not in await redis.zrange(seen, 0, -1)  # a digest, not Twilio's id


async def test_a_key_rotation_orphans_no_conversation(make_client, twilio, redis):
    """The README's rotation: the new key in HELPLINE_SECRET_KEY, the old one in
    HELPLINE_OLD_SECRET_KEYS. Her conversation, begun under the old key, goes on
    where it was (her place in the queue, her replies); a new person is named
    with the new key."""
    old, new = b"old-secret-key-0123456789abcdef", b"new-secret-key-0123456789abcdef"
    env = twilio.env()
    before = await make_client(channel_env=env, public_url=PUBLIC, secret_key=old)
    await post(before, form("hi"))
    await post(before, form("he has my passport"))  # queued for a counsellor
    await twilio.wait_for(2)
    await before.close()
    [queued] = await redis.zrange(keys.QUEUE, 0, -1)

    after = await make_client(
        channel_env=env, public_url=PUBLIC, secret_key=new, old_secret_keys=(old,)
    )
    await post(after, form("1"))
    messages = await twilio.wait_for(3)
    assert messages[2]["To"] == PHONE and "confidential" not in messages[2]["Body"]
    assert await redis.zrange(keys.QUEUE, 0, -1) == [queued]  # still her, still queued
    await post(after, form("hi", sender="+447700900456"))
    await twilio.wait_for(4)
    await settled(redis)
    assert len(await redis.zrange(keys.QUEUE, 0, -1)) == 1
    states = {k.decode() for k in await redis.keys(f"{keys.PREFIX}:c:*:state")}
    assert len(states) == 2 and keys.state(queued.decode()) in states
