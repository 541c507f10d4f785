"""Channels: how people reach the helpline. See base.py for the interface."""

from __future__ import annotations

from bot.channels.base import Capabilities

# What each channel can show, known to every process (a worker renders replies
# for channels whose sender runs elsewhere). A new channel adds one line here.
CAPABILITIES: dict[str, Capabilities] = {
    "telegram": Capabilities(
        buttons=True, delete_messages=True, location=True, typing=True, max_text=4096
    ),
    "sms": Capabilities(max_text=1600, sms_segments=True),
    "web": Capabilities(buttons=True, max_text=4096),
    "terminal-sms": Capabilities(max_text=1600, sms_segments=True),
    "terminal-telegram": Capabilities(buttons=True, location=True, max_text=4096),
}


def flow_channel(name: str) -> str:
    """The channel name flows see in `if: {channel: ...}`: the terminal simulates one."""
    return name.removeprefix("terminal-")
