"""SMS through Twilio: inbound by webhook, replies by the REST API.

Twilio signs each webhook with X-Twilio-Signature over the exact public URL it
called; behind a TLS-terminating proxy the app sees http://, so the signature is
checked against HELPLINE_PUBLIC_URL + the request's path and query. The webhook
answers an empty TwiML <Response/> once the message is stored; replies go out
through the REST API, planned into as few segments as the characters allow.

Replies are POSTed to the Messages resource through the twilio library's
AsyncTwilioHttpClient (aiohttp, one pooled session), with the headers the
library's Client would add, computed once: its resource layer (Client ->
Domain -> Version -> MessageInstance) cost about 80 us of CPU per message, a
third of a reply's sending cost, for a sid we read from the JSON ourselves.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode

from aiohttp import ClientError, web
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.channels import CAPABILITIES
from bot.channels.base import (
    Channel,
    Inbound,
    Outbound,
    PermanentSendError,
    RetryableSendError,
    Sent,
    read_body,
)
from bot.config import Settings
from bot.flows.schema import TWILIO_OPT_OUT
from bot.store import keys
from bot.text.normalise import fold
from bot.text.segments import plan

log = logging.getLogger("helpline.sms")

MAX_TEXT = 4096
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
FAILED_STATUSES = {"failed", "undelivered"}


def _problem(status: int, message: str) -> web.Response:
    return web.Response(status=status, text=message + "\n", content_type="text/plain")


def _no_sender_for(address: str) -> web.Response:
    """A message from an address no sender of ours can answer (a `whatsapp:`
    address without TWILIO_WHATSAPP_FROM, a phone number without
    TWILIO_FROM_NUMBER, another provider's): refused now, not failed later."""
    scheme = address.partition(":")[0]
    if ":" not in address:
        kind = "phone number"
    else:  # the scheme only: logs never hold a number
        kind = f"{scheme}:" if scheme.isascii() and scheme.isalpha() and len(scheme) < 20 else "?"
    sentence = (
        f"Refused a Twilio message from a {kind!r} address: no sender of this helpline "
        f"answers such addresses (set TWILIO_FROM_NUMBER for SMS, TWILIO_WHATSAPP_FROM "
        f"for WhatsApp)."
    )
    log.warning(sentence)
    return _problem(422, sentence)


# A failure reported for one of her messages, only while her conversation is
# kept (a late report after a safe exit must not start a new trace of her).
_MARK_FAILED = """
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then
  return 0
end
redis.call('HSET', KEYS[2], ARGV[1], 'failed')
redis.call('EXPIRE', KEYS[2], ttl)
return 1
"""


class SmsChannel(Channel):
    name = "sms"
    capabilities = CAPABILITIES["sms"]

    sender_variable = "TWILIO_FROM_NUMBER"  # the number replies leave from

    def __init__(self, settings: Settings, env: Mapping[str, str | None]):
        super().__init__()
        self.settings = settings
        self.account_sid = env["TWILIO_ACCOUNT_SID"] or ""
        self.auth_token = env["TWILIO_AUTH_TOKEN"] or ""
        self.from_number = env[self.sender_variable] or ""
        self.validator = RequestValidator(self.auth_token)
        self.http: AsyncTwilioHttpClient | None = None
        self.messages_url = (
            f"{(env['TWILIO_API_BASE_URL'] or '').rstrip('/')}"
            f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        )
        self.headers: dict[str, str] = {}

    async def connect(self, pipeline) -> None:
        await super().connect(pipeline)
        self.http = AsyncTwilioHttpClient(timeout=15)
        client = Client(self.account_sid, self.auth_token)
        self.headers = {
            **client.get_headers("POST", {}),
            "Authorization": "Basic "
            + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode(),
        }

    async def disconnect(self) -> None:
        if self.http is not None:
            await self.http.close()

    def listen(self) -> list[web.AbstractRouteDef]:
        return [
            web.post("/sms/twilio", self.inbound),
            web.post("/sms/twilio/status", self.status_callback),
        ]

    def owns(self, address: str) -> bool:
        """Whether replies to `address` leave from this channel's sender: a phone
        number here; a `whatsapp:` address is the WhatsApp channel's."""
        return bool(address) and ":" not in address

    async def claims(self, request: web.Request) -> bool:
        """Her address is the inbound message's From, or a status report's To."""
        raw = await read_body(request)
        try:
            form = dict(parse_qsl(raw.decode("utf-8"))) if raw else {}
        except (UnicodeDecodeError, ValueError):
            return False
        return self.owns(form.get("To" if request.path.endswith("/status") else "From", ""))

    async def _signed_form(self, request: web.Request) -> dict[str, str] | web.Response:
        """The form's fields if the body is sane and Twilio signed it, else the 4xx to give."""
        raw = await read_body(request)
        if raw is None:
            return _problem(413, "The body is larger than 64 KB.")
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature:  # unsigned: refused as such, whatever the body holds
            return _problem(403, "Invalid or missing X-Twilio-Signature for this URL.")
        try:
            text = raw.decode("utf-8")
            pairs = parse_qsl(
                text, keep_blank_values=True, strict_parsing=bool(text), errors="strict"
            )
        except (UnicodeDecodeError, ValueError):
            return _problem(
                400, "The body is not a valid UTF-8 form (application/x-www-form-urlencoded)."
            )
        form = dict(pairs)
        url = (self.settings.public_url or "") + request.path_qs  # set: config requires it
        if not self.validator.validate(url, form, signature):
            return _problem(403, "Invalid or missing X-Twilio-Signature for this URL.")
        return form

    async def inbound(self, request: web.Request) -> web.Response:
        form = await self._signed_form(request)
        if isinstance(form, web.Response):
            return form
        sender, sid = form.get("From", "").strip(), form.get("MessageSid", "").strip()
        if not sender or not sid or "Body" not in form:
            return _problem(400, "Missing field: From, MessageSid and Body are required.")
        if not self.owns(sender):
            return _no_sender_for(sender)
        media = form.get("NumMedia", "").strip() or "0"
        if not (media.isascii() and media.isdigit() and len(media) <= 3):
            return _problem(400, "NumMedia must be a whole number (0 to 999).")
        body = form["Body"]
        if len(body) > MAX_TEXT:
            inbound = Inbound(self.name, sender, kind="too_long", dedup_id=sid)
        elif fold(body) in TWILIO_OPT_OUT:
            # Twilio has blocked her number and answered her itself: a silent
            # safe exit, nothing kept (CONTENT.md).
            inbound = Inbound(self.name, sender, kind="exit", dedup_id=sid)
        elif not body.strip() and int(media) > 0:
            inbound = Inbound(self.name, sender, kind="unsupported", dedup_id=sid)
        else:
            inbound = Inbound(self.name, sender, kind="text", text=body, dedup_id=sid)
        await self.inlet.accept(inbound)
        return web.Response(text=EMPTY_TWIML, content_type="text/xml")

    async def status_callback(self, request: web.Request) -> web.Response:
        """Twilio's delivery report of a message we sent: a final failure is shown
        to counsellors on the message."""
        form = await self._signed_form(request)
        if isinstance(form, web.Response):
            return form
        sid, status = form.get("MessageSid", ""), form.get("MessageStatus", "")
        if not sid or not status:
            return _problem(400, "Missing field: MessageSid and MessageStatus are required.")
        # Ours name the conversation and the message in their URL (signed with
        # it); a message sent before 2026-12 has a mapping of its own in Redis.
        pid, message_id = request.query.get("c", ""), request.query.get("m", "")
        if not (pid and message_id):
            mapping = await self.inlet.redis.get(keys.sms_status(sid))
            pid, message_id = json.loads(mapping) if mapping else ("", "")
        # Only a failure is news: a message Twilio took is "sent" (keys.delivery_status).
        if status in FAILED_STATUSES and pid and message_id:
            marked = await self.inlet.redis.eval(
                _MARK_FAILED, 2, keys.state(pid), keys.delivery(pid), message_id
            )
            if marked:
                await self.inlet.redis.publish(
                    keys.EVENTS, json.dumps({"type": "message", "id": pid})
                )
        return web.Response(text=EMPTY_TWIML, content_type="text/xml")

    async def send(self, address: str, outbound: Outbound) -> Sent:
        if outbound.kind != "text":
            return Sent()  # SMS has no typing indicator and cannot delete a text on the phone
        callback = None
        if self.settings.public_url:
            # Its delivery reports say whose message it is: nothing to keep for them.
            callback = f"{self.settings.public_url}/sms/twilio/status"
            if outbound.conversation and outbound.id:
                callback += "?" + urlencode({"c": outbound.conversation, "m": outbound.id})
        form = {"To": address, "From": self.from_number}
        if callback:
            form["StatusCallback"] = callback
        if self.http is None:
            raise RetryableSendError(f"the {self.name} channel is not connected yet")
        if not self.owns(address):  # never from a sender that is not hers: Twilio refuses it
            raise PermanentSendError(f"the {self.name} channel has no sender for this address")
        sids = []
        for part in self.parts(outbound.text):
            try:
                response = await self.http.request(
                    "POST", self.messages_url, data={**form, "Body": part}, headers=self.headers
                )
            except (ClientError, OSError, TimeoutError) as exc:
                raise RetryableSendError(type(exc).__name__) from None
            if response.status_code == 429 or response.status_code >= 500:
                raise RetryableSendError(f"Twilio {response.status_code}")
            try:
                body = json.loads(response.text)
            except ValueError:
                body = {}
            if response.status_code >= 300 or not isinstance(body, dict) or "sid" not in body:
                code = body.get("code") if isinstance(body, dict) else None
                raise PermanentSendError(f"Twilio {response.status_code} code {code}")
            sids.append(body["sid"])
        return Sent(tuple(sids))

    def parts(self, text: str) -> list[str]:
        """The messages one reply is sent as: SMS of as few segments as can be."""
        return list(plan(text).parts)
