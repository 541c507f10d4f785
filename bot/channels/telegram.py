"""Telegram, with python-telegram-bot used as a library inside our aiohttp app.

Inbound: POST /telegram/webhook (when HELPLINE_PUBLIC_URL is set; setWebhook is
called at start with a secret token checked on every delivery), else long
polling with getUpdates; either way an update is acknowledged only once stored.
Outbound: menus as inline keyboards, a location button where the flow asks for
a place, "typing..." while a counsellor types, and on safe exit deleteMessages
(up to 100 at a time) for every message the bot may still delete.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import logging
import time
import warnings
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import TypeGuard

from aiohttp import web
from redis.exceptions import RedisError
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest

from bot.channels import CAPABILITIES
from bot.channels.base import (
    Channel,
    Inbound,
    Outbound,
    PermanentSendError,
    RetryableSendError,
    Sent,
    bad_request,
    read_json,
)
from bot.clock import wall_clock
from bot.config import Settings
from bot.store import keys
from bot.store.scripts import Script, load_script

log = logging.getLogger("helpline.telegram")

MAX_TEXT = 4096
HANDLED_UPDATES = ["message", "edited_message", "callback_query"]
START_RETRY_S = 5.0  # Telegram unavailable at start: tried again after this, doubling
START_RETRY_MAX_S = 60.0
GLOBAL_PER_SECOND = 25  # Telegram allows about 30 messages a second in all
CHAT_BURST, CHAT_INTERVAL_S = 3, 1.0  # short bursts, then about one a second per chat


def _seconds(error: RetryAfter) -> float:
    """PTB gives retry_after as seconds or as a timedelta, depending on its settings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB 22 warns that the type will change
        value = error.retry_after
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)


class Pacer:
    """Our own send pacing (PTB's rate limiter has no per-chat limit for private
    chats): the bot's global rate, shared through Redis by every process once
    `share` is called (else counted here), in quarter-second windows of 6: any
    second overlaps at most five of them, 30 sends (Telegram's limit); and a
    per-chat burst, counted here (a conversation's sends come from the one
    process holding its outbox)."""

    WINDOW_S = 0.25

    def __init__(self, per_second: float = GLOBAL_PER_SECOND) -> None:
        self.per_window = max(1, int(per_second * self.WINDOW_S))
        self.per_chat: dict[str, deque[float]] = {}
        self.counted: dict[int, int] = {}  # window -> sends, while not shared
        self.rate: Script | None = None

    def share(self, rate: Script) -> None:
        """Count the global rate in Redis with `rate` (rate.lua beside this module)."""
        self.rate = rate

    async def _count(self, window: int) -> int:
        if self.rate is not None:
            try:
                return await self.rate(keys=[keys.telegram_rate(window)], args=[2000])
            except RedisError:
                pass  # pace by ourselves until Redis is back
        self.counted = {w: n for w, n in self.counted.items() if w >= window}
        self.counted[window] = self.counted.get(window, 0) + 1
        return self.counted[window]

    async def wait(self, chat: str) -> None:
        chat_times = self.per_chat.setdefault(chat, deque(maxlen=CHAT_BURST))
        now = time.monotonic()
        if len(chat_times) == CHAT_BURST and now - chat_times[0] < CHAT_BURST * CHAT_INTERVAL_S:
            await asyncio.sleep(CHAT_BURST * CHAT_INTERVAL_S - (now - chat_times[0]))
        while True:
            # Windows of the wall clock: the same in every process sharing the count.
            window = int(wall_clock() / self.WINDOW_S)
            if await self._count(window) <= self.per_window:
                break
            await asyncio.sleep(max(0.0, (window + 1) * self.WINDOW_S - wall_clock()))
        chat_times.append(time.monotonic())
        if len(self.per_chat) > 10_000:
            self.per_chat.clear()


def _is_int(value: object) -> TypeGuard[int]:
    """An integer as Telegram sends them (ids, Unix times: 64 bits at most), not a bool."""
    return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63


