"""The channel interface: every way a person reaches the helpline is a small
adapter with the same four async methods (after opsdroid's connectors).

- `connect(inlet)`: start (register a webhook, start long polling);
- `listen()`: the aiohttp routes that receive the channel's wire format, each
  turned into one frozen `Inbound` and handed to `inlet.accept` (durable storage);
- `send(address, outbound)`: deliver one `Outbound`; raise `RetryableSendError`
  or `PermanentSendError` so that the pipeline retries or gives up visibly;
- `disconnect()`: stop and release clients.

Adding a channel (WhatsApp was, Signal would be) is one new module and one line in
`bot.channels.REGISTRY`, which also declares the environment variables it reads;
its class is built as `Class(settings, env)` with those variables' values.
"""

from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol

from aiohttp import web
from redis.asyncio import Redis

from bot.clock import Clock
from bot.store.privacy import Privacy


@dataclass(frozen=True)
class Capabilities:
    """What a channel can show and do; the runtime renders replies to fit."""

    buttons: bool = False  # menus as tappable buttons (else numbered text)
    deletable_messages: bool = False  # the bot can delete both sides' messages (safe exit)
    location: bool = False  # the person can share a location
    typing: bool = False  # a "typing..." indicator can be shown
    max_text: int = 4096  # longest message the channel takes
    sms_segments: bool = False  # texts are planned into GSM-7/UCS-2 segments
    # A step's replies go as one message: in order whatever the network does,
    # and one notification on her lock screen instead of several.
    one_message_per_step: bool = False
    phone_addresses: bool = False  # she writes from a phone number (its country hints her language)
    language_hint: bool = False  # her app tells its language (language_code, Accept-Language)
    # Replies go to her address (chat id, number), kept sealed with her data; the
    # web chat's go to her conversation's own mailbox: it keeps no address.
    needs_address: bool = True
    # The provider lets us write to her only this long after her last message
    # (WhatsApp: 24 h); nothing is sent later, whatever HELPLINE_REPLY_WINDOW_HOURS says.
    reply_window_hours: int | None = None


