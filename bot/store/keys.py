"""Every Redis key name of the project, in one place.

A conversation is known only by its pseudonymous id `pid` (an HMAC of channel +
user id, bot/store/privacy.py). Its keys share the hash tag `{pid}`, and all of them
expire together after HELPLINE_RETENTION_DAYS of inactivity
(`conversation_keys`); safe exit deletes them at once.
"""

from __future__ import annotations

PREFIX = "hl"


# ---- one conversation (all expire together; all erased by safe exit)


def state(pid: str) -> str:
    """JSON of the engine's Conversation: flow, state, language, variables, mode."""
    return f"{PREFIX}:c:{{{pid}}}:state"


def data_key(pid: str) -> str:
    """The conversation's data key, wrapped with the secret key (bot/store/vault.py):
    every item below that holds her words or her address is sealed with it."""
    return f"{PREFIX}:c:{{{pid}}}:key"


def address(pid: str) -> str:
    """Her channel address (chat id, phone number, web session), sealed."""
    return f"{PREFIX}:c:{{{pid}}}:addr"


def transcript(pid: str) -> str:
    """List of JSON messages {id, from, text, at}: user, bot and counsellor."""
    return f"{PREFIX}:c:{{{pid}}}:log"


def delivery(pid: str) -> str:
    """Hash message id -> delivery status of outbound messages that are not sent
    yet (pending) or failed. A message of the bot or a counsellor with no field
    here was sent: an idle conversation keeps no hash (see `delivery_status`)."""
    return f"{PREFIX}:c:{{{pid}}}:delivery"


def delivery_status(sender: str, statuses: dict[str, str], message_id: str) -> str | None:
    """The delivery status of a transcript entry: what `delivery` says, else
    "sent" for what the bot or a counsellor said (None for her own words)."""
    if message_id in statuses:
        return statuses[message_id]
    return "sent" if sender in ("bot", "counsellor") else None


def inbox(pid: str) -> str:
    """List of inbound messages stored (acknowledged) but not yet processed, oldest first."""
    return f"{PREFIX}:c:{{{pid}}}:in"


def outbox(pid: str) -> str:
    """List of outbound messages not yet delivered, oldest first."""
    return f"{PREFIX}:c:{{{pid}}}:out"


def work_lock(pid: str) -> str:
    """Token of the worker processing this conversation's inbox (one at a time: order)."""
    return f"{PREFIX}:c:{{{pid}}}:lock"


def send_lock(pid: str) -> str:
    """Token of the sender delivering this conversation's outbox (one at a time: order)."""
    return f"{PREFIX}:c:{{{pid}}}:slock"


def deletable_messages(pid: str) -> str:
    """Sorted set of the chat's message ids (both sides) by time, on channels whose
    messages the bot can delete (Telegram), to delete on safe exit."""
    return f"{PREFIX}:c:{{{pid}}}:tg"


def handoff(pid: str) -> str:
    """Hash of the conversation's handoff: severity, category, enqueued_at, assigned_to..."""
    return f"{PREFIX}:c:{{{pid}}}:handoff"


def web_mailbox(pid: str) -> str:
    """List of messages delivered to a web-simulator session, read by the page."""
    return f"{PREFIX}:c:{{{pid}}}:web"


def web_mailbox_dropped(pid: str) -> str:
    """How many of the mailbox's oldest messages were dropped to cap its length."""
    return f"{PREFIX}:c:{{{pid}}}:webdrop"


def transcript_dropped(pid: str) -> str:
    """How many of the transcript's oldest entries were dropped to cap its length."""
    return f"{PREFIX}:c:{{{pid}}}:logdrop"


def dead_letters(pid: str) -> str:
    """List of her inbound messages whose processing raised, as JSON {message, at}:
    kept for operators (`helpline deadletters`), for as long as the conversation."""
    return f"{PREFIX}:c:{{{pid}}}:dead"


def case(pid: str) -> str:
    """The conversation's case reference in the audit (handoff/audit.py): random,
    so that the audit cannot name her once this key is gone."""
    return f"{PREFIX}:c:{{{pid}}}:case"


def seen(pid: str) -> str:
    """Sorted set: the dedup ids of her last messages (a digest of the provider's
    id: Telegram's update_id, Twilio's MessageSid) -> when it came. Hers, so it
    goes with her conversation at a safe exit."""
    return f"{PREFIX}:c:{{{pid}}}:seen"


