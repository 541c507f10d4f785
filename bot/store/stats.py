"""Anonymous statistics: counters per day, with no text, no ids and no times
finer than the day, so that they may outlive the conversations they count.

One Redis hash per day (`keys.stats_day`), in the helpline's time zone (that of
its opening hours, else UTC); each field is a counter named
`measure SEP dimension SEP group`, e.g. `handoffs|channel|sms`:

- `conversations` (by channel, language): a conversation starts with the bot
  (first contact, or the first message after a closed one);
- `handoffs` (by channel, language, severity, risk): she entered the queue;
- `claimed` (by counsellor) and `wait` (by bucket: the wait until the claim, in
  WAIT_BUCKETS' upper bounds, so that medians are read from counts);
- `closed` (by outcome, counsellor, and each wrap-up field `wrapup.<id>`);
- `abandoned` (silent past the reply window), `withdrawn` (she stopped waiting),
  `left` (a safe exit while queued or with a counsellor).

handoff/stats.py reads them into periods and hides small cells.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.store import keys

SEP = "\x1f"
ALL = "all"
# Aggregates are kept this long (they name no one): five years of reports.
KEEP_S = 5 * 366 * 86400
# Upper bounds (seconds) of the wait buckets; the last one catches the rest.
WAIT_BUCKETS = (
    30, 60, 120, 180, 300, 450, 600, 900, 1200, 1800, 2700, 3600, 5400, 7200,
    10800, 14400, 21600, 28800, 43200, 86400, 172800,
)  # fmt: skip
OVER = "over"


def zone_of(opening_hours: dict | None) -> tzinfo:
    """The time zone of the opening hours (settings.yaml), else UTC."""
    try:
        return ZoneInfo(str((opening_hours or {}).get("timezone") or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def day_of(now: float, zone: tzinfo = UTC) -> str:
    """The day `now` falls on, where the helpline works: 2026-12-05."""
    return datetime.fromtimestamp(now, zone).date().isoformat()


def field(measure: str, dimension: str = ALL, group: str = ALL) -> str:
    return SEP.join((measure, dimension, _clean(group)))


def _clean(value: str) -> str:
    return (value or "unknown").replace(SEP, " ")[:100]


def wait_bucket(seconds: float) -> str:
    for bound in WAIT_BUCKETS:
        if seconds <= bound:
            return str(bound)
    return OVER


def counts(
    now: float, zone: tzinfo, measure: str, **dimensions: str | list[str] | None
) -> list[list]:
    """The commands that count one `measure` today: once in all, and once in each
    dimension's group (a list counts in each of its groups)."""
    key = keys.stats_day(day_of(now, zone))
    commands: list[list] = [["HINCRBY", key, field(measure), "1"]]
    for dimension, group in dimensions.items():
        if group is None:
            continue
        for one in group if isinstance(group, list) else [group]:
            commands.append(["HINCRBY", key, field(measure, dimension, one), "1"])
    commands.append(["EXPIRE", key, str(KEEP_S)])
    return commands


async def count(
    redis, now: float, zone: tzinfo, measure: str, **dimensions: str | list[str] | None
) -> None:
    """Count now (outside a commit): for changes that happen once by themselves
    (a Lua script decided it, e.g. the first claim)."""
    async with redis.pipeline(transaction=True) as pipe:
        for command in counts(now, zone, measure, **dimensions):
            pipe.execute_command(*command)
        await pipe.execute()