def _is_number(value: object, limit: float) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and abs(value) <= limit


def _user_problem(user: object, name: str) -> str | None:
    if not isinstance(user, dict) or not _is_int(user.get("id")):
        return f"the {name} needs a from with an integer id"
    if user.get("language_code") is not None and not isinstance(user["language_code"], str):
        return f"the {name}'s language_code must be a string"
    return None


def _message_problem(message: object, name: str) -> str | None:
    if not isinstance(message, dict):
        return f"the {name} must be an object"
    date = message.get("date")
    if not _is_int(message.get("message_id")) or not (_is_int(date) and 0 <= date < 2**32):
        return f"the {name} needs an integer message_id and a date (Unix time)"
    chat = message.get("chat")
    if (
        not isinstance(chat, dict)
        or not _is_int(chat.get("id"))
        or not isinstance(chat.get("type"), str)
    ):
        return f"the {name} needs a chat with an integer id and a type"
    if message.get("from") is not None and (problem := _user_problem(message["from"], name)):
        return problem
    if message.get("text") is not None and not isinstance(message["text"], str):
        return f"the {name}'s text must be a string"
    location = message.get("location")
    if location is not None and not (
        isinstance(location, dict)
        and _is_number(location.get("latitude"), 90)
        and _is_number(location.get("longitude"), 180)
    ):
        return f"the {name}'s location needs a latitude (±90) and a longitude (±180)"
    return None


def _malformed(data: dict) -> str | None:
    """What is wrong with the parts of a handled update that we read
    (python-telegram-bot accepts almost anything, and fails later)."""
    for name in ("message", "edited_message"):
        if name in data and (problem := _message_problem(data[name], name)):
            return problem
    if "callback_query" not in data:
        return None
    query = data["callback_query"]
    if not isinstance(query, dict) or not isinstance(query.get("id"), str):
        return "the callback_query needs a string id"
    if problem := _user_problem(query.get("from"), "callback_query"):
        return problem
    if query.get("data") is not None and not isinstance(query["data"], str):
        return "the callback_query's data must be a string"
    if query.get("message") is not None:
        return _message_problem(query["message"], "callback_query's message")
    return None


def inbound_of(update: Update) -> Inbound | None:
    """Our Inbound for a Telegram update, or None when it is not from a person in
    a private chat with the bot (groups, channels)."""
    if update.callback_query is not None:
        query = update.callback_query
        message = query.message
        if message is None or message.chat.type != "private":
            return None
        return Inbound(
            "telegram",
            str(message.chat.id),
            kind="button",
            payload=query.data or "",
            language_hint=query.from_user.language_code,
            dedup_id=str(update.update_id),
        )
    message = update.message or update.edited_message
    if message is None or message.chat.type != "private":
        return None
    inbound = functools.partial(
        Inbound,
        "telegram",
        str(message.chat.id),
        message_id=str(message.message_id),
        language_hint=message.from_user.language_code if message.from_user else None,
        dedup_id=str(update.update_id),
    )
    if update.edited_message is not None:
        return inbound(kind="unsupported")
    if message.location is not None:
        return inbound(
            kind="location", location=(message.location.latitude, message.location.longitude)
        )
    if message.text is not None:
        text = message.text
        if len(text) > MAX_TEXT:
            return inbound(kind="too_long")
        if text.strip().split("@")[0] == "/start" or text.strip().startswith("/start "):
            return inbound(kind="start")
        return inbound(kind="text", text=text)
    return inbound(kind="unsupported")  # stickers, photos, voice...


