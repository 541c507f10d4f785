"""Channels: how people reach the helpline. base.py is the interface every
channel implements; a channel is one module here plus one line in REGISTRY:
its capabilities, console label, whether the terminal chat can imitate it, the
environment variables it reads (with their defaults and checks) and which of
them switch it on all come from that line."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass, replace

# Not `from aiohttp import web`: the package's own submodule bot.channels.web
# would take that name once imported.
from aiohttp.web import AbstractRouteDef, Request, RouteDef, StreamResponse, route

from bot.channels.base import Capabilities, Channel
from bot.config import Settings, Variable, web_url

TERMINAL = "terminal-"  # `helpline chat` imitates a channel under this prefix


@dataclass(frozen=True)
class ChannelInfo:
    name: str
    label: str  # what counsellors see in the console
    capabilities: Capabilities
    implementation: str  # "module:Class(settings, env)", imported only when enabled
    variables: tuple[Variable, ...] = ()  # the environment variables it reads
    requires: tuple[str, ...] = ()  # all of them set: the channel is on (none: always on)
    switch: tuple[str, ...] | None = None  # any set asks for it (default: `requires`)
    public_url: str | None = None  # why it needs HELPLINE_PUBLIC_URL, if it does
    in_terminal: bool = False  # `helpline chat --channel NAME` can imitate it

    @property
    def switched_on_by(self) -> tuple[str, ...]:
        return self.requires if self.switch is None else self.switch

    def enabled(self, settings: Settings) -> bool:
        return all(settings.channel_env.get(name) for name in self.requires)

    def env(self, settings: Settings) -> dict[str, str | None]:
        """Its variables as configured, defaults filled in."""
        return {v.name: settings.channel_env.get(v.name, v.default) for v in self.variables}

    def build(self, settings: Settings) -> Channel:
        module, _, cls = self.implementation.partition(":")
        return getattr(importlib.import_module(module), cls)(settings, self.env(settings))


def _telegram_secret(name: str, value: str, problems: list[str]) -> str:
    if not all(c.isalnum() or c in "_-" for c in value):
        problems.append(f"{name} may only hold letters, digits, _ and - (Telegram's rule).")
    return value


def _twilio_account(name: str, value: str, problems: list[str]) -> str:
    if not _is_twilio_sid(value, "AC"):
        problems.append(
            f"{name} must be a Twilio Account SID: AC and 32 hexadecimal digits "
            "(Twilio console, Account info)."
        )
    return value


def _sms_sender(name: str, value: str, problems: list[str]) -> str:
    """A phone number in international form, a Messaging Service SID, or an
    alphanumeric sender ID (up to 11 letters and digits, one letter at least)."""
    number = value.startswith("+") and value[1:].isdigit() and 7 <= len(value) - 1 <= 15
    service = _is_twilio_sid(value, "MG")
    alphanumeric = (
        1 <= len(value) <= 11
        and value.replace(" ", "").isalnum()
        and value.isascii()
        and any(c.isalpha() for c in value)
    )
    if not (number or service or alphanumeric):
        problems.append(
            f"{name} must be a phone number in international form such as +447700900123, "
            "a Messaging Service SID (MG...) or an alphanumeric sender ID of up to 11 characters."
        )
    return value


def _is_twilio_sid(value: str, prefix: str) -> bool:
    """Twilio's identifiers: a two-letter prefix and 32 hexadecimal digits."""
    return (
        len(value) == 34
        and value.startswith(prefix)
        and all(c in "0123456789abcdefABCDEF" for c in value[2:])
    )


def _whatsapp_sender(name: str, value: str, problems: list[str]) -> str:
    if not value.startswith("whatsapp:+") or not value[len("whatsapp:+") :].isdigit():
        problems.append(f"{name} must be a WhatsApp sender such as whatsapp:+14155238886.")
    return value


REGISTRY: dict[str, ChannelInfo] = {
    info.name: info
    for info in (
        ChannelInfo(
            "telegram",
            "Telegram",
            Capabilities(
                buttons=True,
                deletable_messages=True,
                location=True,
                typing=True,
                max_text=4096,
                language_hint=True,
            ),
            "bot.channels.telegram:TelegramChannel",
            variables=(
                Variable("TELEGRAM_BOT_TOKEN"),
                Variable("TELEGRAM_WEBHOOK_SECRET", check=_telegram_secret),
                Variable("TELEGRAM_API_BASE_URL", "https://api.telegram.org/bot", web_url),
            ),
            requires=("TELEGRAM_BOT_TOKEN",),
            in_terminal=True,
        ),
        ChannelInfo(
            "sms",
            "SMS",
            Capabilities(
                max_text=1600, sms_segments=True, one_message_per_step=True, phone_addresses=True
            ),
            "bot.channels.sms:SmsChannel",
            variables=(
                Variable("TWILIO_ACCOUNT_SID", check=_twilio_account),
                Variable("TWILIO_AUTH_TOKEN"),
                Variable("TWILIO_FROM_NUMBER", check=_sms_sender),
                Variable("TWILIO_API_BASE_URL", "https://api.twilio.com", web_url),
            ),
            requires=("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER"),
            switch=("TWILIO_FROM_NUMBER",),  # the account alone may be WhatsApp's
            public_url="the address Twilio calls, to check Twilio's signatures",
            in_terminal=True,
        ),
        ChannelInfo(
            "whatsapp",
            "WhatsApp",
            # WhatsApp lets a business answer only within 24 h of her last message.
            Capabilities(
                max_text=4096,
                one_message_per_step=True,
                phone_addresses=True,
                reply_window_hours=24,
            ),
            "bot.channels.whatsapp:WhatsAppChannel",
            variables=(
                Variable("TWILIO_ACCOUNT_SID", check=_twilio_account),
                Variable("TWILIO_AUTH_TOKEN"),
                Variable("TWILIO_WHATSAPP_FROM", check=_whatsapp_sender),
                Variable("TWILIO_API_BASE_URL", "https://api.twilio.com", web_url),
            ),
            requires=("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_WHATSAPP_FROM"),
            switch=("TWILIO_WHATSAPP_FROM",),
            public_url="the address Twilio calls, to check Twilio's signatures",
            in_terminal=True,
        ),
        ChannelInfo(
            "web",
            "Web chat",
            Capabilities(buttons=True, max_text=4096, language_hint=True, needs_address=False),
            "bot.channels.web:WebChannel",  # needs no variable: always on
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


def webhook_routes(channels: Iterable[Channel]) -> list[AbstractRouteDef]:
    """Every channel's routes. A route that several channels listen on (Twilio
    posts SMS and WhatsApp to one URL) goes to the first channel that claims the
    request, else to the first channel, whose handler refuses it."""
    routes: list[AbstractRouteDef] = []
    shared: dict[tuple[str, str], list[tuple[Channel, RouteDef]]] = {}
    for channel in channels:
        for definition in channel.listen():
            if isinstance(definition, RouteDef):
                key = (definition.method, definition.path)
                shared.setdefault(key, []).append((channel, definition))
            else:
                routes.append(definition)
    for (method, path), listeners in shared.items():
        if len(listeners) == 1:
            routes.append(listeners[0][1])
            continue

        async def dispatch(request: Request, listeners=listeners) -> StreamResponse:
            for channel, definition in listeners:
                if await channel.claims(request):
                    return await definition.handler(request)
            return await listeners[0][1].handler(request)

        routes.append(route(method, path, dispatch))
    return routes