@dataclass(frozen=True)
class Inbound:
    """One message from a person, in any channel's terms.

    `kind`: text, button (a menu payload), location, start (first open),
    exit (the web page's quick-exit button), or unsupported (a sticker, a photo...).
    """

    channel: str
    user_id: str  # chat id, phone number, web session: the reply address
    kind: str = "text"
    text: str = ""
    payload: str = ""
    location: tuple[float, float] | None = None
    language_hint: str | None = None  # Telegram's language_code (an IETF tag)
    message_id: str | None = None  # the channel's id of this message (for deletion)
    dedup_id: str | None = None  # Telegram update_id, Twilio MessageSid
    received_at: float = 0.0  # stamped by the pipeline's clock when accepted

    def to_json(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "user_id": self.user_id,
            "kind": self.kind,
            "text": self.text,
            "payload": self.payload,
            "location": list(self.location) if self.location else None,
            "language_hint": self.language_hint,
            "message_id": self.message_id,
            "dedup_id": self.dedup_id,
            "received_at": self.received_at,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Inbound:
        location = data.get("location")
        return cls(**{**data, "location": tuple(location) if location else None})


@dataclass(frozen=True)
class Outbound:
    """One thing to deliver to a person.

    `kind`: text (with optional menu `options` as (label, payload) pairs),
    typing (a chat action), or delete (`message_ids` of the chat).
    """

    kind: str = "text"
    text: str = ""
    options: tuple[tuple[str, str], ...] = ()
    request_location: bool = False
    location_label: str = ""
    message_ids: tuple[int, ...] = ()
    id: str = ""  # our id, used in the transcript's delivery status
    # The conversation it belongs to (its pid), told by the sender, never stored
    # with it: a channel whose provider reports delivery later names it there.
    conversation: str = ""
    # Said in the flows' own words alone, naming no one (bot/store/shared.py): a
    # channel that keeps what it sent may keep it once for everyone.
    shared: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "text": self.text,
            "options": [list(o) for o in self.options],
            "request_location": self.request_location,
            "location_label": self.location_label,
            "message_ids": list(self.message_ids),
            "id": self.id,
            **({"shared": True} if self.shared else {}),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Outbound:
        return cls(
            kind=data.get("kind", "text"),
            text=data.get("text", ""),
            options=tuple(tuple(o) for o in data.get("options", ())),
            request_location=bool(data.get("request_location")),
            location_label=data.get("location_label", ""),
            message_ids=tuple(data.get("message_ids", ())),
            id=data.get("id", ""),
            shared=bool(data.get("shared")),
        )


@dataclass(frozen=True)
class Sent:
    """What a successful send returns: the channel's message ids (for later deletion)."""

    message_ids: tuple[str, ...] = ()


class RetryableSendError(Exception):
    """The send may work later: 429, 5xx, a timeout. `retry_after` in seconds if known."""

    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.retry_after = retry_after


class PermanentSendError(Exception):
    """The send will never work (blocked bot, invalid number): record it, do not retry."""


@dataclass(frozen=True)
class PageTexts:
    """A channel's own page in one language (the web chat's buttons and notes)."""

    language: str
    direction: str  # "ltr" or "rtl"
    texts: dict[str, str]  # settings message key (web_send...) -> text

    def to_json(self) -> dict[str, Any]:
        return {"lang": self.language, "dir": self.direction, "texts": self.texts}


class Words(Protocol):
    """What a channel may ask of the flows in use (bot.runtime.live.Flows)."""

    def global_keyword(self, text: str) -> str | None:
        """The global keyword a whole message is ('exit', 'menu'...), in any
        language of the flows, else None."""
        ...

    def page_texts(self, prefix: str, language: str | None, tags: str | None) -> PageTexts:
        """The settings messages whose key starts with `prefix`, in `language` if
        the flows have it, else in the best of the browser's `tags`
        (Accept-Language), else in English."""
        ...


class NoWords:
    """For a pipeline without flows (benchmarks): no keyword, English texts."""

    def global_keyword(self, text: str) -> str | None:
        return None

    def page_texts(self, prefix: str, language: str | None, tags: str | None) -> PageTexts:
        return PageTexts("en", "ltr", {})


class Inlet(Protocol):
    """What a channel hands its inbound messages to (the pipeline), the storage
    it may read for its own bookkeeping, and the flows' words."""

    redis: Redis
    privacy: Privacy
    retention: int
    clock: Clock
    words: Words

    async def accept(self, inbound: Inbound) -> bool:
        """Store `inbound` durably (True when new, False for a duplicate)."""
        ...


class Channel(ABC):
    """A way a person reaches the helpline."""

    name: str = ""
    capabilities: Capabilities = Capabilities()

    def __init__(self) -> None:
        self.pipeline: Inlet | None = None

    async def connect(self, pipeline: Inlet) -> None:
        """Start the channel; inbound messages go to `pipeline.accept`."""
        self.pipeline = pipeline

    @property
    def inlet(self) -> Inlet:
        """The pipeline this channel was connected to."""
        if self.pipeline is None:
            raise RuntimeError(f"the {self.name} channel is not connected")
        return self.pipeline

    def listen(self) -> list[web.AbstractRouteDef]:
        """The HTTP routes that receive this channel's inbound messages."""
        return []

    async def claims(self, request: web.Request) -> bool:
        """Whether a request to a route that several channels listen on is this
        channel's (Twilio posts SMS and WhatsApp to one URL). Read the body with
        `read_body`, which keeps it for the handler."""
        return True

    @abstractmethod
    async def send(self, address: str, outbound: Outbound) -> Sent:
        """Deliver one outbound message to `address`, or raise a SendError."""

    def after_send(self, pid: str, outbound: Outbound, sent: Sent, retention: int) -> list[list]:
        """Redis commands to record with a successful send (applied atomically with
        it). Anything named by the provider's ids must be a key of the conversation
        (keys.conversation_keys), so that a safe exit deletes it with her."""
        return []

    async def disconnect(self) -> None:
        """Stop the channel and close its clients."""

    def close_requests(self) -> None:
        """Shutting down: end the requests this channel holds open (long polls)."""

    @property
    def state(self) -> str:
        """For /healthz: `on`, or what is wrong (never a secret)."""
        return "on"


MAX_BODY = 64 * 1024  # no webhook or chat message needs more


# Where read_body keeps what it read, for a second reader (a shared route's claims).
_BODY = web.RequestKey("helpline.body", bytes)


async def read_body(request: web.Request, max_body: int = MAX_BODY) -> bytes | None:
    """The request's body, or None when it is larger than `max_body` or cannot be read."""
    if _BODY in request:
        raw = request[_BODY]
        return raw if len(raw) <= max_body else None
    if request.content_length is not None and request.content_length > max_body:
        return None
    try:
        raw = await request.content.read(max_body + 1)
    except (TimeoutError, ConnectionError):
        return None
    request[_BODY] = raw
    return raw if len(raw) <= max_body else None


def bad_request(message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": message}, status=status)


MAX_DEPTH = 32  # a Telegram Update nests about 8 deep; python-telegram-bot recurses on it
MAX_DIGITS = 19  # 64-bit ids; int() of a 4,300-digit number raises, and is slow well before


class UnreadableJson(ValueError):
    """JSON that parses but that we refuse; its message is the sentence to answer."""


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise UnreadableJson(f"the body has an integer longer than {MAX_DIGITS} digits")
    return int(text)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise UnreadableJson("the body has a number out of range (beyond ±1.8e308)")
    return value


def _constant(name: str) -> NoReturn:
    raise UnreadableJson(f"the body has {name}, which is not a JSON number")


def _unreadable_part(data: Any) -> str | None:
    """Why a parsed body is refused: nested too deeply, or a string with a lone
    UTF-16 surrogate (an escape like \\ud800 without its pair: no character,
    and no UTF-8 to store it in). Iterative: deep nesting cannot overflow it."""
    stack = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    return (
                        "the body has a lone UTF-16 surrogate (\\ud800 to \\udfff), "
                        "which is not text"
                    )
        elif isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                return f"the body's JSON is nested deeper than {MAX_DEPTH} levels"
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return None


async def read_json(request: web.Request, max_body: int = MAX_BODY) -> dict | web.Response:
    """The request's JSON object, or the 4xx response to give: too large, not
    UTF-8, not JSON, not an object, nested too deeply, a number out of range
    (NaN, Infinity, an integer of 20 digits or more) or a string that is not
    text (a lone surrogate)."""
    raw = await read_body(request, max_body)
    if raw is None:
        return bad_request(f"the body is larger than {max_body // 1024} KB", 413)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return bad_request("the body is not valid UTF-8")
    try:
        data = json.loads(text, parse_int=_integer, parse_float=_finite, parse_constant=_constant)
    except UnreadableJson as exc:
        return bad_request(str(exc))
    except json.JSONDecodeError:
        return bad_request("the body is not valid JSON")
    except RecursionError:  # json.loads recurses once per level
        return bad_request(f"the body's JSON is nested deeper than {MAX_DEPTH} levels")
    if not isinstance(data, dict):
        return bad_request("the body must be a JSON object")
    problem = _unreadable_part(data)
    if problem:
        return bad_request(problem)
    return data


def render_text(text: str, options: tuple[tuple[str, str], ...]) -> str:
    """A menu as numbered lines under the text, for channels without buttons."""
    lines = [text] if text else []
    lines.extend(f"{i} {label}" for i, (label, _) in enumerate(options, start=1))
    return "\n".join(lines)