class TelegramChannel(Channel):
    name = "telegram"
    capabilities = CAPABILITIES["telegram"]

    def __init__(self, settings: Settings, env: Mapping[str, str | None]):
        super().__init__()
        self.settings = settings
        token, base_url = env["TELEGRAM_BOT_TOKEN"], env["TELEGRAM_API_BASE_URL"]
        if not token or not base_url:
            raise ValueError("the Telegram channel needs TELEGRAM_BOT_TOKEN")
        self.bot = Bot(
            token,
            base_url=base_url,
            request=HTTPXRequest(
                connection_pool_size=32, read_timeout=15, write_timeout=15, connect_timeout=10
            ),
            get_updates_request=HTTPXRequest(read_timeout=40, connect_timeout=10),
        )
        self.pacer = Pacer()
        self.configured_secret = env["TELEGRAM_WEBHOOK_SECRET"]
        self.secret: str | None = self.configured_secret
        self._polling: asyncio.Task | None = None
        self._starting: asyncio.Task | None = None  # retrying a start Telegram refused
        self._background: set[asyncio.Task] = set()

    # ------------------------------------------------------------------ lifecycle

    async def connect(self, pipeline) -> None:
        await super().connect(pipeline)
        self.pacer.share(
            load_script(pipeline.redis, Path(__file__).parent / "rate.lua")
        )  # one global rate for every process
        self.secret = self.configured_secret or pipeline.privacy.telegram_secret
        try:
            await self._register()
        except TelegramError as exc:
            # Web chat and SMS must serve meanwhile: Telegram is off until it answers.
            # Never the exception's text: python-telegram-bot puts the token in it.
            if isinstance(exc, InvalidToken):
                log.error(
                    "Telegram rejected TELEGRAM_BOT_TOKEN: the Telegram channel is off while "
                    "web chat and SMS serve. Check the token; retrying in the background."
                )
            else:
                log.warning(
                    "Telegram is unreachable at start (%s): the Telegram channel is off while "
                    "web chat and SMS serve; retrying in the background.",
                    type(exc).__name__,
                )
            self._starting = asyncio.create_task(self._register_later())

    @property
    def state(self) -> str:
        if self._starting is not None and not self._starting.done():
            return "off: Telegram unavailable at start, retrying"
        return "on"

    async def _register_later(self) -> None:
        pause = START_RETRY_S
        while True:
            await asyncio.sleep(pause)
            try:
                await self._register()
            except TelegramError as exc:
                log.debug("Telegram still unavailable (%s)", type(exc).__name__)
                pause = min(pause * 2, START_RETRY_MAX_S)
            else:
                log.warning("Telegram answers now: the Telegram channel is on")
                return

    async def _register(self) -> None:
        """getMe (which checks the token), then the webhook or long polling."""
        await self.bot.initialize()
        if self.settings.public_url:
            await self.bot.set_webhook(
                url=f"{self.settings.public_url}/telegram/webhook",
                secret_token=self.secret,
                allowed_updates=HANDLED_UPDATES,
                drop_pending_updates=False,
            )
            log.info("Telegram webhook registered")
        elif self.settings.process_index == 0:  # one poller: Telegram allows no more
            await self.bot.delete_webhook(drop_pending_updates=False)
            self._polling = asyncio.create_task(self._poll())
            log.info("Telegram long polling started")

    async def disconnect(self) -> None:
        if self._starting is not None:
            self._starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._starting
        if self._polling is not None:
            self._polling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._polling
        for task in list(self._background):
            task.cancel()
        with contextlib.suppress(Exception):
            await self.bot.shutdown()

    async def _poll(self) -> None:
        offset = None
        while True:
            try:
                updates = await self.bot.get_updates(
                    offset=offset, timeout=25, allowed_updates=HANDLED_UPDATES
                )
            except asyncio.CancelledError:
                raise
            except RetryAfter as exc:
                await asyncio.sleep(_seconds(exc))
                continue
            except TelegramError as exc:
                log.warning("getUpdates failed (%s); retrying", type(exc).__name__)
                await asyncio.sleep(2)
                continue
            for update in updates:
                await self._accept(update)
                offset = update.update_id + 1  # confirmed to Telegram only once stored

    # ------------------------------------------------------------------ inbound

    def listen(self) -> list[web.AbstractRouteDef]:
        return [web.post("/telegram/webhook", self.webhook)]

    def _secret_ok(self, sent: bytes) -> bool:
        """The header against our secret, or, while keys rotate, one derived from an
        old key (Telegram keeps sending that until the webhook is registered again)."""
        if not self.secret:
            return False
        accepted = [self.secret]
        if not self.configured_secret and self.pipeline is not None:
            accepted = self.pipeline.privacy.telegram_secrets
        # every candidate compared, so the time taken does not say which one matched
        return sum(hmac.compare_digest(sent, secret.encode()) for secret in accepted) > 0

    async def webhook(self, request: web.Request) -> web.Response:
        # aiohttp decodes header bytes that are not UTF-8 as lone surrogates: encode them back
        sent = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not self._secret_ok(sent.encode("utf-8", "surrogateescape")):
            return bad_request("wrong or missing secret token", 403)
        data = await read_json(request)
        if isinstance(data, web.Response):
            return data  # too large, not UTF-8, not a JSON object
        if not _is_int(data.get("update_id")):
            return bad_request("not a Telegram Update: an object with an integer update_id")
        if not any(kind in data for kind in HANDLED_UPDATES):
            return bad_request(f"unsupported update type; handled: {', '.join(HANDLED_UPDATES)}")
        problem = _malformed(data)
        if problem:
            return bad_request(f"malformed Telegram Update: {problem}")
        try:
            update = Update.de_json(data, self.bot)
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError, OSError):
            # A field we do not read is missing or impossible: a date out of
            # range raises any of the last three (datetime.fromtimestamp).
            return bad_request(
                "malformed Telegram Update: a field is missing, of the wrong type or out of range"
            )
        if update is None:
            return bad_request("malformed Telegram Update")
        await self._accept(update)
        return web.json_response({"ok": True})

    async def _accept(self, update: Update) -> None:
        inbound = inbound_of(update)
        if inbound is None:
            return
        await self.inlet.accept(inbound)
        if update.callback_query is not None:  # stop the button's spinner; best effort
            task = asyncio.create_task(self._answer(update.callback_query.id))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _answer(self, query_id: str) -> None:
        with contextlib.suppress(TelegramError, asyncio.TimeoutError):
            await asyncio.wait_for(self.bot.answer_callback_query(query_id), 10)

    # ------------------------------------------------------------------ outbound

    async def send(self, address: str, outbound: Outbound) -> Sent:
        chat_id = int(address)
        try:
            if outbound.kind == "delete":
                ids = list(outbound.message_ids)
                for start in range(0, len(ids), 100):
                    await self.pacer.wait(address)
                    with contextlib.suppress(BadRequest):  # too old, or already gone
                        await self.bot.delete_messages(chat_id, ids[start : start + 100])
                return Sent()
            if outbound.kind == "typing":
                await self.bot.send_chat_action(chat_id, "typing")
                return Sent()
            markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | None = None
            if outbound.options:
                markup = InlineKeyboardMarkup(
                    [
                        [InlineKeyboardButton(label, callback_data=payload[:64])]
                        for label, payload in outbound.options
                    ]
                )
            elif outbound.request_location:
                markup = ReplyKeyboardMarkup(
                    [[KeyboardButton(outbound.location_label or "📍", request_location=True)]],
                    one_time_keyboard=True,
                    resize_keyboard=True,
                )
            await self.pacer.wait(address)
            message = await self.bot.send_message(
                chat_id, outbound.text[:MAX_TEXT], reply_markup=markup, protect_content=True
            )
            return Sent((str(message.message_id),))
        except RetryAfter as exc:
            raise RetryableSendError("Telegram 429", retry_after=_seconds(exc)) from None
        except (BadRequest, Forbidden, InvalidToken) as exc:
            raise PermanentSendError(f"Telegram refused: {type(exc).__name__}") from None
        except (TimedOut, NetworkError) as exc:
            raise RetryableSendError(f"Telegram {type(exc).__name__}") from None
