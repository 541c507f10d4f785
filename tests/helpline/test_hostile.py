"""Every hostile input gets a 4xx, never a 5xx (SPEC.md, "Reliability").

A corpus of the inputs the spec names (malformed JSON or form, missing fields,
bodies over 100 KB, invalid UTF-8, unknown update types, deep nesting, huge
numbers, NaN and Infinity, wrong types for every field, NUL and lone
surrogates) is sent to every route, and hypothesis generates more for the JSON
routes and Twilio's form. For each request:

- the status is below 500;
- no traceback is logged, by the handler nor by the workers that process what
  was accepted;
- on the web chat, webhook and SMS routes, a refused request (4xx) stored
  nothing: the pipeline took no delivery (its count of stored and duplicate
  messages), and in the corpus, where each case names a new conversation, that
  conversation has no keys (generated examples repeat names: only the count).

One app with every channel (Telegram by webhook, SMS through Twilio, the web
chat, the console) serves all the cases of a test: an app costs about a second
to build, so a test walks the corpus of a group of routes and reports every
failing case at once, rather than one test (and one app) per case. Requests
are written on a plain socket, so the bytes on the wire are exactly the case's
(a query string or a header that is not UTF-8, a chunked body).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote_plus

import hypothesis
import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, event, given
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from bot.store import keys
from bot.testing.settle import settled
from helpline.app import METRICS, PRIVACY
from tests.fakes import FakeTelegram, FakeTwilio

PUBLIC = "https://help.example.org"
SECRET = "hostile-webhook-secret"
TWILIO_TOKEN = "test-auth-token"  # FakeTwilio's
_ids = itertools.count(10_000)


# ---------------------------------------------------------------------- the app and the checks


@pytest.fixture
async def app(make_client) -> AsyncIterator[TestClient]:
    """The whole app with every channel on: Telegram by webhook, SMS through Twilio."""
    telegram, twilio = await FakeTelegram().start(), await FakeTwilio().start()
    try:
        yield await make_client(
            channel_env={
                "TELEGRAM_BOT_TOKEN": telegram.token,
                "TELEGRAM_API_BASE_URL": telegram.base_url,
                "TELEGRAM_WEBHOOK_SECRET": SECRET,
                **twilio.env(),
            },
            public_url=PUBLIC,
            send_backoff_s=0.01,
            send_attempts=2,
            # Hundreds of new chats from one address: the flood limit would
            # answer 429 before the handler reads the request under test.
            web_chat_limits=False,
        )
    finally:
        await telegram.close()
        await twilio.close()


@dataclass(frozen=True)
class Hostile:
    """One request. Header values are bytes: some cases are not text at all.
    `who` is the (channel, user id) of the conversation the request names."""

    name: str
    method: str
    target: str  # path and query, exactly as written on the wire
    body: bytes | None = None
    headers: Mapping[str, bytes] = field(default_factory=dict)
    chunked: bool = False
    who: tuple[str, str] | None = None


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


async def send(client: TestClient, request: Hostile) -> Answer:
    """Write `request` on a new connection (Connection: close) and read the answer."""
    assert client.server.host and client.server.port
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    head = [f"{request.method} {request.target} HTTP/1.1".encode(), b"Host: 127.0.0.1"]
    head += [name.encode() + b": " + value for name, value in request.headers.items()]
    head.append(b"Connection: close")
    body = request.body or b""
    if request.chunked:
        head.append(b"Transfer-Encoding: chunked")
        chunks = [body[i : i + 8192] for i in range(0, len(body), 8192)]
        body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    elif request.body is not None:
        head.append(b"Content-Length: %d" % len(body))
    try:
        writer.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        await writer.drain()
    except ConnectionError:
        pass  # refused before the whole body was read: the answer is still there
    raw = await asyncio.wait_for(reader.read(), 30)
    writer.close()
    status_line, _, rest = raw.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1."), raw[:200]
    return Answer(int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2])


class Checker:
    """Sends requests to one app and says what went wrong with each."""

    def __init__(self, client: TestClient, redis, caplog: pytest.LogCaptureFixture) -> None:
        self.client, self.redis, self.caplog = client, redis, caplog
        self.metrics = client.app[METRICS]
        self.privacy = client.app[PRIVACY]
        self.status = 0  # of the last answer
        caplog.set_level(logging.ERROR)

    async def accepted(self) -> float:
        """Deliveries the pipeline took, new or duplicate (every channel's go through it)."""
        await self.metrics.flush(self.redis)
        totals = await self.redis.hgetall(keys.METRICS)
        return sum(
            float(v)
            for k, v in totals.items()
            if k.decode().startswith(("helpline_messages_in", "helpline_duplicate_deliveries"))
        )

    async def problem(self, request: Hostile, stores_nothing_when_refused: bool) -> str | None:
        """What is wrong with the app's handling of `request`, or None."""
        await settled(self.redis)  # what earlier requests started has finished
        accepted, logged = await self.accepted(), len(self.caplog.records)
        answer = await send(self.client, request)
        self.status = answer.status
        case = f"{request.method} {request.target[:40]} {request.name}"
        if answer.status >= 500:
            said = " ".join(answer.body[:300].decode(errors="replace").split())
            return f"{case}: {answer.status} {said}"
        if await self.accepted() != accepted:
            await settled(self.redis)  # the workers' tracebacks are logged too
        for record in self.caplog.records[logged:]:
            if record.exc_info or "Traceback" in record.getMessage():
                error = record.exc_info[1] if record.exc_info else None
                return f"{case}: {answer.status}, logged {record.getMessage()!r}: {error!r}"
        if stores_nothing_when_refused and 400 <= answer.status < 500:
            if await self.accepted() != accepted:
                return f"{case}: {answer.status}, yet a message was stored"
            if request.who is not None:
                pid = self.privacy.pid(*request.who)
                if await self.redis.exists(*keys.conversation_keys(pid), keys.inbox(pid)):
                    return f"{case}: {answer.status}, yet the conversation has keys"
        return None


# ---------------------------------------------------------------------- the corpus

JSON = {"Content-Type": b"application/json"}
FORM = {"Content-Type": b"application/x-www-form-urlencoded"}

# Whole bodies that are no acceptable JSON object, whatever the route.
BAD_JSON_BODIES: dict[str, bytes] = {
    "no body": b"",
    "malformed JSON": b"{not json",
    "truncated JSON": b'{"session": "abc',
    "trailing garbage": b'{"a": 1} x',
    "JSON null": b"null",
    "JSON array": b"[1, 2]",
    "JSON string": b'"hello"',
    "JSON number": b"42",
    "a form instead of JSON": b"session=abcdefghijklmnop&text=hi",
    "byte order mark": b"\xef\xbb\xbf{}",
    "a NUL byte": b"\x00",
    "a raw NUL inside a string": b'{"text": "a\x00b"}',
    "a raw newline inside a string": b'{"text": "a\nb"}',
    "invalid UTF-8": b'{"text": "\xff\xfe"}',
    "overlong UTF-8": b'{"text": "\xc0\xaf"}',
    "UTF-8 encoded surrogate": b'{"text": "\xed\xa0\x80"}',
    "UTF-16 body": '{"text": "hi"}'.encode("utf-16"),
    "110 KB body": b'{"text": "' + b"x" * 110_000 + b'"}',
    "[ * 100,000": b"[" * 100_000,
    "[ * 60,000 (under 64 KB)": b"[" * 60_000,
    "30,000 nested arrays": b"[" * 30_000 + b"]" * 30_000,
    "10,000 nested objects": b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
    "5,000-digit integer": b"1" * 5000,
    "5,000-digit integer in an object": b'{"a": ' + b"9" * 5000 + b"}",
    "1e400": b"1e400",
    "-1e20": b"-1e20",
    "NaN": b"NaN",
    "Infinity": b"Infinity",
    "-Infinity": b"-Infinity",
    "lone surrogate": b'"\\ud800"',
    "lone surrogate in an object": b'{"a": "\\udfff"}',
    "lone surrogate as a key": b'{"\\ud800": 1}',
    "5,000 keys": json.dumps({f"k{i}": i for i in range(5000)}).encode(),
}

# Values put in place of each field of a valid object, as JSON text.
WRONG_VALUES: dict[str, bytes] = {
    "null": b"null",
    "true": b"true",
    "0": b"0",
    "-1": b"-1",
    "1.5": b"1.5",
    "-1e20": b"-1e20",
    "1e20": b"1e20",
    "1e400": b"1e400",
    "NaN": b"NaN",
    "Infinity": b"Infinity",
    "-Infinity": b"-Infinity",
    "2**64": b"18446744073709551616",
    "5,000 digits": b"9" * 5000,
    "empty string": b'""',
    "a string": b'"abc"',
    "string with NUL": b'"a\\u0000b"',
    "lone surrogate": b'"\\udc80"',
    "reversed surrogate pair": b'"\\udc00\\ud800"',
    "5,000-character string": b'"' + b"x" * 5000 + b'"',
    "empty array": b"[]",
    "array": b'[1, "a", null]',
    "empty object": b"{}",
    "object": b'{"a": 1}',
    "40 nested arrays": b"[" * 40 + b"]" * 40,
}

Case = tuple[str, bytes, tuple[str, str] | None]  # name, body, who
_MARK = "\u0001hostile\u0001"


def with_field(template: dict, path: tuple[str, ...], value: bytes | None) -> bytes:
    """`template` as JSON with the field at `path` set to the JSON text `value`
    (removed when None)."""
    data = json.loads(json.dumps(template))
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    if value is None:
        del parent[path[-1]]
        return json.dumps(data).encode()
    parent[path[-1]] = _MARK
    return json.dumps(data).encode().replace(json.dumps(_MARK).encode(), value)


def paths(data: dict, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The path of every field of `data`, at any depth of objects."""
    for key, value in data.items():
        yield (*prefix, key)
        if isinstance(value, dict):
            yield from paths(value, (*prefix, key))


def every_field_wrong(
    name: str,
    make: Callable[[], tuple[dict, tuple[str, str] | None]],
    under: str = "",
    unread: tuple[str, ...] = (),
) -> Iterator[Case]:
    """For each field of the objects `make` builds (fresh ids each time) whose
    path starts with `under`, except fields named in `unread`: the object
    without it, and with each of WRONG_VALUES in its place."""
    for path in paths(make()[0]):
        where = ".".join(path)
        if not where.startswith(under) or path[-1] in unread:
            continue
        for label, value in [("missing", None), *WRONG_VALUES.items()]:
            template, who = make()
            yield f"{name}: {where} = {label}", with_field(template, path, value), who


def json_cases(
    route: str, objects: Iterable[Case] = (), base: Mapping[str, bytes] = JSON
) -> list[Hostile]:
    """Every bad body, then every object with a wrong field, POSTed to `route`
    with the `base` headers."""
    cases = [Hostile(name, "POST", route, body, base) for name, body in BAD_JSON_BODIES.items()]
    big = b'{"a": "' + b"x" * 110_000 + b'"}'
    cases.append(Hostile("110 KB chunked body", "POST", route, big, base, chunked=True))
    cases.append(
        Hostile("text/plain", "POST", route, b"{}", {**base, "Content-Type": b"text/plain"})
    )
    cases += [Hostile(name, "POST", route, body, base, who=who) for name, body, who in objects]
    return cases


# Query strings for every route: the app reads some (`session`, `after`, `wait`).
QUERIES = {
    "invalid UTF-8 in the query": "?session=%ff%fe&after=%ff",
    "encoded surrogate in the query": "?session=%ED%A0%80&%ED%A0%80=1",
    "NUL in the query": "?session=%00&after=%00",
    "23-digit after": "?session=hostile-session-query0&after=99999999999999999999999",
    "5,000-digit after": "?session=hostile-session-query0&after=" + "9" * 5000,
    "after = NaN": "?session=hostile-session-query0&after=NaN",
    "after = -1": "?session=hostile-session-query0&after=-1",
    "after = 1e3": "?session=hostile-session-query0&after=1e3",
    "after = fullwidth digit": "?session=hostile-session-query0&after=%EF%BC%91",
    "session twice": "?session=a&session=hostile-session-query0",
    "long poll without a session": "?wait=1&session=../etc",
    "a 6 KB query": "?x=" + "a" * 6000,
}

# Headers that are not text, or that the app reads (secret, signature, language).
ODD_HEADERS = {
    "a secret header that is not UTF-8": {"X-Telegram-Bot-Api-Secret-Token": b"\xff\xfe"},
    "a signature that is not UTF-8": {"X-Twilio-Signature": b"\xff\xfe"},
    "an Accept-Language that is not UTF-8": {"Accept-Language": b"\xff\xfe;q=1"},
    "Accept-Language q=NaN": {"Accept-Language": b"en;q=NaN, *;q=1e400, uk;q=-1"},
    "a 7 KB Accept-Language": {"Accept-Language": b"en-" * 2400},
    "Accept-Language garbage": {"Accept-Language": b",,;;=q,zz-ZZ-u-ca-,\xc3\xa9"},
    "a 2 KB Content-Type": {"Content-Type": b"application/json; charset=" + b"x" * 2000},
    "a charset that does not exist": {"Content-Type": b"application/json; charset=no-such"},
}


def query_and_header_cases(
    method: str, route: str, base: Mapping[str, bytes] = JSON, body: bytes | None = None
) -> list[Hostile]:
    """Each odd query string and each odd header (over the `base` headers)."""
    if body is None and method == "POST":
        body = b"{}"
    cases = [Hostile(name, method, route + q, body, base) for name, q in QUERIES.items()]
    cases += [Hostile(name, method, route, body, {**base, **h}) for name, h in ODD_HEADERS.items()]
    cases.append(Hostile("a body on a GET", "GET", route, b"[" * 1000, base))
    cases.append(Hostile("a method the route does not take", "DELETE", route, b"{}", base))
    return cases


# ---- the web chat and the console


def session() -> str:
    return f"hostile-session-{next(_ids):08d}"


def web_text() -> tuple[dict, tuple[str, str]]:
    s = session()
    return {"session": s, "text": "hello"}, ("web", s)


def web_button() -> tuple[dict, tuple[str, str]]:
    s = session()
    return {"session": s, "payload": "yes"}, ("web", s)


def web_exit() -> tuple[dict, tuple[str, str]]:
    s = session()
    return {"session": s}, ("web", s)


def web_chat_cases() -> list[Hostile]:
    s = session()
    start = json.dumps({"session": s, "start": "true"}).encode()
    messages = itertools.chain(
        every_field_wrong("text", web_text),
        every_field_wrong("button", web_button),
        [("start as a string", start, ("web", s))],
    )
    static = "/chat/static"
    return [
        *json_cases("/chat/api/messages", messages),
        *query_and_header_cases("POST", "/chat/api/messages"),
        *json_cases("/chat/api/exit", every_field_wrong("exit", web_exit)),
        *query_and_header_cases("POST", "/chat/api/exit"),
        *query_and_header_cases("GET", "/chat/api/messages"),
        *query_and_header_cases("GET", "/"),
        *query_and_header_cases("GET", f"{static}/chat.js"),
        Hostile("a path out of the folder", "GET", f"{static}/..%2f..%2fetc%2fpasswd"),
        Hostile("a name with NUL", "GET", f"{static}/chat.js%00.css"),
    ]


def console_cases() -> list[Hostile]:
    def login() -> tuple[dict, None]:
        return {"username": "nobody", "password": "not-the-password"}, None

    return [
        *json_cases("/console/api/login", every_field_wrong("login", login)),
        *query_and_header_cases("POST", "/console/api/login"),
    ]


# ---- Telegram

# Fields python-telegram-bot keeps but nothing of ours reads: left out of the
# field sweeps (any value there is accepted, and the replies each case starts
# are paced at 25 a second: seconds of test); the property test varies them.
UNREAD = ("is_bot", "first_name", "chat_instance")


def telegram_message(kind: str = "message") -> tuple[dict, tuple[str, str]]:
    chat = next(_ids)
    message = {
        "message_id": next(_ids),
        "date": 1_767_225_600,
        "chat": {"id": chat, "type": "private"},
        "from": {"id": chat, "is_bot": False, "first_name": "A", "language_code": "en"},
        "text": "hello",
    }
    return {"update_id": next(_ids), kind: message}, ("telegram", str(chat))


def telegram_edit() -> tuple[dict, tuple[str, str]]:
    return telegram_message("edited_message")


def telegram_location() -> tuple[dict, tuple[str, str]]:
    update, who = telegram_message()
    del update["message"]["text"]
    update["message"]["location"] = {"latitude": 50.45, "longitude": 30.52}
    return update, who


def telegram_button() -> tuple[dict, tuple[str, str]]:
    chat = next(_ids)
    query = {
        "id": str(next(_ids)),
        "data": "yes",
        "chat_instance": "x",
        "from": {"id": chat, "is_bot": False, "first_name": "A", "language_code": "en"},
        "message": {
            "message_id": next(_ids),
            "date": 1_767_225_600,
            "chat": {"id": chat, "type": "private"},
            "text": "menu",
        },
    }
    return {"update_id": next(_ids), "callback_query": query}, ("telegram", str(chat))


def telegram_updates() -> Iterator[Case]:
    yield from every_field_wrong("message", telegram_message, unread=UNREAD)
    # an edit and a location have a message's fields: only what differs
    yield from every_field_wrong("edit", telegram_edit, under="edited_message.text")
    yield from every_field_wrong("location", telegram_location, under="message.location")
    yield from every_field_wrong("button", telegram_button, unread=UNREAD)
    for kind in ("channel_post", "inline_query", "poll", "my_chat_member", "unknown_kind"):
        yield f"unknown update type {kind}", json.dumps({"update_id": 1, kind: {}}).encode(), None
    update, who = telegram_message()
    update["message"]["reply_to_message"] = nested = {}
    for _ in range(300):  # deeper than python-telegram-bot can recurse
        nested.update(message_id=1, date=1, chat={"id": 1, "type": "private"})
        nested["reply_to_message"] = nested = {}
    yield "a reply chain 300 deep", json.dumps(update).encode(), who
    for date in ("1e20", "-1e20", "1e15", "253402300800", "9223372036854775807"):
        update, who = telegram_message()
        body = json.dumps(update).encode().replace(b"1767225600", date.encode())
        yield f"message date = {date}", body, who
    update, who = telegram_message()
    update["message"]["edit_date"] = 10**18  # a date nothing of ours reads
    yield "edit_date = 10**18", json.dumps(update).encode(), who


def telegram_cases() -> list[Hostile]:
    secret = {**JSON, "X-Telegram-Bot-Api-Secret-Token": SECRET.encode()}
    update = json.dumps(telegram_message()[0]).encode()
    return [
        *json_cases("/telegram/webhook", telegram_updates(), secret),
        *query_and_header_cases("POST", "/telegram/webhook", secret, update),
    ]


def telegram_without_secret_cases() -> list[Hostile]:
    wrong = {**JSON, "X-Telegram-Bot-Api-Secret-Token": SECRET.upper().encode()}
    update = [("a valid update", json.dumps(telegram_message()[0]).encode(), None)]
    return [
        *json_cases("/telegram/webhook", telegram_updates()),
        *json_cases("/telegram/webhook", update, wrong),
    ]


# ---- Twilio


def form_body(fields: list[tuple[str, str]]) -> bytes:
    """A form as Twilio encodes it; what is not UTF-8 (a lone surrogate) stays invalid."""
    return "&".join(
        quote_plus(k.encode("utf-8", "surrogatepass"))
        + "="
        + quote_plus(v.encode("utf-8", "surrogatepass"))
        for k, v in fields
    ).encode()


def signed(name: str, target: str, body: bytes, who: tuple[str, str] | None = None) -> Hostile:
    """A POST to a Twilio route with a valid X-Twilio-Signature for the form the
    app will read (any signature when the body is no form at all)."""
    try:
        form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except (UnicodeDecodeError, ValueError):
        form = {}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC + target, form)
    headers = {**FORM, "X-Twilio-Signature": signature.encode()}
    return Hostile(name, "POST", target, body, headers, who=who)


BAD_FORMS: dict[str, bytes] = {
    "no body": b"",
    "JSON instead of a form": b'{"From": "+447700900123", "Body": "hi"}',
    "a field without =": b"From&Body=hi",
    "only separators": b"&&&",
    "a bad percent escape": b"From=%ZZ&Body=%",
    "invalid UTF-8": b"From=%2B447700900123&Body=%ff%fe&MessageSid=SM1",
    "raw invalid UTF-8": b"From=%2B447700900123&Body=\xff&MessageSid=SM1",
    "encoded surrogate": b"From=%2B447700900123&Body=%ED%A0%80&MessageSid=SM1",
    "raw NUL": b"From=%2B447700900123&Body=a\x00b&MessageSid=SM1",
    "110 KB body": b"Body=" + b"x" * 110_000,
    "5,000 fields": b"&".join(b"f%d=1" % i for i in range(5000)),
}

WRONG_FORM_VALUES: dict[str, str | None] = {
    "missing": None,
    "empty": "",
    "blank": "   ",
    "letters": "abc",
    "-1": "-1",
    "1e400": "1e400",
    "NaN": "NaN",
    "5,000 digits": "9" * 5000,
    "2**64": "18446744073709551616",
    "NUL": "\x00",
    "NUL inside": "a\x00b",
    "lone surrogate": "\udc80",
    "Arabic-Indic digits": "\u0661\u0662",
    "right-to-left override": "\u202e+447700900123",
    "emoji": "\U0001f600",
    "whatsapp: alone": "whatsapp:",
    "whatsapp number": "whatsapp:+447700900123",
    "plus alone": "+",
    "22-digit number": "+9999999999999999999999",
    "5,000 characters": "x" * 5000,
    "60 KB": "y" * 60_000,
}


def twilio_inbound() -> dict[str, str]:
    n = next(_ids)
    return {
        "From": f"+4477009{n % 100_000:05d}",
        "To": "+15005550006",
        "Body": "hello",
        "MessageSid": f"SM{n:032x}",
        "NumMedia": "0",
    }


def whatsapp_inbound() -> dict[str, str]:
    """A WhatsApp message, posted by Twilio to the same URL as an SMS."""
    return {
        **twilio_inbound(),
        "From": f"whatsapp:+4477008{next(_ids) % 100_000:05d}",
        "To": "whatsapp:+14155238886",
    }


def twilio_status() -> dict[str, str]:
    return {"MessageSid": f"SM{next(_ids):032x}", "MessageStatus": "failed"}


def form_cases(route: str, make: Callable[[], dict[str, str]]) -> list[Hostile]:
    """Every bad form, then each field of `make`'s forms missing or odd, and the
    odd queries and headers; all signed."""
    cases = [signed(name, route, body) for name, body in BAD_FORMS.items()]
    for key in make():
        for label, value in WRONG_FORM_VALUES.items():
            fields = make()
            who = None
            if "From" in fields and key != "From":
                channel = "whatsapp" if fields["From"].startswith("whatsapp:") else "sms"
                who = (channel, fields["From"])
            if value is None:
                del fields[key]
            else:
                fields[key] = value
            cases.append(signed(f"{key} = {label}", route, form_body(list(fields.items())), who))
    fields = make()
    cases.append(signed("every field twice", route, form_body([*fields.items()] * 2)))
    for case in query_and_header_cases("POST", route, FORM, b""):
        good = signed(case.name, case.target, form_body(list(make().items())))
        headers = {**good.headers, **case.headers}
        cases.append(Hostile(case.name, case.method, case.target, good.body, headers))
    return cases


def twilio_cases() -> list[Hostile]:
    picture = {**twilio_inbound(), "Body": "", "NumMedia": "abc"}
    return [
        *form_cases("/sms/twilio", twilio_inbound),
        *form_cases("/sms/twilio", whatsapp_inbound),
        signed("NumMedia = abc without text", "/sms/twilio", form_body(list(picture.items()))),
        *form_cases("/sms/twilio/status", twilio_status),
    ]


def operator_cases() -> list[Hostile]:
    return [*query_and_header_cases("GET", "/healthz"), *query_and_header_cases("GET", "/metrics")]


# ---------------------------------------------------------------------- the corpus, sent


@dataclass(frozen=True)
class Group:
    name: str
    cases: Callable[[], list[Hostile]]
    stores_nothing_when_refused: bool = True


GROUPS = [
    Group("web chat", web_chat_cases),  # /, /chat/static, /chat/api/messages, /chat/api/exit
    # refused sign-ins are counted (throttling): they may write
    Group("console login", console_cases, stores_nothing_when_refused=False),
    Group("telegram with the secret", telegram_cases),
    Group("telegram without it", telegram_without_secret_cases),
    Group("twilio, signed", twilio_cases),  # /sms/twilio, /sms/twilio/status
    Group("healthz and metrics", operator_cases),
]


@pytest.mark.parametrize("group", GROUPS, ids=lambda g: g.name)
async def test_every_hostile_input_gets_an_answer_below_500(app, redis, caplog, group):
    checker = Checker(app, redis, caplog)
    problems = []
    for request in group.cases():
        problem = await checker.problem(request, group.stores_nothing_when_refused)
        if problem:
            problems.append(problem)
    assert not problems, f"{len(problems)} hostile inputs mishandled:\n" + "\n".join(problems)


# ---------------------------------------------------------------------- properties

# Strings with what breaks code that assumes text: NUL, lone surrogates, a
# right-to-left override, an emoji (a surrogate pair in JSON's \u escapes).
texts = st.text() | st.text(st.sampled_from(["\x00", "\ud800", "\udfff", "\u202e", "é", "😀"]))

# Any JSON value, with NaN and Infinity literals (json.dumps writes them) and
# integers of any size.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | texts,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def mutated(draw, valid: st.SearchStrategy[dict], values: st.SearchStrategy) -> dict:
    """A valid object with up to three of its fields (at any depth) removed or
    replaced by one of `values`, or fields added: most examples get past the
    first checks, and fail (or pass) deeper. Shrinks towards the valid object."""
    data = draw(valid)
    for _ in range(draw(st.integers(0, 3))):
        where = draw(st.sampled_from([(), *paths(data)]))
        if not where:
            data[draw(st.text(max_size=8))] = draw(values)
            continue
        parent = data
        for key in where[:-1]:
            parent = parent[key]
        if draw(st.booleans()):
            del parent[where[-1]]
        else:
            parent[where[-1]] = draw(values)
    return data


sessions = st.from_regex(r"[A-Za-z0-9_-]{16,64}", fullmatch=True)
ids = st.integers(min_value=-(2**40), max_value=2**40)
users = st.fixed_dictionaries(
    {"id": ids, "is_bot": st.booleans(), "first_name": texts},
    optional={"language_code": st.sampled_from(["en", "uk", "ar", "pt-br", "xx"]) | texts},
)
chats = st.fixed_dictionaries({"id": ids, "type": st.sampled_from(["private", "group"])})
messages = st.fixed_dictionaries(
    {"message_id": ids, "date": st.integers(0, 2**31), "chat": chats},
    optional={
        "from": users,
        "text": texts,
        "location": st.fixed_dictionaries(
            {"latitude": st.floats(-90, 90), "longitude": st.floats(-180, 180)}
        ),
    },
)
queries = st.fixed_dictionaries(
    {"id": texts, "from": users, "chat_instance": texts},
    optional={"data": texts, "message": messages},
)
updates = st.fixed_dictionaries({"update_id": ids}).flatmap(
    lambda update: st.one_of(
        messages.map(lambda m: {**update, "message": m}),
        messages.map(lambda m: {**update, "edited_message": m}),
        queries.map(lambda q: {**update, "callback_query": q}),
    )
)

# The JSON routes: valid bodies to mutate, and the headers a request needs.
JSON_ROUTES: dict[str, tuple[st.SearchStrategy[dict], Mapping[str, bytes]]] = {
    "/chat/api/messages": (
        st.one_of(
            st.fixed_dictionaries({"session": sessions, "text": st.text(min_size=1) | texts}),
            st.fixed_dictionaries({"session": sessions, "payload": st.text(min_size=1) | texts}),
            st.fixed_dictionaries({"session": sessions, "start": st.just(True)}),
        ),
        JSON,
    ),
    "/chat/api/exit": (st.fixed_dictionaries({"session": sessions}), JSON),
    "/console/api/login": (
        st.fixed_dictionaries({"username": st.text(min_size=1), "password": st.text(min_size=1)}),
        JSON,
    ),
    "/telegram/webhook": (
        updates,
        {**JSON, "X-Telegram-Bot-Api-Secret-Token": SECRET.encode()},
    ),
}

# Hypothesis and async: pytest-asyncio runs an `async def` test under @given,
# each example on the session's event loop. The function-scoped fixtures (one
# app, one Redis) then serve every example, which is what we want: an app costs
# a second to build, and a crash may need the state earlier examples left; hence
# the suppressed health check. No example database (nothing written into the
# checkout), no deadline (the first example warms the app up), and new random
# examples on every run: a failure prints the example that reproduces it.
PROPERTY = hypothesis.settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.parametrize("route", sorted(JSON_ROUTES))
@PROPERTY
@given(data=st.data())
async def test_json_routes_never_answer_5xx(app, redis, caplog, route, data):
    valid, headers = JSON_ROUTES[route]
    body = data.draw(
        mutated(valid, json_values).map(lambda value: json.dumps(value).encode())
        | st.binary(max_size=64),
        label="body",
    )
    checker = Checker(app, redis, caplog)
    problem = await checker.problem(
        Hostile("generated", "POST", route, body, headers),
        stores_nothing_when_refused=route != "/console/api/login",
    )
    event(f"answered {checker.status}")  # --hypothesis-show-statistics: how far they got
    assert problem is None, (problem, body[:500])


form_texts = texts | st.sampled_from(["0", "1", "-1", "abc", "", "whatsapp:+447700900123"])
forms = st.fixed_dictionaries(
    {
        "From": st.from_regex(r"(whatsapp:)?\+[1-9][0-9]{7,14}", fullmatch=True),
        "To": st.just("+15005550006"),
        "Body": texts,
        "MessageSid": st.from_regex(r"SM[0-9a-f]{32}", fullmatch=True),
        "NumMedia": st.sampled_from(["0", "1", "3"]),
    }
)


@PROPERTY
@given(fields=mutated(forms, form_texts))
async def test_the_twilio_form_never_answers_5xx(app, redis, caplog, fields):
    body = form_body(list(fields.items()))
    checker = Checker(app, redis, caplog)
    problem = await checker.problem(signed("generated", "/sms/twilio", body), True)
    event(f"answered {checker.status}")
    assert problem is None, (problem, body[:500])


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/console/api/nope", 404),
        ("GET", "/console/api/login", 405),  # login is a POST
        ("DELETE", "/chat/api/messages", 405),
        ("PUT", "/chat/api/exit", 405),
    ],
)
async def test_a_wrong_route_or_method_under_the_json_apis_answers_in_json(
    app, method, path, status
):
    response = await app.request(method, path)
    assert response.status == status
    assert response.content_type == "application/json"
    assert (await response.json())["error"]
    if status == 405:
        assert response.headers["Allow"]
