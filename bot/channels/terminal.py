"""`helpline chat`: talk to the flows in the terminal, through the same pipeline,
runtime and Redis as the real channels. Replies are shown as the chosen channel
would show them (SMS: numbered menus; Telegram: buttons, shown as [n] labels)."""

from __future__ import annotations

import asyncio
import getpass
import sys

from aiohttp import web

from bot.channels import CAPABILITIES
from bot.channels.base import Channel, Inbound, Outbound, Sent
from bot.config import Settings


class TerminalChannel(Channel):
    def __init__(self, style: str, out=None):
        super().__init__()
        self.name = f"terminal-{style}"
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


async def run_chat(
    settings: Settings, flows, channel: str = "sms", language: str | None = None
) -> int:
    from helpline.app import SERVICES, create_app

    terminal = TerminalChannel(channel)
    app = create_app(settings, flows=flows, channels={terminal.name: terminal}, reuse_embedded=True)
    runner = web.AppRunner(app)
    await runner.setup()
    user = f"{getpass.getuser()}-{language or 'auto'}"
    pipeline = app[SERVICES].pipeline
    print(
        f"Talking to the flows as a {channel} user (language: {language or 'automatic'}). "
        "Type a message; Ctrl-D to quit.",
        flush=True,
    )
    try:
        terminal.replied.clear()
        await pipeline.accept(Inbound(terminal.name, user, kind="start", language_hint=language))
        await _wait_quiet(terminal)
        while True:
            line = await asyncio.to_thread(_read_line)
            if line is None:
                break
            if not line.strip():
                continue
            terminal.replied.clear()
            await pipeline.accept(_inbound(terminal, user, line.strip(), language))
            await _wait_quiet(terminal)
    finally:
        await runner.cleanup()
    return 0


def _inbound(terminal: TerminalChannel, user: str, line: str, language: str | None) -> Inbound:
    """With buttons (Telegram style), a number taps the matching button."""
    if terminal.capabilities.buttons and line.isdigit() and 1 <= int(line) <= len(terminal.options):
        return Inbound(
            terminal.name,
            user,
            kind="button",
            payload=terminal.options[int(line) - 1][1],
            language_hint=language,
        )
    return Inbound(terminal.name, user, kind="text", text=line, language_hint=language)


async def _wait_quiet(terminal: TerminalChannel, first: float = 5.0, settle: float = 0.3) -> None:
    """Wait for the first reply, then until replies stop coming (EXIT sends none)."""
    try:
        await asyncio.wait_for(terminal.replied.wait(), first)
    except TimeoutError:
        return
    while True:
        terminal.replied.clear()
        try:
            await asyncio.wait_for(terminal.replied.wait(), settle)
        except TimeoutError:
            return


def _read_line() -> str | None:
    try:
        return input("you> ")
    except EOFError:
        return None
