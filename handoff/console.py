"""The counsellor console's JSON API (SPEC.md) over the handoff, and its live
events. Errors are JSON {"error": "..."} sentences: 400 bad input, 401 no
session, 403 wrong role or not yours, 404 unknown id, 409 taken by someone else,
429 too many logins. Signing in is handoff/sessions.py; the page handoff/pages.py.
"""

from __future__ import annotations

import asyncio
import json
from datetime import date

from aiohttp import web

from bot.channels import CAPABILITIES
from bot.channels.base import read_json
from bot.config import Network
from bot.store import keys, stats
from bot.store.privacy import Privacy
from bot.store.replies import decoded
from bot.store.shared import fill_texts
from handoff import pages
from handoff.audit import MAX_READ, Audit
from handoff.counsellors import Counsellors, Session
from handoff.events import CLOSED, EventHub
from handoff.pages import error
from handoff.queue import LEVELS
from handoff.relay import Handoff
from handoff.sessions import SignIn
from handoff.stats import Range, StatsRangeError, as_csv, report

MAX_MESSAGE = 4096
MAX_PAGE = 1000  # queue entries in one page
MAX_NOTES = 5000
HEARTBEAT_S = 15
# The page reads a conversation again at each new message: the audit notes one
# read per counsellor and conversation in this long (per process).
READ_AUDITED_EVERY_S = 600


def _earlier(contact: dict) -> dict:
    """An earlier contact as the console shows it: when it closed, who had it,
    how it ended and its wrap-up (never what was written in it)."""
    return {
        "closed_at": contact.get("closed_at"),
        "closed_by": contact.get("closed_by"),
        "counsellor": contact.get("counsellor"),
        "outcome": contact.get("outcome"),
        "notes": contact.get("notes") or "",
        "wrapup": contact.get("wrapup") or {},
        "risk": contact.get("risk"),
        "severity": contact.get("severity"),
    }


