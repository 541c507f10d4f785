"""The channel registry (bot/channels/__init__.py): one line a channel gives its
capabilities, its console label, its terminal imitation and when it is on."""

from __future__ import annotations

import json
from dataclasses import replace

from bot.channels import CAPABILITIES, LABELS, REGISTRY, TERMINAL_CHOICES, build_channels


def test_each_registered_channel_is_its_module(settings):
    on = replace(
        settings,
        telegram_bot_token="123:abc",
        twilio_account_sid="AC" + "a" * 32,
        twilio_auth_token="token",
        twilio_from_number="+15005550006",
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
    assert set(TERMINAL_CHOICES) == {"sms", "telegram"}
    terminal = CAPABILITIES["terminal-telegram"]
    assert terminal.buttons and not terminal.deletable_messages and not terminal.typing
    assert not CAPABILITIES["terminal-sms"].phone_addresses and CAPABILITIES["sms"].phone_addresses
    assert LABELS["terminal-sms"] == "Terminal (SMS)"


async def test_the_console_takes_channel_labels_from_the_registry(client):
    response = await client.get("/console/static/channels.js")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/javascript")
    body = await response.text()
    prefix = "export const CHANNEL_LABELS = "
    assert body.startswith(prefix)
    assert json.loads(body[len(prefix) :].strip().rstrip(";")) == LABELS
