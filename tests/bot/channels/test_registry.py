"""The channel registry (bot/channels/__init__.py): one line a channel gives its
capabilities, its console label, its terminal imitation, the variables it reads
and which of them switch it on."""

from __future__ import annotations

import json
from dataclasses import replace

from bot.channels import CAPABILITIES, LABELS, REGISTRY, TERMINAL_CHOICES, build_channels


def test_each_registered_channel_is_its_module(settings):
    on = replace(
        settings,
        channel_env={
            "TELEGRAM_BOT_TOKEN": "123:abc",
            "TWILIO_ACCOUNT_SID": "AC" + "a" * 32,
            "TWILIO_AUTH_TOKEN": "token",
            "TWILIO_FROM_NUMBER": "+15005550006",
            "TWILIO_WHATSAPP_FROM": "whatsapp:+14155238886",
        },
        public_url="https://help.example.org",
    )
    channels = build_channels(on)
    assert sorted(channels) == sorted(REGISTRY)
    for name, channel in channels.items():
        assert channel.name == name
        assert channel.capabilities == REGISTRY[name].capabilities


def test_the_web_chat_is_always_on_and_others_only_when_configured(settings):
    assert sorted(build_channels(settings)) == ["web"]


def test_the_terminal_imitates_a_channel_without_its_provider():
    assert set(TERMINAL_CHOICES) == {"sms", "telegram", "whatsapp"}
    terminal = CAPABILITIES["terminal-telegram"]
    assert terminal.buttons and not terminal.deletable_messages and not terminal.typing
    assert not CAPABILITIES["terminal-sms"].phone_addresses and CAPABILITIES["sms"].phone_addresses
    assert LABELS["terminal-sms"] == "Terminal (SMS)"
    assert LABELS["terminal-whatsapp"] == "Terminal (WhatsApp)"


async def test_the_console_takes_channel_labels_from_the_registry(client):
    response = await client.get("/console/static/channels.js")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/javascript")
    body = await response.text()
    prefix = "export const CHANNEL_LABELS = "
    assert body.startswith(prefix)
    assert json.loads(body[len(prefix) :].strip().rstrip(";")) == LABELS


def test_rendering_a_step_for_each_channel():
    from bot.channels.rendering import render_replies
    from bot.conversation.model import Reply

    step = [Reply("Hello."), Reply("Choose:", (("Rights", "m#1"), ("Shelter", "m#2")), True)]
    sms = render_replies(step, CAPABILITIES["sms"], location_label=lambda: "Send location")
    assert len(sms) == 1  # one SMS for the whole step
    outbound, shown = sms[0]
    assert outbound.text == "Hello.\nChoose:\n1 Rights\n2 Shelter" == shown
    assert outbound.options == () and not outbound.request_location
    telegram = render_replies(
        step, CAPABILITIES["telegram"], location_label=lambda: "Send location"
    )
    assert [o.text for o, _ in telegram] == ["Hello.", "Choose:"]
    assert telegram[1][0].options == (("Rights", "m#1"), ("Shelter", "m#2"))
    assert telegram[1][0].request_location and telegram[1][0].location_label == "Send location"
    assert telegram[1][1] == "Choose:\n1 Rights\n2 Shelter"  # what the transcript shows
