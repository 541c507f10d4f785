"""The terminal as a channel (`helpline chat`): replies shown as the chosen
channel would show them (SMS: numbered menus; Telegram: buttons, shown as [n]
labels)."""

from __future__ import annotations

import asyncio
import sys

from bot.channels import CAPABILITIES, TERMINAL
from bot.channels.base import Channel, Outbound, Sent


class TerminalChannel(Channel):
    def __init__(self, style: str, out=None):
        super().__init__()
        self.name = TERMINAL + style
        self.capabilities = CAPABILITIES[self.name]
        self.out = out or sys.stdout
        self.options: list[tuple[str, str]] = []
        self.replied = asyncio.Event()

    async def send(self, address: str, outbound: Outbound) -> Sent:
        if outbound.kind != "text":
            return Sent()
        lines = [outbound.text] if outbound.text else []
        for number, (label, _) in enumerate(outbound.options, start=1):
            lines.append(f"  [{number}] {label}")
        if outbound.request_location:
            lines.append(f"  [{outbound.location_label}: not available in the terminal]")
        if outbound.options:
            self.options = list(outbound.options)
        self.out.write(
            "\n".join(f"bot> {line}" if i == 0 else f"     {line}" for i, line in enumerate(lines))
            + "\n"
        )
        self.out.flush()
        self.replied.set()
        return Sent()