def traces(pid: str) -> str:
    """Before 2026-12: a set of keys named by a provider's ids that concern her
    (webhook dedup markers, SMS status mappings), deleted with her at a safe exit.
    Nothing adds to it now (keys.seen, and the status callback's URL, replace
    them); still deleted at an exit until the last of them has expired."""
    return f"{PREFIX}:c:{{{pid}}}:traces"


# The longest a webhook's id is remembered (a retried delivery), and the longest
# the "left" marker lives; never longer than the retention of conversations.
TRACE_TTL_S = 7 * 86400


def trace_ttl(retention_s: int) -> int:
    return min(TRACE_TTL_S, retention_s)


def conversation_keys(pid: str) -> list[str]:
    """Every key that holds something of the conversation (not its inbox)."""
    return [
        data_key(pid),
        state(pid),
        address(pid),
        transcript(pid),
        delivery(pid),
        outbox(pid),
        deletable_messages(pid),
        handoff(pid),
        web_mailbox(pid),
        web_mailbox_dropped(pid),
        transcript_dropped(pid),
        dead_letters(pid),
        traces(pid),
        seen(pid),
        case(pid),
        wrapups(pid),
    ]


def left(pid: str) -> str:
    """Marker that the person left by safe exit: holds no data, tells the console."""
    return f"{PREFIX}:left:{pid}"


def blocked(pid: str) -> str:
    """Set by a supervisor: this sender gets a neutral reply until the key expires."""
    return f"{PREFIX}:blocked:{pid}"


# ---- pipeline (bot/pipeline/)

WORK_PENDING = (
    f"{PREFIX}:pending:work"  # sorted set pid -> time of last progress: inboxes with news
)


def send_pending(channel: str) -> str:
    """Sorted set pid -> time of last progress: outboxes with news, one set per
    channel, so that only processes that have the channel deliver its messages."""
    return f"{PREFIX}:pending:send:{channel}"


def erase_stream(channel: str) -> str:
    """Stream of deletions left to do after a safe exit (Telegram: the chat's messages)."""
    return f"{PREFIX}:erase:{channel}"


# Sorted set pid -> time of its last dead letter: which conversations have some
# (their messages are in dead_letters(pid), and go with the conversation).
DEAD_LETTERS = f"{PREFIX}:deadletters"
LEGACY_DEAD_LETTERS = f"{PREFIX}:dead"  # before 2026-12: one list of every message, no expiry


def telegram_rate(window: int) -> str:
    """Counter of Telegram sends in one quarter-second window, shared by every process."""
    return f"{PREFIX}:telegram:rate:{window}"


def sms_status(message_sid: str) -> str:
    """Before 2026-12: mapped a Twilio MessageSid of ours back to (pid, message id)
    for status callbacks; now their URL says it. Read until the last has expired."""
    return f"{PREFIX}:smsstatus:{message_sid}"


# ---- handoff and console (handoff/)

QUEUE = (
    f"{PREFIX}:queue"  # sorted set pid -> urgency score (lower is more urgent): every open handoff
)
WAITING = f"{PREFIX}:queue:waiting"  # the same scores, only for those no counsellor has claimed yet
WAITS = f"{PREFIX}:queue:waits"  # the last 50 waits until a claim, "claimed_at:seconds" (no ids)
# Sorted set pid -> when her data goes (bot/store/compaction.py): the append-only
# file is rewritten once it has, so that erased words leave the disk.
COMPACT = f"{PREFIX}:compact"
COMPACT_LOCK = f"{PREFIX}:compact:lock"
AUDIT = f"{PREFIX}:audit"
METRICS = (
    f"{PREFIX}:metrics"  # hash: the line's counters, added by every process (helpline/metrics.py)
)
METRIC_SEP = "\x1f"  # between a counter's name and its labels in a METRICS field


def metric_field(name: str, *labels: str) -> str:
    """The METRICS field of a counter and its label values."""
    return METRIC_SEP.join((name, *labels))


def count_metric(name: str, *labels: str) -> list:
    """The command that adds one to a counter, for writes that must count once (a commit)."""
    return [
        "HINCRBYFLOAT",
        METRICS,
        metric_field(name, *labels),
        "1",
    ]  # stream of counsellor actions (handoff/audit.py)