class Console:
    """The console's JSON API over the handoff; `hub` carries live events."""

    def __init__(
        self,
        handoff: Handoff,
        privacy: Privacy,
        hub: EventHub,
        secure_cookies: bool,
        trusted_proxies: tuple[Network, ...] = (),
    ) -> None:
        self.handoff = handoff
        self.redis = handoff.redis
        self.counsellors: Counsellors = handoff.counsellors
        self.hub = hub
        self.clock = handoff.conversations.clock
        self.audit = Audit(self.redis, handoff.conversations.retention)
        self._reads: dict[tuple[str, str], float] = {}  # (user, pid) -> when a read was audited
        self.sign_in = SignIn(
            self.counsellors, privacy, secure_cookies, trusted_proxies, audit=self.audit
        )

    # ------------------------------------------------------------------ plumbing

    def routes(self) -> list[web.AbstractRouteDef]:
        api = "/console/api"
        return [
            *pages.routes(),
            *self.sign_in.routes(),
            web.get(f"{api}/queue", self.sign_in.guard(self.queue)),
            web.get(f"{api}/events", self.sign_in.guard(self.events)),
            web.get(f"{api}/conversations/{{id}}", self.sign_in.guard(self.conversation)),
            web.post(f"{api}/conversations/{{id}}/claim", self.sign_in.guard(self.claim)),
            web.post(f"{api}/conversations/{{id}}/messages", self.sign_in.guard(self.message)),
            web.post(f"{api}/conversations/{{id}}/typing", self.sign_in.guard(self.typing)),
            web.post(f"{api}/conversations/{{id}}/transfer", self.sign_in.guard(self.transfer)),
            web.post(f"{api}/conversations/{{id}}/close", self.sign_in.guard(self.close)),
            web.post(
                f"{api}/conversations/{{id}}/block", self.sign_in.guard(self.block, supervisor=True)
            ),
            web.get(f"{api}/counsellors", self.sign_in.guard(self.team)),
            web.get(f"{api}/overview", self.sign_in.guard(self.overview, supervisor=True)),
            web.get(f"{api}/audit", self.sign_in.guard(self.audit_entries, supervisor=True)),
            web.get(f"{api}/wrapup", self.sign_in.guard(self.wrapup_form)),
            web.get(f"{api}/stats", self.sign_in.guard(self.statistics, supervisor=True)),
            web.get(f"{api}/settings", self.sign_in.guard(self.settings)),
            web.post(f"{api}/settings", self.sign_in.guard(self.change_settings, supervisor=True)),
        ]

    # ------------------------------------------------------------------ queue

    async def queue(self, request: web.Request, session: Session) -> web.Response:
        """Open conversations, most urgent first: all of them, or a page
        (`offset`, `limit`) of those matching `level` (after aging), `channel` and
        `language`. The headers count from the same read: X-Total-Count (matching),
        X-Queue-Waiting and X-Queue-Assigned (all), X-Queue-Languages (the
        helpline's). Unfiltered or by level it reads only the page asked for."""
        query = request.query
        try:
            offset = int(query.get("offset", "0"))
            limit = int(query["limit"]) if "limit" in query else None
            if offset < 0 or (limit is not None and not 1 <= limit <= MAX_PAGE):
                raise ValueError
        except ValueError:
            return error(
                400, f"`offset` is a whole number from 0, `limit` one from 1 to {MAX_PAGE}."
            )
        level = query.get("level") or None
        if level is not None and level not in LEVELS:
            return error(400, f"`level` is one of {', '.join(LEVELS)}.")
        channel, language = query.get("channel") or None, query.get("language") or None
        queue = self.handoff.queue
        if channel is None and language is None and (level is None or queue.aging_seconds):
            # the common case, read a page at a time whatever the queue's size
            found = await queue.page(offset, limit if limit is not None else 1 << 30, level)
            page, total = found.entries, found.matching
            waiting, assigned = found.waiting, found.assigned
        else:
            entries = await queue.entries()
            chosen = [
                e
                for e in entries
                if (level is None or e.effective_priority == level)
                and (channel is None or e.channel == channel)
                and (language is None or e.language == language)
            ]
            page = chosen[offset : offset + limit] if limit is not None else chosen[offset:]
            total = len(chosen)
            counts = await queue.page(0, 1)  # the counts every view shows, as above
            waiting, assigned = counts.waiting, counts.assigned
        headers = {
            "X-Total-Count": str(total),
            "X-Queue-Waiting": str(waiting),
            "X-Queue-Assigned": str(assigned),
            # the languages the filter offers: those the helpline speaks
            "X-Queue-Languages": ",".join(sorted(self.handoff.conversations.catalogs.languages)),
        }
        return web.json_response([e.to_json() for e in page], headers=headers)

    async def team(self, request: web.Request, session: Session) -> web.Response:
        """Counsellors (for transfer), who is online, and each one's load."""
        names = sorted(decoded(u) for u in await self.redis.smembers(keys.COUNSELLORS))
        online = set(await self.counsellors.online())
        rows = []
        for name in names:
            rows.append(
                {
                    "user": name,
                    "role": await self.counsellors.role(name),
                    "online": name in online,
                    "load": await self.counsellors.load(name),
                }
            )
        return web.json_response(rows)

    async def overview(self, request: web.Request, session: Session) -> web.Response:
        counts = await self.handoff.queue.page(0, 1)  # the counts the queue pane shows
        oldest = await self.handoff.queue.longest_wait()
        return web.json_response(
            {
                "queue_length": counts.waiting,
                "longest_wait_seconds": oldest,
                "conversations_by_state": {"waiting": counts.waiting, "assigned": counts.assigned},
                "online": await self.counsellors.online(),
            }
        )

    async def audit_entries(self, request: web.Request, session: Session) -> web.Response:
        """Supervisors: the newest counsellor actions first, `since` (seconds since
        the epoch) on, at most `limit` (default 200)."""
        since, limit = request.query.get("since"), request.query.get("limit", "200")
        try:
            start = float(since) if since else None
            count = int(limit)
            if not 1 <= count <= MAX_READ or (start is not None and not 0 <= start < 1e11):
                raise ValueError
        except ValueError:
            return error(
                400,
                f"`since` is seconds since 1970 and `limit` a whole number from 1 to {MAX_READ}.",
            )
        entries = await self.audit.read(start, count)
        return web.json_response([e.as_json() for e in entries])

    # ------------------------------------------------------------------ one conversation

    async def _open_with_body(
        self, request: web.Request, session: Session
    ) -> tuple[str, dict, dict] | web.Response:
        """The conversation id, its handoff record and the JSON body, or the error to give."""
        pid = request.match_info["id"]
        record, problem = await self._access(pid, session)
        if problem:
            return problem
        assert record is not None  # _access gives a record whenever it gives no error
        body = await read_json(request)
        if isinstance(body, web.Response):
            return body
        return pid, record, body

    async def _access(self, pid: str, session: Session) -> tuple[dict | None, web.Response | None]:
        """The handoff record if `session` may see `pid`, else the error to return."""
        if not pid or len(pid) > 64:
            return None, error(404, "No such conversation.")
        record = await self.handoff.queue.record(pid)
        if not record:
            left_with = await self.redis.get(keys.left(pid))
            if left_with is None:
                if await self.redis.exists(keys.state(pid)):
                    record = {"status": "bot"}
                else:
                    return None, error(404, "No such conversation.")
            else:
                record = {
                    "status": "left",
                    "assigned_to": "" if left_with == b"-" else decoded(left_with),
                }
        assigned = record.get("assigned_to") or ""
        if assigned and assigned != session.user and not session.is_supervisor:
            return None, error(
                403, f"This conversation is with {assigned}: only they and supervisors can open it."
            )
        if record.get("status") == "bot" and not session.is_supervisor:
            return None, error(403, "This conversation is with the bot, not handed to counsellors.")
        return record, None

    async def conversation(self, request: web.Request, session: Session) -> web.Response:
        pid = request.match_info["id"]
        record, problem = await self._access(pid, session)
        if problem:
            return problem
        assert record is not None  # _access gives a record whenever it gives no error
        status = record.get("status", "bot")
        await self._audit_read(session.user, pid)
        body = {
            "id": pid,
            "channel": record.get("channel"),
            "language": record.get("language"),
            "state": status,
            "risk": record.get("category") or None,
            "priority": record.get("severity"),
            "assigned_to": record.get("assigned_to") or None,
            "left": status == "left",
            "messages": [],
        }
        if status == "left":
            return web.json_response(body)
        body["case"] = await self.audit.case(pid)  # how the audit names it
        caps = CAPABILITIES.get(body["channel"] or "")
        if caps is not None:
            body["max_text"] = caps.max_text  # a longer reply would be cut: the page says so first
        conv = await self.handoff.conversations.load(pid)
        if conv is not None:
            body["language"] = body["language"] or conv.language
            body["flow_state"] = f"{conv.flow}.{conv.state}"
        language = body["language"] or "en"
        catalogs = self.handoff.conversations.catalogs
        body["language_name"] = catalogs.language_name(language)
        body["direction"] = "rtl" if catalogs.is_rtl(language) else "ltr"
        if "enqueued_at" in record:
            body["waiting_seconds"] = int(self.clock() - float(record["enqueued_at"]))
        if status in ("waiting", "assigned"):
            body["reply_window_ends_at"] = self.handoff.queue.reply_window_ends(record)
            body["reply_window_open"] = self.clock() <= body["reply_window_ends_at"]
        for field in ("outcome", "closed_by"):
            if record.get(field):
                body[field] = record[field]
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lrange(keys.transcript(pid), 0, -1)
            pipe.get(keys.transcript_dropped(pid))
            pipe.hgetall(keys.delivery(pid))
            pipe.get(keys.data_key(pid))
            pipe.hget(keys.handoff(pid), "notes")  # sealed: bytes, not in `record`'s text
            pipe.lrange(keys.wrapups(pid), 0, -1)
            pipe.hget(keys.CONSOLE_SETTINGS, "earlier_transcripts")
            (
                raw,
                dropped,
                statuses,
                wrapped,
                notes,
                sealed_wrapups,
                show_earlier,
            ) = await pipe.execute()
        if dropped := int(dropped or 0):
            body["earlier_dropped"] = dropped  # over the transcript's cap, oldest first
        delivery = {decoded(k): decoded(v) for k, v in statuses.items()}
        data_key = self.handoff.conversations.vault.unwrap(pid, wrapped)
        if notes and data_key is not None and (opened_notes := data_key.open(notes)):
            body["notes"] = opened_notes
        # Her earlier contacts' wrap-ups (the newest last); when this contact is
        # closed, the newest is its own.
        contacts = [
            json.loads(opened)
            for item in sealed_wrapups
            if data_key is not None and (opened := data_key.open(item))
        ]
        if status == "closed" and contacts:
            body["wrapup"] = contacts.pop().get("wrapup", {})
        body["earlier_contacts"] = [_earlier(c) for c in reversed(contacts)]
        since = contacts[-1]["closed_at"] if contacts else None  # this contact began after it
        hidden = 0
        for item in raw:
            opened = data_key.open(item) if data_key is not None else None
            if opened is None:  # never: her key goes only with her transcript
                continue
            message = json.loads(opened)
            if since is not None and float(message.get("at", 0)) <= since:
                if show_earlier != b"1":  # a supervisor has not allowed it (console settings)
                    hidden += 1
                    continue
                message["earlier"] = True
            status = keys.delivery_status(message.get("from", ""), delivery, message.get("id", ""))
            if status and "status" not in message:
                message["status"] = status
            body["messages"].append(message)
        if hidden:
            body["earlier_hidden"] = hidden  # messages of her earlier contacts, not shown
        await fill_texts(self.redis, body["messages"])  # the flows' words, kept once for all
        engine = self.handoff.conversations.engine
        if conv is not None:
            body["canned"] = [
                {"id": key, "text": engine.render(text, conv)}
                for key, text in engine.settings.canned.items()
            ]
        return web.json_response(body)

    async def _audit_read(self, user: str, pid: str) -> None:
        now = self.clock()
        if now - self._reads.get((user, pid), float("-inf")) < READ_AUDITED_EVERY_S:
            return
        if len(self._reads) > 10_000:
            self._reads = {k: t for k, t in self._reads.items() if now - t < READ_AUDITED_EVERY_S}
        self._reads[(user, pid)] = now
        await self.audit.record(user, "read", pid)

    async def claim(self, request: web.Request, session: Session) -> web.Response:
        pid = request.match_info["id"]
        record, problem = await self._access(pid, session)
        if problem and problem.status != 403:
            return problem
        if problem and not session.is_supervisor:
            return error(409, "Another counsellor has already claimed this conversation.")
        if record is not None and record.get("status") in ("left", "bot", "closed"):
            return (
                error(409, "This conversation is not waiting for a counsellor.")
                if record["status"] != "left"
                else error(409, "The person left for safety: the conversation has ended.")
            )
        if record is not None and record.get("assigned_to") == session.user:
            return web.json_response({"ok": True, "assigned_to": session.user})  # nothing changes
        code, other, enqueued_at = await self.handoff.queue.claim(pid, session.user)
        if code == 404:
            return error(404, "No such conversation.")
        if code == 409:
            return error(409, f"{other} has already claimed this conversation.")
        if enqueued_at and not other and self.handoff.metrics:
            self.handoff.metrics.observe(
                "helpline_queue_wait_seconds", max(0.0, self.clock() - enqueued_at)
            )
        await self.audit.record(
            session.user, "claim", pid, f"taken over from {other}" if other else ""
        )
        await self._publish({"type": "queue"}, {"type": "message", "id": pid})
        return web.json_response({"ok": True, "assigned_to": session.user})

    async def message(self, request: web.Request, session: Session) -> web.Response:
        opened = await self._open_with_body(request, session)
        if isinstance(opened, web.Response):
            return opened
        pid, record, body = opened
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            return error(400, "Send a JSON object with a non-empty `text`.")
        if len(text) > MAX_MESSAGE:
            return error(400, f"The message is longer than {MAX_MESSAGE} characters: split it.")
        if record.get("status") == "left":
            return error(409, "The person left for safety: nothing can be sent to her.")
        if record.get("status") not in ("waiting", "assigned"):
            return error(
                409, "This conversation is closed: nothing can be sent until she writes again."
            )
        code, message_id = await self.handoff.send_message(
            pid, session.user, text.strip(), session.is_supervisor
        )
        if code == 410:
            return self._window_closed(record.get("channel", ""))
        if code == 409:  # not claimed yet: replying claims it
            claimed, other, _ = await self.handoff.queue.claim(pid, session.user)
            if claimed != 200:
                return error(409, f"{other or 'Someone'} has already claimed this conversation.")
            await self.audit.record(session.user, "claim", pid, "by replying")
            await self._publish({"type": "queue"})
            code, message_id = await self.handoff.send_message(
                pid, session.user, text.strip(), session.is_supervisor
            )
        if code != 200:
            return error(
                code,
                {
                    403: "This conversation is with another counsellor.",
                    404: "This conversation has ended.",
                }.get(code, "The message was not sent."),
            )
        await self.audit.record(session.user, "reply", pid)
        return web.json_response({"ok": True, "id": message_id})

    async def typing(self, request: web.Request, session: Session) -> web.Response:
        pid = request.match_info["id"]
        record, problem = await self._access(pid, session)
        if problem:
            return problem
        assert record is not None  # _access gives a record whenever it gives no error
        shown = record.get("status") == "assigned" and await self.handoff.typing(pid)
        return web.json_response({"ok": True, "shown": bool(shown)})

    async def transfer(self, request: web.Request, session: Session) -> web.Response:
        opened = await self._open_with_body(request, session)
        if isinstance(opened, web.Response):
            return opened
        pid, record, body = opened
        target = body.get("to")
        if not isinstance(target, str) or not target:
            return error(400, "Send a JSON object with `to`: the username to transfer to.")
        account = await self.counsellors.account(target)
        if account is None:
            return error(400, f"There is no counsellor named {target!r}.")
        if account.disabled:
            return error(409, f"{target} is disabled and cannot sign in: transfer to someone else.")
        if record.get("status") not in ("waiting", "assigned"):
            return error(409, "This conversation is not open: it cannot be transferred.")
        if record.get("assigned_to") != session.user and not session.is_supervisor:
            return error(403, "Claim the conversation before transferring it.")
        code, _, _ = await self.handoff.queue.claim(pid, target, take_over=True)
        if code != 200:
            return error(404, "No such conversation.")
        await self.audit.record(session.user, "transfer", pid, f"to {target}")
        await self._publish({"type": "queue"}, {"type": "message", "id": pid})
        return web.json_response({"ok": True, "assigned_to": target})

    async def close(self, request: web.Request, session: Session) -> web.Response:
        opened = await self._open_with_body(request, session)
        if isinstance(opened, web.Response):
            return opened
        pid, record, body = opened
        outcome, notes, back = (
            body.get("outcome"),
            body.get("notes", ""),
            body.get("return_to_bot", False),
        )
        if not isinstance(outcome, str) or not outcome.strip() or len(outcome) > 100:
            return error(400, "`outcome` is required: a short text of at most 100 characters.")
        if not isinstance(notes, str) or len(notes) > MAX_NOTES:
            return error(400, f"`notes` must be a text of at most {MAX_NOTES} characters.")
        if not isinstance(back, bool):
            return error(400, "`return_to_bot` must be true or false.")
        wrapup, problem = self.handoff.wrapup.check(body.get("wrapup"))
        if problem:
            return error(400, problem)
        if record.get("status") not in ("waiting", "assigned"):
            return error(409, "This conversation is already closed.")
        if record.get("assigned_to") not in (session.user, "", None) and not session.is_supervisor:
            return error(403, "This conversation is with another counsellor.")
        try:
            code = await self.handoff.close(pid, session.user, outcome.strip(), notes, back, wrapup)
        except TimeoutError:
            return error(503, "The conversation is busy: try again in a moment.")
        if code != 200:
            return error(404, "No such conversation.")
        await self.audit.record(session.user, "close", pid, outcome.strip())
        return web.json_response({"ok": True})

    # ------------------------------------------------------------------ casework

    async def wrapup_form(self, request: web.Request, session: Session) -> web.Response:
        """The close dialog's outcomes and wrap-up fields (flows/wrapup.yaml)."""
        return web.json_response(self.handoff.wrapup.to_json())

    async def statistics(self, request: web.Request, session: Session) -> web.Response:
        """Supervisors: the anonymous statistics, as JSON or (`format=csv`) CSV."""
        query = request.query
        zone = self.handoff.zone
        fmt = query.get("format", "json")
        if fmt not in ("json", "csv"):
            return error(400, "`format` is `json` or `csv`.")
        try:
            today = date.fromisoformat(stats.day_of(self.clock(), zone))
            span = Range.parse(query.get("from"), query.get("to"), query.get("by"), today)
        except StatsRangeError as problem:
            return error(400, str(problem))
        body = await report(self.redis, span, zone)
        await self.audit.record(session.user, "stats", "", f"{span.first} to {span.last}")
        if fmt == "json":
            return web.json_response(body)
        name = f"helpline-stats-{span.first}-{span.last}.csv"
        return web.Response(
            text=as_csv(body),
            content_type="text/csv",
            charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    async def settings(self, request: web.Request, session: Session) -> web.Response:
        return web.json_response(await self._settings())

    async def _settings(self) -> dict:
        stored = await self.redis.hget(keys.CONSOLE_SETTINGS, "earlier_transcripts")
        return {"earlier_transcripts": stored == b"1"}

    async def change_settings(self, request: web.Request, session: Session) -> web.Response:
        """Supervisors: whether counsellors may read the transcripts of her earlier
        (closed) contacts when she writes again. Off unless a supervisor allows it."""
        body = await read_json(request)
        if isinstance(body, web.Response):
            return body
        value = body.get("earlier_transcripts")
        if set(body) != {"earlier_transcripts"} or not isinstance(value, bool):
            return error(400, 'Send a JSON object {"earlier_transcripts": true or false}.')
        await self.redis.hset(keys.CONSOLE_SETTINGS, "earlier_transcripts", int(value))
        await self.audit.record(
            session.user, "settings", "", f"earlier transcripts {'shown' if value else 'hidden'}"
        )
        return web.json_response(await self._settings())

    async def block(self, request: web.Request, session: Session) -> web.Response:
        opened = await self._open_with_body(request, session)
        if isinstance(opened, web.Response):
            return opened
        pid, record, body = opened
        minutes = body.get("minutes")
        if (
            not isinstance(minutes, int)
            or isinstance(minutes, bool)
            or not 0 <= minutes <= 30 * 24 * 60
        ):
            return error(
                400, "`minutes` must be a whole number from 0 (unblock) to 43200 (30 days)."
            )
        if minutes == 0:
            await self.redis.delete(keys.blocked(pid))
            await self.audit.record(session.user, "unblock", pid)
        else:
            await self.redis.set(keys.blocked(pid), session.user, ex=minutes * 60)
            await self.audit.record(session.user, "block", pid, f"{minutes} minutes")
        return web.json_response({"ok": True, "blocked_minutes": minutes})

    # ------------------------------------------------------------------ live events

    async def events(self, request: web.Request, session: Session) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        if self.hub.closing:
            return response
        queue = self.hub.subscribe()
        try:
            await response.write(b"retry: 2000\nevent: ready\ndata: {}\n\n")
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), HEARTBEAT_S)
                except TimeoutError:
                    if await self.counsellors.get_session(session.id) is None:
                        break  # signed out elsewhere, or the session ended
                    await self.counsellors.touch_presence(session.user)
                    await response.write(b": heartbeat\n\n")
                    continue
                if event is CLOSED:
                    break
                if not await self._may_see(event, session):
                    continue
                payload = json.dumps(event)
                await response.write(
                    f"event: {event.get('type', 'message')}\ndata: {payload}\n\n".encode()
                )
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.hub.unsubscribe(queue)
        return response

    async def _may_see(self, event: dict, session: Session) -> bool:
        if event.get("type") == "queue" or session.is_supervisor or "id" not in event:
            return True
        assigned = await self.redis.hget(keys.handoff(event["id"]), "assigned_to")
        if assigned is None:
            left = await self.redis.get(keys.left(event["id"]))
            return left is not None and decoded(left) in ("-", session.user)
        return decoded(assigned) in ("", session.user)

    def _window_closed(self, channel: str) -> web.Response:
        hours = round(self.handoff.queue.window_s(channel) / 3600)
        return error(
            409,
            f"Her last message is more than {hours} hours old: a counsellor may write only "
            f"within {hours} hours of her last message. She must write first; nothing was sent.",
        )

    async def _publish(self, *events: dict) -> None:
        for event in events:
            await self.redis.publish(keys.EVENTS, json.dumps(event))
