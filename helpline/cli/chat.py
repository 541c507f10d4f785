"""`helpline chat`: talk to the flows in the terminal, through the same pipeline,
runtime and Redis as the real channels (bot/channels/terminal.py)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys

from aiohttp import web

from bot.channels import TERMINAL_CHOICES
from bot.channels.base import Inbound
from bot.channels.terminal import TerminalChannel
from bot.config import Settings
from helpline.app import PIPELINE, create_app
from helpline.cli.common import (
    EXIT_CONFIG,
    StartError,
    cannot_start,
    flows_or_exit,
    settings_or_exit,
    starting,
)


def add_parser(sub) -> None:
    chat = sub.add_parser("chat", help="talk to the flows in the terminal")
    chat.add_argument("--lang", default=None, help="language code, e.g. ro, ar, zh")
    chat.add_argument("--channel", choices=TERMINAL_CHOICES, default="sms", help="how replies look")
    chat.set_defaults(func=cmd_chat)


def cmd_chat(args: argparse.Namespace) -> int:
    settings = settings_or_exit()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    flows = flows_or_exit(settings)
    language = args.lang
    if language is not None:
        language = flows.catalogs.match_tag(language)
        if language is None:
            shipped = ", ".join(flows.catalogs.languages)
            print(
                f"helpline chat: no language {args.lang!r}; these are: {shipped}", file=sys.stderr
            )
            return EXIT_CONFIG
    return asyncio.run(run_chat(settings, flows, channel=args.channel, language=language))


async def run_chat(
    settings: Settings, flows, channel: str = "sms", language: str | None = None
) -> int:
    terminal = TerminalChannel(channel)
    app = create_app(settings, flows=flows, channels={terminal.name: terminal}, reuse_embedded=True)
    runner = web.AppRunner(app)
    try:
        await starting(runner.setup(), settings)
    except StartError as exc:
        await runner.cleanup()
        return cannot_start(str(exc))
    user = f"{getpass.getuser()}-{language or 'auto'}"
    pipeline = app[PIPELINE]
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