def stats_day(day: str) -> str:
    """Hash of one day's anonymous counters (bot/store/stats.py): no ids, no text."""
    return f"{PREFIX}:stats:{day}"


def wrapups(pid: str) -> str:
    """List of her earlier contacts' wrap-ups (handoff/relay.py), sealed JSON."""
    return f"{PREFIX}:c:{{{pid}}}:wrapups"


CONSOLE_SETTINGS = f"{PREFIX}:console:settings"  # hash: what supervisors allow (console settings)
EVENTS = f"{PREFIX}:events"  # pub/sub channel nudging consoles to re-read
# Hash digest -> text: the flows' texts that transcripts and web mailboxes refer
# to (bot/store/shared.py). Names no one; kept for as long as the line runs.
TEXTS = f"{PREFIX}:texts"
COUNSELLORS = f"{PREFIX}:counsellors"  # set of usernames
FIRST_ADMIN = (
    f"{PREFIX}:first-admin"  # claimed by the one process that creates `admin` on first start
)
PRESENCE = f"{PREFIX}:presence"  # sorted set username -> last heartbeat (unix time)


def counsellor(username: str) -> str:
    """Hash: password hash (argon2), role, created_at."""
    return f"{PREFIX}:counsellor:{username}"


def session(session_id: str) -> str:
    """Hash of a console session: user, role, csrf token; expires when idle."""
    return f"{PREFIX}:session:{session_id}"


def limit(name: str, subject: str) -> str:
    """A rate-limit counter (bot.store.limits): tries of `subject` in the current window."""
    return f"{PREFIX}:limit:{name}:{subject}"


ASSIGNED_PREFIX = f"{PREFIX}:assigned:"


def assigned(username: str) -> str:
    """Set of pids a counsellor has claimed (their load)."""
    return f"{ASSIGNED_PREFIX}{username}"


# ---- shelters (bot/shelters/)
#
# An import writes a whole new generation of keys, then switches
# SHELTERS_CURRENT to it, then deletes the old generation: lookups read the
# current generation's name first, so they never see half a directory. The keys
# of one generation share the hash tag {generation} (one cluster slot, so that
# the search script may touch them together). No key holds anything about a
# person: only the directory.


def shelters_geo(generation: str, kind: str) -> str:
    """GEO set of the ids of one kind of service (shelter, health...), of one directory generation."""
    return f"{PREFIX}:shelters:{{{generation}}}:geo:{kind}"


def shelters_data(generation: str) -> str:
    """Hash shelter id -> JSON record, of one directory generation."""
    return f"{PREFIX}:shelters:{{{generation}}}:data"


def shelters_tags(generation: str) -> str:
    """Hash shelter id -> ",kind,service,...,lang:xx," tags the search script filters on."""
    return f"{PREFIX}:shelters:{{{generation}}}:tags"


def shelters_national(generation: str) -> str:
    """Hash ISO country code -> JSON list of the country's helpline records (national fallback)."""
    return f"{PREFIX}:shelters:{{{generation}}}:national"


def shelters_meta(generation: str) -> str:
    """Hash about one generation: entries, examples, source sha256, imported_at, retired."""
    return f"{PREFIX}:shelters:{{{generation}}}:meta"


def shelters_generation_keys(generation: str, kinds: tuple[str, ...]) -> list[str]:
    """Every key of one directory generation (deleted together when it is replaced)."""
    return [
        *(shelters_geo(generation, kind) for kind in kinds),
        shelters_data(generation),
        shelters_tags(generation),
        shelters_national(generation),
        shelters_meta(generation),
    ]


SHELTERS_CURRENT = f"{PREFIX}:shelters:current"  # name of the generation lookups use
SHELTERS_GENERATIONS = (
    f"{PREFIX}:shelters:generations"  # set of generations written (to clean up after a crash)
)
SHELTERS_START_FILE = (
    f"{PREFIX}:shelters:start-file"  # sha256 of HELPLINE_SHELTERS_FILE when last loaded at start
)
SHELTERS_IMPORT_LOCK = (
    f"{PREFIX}:shelters:import-lock"  # one import at a time (several app processes start together)
)
