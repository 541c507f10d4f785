"""Channels: how people reach the helpline. base.py is the interface every
channel implements; a channel is one module here plus one line in REGISTRY:
its capabilities, console label, whether the terminal chat can imitate it and
when the configuration enables it all come from that line."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, replace

from bot.channels.base import Capabilities, Channel
from bot.config import Settings

TERMINAL = "terminal-"  # `helpline chat` imitates a channel under this prefix


@dataclass(frozen=True)
class ChannelInfo:
    name: str
    label: str  # what counsellors see in the console
    capabilities: Capabilities
    implementation: str  # "module:Class", imported only when enabled
    enabled: Callable[[Settings], bool]
    in_terminal: bool = False  # `helpline chat --channel NAME` can imitate it

    def build(self, settings: Settings) -> Channel:
        module, _, cls = self.implementation.partition(":")
        return getattr(importlib.import_module(module), cls)(settings)


REGISTRY: dict[str, ChannelInfo] = {
    info.name: info
    for info in (
        ChannelInfo(
            "telegram",
            "Telegram",
            Capabilities(
                buttons=True, deletable_messages=True, location=True, typing=True, max_text=4096
            ),
            "bot.channels.telegram:TelegramChannel",
            lambda settings: settings.telegram_enabled,
            in_terminal=True,
        ),
        ChannelInfo(
            "sms",
            "SMS",
            Capabilities(max_text=1600, sms_segments=True, phone_addresses=True),
            "bot.channels.sms:SmsChannel",
            lambda settings: settings.sms_enabled,
            in_terminal=True,
        ),
        ChannelInfo(
            "web",
            "Web chat",
            Capabilities(buttons=True, max_text=4096),
            "bot.channels.web:WebChannel",
            lambda settings: True,  # the web chat is always on
        ),
    )
}


def _in_terminal(caps: Capabilities) -> Capabilities:
    """What the terminal shows of a channel: its text and menus, nothing of the
    provider (no deletion, no typing, no phone number)."""
    return replace(caps, deletable_messages=False, typing=False, phone_addresses=False)


# What each channel can show, known to every process (a worker renders replies
# for channels whose sender runs elsewhere).
CAPABILITIES: dict[str, Capabilities] = {
    **{name: info.capabilities for name, info in REGISTRY.items()},
    **{
        TERMINAL + name: _in_terminal(info.capabilities)
        for name, info in REGISTRY.items()
        if info.in_terminal
    },
}
LABELS: dict[str, str] = {
    **{name: info.label for name, info in REGISTRY.items()},
    **{
        TERMINAL + name: f"Terminal ({info.label})"
        for name, info in REGISTRY.items()
        if info.in_terminal
    },
}
TERMINAL_CHOICES = tuple(name for name, info in REGISTRY.items() if info.in_terminal)


def flow_channel(name: str) -> str:
    """The channel name flows see in `if: {channel: ...}`: the terminal imitates one."""
    return name.removeprefix(TERMINAL)


def build_channels(settings: Settings) -> dict[str, Channel]:
    """The channels this configuration enables."""
    return {name: info.build(settings) for name, info in REGISTRY.items() if info.enabled(settings)}
